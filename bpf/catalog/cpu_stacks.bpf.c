// SPDX-License-Identifier: GPL-2.0
/* On-CPU stacks sampled at a set frequency (profile's question: where is the
 * CPU time spent): each sample counts the kernel and user stacks of the task
 * on the CPU, per process. Attached to a cpu-clock perf event on every CPU;
 * read it with inspect_state maps: {id} of `counts`, which returns the
 * stacks symbolized and folded. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "stack_counts.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) sampled; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Leave out the user stacks, or the kernel stacks. Set before load. */
const volatile bool kernel_stacks_only = false;
const volatile bool user_stacks_only = false;
/* Count samples of idle CPUs too (the idle task, pid 0). Set before load. */
const volatile bool include_idle = false;

SEC("perf_event")
int cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stack_key key = {};

	if (!include_idle && (__u32)id == 0)
		return 0;
	if (target_tgid && id >> 32 != target_tgid)
		return 0;
	key.pid = id >> 32;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.user_stack_id = kernel_stacks_only ? -EFAULT : bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	key.kern_stack_id = user_stacks_only ? -EFAULT : bpf_get_stackid(ctx, &stacks, 0);
	stack_count(&key, 1);
	return 0;
}
