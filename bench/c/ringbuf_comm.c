/* The C anchor of the aggregate benchmark: counts the ring's records per
 * comm (the bytes up to the first NUL) in an open-addressing hash table, as
 * a C tool summarising by command would (ring_bench.h fills and times).
 * Prints the groups and the sum of their counts with each round.
 *
 * usage: ringbuf_comm OBJECT COUNT [ROUNDS] */
#include "ring_bench.h"
#include <stddef.h>
#include <stdint.h>

#define COMM_LEN 16
#define SLOTS 4096 /* a power of two, well above the groups */

/* The head of bench/bpf/event.h's struct event, up to comm. */
struct event_head {
	__u32 pid;
	__u32 tgid;
	__u64 ts_ns;
	char comm[COMM_LEN];
};

struct slot {
	char comm[COMM_LEN];
	unsigned long long count;
	int used;
};

static struct slot table[SLOTS];
static unsigned long long seen, groups, overflow;

static int count_comm(void *ctx, void *data, size_t size)
{
	const char *comm = ((const struct event_head *)data)->comm;
	uint32_t h = 2166136261u;
	size_t n = 0;

	(void)ctx;
	++seen;
	if (size < sizeof(struct event_head))
		return 0;
	while (n < COMM_LEN && comm[n]) {
		h = (h ^ (unsigned char)comm[n]) * 16777619u;
		n++;
	}
	for (uint32_t i = 0; i < SLOTS; i++) {
		struct slot *s = &table[(h + i) & (SLOTS - 1)];

		if (!s->used) {
			if (groups >= SLOTS / 2) {
				overflow++;
				return 0;
			}
			memcpy(s->comm, comm, n);
			memset(s->comm + n, 0, COMM_LEN - n);
			s->used = 1;
			s->count = 1;
			groups++;
			return 0;
		}
		if (memcmp(s->comm, comm, n) == 0 && (n == COMM_LEN || s->comm[n] == 0)) {
			s->count++;
			return 0;
		}
	}
	return 0;
}

static void begin(void)
{
	memset(table, 0, sizeof(table));
	seen = groups = overflow = 0;
}

static unsigned long long get_seen(void)
{
	return seen;
}

static void report(FILE *out)
{
	unsigned long long sum = 0;

	for (int i = 0; i < SLOTS; i++)
		sum += table[i].count;
	fprintf(out, ", \"groups\": %llu, \"counted\": %llu, \"overflow\": %llu", groups, sum, overflow);
}

int main(int argc, char **argv)
{
	const struct ring_consumer c = { .name = "ringbuf_comm", .sample = count_comm, .begin = begin, .seen = get_seen, .report = report };

	return ring_bench_main(argc, argv, &c);
}
