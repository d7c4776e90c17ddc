/* Stacks counted per process, as libbpf-tools' profile and offcputime keep
 * them: a stack trace map of kernel and user stacks, and a hash of
 * {process, user stack id, kernel stack id, comm} to a weight (samples, or
 * microseconds off CPU). inspect_state finds the stack map beside the counts
 * map, symbolizes each stack and folds them (the flame-graph input). */
#pragma once

/* Not in vmlinux.h: errno values are macros. */
#define EFAULT 14

/* The deepest stack kept (the kernel's perf_event_max_stack default). */
#define MAX_STACK_DEPTH 127
/* Distinct stacks kept; a stack past it gets stack id -EEXIST. */
#define MAX_STACKS 8192

/* What one weight is counted by. A stack id below 0 is the errno of a stack not taken (-EFAULT: none, a kernel thread's user stack; -EEXIST: the map was full). */
struct stack_key {
	__u32 pid; /* tgid */
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Weights by stack_key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STACKS);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

/* Adds `weight` to the count of `key`. */
static __always_inline void stack_count(struct stack_key *key, __u64 weight)
{
	__u64 *v = bpf_map_lookup_elem(&counts, key);

	if (v) {
		__sync_fetch_and_add(v, weight);
		return;
	}
	bpf_map_update_elem(&counts, key, &weight, BPF_NOEXIST);
}
