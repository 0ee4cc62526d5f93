// SPDX-License-Identifier: GPL-2.0
/*
 * udp-blast: small UDP datagrams as fast as the stack takes them, for the
 * per-packet hook-cost benchmark (bench/guest/08-hookcost.sh).
 *
 *   udp-blast send ADDR PORT COUNT [SIZE [SPORT]]   prints datagrams sent
 *   udp-blast flows ADDR PORT COUNT                 one datagram per new flow
 *   udp-blast sink PORT                             discards until killed
 *
 * "flows" sends each datagram from the next source port (1024 up, then
 * round again), through a raw socket so that no local socket has to be
 * bound per flow: COUNT datagrams of up to 64,512 new flows. It sends a
 * batch every 2 ms (32,000 datagrams a second): each starts a flow at the
 * receiver, which costs it far more than a datagram of a known flow, and
 * an unpaced raw socket overflows the receiver's backlog.
 *
 * sendmmsg/recvmmsg in batches of 64 keep the per-packet cost in the
 * kernel rather than in system-call entry (iperf3 under TCG spends most of
 * its time in user space).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static int usage(void)
{
	fprintf(stderr, "usage: udp-blast send ADDR PORT COUNT [SIZE [SPORT]]\n"
			"       udp-blast flows ADDR PORT COUNT\n"
			"       udp-blast sink PORT\n");
	return 64;
}

static long arg(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "udp-blast: bad number '%s' (%ld..%ld)\n", s, min, max);
		exit(64);
	}
	return v;
}

static int bind_port(int fd, long port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("udp-blast: bind");
		return -1;
	}
	return 0;
}

static int blast(int argc, char **argv)
{
	static char payload[1472];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	long count, size = 18, sent = 0;
	int fd, i;

	if (argc < 5 || argc > 7 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return usage();
	dst.sin_port = htons(arg(argv[3], 1, 65535));
	count = arg(argv[4], 1, 1000000000L);
	if (argc > 5)
		size = arg(argv[5], 0, sizeof(payload));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || (argc > 6 && bind_port(fd, arg(argv[6], 1, 65535))))
		return 1;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		perror("udp-blast: connect");
		return 1;
	}
	iov.iov_base = payload;
	iov.iov_len = size;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < count) {
		int n = count - sent < BATCH ? count - sent : BATCH;
		int r = sendmmsg(fd, msgs, n, 0);

		if (r < 0) {
			/* A full qdisc or socket buffer: try again. */
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED)
				continue;
			perror("udp-blast: sendmmsg");
			return 1;
		}
		sent += r;
	}
	printf("%ld\n", sent);
	return 0;
}

/* One 18-byte datagram per source port; the kernel fills in the IP
 * header's source address, ID and checksum; UDP checksum 0 (none).
 */
static int flows(int argc, char **argv)
{
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char payload[18];
	} __attribute__((packed)) pkts[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	const struct timespec pace = { .tv_nsec = 2000000 };
	long count, sent = 0, next = 0;
	int fd, one = 1, i;

	if (argc != 5 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return usage();
	dst.sin_port = htons(arg(argv[3], 1, 65535));
	count = arg(argv[4], 1, 1000000000L);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		perror("udp-blast: raw socket");
		return 1;
	}
	memset(pkts, 0, sizeof(pkts));
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		pkts[i].ip.version = 4;
		pkts[i].ip.ihl = 5;
		pkts[i].ip.ttl = 64;
		pkts[i].ip.protocol = IPPROTO_UDP;
		pkts[i].ip.tot_len = htons(sizeof(pkts[i]));
		pkts[i].ip.daddr = dst.sin_addr.s_addr;
		pkts[i].udp.dest = dst.sin_port;
		pkts[i].udp.len = htons(sizeof(pkts[i]) - sizeof(pkts[i].ip));
		iov[i].iov_base = &pkts[i];
		iov[i].iov_len = sizeof(pkts[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}
	while (sent < count) {
		int n = count - sent < BATCH ? count - sent : BATCH;
		int r;

		for (i = 0; i < n; i++)
			pkts[i].udp.source = htons(1024 + (next + i) % 64512);
		r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("udp-blast: sendmmsg");
			return 1;
		}
		sent += r;
		next += r;
		nanosleep(&pace, NULL);
	}
	printf("%ld\n", sent);
	return 0;
}

static int sink(int argc, char **argv)
{
	static char bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int fd, i;

	if (argc != 3)
		return usage();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind_port(fd, arg(argv[2], 1, 65535)))
		return 1;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;)
		if (recvmmsg(fd, msgs, BATCH, 0, NULL) < 0 && errno != EINTR) {
			perror("udp-blast: recvmmsg");
			return 1;
		}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return blast(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "flows"))
		return flows(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return sink(argc, argv);
	return usage();
}
