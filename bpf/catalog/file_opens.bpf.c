// SPDX-License-Identifier: GPL-2.0
/* Every openat(2) on the host (or of one process: target_tgid) as a ring
 * buffer record when the call returns: who opened what, with which flags,
 * and the result, a file descriptor or an errno (opensnoop's question).
 * Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose opens are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only opens that failed. Set before load. */
const volatile bool failed_only = false;

#define PATH_LEN 256

/* One openat call, as the process passed it, and what it returned. */
struct file_open_event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 flags FIELD("open_flags");
	__s32 ret FIELD("ret"); /* the new file descriptor, or -errno */
	char comm[16];
	char filename[PATH_LEN];
};

/* An openat in flight, by thread: its path (a user pointer) and flags, from entry to return. */
struct open_args {
	const char *filename;
	__s32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct open_args);
} in_flight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Keeps struct file_open_event in the object's BTF under its name. */
struct file_open_event *unused_file_open_event __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_args args = {};

	if (target_tgid && id >> 32 != target_tgid)
		return 0;
	args.filename = (const char *)ctx->args[1];
	args.flags = (__s32)ctx->args[2];
	bpf_map_update_elem(&in_flight, &id, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int handle_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct file_open_event *e;
	struct open_args *args;
	__s32 ret = (__s32)ctx->ret;

	args = bpf_map_lookup_elem(&in_flight, &id);
	if (!args)
		return 0;
	if (failed_only && ret >= 0)
		goto done;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		goto done;
	}
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = args->flags;
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* The path is still in the caller's memory: the call has not returned to it yet. */
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), args->filename) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
done:
	bpf_map_delete_elem(&in_flight, &id);
	return 0;
}
