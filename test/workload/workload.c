// A test workload whose every effect is countable: exactly N getpid
// syscalls (in a tight loop, or paced at a given rate), N calls of a probe-able function, N USDT probe hits, N UDP
// packets (IPv4 or IPv6), N TCP connects on loopback, N TCP sends, a CPU spin (in a hot function, for the profile test), N sleeps of 10 ms, or N MiB of memory written (joining a
// cgroup first costs one getpid). With --wait it prints its pid and waits for a line on stdin first, so a test can attach with that pid
// before it runs. The TCP modes then print one line of "key value" pairs saying what happened.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
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

/* The profile test's hot function: a chunk of arithmetic with no call in it, so nearly every on-CPU sample of the hot-ms
 * mode lands here. */
__attribute__((noinline, used)) unsigned long ebpf_mcp_hot_function(unsigned long x)
{
	/* A frame of its own even as a leaf, so a frame-pointer unwind finds its caller. */
	__asm__ volatile("" ::"r"(__builtin_frame_address(0)));
	for (int k = 0; k < 1000000; k++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

/* n getpid syscalls at `rate` a second: each millisecond's share, then a sleep to the next millisecond (absolute,
 * so the rate holds however long the calls take). */
static void getpid_paced(int n, int rate)
{
	struct timespec next;
	double owed = 0, per_ms = rate / 1000.0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int k = 0; k < n;) {
		owed += per_ms;
		for (; owed >= 1 && k < n; owed--, k++)
			syscall(SYS_getpid);
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

/* The off-CPU test's waiting function: n sleeps of 10 ms. */
__attribute__((noinline, used)) void ebpf_mcp_sleepy_function(int n)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

	for (int k = 0; k < n; k++)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* CPU time this process has used: a spin of N ms is N ms on a CPU, however busy the machine is. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A TCP listener on 127.0.0.1:port (0: any free port); its port in *bound. */
static int tcp_listener(int port, int *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) || getsockname(fd, (struct sockaddr *)&a, &len)) {
		perror("tcp listener");
		exit(1);
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* One TCP connect to 127.0.0.1:port: the connected socket, or -1 with errno. */
static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* n connects to a listener of its own on 127.0.0.1:port, each accepted and closed. */
static int tcp_connects(int n, int port)
{
	int bound, lfd = tcp_listener(port, &bound), connected = 0, refused = 0;

	for (int k = 0; k < n; k++) {
		int fd = tcp_connect(bound);

		if (fd < 0) {
			if (errno != ECONNREFUSED) {
				perror("connect");
				return 1;
			}
			refused++;
			continue;
		}
		close(accept(lfd, NULL, NULL));
		close(fd);
		connected++;
	}
	close(lfd);
	printf("port %d connected %d refused %d\n", bound, connected, refused);
	return 0;
}

/* Reads from fd until *received reaches want. */
static int recv_upto(int fd, char *buf, size_t len, long *received, long want)
{
	while (*received < want) {
		ssize_t r = recv(fd, buf, len, 0);

		if (r <= 0) {
			perror("recv");
			return 1;
		}
		*received += r;
	}
	return 0;
}

/* One connection to a listener of its own; n send() calls of size bytes each, all read by the other end
 * (lockstep: each read before the next send). */
static int tcp_sends(int n, int size, bool lockstep)
{
	char buf[4096] = { 0 };
	int bound, lfd = tcp_listener(0, &bound), cfd, sfd;
	long sent = 0, received = 0, want = (long)n * size;

	if (size < 1 || size > (int)sizeof(buf) || (cfd = tcp_connect(bound)) < 0 || (sfd = accept(lfd, NULL, NULL)) < 0) {
		perror("tcp-send");
		return 1;
	}
	for (int k = 0; k < n; k++) {
		ssize_t w = send(cfd, buf, size, 0);

		if (w != size) {
			perror("send");
			return 1;
		}
		sent += w;
		if (lockstep && recv_upto(sfd, buf, sizeof(buf), &received, sent))
			return 1;
	}
	if (recv_upto(sfd, buf, sizeof(buf), &received, want))
		return 1;
	close(cfd);
	close(sfd);
	close(lfd);
	printf("port %d sent %ld received %ld\n", bound, sent, received);
	return 0;
}

/* n UDP datagrams of one byte to addr (IPv4 or IPv6) and port. */
static void udp_send(int n, int port, const char *addr)
{
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in to4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = strchr(addr, ':') != NULL;
	struct sockaddr *to = v6 ? (struct sockaddr *)&to6 : (struct sockaddr *)&to4;
	socklen_t len = v6 ? sizeof(to6) : sizeof(to4);
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);

	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, v6 ? (void *)&to6.sin6_addr : (void *)&to4.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", addr);
		exit(2);
	}
	for (int k = 0; k < n; k++)
		sendto(fd, "x", 1, 0, to, len);
	close(fd);
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
		fprintf(stderr, "usage: workload [--cgroup DIR] [--wait] getpid|call|usdt|spin-ms|hot-ms|sleep|alloc-mb N | getpid-paced N RATE | udp N PORT [ADDR] | tcp N PORT | tcp-send|tcp-lockstep N SIZE\n");
		return 2;
	}
	n = atoi(argv[i + 1]);
	if (strcmp(argv[i], "getpid") == 0) {
		for (int k = 0; k < n; k++)
			syscall(SYS_getpid);
	} else if (strcmp(argv[i], "getpid-paced") == 0 && i + 2 < argc) {
		getpid_paced(n, atoi(argv[i + 2]));
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
	} else if (strcmp(argv[i], "hot-ms") == 0) {
		double end = cpu_ms() + n;
		while (cpu_ms() < end)
			sink += ebpf_mcp_hot_function(sink);
	} else if (strcmp(argv[i], "sleep") == 0) {
		ebpf_mcp_sleepy_function(n);
	} else if (strcmp(argv[i], "alloc-mb") == 0) {
		/* Every page written, so each is charged to the memory cgroup (the OOM test's victim). */
		for (int k = 0; k < n; k++) {
			char *p = malloc(1 << 20);

			if (!p)
				return 1;
			memset(p, 1, 1 << 20);
		}
	} else if (strcmp(argv[i], "udp") == 0 && i + 2 < argc) {
		udp_send(n, atoi(argv[i + 2]), i + 3 < argc ? argv[i + 3] : "127.0.0.1");
	} else if (strcmp(argv[i], "tcp") == 0 && i + 2 < argc) {
		return tcp_connects(n, atoi(argv[i + 2]));
	} else if ((strcmp(argv[i], "tcp-send") == 0 || strcmp(argv[i], "tcp-lockstep") == 0) && i + 2 < argc) {
		return tcp_sends(n, atoi(argv[i + 2]), strcmp(argv[i], "tcp-lockstep") == 0);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[i]);
		return 2;
	}
	return sink == -1;
}
