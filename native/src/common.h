/* Shared helpers for the ebpf-mcp native addon: argument access, value
 * construction, errno errors, and capture of libbpf's own messages.
 * The addon is mechanism only: it never decides policy. */
#pragma once

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return NULL from the calling N-API function when a call fails; the
 * pending JavaScript exception (if any) carries the failure. */
#define NAPI_TRY(env, call)                                                    \
	do {                                                                   \
		if ((call) != napi_ok) {                                       \
			throw_napi_failure(env);                               \
			return NULL;                                           \
		}                                                              \
	} while (0)

/* Magic numbers that start every struct handed to JavaScript as an external,
 * so a handle of the wrong kind is refused instead of misread. */
enum handle_magic {
	MAGIC_OBJECT = 0x0b1ec700,
	MAGIC_LINK = 0x011c0000,
	MAGIC_READER = 0x0ead0000,
	MAGIC_KEYS = 0x0c0e0000,
};

/* One exported function. */
struct export_fn {
	const char *name;
	napi_callback fn;
};

/* True when a JavaScript exception is pending: an earlier call failed. */
bool exception_pending(napi_env env);
void throw_napi_failure(napi_env env);
napi_value throw_errno(napi_env env, int err, const char *op);
napi_value throw_type_error(napi_env env, const char *msg);
napi_value throw_type_error_unless_pending(napi_env env, const char *msg);

napi_value *get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
bool arg_u32(napi_env env, napi_value v, uint32_t *out, const char *what);
bool arg_i32(napi_env env, napi_value v, int32_t *out, const char *what);
bool arg_bool(napi_env env, napi_value v, bool *out, const char *what);
char *arg_string(napi_env env, napi_value v, const char *what);
char *arg_string_or_null(napi_env env, napi_value v, bool *is_null, const char *what);
bool arg_bytes(napi_env env, napi_value v, void **data, size_t *len, const char *what);
/* A Uint32Array's words; a TypeError saying `what` otherwise. */
bool arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len, const char *what);
void *arg_handle(napi_env env, napi_value v, uint32_t magic, const char *what);
bool is_nullish(napi_env env, napi_value v);
bool get_named(napi_env env, napi_value obj, const char *name, napi_value *out);

napi_value make_u32(napi_env env, uint32_t v);
napi_value make_i32(napi_env env, int32_t v);
napi_value make_u64(napi_env env, uint64_t v);
napi_value make_bool(napi_env env, bool v);
napi_value make_str(napi_env env, const char *s);
napi_value make_strn(napi_env env, const char *s, size_t n);
napi_value make_buffer(napi_env env, const void *data, size_t len);
napi_value make_object(napi_env env);
napi_value make_array(napi_env env);
/* A new typed array of n elements set at obj[key]: its data to fill (NULL when
 * n is 0, or on failure, with an exception then pending). */
void *set_column(napi_env env, napi_value obj, const char *key, napi_typedarray_type type, size_t n);
napi_value undefined(napi_env env);
void set_u32(napi_env env, napi_value obj, const char *k, uint32_t v);
void set_i32(napi_env env, napi_value obj, const char *k, int32_t v);
void set_u64(napi_env env, napi_value obj, const char *k, uint64_t v);
void set_bool(napi_env env, napi_value obj, const char *k, bool v);
void set_str(napi_env env, napi_value obj, const char *k, const char *v);
void set_val(napi_env env, napi_value obj, const char *k, napi_value v);
void push(napi_env env, napi_value arr, napi_value v);

void libbpf_capture_install(void);
const char *libbpf_capture_text(void);

void export_all(napi_env env, napi_value exports, const struct export_fn *fns, size_t n);

napi_value init_object(napi_env env, napi_value exports);
napi_value init_info(napi_env env, napi_value exports);
napi_value init_host(napi_env env, napi_value exports);
napi_value init_attach(napi_env env, napi_value exports);
napi_value init_map(napi_env env, napi_value exports);
napi_value init_reader(napi_env env, napi_value exports);
napi_value init_prog(napi_env env, napi_value exports);
napi_value init_records(napi_env env, napi_value exports);
