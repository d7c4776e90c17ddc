// SPDX-License-Identifier: GPL-2.0
/* System call latency as a log2 histogram of microseconds (the libbpf-tools
 * shape: struct hist { __u32 slots[]; }), for every thread on the host or
 * one process (target_tgid). Read it with inspect_state maps: {id} — it is
 * drawn as a histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "log2_hist.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose system calls are timed; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} latency_us SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int syscall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ts = bpf_ktime_get_ns();

	if (target_tgid && id >> 32 != target_tgid)
		return 0;
	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int syscall_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	__u64 *start = bpf_map_lookup_elem(&starts, &tid), us;
	struct hist *h;

	if (!start)
		return 0;
	us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&starts, &tid);
	h = bpf_map_lookup_elem(&latency_us, &zero);
	if (h)
		hist_add(h, us);
	return 0;
}
