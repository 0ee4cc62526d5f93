// SPDX-License-Identifier: GPL-2.0
/* The protocol-99 (IPRP message) handler and its ICMP error handler. */

#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/protocol.h>

#include "../include/uapi/linux/iprp.h"
#include "glue.h"

static int iprp_proto_rcv(struct sk_buff *skb)
{
	void *s = iprp_state(dev_net(skb->dev));

	if (!s) {
		kfree_skb(skb);
		return 0;
	}
	return iprp_rs_proto_rcv(s, skb);
}

/*
 * ICMP errors quoting a protocol-99 packet we sent. Only "protocol
 * unreachable" matters: a client without IPRP answered our REQ, so R serves
 * the flow itself at once. skb->data is the quoted IP header, followed by at
 * least 8 bytes (pulled by icmp_socket_deliver()): type, protocol, ports.
 */
static int iprp_proto_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct icmphdr *icmph = icmp_hdr(skb);
	void *s = iprp_state(dev_net(skb->dev));

	if (s && icmph->type == ICMP_DEST_UNREACH &&
	    icmph->code == ICMP_PROT_UNREACH)
		iprp_rs_proto_unreach(s, iph->saddr, iph->daddr,
				      skb->data + iph->ihl * 4);
	return 0;
}

static const struct net_protocol iprp_protocol = {
	.handler	= iprp_proto_rcv,
	.err_handler	= iprp_proto_err,
	.no_policy	= 1,
};

int iprp_proto_register(void)
{
	return inet_add_protocol(&iprp_protocol, IPRP_IPPROTO);
}

void iprp_proto_unregister(void)
{
	inet_del_protocol(&iprp_protocol, IPRP_IPPROTO);
	/* No CPU may still be inside iprp_proto_rcv() when state goes away. */
	synchronize_net();
}
