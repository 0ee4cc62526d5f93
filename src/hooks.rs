// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks at PRE_ROUTING and LOCAL_OUT (registered by the shim).

/// What a hook tells the shim to do with the packet; the shim maps it to
/// the netfilter verdict (keeps `NF_*` constants on the C side).
#[repr(u32)]
pub(crate) enum Verdict {
    /// Let the packet continue (`NF_ACCEPT`).
    Accept = 0,
}

use crate::pernet;
use crate::uapi::iprp_counter as ctr;
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// PRE_ROUTING: redirector ingress and client translation of replica replies.
///
/// # Safety
///
/// Called by the shim's netfilter hook with the namespace's live state and
/// a valid skb.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_pre_routing(state: *mut c_void, _skb: *mut sk_buff) -> Verdict {
    // SAFETY: by the function's contract.
    let state = unsafe { pernet::state(state) };
    state.counters.inc(ctr::IPRP_CTR_PRE_ROUTING_PKTS);
    Verdict::Accept
}

/// LOCAL_OUT: client translation of outgoing packets of bound flows.
///
/// # Safety
///
/// As for [`iprp_rs_pre_routing`].
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_local_out(state: *mut c_void, _skb: *mut sk_buff) -> Verdict {
    // SAFETY: by the function's contract.
    let state = unsafe { pernet::state(state) };
    state.counters.inc(ctr::IPRP_CTR_LOCAL_OUT_PKTS);
    Verdict::Accept
}
