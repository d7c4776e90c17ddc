// SPDX-License-Identifier: GPL-2.0
/* Benchmark: fills a 64 MiB ring buffer with `count` 48-byte records in one
 * run (BPF_PROG_TEST_RUN of a syscall program), so consumers can be timed
 * draining the same million records. Record i has seq i, flags i % 100 (a
 * filter on one value matches 1%) and comm "comm-NN", NN = i % COMMS (so
 * there are COMMS groups to count). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

/* Distinct comms of the records. */
#define COMMS 64

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} ring SEC(".maps");

/* The context a caller passes: how many records to write; the program
 * answers with how many it wrote before the ring was full. */
struct prefill_args {
	__u32 count;
	__u32 written;
};

struct fill_state {
	__u32 pid;
	__u32 tgid;
	__u32 written;
	__u32 cpu;
	char comm[16];
};

static long fill_one(__u64 i, void *data)
{
	struct fill_state *s = data;
	struct event *e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);

	if (!e)
		return 1;
	e->pid = s->pid;
	e->tgid = s->tgid;
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	e->comm[5] = '0' + (i % COMMS) / 10;
	e->comm[6] = '0' + (i % COMMS) % 10;
	e->seq = i;
	e->cpu = s->cpu;
	e->flags = i % 100;
	/* No consumer waits during the fill: skip a wakeup per record. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	s->written++;
	return 0;
}

SEC("syscall")
int prefill(struct prefill_args *args)
{
	struct fill_state s = {};
	__u64 id = bpf_get_current_pid_tgid();

	s.pid = (__u32)id;
	s.tgid = id >> 32;
	s.cpu = bpf_get_smp_processor_id();
	__builtin_memcpy(s.comm, "comm-00", 8);
	bpf_loop(args->count, fill_one, &s, 0);
	args->written = s.written;
	return 0;
}
