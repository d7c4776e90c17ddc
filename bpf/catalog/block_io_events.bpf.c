// SPDX-License-Identifier: GPL-2.0
/* Every completed block I/O request (biosnoop's question) as a ring buffer
 * record: the process that issued it (pid and command, noted when the
 * request was inserted or issued: completion runs in interrupt context), its
 * disk, operation by name, first sector, bytes, and microseconds from issue
 * to completion; with queued, also the time from insertion into the I/O
 * scheduler to issue. Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lost_events.h"
#include "fields.h"
#include "block_disk.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose requests are reported, as noted at insertion or issue; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only requests that took at least this many microseconds from issue to completion; 0 for all. Set before load. */
const volatile __u64 min_latency_us = 0;
/* Report queued_us, the time from insertion into an I/O scheduler to issue (0 otherwise). Set before load. */
const volatile bool queued = false;

/* cmd_flags' low bits hold the operation (REQ_OP_MASK, since 4.10). */
#define REQ_OP_MASK 0xff

/* Operations by name; the kernel's REQ_OP_* numbers differ between versions, so they are mapped by CO-RE. */
enum block_op {
	BLOCK_OP_READ = 0,
	BLOCK_OP_WRITE,
	BLOCK_OP_FLUSH,
	BLOCK_OP_DISCARD,
	BLOCK_OP_SECURE_ERASE,
	BLOCK_OP_WRITE_ZEROES,
	BLOCK_OP_OTHER, /* zoned and driver-private operations */
};

/* A request in flight: when it was inserted (0 if it was not) and issued (0 until it is), and by whom. */
struct block_start {
	__u64 insert_ns;
	__u64 issue_ns;
	__u32 pid;
	char comm[16];
};

BLOCK_STARTS(struct block_start);

/* One completed request. */
struct block_io_event {
	__u64 latency_us FIELD("duration_us"); /* issue to completion */
	__u64 queued_us FIELD("duration_us"); /* insertion to issue, with queued; 0 without or when not inserted */
	__u64 sector; /* the first, in 512-byte sectors */
	__u32 bytes; /* completed (0 for a flush) */
	__u32 pid; /* the issuer's tgid */
	__u32 dev; /* the disk's dev_t: major << 20 | minor */
	enum block_op op;
	char disk[16]; /* "major:minor" */
	char disk_name[32];
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Keeps struct block_io_event in the object's BTF under its name. */
struct block_io_event *unused_block_io_event __attribute__((unused));

/* The request's operation, from its cmd_flags. */
static __always_inline enum block_op op_of(struct request *rq)
{
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;

	if (op == bpf_core_enum_value(enum req_op, REQ_OP_READ))
		return BLOCK_OP_READ;
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE))
		return BLOCK_OP_WRITE;
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_FLUSH))
		return BLOCK_OP_FLUSH;
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_DISCARD))
		return BLOCK_OP_DISCARD;
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_SECURE_ERASE))
		return BLOCK_OP_SECURE_ERASE;
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE_ZEROES))
		return BLOCK_OP_WRITE_ZEROES;
	return BLOCK_OP_OTHER;
}

/* Notes a request of the target disk and process, at insertion or at issue (`issue_ns` then). */
static __always_inline void note(struct request *rq, __u64 insert_ns, __u64 issue_ns)
{
	struct block_start s = { .insert_ns = insert_ns, .issue_ns = issue_ns };

	s.pid = bpf_get_current_pid_tgid() >> 32;
	if (target_tgid && s.pid != target_tgid)
		return;
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	bpf_map_update_elem(&starts, &rq, &s, BPF_ANY);
}

/* Insertion runs in the submitter's context, which issue may not (a scheduler dispatches from a worker): the issuer is noted here first. */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	if (on_target_disk(rq))
		note(rq, bpf_ktime_get_ns(), 0);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	struct block_start *s;

	if (!on_target_disk(rq))
		return 0;
	s = bpf_map_lookup_elem(&starts, &rq);
	if (s)
		s->issue_ns = bpf_ktime_get_ns();
	else
		note(rq, 0, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct block_start *s = bpf_map_lookup_elem(&starts, &rq);
	struct gendisk *disk = gendisk_of(rq);
	struct block_io_event *e;
	__u64 args[2], us;

	if (!s)
		return 0;
	if (!s->issue_ns)
		goto done;
	us = (bpf_ktime_get_ns() - s->issue_ns) / 1000;
	if (us < min_latency_us)
		goto done;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		goto done;
	}
	e->latency_us = us;
	e->queued_us = queued && s->insert_ns ? (s->issue_ns - s->insert_ns) / 1000 : 0;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->bytes = nr_bytes;
	e->pid = s->pid;
	e->dev = dev_of(disk);
	e->op = op_of(rq);
	args[0] = e->dev >> 20;
	args[1] = e->dev & ((1 << 20) - 1);
	bpf_snprintf(e->disk, sizeof(e->disk), "%u:%u", args, sizeof(args));
	if (!disk || bpf_probe_read_kernel_str(e->disk_name, sizeof(e->disk_name), BPF_CORE_READ(disk, disk_name)) < 0)
		e->disk_name[0] = '\0';
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
done:
	bpf_map_delete_elem(&starts, &rq);
	return 0;
}
