// SPDX-License-Identifier: GPL-2.0
/*
 * Registration of the C parts, called from the Rust module's init and
 * exit: namespaces first, then the protocol handler, then the netlink
 * family (undone in reverse), so nothing can reach a namespace's state
 * before it exists or after it is gone.
 */

#include "glue.h"

int iprp_shim_init(void)
{
	int err;

	err = iprp_pernet_register();
	if (err)
		return err;
	err = iprp_proto_register();
	if (err)
		goto err_pernet;
	err = iprp_genl_register();
	if (err)
		goto err_proto;
	return 0;

err_proto:
	iprp_proto_unregister();
err_pernet:
	iprp_pernet_unregister();
	return err;
}

void iprp_shim_exit(void)
{
	iprp_genl_unregister();
	iprp_proto_unregister();
	iprp_pernet_unregister();
}

/* Rust mirrors this structure field by field (src/shim.rs). */
static_assert(sizeof(struct iprp_pkt) == 16);
