/* bpf_object lifecycle: open from bytes, describe programs and maps,
 * configure programs, load, read verifier logs, close. */
#include "object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void object_release(struct obj_handle *h)
{
	if (h->obj) {
		bpf_object__close(h->obj);
		h->obj = NULL;
	}
	for (size_t i = 0; h->log_bufs && i < h->prog_cnt; i++)
		free(h->log_bufs[i]);
	free(h->log_bufs);
	free(h->log_sizes);
	free(h->elf);
	h->log_bufs = NULL;
	h->log_sizes = NULL;
	h->elf = NULL;
}

/* Safety net only: TypeScript closes objects explicitly when their owner
 * goes away; this catches a handle dropped without close. */
static void object_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	object_release(data);
	free(data);
}

struct obj_handle *object_arg(napi_env env, napi_value v)
{
	struct obj_handle *h = arg_handle(env, v, MAGIC_OBJECT, "object");

	if (h && !h->obj) {
		throw_errno(env, EBADF, "object is closed");
		return NULL;
	}
	return h;
}

struct bpf_program *object_program_arg(napi_env env, struct obj_handle *h, napi_value name)
{
	char *s = arg_string(env, name, "program name");
	struct bpf_program *prog;

	if (!s)
		return NULL;
	prog = bpf_object__find_program_by_name(h->obj, s);
	free(s);
	if (!prog)
		throw_errno(env, ENOENT, "no such program in object");
	return prog;
}

/* objectOpen(elf: Uint8Array, name: string, btfCustomPath: string | null) */
static napi_value object_open(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result;
	void *data;
	size_t len;
	char *name = NULL, *btf_path = NULL;
	bool no_btf_path;
	struct obj_handle *h = NULL;
	struct bpf_program *prog;
	int err;

	if (!get_args(env, info, 3, argv) || !arg_bytes(env, argv[0], &data, &len, "elf"))
		return NULL;
	name = arg_string(env, argv[1], "name");
	if (!name)
		return NULL;
	btf_path = arg_string_or_null(env, argv[2], &no_btf_path, "btfCustomPath");
	if (!no_btf_path && !btf_path)
		goto fail;

	h = calloc(1, sizeof(*h));
	if (!h || !(h->elf = malloc(len ? len : 1))) {
		throw_errno(env, ENOMEM, "objectOpen");
		goto fail;
	}
	memcpy(h->elf, data, len);
	h->magic = MAGIC_OBJECT;

	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .btf_custom_path = btf_path);
	h->obj = bpf_object__open_mem(h->elf, len, &opts);
	if (!h->obj) {
		err = errno;
		throw_errno(env, err, "bpf_object__open_mem");
		goto fail;
	}
	bpf_object__for_each_program(prog, h->obj)
		h->prog_cnt++;
	h->log_bufs = calloc(h->prog_cnt ? h->prog_cnt : 1, sizeof(*h->log_bufs));
	h->log_sizes = calloc(h->prog_cnt ? h->prog_cnt : 1, sizeof(*h->log_sizes));
	if (!h->log_bufs || !h->log_sizes) {
		throw_errno(env, ENOMEM, "objectOpen");
		goto fail;
	}
	if (napi_create_external(env, h, object_finalize, NULL, &result) != napi_ok) {
		throw_napi_failure(env);
		goto fail;
	}
	free(name);
	free(btf_path);
	return result;
fail:
	if (h) {
		object_release(h);
		free(h);
	}
	free(name);
	free(btf_path);
	return NULL;
}

static size_t program_index(struct obj_handle *h, const struct bpf_program *want)
{
	struct bpf_program *prog;
	size_t i = 0;

	bpf_object__for_each_program(prog, h->obj) {
		if (prog == want)
			return i;
		i++;
	}
	return (size_t)-1;
}

/* objectPrograms(h) -> [{name, section, type, expectedAttachType, autoload, insns, fd}] */
static napi_value object_programs(napi_env env, napi_callback_info info)
{
	napi_value argv[1], list;
	struct obj_handle *h;
	struct bpf_program *prog;

	if (!get_args(env, info, 1, argv) || !(h = object_arg(env, argv[0])))
		return NULL;
	list = make_array(env);
	bpf_object__for_each_program(prog, h->obj) {
		napi_value p = make_object(env);
		const struct bpf_insn *insns = bpf_program__insns(prog);
		size_t cnt = bpf_program__insn_cnt(prog);

		set_str(env, p, "name", bpf_program__name(prog));
		set_str(env, p, "section", bpf_program__section_name(prog));
		set_u32(env, p, "type", bpf_program__type(prog));
		set_u32(env, p, "expectedAttachType", bpf_program__expected_attach_type(prog));
		set_bool(env, p, "autoload", bpf_program__autoload(prog));
		set_val(env, p, "insns", make_buffer(env, insns, insns ? cnt * sizeof(*insns) : 0));
		set_i32(env, p, "fd", bpf_program__fd(prog));
		push(env, list, p);
	}
	return list;
}

/* objectMaps(h) -> [{name, type, keySize, valueSize, maxEntries, flags, internal, fd}] */
static napi_value object_maps(napi_env env, napi_callback_info info)
{
	napi_value argv[1], list;
	struct obj_handle *h;
	struct bpf_map *map;

	if (!get_args(env, info, 1, argv) || !(h = object_arg(env, argv[0])))
		return NULL;
	list = make_array(env);
	bpf_object__for_each_map(map, h->obj) {
		napi_value m = make_object(env);

		set_str(env, m, "name", bpf_map__name(map));
		set_u32(env, m, "type", bpf_map__type(map));
		set_u32(env, m, "keySize", bpf_map__key_size(map));
		set_u32(env, m, "valueSize", bpf_map__value_size(map));
		set_u32(env, m, "maxEntries", bpf_map__max_entries(map));
		set_u32(env, m, "flags", bpf_map__map_flags(map));
		set_bool(env, m, "internal", bpf_map__is_internal(map));
		set_i32(env, m, "fd", bpf_map__fd(map));
		push(env, list, m);
	}
	return list;
}

/* programConfigure(h, name, {autoload?, type?, logLevel?, logSize?}) before load. */
static napi_value program_configure(napi_env env, napi_callback_info info)
{
	napi_value argv[3], v;
	struct obj_handle *h;
	struct bpf_program *prog;
	uint32_t u;
	bool b;
	int err;

	if (!get_args(env, info, 3, argv) || !(h = object_arg(env, argv[0])) ||
	    !(prog = object_program_arg(env, h, argv[1])))
		return NULL;
	if (get_named(env, argv[2], "autoload", &v)) {
		if (!arg_bool(env, v, &b, "autoload"))
			return NULL;
		if ((err = bpf_program__set_autoload(prog, b)))
			return throw_errno(env, err, "bpf_program__set_autoload");
	}
	if (get_named(env, argv[2], "type", &v)) {
		if (!arg_u32(env, v, &u, "type"))
			return NULL;
		if ((err = bpf_program__set_type(prog, u)))
			return throw_errno(env, err, "bpf_program__set_type");
	}
	if (get_named(env, argv[2], "logLevel", &v)) {
		if (!arg_u32(env, v, &u, "logLevel"))
			return NULL;
		if ((err = bpf_program__set_log_level(prog, u)))
			return throw_errno(env, err, "bpf_program__set_log_level");
	}
	if (get_named(env, argv[2], "logSize", &v)) {
		size_t i = program_index(h, prog);
		char *buf;

		if (!arg_u32(env, v, &u, "logSize"))
			return NULL;
		if (u < 128)
			return throw_type_error(env, "logSize must be at least 128");
		buf = realloc(h->log_bufs[i], u);
		if (!buf)
			return throw_errno(env, ENOMEM, "log buffer");
		buf[0] = '\0';
		h->log_bufs[i] = buf;
		h->log_sizes[i] = u;
		if ((err = bpf_program__set_log_buf(prog, buf, u)))
			return throw_errno(env, err, "bpf_program__set_log_buf");
	}
	return undefined(env);
}

/* objectLoad(h): load every autoload program and create every map. */
static napi_value object_load(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct obj_handle *h;
	int err;

	if (!get_args(env, info, 1, argv) || !(h = object_arg(env, argv[0])))
		return NULL;
	err = bpf_object__load(h->obj);
	if (err)
		return throw_errno(env, err, "bpf_object__load");
	return undefined(env);
}

/* programLog(h, name) -> the verifier log kept for the program, or "". */
static napi_value program_log(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct obj_handle *h;
	struct bpf_program *prog;
	size_t i;

	if (!get_args(env, info, 2, argv) || !(h = object_arg(env, argv[0])) ||
	    !(prog = object_program_arg(env, h, argv[1])))
		return NULL;
	i = program_index(h, prog);
	if (!h->log_bufs[i])
		return make_str(env, "");
	return make_strn(env, h->log_bufs[i], h->log_sizes[i]);
}

/* mapSetInitialValue(h, name, bytes): before load, the initial contents of an internal map
 * (".rodata", ".data", ...): bpf_map__set_initial_value, sized exactly as the map's value. */
static napi_value map_set_initial_value(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct obj_handle *h;
	struct bpf_map *map;
	char *name;
	void *data;
	size_t len;
	int err;

	if (!get_args(env, info, 3, argv) || !(h = object_arg(env, argv[0])) ||
	    !arg_bytes(env, argv[2], &data, &len, "bytes") || !(name = arg_string(env, argv[1], "map name")))
		return NULL;
	map = bpf_object__find_map_by_name(h->obj, name);
	free(name);
	if (!map)
		return throw_errno(env, ENOENT, "no such map in object");
	if (!bpf_map__is_internal(map))
		return throw_errno(env, EINVAL, "not an internal map");
	if ((err = bpf_map__set_initial_value(map, data, len)))
		return throw_errno(env, err, "bpf_map__set_initial_value");
	return undefined(env);
}

/* objectClose(h): unload programs, close maps and free the object. Idempotent. */
static napi_value object_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct obj_handle *h;

	if (!get_args(env, info, 1, argv) ||
	    !(h = arg_handle(env, argv[0], MAGIC_OBJECT, "object")))
		return NULL;
	object_release(h);
	return undefined(env);
}

napi_value init_object(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "objectOpen", object_open },
		{ "objectPrograms", object_programs },
		{ "objectMaps", object_maps },
		{ "programConfigure", program_configure },
		{ "objectLoad", object_load },
		{ "programLog", program_log },
		{ "mapSetInitialValue", map_set_initial_value },
		{ "objectClose", object_close },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
