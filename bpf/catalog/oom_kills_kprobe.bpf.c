// SPDX-License-Identifier: GPL-2.0
/* Every OOM kill on the host, as oom_kills.bpf.c reports it, plus what
 * libbpf-tools oomkill reads from oom_kill_process's oom_control: whether a
 * memory cgroup or the machine ran out, and the size of that domain (a
 * memory cgroup's limit). oom_kill_process marks its victims (oom:mark_victim)
 * in the same task, so its kprobe keeps the oom_control's facts by thread
 * for the tracepoint's record, and its kretprobe drops them. It needs the
 * kprobe PMU; where there is none, oom_kills.bpf.c answers without them. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "oom_kills.h"

char LICENSE[] SEC("license") = "GPL";

/* The kernel's page size, in log2 bytes: 4 KiB, as on x86 and most arm64 kernels. */
#define PAGE_SHIFT 12

/* The OOM a thread is handling in oom_kill_process. */
struct oom {
	enum oom_domain domain;
	__u64 domain_kb;
};

/* OOM kills in progress, by thread (pid_tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct oom);
} ooms SEC(".maps");

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(oom_kill_process_entry, struct oom_control *oc)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct oom o = {
		.domain = BPF_CORE_READ(oc, memcg) ? OOM_DOMAIN_MEMCG : OOM_DOMAIN_GLOBAL,
		.domain_kb = (__u64)BPF_CORE_READ(oc, totalpages) << (PAGE_SHIFT - 10),
	};

	bpf_map_update_elem(&ooms, &id, &o, BPF_ANY);
	return 0;
}

SEC("kretprobe/oom_kill_process")
int BPF_KRETPROBE(oom_kill_process_return)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&ooms, &id);
	return 0;
}

SEC("tp/oom/mark_victim")
int handle_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct oom *o = bpf_map_lookup_elem(&ooms, &id);

	return o ? emit_victim(ctx, o->domain, o->domain_kb) : emit_victim(ctx, OOM_DOMAIN_UNKNOWN, 0);
}
