/* A log2 histogram in the libbpf-tools shape: slot i counts values from 2^i
 * to 2^(i+1)-1 (slot 0: 0 and 1). inspect_state recognises it by its
 * `slots` member and draws it. */
#pragma once

#define MAX_SLOTS 26

/* Counts per power of two. */
struct hist {
	__u32 slots[MAX_SLOTS];
};

/* floor(log2(v)), with log2(0) = 0, as libbpf-tools' bits.bpf.h computes it. */
static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* floor(log2(v)) for 64-bit values. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);
}

/* The histogram at `key` of a hash `map` of them, created empty the first time; NULL if the map is full. */
static __always_inline struct hist *hist_at(void *map, const void *key)
{
	struct hist zero = {}, *h = bpf_map_lookup_elem(map, key);

	if (h)
		return h;
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Counts `v` in its slot; values past the last slot count in the last. */
static __always_inline void hist_add(struct hist *h, __u64 v)
{
	__u32 slot = log2_u64(v);

	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}
