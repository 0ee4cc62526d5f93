/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C shim (registrations the Rust kernel crate has no
 * abstraction for) and the Rust part of iprp.ko. Functions named iprp_rs_*
 * are implemented in Rust; iprp_shim_* in C.
 */
#ifndef _IPRP_SHIM_H
#define _IPRP_SHIM_H

#include <linux/types.h>

struct sk_buff;
struct net;

/* Hook verdicts returned by Rust, mapped to NF_* by the shim. */
enum iprp_verdict {
	IPRP_VERDICT_ACCEPT = 0,
};

/* Implemented in Rust. */
void *iprp_rs_net_init(struct net *net);
void iprp_rs_net_exit(void *state);
enum iprp_verdict iprp_rs_pre_routing(void *state, struct sk_buff *skb);
enum iprp_verdict iprp_rs_local_out(void *state, struct sk_buff *skb);
int iprp_rs_proto_rcv(void *state, struct sk_buff *skb);
/* Copies the counters of @state into @out (indexed by enum iprp_counter). */
void iprp_rs_counters(void *state, u64 *out, u32 n);
const char *iprp_rs_version(void);

/* Implemented in C. */
int iprp_shim_init(void);
void iprp_shim_exit(void);
int iprp_shim_copy_bits(const struct sk_buff *skb, int offset, void *to, int len);
unsigned int iprp_shim_skb_len(const struct sk_buff *skb);
void iprp_shim_kfree_skb(struct sk_buff *skb);
void iprp_shim_consume_skb(struct sk_buff *skb);

#endif /* _IPRP_SHIM_H */
