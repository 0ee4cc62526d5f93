/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C shim (registrations and static-inline helpers the
 * Rust kernel crate has no abstraction for) and the Rust part of iprp.ko.
 * Functions named iprp_rs_* are implemented in Rust; iprp_shim_* in C.
 */
#ifndef _IPRP_SHIM_H
#define _IPRP_SHIM_H

#include <linux/types.h>

struct genl_info;
struct net;
struct netlink_callback;
struct nlattr;
struct sk_buff;

/* Hook verdicts returned by Rust, mapped to NF_* by the shim. */
enum iprp_verdict {
	IPRP_VERDICT_ACCEPT = 0,
	IPRP_VERDICT_DROP = 1,
	IPRP_VERDICT_STOLEN = 2,	/* Rust kept the skb (held queue) */
	IPRP_VERDICT_REROUTE = 3,	/* accept after re-routing (LOCAL_OUT) */
	/* As ACCEPT and REROUTE, for a packet a lock-free lookup translated:
	 * counted per CPU (client.translated_in, client.translated_out).
	 */
	IPRP_VERDICT_ACCEPT_TRANSLATED = 4,
	IPRP_VERDICT_REROUTE_TRANSLATED = 5,
};

/*
 * Packets seen by the hooks, and packets of confirmed bindings translated
 * by lock-free lookups: per CPU, not shared atomics, on the hot path.
 * Rust reads the sums as `nl::HookPkts`, the same layout.
 */
struct iprp_hook_pkts {
	u64 pre_routing;
	u64 local_out;
	u64 translated_in;
	u64 translated_out;
	u64 route_reused;	/* client.route_reused (src/route.c) */
	u64 route_looked_up;	/* client.route_looked_up */
};

/* A client binding's cached route (src/route.c); opaque to Rust. */
struct iprp_route;

/* Addresses and ports of an IPv4 TCP/UDP packet, network byte order. */
struct iprp_pkt {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	u8 proto;
	u8 syn;
	u8 ack;
	u8 ports;	/* sport, dport, syn, ack are valid (TCP/UDP, first fragment) */
};

/* Adds one named statistic to a reply; 0, or -EMSGSIZE when it is full. */
typedef int (*iprp_stat_fn)(void *ctx, const char *name, u64 value);

/* Implemented in Rust. */
void *iprp_rs_net_init(struct net *net);
void iprp_rs_net_pre_exit(void *state);
void iprp_rs_net_exit(void *state);
/* @head, @headlen: the linear data from the IP header on (skb->data). */
enum iprp_verdict iprp_rs_pre_routing(void *state, struct sk_buff *skb,
				      const u8 *head, unsigned int headlen);
/*
 * For IPRP_VERDICT_REROUTE_TRANSLATED, *@route is set to the binding's route
 * cache slot (src/route.c), or left NULL.
 */
enum iprp_verdict iprp_rs_local_out(void *state, struct sk_buff *skb,
				    const u8 *head, unsigned int headlen,
				    struct iprp_route __rcu ***route);
int iprp_rs_proto_rcv(void *state, struct sk_buff *skb);
void iprp_rs_proto_unreach(void *state, __be32 saddr, __be32 daddr,
			   const u8 *quoted);
/* Slow timer; returns the delay to the next tick in ms, 0 to stop. */
unsigned int iprp_rs_tick(void *state);
enum iprp_verdict iprp_rs_bench_empty(void *state, struct sk_buff *skb,
				      const u8 *head, unsigned int headlen);

/* Implemented in C. */
void iprp_route_free(struct iprp_route *r);
int iprp_shim_init(void);
void iprp_shim_exit(void);
int iprp_shim_copy_bits(const struct sk_buff *skb, int offset, void *to, int len);
unsigned int iprp_shim_skb_len(const struct sk_buff *skb);
void iprp_shim_kfree_skb(struct sk_buff *skb);
void iprp_shim_consume_skb(struct sk_buff *skb);
int iprp_shim_parse(const struct sk_buff *skb, struct iprp_pkt *pkt);
int iprp_shim_set_addr(struct sk_buff *skb, bool dst, __be32 addr);
int iprp_shim_tcp_insert_option(struct sk_buff *skb, __be32 opt);
int iprp_shim_parse_icmp_error(const struct sk_buff *skb, struct iprp_pkt *quoted);
int iprp_shim_icmp_error_set_addr(struct sk_buff *skb, bool quoted_dst, __be32 addr);
__be32 iprp_shim_saddr(const struct sk_buff *skb);
__be32 iprp_shim_daddr(const struct sk_buff *skb);
void iprp_shim_reinject(struct sk_buff *skb);
bool iprp_shim_reset_tcp(struct net *net, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport);
bool iprp_shim_abort_tcp(struct net *net, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport);
void iprp_shim_untrack(struct sk_buff *skb);
/* Queries of iprp_shim_sk_query(); SocketQuery in shim.rs mirrors them. */
#define IPRP_SK_TAKES		0
#define IPRP_SK_CONNECTING	1
#define IPRP_SK_USES		2
bool iprp_shim_sk_query(struct net *net, const struct sk_buff *skb, u8 proto,
			__be32 raddr, __be16 rport, __be32 laddr, __be16 lport,
			u8 query);
int iprp_shim_send_msg(struct net *net, __be32 saddr, __be32 daddr,
		       const void *msg, unsigned int len);
u64 iprp_shim_now_ms(void);
void iprp_shim_timer_start(struct net *net, unsigned int ms);
void iprp_shim_cond_resched(void);
void iprp_shim_bh_disable(void);
void iprp_shim_bh_enable(void);

/*
 * genl.c: requests and replies of the generic-netlink family, for src/nl.rs
 * (the handlers are Rust, named in the generated ops table netlink-gen.c).
 */
const struct nlattr *const *iprp_nl_do_attrs(const struct genl_info *info,
					     u32 *maxattr);
const struct genl_info *iprp_nl_dump_info(struct netlink_callback *cb,
					  const struct nlattr *const **attrs,
					  u32 *maxattr);
void *iprp_nl_state(const struct genl_info *info);
u16 iprp_nl_flags(const struct genl_info *info);
void iprp_nl_set_err_msg(const struct genl_info *info, const char *msg);
void iprp_nl_set_attr_missing(const struct genl_info *info, u32 type);
struct sk_buff *iprp_nl_reply_new(struct genl_info *info, size_t size, u8 cmd,
				  void **hdr);
int iprp_nl_reply_send(struct genl_info *info, struct sk_buff *msg, void *hdr);
void iprp_nl_msg_free(struct sk_buff *msg);
void *iprp_nl_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd);
void iprp_nl_msg_end(struct sk_buff *skb, void *hdr);
void iprp_nl_msg_cancel(struct sk_buff *skb, void *hdr);
void *iprp_nl_skb_state(const struct sk_buff *skb);
unsigned int iprp_nl_skb_len(const struct sk_buff *skb);
u64 iprp_nl_dump_pos(const struct netlink_callback *cb);
void iprp_nl_dump_set_pos(struct netlink_callback *cb, u64 pos);
int iprp_nl_put(struct sk_buff *skb, int type, int len, const void *data);
int iprp_nl_put_u64(struct sk_buff *skb, int type, u64 value, int padattr);
struct nlattr *iprp_nl_nest_start(struct sk_buff *skb, int type);
void iprp_nl_nest_end(struct sk_buff *skb, struct nlattr *nest);
void iprp_nl_hook_pkts(const struct genl_info *info, struct iprp_hook_pkts *sum);
void iprp_nl_zero_c_counters(const struct genl_info *info);
int iprp_nl_bench_stats(const struct genl_info *info, iprp_stat_fn put,
			void *ctx);
bool iprp_nl_bench_mode(void);
int iprp_nl_hooks_add(const struct genl_info *info, u32 roles);
void iprp_nl_hooks_sync(const struct genl_info *info, u32 roles);
bool iprp_nl_listening(struct net *net);
struct sk_buff *iprp_nl_event_new(void **hdr);
int iprp_nl_event_send(struct net *net, struct sk_buff *msg, void *hdr);

#endif /* _IPRP_SHIM_H */
