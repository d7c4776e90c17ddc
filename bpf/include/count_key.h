/* Counting per key in a hash map of __u32 keys and __u64 counts: the
 * fixtures count per tgid, per port. Include after vmlinux.h and bpf_helpers.h. */
#pragma once

/* A hash map of `entries` __u32 keys to __u64 counts. */
#define COUNT_MAP(name, entries)                                                       \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_HASH);                                       \
		__uint(max_entries, entries);                                          \
		__type(key, __u32);                                                    \
		__type(value, __u64);                                                  \
	} name SEC(".maps")

static __always_inline void count_key(void *map, __u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}
