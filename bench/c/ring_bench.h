/* What the C consumers of the ring buffer drain benchmark share: load the
 * benchmark object (bench/bpf/ringbuf.bpf.c), then ROUNDS times fill its
 * 64 MiB ring with COUNT records by running `prefill` once
 * (BPF_PROG_TEST_RUN) and time ring_buffer__consume draining them through the
 * consumer's callback. Prints one JSON object per round on stdout. */
#pragma once
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One consumer: its per-record callback, and hooks around each timed drain. */
struct ring_consumer {
	const char *name;
	ring_buffer_sample_fn sample;
	/* Called once the object is loaded (the BTF is there), before any round; nonzero fails. */
	int (*setup)(struct bpf_object *obj);
	/* Called before each drain: reset what the callback computes. */
	void (*begin)(void);
	/* Records the callback saw in this drain. */
	unsigned long long (*seen)(void);
	/* Prints the consumer's own JSON members (after "rate"), each starting with ", ". */
	void (*report)(FILE *out);
};

struct prefill_args {
	__u32 count;
	__u32 written;
};

static double ring_bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ring_bench_fail(const char *name, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", name, what, strerror(err < 0 ? -err : err));
	return 1;
}

/* usage: NAME OBJECT COUNT [ROUNDS] */
static int ring_bench_main(int argc, char **argv, const struct ring_consumer *c)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	struct ring_buffer *rb;
	unsigned count, rounds;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OBJECT COUNT [ROUNDS]\n", c->name);
		return 2;
	}
	count = strtoul(argv[2], NULL, 10);
	rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return ring_bench_fail(c->name, "open", errno);
	err = bpf_object__load(obj);
	if (err)
		return ring_bench_fail(c->name, "load", err);
	prog = bpf_object__find_program_by_name(obj, "prefill");
	map = bpf_object__find_map_by_name(obj, "ring");
	if (!prog || !map)
		return ring_bench_fail(c->name, "prefill program or ring map missing", ENOENT);
	if (c->setup && c->setup(obj))
		return 1;
	rb = ring_buffer__new(bpf_map__fd(map), c->sample, NULL, NULL);
	if (!rb)
		return ring_bench_fail(c->name, "ring_buffer__new", errno);

	for (unsigned r = 0; r < rounds; r++) {
		struct prefill_args args = { .count = count };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
		double t0, t1;

		err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
		if (err)
			return ring_bench_fail(c->name, "prefill", err);
		c->begin();
		t0 = ring_bench_now_s();
		while (c->seen() < args.written) {
			err = ring_buffer__consume(rb);
			if (err < 0)
				return ring_bench_fail(c->name, "ring_buffer__consume", err);
		}
		t1 = ring_bench_now_s();
		printf("{\"records\": %llu, \"seconds\": %.9f, \"rate\": %.1f", c->seen(), t1 - t0, c->seen() / (t1 - t0));
		if (c->report)
			c->report(stdout);
		printf("}\n");
		fflush(stdout);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
