// SPDX-License-Identifier: GPL-2.0
/* Off-CPU time by stack (offcputime's question: where do threads wait): at
 * each context switch the leaving thread's kernel and user stacks are taken;
 * when it runs again the time it was off the CPU is added to them, in
 * microseconds, per process. Read it with inspect_state maps: {id} of
 * `counts`, which returns the stacks symbolized and folded. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "stack_counts.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) timed; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only waits at least, and at most, this long (microseconds). Set before load. */
const volatile __u64 min_block_us = 1;
const volatile __u64 max_block_us = -1;
/* Leave out the user stacks (kernel threads have none). Set before load. */
const volatile bool kernel_stacks_only = false;

/* A thread off the CPU: since when, and what it was counted by. */
struct off_cpu {
	__u64 start_ns;
	struct stack_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct off_cpu);
} starts SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(prev, pid), tgid = BPF_CORE_READ(prev, tgid);
	struct off_cpu *off, leaving = {};
	__u64 us;

	/* The stacks are taken in the leaving thread's context: this program runs as prev. */
	if (tid && (!target_tgid || tgid == target_tgid)) {
		leaving.start_ns = bpf_ktime_get_ns();
		leaving.key.pid = tgid;
		BPF_CORE_READ_STR_INTO(&leaving.key.comm, prev, comm);
		leaving.key.user_stack_id = kernel_stacks_only ? -EFAULT : bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		leaving.key.kern_stack_id = bpf_get_stackid(ctx, &stacks, 0);
		bpf_map_update_elem(&starts, &tid, &leaving, BPF_ANY);
	}
	tid = BPF_CORE_READ(next, pid);
	off = bpf_map_lookup_elem(&starts, &tid);
	if (!off)
		return 0;
	us = (bpf_ktime_get_ns() - off->start_ns) / 1000;
	if (us >= min_block_us && us <= max_block_us)
		stack_count(&off->key, us);
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}
