/* Host facts only the kernel can answer: libbpf's version, which program
 * and map types load here, libbpf's names for type numbers, mounting
 * bpffs/tracefs, and the boot-time clock that load times are measured on. */
#define _GNU_SOURCE
#include "common.h"

#include <dlfcn.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

/* libbpfVersion() -> {version: "major.minor" built against, runtime:
 * "major.minor" of the code running, file: the file that code is in (the
 * addon itself when libbpf is linked statically)}. */
static napi_value libbpf_version(napi_env env, napi_callback_info info)
{
	char v[32];
	Dl_info where;
	napi_value r = make_object(env);

	(void)info;
	snprintf(v, sizeof(v), "%d.%d", LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION);
	set_str(env, r, "version", v);
	snprintf(v, sizeof(v), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	set_str(env, r, "runtime", v);
	if (dladdr((void *)libbpf_major_version, &where) && where.dli_fname)
		set_str(env, r, "file", where.dli_fname);
	return r;
}

/* probeProgType(type) / probeMapType(type) -> 1 loads here, 0 does not;
 * throws when libbpf cannot tell (types newer than this libbpf). */
static napi_value probe(napi_env env, napi_callback_info info, bool prog)
{
	napi_value argv[1];
	uint32_t type;
	int r;

	if (!get_args(env, info, 1, argv) || !arg_u32(env, argv[0], &type, "type"))
		return NULL;
	r = prog ? libbpf_probe_bpf_prog_type(type, NULL) : libbpf_probe_bpf_map_type(type, NULL);
	if (r < 0)
		return throw_errno(env, r, prog ? "libbpf_probe_bpf_prog_type" : "libbpf_probe_bpf_map_type");
	return make_bool(env, r > 0);
}

/* progLoadProbe(type, expectedAttachType, attachBtfId) -> 0 when a minimal
 * program ("return 0") of that type loads, else the errno the kernel gave:
 * how TypeScript probes what libbpf's type probe cannot tell (trampolines). */
static napi_value prog_load_probe(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	uint32_t type, attach, btf_id;
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd, err;

	if (!get_args(env, info, 3, argv) || !arg_u32(env, argv[0], &type, "type") ||
	    !arg_u32(env, argv[1], &attach, "expectedAttachType") || !arg_u32(env, argv[2], &btf_id, "attachBtfId"))
		return NULL;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .attach_btf_id = btf_id);
	fd = bpf_prog_load(type, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), &opts);
	err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	return make_i32(env, err);
}

static napi_value probe_prog_type(napi_env env, napi_callback_info info) { return probe(env, info, true); }
static napi_value probe_map_type(napi_env env, napi_callback_info info) { return probe(env, info, false); }

/* typeName(kind, value) -> libbpf's name (0 prog, 1 map, 2 attach, 3 link),
 * or null where this libbpf has none (types newer than it). */
static napi_value type_name(napi_env env, napi_callback_info info)
{
	napi_value argv[2], nul;
	uint32_t kind, v;
	const char *s;

	if (!get_args(env, info, 2, argv) || !arg_u32(env, argv[0], &kind, "kind") ||
	    !arg_u32(env, argv[1], &v, "value"))
		return NULL;
	switch (kind) {
	case 0: s = libbpf_bpf_prog_type_str(v); break;
	case 1: s = libbpf_bpf_map_type_str(v); break;
	case 2: s = libbpf_bpf_attach_type_str(v); break;
	case 3: s = libbpf_bpf_link_type_str(v); break;
	default: return throw_type_error(env, "kind must be 0..3");
	}
	if (s)
		return make_str(env, s);
	napi_get_null(env, &nul);
	return nul;
}

/* mount(source, target, fstype): mount(2) with no flags and no data. */
static napi_value do_mount(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char *src = NULL, *dst = NULL, *fs = NULL;
	int err = 0;

	if (!get_args(env, info, 3, argv))
		return NULL;
	if ((src = arg_string(env, argv[0], "source")) && (dst = arg_string(env, argv[1], "target")) &&
	    (fs = arg_string(env, argv[2], "fstype")))
		err = mount(src, dst, fs, 0, NULL) ? errno : 0;
	free(src);
	free(dst);
	if (!fs)
		return NULL;
	free(fs);
	if (err)
		return throw_errno(env, err, "mount");
	return undefined(env);
}

/* clockBoottimeNs() -> CLOCK_BOOTTIME now, the clock of bpf_prog_info.load_time. */
static napi_value clock_boottime_ns(napi_env env, napi_callback_info info)
{
	struct timespec ts;

	(void)info;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return make_u64(env, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

napi_value init_host(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "libbpfVersion", libbpf_version },
		{ "probeProgType", probe_prog_type },
		{ "probeMapType", probe_map_type },
		{ "progLoadProbe", prog_load_probe },
		{ "typeName", type_name },
		{ "mount", do_mount },
		{ "clockBoottimeNs", clock_boottime_ns },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
