/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iprp: client-oriented IP-level redirection (IPRP).
 *
 * Userspace API of the "iprp" generic-netlink family. This header is the
 * single source of truth: the module's C shim includes it and the Rust code
 * (module and iprpctl) gets its constants from it through bindgen.
 */
#ifndef _UAPI_LINUX_IPRP_H
#define _UAPI_LINUX_IPRP_H

#define IPRP_GENL_NAME		"iprp"
#define IPRP_GENL_VERSION	1

/* IP protocol number of redirection messages (the paper's IPPROTO_REDR). */
#define IPRP_IPPROTO		99

/* Length of a redirection message on the wire (paper, Figure 3). */
#define IPRP_MSG_LEN		16

/* Message types carried in the 16-bit Type field. */
enum iprp_msg_type {
	IPRP_MSG_REQ = 1,	/* redirection request, redirector -> client */
	IPRP_MSG_CHK = 2,	/* check with the client's key, client -> redirector */
	IPRP_MSG_CFM = 3,	/* confirm, echoes the key, redirector -> client */
	IPRP_MSG_ALM = 4,	/* alarm: no such redirection, redirector -> client */
};

/* Roles of a network namespace (IPRP_A_ROLE, a bit set). */
enum iprp_role {
	IPRP_ROLE_CLIENT = 1 << 0,	/* keep bindings, translate bound flows */
	IPRP_ROLE_REDIRECTOR = 1 << 1,	/* redirect flows of configured services */
};

/* Schedulers (IPRP_A_SCHED). */
enum iprp_sched {
	IPRP_SCHED_RR = 0,	/* round robin */
	IPRP_SCHED_WRR = 1,	/* smooth weighted round robin */
	IPRP_SCHED_LC = 2,	/* least connections */
	IPRP_SCHED_SH = 3,	/* source hash */
	IPRP_SCHED_MH = 4,	/* Maglev consistent hash */
};

/*
 * Commands. The GET_* commands are open to every caller of the netns (keys
 * are never dumped); the others need CAP_NET_ADMIN in the user namespace
 * owning the caller's netns.
 */
enum iprp_cmd {
	IPRP_CMD_UNSPEC,
	IPRP_CMD_GET_STATUS,	/* version, role, params, table capacities,
				 * client idle timeout, counters and stats */
	IPRP_CMD_SET_ROLE,	/* IPRP_A_ROLE; table sizes IPRP_A_CAPACITY or
				 * IPRP_A_{CLIENT,REDIR}_CAPACITY; the client's
				 * IPRP_A_IDLE_TIMEOUT */
	IPRP_CMD_NEW_SERVICE,	/* PROTO, VIP, PORT; SCHED, timeouts optional.
				 * With NLM_F_REPLACE: edit an existing service
				 * (attributes given replace, replicas stay) */
	IPRP_CMD_DEL_SERVICE,	/* PROTO, VIP, PORT */
	IPRP_CMD_GET_SERVICE,	/* dump: one message per service, REPLICAS nest,
				 * STATS nest of the service's counters */
	IPRP_CMD_SET_REPLICA,	/* PROTO, VIP, PORT, REPLICA_ADDR; WEIGHT, UP */
	IPRP_CMD_DEL_REPLICA,	/* PROTO, VIP, PORT, REPLICA_ADDR */
	IPRP_CMD_GET_BINDING,	/* dump: client bindings; filters: PROTO+VIP+PORT
				 * (VIP = the redirector), PEER */
	IPRP_CMD_GET_FLOW,	/* dump: redirector redirection + accept tables;
				 * filters: PROTO+VIP+PORT (service), PEER */
	IPRP_CMD_FLUSH,		/* IPRP_A_ROLE bits: empty those roles' tables;
				 * without it: every table and every service */
	IPRP_CMD_SET_PARAMS,	/* TICK, CHECKING_TIMEOUT, MAX_HELD (any subset) */
	IPRP_CMD_ZERO_COUNTERS,	/* zero this netns's counters and stats */
	IPRP_CMD_BENCH_FILL,	/* benchmarks only (module loaded with bench=1):
				 * IPRP_A_COUNT confirmed client bindings to
				 * synthetic peers in 198.18.0.0/15 (redirectors
				 * 198.18/16, replicas 198.19/16), made by the
				 * client state machine (REQ, then CFM) */
	__IPRP_CMD_MAX,
};
#define IPRP_CMD_MAX (__IPRP_CMD_MAX - 1)

/*
 * Attributes. Addresses are IPv4 in network byte order (u32 as struct
 * in_addr); ports in host byte order; times in milliseconds.
 */
enum iprp_attr {
	IPRP_A_UNSPEC,
	IPRP_A_VERSION,		/* string: module version */
	IPRP_A_COUNTERS,	/* nest of IPRP_CTR_* u64 attributes */
	IPRP_A_PAD,
	IPRP_A_ROLE,		/* u32: bit set of enum iprp_role */
	IPRP_A_PROTO,		/* u8: IPPROTO_TCP or IPPROTO_UDP */
	IPRP_A_VIP,		/* be32: service address */
	IPRP_A_PORT,		/* u16: service port */
	IPRP_A_SCHED,		/* u8: enum iprp_sched */
	IPRP_A_RESPONSE_TIMEOUT,/* u32 ms: unanswered REQ -> served locally */
	IPRP_A_IDLE_TIMEOUT,	/* u32 ms: idle entry expiry */
	IPRP_A_REPLICA_ADDR,	/* be32 */
	IPRP_A_WEIGHT,		/* u32: 0 (drain) .. 65535 */
	IPRP_A_UP,		/* u8: 0 down, 1 up */
	IPRP_A_CAPACITY,	/* u32: table entries of each role (SET_ROLE) */
	IPRP_A_REPLICAS,	/* nest of IPRP_A_REPLICA nests (GET_SERVICE) */
	IPRP_A_REPLICA,		/* nest: REPLICA_ADDR, WEIGHT, UP, CONNS */
	IPRP_A_CONNS,		/* u32: live redirector entries of a replica */
	IPRP_A_STATS,		/* nest of IPRP_A_STAT nests: core counters */
	IPRP_A_STAT,		/* nest: STAT_NAME, STAT_VALUE */
	IPRP_A_STAT_NAME,	/* string: "<group>.<counter>", e.g. client.confirmed */
	IPRP_A_STAT_VALUE,	/* u64 */
	IPRP_A_PEER,		/* be32: client (flows) or redirector (bindings) */
	IPRP_A_CPORT,		/* u16: client port */
	IPRP_A_STATE,		/* u8: enum iprp_state */
	IPRP_A_KEY,		/* u32 */
	IPRP_A_AGE,		/* u32 ms since last activity */
	IPRP_A_TICK,		/* u32 ms: slow timer period (50..10000) */
	IPRP_A_CHECKING_TIMEOUT,/* u32 ms: client CHECKING binding lifetime */
	IPRP_A_MAX_HELD,	/* u32: held packets per client shard (0 = no holding) */
	IPRP_A_CLIENT_CAPACITY,	/* u32: client table entries (GET_STATUS once
				 * the tables exist; SET_ROLE: overrides
				 * CAPACITY for the client) */
	IPRP_A_REDIR_CAPACITY,	/* u32: redirector table entries (as above) */
	IPRP_A_ASSIGNED,	/* u64: flows assigned to a replica (GET_SERVICE) */
	IPRP_A_COUNT,		/* u32: entries to create (BENCH_FILL) */
	__IPRP_A_MAX,
};
#define IPRP_A_MAX (__IPRP_A_MAX - 1)

/* Entry states in GET_BINDING / GET_FLOW dumps (IPRP_A_STATE). */
enum iprp_state {
	IPRP_STATE_SENT = 1,		/* redirector: REQ sent */
	IPRP_STATE_CONFIRMED = 2,	/* both: handshake done */
	IPRP_STATE_ACCEPT = 3,		/* redirector: served locally */
	IPRP_STATE_CHECKING = 4,	/* client: CHK sent */
};

/*
 * Per-network-namespace counters, each a u64 attribute inside
 * IPRP_A_COUNTERS whose type is its id. New counters are appended.
 */
enum iprp_counter {
	IPRP_CTR_UNSPEC,
	IPRP_CTR_PRE_ROUTING_PKTS,	/* IPv4 packets seen at PRE_ROUTING */
	IPRP_CTR_LOCAL_OUT_PKTS,	/* IPv4 packets seen at LOCAL_OUT */
	IPRP_CTR_PROTO_RX,		/* protocol-99 packets received */
	IPRP_CTR_PROTO_VALID,		/* of which parsed as a valid message */
	IPRP_CTR_DROP_SHORT,		/* dropped: shorter than 16 bytes */
	IPRP_CTR_DROP_BAD_TYPE,		/* dropped: unknown message type */
	IPRP_CTR_DROP_BAD_PROTO,	/* dropped: protocol not TCP/UDP */
	IPRP_CTR_MSG_TX,		/* protocol-99 messages sent */
	IPRP_CTR_MSG_TX_ERR,		/* ... that could not be sent */
	IPRP_CTR_XLAT_ERR,		/* packets dropped: rewrite failed */
	IPRP_CTR_HELD_REINJECTED,	/* held packets handed back to IP */
	IPRP_CTR_HELD_FREED,		/* held packets freed (ALM, expiry) */
	__IPRP_CTR_MAX,
};
#define IPRP_CTR_MAX (__IPRP_CTR_MAX - 1)

#endif /* _UAPI_LINUX_IPRP_H */
