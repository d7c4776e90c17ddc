/* What a record field holds, for the server to render it (src/btf/recognize.ts): a btf_decl_tag on
 * the struct member (or typedef) that reaches the object's BTF. Tags: ip, ipv4, ipv6, port, family,
 * errno, ret, signal, open_flags, syscall, duration_ns, duration_us, duration_ms, hidden. */
#pragma once

#define FIELD(tag) __attribute__((btf_decl_tag(tag)))
