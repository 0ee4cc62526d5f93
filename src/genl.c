// SPDX-License-Identifier: GPL-2.0
/* The generic-netlink family "iprp": policy, commands, replies, dumps. */

#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "../include/uapi/linux/iprp.h"
#include "glue.h"

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

	if (!iprp_bench_mode) {
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

int iprp_genl_register(void)
{
	return genl_register_family(&iprp_genl_family);
}

void iprp_genl_unregister(void)
{
	genl_unregister_family(&iprp_genl_family);
}
