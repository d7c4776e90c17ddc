// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency (runqlat's question): how long runnable threads wait for
 * a CPU, from their wakeup or preemption to their switch-in, as a log2
 * histogram of microseconds. Read it with inspect_state maps: {id} of
 * `latency_us`: key 0 holds every counted thread, or with per_process one
 * histogram per process, keyed by tgid. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "log2_hist.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

/* The process (tgid) whose threads are timed; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* One histogram per process, keyed by its tgid, instead of one at key 0. Set before load. */
const volatile bool per_process = false;

/* When each queued thread became runnable, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

/* Microseconds waited: key 0, or the tgid with per_process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, pid_t);
	__type(value, struct hist);
} latency_us SEC(".maps");

/* task_struct before 5.14 named its state `state`. */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* Notes when a thread of the target became runnable (the idle threads, pid 0, never count). */
static __always_inline void enqueued(struct task_struct *t)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 ts = bpf_ktime_get_ns();

	if (!tid || (target_tgid && BPF_CORE_READ(t, tgid) != target_tgid))
		return;
	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	pid_t key = per_process ? BPF_CORE_READ(next, tgid) : 0;
	struct hist *h;
	__u64 *start, us;

	/* Still runnable as it leaves the CPU (preempted, or it yielded): it waits on the queue from now. */
	if (task_state(prev) == TASK_RUNNING)
		enqueued(prev);
	start = bpf_map_lookup_elem(&starts, &tid);
	if (!start)
		return 0;
	us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&starts, &tid);
	h = hist_at(&latency_us, &key);
	if (h)
		hist_add(h, us);
	return 0;
}
