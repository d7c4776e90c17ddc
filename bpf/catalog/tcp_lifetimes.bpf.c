// SPDX-License-Identifier: GPL-2.0
/* TCP connection lifetimes (tcplife's question): one ring buffer record per
 * connection when it closes, with its process, addresses, ports, the bytes it
 * received and the bytes of its own the peer acknowledged, and how long it
 * lived. A connection counts from its SYN (sent by connect, or received by a
 * listener) to TCP_CLOSE; connections already open when the program attached
 * are not reported. Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "lost_events.h"
#include "fields.h"
#include "inet_addrs.h"

char LICENSE[] SEC("license") = "GPL";

/* The process (tgid) whose connections are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only connections with this local or remote port; 0 for every port. Set before load. */
const volatile __u16 target_port = 0;
/* Only this address family (2, AF_INET, or 10, AF_INET6); 0 for both. Set before load. */
const volatile __u16 target_family = 0;

/* A connection being followed: when it started, and the task it belongs to. */
struct start {
	__u64 ts;
	__u32 pid;
	char comm[16];
};

/* Connections since their SYN, by sock address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct start);
} starts SEC(".maps");

/* One closed connection, as its own end counts it. */
struct tcp_life_event {
	__u64 bytes_received; /* tcp_sock.bytes_received: the data received, plus 1 for the peer's FIN */
	__u64 bytes_acked;    /* tcp_sock.bytes_acked: its data the peer acknowledged, plus 1 for its FIN (and its SYN, when it connected) */
	__u64 duration_ns FIELD("duration_ns");
	__u32 pid;
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

/* Keeps struct tcp_life_event in the object's BTF under its name. */
struct tcp_life_event *unused_tcp_life_event __attribute__((unused));

/* Notes the task running now as the connection's: connect() for an active open; for an accepted
 * one (whose SYN was handled in whatever task the softirq interrupted), the first close or shutdown
 * of its owner (into FIN_WAIT1, LAST_ACK or CLOSE), which runs in the owner's task. */
static __always_inline void own(struct start *s)
{
	s->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
}

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct tcp_life_event *e;
	struct tcp_sock *tp;
	struct start *s;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (target_family && ctx->family != target_family)
		return 0;
	if (ctx->newstate == TCP_SYN_SENT || ctx->newstate == TCP_SYN_RECV) {
		struct start fresh = { .ts = bpf_ktime_get_ns() };

		if (ctx->newstate == TCP_SYN_SENT)
			own(&fresh);
		bpf_map_update_elem(&starts, &sk, &fresh, BPF_NOEXIST);
		return 0;
	}
	s = bpf_map_lookup_elem(&starts, &sk);
	if (!s)
		return 0;
	if (!s->pid && (ctx->newstate == TCP_FIN_WAIT1 || ctx->newstate == TCP_LAST_ACK || ctx->newstate == TCP_CLOSE))
		own(s);
	if (ctx->newstate != TCP_CLOSE)
		return 0;
	if ((target_tgid && s->pid != target_tgid) ||
	    (target_port && ctx->sport != target_port && ctx->dport != target_port)) {
		bpf_map_delete_elem(&starts, &sk);
		return 0;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		bpf_map_delete_elem(&starts, &sk);
		return 0;
	}
	tp = (struct tcp_sock *)ctx->skaddr;
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	e->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	e->duration_ns = bpf_ktime_get_ns() - s->ts;
	e->pid = s->pid;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	copy_addrs(ctx, e->saddr, e->daddr);
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	bpf_map_delete_elem(&starts, &sk);
	return 0;
}
