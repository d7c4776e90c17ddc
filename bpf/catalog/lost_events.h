/* SPDX-License-Identifier: GPL-2.0 */
/* The count of records a program could not write to its ring buffer (the
 * ring was full): a ring keeps no such count, so each failed
 * bpf_ringbuf_reserve or bpf_ringbuf_output adds one here. ebpf-mcp reads
 * this map, by its name, when it streams a ring of the same object, and
 * reports the difference between start and end as the stream's `lost`.
 * Include it after bpf_helpers.h. */
#ifndef EBPF_MCP_LOST_EVENTS_H
#define EBPF_MCP_LOST_EVENTS_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Counts one record that could not be written. */
static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost_events, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

#endif
