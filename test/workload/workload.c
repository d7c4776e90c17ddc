// A test workload whose every effect is countable: exactly N getpid
// syscalls, N calls of a probe-able function, N USDT probe hits, N UDP
// packets, or a CPU spin (joining a cgroup first costs one getpid). With --wait it prints its pid and waits for a
// line on stdin first, so a test can attach with that pid before it runs.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The uprobe target: not inlined, not optimized away. */
__attribute__((noinline, used)) int ebpf_mcp_probe_target(int i)
{
	__asm__ volatile("" ::: "memory");
	return i + 1;
}

/* CPU time this process has used: a spin of N ms is N ms on a CPU, however busy the machine is. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int join_cgroup(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", getpid());
	return fclose(f);
}

int main(int argc, char **argv)
{
	int i = 1, n, sink = 0;

	if (i < argc && strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc) {
		if (join_cgroup(argv[i + 1])) {
			perror("join cgroup");
			return 1;
		}
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--wait") == 0) {
		char line[16], self[32] = "";

		/* The pid from /proc/self, not getpid(): getpid counts must stay exact. */
		if (readlink("/proc/self", self, sizeof(self) - 1) < 0)
			return 1;
		printf("%s\n", self);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
		i++;
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: workload [--cgroup DIR] [--wait] getpid|call|usdt|spin-ms N | udp N PORT [IPV4]\n");
		return 2;
	}
	n = atoi(argv[i + 1]);
	if (strcmp(argv[i], "getpid") == 0) {
		for (int k = 0; k < n; k++)
			syscall(SYS_getpid);
	} else if (strcmp(argv[i], "call") == 0) {
		for (int k = 0; k < n; k++)
			sink += ebpf_mcp_probe_target(k);
	} else if (strcmp(argv[i], "usdt") == 0) {
		for (int k = 0; k < n; k++)
			DTRACE_PROBE1(ebpf_mcp, tick, k);
	} else if (strcmp(argv[i], "spin-ms") == 0) {
		double end = cpu_ms() + n;
		while (cpu_ms() < end)
			sink++;
	} else if (strcmp(argv[i], "udp") == 0 && i + 2 < argc) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[i + 2])) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		inet_pton(AF_INET, i + 3 < argc ? argv[i + 3] : "127.0.0.1", &to.sin_addr);
		for (int k = 0; k < n; k++)
			sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
		close(fd);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[i]);
		return 2;
	}
	return sink == -1;
}
