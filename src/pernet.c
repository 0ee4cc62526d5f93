// SPDX-License-Identifier: GPL-2.0
/*
 * The per-namespace slot (struct iprp_net: the Rust state, the hook
 * packet counts, benchmark timings) and its slow timer.
 */

#include <linux/jiffies.h>
#include <linux/netdevice.h>

#include "glue.h"

unsigned int iprp_net_id __read_mostly;

/* Slow timer */

static void iprp_timer_fn(struct timer_list *t)
{
	struct iprp_net *in = timer_container_of(in, t, timer);
	void *s = READ_ONCE(in->state);
	unsigned int next;

	if (!s)
		return;
	next = in->bench ? iprp_bench_tick(in, s) : iprp_rs_tick(s);
	if (next)
		mod_timer(&in->timer, jiffies + msecs_to_jiffies(next));
}

/* Starts the slow timer unless it is already pending. */
void iprp_shim_timer_start(struct net *net, unsigned int ms)
{
	struct iprp_net *in = iprp_pernet(net);

	if (!timer_pending(&in->timer))
		mod_timer(&in->timer, jiffies + msecs_to_jiffies(ms));
}

/* Namespace init and exit */

static int __net_init iprp_net_init(struct net *net)
{
	struct iprp_net *in = iprp_pernet(net);
	void *s;
	int err;

	in->net = net;
	timer_setup(&in->timer, iprp_timer_fn, 0);
	iprp_resets_init(in);
	in->pkts = alloc_percpu(struct iprp_hook_pkts);
	if (!in->pkts)
		return -ENOMEM;
	if (iprp_bench_mode) {
		in->bench = alloc_percpu(struct iprp_bench);
		if (!in->bench) {
			err = -ENOMEM;
			goto err_bench;
		}
	}
	s = iprp_rs_net_init(net);
	if (!s) {
		err = -ENOMEM;
		goto err_bench;
	}
	in->hooks = 0;
	WRITE_ONCE(in->state, s);
	return 0;

err_bench:
	free_percpu(in->bench);
	in->bench = NULL;
	free_percpu(in->pkts);
	in->pkts = NULL;
	return err;
}

/* Hooks still registered: the client's resets are translated (C30). */
static void __net_exit iprp_net_pre_exit(struct net *net)
{
	iprp_rs_net_pre_exit(iprp_pernet(net)->state);
}

static void __net_exit iprp_net_exit(struct net *net)
{
	struct iprp_net *in = iprp_pernet(net);
	void *s = in->state;

	iprp_hooks_set(net, 0);
	/* Packets may still reach the protocol handler while devices go. */
	WRITE_ONCE(in->state, NULL);
	synchronize_net();
	timer_shutdown_sync(&in->timer);
	iprp_resets_exit(in);
	iprp_rs_net_exit(s);
	free_percpu(in->bench);
	in->bench = NULL;
	free_percpu(in->pkts);
	in->pkts = NULL;
}

static struct pernet_operations iprp_net_ops = {
	.init		= iprp_net_init,
	.pre_exit	= iprp_net_pre_exit,
	.exit		= iprp_net_exit,
	.id		= &iprp_net_id,
	.size		= sizeof(struct iprp_net),
};

int iprp_pernet_register(void)
{
	return register_pernet_subsys(&iprp_net_ops);
}

void iprp_pernet_unregister(void)
{
	unregister_pernet_subsys(&iprp_net_ops);
}
