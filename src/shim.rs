// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C shim's functions and safe wrappers around them.

use kernel::bindings::sk_buff;
use kernel::error::to_result;
use kernel::prelude::*;

extern "C" {
    fn iprp_shim_init() -> core::ffi::c_int;
    fn iprp_shim_exit();
    fn iprp_shim_copy_bits(
        skb: *const sk_buff,
        offset: core::ffi::c_int,
        to: *mut core::ffi::c_void,
        len: core::ffi::c_int,
    ) -> core::ffi::c_int;
    fn iprp_shim_skb_len(skb: *const sk_buff) -> core::ffi::c_uint;
    fn iprp_shim_kfree_skb(skb: *mut sk_buff);
    fn iprp_shim_consume_skb(skb: *mut sk_buff);
}

/// Registers pernet ops, the protocol-99 handler and the netlink family.
pub(crate) fn init() -> Result {
    // SAFETY: called once from module init, before any other shim call.
    to_result(unsafe { iprp_shim_init() })
}

/// Undoes [`init`]; on return no hook or handler of ours can run.
pub(crate) fn exit() {
    // SAFETY: called once from module exit, after a successful `init`.
    unsafe { iprp_shim_exit() }
}

/// A socket buffer handed to us by the stack, which we now own.
///
/// # Invariants
///
/// `ptr` is a valid `sk_buff` owned by this value until it is consumed,
/// dropped or returned to the stack.
pub(crate) struct OwnedSkb {
    ptr: *mut sk_buff,
}

impl OwnedSkb {
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose ownership passes to the new value.
    pub(crate) unsafe fn from_raw(ptr: *mut sk_buff) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { ptr }
    }

    /// Bytes of packet data from `skb->data` on.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `self.ptr` is valid by the type invariant.
        unsafe { iprp_shim_skb_len(self.ptr) as usize }
    }

    /// Copies `to.len()` bytes starting at `offset`; false if the packet is
    /// shorter.
    pub(crate) fn copy_bits(&self, offset: usize, to: &mut [u8]) -> bool {
        let (Ok(off), Ok(len)) = (i32::try_from(offset), i32::try_from(to.len())) else {
            return false;
        };
        // SAFETY: `self.ptr` is valid by the type invariant and `to` is a
        // writable buffer of exactly `len` bytes.
        unsafe { iprp_shim_copy_bits(self.ptr, off, to.as_mut_ptr().cast(), len) == 0 }
    }

    /// Frees a packet we accepted and processed (not a drop).
    pub(crate) fn consume(self) {
        let ptr = self.ptr;
        core::mem::forget(self);
        // SAFETY: we own `ptr` (type invariant) and give it up here.
        unsafe { iprp_shim_consume_skb(ptr) }
    }
}

impl Drop for OwnedSkb {
    /// Dropping an owned skb is a packet drop.
    fn drop(&mut self) {
        // SAFETY: we own `self.ptr` (type invariant) and never use it again.
        unsafe { iprp_shim_kfree_skb(self.ptr) }
    }
}
