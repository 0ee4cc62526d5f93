// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks at PRE_ROUTING and LOCAL_OUT (registered by the shim).

use crate::pernet;
use crate::uapi::iprp_counter as ctr;
use kernel::bindings::{self, sk_buff};
use kernel::prelude::*;

/// PRE_ROUTING: redirector ingress and client translation of replica replies.
///
/// # Safety
///
/// Called by the shim's netfilter hook with the namespace's live state and
/// a valid skb.
#[no_mangle]
pub unsafe extern "C" fn iprp_rs_pre_routing(state: *mut c_void, _skb: *mut sk_buff) -> u32 {
    // SAFETY: by the function's contract.
    let state = unsafe { pernet::state(state) };
    state.counters.inc(ctr::IPRP_CTR_PRE_ROUTING_PKTS);
    bindings::NF_ACCEPT
}

/// LOCAL_OUT: client translation of outgoing packets of bound flows.
///
/// # Safety
///
/// As for [`iprp_rs_pre_routing`].
#[no_mangle]
pub unsafe extern "C" fn iprp_rs_local_out(state: *mut c_void, _skb: *mut sk_buff) -> u32 {
    // SAFETY: by the function's contract.
    let state = unsafe { pernet::state(state) };
    state.counters.inc(ctr::IPRP_CTR_LOCAL_OUT_PKTS);
    bindings::NF_ACCEPT
}
