/* A bpf_object opened from ELF bytes, as held by JavaScript. */
#pragma once

#include "common.h"

struct bpf_object;
struct bpf_program;

struct obj_handle {
	uint32_t magic;           /* MAGIC_OBJECT */
	struct bpf_object *obj;   /* NULL once closed */
	void *elf;                /* our copy of the ELF: libelf reads it in place until load */
	size_t prog_cnt;
	char **log_bufs;          /* per program, in object order; NULL until configured */
	size_t *log_sizes;
};

struct obj_handle *object_arg(napi_env env, napi_value v);
struct bpf_program *object_program_arg(napi_env env, struct obj_handle *h, napi_value name);
