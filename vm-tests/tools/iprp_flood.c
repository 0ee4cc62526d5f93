// SPDX-License-Identifier: GPL-2.0
/*
 * Fast flood sender for the VM flood tests (python is ~10x too slow under
 * TCG for a million packets). Raw IP_HDRINCL socket, spoofed source,
 * packets built in batches of 64 and sent with sendmmsg().
 *
 *   iprp_flood junk SRC DST COUNT SEED
 *       protocol-99 messages of random type and length 0..1480 (the most
 *       that fits a 1500-byte IP packet). Prints, as JSON, how many were sent
 *       and how the module must classify them: valid, short (< 16 bytes),
 *       bad_type (not REQ/CHK/CFM/ALM), bad_proto (not TCP/UDP).
 *   iprp_flood req SRC DST COUNT REPLICA
 *       REQs (TCP, key 0) for COUNT distinct flows (client port, server port).
 *   iprp_flood syn SRC DST DPORT COUNT
 *       TCP SYNs to DST:DPORT from COUNT distinct client tuples: source
 *       address SRC + i / 50000, source port 10000 + i % 50000.
 *
 * Needs root (CAP_NET_RAW) in the sending namespace. Build: make tools.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXPKT 1500
#define MSG_LEN 16

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: fast and good enough for test traffic */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* IPv4 header; the kernel fills in the checksum (and the id when 0). */
static void ip_header(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)len);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
}

static uint8_t pkts[BATCH][MAXPKT];
static struct iovec iov[BATCH];
static struct mmsghdr mm[BATCH];
static struct sockaddr_in to;
static uint64_t sent, errors;

/* Sends the first n prepared packets, retrying on ENOBUFS; counts them. */
static void flush(int s, unsigned int n)
{
	unsigned int off = 0;

	for (unsigned int i = 0; i < n; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to;
		mm[i].msg_hdr.msg_namelen = sizeof(to);
	}
	while (off < n) {
		int r = sendmmsg(s, mm + off, n - off, 0);

		if (r > 0) {
			off += r;
			sent += r;
		} else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
			errors++;
			usleep(100);
		} else {
			perror("sendmmsg");
			exit(1);
		}
	}
}

static uint32_t addr(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "bad address %s\n", s);
		exit(64);
	}
	return a.s_addr;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	uint64_t count, valid = 0, shrt = 0, bad_type = 0, bad_proto = 0;
	uint32_t src, dst;
	int one = 1, s;

	if (argc < 5) {
		fprintf(stderr, "usage: see the comment at the top of iprp_flood.c\n");
		return 64;
	}
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0 || setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("raw socket");
		return 1;
	}
	src = addr(argv[2]);
	dst = addr(argv[3]);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = dst;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (!strcmp(argv[1], "junk") && argc == 6) {
		count = strtoull(argv[4], NULL, 0);
		rng = strtoull(argv[5], NULL, 0) * 0x9E3779B97F4A7C15ULL | 1;
		for (uint64_t i = 0; i < count;) {
			unsigned int n = 0;

			for (; n < BATCH && i < count; n++, i++) {
				uint8_t *p = pkts[n], *m = p + 20;
				size_t len = rnd() % (MAXPKT - 20 + 1);
				uint64_t r = rnd();
				uint16_t ty, pr;

				for (size_t k = 0; k < len && k < 64; k += 8) {
					uint64_t v = rnd();

					memcpy(m + k, &v, len - k < 8 ? len - k : 8);
				}
				if (len >= 4 && (r & 3)) {
					/* three in four look plausible: known or near type, TCP/UDP/ICMP */
					put16(m, (r >> 8) % 6);
					put16(m + 2, ((const uint16_t[]){6, 17, 1})[(r >> 16) % 3]);
				}
				ip_header(p, src, dst, 99, 20 + len);
				iov[n].iov_base = p;
				iov[n].iov_len = 20 + len;
				if (len < MSG_LEN) {
					shrt++;
					continue;
				}
				ty = (uint16_t)(m[0] << 8 | m[1]);
				pr = (uint16_t)(m[2] << 8 | m[3]);
				if (ty < 1 || ty > 4)
					bad_type++;
				else if (pr != 6 && pr != 17)
					bad_proto++;
				else
					valid++;
			}
			flush(s, n);
		}
	} else if (!strcmp(argv[1], "req") && argc == 6) {
		uint32_t replica = addr(argv[5]);

		count = strtoull(argv[4], NULL, 0);
		for (uint64_t i = 0; i < count;) {
			unsigned int n = 0;

			for (; n < BATCH && i < count; n++, i++) {
				uint8_t *p = pkts[n], *m = p + 20;

				put16(m, 1);
				put16(m + 2, 6);
				put16(m + 4, (uint16_t)(1024 + i % 60000));
				put16(m + 6, (uint16_t)(8080 + i / 60000));
				memcpy(m + 8, &replica, 4);
				put32(m + 12, 0);
				ip_header(p, src, dst, 99, 20 + MSG_LEN);
				iov[n].iov_base = p;
				iov[n].iov_len = 20 + MSG_LEN;
			}
			flush(s, n);
		}
		valid = count;
	} else if (!strcmp(argv[1], "syn") && argc == 6) {
		uint16_t dport = (uint16_t)atoi(argv[4]);

		count = strtoull(argv[5], NULL, 0);
		for (uint64_t i = 0; i < count;) {
			unsigned int n = 0;

			for (; n < BATCH && i < count; n++, i++) {
				uint8_t *p = pkts[n], *t = p + 20, ph[12];
				uint32_t a = htonl(ntohl(src) + (uint32_t)(i / 50000));
				uint32_t sum = 0;

				memset(t, 0, 20);
				put16(t, (uint16_t)(10000 + i % 50000));
				put16(t + 2, dport);
				put32(t + 4, (uint32_t)rnd());
				t[12] = 5 << 4;
				t[13] = 0x02; /* SYN */
				put16(t + 14, 64240);
				memcpy(ph, &a, 4);
				memcpy(ph + 4, &dst, 4);
				ph[8] = 0;
				ph[9] = IPPROTO_TCP;
				put16(ph + 10, 20);
				for (int k = 0; k < 12; k += 2)
					sum += (uint32_t)ph[k] << 8 | ph[k + 1];
				put16(t + 16, csum(t, 20, sum));
				ip_header(p, a, dst, IPPROTO_TCP, 40);
				iov[n].iov_base = p;
				iov[n].iov_len = 40;
			}
			flush(s, n);
		}
		valid = count;
	} else {
		fprintf(stderr, "usage: see the comment at the top of iprp_flood.c\n");
		return 64;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"sent\": %llu, \"valid\": %llu, \"drop_short\": %llu, \"drop_bad_type\": %llu, "
	       "\"drop_bad_proto\": %llu, \"retries\": %llu, \"seconds\": %.2f}\n",
	       (unsigned long long)sent, (unsigned long long)valid, (unsigned long long)shrt,
	       (unsigned long long)bad_type, (unsigned long long)bad_proto,
	       (unsigned long long)errors,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
