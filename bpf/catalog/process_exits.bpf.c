// SPDX-License-Identifier: GPL-2.0
/* Every process exit on the host as a ring buffer record: who, its parent,
 * the exit code or the signal that killed it, and how long it lived
 * (exitsnoop's question). One record when the last thread of a process
 * exits, or one per thread with trace_threads. Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose exit is reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only exits with a nonzero code or by a signal. */
const volatile bool trace_failed_only = false;
/* A record for every thread that exits, not one per process. */
const volatile bool trace_threads = false;

#define SIGNAL_GROUP_EXIT 0x4 /* include/linux/sched/signal.h */

/* One exit. In process mode, the status, comm and lifetime are the process's; tid is its last thread. */
struct process_exit_event {
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 exit_code; /* the status passed to exit(2), when no signal ended it */
	__s32 sig FIELD("signal"); /* the signal that killed it, 0 for none */
	bool core_dumped;
	__u8 pad[7] FIELD("hidden");
	__u64 lifetime_ns FIELD("duration_ns");
	__u64 cgroup_id; /* cgroup v2 */
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct process_exit_event in the object's BTF under its name. */
struct process_exit_event *unused_process_exit_event __attribute__((unused));

/* Whether this thread's exit ends its process: the tracepoint says so, or on kernels without group_dead, the leader's exit. */
static __always_inline bool process_ends(struct trace_event_raw_sched_process_exit *ctx, __u64 id)
{
	if (bpf_core_field_exists(ctx->group_dead))
		return ctx->group_dead;
	return id >> 32 == (__u32)id;
}

/* The status the parent's wait(2) sees: the group's after exit_group(2) or a fatal signal, else the leader's. */
static __always_inline int process_status(struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(signal, group_exit_code);
	return BPF_CORE_READ(task, group_leader, exit_code);
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task(), *whose;
	__u64 id = bpf_get_current_pid_tgid();
	struct process_exit_event *e;
	int status;

	if (target_tgid && id >> 32 != target_tgid)
		return 0;
	if (!trace_threads && !process_ends(ctx, id))
		return 0;
	status = trace_threads ? BPF_CORE_READ(task, exit_code) : process_status(task);
	if (trace_failed_only && status == 0)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	/* The process's name and start are its leader's: the last thread may be a worker with a name of its own. */
	whose = trace_threads ? task : BPF_CORE_READ(task, group_leader);
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->exit_code = (status >> 8) & 0xff;
	e->sig = status & 0x7f;
	e->core_dumped = status & 0x80;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	e->lifetime_ns = bpf_ktime_get_ns() - BPF_CORE_READ(whose, start_time);
	e->cgroup_id = bpf_get_current_cgroup_id();
	BPF_CORE_READ_STR_INTO(&e->comm, whose, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
