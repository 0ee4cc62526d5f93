/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C shim (registrations and static-inline helpers the
 * Rust kernel crate has no abstraction for) and the Rust part of iprp.ko.
 * Functions named iprp_rs_* are implemented in Rust; iprp_shim_* in C.
 */
#ifndef _IPRP_SHIM_H
#define _IPRP_SHIM_H

#include <linux/types.h>

struct sk_buff;
struct net;

/* Hook verdicts returned by Rust, mapped to NF_* by the shim. */
enum iprp_verdict {
	IPRP_VERDICT_ACCEPT = 0,
	IPRP_VERDICT_DROP = 1,
	IPRP_VERDICT_STOLEN = 2,	/* Rust kept the skb (held queue) */
	IPRP_VERDICT_REROUTE = 3,	/* accept after re-routing (LOCAL_OUT) */
};

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

/* Configuration requests decoded from netlink (addresses in network order). */
struct iprp_cfg {
	u32 role;
	u32 capacity;
	u32 client_capacity;	/* 0: not given */
	u32 redir_capacity;	/* 0: not given */
	u8 proto;
	u8 sched;
	u8 up;
	u8 has_sched;
	u8 has_response_timeout;
	u8 has_idle_timeout;
	u8 has_weight;
	u8 has_up;
	__be32 vip;
	u16 port;
	__be32 replica;
	u32 weight;
	u32 response_timeout_ms;
	u32 idle_timeout_ms;
	u32 flags;		/* IPRP_CFG_* */
};

#define IPRP_CFG_REPLACE	(1U << 0)	/* NLM_F_REPLACE: edit, never create */
#define IPRP_CFG_HAS_ROLE	(1U << 1)	/* IPRP_A_ROLE was present */

/* One row of a dump, filled by Rust and written to netlink by the shim. */
struct iprp_row {
	__be32 peer;
	__be32 vip;
	__be32 replica;
	u16 cport;
	u16 port;
	u8 proto;
	u8 state;
	u32 age_ms;
};

/* A named counter; @name is a static NUL-terminated string. */
struct iprp_stat {
	const char *name;
	u64 value;
};

/* One service with its replicas and counters, for the GET_SERVICE dump. */
struct iprp_svc_row {
	__be32 vip;
	u16 port;
	u8 proto;
	u8 sched;
	u32 response_timeout_ms;
	u32 idle_timeout_ms;
	u32 n_replicas;
	u32 n_stats;
	struct iprp_stat stats[8];
	struct {
		__be32 addr;
		u32 weight;
		u32 conns;
		u32 up;
		u64 assigned;
	} replicas[16];
};

/* Dump filter from the request's attributes (network order addresses). */
struct iprp_filter {
	__be32 vip;
	__be32 peer;
	u16 port;
	u8 proto;
	u8 has_service;	/* PROTO, VIP and PORT given */
	u8 has_peer;
	u8 pad[3];
};

/*
 * Global parameters of a namespace (SET_PARAMS / GET_STATUS). The last
 * three are reported by GET_STATUS only, 0 when unknown: a role's table
 * capacity once its tables exist, the client's idle timeout once set.
 */
struct iprp_params {
	u32 tick_ms;
	u32 checking_timeout_ms;
	u32 max_held;
	u32 has;	/* bits: 1 tick, 2 checking timeout, 4 max held */
	u32 client_capacity;
	u32 redir_capacity;
	u32 client_idle_ms;
};

/* Returns 0 on success, -EMSGSIZE when the dump message is full. */
typedef int (*iprp_svc_fn)(void *ctx, const struct iprp_svc_row *row);
typedef int (*iprp_row_fn)(void *ctx, const struct iprp_row *row);
typedef int (*iprp_stat_fn)(void *ctx, const char *name, u64 value);

/* Implemented in Rust. */
void *iprp_rs_net_init(struct net *net);
void iprp_rs_net_exit(void *state);
/* @head, @headlen: the linear data from the IP header on (skb->data). */
enum iprp_verdict iprp_rs_pre_routing(void *state, struct sk_buff *skb,
				      const u8 *head, unsigned int headlen);
enum iprp_verdict iprp_rs_local_out(void *state, struct sk_buff *skb,
				    const u8 *head, unsigned int headlen);
int iprp_rs_proto_rcv(void *state, struct sk_buff *skb);
void iprp_rs_proto_unreach(void *state, __be32 saddr, __be32 daddr,
			   const u8 *quoted);
/* Slow timer; returns the delay to the next tick in ms, 0 to stop. */
unsigned int iprp_rs_tick(void *state);
/* Copies the counters of @state into @out (indexed by enum iprp_counter). */
void iprp_rs_counters(void *state, u64 *out, u32 n);
u32 iprp_rs_role(void *state);
int iprp_rs_stats(void *state, iprp_stat_fn put, void *ctx);
const char *iprp_rs_version(void);
/* Configuration; on error *msg is a static string for extack. */
int iprp_rs_set_role(void *state, const struct iprp_cfg *cfg, const char **msg);
int iprp_rs_new_service(void *state, const struct iprp_cfg *cfg, const char **msg);
int iprp_rs_del_service(void *state, const struct iprp_cfg *cfg, const char **msg);
int iprp_rs_set_replica(void *state, const struct iprp_cfg *cfg, const char **msg);
int iprp_rs_del_replica(void *state, const struct iprp_cfg *cfg, const char **msg);
int iprp_rs_flush(void *state, const struct iprp_cfg *cfg, const char **msg);
/* Dumps resume at *pos and leave it after the last row written. */
int iprp_rs_dump_bindings(void *state, const struct iprp_filter *f, u64 *pos,
			  iprp_row_fn put, void *ctx);
int iprp_rs_dump_flows(void *state, const struct iprp_filter *f, u64 *pos,
		       iprp_row_fn put, void *ctx);
int iprp_rs_set_params(void *state, const struct iprp_params *p, const char **msg);
void iprp_rs_get_params(void *state, struct iprp_params *p);
void iprp_rs_zero_counters(void *state);
enum iprp_verdict iprp_rs_bench_empty(void *state, struct sk_buff *skb,
				      const u8 *head, unsigned int headlen);
int iprp_rs_bench_fill(void *state, u32 count, const char **msg);
int iprp_rs_dump_services(void *state, u64 *pos, iprp_svc_fn put, void *ctx);

/* Implemented in C. */
int iprp_shim_init(void);
void iprp_shim_exit(void);
int iprp_shim_copy_bits(const struct sk_buff *skb, int offset, void *to, int len);
unsigned int iprp_shim_skb_len(const struct sk_buff *skb);
void iprp_shim_kfree_skb(struct sk_buff *skb);
void iprp_shim_consume_skb(struct sk_buff *skb);
int iprp_shim_parse(const struct sk_buff *skb, struct iprp_pkt *pkt);
int iprp_shim_set_addr(struct sk_buff *skb, bool dst, __be32 addr);
int iprp_shim_parse_icmp_error(const struct sk_buff *skb, struct iprp_pkt *quoted);
int iprp_shim_icmp_error_set_addr(struct sk_buff *skb, bool quoted_dst, __be32 addr);
__be32 iprp_shim_saddr(const struct sk_buff *skb);
__be32 iprp_shim_daddr(const struct sk_buff *skb);
void iprp_shim_reinject(struct sk_buff *skb);
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

#endif /* _IPRP_SHIM_H */
