/* The C anchor of the ring buffer drain benchmark: plain libbpf, as a tool
 * written in C would read, with a callback that only counts (ring_bench.h
 * fills and times).
 *
 * usage: ringbuf_drain OBJECT COUNT [ROUNDS] */
#include "ring_bench.h"

static unsigned long long seen;

static int count_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	++seen;
	return 0;
}

static void begin(void)
{
	seen = 0;
}

static unsigned long long get_seen(void)
{
	return seen;
}

int main(int argc, char **argv)
{
	const struct ring_consumer c = { .name = "ringbuf_drain", .sample = count_record, .begin = begin, .seen = get_seen };

	return ring_bench_main(argc, argv, &c);
}
