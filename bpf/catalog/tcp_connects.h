/* SPDX-License-Identifier: GPL-2.0 */
/* The record of tcpconnect, one layout for both of its objects, and what they
 * share: the parameters, the ring and the filter. Include it after vmlinux.h,
 * bpf_helpers.h and bpf_core_read.h.
 *
 * tcp_connects.bpf.c (hook "tracepoint", the default) writes a record when a
 * connect's answer comes: sock:inet_sock_set_state from SYN_SENT to
 * ESTABLISHED or CLOSE; latency_ns is the SYN's round trip, `ret` is 0 (the
 * call's return value is not seen there).
 *
 * tcp_connects_kprobe.bpf.c (hook "kprobe") writes one when tcp_v4_connect or
 * tcp_v6_connect returns, in the caller's task, as libbpf-tools tcpconnect
 * does: `ret` is the call's return value, result CONNECT_SENT when the SYN
 * went (ret 0) or CONNECT_FAILED (ret -errno, in `error` too: EADDRNOTAVAIL,
 * ENETUNREACH, ...); latency_ns is the time the call took, not the answer's. */
#ifndef EBPF_MCP_TCP_CONNECTS_H
#define EBPF_MCP_TCP_CONNECTS_H

#include "lost_events.h"
#include "fields.h"

/* The process (tgid) whose connects are reported; 0 for every process. Set before load. */
const volatile __u32 target_tgid = 0;
/* Only connects with this local or remote port; 0 for every port. Set before load. */
const volatile __u16 target_port = 0;
/* Only connects whose latency_ns is at least this many microseconds; 0 for all. Set before load. */
const volatile __u64 min_latency_us = 0;

enum connect_result {
	CONNECT_ESTABLISHED = 0,
	CONNECT_REFUSED,  /* a reset answered the SYN: ECONNREFUSED */
	CONNECT_FAILED,   /* closed in SYN_SENT otherwise (tracepoint: `error` says why, 0 when its owner closed it), or the call failed (kprobe) */
	CONNECT_SENT,     /* kprobe only: the call returned 0, the SYN went; its answer is not awaited */
};

/* One connect's answer (tracepoint) or call (kprobe). */
struct tcp_connect_event {
	__u64 latency_ns FIELD("duration_ns");
	__u32 pid;
	int error FIELD("errno"); /* tracepoint: the socket's sk_err, 0 when connected; kprobe: -ret */
	enum connect_result result;
	int ret FIELD("ret"); /* kprobe: tcp_v4/v6_connect's return value (0 or -errno); tracepoint: always 0 */
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

/* A record for a connect the parameters keep (ports in host order), or NULL: left out, or the ring full (counted lost). */
static __always_inline struct tcp_connect_event *reserve_connect(__u16 sport, __u16 dport, __u64 latency_ns)
{
	struct tcp_connect_event *e;

	if ((target_port && sport != target_port && dport != target_port) || latency_ns < min_latency_us * 1000)
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		count_lost();
	return e;
}

#endif
