// SPDX-License-Identifier: GPL-2.0
/* TCP connect calls (tcpconnect's question, hooked as libbpf-tools hooks it):
 * one ring buffer record per tcp_v4_connect or tcp_v6_connect when it
 * returns, in the caller's task, with its return value (0 when the SYN went,
 * else -errno), the process, addresses and ports. The record is tcpconnect's
 * (tcp_connects.h says which fields this variant fills). It needs the kprobe
 * PMU; where there is none, tcp_connects.bpf.c's tracepoint answers instead.
 * Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "tcp_connects.h"
#include "inet_addrs.h"

char LICENSE[] SEC("license") = "GPL";

/* A call in progress: its socket, when it began, and where it connects to (from its sockaddr: the socket forgets the destination of a call that fails). */
struct call {
	struct sock *sk;
	__u64 ts;
	__u16 dport;
	__u8 daddr[16];
};

/* Calls in progress, by thread (pid_tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct call);
} calls SEC(".maps");

/* Records the call of the current thread, unless the process is left out. */
static __always_inline int enter(struct sock *sk, struct sockaddr *uaddr, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call c = { .sk = sk, .ts = bpf_ktime_get_ns() };

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)uaddr;

		c.dport = bpf_ntohs(BPF_CORE_READ(in, sin_port));
		bpf_probe_read_kernel(c.daddr, 4, &in->sin_addr);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)uaddr;

		c.dport = bpf_ntohs(BPF_CORE_READ(in6, sin6_port));
		bpf_probe_read_kernel(c.daddr, 16, &in6->sin6_addr);
	}
	bpf_map_update_elem(&calls, &id, &c, BPF_ANY);
	return 0;
}

/* Writes the record of the current thread's call, which returned `ret`. */
static __always_inline int leave(int ret, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tcp_connect_event *e;
	struct call *c = bpf_map_lookup_elem(&calls, &id);
	struct sock *sk;
	__u16 sport;
	__u64 latency;

	if (!c)
		return 0;
	/* Out of the map first: CO-RE reads relocate every access in them, and struct call is not the kernel's. */
	sk = c->sk;
	/* Bound by the call when it gets that far; 0 otherwise. */
	sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	latency = bpf_ktime_get_ns() - c->ts;
	e = reserve_connect(sport, c->dport, latency);
	if (!e)
		goto done;
	e->latency_ns = latency;
	e->pid = id >> 32;
	e->error = -ret;
	e->result = ret ? CONNECT_FAILED : CONNECT_SENT;
	e->ret = ret;
	e->family = family;
	e->sport = sport;
	e->dport = c->dport;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	if (family == AF_INET)
		BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_rcv_saddr);
	else
		BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
	__builtin_memcpy(e->daddr, c->daddr, sizeof(e->daddr));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
done:
	bpf_map_delete_elem(&calls, &id);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(tcp_v4_connect_entry, struct sock *sk, struct sockaddr *uaddr)
{
	return enter(sk, uaddr, AF_INET);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(tcp_v4_connect_return, int ret)
{
	return leave(ret, AF_INET);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(tcp_v6_connect_entry, struct sock *sk, struct sockaddr *uaddr)
{
	return enter(sk, uaddr, AF_INET6);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(tcp_v6_connect_return, int ret)
{
	return leave(ret, AF_INET6);
}
