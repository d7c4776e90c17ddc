// SPDX-License-Identifier: GPL-2.0
/* Every exec on the host (or of one process: target_tgid) as a ring buffer
 * record: pid, parent, uid, the command name, the file executed, its
 * arguments and the return value (execsnoop's question). A successful exec is
 * recorded at sched_process_exec with ret 0; a failed one at the exit of
 * execve or execveat, from what the caller passed, with ret its negative
 * errno. CO-RE: runs on any kernel with BTF. */
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
/* A failed exec's arguments read: at most this many, each measured up to ARG_MEASURE bytes. */
#define MAX_ARGS 20
#define ARG_MEASURE 4096
/* Execs in progress at once that a failure can still be reported for. */
#define MAX_PENDING 10240

/* One exec, as user space decodes it (by name, from this object's BTF). */
struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	/* 0 for a successful exec, else the failed call's negative errno. */
	__s32 ret FIELD("ret");
	__u64 ts_ns;
	char comm[16];
	char filename[FILENAME_LEN];
	/* argv joined by spaces, cut at ARGS_LEN - 1 bytes; args_size is argv's whole size, so a cut shows
	 * (of a failed exec: the first MAX_ARGS arguments, each counted up to ARG_MEASURE bytes). */
	__u32 args_size;
	char args[ARGS_LEN];
	__u32 pad FIELD("hidden"); /* the tail to 8 bytes, zeroed */
};

/* What execve or execveat was given, kept from its entry to its exit: the caller's pointers, read at the exit
 * of a failed call (its memory as the caller left it; a successful one's is gone, and it needs no reading). */
struct exec_call {
	const char *filename;
	const char *const *argv;
};

/* The calls in progress, by pid_tgid; deleted at the exit, or at sched_process_exec by the pid before the exec. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PENDING);
	__type(key, __u64);
	__type(value, struct exec_call);
} calls SEC(".maps");

/* A failed exec's record while it is built; spill takes what a read at the end of args passes it by, and
 * an argument too long for args, read again only to be measured. */
struct exec_scratch {
	struct exec_event e;
	char spill[ARG_MEASURE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} scratch SEC(".maps");

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

/* A successful exec, in the new image. The call's note goes: its exit (ret 0) reports nothing, and an exec by
 * a thread other than the leader noted it under the thread's old id, which the exit no longer has. */
SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	__u64 old_id = (bpf_get_current_pid_tgid() & ~0xFFFFFFFFULL) | (__u32)ctx->old_pid;
	struct exec_event *e;

	if (target_tgid && bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	bpf_map_delete_elem(&calls, &old_id);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = 0;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	read_args(e, task);
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Notes what an exec call was given, for its exit to report it if it fails. */
static __always_inline void note_call(const char *filename, const char *const *argv)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct exec_call call = { .filename = filename, .argv = argv };

	if (target_tgid && id >> 32 != target_tgid)
		return;
	bpf_map_update_elem(&calls, &id, &call, BPF_ANY);
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	note_call((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
	return 0;
}

SEC("tp/syscalls/sys_enter_execveat")
int handle_execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	note_call((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
	return 0;
}

/* What copy_arg needs: the record being built, the caller's argv, where the next argument goes and argv's size so far. */
struct argv_walk {
	struct exec_scratch *s;
	const char *const *argv;
	__u32 off;
	__u32 size;
};

/* bpf_loop's step: argument i appended after the others (its NUL kept), its whole length counted; 1 at argv's end. */
static long copy_arg(__u32 i, void *data)
{
	struct argv_walk *w = data;
	const char *arg;
	long n;

	if (bpf_probe_read_user(&arg, sizeof(arg), &w->argv[i]) < 0 || !arg)
		return 1;
	/* off <= ARGS_LEN - 1 and the read is at most ARGS_LEN bytes: spill holds what passes args' end. */
	n = bpf_probe_read_user_str(&w->s->e.args[w->off & (ARGS_LEN - 1)], ARGS_LEN, arg);
	if (n <= 0)
		return 1;
	if (n == ARGS_LEN)
		n = bpf_probe_read_user_str(w->s->spill, ARG_MEASURE, arg);
	if (n <= 0)
		return 1;
	w->size += n;
	w->off = w->off + n < ARGS_LEN - 1 ? w->off + n : ARGS_LEN - 1;
	return 0;
}

/* The caller's argv joined by spaces into e->args, as read_args writes the new image's. */
static __always_inline void read_argv(struct exec_scratch *s, const char *const *argv)
{
	struct argv_walk walk = { .s = s, .argv = argv };
	struct args_walk spaces = { .e = &s->e };

	bpf_loop(MAX_ARGS, copy_arg, &walk, 0);
	s->e.args_size = walk.size;
	s->e.args[walk.off & (ARGS_LEN - 1)] = '\0';
	spaces.len = walk.off;
	bpf_loop(ARGS_LEN, space_nul, &spaces, 0);
}

/* At an exec call's exit: a record of a failed call from its note, nothing for a successful one (handle_exec wrote it). */
static __always_inline void report_failure(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_call *call = bpf_map_lookup_elem(&calls, &id);
	struct exec_call noted;
	struct exec_scratch *s;
	__u32 zero = 0;

	if (!call)
		return;
	noted = *call;
	bpf_map_delete_elem(&calls, &id);
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (ret >= 0 || !s)
		return;
	s->e.pid = id >> 32;
	s->e.ppid = BPF_CORE_READ(task, real_parent, tgid);
	s->e.uid = (__u32)bpf_get_current_uid_gid();
	s->e.ret = ret;
	s->e.ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(&s->e.comm, sizeof(s->e.comm));
	if (bpf_probe_read_user_str(s->e.filename, sizeof(s->e.filename), noted.filename) < 0)
		s->e.filename[0] = '\0';
	read_argv(s, noted.argv);
	s->e.pad = 0;
	if (bpf_ringbuf_output(&events, &s->e, sizeof(s->e), 0) < 0)
		count_lost();
}

SEC("tp/syscalls/sys_exit_execve")
int handle_execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	report_failure(ctx->ret);
	return 0;
}

SEC("tp/syscalls/sys_exit_execveat")
int handle_execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	report_failure(ctx->ret);
	return 0;
}
