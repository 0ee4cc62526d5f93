// SPDX-License-Identifier: GPL-2.0

//! The IP protocol 99 handler: redirection messages.

use crate::pernet;
use crate::shim::OwnedSkb;
use crate::uapi::iprp_counter as ctr;
use iprp_core::wire::{self, ParseError};
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// Receives one protocol-99 packet; `skb->data` is at the IPRP message.
///
/// # Safety
///
/// Called by the shim's `net_protocol` handler with the namespace's live
/// state and an skb whose ownership passes to us.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_proto_rcv(state: *mut c_void, skb: *mut sk_buff) -> i32 {
    // SAFETY: by the function's contract.
    let (state, skb) = unsafe { (pernet::state(state), OwnedSkb::from_raw(skb)) };
    let counters = &state.counters;
    counters.inc(ctr::IPRP_CTR_PROTO_RX);

    let mut buf = [0u8; wire::MSG_LEN];
    let len = skb.len().min(buf.len());
    let copied = buf.get_mut(..len).is_some_and(|b| skb.copy_bits(0, b));
    let parsed = if copied {
        wire::Repr::parse(buf.get(..len).unwrap_or(&[]))
    } else {
        Err(ParseError::Short)
    };
    match parsed {
        Ok(_msg) => {
            counters.inc(ctr::IPRP_CTR_PROTO_VALID);
            skb.consume();
        }
        Err(e) => {
            counters.inc(match e {
                ParseError::Short => ctr::IPRP_CTR_DROP_SHORT,
                ParseError::BadType => ctr::IPRP_CTR_DROP_BAD_TYPE,
                ParseError::BadProto => ctr::IPRP_CTR_DROP_BAD_PROTO,
            });
            drop(skb);
        }
    }
    0
}
