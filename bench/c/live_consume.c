/* The C anchor of the live events benchmark: a plain libbpf consumer of a
 * ring buffer map (by kernel id) fed while a workload runs. Prints "ready"
 * once reading, then, when `expect` records arrived or none came for
 * `idle_ms` after the first, one JSON line: records received, the
 * CLOCK_MONOTONIC times of the first and the last, the wakeups (polls
 * that returned records) and the CPU time (utime + stime in clock ticks,
 * from /proc/self/stat) it used from "ready" to the end, with the ticks a
 * second. Each record is only counted.
 *
 * usage: live_consume MAP_ID EXPECT IDLE_MS TIMEOUT_MS */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct seen {
	unsigned long long records;
	unsigned long long first_ns, last_ns;
	unsigned long long wakeups;
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;

	(void)data;
	(void)size;
	s->last_ns = now_ns();
	if (s->records++ == 0)
		s->first_ns = s->last_ns;
	return 0;
}

/* utime + stime of this process, in clock ticks (fields 14 and 15 of /proc/self/stat, after the comm's ")"). */
static unsigned long long cpu_ticks(void)
{
	char buf[1024], *p;
	unsigned long long utime = 0, stime = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return 0;
	return utime + stime;
}

int main(int argc, char **argv)
{
	struct seen s = { 0 };
	struct ring_buffer *rb;
	unsigned long long expect, idle_ns, deadline, ticks0;
	int fd, err;

	if (argc < 5) {
		fprintf(stderr, "usage: live_consume MAP_ID EXPECT IDLE_MS TIMEOUT_MS\n");
		return 2;
	}
	expect = strtoull(argv[2], NULL, 10);
	idle_ns = strtoull(argv[3], NULL, 10) * 1000000ull;
	fd = bpf_map_get_fd_by_id(strtoul(argv[1], NULL, 10));
	if (fd < 0) {
		fprintf(stderr, "live_consume: map %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(fd, on_record, &s, NULL);
	if (!rb) {
		fprintf(stderr, "live_consume: ring_buffer__new: %s\n", strerror(errno));
		return 1;
	}
	deadline = now_ns() + strtoull(argv[4], NULL, 10) * 1000000ull;
	ticks0 = cpu_ticks();
	printf("ready\n");
	fflush(stdout);
	while (s.records < expect) {
		unsigned long long t;

		err = ring_buffer__poll(rb, 50);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "live_consume: ring_buffer__poll: %s\n", strerror(-err));
			return 1;
		}
		if (err > 0)
			s.wakeups++;
		t = now_ns();
		if (t > deadline || (s.records && t - s.last_ns > idle_ns))
			break;
	}
	printf("{\"records\": %llu, \"first_ns\": %llu, \"last_ns\": %llu, \"wakeups\": %llu, \"cpu_ticks\": %llu, \"ticks_per_s\": %ld}\n",
	       s.records, s.first_ns, s.last_ns, s.wakeups, cpu_ticks() - ticks0, sysconf(_SC_CLK_TCK));
	ring_buffer__free(rb);
	return 0;
}
