// SPDX-License-Identifier: GPL-2.0
/* Benchmark: one 48-byte record per getpid() of one target process into a
 * ring buffer, counting records emitted and records the full ring refused.
 * The target is set after load by running `set_target` with its tgid. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

enum { STAT_EMITTED, STAT_DROPPED, STAT_COUNT };

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} live_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} live_stats SEC(".maps");

/* Sequence number of the next record. */
__u64 next_seq;

static void count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&live_stats, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 key = 0, *want;
	struct event *e;

	want = bpf_map_lookup_elem(&target, &key);
	if (!want || *want != id >> 32)
		return 0;
	e = bpf_ringbuf_reserve(&live_ring, sizeof(*e), 0);
	if (!e) {
		count(STAT_DROPPED);
		return 0;
	}
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->seq = __sync_fetch_and_add(&next_seq, 1);
	e->cpu = bpf_get_smp_processor_id();
	e->flags = 0;
	bpf_ringbuf_submit(e, 0);
	count(STAT_EMITTED);
	return 0;
}

/* The context of set_target. */
struct target_args {
	__u32 tgid;
};

SEC("syscall")
int set_target(struct target_args *args)
{
	__u32 key = 0, tgid = args->tgid;

	return bpf_map_update_elem(&target, &key, &tgid, BPF_ANY);
}
