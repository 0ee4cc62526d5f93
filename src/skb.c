// SPDX-License-Identifier: GPL-2.0
/*
 * What Rust needs of the kernel that is static inline or a field access in
 * C: skb reads and rewrites (checksums included), socket lookups, sending a
 * protocol-99 message, time and bottom-half control.
 */

#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/route.h>
#include <net/udp.h>

#include "../include/uapi/linux/iprp.h"
#include "glue.h"

int iprp_shim_copy_bits(const struct sk_buff *skb, int offset, void *to, int len)
{
	return skb_copy_bits(skb, offset, to, len);
}

unsigned int iprp_shim_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

void iprp_shim_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

void iprp_shim_consume_skb(struct sk_buff *skb)
{
	consume_skb(skb);
}

__be32 iprp_shim_saddr(const struct sk_buff *skb)
{
	return ip_hdr(skb)->saddr;
}

__be32 iprp_shim_daddr(const struct sk_buff *skb)
{
	return ip_hdr(skb)->daddr;
}

/*
 * Fills @pkt for an IPv4 TCP or UDP packet whose transport header is in
 * this packet (not a non-first fragment). skb->data is at the IP header at
 * both hooks. Returns 0, or -1 if the packet is not one we translate. The
 * hooks read linear headers themselves; this is for the rest.
 */
int iprp_shim_parse(const struct sk_buff *skb, struct iprp_pkt *pkt)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int thoff = iph->ihl * 4;

	if (iph->frag_off & htons(IP_OFFSET))
		return -1;
	pkt->saddr = iph->saddr;
	pkt->daddr = iph->daddr;
	pkt->proto = iph->protocol;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr _th;
		const struct tcphdr *th;

		th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
		if (!th)
			return -1;
		pkt->sport = th->source;
		pkt->dport = th->dest;
		pkt->syn = th->syn;
		pkt->ack = th->ack;
		pkt->ports = 1;
		return 0;
	}
	if (iph->protocol == IPPROTO_UDP) {
		struct udphdr _uh;
		const struct udphdr *uh;

		uh = skb_header_pointer(skb, thoff, sizeof(_uh), &_uh);
		if (!uh)
			return -1;
		pkt->sport = uh->source;
		pkt->dport = uh->dest;
		pkt->syn = 0;
		pkt->ack = 0;
		pkt->ports = 1;
		return 0;
	}
	return -1;
}

/*
 * Rewrites the source (@dst false) or destination address and updates the
 * IP and TCP/UDP checksums incrementally (RFC 1624), also for
 * CHECKSUM_PARTIAL packets; a zero UDP checksum stays zero.
 */
int iprp_shim_set_addr(struct sk_buff *skb, bool dst, __be32 addr)
{
	unsigned int thoff = ip_hdrlen(skb);
	unsigned int need = thoff;
	struct iphdr *iph = ip_hdr(skb);
	bool first = !(iph->frag_off & htons(IP_OFFSET));
	u8 proto = iph->protocol;
	__be32 *field, old;

	if (first && proto == IPPROTO_TCP)
		need += sizeof(struct tcphdr);
	else if (first && proto == IPPROTO_UDP)
		need += sizeof(struct udphdr);
	if (skb_ensure_writable(skb, need))
		return -ENOMEM;
	iph = ip_hdr(skb);
	field = dst ? &iph->daddr : &iph->saddr;
	old = *field;
	if (first && proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)iph + thoff;

		inet_proto_csum_replace4(&th->check, skb, old, addr, true);
	} else if (first && proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)iph + thoff;

		if (uh->check || skb->ip_summed == CHECKSUM_PARTIAL) {
			inet_proto_csum_replace4(&uh->check, skb, old, addr, true);
			if (!uh->check)
				uh->check = CSUM_MANGLED_0;
		}
	}
	csum_replace4(&iph->check, old, addr);
	*field = addr;
	return 0;
}

/*
 * Inserts the 4-byte TCP option @opt (network order) first among the
 * options of the TCP segment in @skb (IP header at skb->data), moving the
 * others: the TCP header grows by one word, the IP total length by 4, and
 * both checksums are updated incrementally, also for CHECKSUM_PARTIAL
 * (the pseudo-header's length). As xt_TCPMSS adds an MSS option. Returns
 * 0; -ENOSPC if the header already has 40 bytes of options; -EMSGSIZE if
 * the segment carries data (a Fast Open SYN: growing it could exceed the
 * path MTU); -EINVAL if it is no whole TCP segment; -ENOMEM.
 */
int iprp_shim_tcp_insert_option(struct sk_buff *skb, __be32 opt)
{
	unsigned int thoff, len, hdrlen;
	struct tcphdr *th;
	struct iphdr *iph;
	__be16 oldval, newlen;
	u8 *o;

	iph = ip_hdr(skb);
	if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return -EINVAL;
	thoff = ip_hdrlen(skb);
	if (skb->len < thoff + sizeof(*th) || ntohs(iph->tot_len) != skb->len)
		return -EINVAL;
	if (skb_ensure_writable(skb, skb->len))
		return -ENOMEM;
	iph = ip_hdr(skb);
	th = (struct tcphdr *)((u8 *)iph + thoff);
	len = skb->len - thoff;
	hdrlen = th->doff * 4;
	if (hdrlen < sizeof(*th) || len < hdrlen)
		return -EINVAL;
	if (len > hdrlen)
		return -EMSGSIZE;
	if (hdrlen + 4 > 15 * 4)
		return -ENOSPC;
	if (skb_tailroom(skb) < 4 &&
	    pskb_expand_head(skb, 0, 4 - skb_tailroom(skb), GFP_ATOMIC))
		return -ENOMEM;
	iph = ip_hdr(skb);
	th = (struct tcphdr *)((u8 *)iph + thoff);
	skb_put(skb, 4);
	o = (u8 *)th + sizeof(*th);
	memmove(o + 4, o, len - sizeof(*th));
	inet_proto_csum_replace2(&th->check, skb, htons(len), htons(len + 4), true);
	memcpy(o, &opt, 4);
	inet_proto_csum_replace4(&th->check, skb, 0, opt, false);
	oldval = ((__be16 *)th)[6];
	th->doff += 1;
	inet_proto_csum_replace2(&th->check, skb, oldval, ((__be16 *)th)[6], false);
	newlen = htons(ntohs(iph->tot_len) + 4);
	csum_replace2(&iph->check, iph->tot_len, newlen);
	iph->tot_len = newlen;
	return 0;
}

/* Offset of the quoted IP header in an ICMP error with IP header @iph. */
static unsigned int iprp_icmp_quote_off(const struct iphdr *iph)
{
	return iph->ihl * 4 + sizeof(struct icmphdr);
}

/*
 * An unfragmented ICMP error of a class the stack acts on (destination
 * unreachable, time exceeded, parameter problem) quoting the first
 * fragment of a TCP or UDP packet: fills @quoted with the quoted packet's
 * addresses, ports and protocol and returns 0; -1 for anything else.
 */
int iprp_shim_parse_icmp_error(const struct sk_buff *skb, struct iprp_pkt *quoted)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = iprp_icmp_quote_off(iph);
	struct icmphdr _icmph;
	const struct icmphdr *icmph;
	struct iphdr _qh;
	const struct iphdr *qh;
	__be16 _ports[2];
	const __be16 *ports;

	if (iph->protocol != IPPROTO_ICMP || ip_is_fragment(iph))
		return -1;
	icmph = skb_header_pointer(skb, iph->ihl * 4, sizeof(_icmph), &_icmph);
	if (!icmph)
		return -1;
	if (icmph->type != ICMP_DEST_UNREACH && icmph->type != ICMP_TIME_EXCEEDED &&
	    icmph->type != ICMP_PARAMETERPROB)
		return -1;
	qh = skb_header_pointer(skb, off, sizeof(_qh), &_qh);
	if (!qh || qh->ihl < 5 || (qh->frag_off & htons(IP_OFFSET)) ||
	    (qh->protocol != IPPROTO_TCP && qh->protocol != IPPROTO_UDP))
		return -1;
	ports = skb_header_pointer(skb, off + qh->ihl * 4, sizeof(_ports), &_ports);
	if (!ports)
		return -1;
	quoted->saddr = qh->saddr;
	quoted->daddr = qh->daddr;
	quoted->sport = ports[0];
	quoted->dport = ports[1];
	quoted->proto = qh->protocol;
	quoted->syn = 0;
	quoted->ack = 0;
	quoted->ports = 1;
	return 0;
}

/*
 * Translates an ICMP error that iprp_shim_parse_icmp_error() accepted: the
 * quoted packet's destination (@quoted_dst) or source address becomes
 * @addr, with the quoted IP header checksum and, as far as the quote holds
 * it, the quoted TCP/UDP checksum updated; the outer address facing it
 * (source for a quoted destination, destination for a quoted source) too,
 * if it was the same address. The ICMP checksum is verified first (a
 * corrupt error is left alone, for the stack to drop: -EINVAL) and
 * computed again after.
 */
int iprp_shim_icmp_error_set_addr(struct sk_buff *skb, bool quoted_dst, __be32 addr)
{
	unsigned int ioff = ip_hdrlen(skb);
	unsigned int off = iprp_icmp_quote_off(ip_hdr(skb));
	unsigned int need, l4off, check_off;
	struct icmphdr *icmph;
	struct iphdr *iph, *qh;
	__be32 *field, *outer, old;
	__sum16 *check = NULL;

	if (skb->ip_summed != CHECKSUM_UNNECESSARY &&
	    csum_fold(skb_checksum(skb, ioff, skb->len - ioff, 0)))
		return -EINVAL;
	if (skb_ensure_writable(skb, off + sizeof(struct iphdr)))
		return -ENOMEM;
	qh = (void *)skb->data + off;
	l4off = off + qh->ihl * 4;
	check_off = l4off + (qh->protocol == IPPROTO_TCP ?
			     offsetof(struct tcphdr, check) :
			     offsetof(struct udphdr, check));
	need = l4off + 4;
	if (skb->len >= check_off + sizeof(__sum16))
		need = max(need, check_off + (unsigned int)sizeof(__sum16));
	if (skb_ensure_writable(skb, need))
		return -ENOMEM;
	iph = ip_hdr(skb);
	qh = (void *)skb->data + off;
	if (need >= check_off + sizeof(__sum16))
		check = (void *)skb->data + check_off;
	field = quoted_dst ? &qh->daddr : &qh->saddr;
	outer = quoted_dst ? &iph->saddr : &iph->daddr;
	old = *field;
	/* The quoted L4 checksum covers the pseudo-header; UDP's 0 is "none". */
	if (check && (qh->protocol == IPPROTO_TCP || *check)) {
		csum_replace4(check, old, addr);
		if (qh->protocol == IPPROTO_UDP && !*check)
			*check = CSUM_MANGLED_0;
	}
	csum_replace4(&qh->check, old, addr);
	*field = addr;
	if (*outer == old) {
		csum_replace4(&iph->check, old, addr);
		*outer = addr;
	}
	icmph = (void *)skb->data + ioff;
	icmph->checksum = 0;
	icmph->checksum = csum_fold(skb_checksum(skb, ioff, skb->len - ioff, 0));
	/* skb->csum covered the old bytes; the checksum is now correct. */
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
	return 0;
}

/*
 * Keeps conntrack away from a packet the redirector forwards to a replica
 * (our hook runs before conntrack's): the replica answers the client
 * directly, so an entry would never see a reply and would stay in SYN_SENT
 * for two minutes, one per redirected flow. IPVS marks the packets it
 * forwards untracked the same way while its conntrack sysctl is off.
 */
void iprp_shim_untrack(struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	if (!skb_nfct(skb))
		nf_ct_set(skb, NULL, IP_CT_UNTRACKED);
#endif
}

/*
 * Hands a packet held at PRE_ROUTING back to IP input from the start; the
 * hook then translates it like any packet of a confirmed binding.
 */
void iprp_shim_reinject(struct sk_buff *skb)
{
	netif_rx(skb);
}

/*
 * What local sockets of @net do with the 4-tuple @laddr:@lport <->
 * @raddr:@rport (network order) of protocol @proto, asked as @query:
 *  IPRP_SK_TAKES       a socket takes its incoming packets: a TCP
 *                      connection in any state but LISTEN, or any
 *                      matching UDP socket;
 *  IPRP_SK_CONNECTING  the same, but a TCP connection only in SYN-SENT;
 *  IPRP_SK_USES        a socket uses the tuple as its own: a TCP connection
 *                      not in TIME_WAIT (a closed one takes no more data),
 *                      or a UDP socket connected to exactly @raddr:@rport.
 * @skb arrived on the device a device-bound socket must match. Softirq
 * context.
 */
bool iprp_shim_sk_query(struct net *net, const struct sk_buff *skb, u8 proto,
			__be32 raddr, __be16 rport, __be32 laddr, __be16 lport,
			u8 query)
{
	struct sock *sk;
	bool found;

	rcu_read_lock();
	if (proto == IPPROTO_TCP) {
		sk = __inet_lookup_established(net, raddr, rport, laddr,
					       ntohs(lport), inet_iif(skb),
					       inet_sdif(skb));
		found = sk &&
			(query != IPRP_SK_CONNECTING || sk->sk_state == TCP_SYN_SENT) &&
			(query != IPRP_SK_USES || sk->sk_state != TCP_TIME_WAIT);
		if (sk)
			sock_gen_put(sk);
	} else {
		/*
		 * No reference taken: UDP sockets are freed after an RCU grace
		 * period, and only their existence and address matter.
		 */
		sk = __udp4_lib_lookup(net, raddr, rport, laddr, lport,
				       inet_iif(skb), inet_sdif(skb), NULL);
		found = sk &&
			(query != IPRP_SK_USES ||
			 (sk->sk_state == TCP_ESTABLISHED &&
			  inet_sk(sk)->inet_daddr == raddr &&
			  inet_sk(sk)->inet_dport == rport));
	}
	rcu_read_unlock();
	return found;
}

/* Sends one protocol-99 message from @saddr (a local address) to @daddr. */
int iprp_shim_send_msg(struct net *net, __be32 saddr, __be32 daddr,
		       const void *msg, unsigned int len)
{
	struct flowi4 fl4 = {
		.daddr		= daddr,
		.saddr		= saddr,
		.flowi4_proto	= IPRP_IPPROTO,
	};
	struct sk_buff *skb;
	struct iphdr *iph;
	struct rtable *rt;
	int hh_len;

	rt = ip_route_output_key(net, &fl4);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	hh_len = LL_RESERVED_SPACE(rt->dst.dev);
	skb = alloc_skb(hh_len + sizeof(*iph) + len, GFP_ATOMIC);
	if (!skb) {
		ip_rt_put(rt);
		return -ENOMEM;
	}
	skb_reserve(skb, hh_len);
	skb_reset_network_header(skb);
	iph = skb_put(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = 0;
	iph->frag_off = htons(IP_DF);
	iph->ttl = ip4_dst_hoplimit(&rt->dst);
	iph->protocol = IPRP_IPPROTO;
	iph->saddr = fl4.saddr;
	iph->daddr = fl4.daddr;
	skb_put_data(skb, msg, len);
	skb->protocol = htons(ETH_P_IP);
	skb_dst_set(skb, &rt->dst);
	ip_select_ident(net, skb, NULL);
	/* __ip_local_out() sets tot_len and the header checksum. */
	return ip_local_out(net, NULL, skb);
}

u64 iprp_shim_now_ms(void)
{
	return jiffies64_to_msecs(get_jiffies_64());
}

void iprp_shim_cond_resched(void)
{
	cond_resched();
}

void iprp_shim_bh_disable(void)
{
	local_bh_disable();
}

void iprp_shim_bh_enable(void)
{
	local_bh_enable();
}
