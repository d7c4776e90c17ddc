/* SPDX-License-Identifier: GPL-2.0 */
/* The record of oomkill, one layout for both of its objects, and the record
 * they both write from oom:mark_victim. Include it after vmlinux.h,
 * bpf_helpers.h and bpf_core_read.h.
 *
 * oom_kills.bpf.c (hook "tracepoint", the default) sees the victim only:
 * domain is OOM_DOMAIN_UNKNOWN and domain_kb 0. oom_kills_kprobe.bpf.c (hook
 * "kprobe") also hooks oom_kill_process, as libbpf-tools oomkill does, and
 * fills them from its oom_control: the whole machine's OOM or a memory
 * cgroup's, and that domain's size (for a memory cgroup, its limit). */
#ifndef EBPF_MCP_OOM_KILLS_H
#define EBPF_MCP_OOM_KILLS_H

#include "lost_events.h"
#include "fields.h"

enum oom_domain {
	OOM_DOMAIN_UNKNOWN = 0, /* the tracepoint variant, or a victim not chosen by oom_kill_process (an exiting task) */
	OOM_DOMAIN_GLOBAL,      /* the machine (or a cpuset or mempolicy within it) ran out */
	OOM_DOMAIN_MEMCG,       /* a memory cgroup reached its limit */
};

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
	/* kprobe variant: the OOM's domain size, oom_control's totalpages (a memory cgroup's limit); 0 in the tracepoint variant. */
	__u64 domain_kb;
	enum oom_domain domain;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* Keeps struct oom_kill_event in the object's BTF under its name. */
struct oom_kill_event *unused_oom_kill_event __attribute__((unused));

/* A field of the tracepoint, or 0 on a kernel whose tracepoint does not have it yet (they came in 6.x). */
#define TP_FIELD(f) (bpf_core_field_exists(ctx->f) ? ctx->f : 0)

/* Writes the record of the victim oom:mark_victim reports, in the OOM's `domain` of `domain_kb`. */
static __always_inline int emit_victim(struct trace_event_raw_mark_victim *ctx, enum oom_domain domain, __u64 domain_kb)
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
	e->domain_kb = domain_kb;
	e->domain = domain;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif
