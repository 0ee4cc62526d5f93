// SPDX-License-Identifier: GPL-2.0
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/timex.h>

#include "glue.h"

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
bool iprp_bench_mode;
module_param_named(bench, iprp_bench_mode, bool, 0444);
MODULE_PARM_DESC(bench, "time the hooks against an empty hook and allow BENCH_FILL (benchmarks only)");

static const char * const iprp_bench_names[IPRP_BENCH_SLOTS] = {
	"pre_routing.empty.first", "pre_routing.empty.second",
	"pre_routing.pass.first", "pre_routing.pass.second",
	"pre_routing.xlat.first", "pre_routing.xlat.second",
	"local_out.empty.first", "local_out.empty.second",
	"local_out.pass.first", "local_out.pass.second",
	"local_out.xlat.first", "local_out.xlat.second",
	"tick", "local_out.reroute",
};

/* Packet parity per CPU and hook point; kept apart from iprp's memory. */
struct iprp_bench_turn {
	u64 pre;
	u64 out;
};
static DEFINE_PER_CPU(struct iprp_bench_turn, iprp_bench_turn);

static void iprp_bench_add_dt(const struct nf_hook_state *state, int slot, u64 dt)
{
	struct iprp_bench __percpu *b = iprp_pernet(state->net)->bench;

	this_cpu_add(b->cycles[slot], dt);
	this_cpu_inc(b->pkts[slot]);
}

static void iprp_bench_add(const struct nf_hook_state *state, int slot, u64 t0)
{
	iprp_bench_add_dt(state, slot, get_cycles() - t0);
}

/*
 * Timed like the iprp hooks: the state lookup, a call into Rust with the
 * same arguments, the verdict mapping. Only the body (iprp_rs_bench_empty) does nothing.
 */
static unsigned int iprp_bench_empty(const struct nf_hook_state *state,
				     struct sk_buff *skb, int slot)
{
	u64 t0 = get_cycles();
	void *s = iprp_state(state->net);
	unsigned int v = NF_ACCEPT;

	if (s)
		v = iprp_nf_verdict(iprp_rs_bench_empty(s, skb, skb->data,
							skb_headlen(skb)),
				    skb, state, NULL);
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

/*
 * iprp_nf_local_out, timed whole; for a translated packet also the route
 * lookup of its verdict (local_out.reroute). Only a translated packet
 * reads the clock in between, so the packets of the pass rows are timed
 * exactly like the empty hook.
 */
static unsigned int iprp_nf_local_out_timed(void *priv, struct sk_buff *skb,
					    const struct nf_hook_state *state)
{
	__be32 daddr = ip_hdr(skb)->daddr;
	u64 turn = this_cpu_read(iprp_bench_turn.out);
	u64 t0 = get_cycles(), t1 = 0, t2;
	struct iprp_route __rcu **route = NULL;
	enum iprp_verdict d = iprp_nf_local_out_decide(skb, state, &route);
	bool reroute = d == IPRP_VERDICT_REROUTE_TRANSLATED;
	unsigned int v;

	if (reroute)
		t1 = get_cycles();
	v = iprp_nf_verdict(d, skb, state, route);
	t2 = get_cycles();
	if (v == NF_ACCEPT) {
		iprp_bench_add_dt(state, IPRP_BENCH_OUT +
				  iprp_bench_kind(ip_hdr(skb)->daddr != daddr, turn),
				  t2 - t0);
		if (reroute)
			iprp_bench_add_dt(state, IPRP_BENCH_REROUTE, t2 - t1);
	}
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

/* The PRE_ROUTING group (3 hooks), then the LOCAL_OUT group (3 hooks). */
const struct nf_hook_ops *iprp_bench_hook_ops(unsigned int *n)
{
	*n = ARRAY_SIZE(iprp_nf_bench_ops);
	return iprp_nf_bench_ops;
}

/* The slow timer's body, timed: cycles per tick at a table's size. */
unsigned int iprp_bench_tick(struct iprp_net *in, void *state)
{
	u64 t0 = get_cycles();
	unsigned int next = iprp_rs_tick(state);

	this_cpu_add(in->bench->cycles[IPRP_BENCH_TICK], get_cycles() - t0);
	this_cpu_inc(in->bench->pkts[IPRP_BENCH_TICK]);
	return next;
}

void iprp_bench_zero(struct iprp_net *in)
{
	int cpu;

	if (!in->bench)
		return;
	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(in->bench, cpu), 0, sizeof(struct iprp_bench));
}

/* Adds bench.<slot>.cycles / .pkts and bench.tsc_khz to a STATS nest. */
int iprp_bench_put_stats(struct iprp_net *in, iprp_stat_fn put, void *ctx)
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
