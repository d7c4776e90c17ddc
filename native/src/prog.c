/* Running a loaded program in the kernel with BPF_PROG_TEST_RUN: how
 * syscall programs are driven (a benchmark filling a ring buffer, a setter
 * writing a map from the context it is given). Mechanism only. */
#include "common.h"

#include <bpf/bpf.h>
#include <errno.h>

/* progTestRun(progFd, repeat, ctx?: Uint8Array) -> {retval, durationNs}.
 * `repeat` 0 runs once (syscall programs accept nothing else). For syscall
 * programs the kernel copies the context back into `ctx` after the run. */
static napi_value prog_test_run(napi_env env, napi_callback_info info)
{
	napi_value argv[3], r;
	int32_t fd;
	uint32_t repeat;
	void *ctx = NULL;
	size_t ctx_len = 0;
	int err;

	if (!get_args(env, info, 3, argv) || !arg_i32(env, argv[0], &fd, "progFd") ||
	    !arg_u32(env, argv[1], &repeat, "repeat"))
		return NULL;
	if (!is_nullish(env, argv[2]) && !arg_bytes(env, argv[2], &ctx, &ctx_len, "ctx"))
		return NULL;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = (int)repeat, .ctx_in = ctx_len ? ctx : NULL,
		    .ctx_size_in = (__u32)ctx_len);
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		return throw_errno(env, errno ? errno : -err, "bpf_prog_test_run_opts");
	r = make_object(env);
	set_u32(env, r, "retval", opts.retval);
	set_u64(env, r, "durationNs", opts.duration);
	return r;
}

napi_value init_prog(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "progTestRun", prog_test_run },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
