/* The 48-byte record every benchmark program writes: what a typical tracing
 * tool emits per event (ids, a timestamp, the command name, a sequence). */
#pragma once

struct event {
	__u32 pid;
	__u32 tgid;
	__u64 ts_ns;
	char comm[16];
	__u64 seq;
	__u32 cpu;
	__u32 flags;
};

/* Keeps struct event in the object's BTF under its name, for decoders. */
struct event *unused_event __attribute__((unused));
