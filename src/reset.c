// SPDX-License-Identifier: GPL-2.0
/*
 * Resets of local TCP connections that can no longer reach their replica,
 * so that their applications see ECONNRESET at once instead of waiting
 * until a timeout:
 * - the replica failed (docs/protocol.md, C29): the protocol handler, in
 *   softirq context, queues the connection's 4-tuple, and a work item
 *   aborts the socket with tcp_abort(), which needs process context;
 * - the client role stops (role off, module unload, C30): the caller, in
 *   process context, aborts each connection directly.
 */

#include <linux/workqueue.h>
#include <net/inet_hashtables.h>
#include <net/tcp.h>

#include "glue.h"

/*
 * Aborts the TCP connection @laddr:@lport <-> @raddr:@rport (network order)
 * of @net with ECONNRESET: its application learns at once, and the reset
 * tcp_abort() sends tells the peer. True if there was such a connection.
 * Process context.
 */
bool iprp_shim_abort_tcp(struct net *net, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport)
{
	struct sock *sk;
	bool found;

	rcu_read_lock();
	sk = __inet_lookup_established(net, raddr, rport, laddr, ntohs(lport),
				       0, 0);
	rcu_read_unlock();
	if (!sk)
		return false;
	found = sk_fullsock(sk);
	if (found)
		tcp_abort(sk, ECONNRESET);
	sock_gen_put(sk);
	return found;
}

static void iprp_resets_work(struct work_struct *work)
{
	struct iprp_resets *r = container_of(work, struct iprp_resets, work);
	struct iprp_net *in = container_of(r, struct iprp_net, resets);
	struct iprp_reset_tuple q[IPRP_RESETS_MAX];
	unsigned int i, n;

	spin_lock_bh(&r->lock);
	n = r->n;
	memcpy(q, r->q, n * sizeof(q[0]));
	r->n = 0;
	spin_unlock_bh(&r->lock);

	for (i = 0; i < n; i++)
		iprp_shim_abort_tcp(in->net, q[i].laddr, q[i].lport,
				    q[i].raddr, q[i].rport);
}

void iprp_resets_init(struct iprp_net *in)
{
	spin_lock_init(&in->resets.lock);
	in->resets.n = 0;
	INIT_WORK(&in->resets.work, iprp_resets_work);
}

/* After the namespace's state is gone: nothing queues any more. */
void iprp_resets_exit(struct iprp_net *in)
{
	cancel_work_sync(&in->resets.work);
}

/*
 * Queues the reset of the TCP connection @laddr:@lport <-> @raddr:@rport
 * (network order) of @net; false when IPRP_RESETS_MAX are already waiting.
 * Any context.
 */
bool iprp_shim_reset_tcp(struct net *net, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport)
{
	struct iprp_resets *r = &iprp_pernet(net)->resets;
	bool queued = false;

	spin_lock_bh(&r->lock);
	if (r->n < ARRAY_SIZE(r->q)) {
		r->q[r->n++] = (struct iprp_reset_tuple) {
			.laddr = laddr, .raddr = raddr,
			.lport = lport, .rport = rport,
		};
		queued = true;
	}
	spin_unlock_bh(&r->lock);
	if (queued)
		schedule_work(&r->work);
	return queued;
}
