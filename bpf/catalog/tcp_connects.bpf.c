// SPDX-License-Identifier: GPL-2.0
/* TCP connects and their latency (tcpconnect and tcpconnlat's question): one
 * ring buffer record per connect() when its answer comes, SYN_SENT to
 * ESTABLISHED (connected) or to CLOSE (refused by a reset, or failed: timed
 * out, unreachable, or closed by its owner first), with the connecting
 * process, addresses, ports and the time from the SYN to the answer. Read it
 * with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "lost_events.h"
#include "fields.h"
#include "inet_addrs.h"

char LICENSE[] SEC("license") = "GPL";

#define ECONNREFUSED 111

/* The process (tgid) whose connects are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only connects with this local or remote port; 0 for every port. Set before load. */
const volatile __u16 target_port = 0;
/* Only connects whose answer took at least this many microseconds; 0 for all. Set before load. */
const volatile __u64 min_latency_us = 0;

/* A connect waiting for its answer: when its SYN went, and the task that called connect(). */
struct start {
	__u64 ts;
	__u32 pid;
	char comm[16];
};

/* Sockets in SYN_SENT, by sock address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct start);
} starts SEC(".maps");

enum connect_result {
	CONNECT_ESTABLISHED = 0,
	CONNECT_REFUSED,  /* a reset answered the SYN: ECONNREFUSED */
	CONNECT_FAILED,   /* closed in SYN_SENT otherwise: `error` says why, 0 when its owner closed it */
};

/* One connect's answer. */
struct tcp_connect_event {
	__u64 latency_ns FIELD("duration_ns");
	__u32 pid;
	int error FIELD("errno"); /* the socket's sk_err: 0 when connected */
	enum connect_result result;
	__u16 family FIELD("family");
	__u16 sport FIELD("port");
	__u16 dport FIELD("port");
	__u8 saddr[16] FIELD("ip");
	__u8 daddr[16] FIELD("ip");
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct tcp_connect_event in the object's BTF under its name. */
struct tcp_connect_event *unused_tcp_connect_event __attribute__((unused));

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct tcp_connect_event *e;
	struct start *s;
	__u64 latency;
	int error;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->newstate == TCP_SYN_SENT) {
		/* Set by connect(), in the caller's task. */
		__u32 pid = bpf_get_current_pid_tgid() >> 32;
		struct start fresh = { .ts = bpf_ktime_get_ns(), .pid = pid };

		if (target_tgid && pid != target_tgid)
			return 0;
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		bpf_map_update_elem(&starts, &sk, &fresh, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT || (ctx->newstate != TCP_ESTABLISHED && ctx->newstate != TCP_CLOSE))
		return 0;
	s = bpf_map_lookup_elem(&starts, &sk);
	if (!s)
		return 0;
	latency = bpf_ktime_get_ns() - s->ts;
	/* Both ports are known from here on: the local one is bound after SYN_SENT is set. */
	if ((target_port && ctx->sport != target_port && ctx->dport != target_port) || latency < min_latency_us * 1000)
		goto done;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		goto done;
	}
	/* A reset or an error sets sk_err before the socket is closed. */
	error = ctx->newstate == TCP_ESTABLISHED ? 0 : BPF_CORE_READ((struct sock *)ctx->skaddr, sk_err);
	e->latency_ns = latency;
	e->pid = s->pid;
	e->error = error;
	e->result = ctx->newstate == TCP_ESTABLISHED ? CONNECT_ESTABLISHED : error == ECONNREFUSED ? CONNECT_REFUSED : CONNECT_FAILED;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	copy_addrs(ctx, e->saddr, e->daddr);
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
done:
	bpf_map_delete_elem(&starts, &sk);
	return 0;
}
