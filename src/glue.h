/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C files of iprp.ko share among themselves (shim.h is what they
 * share with Rust): the per-namespace slot, the hook entry points and
 * their registration, benchmark mode, and the registration of each part.
 *
 *   netfilter.c  hooks, and their registration per namespace and role
 *   bench.c      benchmark mode: timed hooks, empty hooks, their statistics
 *   proto.c      the protocol-99 handler and its ICMP error handler
 *   pernet.c     per-namespace slot, slow timer
 *   genl.c       the generic-netlink family: registration, helpers for src/nl.rs
 *   netlink-gen.c  its policies and ops, generated from the YNL spec
 *   skb.c        skb, socket, route and time helpers for Rust
 *   route.c      the route of a translated packet, cached per binding
 *   module.c     registration of all of the above, in order
 */
#ifndef _IPRP_GLUE_H
#define _IPRP_GLUE_H

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/percpu.h>
#include <linux/timer.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "shim.h"

enum iprp_bench_slot {
	IPRP_BENCH_PRE,		/* + iprp_bench_kind, PRE_ROUTING */
	IPRP_BENCH_OUT = 6,	/* + iprp_bench_kind, LOCAL_OUT */
	IPRP_BENCH_TICK = 12,	/* the slow timer: cycles per tick, ticks */
	IPRP_BENCH_REROUTE = 13, /* LOCAL_OUT: route lookup of translated packets */
	IPRP_BENCH_SLOTS = 14,
};

enum iprp_bench_kind {
	IPRP_BENCH_EMPTY_FIRST,
	IPRP_BENCH_EMPTY_SECOND,
	IPRP_BENCH_PASS_FIRST,	/* iprp's hook, packet left unchanged */
	IPRP_BENCH_PASS_SECOND,
	IPRP_BENCH_XLAT_FIRST,	/* iprp's hook, addresses rewritten */
	IPRP_BENCH_XLAT_SECOND,
};

struct iprp_bench {
	u64 cycles[IPRP_BENCH_SLOTS];
	u64 pkts[IPRP_BENCH_SLOTS];
};

/* TCP connections to reset (reset.c), at most IPRP_RESETS_MAX waiting. */
#define IPRP_RESETS_MAX 32

struct iprp_reset_tuple {
	__be32 laddr, raddr;
	__be16 lport, rport;
};

struct iprp_resets {
	spinlock_t lock;
	unsigned int n;
	struct iprp_reset_tuple q[IPRP_RESETS_MAX];
	struct work_struct work;
};

struct iprp_net {
	void *state;		/* Rust NetState; NULL while the netns dies */
	struct net *net;
	unsigned int hooks;	/* IPRP_HOOKS_* registered; under genl_mutex */
	struct timer_list timer;
	struct iprp_hook_pkts __percpu *pkts;
	struct iprp_bench __percpu *bench;	/* only with bench=1 */
	struct iprp_resets resets;
};

extern unsigned int iprp_net_id;

static inline struct iprp_net *iprp_pernet(const struct net *net)
{
	return net_generic(net, iprp_net_id);
}

static inline void *iprp_state(const struct net *net)
{
	return READ_ONCE(iprp_pernet(net)->state);
}

/*
 * PRE_ROUTING: after defragmentation (-400), before conntrack (-200) and
 * DNAT (-100), so conntrack and NAT see the translated tuple.
 * LOCAL_OUT: after conntrack and local DNAT (-100), before filter (0), so
 * a host's own DNAT applies first. See docs/architecture.md.
 */
#define IPRP_PRI_PRE_ROUTING	(NF_IP_PRI_CONNTRACK_DEFRAG + 1)
#define IPRP_PRI_LOCAL_OUT	(NF_IP_PRI_NAT_DST + 1)

/* reset.c */
void iprp_resets_init(struct iprp_net *in);
void iprp_resets_exit(struct iprp_net *in);

/* netfilter.c */
unsigned int iprp_nf_verdict(enum iprp_verdict v, struct sk_buff *skb,
			     const struct nf_hook_state *state,
			     struct iprp_route __rcu **route);
unsigned int iprp_nf_pre_routing(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);
enum iprp_verdict iprp_nf_local_out_decide(struct sk_buff *skb,
					   const struct nf_hook_state *state,
					   struct iprp_route __rcu ***route);
unsigned int iprp_nf_local_out(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state);
unsigned int iprp_hooks_for_roles(u32 roles);
int iprp_hooks_set(struct net *net, unsigned int want);

/* route.c */
int iprp_route_translated(struct net *net, struct sock *sk, struct sk_buff *skb,
			  struct iprp_route __rcu **slot);

/* bench.c */
extern bool iprp_bench_mode;
const struct nf_hook_ops *iprp_bench_hook_ops(unsigned int *n);
void iprp_bench_zero(struct iprp_net *in);
unsigned int iprp_bench_tick(struct iprp_net *in, void *state);
int iprp_bench_put_stats(struct iprp_net *in, iprp_stat_fn put, void *ctx);

/* Registration (module.c calls these in order, and undoes them). */
int iprp_pernet_register(void);
void iprp_pernet_unregister(void);
int iprp_proto_register(void);
void iprp_proto_unregister(void);
int iprp_genl_register(void);
void iprp_genl_unregister(void);

#endif /* _IPRP_GLUE_H */
