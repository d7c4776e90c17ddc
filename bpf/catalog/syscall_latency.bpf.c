// SPDX-License-Identifier: GPL-2.0
/* System call latency as a log2 histogram of microseconds (the libbpf-tools
 * shape: struct hist { __u32 slots[]; }), for every thread on the host.
 * Read it with inspect_state maps: {id} — it is drawn as a histogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_SLOTS 26

/* Latency counts: slot i holds calls that took 2^i .. 2^(i+1)-1 µs (slot 0: 0-1 µs). */
struct hist {
	__u32 slots[MAX_SLOTS];
};

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

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("raw_tracepoint/sys_enter")
int syscall_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int syscall_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0, slot;
	__u64 *start = bpf_map_lookup_elem(&starts, &tid);
	struct hist *h;

	if (!start)
		return 0;
	slot = log2_u64((bpf_ktime_get_ns() - *start) / 1000);
	bpf_map_delete_elem(&starts, &tid);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	h = bpf_map_lookup_elem(&latency_us, &zero);
	if (h)
		__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}
