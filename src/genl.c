// SPDX-License-Identifier: GPL-2.0
/*
 * The generic-netlink family "iprp": its registration, and the helpers
 * Rust needs to read requests and build replies (static inlines and
 * structure fields bindgen cannot reach). The policies and the ops table
 * are generated from the YNL spec (netlink-gen.c); the handlers they name,
 * iprp_nl_<cmd>_doit/_dumpit, are Rust (src/nl.rs and its users).
 */

#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "glue.h"
#include "netlink-gen.h"

/*
 * The multicast groups, from the generated names. The generator writes its
 * own list only into a family structure it generates, which it does not
 * for a genetlink-legacy family such as this one.
 */
static const struct genl_multicast_group iprp_nl_family_mcgrps[] = {
	[IPRP_NLGRP_EVENTS] = { .name = IPRP_MCGRP_EVENTS, },
};

static struct genl_family iprp_nl_family __ro_after_init = {
	.name		= IPRP_GENL_NAME,
	.version	= IPRP_GENL_VERSION,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.split_ops	= iprp_nl_ops,
	.n_split_ops	= ARRAY_SIZE(iprp_nl_ops),
	.resv_start_op	= IPRP_CMD_MAX + 1,
	.mcgrps		= iprp_nl_family_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(iprp_nl_family_mcgrps),
};

int iprp_genl_register(void)
{
	return genl_register_family(&iprp_nl_family);
}

void iprp_genl_unregister(void)
{
	genl_unregister_family(&iprp_nl_family);
}

/* Requests */

/*
 * The attributes genetlink parsed for a doit: info->attrs has the op's
 * maxattr + 1 entries, and genl_info does not say how many, so it is read
 * from the generated ops table.
 */
const struct nlattr *const *iprp_nl_do_attrs(const struct genl_info *info,
					     u32 *maxattr)
{
	int i;

	*maxattr = 0;
	for (i = 0; i < ARRAY_SIZE(iprp_nl_ops); i++) {
		const struct genl_split_ops *op = &iprp_nl_ops[i];

		if (op->cmd == info->genlhdr->cmd && (op->flags & GENL_CMD_CAP_DO)) {
			if (info->attrs)
				*maxattr = op->maxattr;
			return (const struct nlattr *const *)info->attrs;
		}
	}
	return NULL;
}

/* The request of a dump and its attributes (@maxattr as above). */
const struct genl_info *iprp_nl_dump_info(struct netlink_callback *cb,
					  const struct nlattr *const **attrs,
					  u32 *maxattr)
{
	const struct genl_dumpit_info *d = genl_dumpit_info(cb);

	*attrs = (const struct nlattr *const *)d->info.attrs;
	*maxattr = d->info.attrs ? d->op.maxattr : 0;
	return &d->info;
}

void *iprp_nl_state(const struct genl_info *info)
{
	return iprp_state(genl_info_net(info));
}


u16 iprp_nl_flags(const struct genl_info *info)
{
	return info->nlhdr->nlmsg_flags;
}

/* @msg must be a static string: extack keeps the pointer. */
void iprp_nl_set_err_msg(const struct genl_info *info, const char *msg)
{
	if (info->extack)
		info->extack->_msg = msg;
}

void iprp_nl_set_attr_missing(const struct genl_info *info, u32 type)
{
	NL_SET_ERR_ATTR_MISS(info->extack, NULL, type);
}

/* Replies */

/* A reply to @info of @size bytes of attributes (0: NLMSG_GOODSIZE). */
struct sk_buff *iprp_nl_reply_new(struct genl_info *info, size_t size, u8 cmd,
				  void **hdr)
{
	struct sk_buff *msg = genlmsg_new(size ?: NLMSG_GOODSIZE, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put_reply(msg, info, &iprp_nl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Sends the reply and frees it. */
int iprp_nl_reply_send(struct genl_info *info, struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

void iprp_nl_msg_free(struct sk_buff *msg)
{
	nlmsg_free(msg);
}

/* One message of a dump; NULL when @skb is full. */
void *iprp_nl_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &iprp_nl_family, NLM_F_MULTI, cmd);
}

void iprp_nl_msg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void iprp_nl_msg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

void *iprp_nl_skb_state(const struct sk_buff *skb)
{
	return iprp_state(sock_net(skb->sk));
}

unsigned int iprp_nl_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

/* A dump's position, kept between its calls. */
u64 iprp_nl_dump_pos(const struct netlink_callback *cb)
{
	return cb->args[0];
}

void iprp_nl_dump_set_pos(struct netlink_callback *cb, u64 pos)
{
	cb->args[0] = pos;
}

int iprp_nl_put(struct sk_buff *skb, int type, int len, const void *data)
{
	return nla_put(skb, type, len, data);
}

int iprp_nl_put_u64(struct sk_buff *skb, int type, u64 value, int padattr)
{
	return nla_put_u64_64bit(skb, type, value, padattr);
}

struct nlattr *iprp_nl_nest_start(struct sk_buff *skb, int type)
{
	return nla_nest_start(skb, type);
}

void iprp_nl_nest_end(struct sk_buff *skb, struct nlattr *nest)
{
	nla_nest_end(skb, nest);
}

/* Event notifications, sent from any context */

bool iprp_nl_listening(struct net *net)
{
	return genl_has_listeners(&iprp_nl_family, net, IPRP_NLGRP_EVENTS);
}

/* The event command has 11 attributes of at most 4 bytes each. */
#define IPRP_EVENT_PAYLOAD (11 * nla_total_size(sizeof(u32)))

/* An event message to fill; NULL without memory. */
struct sk_buff *iprp_nl_event_new(void **hdr)
{
	struct sk_buff *msg = genlmsg_new(IPRP_EVENT_PAYLOAD, GFP_ATOMIC);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &iprp_nl_family, 0, IPRP_CMD_EVENT);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Sends the event message to @net's events group and frees it. */
int iprp_nl_event_send(struct net *net, struct sk_buff *msg, void *hdr)
{
	genlmsg_end(msg, hdr);
	return genlmsg_multicast_netns(&iprp_nl_family, net, msg, 0,
				       IPRP_NLGRP_EVENTS, GFP_ATOMIC);
}

/* What the family reports of the C side of a namespace */

/* IPv4 packets the hooks saw (per CPU, summed). */
void iprp_nl_hook_pkts(const struct genl_info *info, struct iprp_hook_pkts *sum)
{
	struct iprp_net *in = iprp_pernet(genl_info_net(info));
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct iprp_hook_pkts *p = per_cpu_ptr(in->pkts, cpu);

		sum->pre_routing += p->pre_routing;
		sum->local_out += p->local_out;
		sum->translated_in += p->translated_in;
		sum->translated_out += p->translated_out;
		sum->route_reused += p->route_reused;
		sum->route_looked_up += p->route_looked_up;
	}
}

/* Zeroes the hook packet counts and the benchmark timings. */
void iprp_nl_zero_c_counters(const struct genl_info *info)
{
	struct iprp_net *in = iprp_pernet(genl_info_net(info));
	int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(in->pkts, cpu), 0, sizeof(struct iprp_hook_pkts));
	iprp_bench_zero(in);
}

int iprp_nl_bench_stats(const struct genl_info *info, iprp_stat_fn put,
			void *ctx)
{
	return iprp_bench_put_stats(iprp_pernet(genl_info_net(info)), put, ctx);
}

bool iprp_nl_bench_mode(void)
{
	return iprp_bench_mode;
}

/*
 * The hooks a new role needs are registered before the role is on
 * (iprp_nl_hooks_add), and those no role needs any more are removed after
 * (iprp_nl_hooks_sync, which cannot fail when it only removes).
 */
int iprp_nl_hooks_add(const struct genl_info *info, u32 roles)
{
	struct net *net = genl_info_net(info);

	return iprp_hooks_set(net, iprp_pernet(net)->hooks | iprp_hooks_for_roles(roles));
}

void iprp_nl_hooks_sync(const struct genl_info *info, u32 roles)
{
	iprp_hooks_set(genl_info_net(info), iprp_hooks_for_roles(roles));
}
