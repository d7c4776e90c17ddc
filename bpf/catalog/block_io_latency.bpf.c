// SPDX-License-Identifier: GPL-2.0
/* Block I/O latency (biolatency's question): how long block requests take,
 * from their issue to the driver (with queued, from their insertion into
 * the I/O scheduler's queue) to their completion, as a log2 histogram of
 * microseconds. Read it with inspect_state maps: {id} of `latency_us`:
 * key 0 holds every counted request, or with per_disk one histogram per
 * disk, keyed by its dev_t in the kernel's encoding (major << 20 | minor,
 * as the block tracepoints' `dev` field). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "log2_hist.h"
#include "block_disk.h"

char LICENSE[] SEC("license") = "GPL";

/* One histogram per disk, keyed by its dev_t, instead of one at key 0. Set before load. */
const volatile bool per_disk = false;
/* Time from insertion into the I/O scheduler too, on disks that have one (elsewhere from issue). Set before load. */
const volatile bool queued = false;

/* When each request in flight was started. */
BLOCK_STARTS(__u64);

/* Microseconds to completion: key 0, or the disk's dev_t with per_disk. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, dev_t);
	__type(value, struct hist);
} latency_us SEC(".maps");

/* Notes when a request of the target disk started. */
static __always_inline void started(struct request *rq)
{
	__u64 ts = bpf_ktime_get_ns();

	if (!on_target_disk(rq))
		return;
	bpf_map_update_elem(&starts, &rq, &ts, BPF_ANY);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	if (queued && scheduled(rq))
		started(rq);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	/* With queued, a request that went through an I/O scheduler is timed from its insertion. */
	if (!queued || !scheduled(rq))
		started(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 *start = bpf_map_lookup_elem(&starts, &rq), us;
	dev_t key = 0;
	struct hist *h;

	if (!start)
		return 0;
	us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&starts, &rq);
	if (per_disk)
		key = disk_of(rq);
	h = hist_at(&latency_us, &key);
	if (h)
		hist_add(h, us);
	return 0;
}
