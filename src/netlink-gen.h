/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	include/uapi/linux/iprp.yaml */
/* YNL-GEN kernel header */
/* To regenerate run: make ynl-gen */

#ifndef _LINUX_IPRP_GEN_H
#define _LINUX_IPRP_GEN_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/iprp.h>

/* Ops table for iprp */
extern const struct genl_split_ops iprp_nl_ops[15];

int iprp_nl_get_status_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_set_role_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_new_service_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_del_service_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_get_service_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int iprp_nl_set_replica_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_del_replica_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_get_binding_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int iprp_nl_get_flow_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int iprp_nl_flush_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_set_params_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_zero_counters_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_bench_fill_doit(struct sk_buff *skb, struct genl_info *info);
int iprp_nl_get_legacy_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int iprp_nl_del_legacy_doit(struct sk_buff *skb, struct genl_info *info);

enum {
	IPRP_NLGRP_EVENTS,
};

#endif /* _LINUX_IPRP_GEN_H */
