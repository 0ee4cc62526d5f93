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

enum iprp_cmd {
	IPRP_CMD_UNSPEC,
	IPRP_CMD_GET_STATUS,	/* version and counters of the caller's netns */
	__IPRP_CMD_MAX,
};
#define IPRP_CMD_MAX (__IPRP_CMD_MAX - 1)

enum iprp_attr {
	IPRP_A_UNSPEC,
	IPRP_A_VERSION,		/* string: module version */
	IPRP_A_COUNTERS,	/* nest of IPRP_CTR_* u64 attributes */
	IPRP_A_PAD,
	__IPRP_A_MAX,
};
#define IPRP_A_MAX (__IPRP_A_MAX - 1)

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
	__IPRP_CTR_MAX,
};
#define IPRP_CTR_MAX (__IPRP_CTR_MAX - 1)

#endif /* _UAPI_LINUX_IPRP_H */
