// SPDX-License-Identifier: GPL-2.0
/* Every openat(2) on the host (or of one process: target_tgid) as a ring
 * buffer record: who opened what, with which flags (opensnoop's question).
 * Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose opens are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;

#define PATH_LEN 256

/* One openat call, as the process passed it. */
struct file_open_event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 flags FIELD("open_flags");
	char comm[16];
	char filename[PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Keeps struct file_open_event in the object's BTF under its name. */
struct file_open_event *unused_file_open_event __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct file_open_event *e;

	if (target_tgid && id >> 32 != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = (__s32)ctx->args[2];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[1]) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}
