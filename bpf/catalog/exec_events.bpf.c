// SPDX-License-Identifier: GPL-2.0
/* Every exec on the host (or of one process: target_tgid) as a ring buffer
 * record: pid, parent, uid, the command name, the file executed and its
 * arguments (execsnoop's question). CO-RE: runs on any kernel with BTF. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose execs are reported (exec keeps the pid); 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;

#define FILENAME_LEN 128
#define ARGS_LEN 256

/* One exec, as user space decodes it (by name, from this object's BTF). */
struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 pad FIELD("hidden");
	__u64 ts_ns;
	char comm[16];
	char filename[FILENAME_LEN];
	/* argv joined by spaces, cut at ARGS_LEN - 1 bytes; args_size is argv's whole size, so a cut shows. */
	__u32 args_size;
	char args[ARGS_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct exec_event in the object's BTF under a known name. */
struct exec_event *unused_exec_event __attribute__((unused));

/* What space_nul needs: the record, and how many bytes of argv it holds. */
struct args_walk {
	struct exec_event *e;
	__u32 len;
};

/* bpf_loop's step: byte i of argv, a NUL between two arguments becoming a space. */
static long space_nul(__u32 i, void *data)
{
	struct args_walk *w = data;
	char *c = &w->e->args[i & (ARGS_LEN - 1)]; /* i < len < ARGS_LEN, in a form the verifier bounds */

	if (i + 1 >= w->len)
		return 1;
	if (*c == '\0')
		*c = ' ';
	return 0;
}

/* The new image's argv, from its mm (the exec has replaced it already), NULs turned to spaces. */
static __always_inline void read_args(struct exec_event *e, struct task_struct *task)
{
	unsigned long start = BPF_CORE_READ(task, mm, arg_start), end = BPF_CORE_READ(task, mm, arg_end);
	__u32 len = end > start ? end - start : 0;
	struct args_walk walk = { .e = e };

	e->args_size = len;
	if (len > ARGS_LEN - 1)
		len = ARGS_LEN - 1;
	len &= ARGS_LEN - 1; /* the same value, in a form the verifier bounds */
	if (bpf_probe_read_user(e->args, len, (void *)start) < 0)
		len = 0;
	e->args[len] = '\0';
	walk.len = len;
	bpf_loop(ARGS_LEN, space_nul, &walk, 0);
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	struct exec_event *e;

	if (target_tgid && bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->pad = 0;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	read_args(e, task);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
