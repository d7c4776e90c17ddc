// SPDX-License-Identifier: GPL-2.0
/* The server's own: which processes hold which BPF programs, maps and links,
 * and which hold perf events, in one run of a task_file iterator instead of
 * a readlink and an fdinfo read per fd of /proc (src/kernel/holders.ts).
 * A file is told apart by its anonymous inode's name ("bpf-prog", "bpf-map",
 * "bpf_link", "[perf_event]": what /proc/PID/fd links show), so no kernel
 * symbol address is needed. One record per such fd. CO-RE. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* What a record's fd is. */
enum holder_kind { HOLDS_PROG = 1, HOLDS_MAP = 2, HOLDS_LINK = 3, HOLDS_PERF = 4 };

/* One held fd: 32 bytes, read back to back by src/kernel/holders.ts. */
struct holder_record {
	__u32 tgid;
	__u32 fd;
	__u32 kind;
	__u32 id; /* the program, map or link id; 0 for a perf event */
	char comm[16]; /* the thread group leader's, as /proc/PID/comm */
};

/* The anonymous inode name of `file`, up to 16 bytes, into `name`; its kind, or 0 for any other file. */
static __always_inline __u32 kind_of(struct file *file)
{
	char name[16] = {};
	const unsigned char *s = BPF_CORE_READ(file, f_path.dentry, d_name.name);

	if (bpf_probe_read_kernel_str(name, sizeof(name), s) < 0)
		return 0;
	if (name[0] == 'b' && name[1] == 'p' && name[2] == 'f') {
		if (name[3] == '-' && name[4] == 'p' && name[5] == 'r' && name[6] == 'o' && name[7] == 'g' && name[8] == 0)
			return HOLDS_PROG;
		if (name[3] == '-' && name[4] == 'm' && name[5] == 'a' && name[6] == 'p' && name[7] == 0)
			return HOLDS_MAP;
		if (name[3] == '_' && name[4] == 'l' && name[5] == 'i' && name[6] == 'n' && name[7] == 'k' && name[8] == 0)
			return HOLDS_LINK;
		return 0;
	}
	if (name[0] == '[' && name[1] == 'p' && name[2] == 'e' && name[3] == 'r' && name[4] == 'f' && name[5] == '_' && name[6] == 'e' &&
	    name[7] == 'v' && name[8] == 'e' && name[9] == 'n' && name[10] == 't' && name[11] == ']' && name[12] == 0)
		return HOLDS_PERF;
	return 0;
}

SEC("iter/task_file")
int holders(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct holder_record r = {};
	void *obj;

	if (!task || !file)
		return 0;
	r.kind = kind_of(file);
	if (!r.kind)
		return 0;
	r.tgid = BPF_CORE_READ(task, tgid);
	r.fd = ctx->fd;
	obj = BPF_CORE_READ(file, private_data);
	if (r.kind == HOLDS_PROG)
		r.id = BPF_CORE_READ((struct bpf_prog *)obj, aux, id);
	else if (r.kind == HOLDS_MAP)
		r.id = BPF_CORE_READ((struct bpf_map *)obj, id);
	else if (r.kind == HOLDS_LINK)
		r.id = BPF_CORE_READ((struct bpf_link *)obj, id);
	BPF_CORE_READ_STR_INTO(&r.comm, task, group_leader, comm);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
