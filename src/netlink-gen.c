// SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
/* Do not edit directly, auto-generated from: */
/*	include/uapi/linux/iprp.yaml */
/* YNL-GEN kernel source */
/* To regenerate run: make ynl-gen */

#include <net/netlink.h>
#include <net/genetlink.h>

#include "netlink-gen.h"

#include <uapi/linux/iprp.h>

/* Integer value ranges */
static const struct netlink_range_validation iprp_a_response_timeout_range = {
	.min	= 10ULL,
	.max	= 3600000ULL,
};

static const struct netlink_range_validation iprp_a_idle_timeout_range = {
	.min	= 100ULL,
	.max	= 86400000ULL,
};

static const struct netlink_range_validation iprp_a_weight_range = {
	.max	= U16_MAX,
};

static const struct netlink_range_validation iprp_a_capacity_range = {
	.min	= 16ULL,
	.max	= 4194304ULL,
};

static const struct netlink_range_validation iprp_a_checking_timeout_range = {
	.min	= 100ULL,
	.max	= 60000ULL,
};

static const struct netlink_range_validation iprp_a_max_held_range = {
	.max	= 1048576ULL,
};

static const struct netlink_range_validation iprp_a_client_capacity_range = {
	.min	= 16ULL,
	.max	= 4194304ULL,
};

static const struct netlink_range_validation iprp_a_redir_capacity_range = {
	.min	= 16ULL,
	.max	= 4194304ULL,
};

static const struct netlink_range_validation iprp_a_count_range = {
	.min	= 16ULL,
	.max	= 4194304ULL,
};

static const struct netlink_range_validation iprp_a_grant_range = {
	.max	= 86400ULL,
};

static const struct netlink_range_validation iprp_a_legacy_capacity_range = {
	.min	= 4ULL,
	.max	= 65536ULL,
};

static const struct netlink_range_validation iprp_a_legacy_ttl_range = {
	.max	= 86400000ULL,
};

static const struct netlink_range_validation iprp_a_redirectors_range = {
	.min	= 1ULL,
	.max	= 32768ULL,
};

static const struct netlink_range_validation iprp_a_event_rate_range = {
	.max	= 1000000ULL,
};

/* IPRP_CMD_SET_ROLE - do */
static const struct nla_policy iprp_set_role_nl_policy[IPRP_A_LEGACY_CAPACITY + 1] = {
	[IPRP_A_ROLE] = NLA_POLICY_MASK(NLA_U32, 0x3),
	[IPRP_A_CAPACITY] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_capacity_range),
	[IPRP_A_CLIENT_CAPACITY] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_client_capacity_range),
	[IPRP_A_REDIR_CAPACITY] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_redir_capacity_range),
	[IPRP_A_IDLE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_idle_timeout_range),
	[IPRP_A_LEGACY_CAPACITY] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_legacy_capacity_range),
};

/* IPRP_CMD_NEW_SERVICE - do */
static const struct nla_policy iprp_new_service_nl_policy[IPRP_A_FLEET_SEED + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_SCHED] = NLA_POLICY_MAX(NLA_U8, 4),
	[IPRP_A_RESPONSE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_response_timeout_range),
	[IPRP_A_IDLE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_idle_timeout_range),
	[IPRP_A_GRANT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_grant_range),
	[IPRP_A_UNMARKED_LOCAL] = NLA_POLICY_MAX(NLA_U8, 1),
	[IPRP_A_FLEET_SEED] = { .type = NLA_U64, },
};

/* IPRP_CMD_DEL_SERVICE - do */
static const struct nla_policy iprp_del_service_nl_policy[IPRP_A_PORT + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

/* IPRP_CMD_SET_REPLICA - do */
static const struct nla_policy iprp_set_replica_nl_policy[IPRP_A_UP + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_REPLICA_ADDR] = { .type = NLA_BE32, },
	[IPRP_A_WEIGHT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_weight_range),
	[IPRP_A_UP] = NLA_POLICY_MAX(NLA_U8, 1),
};

/* IPRP_CMD_DEL_REPLICA - do */
static const struct nla_policy iprp_del_replica_nl_policy[IPRP_A_REPLICA_ADDR + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_REPLICA_ADDR] = { .type = NLA_BE32, },
};

/* IPRP_CMD_GET_BINDING - dump */
static const struct nla_policy iprp_get_binding_nl_policy[IPRP_A_PEER + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_PEER] = { .type = NLA_BE32, },
};

/* IPRP_CMD_GET_FLOW - dump */
static const struct nla_policy iprp_get_flow_nl_policy[IPRP_A_PEER + 1] = {
	[IPRP_A_PROTO] = { .type = NLA_U8, },
	[IPRP_A_VIP] = { .type = NLA_BE32, },
	[IPRP_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[IPRP_A_PEER] = { .type = NLA_BE32, },
};

/* IPRP_CMD_FLUSH - do */
static const struct nla_policy iprp_flush_nl_policy[IPRP_A_ROLE + 1] = {
	[IPRP_A_ROLE] = NLA_POLICY_MASK(NLA_U32, 0x3),
};

/* IPRP_CMD_SET_PARAMS - do */
static const struct nla_policy iprp_set_params_nl_policy[IPRP_A_EVENT_RATE + 1] = {
	[IPRP_A_TICK] = NLA_POLICY_RANGE(NLA_U32, 50, 10000),
	[IPRP_A_CHECKING_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_checking_timeout_range),
	[IPRP_A_MAX_HELD] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_max_held_range),
	[IPRP_A_LEGACY_TTL] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_legacy_ttl_range),
	[IPRP_A_MARK_SYNS] = NLA_POLICY_MAX(NLA_U8, 1),
	[IPRP_A_EVENT_RATE] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_event_rate_range),
};

/* IPRP_CMD_BENCH_FILL - do */
static const struct nla_policy iprp_bench_fill_nl_policy[IPRP_A_REDIRECTORS + 1] = {
	[IPRP_A_COUNT] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_count_range),
	[IPRP_A_REDIRECTORS] = NLA_POLICY_FULL_RANGE(NLA_U32, &iprp_a_redirectors_range),
};

/* IPRP_CMD_GET_LEGACY - dump */
static const struct nla_policy iprp_get_legacy_nl_policy[IPRP_A_PEER + 1] = {
	[IPRP_A_PEER] = { .type = NLA_BE32, },
};

/* IPRP_CMD_DEL_LEGACY - do */
static const struct nla_policy iprp_del_legacy_nl_policy[IPRP_A_PEER + 1] = {
	[IPRP_A_PEER] = { .type = NLA_BE32, },
};

/* Ops table for iprp */
const struct genl_split_ops iprp_nl_ops[15] = {
	{
		.cmd	= IPRP_CMD_GET_STATUS,
		.doit	= iprp_nl_get_status_doit,
		.flags	= GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_SET_ROLE,
		.doit		= iprp_nl_set_role_doit,
		.policy		= iprp_set_role_nl_policy,
		.maxattr	= IPRP_A_LEGACY_CAPACITY,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_NEW_SERVICE,
		.doit		= iprp_nl_new_service_doit,
		.policy		= iprp_new_service_nl_policy,
		.maxattr	= IPRP_A_FLEET_SEED,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_DEL_SERVICE,
		.doit		= iprp_nl_del_service_doit,
		.policy		= iprp_del_service_nl_policy,
		.maxattr	= IPRP_A_PORT,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= IPRP_CMD_GET_SERVICE,
		.dumpit	= iprp_nl_get_service_dumpit,
		.flags	= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPRP_CMD_SET_REPLICA,
		.doit		= iprp_nl_set_replica_doit,
		.policy		= iprp_set_replica_nl_policy,
		.maxattr	= IPRP_A_UP,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_DEL_REPLICA,
		.doit		= iprp_nl_del_replica_doit,
		.policy		= iprp_del_replica_nl_policy,
		.maxattr	= IPRP_A_REPLICA_ADDR,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_GET_BINDING,
		.dumpit		= iprp_nl_get_binding_dumpit,
		.policy		= iprp_get_binding_nl_policy,
		.maxattr	= IPRP_A_PEER,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPRP_CMD_GET_FLOW,
		.dumpit		= iprp_nl_get_flow_dumpit,
		.policy		= iprp_get_flow_nl_policy,
		.maxattr	= IPRP_A_PEER,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPRP_CMD_FLUSH,
		.doit		= iprp_nl_flush_doit,
		.policy		= iprp_flush_nl_policy,
		.maxattr	= IPRP_A_ROLE,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_SET_PARAMS,
		.doit		= iprp_nl_set_params_doit,
		.policy		= iprp_set_params_nl_policy,
		.maxattr	= IPRP_A_EVENT_RATE,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd	= IPRP_CMD_ZERO_COUNTERS,
		.doit	= iprp_nl_zero_counters_doit,
		.flags	= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_BENCH_FILL,
		.doit		= iprp_nl_bench_fill_doit,
		.policy		= iprp_bench_fill_nl_policy,
		.maxattr	= IPRP_A_REDIRECTORS,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= IPRP_CMD_GET_LEGACY,
		.dumpit		= iprp_nl_get_legacy_dumpit,
		.policy		= iprp_get_legacy_nl_policy,
		.maxattr	= IPRP_A_PEER,
		.flags		= GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= IPRP_CMD_DEL_LEGACY,
		.doit		= iprp_nl_del_legacy_doit,
		.policy		= iprp_del_legacy_nl_policy,
		.maxattr	= IPRP_A_PEER,
		.flags		= GENL_UNS_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group iprp_nl_mcgrps[] = {
	[IPRP_NLGRP_EVENTS] = { "events", },
};
