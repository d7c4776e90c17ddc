/* Counting per key in a hash map of __u32 keys and __u64 counts: the
 * fixtures count per tgid, per port. Include after vmlinux.h and bpf_helpers.h. */
#pragma once

static __always_inline void count_key(void *map, __u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}
