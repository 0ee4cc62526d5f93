// SPDX-License-Identifier: GPL-2.0
/*
 * The route of a translated outgoing packet, cached per client binding.
 *
 * LOCAL_OUT rewrites a bound flow's destination from the redirector to the
 * replica, so the route the stack chose no longer applies and the packet
 * must be routed again, as nf_nat does with ip_route_me_harder(). That full
 * lookup was about half of what the hook added to a translated packet. A
 * binding's packets come from one socket and go to one replica, so each
 * binding keeps the last route it got, with the inputs of the lookup that
 * made it: destination, source, DSCP, bound device, L3 master device, mark
 * and flow flags. A packet whose inputs are the same reuses the route while
 * dst_check() says it is still valid: any routing change in the namespace
 * (a route or rule added or removed, an address, a device going down)
 * expires every IPv4 route, and a learnt path MTU or redirect kills the
 * route it applies to, as for a socket's cached route.
 *
 * The cache does not apply when the lookup could depend on more than those
 * inputs: fib rules on ports or protocol (they dissect the flow), and an
 * IPsec policy, which ip_route_me_harder() would look up after the route;
 * nor to a packet of a socket that is not a full one (a time-wait socket).
 *
 * Each binding's slot in Rust (src/route.rs) is an RCU pointer to an
 * immutable struct iprp_route. Readers are the LOCAL_OUT hook, inside the
 * netfilter hook's RCU read-side section; a packet that finds no valid
 * route looks one up and replaces the slot's pointer with an xchg, so
 * writers need no lock. The replaced route's reference is dropped at once
 * (dst memory is freed after a grace period, and a reader that loses the
 * race to take a reference falls back to a lookup) and its struct is freed
 * after a grace period.
 */

#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <net/dst.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ip_fib.h>
#include <net/l3mdev.h>
#include <net/xfrm.h>

#include "glue.h"

struct iprp_route_key {
	__be32 daddr;
	__be32 saddr;
	int oif;
	int l3mdev;
	u32 mark;
	u8 dscp;
	u8 flags;
	u8 pad[2];
};

struct iprp_route {
	struct rcu_head rcu;
	struct dst_entry *dst;	/* held */
	struct iprp_route_key key;
};

/*
 * The inputs ip_route_me_harder(..., RTN_LOCAL) gives the route lookup,
 * read before the lookup replaces the packet's route. False if the lookup
 * may depend on anything else.
 */
static bool iprp_route_key(struct net *net, struct sock *sk,
			   const struct sk_buff *skb, struct iprp_route_key *k)
{
	const struct iphdr *iph = ip_hdr(skb);

	sk = sk_to_full_sk(sk);
	if (sk && !sk_fullsock(sk))
		return false;
#ifdef CONFIG_IP_MULTIPLE_TABLES
	if (READ_ONCE(net->ipv4.fib_rules_require_fldissect))
		return false;
#endif
#ifdef CONFIG_XFRM
	if (READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_OUT]) ||
	    (sk && rcu_access_pointer(sk->sk_policy[XFRM_POLICY_OUT])))
		return false;
#endif
	memset(k, 0, sizeof(*k));
	k->daddr = iph->daddr;
	k->saddr = iph->saddr;
	k->dscp = (__force u8)ip4h_dscp(iph);
	k->oif = sk ? sk->sk_bound_dev_if : 0;
	k->l3mdev = l3mdev_master_ifindex(skb_dst_dev(skb));
	k->mark = skb->mark;
	k->flags = sk ? inet_sk_flowi_flags(sk) : 0;
	return true;
}

/* Takes a reference to @r's route if it is still valid. */
static struct dst_entry *iprp_route_hold(struct iprp_route *r)
{
	struct dst_entry *dst = r->dst;

	if (!dst_check(dst, 0) || !dst_hold_safe(dst))
		return NULL;
	return dst;
}

/* Makes @dst (the route just looked up for @k) the slot's route. */
static void iprp_route_store(struct iprp_route __rcu **slot,
			     const struct iprp_route_key *k,
			     struct dst_entry *dst)
{
	struct iprp_route *r, *old;

	r = kmalloc_obj(*r, GFP_ATOMIC);
	if (!r)
		return;
	if (!dst_hold_safe(dst)) {
		kfree(r);
		return;
	}
	r->dst = dst;
	r->key = *k;
	old = unrcu_pointer(xchg(slot, RCU_INITIALIZER(r)));
	if (old) {
		dst_release(old->dst);
		kfree_rcu(old, rcu);
	}
}

/*
 * Routes @skb, a packet whose destination LOCAL_OUT has just translated,
 * like ip_route_me_harder(net, sk, skb, RTN_LOCAL), with @slot (may be
 * NULL) as the binding's route cache. Called inside the hook's RCU
 * read-side section. Returns 0 or a negative errno (drop the packet).
 */
int iprp_route_translated(struct net *net, struct sock *sk, struct sk_buff *skb,
			  struct iprp_route __rcu **slot)
{
	struct iprp_hook_pkts __percpu *pkts = iprp_pernet(net)->pkts;
	struct iprp_route_key k;
	struct dst_entry *dst;
	struct iprp_route *r;
	unsigned int hh_len;
	int err;

	if (!slot || !iprp_route_key(net, sk, skb, &k)) {
		this_cpu_inc(pkts->route_looked_up);
		return ip_route_me_harder(net, sk, skb, RTN_LOCAL);
	}
	r = rcu_dereference(*slot);
	if (r && !memcmp(&r->key, &k, sizeof(k))) {
		dst = iprp_route_hold(r);
		if (dst) {
			this_cpu_inc(pkts->route_reused);
			skb_dst_drop(skb);
			skb_dst_set(skb, dst);
			hh_len = dst->dev->hard_header_len;
			if (skb_headroom(skb) < hh_len &&
			    pskb_expand_head(skb, HH_DATA_ALIGN(hh_len - skb_headroom(skb)),
					     0, GFP_ATOMIC))
				return -ENOMEM;
			return 0;
		}
	}
	this_cpu_inc(pkts->route_looked_up);
	err = ip_route_me_harder(net, sk, skb, RTN_LOCAL);
	if (!err)
		iprp_route_store(slot, &k, skb_dst(skb));
	return err;
}

/* Frees a slot's route when nothing can read it any more (table teardown). */
void iprp_route_free(struct iprp_route *r)
{
	dst_release(r->dst);
	kfree(r);
}
