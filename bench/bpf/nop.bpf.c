// SPDX-License-Identifier: GPL-2.0
/* Benchmark: the smallest useful program, one array map and a counter,
 * loaded a thousand times to give inspect_state a crowded kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nop_hits SEC(".maps");

SEC("socket")
int nop(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&nop_hits, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
