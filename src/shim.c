// SPDX-License-Identifier: GPL-2.0
/*
 * C shim of iprp.ko: owns the registrations the Rust kernel crate has no
 * abstraction for (netfilter hooks, the protocol-99 handler, pernet ops, the
 * slow timer and the generic-netlink family), the static-inline skb and
 * checksum helpers, and forwards every event to Rust.
 */

#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/timex.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/genetlink.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/protocol.h>
#include <net/inet_hashtables.h>
#include <net/route.h>
#include <net/udp.h>

#include "../include/uapi/linux/iprp.h"
#include "shim.h"

/*
 * Benchmark mode (bench=1): each iprp hook is timed in cycles, between two
 * empty hooks timed the same way, so the ratio in one boot is the cost of
 * iprp's hook body (docs/results, figures 8-10). The first hook a packet
 * meets pays for bringing the packet's and the namespace's memory close
 * (cache, and QEMU's software TLB under TCG), which under TCG costs more
 * than a short hook body. So packets alternate: on even ones the empty hook
 * before iprp's is timed (empty first, iprp second), on odd ones the empty
 * hook after it (iprp first, empty second); the other empty hook returns
 * at once without touching iprp's memory. Comparing iprp and empty in the
 * same position removes the order effect.
 */
static bool bench;
module_param(bench, bool, 0444);
MODULE_PARM_DESC(bench, "time the hooks against an empty hook and allow BENCH_FILL (benchmarks only)");

enum iprp_bench_slot {
	IPRP_BENCH_PRE,		/* + iprp_bench_kind, PRE_ROUTING */
	IPRP_BENCH_OUT = 6,	/* + iprp_bench_kind, LOCAL_OUT */
	IPRP_BENCH_SLOTS = 12,
};

enum iprp_bench_kind {
	IPRP_BENCH_EMPTY_FIRST,
	IPRP_BENCH_EMPTY_SECOND,
	IPRP_BENCH_PASS_FIRST,	/* iprp's hook, packet left unchanged */
	IPRP_BENCH_PASS_SECOND,
	IPRP_BENCH_XLAT_FIRST,	/* iprp's hook, addresses rewritten */
	IPRP_BENCH_XLAT_SECOND,
};

static const char * const iprp_bench_names[IPRP_BENCH_SLOTS] = {
	"pre_routing.empty.first", "pre_routing.empty.second",
	"pre_routing.pass.first", "pre_routing.pass.second",
	"pre_routing.xlat.first", "pre_routing.xlat.second",
	"local_out.empty.first", "local_out.empty.second",
	"local_out.pass.first", "local_out.pass.second",
	"local_out.xlat.first", "local_out.xlat.second",
};

/* Packet parity per CPU and hook point; kept apart from iprp's memory. */
struct iprp_bench_turn {
	u64 pre;
	u64 out;
};
static DEFINE_PER_CPU(struct iprp_bench_turn, iprp_bench_turn);

struct iprp_bench {
	u64 cycles[IPRP_BENCH_SLOTS];
	u64 pkts[IPRP_BENCH_SLOTS];
};

/* Packets seen by the hooks: per CPU, not a shared atomic, on the hot path. */
struct iprp_hook_pkts {
	u64 pre_routing;
	u64 local_out;
};

struct iprp_net {
	void *state;		/* Rust NetState; NULL while the netns dies */
	struct net *net;
	unsigned int hooks;	/* IPRP_HOOKS_* registered; under genl_mutex */
	struct timer_list timer;
	struct iprp_hook_pkts __percpu *pkts;
	struct iprp_bench __percpu *bench;	/* only with bench=1 */
};

static unsigned int iprp_net_id __read_mostly;

static struct iprp_net *iprp_pernet(const struct net *net)
{
	return net_generic(net, iprp_net_id);
}

static void *iprp_state(const struct net *net)
{
	return READ_ONCE(iprp_pernet(net)->state);
}

/* ---- netfilter hooks ---- */

static unsigned int iprp_nf_verdict(enum iprp_verdict v, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	int err;

	switch (v) {
	case IPRP_VERDICT_ACCEPT:
		return NF_ACCEPT;
	case IPRP_VERDICT_DROP:
		return NF_DROP;
	case IPRP_VERDICT_STOLEN:
		return NF_STOLEN;
	case IPRP_VERDICT_REROUTE:
		/* The destination changed: route again, as nf_nat does. */
		err = ip_route_me_harder(state->net, state->sk, skb, RTN_UNSPEC);
		return err ? NF_DROP_ERR(err) : NF_ACCEPT;
	}
	return NF_ACCEPT;
}

static unsigned int iprp_nf_pre_routing(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct iprp_net *in = iprp_pernet(state->net);
	void *s = READ_ONCE(in->state);

	if (!s)
		return NF_ACCEPT;
	this_cpu_inc(in->pkts->pre_routing);
	return iprp_nf_verdict(iprp_rs_pre_routing(s, skb), skb, state);
}

static unsigned int iprp_nf_local_out(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	struct iprp_net *in = iprp_pernet(state->net);
	void *s = READ_ONCE(in->state);

	if (!s)
		return NF_ACCEPT;
	this_cpu_inc(in->pkts->local_out);
	return iprp_nf_verdict(iprp_rs_local_out(s, skb), skb, state);
}

/*
 * PRE_ROUTING: after defragmentation (-400), before conntrack (-200) and
 * DNAT (-100), so conntrack and NAT see the translated tuple.
 * LOCAL_OUT: after conntrack and local DNAT (-100), before filter (0), so
 * a host's own DNAT applies first. See docs/architecture.md.
 */
#define IPRP_PRI_PRE_ROUTING	(NF_IP_PRI_CONNTRACK_DEFRAG + 1)
#define IPRP_PRI_LOCAL_OUT	(NF_IP_PRI_NAT_DST + 1)

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

/* ---- benchmark mode: the same hooks timed, and timed empty hooks ---- */

static void iprp_bench_add(const struct nf_hook_state *state, int slot, u64 t0)
{
	struct iprp_bench __percpu *b = iprp_pernet(state->net)->bench;
	u64 dt = get_cycles() - t0;

	this_cpu_add(b->cycles[slot], dt);
	this_cpu_inc(b->pkts[slot]);
}

/*
 * Timed like the iprp hooks: the state lookup, a call into Rust, the
 * verdict mapping. Only the body (iprp_rs_bench_empty) does nothing.
 */
static unsigned int iprp_bench_empty(const struct nf_hook_state *state,
				     struct sk_buff *skb, int slot)
{
	u64 t0 = get_cycles();
	void *s = iprp_state(state->net);
	unsigned int v = NF_ACCEPT;

	if (s)
		v = iprp_nf_verdict(iprp_rs_bench_empty(s, skb), skb, state);
	iprp_bench_add(state, slot, t0);
	return v;
}

static unsigned int iprp_nf_pre_routing_before(void *priv, struct sk_buff *skb,
					       const struct nf_hook_state *state)
{
	if (this_cpu_inc_return(iprp_bench_turn.pre) & 1)
		return NF_ACCEPT;	/* iprp goes first on this packet */
	return iprp_bench_empty(state, skb, IPRP_BENCH_PRE + IPRP_BENCH_EMPTY_FIRST);
}

static unsigned int iprp_nf_pre_routing_after(void *priv, struct sk_buff *skb,
					      const struct nf_hook_state *state)
{
	if (!(this_cpu_read(iprp_bench_turn.pre) & 1))
		return NF_ACCEPT;
	return iprp_bench_empty(state, skb, IPRP_BENCH_PRE + IPRP_BENCH_EMPTY_SECOND);
}

static unsigned int iprp_nf_local_out_before(void *priv, struct sk_buff *skb,
					     const struct nf_hook_state *state)
{
	if (this_cpu_inc_return(iprp_bench_turn.out) & 1)
		return NF_ACCEPT;
	return iprp_bench_empty(state, skb, IPRP_BENCH_OUT + IPRP_BENCH_EMPTY_FIRST);
}

static unsigned int iprp_nf_local_out_after(void *priv, struct sk_buff *skb,
					    const struct nf_hook_state *state)
{
	if (!(this_cpu_read(iprp_bench_turn.out) & 1))
		return NF_ACCEPT;
	return iprp_bench_empty(state, skb, IPRP_BENCH_OUT + IPRP_BENCH_EMPTY_SECOND);
}

/* PASS_FIRST/XLAT_FIRST when iprp's hook is the first timed on this packet. */
static int iprp_bench_kind(bool xlat, u64 turn)
{
	return (xlat ? IPRP_BENCH_XLAT_FIRST : IPRP_BENCH_PASS_FIRST) + !(turn & 1);
}

static unsigned int iprp_nf_pre_routing_timed(void *priv, struct sk_buff *skb,
					      const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	__be32 saddr = iph->saddr, daddr = iph->daddr;
	u64 turn = this_cpu_read(iprp_bench_turn.pre);
	u64 t0 = get_cycles();
	unsigned int v = iprp_nf_pre_routing(priv, skb, state);

	/* A stolen or dropped skb is not ours to look at any more. */
	if (v == NF_ACCEPT) {
		iph = ip_hdr(skb);
		iprp_bench_add(state, IPRP_BENCH_PRE +
			       iprp_bench_kind(iph->saddr != saddr || iph->daddr != daddr, turn),
			       t0);
	}
	return v;
}

static unsigned int iprp_nf_local_out_timed(void *priv, struct sk_buff *skb,
					    const struct nf_hook_state *state)
{
	__be32 daddr = ip_hdr(skb)->daddr;
	u64 turn = this_cpu_read(iprp_bench_turn.out);
	u64 t0 = get_cycles();
	unsigned int v = iprp_nf_local_out(priv, skb, state);

	if (v == NF_ACCEPT)
		iprp_bench_add(state, IPRP_BENCH_OUT +
			       iprp_bench_kind(ip_hdr(skb)->daddr != daddr, turn), t0);
	return v;
}

/*
 * An empty hook just before and just after each iprp hook. PRE_ROUTING's
 * -399 leaves no room before it, so there the iprp hook moves to -398
 * (still after defragmentation, before conntrack) in benchmark mode.
 */
static const struct nf_hook_ops iprp_nf_bench_ops[] = {
	{
		.hook		= iprp_nf_pre_routing_before,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= IPRP_PRI_PRE_ROUTING,
	},
	{
		.hook		= iprp_nf_pre_routing_timed,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= IPRP_PRI_PRE_ROUTING + 1,
	},
	{
		.hook		= iprp_nf_pre_routing_after,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= IPRP_PRI_PRE_ROUTING + 2,
	},
	{
		.hook		= iprp_nf_local_out_before,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= IPRP_PRI_LOCAL_OUT - 1,
	},
	{
		.hook		= iprp_nf_local_out_timed,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= IPRP_PRI_LOCAL_OUT,
	},
	{
		.hook		= iprp_nf_local_out_after,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= IPRP_PRI_LOCAL_OUT + 1,
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

	if (bench) {
		ops = iprp_nf_bench_ops;
		total = ARRAY_SIZE(iprp_nf_bench_ops);
	}
	/* Both arrays hold the PRE_ROUTING group, then the LOCAL_OUT group. */
	*n = total / 2;
	return group == IPRP_HOOKS_PRE_ROUTING ? ops : ops + total / 2;
}

static unsigned int iprp_hooks_for_roles(u32 roles)
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
static int iprp_hooks_set(struct net *net, unsigned int want)
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

static void iprp_bench_zero(struct iprp_net *in)
{
	int cpu;

	if (!in->bench)
		return;
	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(in->bench, cpu), 0, sizeof(struct iprp_bench));
}

/* Adds bench.<slot>.cycles / .pkts and bench.tsc_khz to a STATS nest. */
static int iprp_bench_put_stats(struct iprp_net *in, iprp_stat_fn put, void *ctx)
{
	struct iprp_bench sum = {};
	char name[64];
	int cpu, i;

	if (!in->bench)
		return 0;
	for_each_possible_cpu(cpu) {
		const struct iprp_bench *b = per_cpu_ptr(in->bench, cpu);

		for (i = 0; i < IPRP_BENCH_SLOTS; i++) {
			sum.cycles[i] += b->cycles[i];
			sum.pkts[i] += b->pkts[i];
		}
	}
	for (i = 0; i < IPRP_BENCH_SLOTS; i++) {
		snprintf(name, sizeof(name), "bench.%s.cycles", iprp_bench_names[i]);
		if (put(ctx, name, sum.cycles[i]))
			return -EMSGSIZE;
		snprintf(name, sizeof(name), "bench.%s.pkts", iprp_bench_names[i]);
		if (put(ctx, name, sum.pkts[i]))
			return -EMSGSIZE;
	}
#ifdef CONFIG_X86
	if (put(ctx, "bench.tsc_khz", tsc_khz))
		return -EMSGSIZE;
#endif
	return 0;
}

/* ---- protocol 99 ---- */

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

/* ---- slow timer ---- */

static void iprp_timer_fn(struct timer_list *t)
{
	struct iprp_net *in = timer_container_of(in, t, timer);
	void *s = READ_ONCE(in->state);
	unsigned int next;

	if (!s)
		return;
	next = iprp_rs_tick(s);
	if (next)
		mod_timer(&in->timer, jiffies + msecs_to_jiffies(next));
}

/* Starts the slow timer unless it is already pending. */
void iprp_shim_timer_start(struct net *net, unsigned int ms)
{
	struct iprp_net *in = iprp_pernet(net);

	if (!timer_pending(&in->timer))
		mod_timer(&in->timer, jiffies + msecs_to_jiffies(ms));
}

/* ---- pernet ---- */

static int __net_init iprp_net_init(struct net *net)
{
	struct iprp_net *in = iprp_pernet(net);
	void *s;
	int err;

	in->net = net;
	timer_setup(&in->timer, iprp_timer_fn, 0);
	in->pkts = alloc_percpu(struct iprp_hook_pkts);
	if (!in->pkts)
		return -ENOMEM;
	if (bench) {
		in->bench = alloc_percpu(struct iprp_bench);
		if (!in->bench) {
			err = -ENOMEM;
			goto err_bench;
		}
	}
	s = iprp_rs_net_init(net);
	if (!s) {
		err = -ENOMEM;
		goto err_bench;
	}
	in->hooks = 0;
	WRITE_ONCE(in->state, s);
	return 0;

err_bench:
	free_percpu(in->bench);
	in->bench = NULL;
	free_percpu(in->pkts);
	in->pkts = NULL;
	return err;
}

static void __net_exit iprp_net_exit(struct net *net)
{
	struct iprp_net *in = iprp_pernet(net);
	void *s = in->state;

	iprp_hooks_set(net, 0);
	/* Packets may still reach the protocol handler while devices go. */
	WRITE_ONCE(in->state, NULL);
	synchronize_net();
	timer_shutdown_sync(&in->timer);
	iprp_rs_net_exit(s);
	free_percpu(in->bench);
	in->bench = NULL;
	free_percpu(in->pkts);
	in->pkts = NULL;
}

static struct pernet_operations iprp_net_ops = {
	.init	= iprp_net_init,
	.exit	= iprp_net_exit,
	.id	= &iprp_net_id,
	.size	= sizeof(struct iprp_net),
};

/* ---- generic netlink ---- */

static struct genl_family iprp_genl_family;

static const struct netlink_range_validation iprp_response_range = {
	.min = 10, .max = 3600000,
};
static const struct netlink_range_validation iprp_idle_range = {
	.min = 100, .max = 86400000,
};
static const struct netlink_range_validation iprp_weight_range = {
	.min = 0, .max = 65535,
};
static const struct netlink_range_validation iprp_capacity_range = {
	.min = 16, .max = 1 << 22,
};

static const struct netlink_range_validation iprp_tick_range = {
	.min = 50, .max = 10000,
};
static const struct netlink_range_validation iprp_checking_range = {
	.min = 100, .max = 60000,
};
static const struct netlink_range_validation iprp_max_held_range = {
	.min = 0, .max = 1 << 20,
};

static const struct nla_policy iprp_genl_policy[IPRP_A_MAX + 1] = {
	[IPRP_A_ROLE]		  = NLA_POLICY_MAX(NLA_U32, IPRP_ROLE_CLIENT | IPRP_ROLE_REDIRECTOR),
	[IPRP_A_PROTO]		  = { .type = NLA_U8 },
	[IPRP_A_VIP]		  = { .type = NLA_U32 },
	[IPRP_A_PORT]		  = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_SCHED]		  = NLA_POLICY_MAX(NLA_U8, IPRP_SCHED_MH),
	[IPRP_A_RESPONSE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_response_range),
	[IPRP_A_IDLE_TIMEOUT]	  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_idle_range),
	[IPRP_A_REPLICA_ADDR]	  = { .type = NLA_U32 },
	[IPRP_A_WEIGHT]		  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_weight_range),
	[IPRP_A_UP]		  = NLA_POLICY_MAX(NLA_U8, 1),
	[IPRP_A_CAPACITY]	  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_capacity_range),
	[IPRP_A_PEER]		  = { .type = NLA_U32 },
	[IPRP_A_TICK]		  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_tick_range),
	[IPRP_A_CHECKING_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_checking_range),
	[IPRP_A_MAX_HELD]	  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_max_held_range),
	[IPRP_A_CLIENT_CAPACITY]  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_capacity_range),
	[IPRP_A_REDIR_CAPACITY]	  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_capacity_range),
	[IPRP_A_COUNT]		  = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_capacity_range),
};

static int iprp_put_counters(struct sk_buff *msg, struct iprp_net *in)
{
	u64 ctr[__IPRP_CTR_MAX] = {};
	struct nlattr *nest;
	int i, cpu;

	iprp_rs_counters(in->state, ctr, ARRAY_SIZE(ctr));
	for_each_possible_cpu(cpu) {
		const struct iprp_hook_pkts *p = per_cpu_ptr(in->pkts, cpu);

		ctr[IPRP_CTR_PRE_ROUTING_PKTS] += p->pre_routing;
		ctr[IPRP_CTR_LOCAL_OUT_PKTS] += p->local_out;
	}
	nest = nla_nest_start(msg, IPRP_A_COUNTERS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i < __IPRP_CTR_MAX; i++)
		if (nla_put_u64_64bit(msg, i, ctr[i], 0))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int iprp_put_stat(void *ctx, const char *name, u64 value)
{
	struct sk_buff *msg = ctx;
	struct nlattr *stat = nla_nest_start(msg, IPRP_A_STAT);

	if (!stat || nla_put_string(msg, IPRP_A_STAT_NAME, name) ||
	    nla_put_u64_64bit(msg, IPRP_A_STAT_VALUE, value, IPRP_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, stat);
	return 0;
}

/* Adds the size iprp_put_stat() will take for one statistic. */
static int iprp_size_stat(void *ctx, const char *name, u64 value)
{
	size_t *len = ctx;

	*len += nla_total_size(nla_total_size(strlen(name) + 1) +
			       nla_total_size_64bit(sizeof(u64)));
	return 0;
}

/*
 * The u32 attributes iprp_cmd_get_status() puts: ROLE, TICK,
 * CHECKING_TIMEOUT, MAX_HELD and, when set, CLIENT_CAPACITY,
 * REDIR_CAPACITY, IDLE_TIMEOUT. Keep the two in step.
 */
#define IPRP_STATUS_U32_ATTRS 7

/*
 * The status reply's size: the list of statistics grows with the code, so
 * it is counted by walking the statistics as the reply will.
 */
static size_t iprp_status_size(void *state, struct iprp_net *in)
{
	size_t len = nla_total_size(strlen(iprp_rs_version()) + 1) +
		     IPRP_STATUS_U32_ATTRS * nla_total_size(sizeof(u32)) +
		     nla_total_size(__IPRP_CTR_MAX *
				    nla_total_size_64bit(sizeof(u64))) +
		     nla_total_size(0);

	iprp_rs_stats(state, iprp_size_stat, &len);
	iprp_bench_put_stats(in, iprp_size_stat, &len);
	return len;
}

static int iprp_cmd_get_status(struct sk_buff *skb, struct genl_info *info)
{
	void *state = iprp_state(genl_info_net(info));
	struct iprp_params params;
	struct nlattr *stats;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(iprp_status_size(state, iprp_pernet(genl_info_net(info))),
			  GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &iprp_genl_family, 0,
				IPRP_CMD_GET_STATUS);
	if (!hdr)
		goto nospace;
	iprp_rs_get_params(state, &params);
	/* IPRP_STATUS_U32_ATTRS counts the u32 attributes put here. */
	if (nla_put_string(msg, IPRP_A_VERSION, iprp_rs_version()) ||
	    nla_put_u32(msg, IPRP_A_ROLE, iprp_rs_role(state)) ||
	    nla_put_u32(msg, IPRP_A_TICK, params.tick_ms) ||
	    nla_put_u32(msg, IPRP_A_CHECKING_TIMEOUT, params.checking_timeout_ms) ||
	    nla_put_u32(msg, IPRP_A_MAX_HELD, params.max_held) ||
	    (params.client_capacity &&
	     nla_put_u32(msg, IPRP_A_CLIENT_CAPACITY, params.client_capacity)) ||
	    (params.redir_capacity &&
	     nla_put_u32(msg, IPRP_A_REDIR_CAPACITY, params.redir_capacity)) ||
	    (params.client_idle_ms &&
	     nla_put_u32(msg, IPRP_A_IDLE_TIMEOUT, params.client_idle_ms)) ||
	    iprp_put_counters(msg, iprp_pernet(genl_info_net(info))))
		goto nospace;
	stats = nla_nest_start(msg, IPRP_A_STATS);
	if (!stats || iprp_rs_stats(state, iprp_put_stat, msg) ||
	    iprp_bench_put_stats(iprp_pernet(genl_info_net(info)), iprp_put_stat, msg))
		goto nospace;
	nla_nest_end(msg, stats);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* Decodes the attributes a configuration command may carry. */
static void iprp_cfg_from_attrs(struct genl_info *info, struct iprp_cfg *cfg)
{
	struct nlattr **a = info->attrs;

	memset(cfg, 0, sizeof(*cfg));
	if (info->nlhdr->nlmsg_flags & NLM_F_REPLACE)
		cfg->flags |= IPRP_CFG_REPLACE;
	if (a[IPRP_A_ROLE]) {
		cfg->role = nla_get_u32(a[IPRP_A_ROLE]);
		cfg->flags |= IPRP_CFG_HAS_ROLE;
	}
	if (a[IPRP_A_CAPACITY])
		cfg->capacity = nla_get_u32(a[IPRP_A_CAPACITY]);
	if (a[IPRP_A_CLIENT_CAPACITY])
		cfg->client_capacity = nla_get_u32(a[IPRP_A_CLIENT_CAPACITY]);
	if (a[IPRP_A_REDIR_CAPACITY])
		cfg->redir_capacity = nla_get_u32(a[IPRP_A_REDIR_CAPACITY]);
	if (a[IPRP_A_PROTO])
		cfg->proto = nla_get_u8(a[IPRP_A_PROTO]);
	if (a[IPRP_A_VIP])
		cfg->vip = nla_get_in_addr(a[IPRP_A_VIP]);
	if (a[IPRP_A_PORT])
		cfg->port = nla_get_u16(a[IPRP_A_PORT]);
	if (a[IPRP_A_REPLICA_ADDR])
		cfg->replica = nla_get_in_addr(a[IPRP_A_REPLICA_ADDR]);
	if (a[IPRP_A_SCHED]) {
		cfg->sched = nla_get_u8(a[IPRP_A_SCHED]);
		cfg->has_sched = 1;
	}
	if (a[IPRP_A_RESPONSE_TIMEOUT]) {
		cfg->response_timeout_ms = nla_get_u32(a[IPRP_A_RESPONSE_TIMEOUT]);
		cfg->has_response_timeout = 1;
	}
	if (a[IPRP_A_IDLE_TIMEOUT]) {
		cfg->idle_timeout_ms = nla_get_u32(a[IPRP_A_IDLE_TIMEOUT]);
		cfg->has_idle_timeout = 1;
	}
	if (a[IPRP_A_WEIGHT]) {
		cfg->weight = nla_get_u32(a[IPRP_A_WEIGHT]);
		cfg->has_weight = 1;
	}
	if (a[IPRP_A_UP]) {
		cfg->up = nla_get_u8(a[IPRP_A_UP]);
		cfg->has_up = 1;
	}
}

/* The service key (PROTO, VIP, PORT) every service command needs. */
static bool iprp_svc_attrs_missing(struct genl_info *info)
{
	return GENL_REQ_ATTR_CHECK(info, IPRP_A_PROTO) ||
	       GENL_REQ_ATTR_CHECK(info, IPRP_A_VIP) ||
	       GENL_REQ_ATTR_CHECK(info, IPRP_A_PORT);
}

typedef int (*iprp_cfg_fn)(void *state, const struct iprp_cfg *cfg, const char **msg);

static int iprp_cfg_call(struct genl_info *info, iprp_cfg_fn fn)
{
	const char *msg = NULL;
	struct iprp_cfg cfg;
	int err;

	iprp_cfg_from_attrs(info, &cfg);
	err = fn(iprp_state(genl_info_net(info)), &cfg, &msg);
	/* Rust's messages are static strings, as extack requires. */
	if (err && msg && info->extack)
		info->extack->_msg = msg;
	return err;
}

/*
 * The hooks a new role needs are registered before the role is on, and
 * those no role needs any more are removed after; if either step fails,
 * the hooks match the roles still in force.
 */
static int iprp_cmd_set_role(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct iprp_net *in = iprp_pernet(net);
	u32 roles;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, IPRP_A_ROLE))
		return -EINVAL;
	roles = nla_get_u32(info->attrs[IPRP_A_ROLE]);
	err = iprp_hooks_set(net, in->hooks | iprp_hooks_for_roles(roles));
	if (!err)
		err = iprp_cfg_call(info, iprp_rs_set_role);
	/* Removing hooks cannot fail. */
	iprp_hooks_set(net, iprp_hooks_for_roles(iprp_rs_role(in->state)));
	return err;
}

static int iprp_cmd_new_service(struct sk_buff *skb, struct genl_info *info)
{
	if (iprp_svc_attrs_missing(info))
		return -EINVAL;
	return iprp_cfg_call(info, iprp_rs_new_service);
}

static int iprp_cmd_del_service(struct sk_buff *skb, struct genl_info *info)
{
	if (iprp_svc_attrs_missing(info))
		return -EINVAL;
	return iprp_cfg_call(info, iprp_rs_del_service);
}

static int iprp_cmd_set_replica(struct sk_buff *skb, struct genl_info *info)
{
	if (iprp_svc_attrs_missing(info) ||
	    GENL_REQ_ATTR_CHECK(info, IPRP_A_REPLICA_ADDR))
		return -EINVAL;
	return iprp_cfg_call(info, iprp_rs_set_replica);
}

static int iprp_cmd_del_replica(struct sk_buff *skb, struct genl_info *info)
{
	if (iprp_svc_attrs_missing(info) ||
	    GENL_REQ_ATTR_CHECK(info, IPRP_A_REPLICA_ADDR))
		return -EINVAL;
	return iprp_cfg_call(info, iprp_rs_del_replica);
}

static int iprp_cmd_set_params(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct iprp_params p = {};
	const char *msg = NULL;
	int err;

	if (a[IPRP_A_TICK]) {
		p.tick_ms = nla_get_u32(a[IPRP_A_TICK]);
		p.has |= 1;
	}
	if (a[IPRP_A_CHECKING_TIMEOUT]) {
		p.checking_timeout_ms = nla_get_u32(a[IPRP_A_CHECKING_TIMEOUT]);
		p.has |= 2;
	}
	if (a[IPRP_A_MAX_HELD]) {
		p.max_held = nla_get_u32(a[IPRP_A_MAX_HELD]);
		p.has |= 4;
	}
	if (!p.has) {
		NL_SET_ERR_MSG(info->extack, "no parameter given (TICK, CHECKING_TIMEOUT, MAX_HELD)");
		return -EINVAL;
	}
	err = iprp_rs_set_params(iprp_state(genl_info_net(info)), &p, &msg);
	if (err && msg && info->extack)
		info->extack->_msg = msg;
	return err;
}

static int iprp_cmd_zero_counters(struct sk_buff *skb, struct genl_info *info)
{
	struct iprp_net *in = iprp_pernet(genl_info_net(info));
	int cpu;

	iprp_rs_zero_counters(in->state);
	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(in->pkts, cpu), 0, sizeof(struct iprp_hook_pkts));
	iprp_bench_zero(in);
	return 0;
}

static int iprp_cmd_bench_fill(struct sk_buff *skb, struct genl_info *info)
{
	const char *msg = NULL;
	int err;

	if (!bench) {
		NL_SET_ERR_MSG(info->extack, "benchmark fill needs iprp loaded with bench=1");
		return -EOPNOTSUPP;
	}
	if (GENL_REQ_ATTR_CHECK(info, IPRP_A_COUNT))
		return -EINVAL;
	err = iprp_rs_bench_fill(iprp_state(genl_info_net(info)),
				 nla_get_u32(info->attrs[IPRP_A_COUNT]), &msg);
	if (err && msg && info->extack)
		info->extack->_msg = msg;
	return err;
}

static int iprp_cmd_flush(struct sk_buff *skb, struct genl_info *info)
{
	return iprp_cfg_call(info, iprp_rs_flush);
}

struct iprp_dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u8 cmd;
};

static int iprp_put_row(void *ctx, const struct iprp_row *row)
{
	struct iprp_dump_ctx *d = ctx;
	void *hdr;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &iprp_genl_family,
			  NLM_F_MULTI, d->cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_in_addr(d->skb, IPRP_A_PEER, row->peer) ||
	    (row->vip && nla_put_in_addr(d->skb, IPRP_A_VIP, row->vip)) ||
	    nla_put_in_addr(d->skb, IPRP_A_REPLICA_ADDR, row->replica) ||
	    nla_put_u8(d->skb, IPRP_A_PROTO, row->proto) ||
	    nla_put_u16(d->skb, IPRP_A_CPORT, row->cport) ||
	    nla_put_u16(d->skb, IPRP_A_PORT, row->port) ||
	    nla_put_u8(d->skb, IPRP_A_STATE, row->state) ||
	    nla_put_u32(d->skb, IPRP_A_AGE, row->age_ms)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

/* The dump request's attributes, parsed by genl with the family policy. */
static void iprp_filter_from_dump(struct netlink_callback *cb,
				  struct iprp_filter *f)
{
	struct nlattr **a = genl_info_dump(cb)->attrs;

	memset(f, 0, sizeof(*f));
	if (!a)
		return;
	if (a[IPRP_A_PROTO] && a[IPRP_A_VIP] && a[IPRP_A_PORT]) {
		f->has_service = 1;
		f->proto = nla_get_u8(a[IPRP_A_PROTO]);
		f->vip = nla_get_in_addr(a[IPRP_A_VIP]);
		f->port = nla_get_u16(a[IPRP_A_PORT]);
	}
	if (a[IPRP_A_PEER]) {
		f->has_peer = 1;
		f->peer = nla_get_in_addr(a[IPRP_A_PEER]);
	}
}

static int iprp_dump_rows(struct sk_buff *skb, struct netlink_callback *cb,
			  u8 cmd,
			  int (*dump)(void *, const struct iprp_filter *, u64 *,
				      iprp_row_fn, void *))
{
	struct iprp_dump_ctx d = { .skb = skb, .cb = cb, .cmd = cmd };
	u64 pos = cb->args[0];
	struct iprp_filter f;
	int err;

	iprp_filter_from_dump(cb, &f);
	err = dump(iprp_state(sock_net(skb->sk)), &f, &pos, iprp_put_row, &d);
	cb->args[0] = pos;
	if (err && err != -EMSGSIZE)
		return err;
	return skb->len;
}

static int iprp_put_svc(void *ctx, const struct iprp_svc_row *row)
{
	struct iprp_dump_ctx *d = ctx;
	struct nlattr *list, *rep, *stats;
	void *hdr;
	u32 i;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &iprp_genl_family,
			  NLM_F_MULTI, IPRP_CMD_GET_SERVICE);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u8(d->skb, IPRP_A_PROTO, row->proto) ||
	    nla_put_in_addr(d->skb, IPRP_A_VIP, row->vip) ||
	    nla_put_u16(d->skb, IPRP_A_PORT, row->port) ||
	    nla_put_u8(d->skb, IPRP_A_SCHED, row->sched) ||
	    nla_put_u32(d->skb, IPRP_A_RESPONSE_TIMEOUT, row->response_timeout_ms) ||
	    nla_put_u32(d->skb, IPRP_A_IDLE_TIMEOUT, row->idle_timeout_ms))
		goto cancel;
	list = nla_nest_start(d->skb, IPRP_A_REPLICAS);
	if (!list)
		goto cancel;
	for (i = 0; i < row->n_replicas && i < ARRAY_SIZE(row->replicas); i++) {
		rep = nla_nest_start(d->skb, IPRP_A_REPLICA);
		if (!rep ||
		    nla_put_in_addr(d->skb, IPRP_A_REPLICA_ADDR, row->replicas[i].addr) ||
		    nla_put_u32(d->skb, IPRP_A_WEIGHT, row->replicas[i].weight) ||
		    nla_put_u8(d->skb, IPRP_A_UP, row->replicas[i].up) ||
		    nla_put_u32(d->skb, IPRP_A_CONNS, row->replicas[i].conns) ||
		    nla_put_u64_64bit(d->skb, IPRP_A_ASSIGNED,
				      row->replicas[i].assigned, IPRP_A_PAD))
			goto cancel;
		nla_nest_end(d->skb, rep);
	}
	nla_nest_end(d->skb, list);
	stats = nla_nest_start(d->skb, IPRP_A_STATS);
	if (!stats)
		goto cancel;
	for (i = 0; i < row->n_stats && i < ARRAY_SIZE(row->stats); i++)
		if (iprp_put_stat(d->skb, row->stats[i].name, row->stats[i].value))
			goto cancel;
	nla_nest_end(d->skb, stats);
	genlmsg_end(d->skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(d->skb, hdr);
	return -EMSGSIZE;
}

static int iprp_cmd_get_service(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct iprp_dump_ctx d = { .skb = skb, .cb = cb };
	u64 pos = cb->args[0];
	int err;

	err = iprp_rs_dump_services(iprp_state(sock_net(skb->sk)), &pos,
				    iprp_put_svc, &d);
	cb->args[0] = pos;
	if (err && err != -EMSGSIZE)
		return err;
	return skb->len;
}

static int iprp_cmd_get_binding(struct sk_buff *skb, struct netlink_callback *cb)
{
	return iprp_dump_rows(skb, cb, IPRP_CMD_GET_BINDING, iprp_rs_dump_bindings);
}

static int iprp_cmd_get_flow(struct sk_buff *skb, struct netlink_callback *cb)
{
	return iprp_dump_rows(skb, cb, IPRP_CMD_GET_FLOW, iprp_rs_dump_flows);
}

static const struct genl_small_ops iprp_genl_ops[] = {
	{
		.cmd	= IPRP_CMD_GET_STATUS,
		.doit	= iprp_cmd_get_status,
	},
	{
		.cmd	= IPRP_CMD_SET_ROLE,
		.doit	= iprp_cmd_set_role,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_NEW_SERVICE,
		.doit	= iprp_cmd_new_service,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_DEL_SERVICE,
		.doit	= iprp_cmd_del_service,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_SET_REPLICA,
		.doit	= iprp_cmd_set_replica,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_DEL_REPLICA,
		.doit	= iprp_cmd_del_replica,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_FLUSH,
		.doit	= iprp_cmd_flush,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_GET_SERVICE,
		.dumpit	= iprp_cmd_get_service,
	},
	{
		.cmd	= IPRP_CMD_SET_PARAMS,
		.doit	= iprp_cmd_set_params,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_ZERO_COUNTERS,
		.doit	= iprp_cmd_zero_counters,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_GET_BINDING,
		.dumpit	= iprp_cmd_get_binding,
	},
	{
		.cmd	= IPRP_CMD_BENCH_FILL,
		.doit	= iprp_cmd_bench_fill,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= IPRP_CMD_GET_FLOW,
		.dumpit	= iprp_cmd_get_flow,
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
 * both hooks. Returns 0, or -1 if the packet is not one we translate.
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

/* Rust mirrors these structures field by field (src/shim.rs). */
static_assert(sizeof(struct iprp_pkt) == 16);
static_assert(sizeof(struct iprp_cfg) == 52);
static_assert(sizeof(struct iprp_row) == 24);
static_assert(sizeof(struct iprp_svc_row) == 536);
static_assert(sizeof(struct iprp_filter) == 16);
static_assert(sizeof(struct iprp_params) == 28);
