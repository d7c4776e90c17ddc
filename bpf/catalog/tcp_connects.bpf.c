// SPDX-License-Identifier: GPL-2.0
/* TCP connects and their latency (tcpconnect and tcpconnlat's question): one
 * ring buffer record per connect() when its answer comes, SYN_SENT to
 * ESTABLISHED (connected) or to CLOSE (refused by a reset, or failed: timed
 * out, unreachable, or closed by its owner first), with the connecting
 * process, addresses, ports and the time from the SYN to the answer. Read it
 * with stream_events. The record and what it shares with the kprobe variant
 * (tcp_connects_kprobe.bpf.c) are in tcp_connects.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tcp_connects.h"
#include "inet_addrs.h"

char LICENSE[] SEC("license") = "GPL";

#define ECONNREFUSED 111

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
	e = reserve_connect(ctx->sport, ctx->dport, latency);
	if (!e)
		goto done;
	/* A reset or an error sets sk_err before the socket is closed. */
	error = ctx->newstate == TCP_ESTABLISHED ? 0 : BPF_CORE_READ((struct sock *)ctx->skaddr, sk_err);
	e->latency_ns = latency;
	e->pid = s->pid;
	e->error = error;
	e->result = ctx->newstate == TCP_ESTABLISHED ? CONNECT_ESTABLISHED : error == ECONNREFUSED ? CONNECT_REFUSED : CONNECT_FAILED;
	e->ret = 0;
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
