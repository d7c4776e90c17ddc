// SPDX-License-Identifier: GPL-2.0
/* Every OOM kill on the host (the whole machine's or a memory cgroup's) as a
 * ring buffer record: the victim, its memory when it was chosen, and the task
 * that ran the OOM killer, usually the one whose allocation failed (oomkill's
 * question). Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* One OOM victim. Sizes in KiB, as the tracepoint reports them; 0 for what an older kernel's tracepoint lacks. */
struct oom_kill_event {
	__u32 pid; /* the victim: its main thread, unless that one had exited */
	__u32 uid;
	char comm[16];
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u64 pgtables_kb;
	__s16 oom_score_adj;
	__u16 pad FIELD("hidden");
	/* The task the OOM killer ran in (a kworker for sysrq-f). */
	__u32 trigger_pid;
	char trigger_comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Keeps struct oom_kill_event in the object's BTF under its name. */
struct oom_kill_event *unused_oom_kill_event __attribute__((unused));

/* A field of the tracepoint, or 0 on a kernel whose tracepoint does not have it yet (they came in 6.x). */
#define TP_FIELD(f) (bpf_core_field_exists(ctx->f) ? ctx->f : 0)

SEC("tp/oom/mark_victim")
int handle_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct oom_kill_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = ctx->pid;
	e->uid = TP_FIELD(uid);
	e->comm[0] = '\0';
	if (bpf_core_field_exists(ctx->__data_loc_comm))
		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), (void *)ctx + (ctx->__data_loc_comm & 0xFFFF));
	e->total_vm_kb = TP_FIELD(total_vm);
	e->anon_rss_kb = TP_FIELD(anon_rss);
	e->file_rss_kb = TP_FIELD(file_rss);
	e->shmem_rss_kb = TP_FIELD(shmem_rss);
	e->pgtables_kb = TP_FIELD(pgtables);
	e->oom_score_adj = TP_FIELD(oom_score_adj);
	e->pad = 0;
	e->trigger_pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
