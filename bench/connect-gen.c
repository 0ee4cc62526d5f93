// SPDX-License-Identifier: GPL-2.0
/*
 * connect-gen: TCP connection generator and sink for the iprp benchmarks.
 * Built on the host (make bench), run inside the VM.
 *
 *   connect-gen serve ADDR:PORT [ADDR:PORT ...]
 *       Accepts and closes connections on every address, forever (one
 *       epoll loop, no fork: the server side costs as little as possible).
 *
 *   connect-gen time -n N [-p PAR] [-b PORT] NAME=ADDR:PORT [NAME=ADDR:PORT ...]
 *       Opens N connections to every target, PAR in flight per target, all
 *       targets at the same time (so the mechanisms are interleaved), and
 *       prints one CSV line "NAME,SEQ,CONNECT_MS" per connection, timed
 *       with CLOCK_MONOTONIC from connect() to the socket becoming writable.
 *       Each connection is a new socket; with -b its source port is
 *       PORT + k for the k-th connection opened (never reused within the
 *       run), otherwise the kernel's choice (which may reuse a port whose
 *       previous connection just closed).
 *
 *   connect-gen run -t SECONDS [-p PAR] ADDR:PORT
 *       Saturates ADDR:PORT with new connections (PAR in flight; each is
 *       closed with an RST as soon as it is established, so no TIME_WAIT
 *       piles up) for SECONDS, and prints
 *       "conns=N errors=E secs=S user=.. nice=.. system=.. idle=.. iowait=..
 *        irq=.. softirq=.. steal=.." where the CPU fields are the deltas of
 *       the first line of /proc/stat (USER_HZ ticks, all CPUs) over the run.
 *
 * Any connect error in "time" mode, or more than 1 % errors in "run" mode,
 * exits with status 1: a mechanism that does not work must fail the bench.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 16
#define MAX_PAR 256

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void parse_addr(const char *s, struct sockaddr_in *sa)
{
	char buf[64];
	char *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	if (!colon) {
		fprintf(stderr, "connect-gen: '%s' is not ADDR:PORT\n", s);
		exit(64);
	}
	*colon = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, buf, &sa->sin_addr) != 1) {
		fprintf(stderr, "connect-gen: bad address '%s'\n", buf);
		exit(64);
	}
}

static int serve(int argc, char **argv)
{
	int ep = epoll_create1(0);
	int i, one = 1;

	if (ep < 0)
		die("epoll_create1");
	for (i = 0; i < argc; i++) {
		struct sockaddr_in sa;
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		parse_addr(argv[i], &sa);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("bind");
		if (listen(fd, 4096) < 0)
			die("listen");
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, -1);

		for (i = 0; i < n; i++) {
			int c;

			while ((c = accept4(evs[i].data.fd, NULL, NULL, 0)) >= 0)
				close(c);
		}
	}
	return 0;
}

struct slot {
	int fd;
	int target;
	double t0;
};

struct target {
	const char *name;
	struct sockaddr_in sa;
	long started, done;
};

static int next_port;	/* -b: next source port, 0 = kernel's choice */

static int start_connect(int ep, struct slot *s, struct target *t, int idx)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	if (next_port) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		if (next_port > 65535) {
			fprintf(stderr, "connect-gen: out of source ports\n");
			exit(1);
		}
		src.sin_port = htons(next_port++);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind source port");
	}
	s->fd = fd;
	s->target = idx;
	s->t0 = now_s();
	if (connect(fd, (struct sockaddr *)&t->sa, sizeof(t->sa)) < 0 && errno != EINPROGRESS) {
		fprintf(stderr, "connect-gen: connect to %s: %s\n", t->name, strerror(errno));
		close(fd);
		return -1;
	}
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	t->started++;
	return 0;
}

/* Returns 0 if connected, the socket error otherwise. Removes and closes fd. */
static int finish(int ep, struct slot *s, int rst)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->fd);
	s->fd = -1;
	return err;
}

static struct slot slots[MAX_TARGETS * MAX_PAR];

static int timed(int argc, char **argv)
{
	struct target tg[MAX_TARGETS];
	long n = 200;
	int par = 1, nt = 0, opt, i, ep, busy = 0;

	while ((opt = getopt(argc, argv, "n:p:b:")) != -1) {
		switch (opt) {
		case 'b': next_port = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'p': par = atoi(optarg); break;
		default: exit(64);
		}
	}
	if (par < 1 || par > MAX_PAR)
		exit(64);
	for (i = optind; i < argc && nt < MAX_TARGETS; i++, nt++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "connect-gen: '%s' is not NAME=ADDR:PORT\n", argv[i]);
			exit(64);
		}
		*eq = 0;
		tg[nt].name = argv[i];
		tg[nt].started = tg[nt].done = 0;
		parse_addr(eq + 1, &tg[nt].sa);
	}
	if (!nt)
		exit(64);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	for (i = 0; i < nt * par; i++) {
		struct slot *s = &slots[i];

		s->fd = -1;
		if (tg[i / par].started < n) {
			if (start_connect(ep, s, &tg[i / par], i / par))
				return 1;
			busy++;
		}
	}
	while (busy) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, 30000);
		double t1 = now_s();

		if (k == 0) {
			fprintf(stderr, "connect-gen: no connection completed in 30 s; in flight:");
			for (i = 0; i < nt * par; i++)
				if (slots[i].fd >= 0)
					fprintf(stderr, " %s (%.1f s)", tg[slots[i].target].name,
						t1 - slots[i].t0);
			fprintf(stderr, "\n");
			return 1;
		}
		for (i = 0; i < k; i++) {
			struct slot *s = evs[i].data.ptr;
			struct target *t = &tg[s->target];
			double ms = (t1 - s->t0) * 1e3;
			int err = finish(ep, s, 0);

			if (err) {
				fprintf(stderr, "connect-gen: %s: %s\n", t->name, strerror(err));
				return 1;
			}
			printf("%s,%ld,%.3f\n", t->name, t->done++, ms);
			busy--;
			if (t->started < n) {
				if (start_connect(ep, s, t, s->target))
					return 1;
				busy++;
			}
		}
	}
	return 0;
}

static void read_stat(unsigned long long v[8])
{
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		die("/proc/stat");
	fclose(f);
}

static int run(int argc, char **argv)
{
	static const char *const names[8] = {
		"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"
	};
	struct target t = { .name = "run" };
	unsigned long long a[8], b[8];
	double secs = 5, t0, t1;
	long errors = 0;
	int par = 8, opt, i, ep, busy = 0;

	while ((opt = getopt(argc, argv, "t:p:")) != -1) {
		switch (opt) {
		case 't': secs = atof(optarg); break;
		case 'p': par = atoi(optarg); break;
		default: exit(64);
		}
	}
	if (optind != argc - 1 || par < 1 || par > MAX_PAR)
		exit(64);
	parse_addr(argv[optind], &t.sa);
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	read_stat(a);
	t0 = now_s();
	for (i = 0; i < par; i++) {
		if (start_connect(ep, &slots[i], &t, 0))
			return 1;
		busy++;
	}
	while (busy) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, 10000);
		int stop = now_s() - t0 >= secs;

		if (k == 0) {
			fprintf(stderr, "connect-gen: no connection completed in 10 s\n");
			return 1;
		}
		for (i = 0; i < k; i++) {
			struct slot *s = evs[i].data.ptr;

			if (finish(ep, s, 1))
				errors++;
			else
				t.done++;
			busy--;
			if (!stop) {
				if (start_connect(ep, s, &t, 0))
					errors++;
				else
					busy++;
			}
		}
	}
	t1 = now_s();
	read_stat(b);
	printf("conns=%ld errors=%ld secs=%.3f", t.done, errors, t1 - t0);
	for (i = 0; i < 8; i++)
		printf(" %s=%llu", names[i], b[i] - a[i]);
	printf("\n");
	if (t.done == 0 || errors * 100 > t.done) {
		fprintf(stderr, "connect-gen: %ld errors for %ld connections\n", errors, t.done);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "time"))
		return timed(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return run(argc - 1, argv + 1);
	fprintf(stderr, "usage: connect-gen serve ADDR:PORT...\n"
			"       connect-gen time -n N [-p PAR] [-b PORT] NAME=ADDR:PORT...\n"
			"       connect-gen run -t SECONDS [-p PAR] ADDR:PORT\n");
	return 64;
}
