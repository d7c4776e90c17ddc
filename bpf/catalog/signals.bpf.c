// SPDX-License-Identifier: GPL-2.0
/* Every signal generated on the host as a ring buffer record: who sent which
 * signal to whom, and whether it was delivered (sigsnoop's question). The
 * kernel's own signals count too (SIGCHLD from an exiting child, SIGSEGV);
 * kill(2) calls refused before a signal exists (EPERM, ESRCH) do not show.
 * Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose incoming signals are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* The signal number reported; 0 for every signal. */
const volatile __s32 target_signal = 0;
/* Only signals that were not delivered (ignored, already pending, queue full). */
const volatile bool failed_only = false;

/* What became of a signal, numbered as the tracepoint's TRACE_SIGNAL_* (include/trace/events/signal.h). */
enum signal_result {
	SIGNAL_DELIVERED = 0,
	SIGNAL_IGNORED,
	SIGNAL_ALREADY_PENDING, /* a standard signal already pending: merged with it */
	SIGNAL_OVERFLOW_FAIL, /* a real-time signal's queue was full: dropped */
	SIGNAL_LOSE_INFO, /* delivered without its siginfo */
};

/* One signal, sent by pid/tid (the current task) to target_pid/target_tid. */
struct signal_event {
	__u32 pid;
	__u32 tid;
	__u32 target_pid;
	__u32 target_tid;
	__s32 sig FIELD("signal");
	__s32 code; /* si_code: 0 SI_USER (kill), 0x80 SI_KERNEL, -6 SI_TKILL, -1 SI_QUEUE, > 0 the kernel's reason */
	enum signal_result result;
	bool group; /* sent to the whole process, not one thread */
	__u8 pad[3] FIELD("hidden");
	char comm[16];
	char target_comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct signal_event in the object's BTF under its name. */
struct signal_event *unused_signal_event __attribute__((unused));

/* si_code as the tracepoint's own format reads it: the kernel passes 0 or 1 for a siginfo it did not fill in. */
static __always_inline int si_code(struct kernel_siginfo *info)
{
	if (info == (void *)0) /* SEND_SIG_NOINFO */
		return 0; /* SI_USER */
	if (info == (void *)1) /* SEND_SIG_PRIV */
		return 0x80; /* SI_KERNEL */
	return BPF_CORE_READ(info, si_code);
}

/* tp_btf, not the tracepoint's format: it gives the target's task, so its tgid, where the format has only the tid. */
SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct signal_event *e;
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (target_tgid && tgid != target_tgid)
		return 0;
	if (target_signal && sig != target_signal)
		return 0;
	if (failed_only && (result == SIGNAL_DELIVERED || result == SIGNAL_LOSE_INFO))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->target_pid = tgid;
	e->target_tid = BPF_CORE_READ(task, pid);
	e->sig = sig;
	e->code = si_code(info);
	e->result = result;
	e->group = group;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->target_comm, task, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
