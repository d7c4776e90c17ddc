/* SPDX-License-Identifier: GPL-2.0 */
/* The addresses of sock:inet_sock_set_state, the tracepoint's IPv4 or IPv6 pair by its family, into
 * 16-byte fields (IPv4 in the first 4, the rest zero). Include it after vmlinux.h and bpf_helpers.h. */
#ifndef EBPF_MCP_INET_ADDRS_H
#define EBPF_MCP_INET_ADDRS_H

#define AF_INET 2
#define AF_INET6 10

static __always_inline void copy_addrs(const struct trace_event_raw_inet_sock_set_state *ctx, __u8 saddr[16], __u8 daddr[16])
{
	__builtin_memset(saddr, 0, 16);
	__builtin_memset(daddr, 0, 16);
	/* Copied with a helper: the verifier refuses loads through an offset ctx pointer. */
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(daddr, 16, ctx->daddr_v6);
	}
}

#endif
