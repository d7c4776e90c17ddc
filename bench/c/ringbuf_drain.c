/* The C anchor of the ring buffer drain benchmark: plain libbpf, as a tool
 * written in C would read. Loads the benchmark object, fills its 64 MiB ring
 * with `count` 48-byte records by running the `prefill` program once
 * (BPF_PROG_TEST_RUN), then times ring_buffer__consume draining them with a
 * callback that only counts. Prints one JSON object per round on stdout.
 *
 * usage: ringbuf_drain OBJECT COUNT [ROUNDS] */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct prefill_args {
	__u32 count;
	__u32 written;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_record(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(unsigned long long *)ctx;
	return 0;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "ringbuf_drain: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	struct ring_buffer *rb;
	unsigned long long seen = 0;
	unsigned count, rounds;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: ringbuf_drain OBJECT COUNT [ROUNDS]\n");
		return 2;
	}
	count = strtoul(argv[2], NULL, 10);
	rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return fail("open", errno);
	err = bpf_object__load(obj);
	if (err)
		return fail("load", err);
	prog = bpf_object__find_program_by_name(obj, "prefill");
	map = bpf_object__find_map_by_name(obj, "ring");
	if (!prog || !map)
		return fail("prefill program or ring map missing", ENOENT);
	rb = ring_buffer__new(bpf_map__fd(map), count_record, &seen, NULL);
	if (!rb)
		return fail("ring_buffer__new", errno);

	for (unsigned r = 0; r < rounds; r++) {
		struct prefill_args args = { .count = count };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
		double t0, t1;

		err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
		if (err)
			return fail("prefill", err);
		seen = 0;
		t0 = now_s();
		while (seen < args.written) {
			err = ring_buffer__consume(rb);
			if (err < 0)
				return fail("ring_buffer__consume", err);
		}
		t1 = now_s();
		printf("{\"records\": %llu, \"seconds\": %.9f, \"rate\": %.1f}\n", seen, t1 - t0, seen / (t1 - t0));
		fflush(stdout);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
