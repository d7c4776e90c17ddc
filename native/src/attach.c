/* Attaching programs and holding the result: a libbpf bpf_link, a raw link
 * fd from bpf_link_create, or a netlink tc filter, behind one handle type
 * that can be pinned, detached and destroyed. */
#define _GNU_SOURCE
#include "object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct link_handle {
	uint32_t magic;          /* MAGIC_LINK */
	struct bpf_link *link;   /* a libbpf link, or NULL */
	int fd;                  /* a raw link fd when link is NULL, else -1 */
	bool is_tc;              /* a netlink tc filter (no kernel link exists) */
	bool composite;          /* libbpf's own link over several kernel links (USDT): no single fd */
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;
	bool released;
};

static void link_release(struct link_handle *l)
{
	if (l->released)
		return;
	l->released = true;
	if (l->link) {
		bpf_link__destroy(l->link);
		l->link = NULL;
	} else if (l->is_tc) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = l->tc.handle, .priority = l->tc.priority);
		bpf_tc_detach(&l->hook, &opts);
	} else if (l->fd >= 0) {
		close(l->fd);
	}
	l->fd = -1;
}

/* Safety net only: TypeScript destroys links when their owner goes away. */
static void link_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	link_release(data);
	free(data);
}

static napi_value wrap_link(napi_env env, struct bpf_link *bl, int fd, const char *op)
{
	struct link_handle *l;
	napi_value r;
	int err = errno;

	if (!bl && fd < 0)
		return throw_errno(env, err, op);
	l = calloc(1, sizeof(*l));
	if (!l) {
		if (bl)
			bpf_link__destroy(bl);
		else
			close(fd);
		return throw_errno(env, ENOMEM, op);
	}
	l->magic = MAGIC_LINK;
	l->link = bl;
	l->fd = bl ? -1 : fd;
	if (napi_create_external(env, l, link_finalize, NULL, &r) != napi_ok) {
		link_release(l);
		free(l);
		throw_napi_failure(env);
		return NULL;
	}
	return r;
}

static struct link_handle *link_arg(napi_env env, napi_value v)
{
	struct link_handle *l = arg_handle(env, v, MAGIC_LINK, "link");

	if (l && l->released) {
		throw_errno(env, EBADF, "link is released");
		return NULL;
	}
	return l;
}

/* Program argument pair (object handle, program name) shared by every attach call. */
static struct bpf_program *prog_args(napi_env env, napi_value *argv)
{
	struct obj_handle *h = object_arg(env, argv[0]);

	return h ? object_program_arg(env, h, argv[1]) : NULL;
}

/* attachAuto(h, prog): as the program's section name says. */
static napi_value attach_auto(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct bpf_program *prog;

	if (!get_args(env, info, 2, argv) || !(prog = prog_args(env, argv)))
		return NULL;
	return wrap_link(env, bpf_program__attach(prog), -1, "bpf_program__attach");
}

/* attachTracepoint(h, prog, category, name) */
static napi_value attach_tracepoint(napi_env env, napi_callback_info info)
{
	napi_value argv[4], r = NULL;
	struct bpf_program *prog;
	char *cat = NULL, *name = NULL;

	if (!get_args(env, info, 4, argv) || !(prog = prog_args(env, argv)))
		return NULL;
	if ((cat = arg_string(env, argv[2], "category")) && (name = arg_string(env, argv[3], "name"))) {
		r = wrap_link(env, bpf_program__attach_tracepoint(prog, cat, name), -1, "bpf_program__attach_tracepoint");
	}
	free(cat);
	free(name);
	return r;
}

/* attachRawTracepoint(h, prog, name) */
static napi_value attach_raw_tracepoint(napi_env env, napi_callback_info info)
{
	napi_value argv[3], r = NULL;
	struct bpf_program *prog;
	char *name;

	if (!get_args(env, info, 3, argv) || !(prog = prog_args(env, argv)) ||
	    !(name = arg_string(env, argv[2], "name")))
		return NULL;
	r = wrap_link(env, bpf_program__attach_raw_tracepoint(prog, name), -1, "bpf_program__attach_raw_tracepoint");
	free(name);
	return r;
}

/* attachKprobe(h, prog, function, offset, retprobe) */
static napi_value attach_kprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[5], r;
	struct bpf_program *prog;
	uint32_t offset;
	bool retprobe;
	char *fn;

	if (!get_args(env, info, 5, argv) || !(prog = prog_args(env, argv)) ||
	    !arg_u32(env, argv[3], &offset, "offset") || !arg_bool(env, argv[4], &retprobe, "retprobe") ||
	    !(fn = arg_string(env, argv[2], "function")))
		return NULL;
	LIBBPF_OPTS(bpf_kprobe_opts, opts, .offset = offset, .retprobe = retprobe);
	r = wrap_link(env, bpf_program__attach_kprobe_opts(prog, fn, &opts), -1, "bpf_program__attach_kprobe_opts");
	free(fn);
	return r;
}

/* attachUprobe(h, prog, binary, function | null, offset, pid, retprobe) */
static napi_value attach_uprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[7], r = NULL;
	struct bpf_program *prog;
	char *binary, *fn = NULL;
	uint32_t offset;
	int32_t pid;
	bool retprobe, no_fn;

	if (!get_args(env, info, 7, argv) || !(prog = prog_args(env, argv)) ||
	    !arg_u32(env, argv[4], &offset, "offset") || !arg_i32(env, argv[5], &pid, "pid") ||
	    !arg_bool(env, argv[6], &retprobe, "retprobe") || !(binary = arg_string(env, argv[2], "binary")))
		return NULL;
	fn = arg_string_or_null(env, argv[3], &no_fn, "function");
	if (no_fn || fn) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .func_name = fn);
		r = wrap_link(env, bpf_program__attach_uprobe_opts(prog, pid, binary, offset, &opts), -1,
			      "bpf_program__attach_uprobe_opts");
	}
	free(binary);
	free(fn);
	return r;
}

/* attachUsdt(h, prog, binary, provider, name, pid) */
static napi_value attach_usdt(napi_env env, napi_callback_info info)
{
	napi_value argv[6], r = NULL;
	struct bpf_program *prog;
	char *binary = NULL, *provider = NULL, *name = NULL;
	int32_t pid;

	if (!get_args(env, info, 6, argv) || !(prog = prog_args(env, argv)) || !arg_i32(env, argv[5], &pid, "pid"))
		return NULL;
	if ((binary = arg_string(env, argv[2], "binary")) && (provider = arg_string(env, argv[3], "provider")) &&
	    (name = arg_string(env, argv[4], "name"))) {
		struct link_handle *l;

		r = wrap_link(env, bpf_program__attach_usdt(prog, pid, binary, provider, name, NULL), -1,
			      "bpf_program__attach_usdt");
		/* libbpf's USDT link is composite (one uprobe_multi link, or one uprobe
		 * link per call site on older kernels); it has no fd of its own. */
		if (r && napi_get_value_external(env, r, (void **)&l) == napi_ok)
			l->composite = true;
	}
	free(binary);
	free(provider);
	free(name);
	return r;
}

/* attachPerfEvent(h, prog, type, config, sample, useFreq, pid, cpu): opens one
 * perf event (sampling every `sample` events, or `sample` times a second with
 * useFreq) and attaches the program to it; the link owns the event. */
static napi_value attach_perf_event(napi_env env, napi_callback_info info)
{
	napi_value argv[8];
	struct bpf_program *prog;
	struct perf_event_attr attr;
	struct bpf_link *link;
	uint32_t type, config, sample;
	int32_t pid, cpu;
	bool freq;
	int pfd, err;

	if (!get_args(env, info, 8, argv) || !(prog = prog_args(env, argv)) ||
	    !arg_u32(env, argv[2], &type, "type") || !arg_u32(env, argv[3], &config, "config") ||
	    !arg_u32(env, argv[4], &sample, "sample") || !arg_bool(env, argv[5], &freq, "useFreq") ||
	    !arg_i32(env, argv[6], &pid, "pid") || !arg_i32(env, argv[7], &cpu, "cpu"))
		return NULL;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	attr.freq = freq;
	attr.sample_freq = sample; /* sample_period shares the union */
	pfd = syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return throw_errno(env, errno, "perf_event_open");
	link = bpf_program__attach_perf_event(prog, pfd);
	if (!link) {
		err = errno;
		close(pfd);
		return throw_errno(env, err, "bpf_program__attach_perf_event");
	}
	return wrap_link(env, link, -1, "bpf_program__attach_perf_event");
}

/* Reads the netfilter member of linkCreate's options. */
static bool netfilter_opts(napi_env env, napi_value v, struct bpf_link_create_opts *opts)
{
	napi_value m;
	int32_t priority;

	if (!get_named(env, v, "pf", &m) || !arg_u32(env, m, &opts->netfilter.pf, "netfilter.pf") ||
	    !get_named(env, v, "hooknum", &m) || !arg_u32(env, m, &opts->netfilter.hooknum, "netfilter.hooknum") ||
	    !get_named(env, v, "priority", &m) || !arg_i32(env, m, &priority, "netfilter.priority") ||
	    !get_named(env, v, "flags", &m) || !arg_u32(env, m, &opts->netfilter.flags, "netfilter.flags")) {
		throw_type_error_unless_pending(env, "netfilter needs pf, hooknum, priority and flags");
		return false;
	}
	opts->netfilter.priority = priority;
	return true;
}

/* linkCreate(h, prog, targetFd, attachType, {flags, netfilter?: {pf, hooknum,
 * priority, flags}}): bpf_link_create, the one call behind every kind that
 * attaches to a target fd (XDP with mode flags, cgroup, tcx, netns, sockmap,
 * netfilter). */
static napi_value link_create(napi_env env, napi_callback_info info)
{
	napi_value argv[5], v;
	struct bpf_program *prog;
	int32_t target;
	uint32_t type, flags = 0;
	int fd;

	if (!get_args(env, info, 5, argv) || !(prog = prog_args(env, argv)) ||
	    !arg_i32(env, argv[2], &target, "targetFd") || !arg_u32(env, argv[3], &type, "attachType"))
		return NULL;
	if (get_named(env, argv[4], "flags", &v) && !arg_u32(env, v, &flags, "flags"))
		return NULL;
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	if (get_named(env, argv[4], "netfilter", &v) && !netfilter_opts(env, v, &opts))
		return NULL;
	fd = bpf_link_create(bpf_program__fd(prog), target, type, &opts);
	return wrap_link(env, NULL, fd, "bpf_link_create");
}

/* tcAttach(h, prog, ifindex, egress, priority) -> link handle with {handle, priority}
 * through netlink, on a clsact qdisc that must exist (tcHookCreate). */
static napi_value tc_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[5], r;
	struct bpf_program *prog;
	struct link_handle *l;
	int32_t ifindex;
	uint32_t priority;
	bool egress;
	int err;

	if (!get_args(env, info, 5, argv) || !(prog = prog_args(env, argv)) ||
	    !arg_i32(env, argv[2], &ifindex, "ifindex") || !arg_bool(env, argv[3], &egress, "egress") ||
	    !arg_u32(env, argv[4], &priority, "priority"))
		return NULL;
	if (priority > 0xffff)
		return throw_type_error(env, "priority must be at most 65535");
	l = calloc(1, sizeof(*l));
	if (!l)
		return throw_errno(env, ENOMEM, "tcAttach");
	l->magic = MAGIC_LINK;
	l->fd = -1;
	l->is_tc = true;
	l->hook.sz = sizeof(l->hook);
	l->hook.ifindex = ifindex;
	l->hook.attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	l->tc.sz = sizeof(l->tc);
	l->tc.prog_fd = bpf_program__fd(prog);
	l->tc.priority = priority;
	err = bpf_tc_attach(&l->hook, &l->tc);
	if (err) {
		free(l);
		return throw_errno(env, err, "bpf_tc_attach");
	}
	if (napi_create_external(env, l, link_finalize, NULL, &r) != napi_ok) {
		link_release(l);
		free(l);
		throw_napi_failure(env);
		return NULL;
	}
	return r;
}

/* tcHookCreate(ifindex) -> true when it created the interface's clsact qdisc,
 * false when one was there already. tcHookDestroy(ifindex) removes it and
 * every filter on it. Both take the qdisc of both directions. */
static napi_value tc_hook(napi_env env, napi_callback_info info, bool create)
{
	napi_value argv[1];
	int32_t ifindex;
	int err;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &ifindex, "ifindex"))
		return NULL;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	err = create ? bpf_tc_hook_create(&hook) : bpf_tc_hook_destroy(&hook);
	if (err && !(create && err == -EEXIST))
		return throw_errno(env, err, create ? "bpf_tc_hook_create" : "bpf_tc_hook_destroy");
	return create ? make_bool(env, err == 0) : undefined(env);
}

static napi_value tc_hook_create(napi_env env, napi_callback_info info) { return tc_hook(env, info, true); }
static napi_value tc_hook_destroy(napi_env env, napi_callback_info info) { return tc_hook(env, info, false); }

/* iterRead(l, maxBytes) -> {data: Buffer, truncated}: one run of an iterator
 * link (bpf_iter_create), read to its end or to maxBytes. */
static napi_value iter_read(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	struct link_handle *l;
	uint32_t max;
	size_t len = 0;
	char *buf;
	int fd, err = 0;
	ssize_t n;

	if (!get_args(env, info, 2, argv) || !(l = link_arg(env, argv[0])) || !arg_u32(env, argv[1], &max, "maxBytes"))
		return NULL;
	if (max > 16 << 20)
		return throw_type_error(env, "maxBytes must be at most 16 MiB");
	fd = bpf_iter_create(l->link ? bpf_link__fd(l->link) : l->fd);
	if (fd < 0)
		return throw_errno(env, errno, "bpf_iter_create");
	/* One byte past the limit tells a full read from a cut one. */
	buf = malloc((size_t)max + 1);
	if (!buf) {
		close(fd);
		return throw_errno(env, ENOMEM, "iterRead");
	}
	while (len <= max) {
		n = read(fd, buf + len, (size_t)max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return throw_errno(env, err, "read iterator");
	}
	r = make_object(env);
	set_val(env, r, "data", make_buffer(env, buf, len > max ? max : len));
	set_bool(env, r, "truncated", len > max);
	free(buf);
	return r;
}

/* linkFromFd(fd): adopt a link fd (from a pin) as a handle that owns it. */
static napi_value link_from_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	if (fd < 0)
		return throw_type_error(env, "fd must not be negative");
	return wrap_link(env, NULL, fd, "linkFromFd");
}

/* linkDescribe(l) -> {fd, tc?: {handle, priority}}; fd is -1 where there is no
 * single kernel link (a netlink tc filter, a USDT attachment). */
static napi_value link_describe(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r, tc;
	struct link_handle *l;

	if (!get_args(env, info, 1, argv) || !(l = link_arg(env, argv[0])))
		return NULL;
	r = make_object(env);
	set_i32(env, r, "fd", l->composite ? -1 : l->link ? bpf_link__fd(l->link) : l->fd);
	if (l->is_tc) {
		tc = make_object(env);
		set_u32(env, tc, "handle", l->tc.handle);
		set_u32(env, tc, "priority", l->tc.priority);
		set_val(env, r, "tc", tc);
	}
	return r;
}

/* linkDetach(l): detach the kernel link now, even if pins hold it. */
static napi_value link_detach(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct link_handle *l;
	int fd;

	if (!get_args(env, info, 1, argv) || !(l = link_arg(env, argv[0])))
		return NULL;
	fd = l->composite ? -1 : l->link ? bpf_link__fd(l->link) : l->fd;
	if (fd < 0)
		return throw_errno(env, EOPNOTSUPP, "linkDetach: no single kernel link to detach");
	if (bpf_link_detach(fd))
		return throw_errno(env, errno, "bpf_link_detach");
	return undefined(env);
}

/* linkDestroy(l): release our hold (the link lives on while pinned). Idempotent. */
static napi_value link_destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct link_handle *l;

	if (!get_args(env, info, 1, argv) || !(l = arg_handle(env, argv[0], MAGIC_LINK, "link")))
		return NULL;
	link_release(l);
	return undefined(env);
}

napi_value init_attach(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "attachAuto", attach_auto },
		{ "attachTracepoint", attach_tracepoint },
		{ "attachRawTracepoint", attach_raw_tracepoint },
		{ "attachKprobe", attach_kprobe },
		{ "attachUprobe", attach_uprobe },
		{ "attachUsdt", attach_usdt },
		{ "attachPerfEvent", attach_perf_event },
		{ "linkCreate", link_create },
		{ "tcAttach", tc_attach },
		{ "tcHookCreate", tc_hook_create },
		{ "tcHookDestroy", tc_hook_destroy },
		{ "iterRead", iter_read },
		{ "linkFromFd", link_from_fd },
		{ "linkDescribe", link_describe },
		{ "linkDetach", link_detach },
		{ "linkDestroy", link_destroy },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
