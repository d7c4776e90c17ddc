// SPDX-License-Identifier: GPL-2.0
/* Every OOM kill on the host (the whole machine's or a memory cgroup's) as a
 * ring buffer record: the victim, its memory when it was chosen, and the task
 * that ran the OOM killer, usually the one whose allocation failed (oomkill's
 * question). Read it with stream_events. The record, and what the kprobe
 * variant (oom_kills_kprobe.bpf.c) adds to it, are in oom_kills.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "oom_kills.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp/oom/mark_victim")
int handle_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	return emit_victim(ctx, OOM_DOMAIN_UNKNOWN, 0);
}
