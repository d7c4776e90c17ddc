/* open-probe: opens one BPF object with libbpf in a throwaway process, so a
 * crash in libbpf's parsing of an untrusted object kills this process, not
 * the server. Reads the object on stdin, runs bpf_object__open_mem, reads
 * every program and map the way the addon does after open, then runs
 * libbpf's load in loader-generation mode (bpf_object__gen_loader): the
 * relocations, BTF sanitizing and map definitions a real load parses, with
 * no program or map created (its outcome is not reported: a real load
 * differs). Exits 0 opened, 1 libbpf refused to open it, 2 bad input. */
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
	size_t len = 0, cap = 1 << 16;
	unsigned char *buf = malloc(cap);
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	volatile unsigned long touched = 0;
	ssize_t n;

	if (!buf)
		return 2;
	while ((n = read(0, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			if (cap >= MAX_OBJECT)
				return 2;
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				return 2;
		}
	}
	if (n < 0)
		return 2;
	libbpf_set_print(quiet);
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
