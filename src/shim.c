// SPDX-License-Identifier: GPL-2.0
/*
 * C shim of iprp.ko: owns the registrations the Rust kernel crate has no
 * abstraction for (netfilter hooks, the protocol-99 handler, pernet ops and
 * the generic-netlink family) and forwards every event to Rust.
 */

#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/protocol.h>
#include "../include/uapi/linux/iprp.h"

#include "shim.h"

struct iprp_net {
	void *state;	/* Rust NetState, owned by Rust */
};

static unsigned int iprp_net_id __read_mostly;

static void *iprp_state(const struct net *net)
{
	struct iprp_net *in = net_generic(net, iprp_net_id);

	return in->state;
}

static unsigned int iprp_nf_verdict(enum iprp_verdict v)
{
	switch (v) {
	case IPRP_VERDICT_ACCEPT:
		return NF_ACCEPT;
	}
	return NF_ACCEPT;
}

static unsigned int iprp_nf_pre_routing(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	return iprp_nf_verdict(iprp_rs_pre_routing(iprp_state(state->net), skb));
}

static unsigned int iprp_nf_local_out(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	return iprp_nf_verdict(iprp_rs_local_out(iprp_state(state->net), skb));
}

/*
 * Before conntrack (-200) and NAT (-100 dstnat) on input so that conntrack
 * sees the translated replica->redirector tuple; after them on output
 * (100 srcnat is POST_ROUTING; LOCAL_OUT dstnat is -100) so that a local
 * DNAT rule still applies first. See docs/datapath.md.
 */
static const struct nf_hook_ops iprp_nf_ops[] = {
	{
		.hook		= iprp_nf_pre_routing,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK_DEFRAG + 1,
	},
	{
		.hook		= iprp_nf_local_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_NAT_DST + 1,
	},
};

static int iprp_proto_rcv(struct sk_buff *skb)
{
	return iprp_rs_proto_rcv(iprp_state(dev_net(skb->dev)), skb);
}

static const struct net_protocol iprp_protocol = {
	.handler	= iprp_proto_rcv,
	.no_policy	= 1,
};

static int __net_init iprp_net_init(struct net *net)
{
	struct iprp_net *in = net_generic(net, iprp_net_id);
	int err;

	in->state = iprp_rs_net_init(net);
	if (!in->state)
		return -ENOMEM;
	err = nf_register_net_hooks(net, iprp_nf_ops, ARRAY_SIZE(iprp_nf_ops));
	if (err) {
		iprp_rs_net_exit(in->state);
		in->state = NULL;
	}
	return err;
}

static void __net_exit iprp_net_exit(struct net *net)
{
	struct iprp_net *in = net_generic(net, iprp_net_id);

	nf_unregister_net_hooks(net, iprp_nf_ops, ARRAY_SIZE(iprp_nf_ops));
	iprp_rs_net_exit(in->state);
	in->state = NULL;
}

static struct pernet_operations iprp_net_ops = {
	.init	= iprp_net_init,
	.exit	= iprp_net_exit,
	.id	= &iprp_net_id,
	.size	= sizeof(struct iprp_net),
};

/* ---- generic netlink ---- */

static struct genl_family iprp_genl_family;

static const struct nla_policy iprp_genl_policy[IPRP_A_MAX + 1] = {
	[IPRP_A_VERSION]	= { .type = NLA_NUL_STRING },
	[IPRP_A_COUNTERS]	= { .type = NLA_NESTED },
};

static int iprp_put_counters(struct sk_buff *msg, void *state)
{
	u64 ctr[__IPRP_CTR_MAX] = {};
	struct nlattr *nest;
	int i;

	iprp_rs_counters(state, ctr, ARRAY_SIZE(ctr));
	nest = nla_nest_start(msg, IPRP_A_COUNTERS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < __IPRP_CTR_MAX; i++)
		if (nla_put_u64_64bit(msg, i, ctr[i], 0))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int iprp_cmd_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &iprp_genl_family, 0,
				IPRP_CMD_GET_STATUS);
	if (!hdr)
		goto nospace;
	if (nla_put_string(msg, IPRP_A_VERSION, iprp_rs_version()) ||
	    iprp_put_counters(msg, iprp_state(net)))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static const struct genl_small_ops iprp_genl_ops[] = {
	{
		.cmd	= IPRP_CMD_GET_STATUS,
		.doit	= iprp_cmd_get_status,
	},
};

static struct genl_family iprp_genl_family __ro_after_init = {
	.name		= IPRP_GENL_NAME,
	.version	= IPRP_GENL_VERSION,
	.maxattr	= IPRP_A_MAX,
	.policy		= iprp_genl_policy,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.small_ops	= iprp_genl_ops,
	.n_small_ops	= ARRAY_SIZE(iprp_genl_ops),
	.resv_start_op	= IPRP_CMD_MAX + 1,
};

/* ---- skb helpers for Rust (static inlines and field access) ---- */

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

/* ---- registration, called from the Rust module's init/exit ---- */

int iprp_shim_init(void)
{
	int err;

	err = register_pernet_subsys(&iprp_net_ops);
	if (err)
		return err;
	err = inet_add_protocol(&iprp_protocol, IPRP_IPPROTO);
	if (err)
		goto err_pernet;
	err = genl_register_family(&iprp_genl_family);
	if (err)
		goto err_proto;
	return 0;

err_proto:
	inet_del_protocol(&iprp_protocol, IPRP_IPPROTO);
	synchronize_net();
err_pernet:
	unregister_pernet_subsys(&iprp_net_ops);
	return err;
}

void iprp_shim_exit(void)
{
	genl_unregister_family(&iprp_genl_family);
	inet_del_protocol(&iprp_protocol, IPRP_IPPROTO);
	/* No CPU may still be inside iprp_proto_rcv() when state goes away. */
	synchronize_net();
	unregister_pernet_subsys(&iprp_net_ops);
}
