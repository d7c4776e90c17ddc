/* open-probe: opens BPF objects with libbpf in throwaway processes, so a
 * crash in libbpf's parsing of an untrusted object kills such a process,
 * not the server. Long-lived: the server starts it once and sends objects on
 * stdin, each as a 4-byte little-endian length and the bytes; for each it
 * forks a child that runs bpf_object__open_mem, reads every program and map
 * the way the addon does after open, then runs libbpf's load in
 * loader-generation mode (bpf_object__gen_loader): the relocations, BTF
 * sanitizing and map definitions a real load parses, with no program or map
 * created (its outcome is not reported: a real load differs). The child exits
 * 0 opened, 1 libbpf refused to open it; this process answers one line per
 * object on stdout, "exit <status>" or "signal <number>", and exits 0 at the
 * end of its input, 2 on bad input. Forking this small process costs a
 * fraction of a millisecond, where the server spawning a process costs 10 ms
 * and more. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Larger than any object the server accepts (its --max-object-mb cap). */
#define MAX_OBJECT (1024UL << 20)

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

/* Reads exactly len bytes (1); 0 on end of input before the first, -1 on a short read or an error. */
static int read_full(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(0, (char *)buf + got, len - got);

		if (n < 0)
			return -1;
		if (n == 0)
			return got ? -1 : 0;
		got += (size_t)n;
	}
	return 1;
}

/* In the child: libbpf opens the object and runs its load in loader-generation mode. */
static int probe(const unsigned char *buf, size_t len)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	volatile unsigned long touched = 0;

	obj = bpf_object__open_mem(buf, len, NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *insns = bpf_program__insns(prog);
		size_t cnt = bpf_program__insn_cnt(prog);

		touched += bpf_program__name(prog)[0] + bpf_program__section_name(prog)[0] + bpf_program__type(prog);
		for (size_t i = 0; insns && i < cnt; i++)
			touched += insns[i].code;
	}
	bpf_object__for_each_map(map, obj)
		touched += bpf_map__name(map)[0] + bpf_map__key_size(map) + bpf_map__value_size(map) + bpf_map__max_entries(map);
	{
		LIBBPF_OPTS(gen_loader_opts, gen);

		if (!bpf_object__gen_loader(obj, &gen))
			bpf_object__load(obj);
	}
	bpf_object__close(obj);
	return 0;
}

int main(void)
{
	pid_t server = getpid();

	libbpf_set_print(quiet);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		unsigned char head[4], *buf;
		size_t len;
		int got = read_full(head, sizeof(head)), status;
		pid_t child;

		if (got == 0)
			return 0;
		if (got < 0)
			return 2;
		len = (size_t)head[0] | (size_t)head[1] << 8 | (size_t)head[2] << 16 | (size_t)head[3] << 24;
		if (len > MAX_OBJECT || !(buf = malloc(len ? len : 1)))
			return 2;
		if (len && read_full(buf, len) != 1)
			return 2;
		child = fork();
		if (child < 0)
			return 2;
		if (child == 0) {
			/* A child outliving this process (killed at the server's timeout) dies with it. */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != server)
				_exit(2);
			_exit(probe(buf, len));
		}
		free(buf);
		if (waitpid(child, &status, 0) < 0)
			return 2;
		if (WIFSIGNALED(status))
			printf("signal %d\n", WTERMSIG(status));
		else
			printf("exit %d\n", WEXITSTATUS(status));
	}
}
