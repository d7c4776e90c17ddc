// SPDX-License-Identifier: GPL-2.0
/* System calls on the host, or of one process (target_tgid), counted per
 * syscall number (syscount's question). Read the counts with inspect_state maps: {id} of `counts`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "fields.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose system calls are counted; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;

/* A syscall number (the architecture's numbering), shown by name. */
typedef __u32 syscall_id FIELD("syscall");

/* Calls so far, by syscall number. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, syscall_id);
	__type(value, __u64);
} counts SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	syscall_id nr = (__u32)ctx->args[1];
	__u64 one = 1, *v;

	if (target_tgid && bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	v = bpf_map_lookup_elem(&counts, &nr);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &nr, &one, BPF_NOEXIST);
	return 0;
}
