// SPDX-License-Identifier: GPL-2.0
/* Every TCP state change on the host (connects, accepts, closes), or of the
 * sockets with one port (target_port), as a ring buffer record with
 * addresses, ports and both states by name (tcpstates' question). IPv4
 * addresses are 4 bytes, IPv6 16. Read it with stream_events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lost_events.h"
#include "fields.h"
#include "inet_addrs.h"

char LICENSE[] SEC("license") = "GPL";

/* Only sockets with this local or remote port (host order); 0 for every socket. Set before load. */
const volatile __u16 target_port = 0;

/* TCP states, numbered as the kernel's include/net/tcp_states.h. */
enum tcp_state_name {
	TCPS_ESTABLISHED = 1,
	TCPS_SYN_SENT,
	TCPS_SYN_RECV,
	TCPS_FIN_WAIT1,
	TCPS_FIN_WAIT2,
	TCPS_TIME_WAIT,
	TCPS_CLOSE,
	TCPS_CLOSE_WAIT,
	TCPS_LAST_ACK,
	TCPS_LISTEN,
	TCPS_CLOSING,
	TCPS_NEW_SYN_RECV,
};

/* One state change of one TCP socket. */
struct tcp_state_event {
	__u32 pid;
	__u16 family FIELD("family");
	__u16 sport FIELD("port"); /* host order: the tracepoint converts */
	__u16 dport FIELD("port");
	__u16 pad FIELD("hidden");
	enum tcp_state_name oldstate;
	enum tcp_state_name newstate;
	__u8 saddr[16] FIELD("ip");
	__u8 daddr[16] FIELD("ip");
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Keeps struct tcp_state_event in the object's BTF under its name. */
struct tcp_state_event *unused_tcp_state_event __attribute__((unused));

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcp_state_event *e;

	if (ctx->protocol != IPPROTO_TCP || (target_port && ctx->sport != target_port && ctx->dport != target_port))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->pad = 0;
	e->oldstate = ctx->oldstate;
	e->newstate = ctx->newstate;
	copy_addrs(ctx, e->saddr, e->daddr);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
