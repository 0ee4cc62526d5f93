/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	include/uapi/linux/iprp.yaml */
/* YNL-GEN uapi header */
/* To regenerate run: make ynl-gen */

#ifndef _UAPI_LINUX_IPRP_H
#define _UAPI_LINUX_IPRP_H

#define IPRP_GENL_NAME		"iprp"
#define IPRP_GENL_VERSION	1

#define IPRP_IPPROTO	99
#define IPRP_MSG_LEN	16

/**
 * enum iprp_msg_type - Message types carried in the 16-bit Type field of a
 *   message.
 * @IPRP_MSG_REQ: redirection request, redirector -> client
 * @IPRP_MSG_CHK: check with the client's key, client -> redirector
 * @IPRP_MSG_CFM: confirm, echoes the key, redirector -> client
 * @IPRP_MSG_ALM: alarm, no such redirection, redirector -> client
 */
enum iprp_msg_type {
	IPRP_MSG_REQ = 1,
	IPRP_MSG_CHK,
	IPRP_MSG_CFM,
	IPRP_MSG_ALM,
};

/**
 * enum iprp_role - Roles of a network namespace (a bit set).
 * @IPRP_ROLE_CLIENT: keep bindings, translate bound flows
 * @IPRP_ROLE_REDIRECTOR: redirect flows of configured services
 */
enum iprp_role {
	IPRP_ROLE_CLIENT = 1,
	IPRP_ROLE_REDIRECTOR = 2,
};

/**
 * enum iprp_sched - Schedulers of a service.
 * @IPRP_SCHED_RR: round robin
 * @IPRP_SCHED_WRR: smooth weighted round robin
 * @IPRP_SCHED_LC: least connections
 * @IPRP_SCHED_SH: source hash
 * @IPRP_SCHED_MH: Maglev consistent hash
 */
enum iprp_sched {
	IPRP_SCHED_RR,
	IPRP_SCHED_WRR,
	IPRP_SCHED_LC,
	IPRP_SCHED_SH,
	IPRP_SCHED_MH,
};

/**
 * enum iprp_state - Entry states in the get-binding and get-flow dumps.
 * @IPRP_STATE_SENT: redirector, REQ sent
 * @IPRP_STATE_CONFIRMED: both, handshake done
 * @IPRP_STATE_ACCEPT: redirector, served locally
 * @IPRP_STATE_CHECKING: client, CHK sent
 */
enum iprp_state {
	IPRP_STATE_SENT = 1,
	IPRP_STATE_CONFIRMED,
	IPRP_STATE_ACCEPT,
	IPRP_STATE_CHECKING,
};

/**
 * enum iprp_known - What a redirector knows of a client (get-legacy dump).
 * @IPRP_KNOWN_LEGACY: no IPRP; its new flows are served locally without a REQ
 * @IPRP_KNOWN_CAPABLE: confirmed a flow; an unanswered REQ of it is taken as
 *   lost
 */
enum iprp_known {
	IPRP_KNOWN_LEGACY = 1,
	IPRP_KNOWN_CAPABLE,
};

/**
 * enum iprp_event - What an event notification reports (the event attribute).
 * @IPRP_EVENT_BINDING_NEW: client, a REQ created a CHECKING binding (CHK sent)
 * @IPRP_EVENT_BINDING_CONFIRMED: client, a binding was confirmed, or made from
 *   a wildcard grant
 * @IPRP_EVENT_BINDING_DEL: client, a binding was removed (cause says why)
 * @IPRP_EVENT_FLOW_NEW: redirector, a new flow got an entry and its REQ was
 *   sent
 * @IPRP_EVENT_FLOW_CONFIRMED: redirector, a flow was confirmed (CFM sent)
 * @IPRP_EVENT_FLOW_LOCAL: redirector, a flow is served locally: legacy client,
 *   unmarked SYN, no eligible replica, or no answer to its REQ
 * @IPRP_EVENT_FLOW_DEL: redirector, a flow entry was removed (cause says why)
 * @IPRP_EVENT_SERVICE_NEW: a service was added
 * @IPRP_EVENT_SERVICE_SET: a service was changed (new-service with
 *   NLM_F_REPLACE)
 * @IPRP_EVENT_SERVICE_DEL: a service was deleted
 * @IPRP_EVENT_REPLICA_NEW: a replica was added to a service
 * @IPRP_EVENT_REPLICA_SET: a replica's weight or state changed (up says
 *   whether it takes new flows: how a health checker's verdict shows)
 * @IPRP_EVENT_REPLICA_DEL: a replica was removed from its service
 */
enum iprp_event {
	IPRP_EVENT_BINDING_NEW = 1,
	IPRP_EVENT_BINDING_CONFIRMED,
	IPRP_EVENT_BINDING_DEL,
	IPRP_EVENT_FLOW_NEW,
	IPRP_EVENT_FLOW_CONFIRMED,
	IPRP_EVENT_FLOW_LOCAL,
	IPRP_EVENT_FLOW_DEL,
	IPRP_EVENT_SERVICE_NEW,
	IPRP_EVENT_SERVICE_SET,
	IPRP_EVENT_SERVICE_DEL,
	IPRP_EVENT_REPLICA_NEW,
	IPRP_EVENT_REPLICA_SET,
	IPRP_EVENT_REPLICA_DEL,
};

/**
 * enum iprp_cause - Why an entry was removed (binding-del, flow-del events).
 * @IPRP_CAUSE_EXPIRED: idle, or CHECKING, longer than its timeout
 * @IPRP_CAUSE_ALARM: client, the redirector answered the CHK with an ALM
 * @IPRP_CAUSE_FLUSHED: the operator flushed the table
 * @IPRP_CAUSE_SERVICE_DELETED: redirector, the operator deleted the flow's
 *   service
 * @IPRP_CAUSE_REOPENED: redirector, the client opened the confirmed flow
 *   through it again a response timeout later; a new handshake replaces the
 *   entry
 * @IPRP_CAUSE_REPLICA_FAILED: the flow's replica was marked down or removed:
 *   the redirector sends REBIND, the client drops the binding
 *   (docs/protocol.md, Re-binding)
 */
enum iprp_cause {
	IPRP_CAUSE_EXPIRED = 1,
	IPRP_CAUSE_ALARM,
	IPRP_CAUSE_FLUSHED,
	IPRP_CAUSE_SERVICE_DELETED,
	IPRP_CAUSE_REOPENED,
	IPRP_CAUSE_REPLICA_FAILED,
};

enum iprp_attr {
	IPRP_A_UNSPEC,
	IPRP_A_VERSION,
	IPRP_A_COUNTERS,
	IPRP_A_PAD,
	IPRP_A_ROLE,
	IPRP_A_PROTO,
	IPRP_A_VIP,
	IPRP_A_PORT,
	IPRP_A_SCHED,
	IPRP_A_RESPONSE_TIMEOUT,
	IPRP_A_IDLE_TIMEOUT,
	IPRP_A_REPLICA_ADDR,
	IPRP_A_WEIGHT,
	IPRP_A_UP,
	IPRP_A_CAPACITY,
	IPRP_A_REPLICAS,
	IPRP_A_REPLICA,
	IPRP_A_CONNS,
	IPRP_A_STATS,
	IPRP_A_STAT,
	IPRP_A_STAT_NAME,
	IPRP_A_STAT_VALUE,
	IPRP_A_PEER,
	IPRP_A_CPORT,
	IPRP_A_STATE,
	IPRP_A_KEY,
	IPRP_A_AGE,
	IPRP_A_TICK,
	IPRP_A_CHECKING_TIMEOUT,
	IPRP_A_MAX_HELD,
	IPRP_A_CLIENT_CAPACITY,
	IPRP_A_REDIR_CAPACITY,
	IPRP_A_ASSIGNED,
	IPRP_A_COUNT,
	IPRP_A_GRANT,
	IPRP_A_LEGACY_CAPACITY,
	IPRP_A_LEGACY_TTL,
	IPRP_A_KNOWN,
	IPRP_A_EXPIRES,
	IPRP_A_MARK_SYNS,
	IPRP_A_UNMARKED_LOCAL,
	IPRP_A_REDIRECTORS,
	IPRP_A_FLEET_SEED,
	IPRP_A_EVENT,
	IPRP_A_CAUSE,
	IPRP_A_LOST,
	IPRP_A_EVENT_RATE,
	IPRP_A_CONFIRMED,
	IPRP_A_REBOUND,
	IPRP_A_GRANTED,

	__IPRP_A_MAX
};
#define IPRP_A_MAX (__IPRP_A_MAX - 1)

enum iprp_counter {
	IPRP_CTR_UNSPEC,
	IPRP_CTR_PRE_ROUTING_PKTS,
	IPRP_CTR_LOCAL_OUT_PKTS,
	IPRP_CTR_PROTO_RX,
	IPRP_CTR_PROTO_VALID,
	IPRP_CTR_DROP_SHORT,
	IPRP_CTR_DROP_BAD_TYPE,
	IPRP_CTR_DROP_BAD_PROTO,
	IPRP_CTR_MSG_TX,
	IPRP_CTR_MSG_TX_ERR,
	IPRP_CTR_XLAT_ERR,
	IPRP_CTR_HELD_REINJECTED,
	IPRP_CTR_HELD_FREED,
	IPRP_CTR_SYN_MARKED,
	IPRP_CTR_SYN_MARK_SKIPPED,
	IPRP_CTR_GRANT_REVOKED,
	IPRP_CTR_REVOKE_REJECTED,
	IPRP_CTR_EVENT_SENT,
	IPRP_CTR_EVENT_DROPPED,
	IPRP_CTR_REBIND_RESET,
	IPRP_CTR_REBIND_RESET_SKIPPED,
	IPRP_CTR_CLIENT_STOP_RESET,

	__IPRP_CTR_MAX
};
#define IPRP_CTR_MAX (__IPRP_CTR_MAX - 1)

enum iprp_cmd {
	IPRP_CMD_GET_STATUS = 1,
	IPRP_CMD_SET_ROLE,
	IPRP_CMD_NEW_SERVICE,
	IPRP_CMD_DEL_SERVICE,
	IPRP_CMD_GET_SERVICE,
	IPRP_CMD_SET_REPLICA,
	IPRP_CMD_DEL_REPLICA,
	IPRP_CMD_GET_BINDING,
	IPRP_CMD_GET_FLOW,
	IPRP_CMD_FLUSH,
	IPRP_CMD_SET_PARAMS,
	IPRP_CMD_ZERO_COUNTERS,
	IPRP_CMD_BENCH_FILL,
	IPRP_CMD_GET_LEGACY,
	IPRP_CMD_DEL_LEGACY,
	IPRP_CMD_EVENT,

	__IPRP_CMD_MAX
};
#define IPRP_CMD_MAX (__IPRP_CMD_MAX - 1)

#define IPRP_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_IPRP_H */
