// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks of iprp.ko: PRE_ROUTING and LOCAL_OUT hand each
 * packet, with its linear headers, to Rust in one call and map its verdict; they are registered per namespace,
 * only while a role needs them.
 */

#include <linux/skbuff.h>
#include <net/ip.h>

#include "../include/uapi/linux/iprp.h"
#include "glue.h"

unsigned int iprp_nf_verdict(enum iprp_verdict v, struct sk_buff *skb,
			     const struct nf_hook_state *state,
			     struct iprp_route __rcu **route)
{
	struct iprp_net *in;
	int err;

	switch (v) {
	case IPRP_VERDICT_ACCEPT:
		return NF_ACCEPT;
	case IPRP_VERDICT_ACCEPT_TRANSLATED:
		in = iprp_pernet(state->net);
		this_cpu_inc(in->pkts->translated_in);
		return NF_ACCEPT;
	case IPRP_VERDICT_DROP:
		return NF_DROP;
	case IPRP_VERDICT_STOLEN:
		return NF_STOLEN;
	case IPRP_VERDICT_REROUTE_TRANSLATED:
		in = iprp_pernet(state->net);
		this_cpu_inc(in->pkts->translated_out);
		/* A confirmed binding's packet: its route may be cached. */
		err = iprp_route_translated(state->net, state->sk, skb, route);
		return err ? NF_DROP_ERR(err) : NF_ACCEPT;
	case IPRP_VERDICT_REROUTE:
		/*
		 * The destination changed: route again, as nf_nat does. The
		 * source is this host's (LOCAL_OUT), so the route lookup is
		 * told so (RTN_LOCAL) instead of looking the source's address
		 * type up in the local table first: one FIB lookup less per
		 * translated packet. A raw socket's foreign unicast source is
		 * routed as before; a broadcast or multicast one is refused by
		 * the route lookup and the packet dropped.
		 */
		err = ip_route_me_harder(state->net, state->sk, skb, RTN_LOCAL);
		return err ? NF_DROP_ERR(err) : NF_ACCEPT;
	}
	return NF_ACCEPT;
}

unsigned int iprp_nf_pre_routing(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct iprp_net *in = iprp_pernet(state->net);
	void *s = READ_ONCE(in->state);
	enum iprp_verdict v;

	if (!s)
		return NF_ACCEPT;
	this_cpu_inc(in->pkts->pre_routing);
	/* skb->data is at the IP header, which the stack has pulled. */
	v = iprp_rs_pre_routing(s, skb, skb->data, skb_headlen(skb));
	return iprp_nf_verdict(v, skb, state, NULL);
}

/*
 * LOCAL_OUT's decision before the verdict is mapped: the benchmark times
 * the route lookup of a translated packet (in iprp_nf_verdict) apart.
 */
enum iprp_verdict iprp_nf_local_out_decide(struct sk_buff *skb,
					   const struct nf_hook_state *state,
					   struct iprp_route __rcu ***route)
{
	struct iprp_net *in = iprp_pernet(state->net);
	void *s = READ_ONCE(in->state);

	if (!s)
		return IPRP_VERDICT_ACCEPT;
	this_cpu_inc(in->pkts->local_out);
	return iprp_rs_local_out(s, skb, skb->data, skb_headlen(skb), route);
}

unsigned int iprp_nf_local_out(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct iprp_route __rcu **route = NULL;
	enum iprp_verdict v = iprp_nf_local_out_decide(skb, state, &route);

	return iprp_nf_verdict(v, skb, state, route);
}

static const struct nf_hook_ops iprp_nf_ops[] = {
	{
		.hook		= iprp_nf_pre_routing,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= IPRP_PRI_PRE_ROUTING,
	},
	{
		.hook		= iprp_nf_local_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= IPRP_PRI_LOCAL_OUT,
	},
};

/*
 * Hooks are registered per namespace and only while a role needs them (as
 * ILA registers its hooks on first use): PRE_ROUTING while any role is on,
 * LOCAL_OUT while the client role is on. A namespace without a role runs
 * no iprp code per packet. Each group is the hook alone, or in benchmark
 * mode the timed hook between its two empty hooks.
 */
enum {
	IPRP_HOOKS_PRE_ROUTING = 1 << 0,
	IPRP_HOOKS_LOCAL_OUT = 1 << 1,
};

static const struct nf_hook_ops *iprp_hook_group(unsigned int group, unsigned int *n)
{
	const struct nf_hook_ops *ops = iprp_nf_ops;
	unsigned int total = ARRAY_SIZE(iprp_nf_ops);

	if (iprp_bench_mode)
		ops = iprp_bench_hook_ops(&total);
	/* Both arrays hold the PRE_ROUTING group, then the LOCAL_OUT group. */
	*n = total / 2;
	return group == IPRP_HOOKS_PRE_ROUTING ? ops : ops + total / 2;
}

unsigned int iprp_hooks_for_roles(u32 roles)
{
	unsigned int hooks = 0;

	if (roles & (IPRP_ROLE_CLIENT | IPRP_ROLE_REDIRECTOR))
		hooks |= IPRP_HOOKS_PRE_ROUTING;
	if (roles & IPRP_ROLE_CLIENT)
		hooks |= IPRP_HOOKS_LOCAL_OUT;
	return hooks;
}

/*
 * Registers the groups in @want that are not registered and unregisters
 * those that are and are not wanted. Called under genl_mutex, or at
 * namespace exit (when no genl request can run in the namespace). On
 * error the groups registered before stay registered.
 */
int iprp_hooks_set(struct net *net, unsigned int want)
{
	struct iprp_net *in = iprp_pernet(net);
	const unsigned int groups[] = { IPRP_HOOKS_PRE_ROUTING, IPRP_HOOKS_LOCAL_OUT };
	const struct nf_hook_ops *ops;
	unsigned int i, n;
	int err;

	for (i = 0; i < ARRAY_SIZE(groups); i++) {
		unsigned int g = groups[i];
		bool have = in->hooks & g;

		if (have == !!(want & g))
			continue;
		ops = iprp_hook_group(g, &n);
		if (have) {
			nf_unregister_net_hooks(net, ops, n);
			in->hooks &= ~g;
			continue;
		}
		err = nf_register_net_hooks(net, ops, n);
		if (err)
			return err;
		in->hooks |= g;
	}
	return 0;
}
