/* SPDX-License-Identifier: GPL-2.0 */
/* What the block request programs share (block_io_latency, block_io_events):
 * the disk a request is for, by CO-RE on any kernel since the gendisk moved
 * from the request to its queue; the target_dev parameter; and the map of
 * requests in flight, keyed by the request's address from its insertion or
 * issue to its completion (block_rq_complete runs in interrupt context, so
 * what the issuer was is noted before). Include it after vmlinux.h,
 * bpf_helpers.h and bpf_core_read.h. */
#ifndef EBPF_MCP_BLOCK_DISK_H
#define EBPF_MCP_BLOCK_DISK_H

/* The disk whose requests are traced (major << 20 | minor, as the block tracepoints' `dev`); 0 for every disk. Set before load. */
const volatile dev_t target_dev = 0;

/* The map `starts`: what was noted of each request in flight (a `noted`), by its address, up to 10240 at once. */
#define BLOCK_STARTS(noted)                        \
	struct {                                   \
		__uint(type, BPF_MAP_TYPE_HASH);   \
		__uint(max_entries, 10240);        \
		__type(key, struct request *);     \
		__type(value, noted);              \
	} starts SEC(".maps")

/* Before 5.17 a request named its disk itself (rq_disk); since, its queue does (q->disk). */
struct request___o {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* The disk the request is for (NULL for none). */
static __always_inline struct gendisk *gendisk_of(struct request *rq)
{
	if (bpf_core_field_exists(((struct request___o *)rq)->rq_disk))
		return BPF_CORE_READ((struct request___o *)rq, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/* A disk's dev_t in the kernel's encoding (major << 20 | minor); 0 for none. */
static __always_inline dev_t dev_of(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return (dev_t)BPF_CORE_READ(disk, major) << 20 | BPF_CORE_READ(disk, first_minor);
}

/* The dev_t of the request's disk. */
static __always_inline dev_t disk_of(struct request *rq)
{
	return dev_of(gendisk_of(rq));
}

/* Whether the request is for the target disk (every request when target_dev is 0). */
static __always_inline bool on_target_disk(struct request *rq)
{
	return !target_dev || disk_of(rq) == target_dev;
}

/* Whether the request's queue has an I/O scheduler, which block_rq_insert puts requests into before their issue. */
static __always_inline bool scheduled(struct request *rq)
{
	return BPF_CORE_READ(rq, q, elevator) != NULL;
}

#endif
