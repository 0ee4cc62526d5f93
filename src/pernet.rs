// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each netns is an independent IPRP host.

use crate::uapi::iprp_counter as ctr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use kernel::bindings;
use kernel::prelude::*;

const N_COUNTERS: usize = ctr::__IPRP_CTR_MAX as usize;

/// Counters of one namespace, indexed by `enum iprp_counter`.
pub(crate) struct Counters([AtomicU64; N_COUNTERS]);

impl Counters {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; N_COUNTERS])
    }

    /// Adds one to counter `id`.
    pub(crate) fn inc(&self, id: ctr::Type) {
        if let Some(c) = self.0.get(id as usize) {
            // Relaxed: counters are statistics, ordered by nothing.
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self, out: &mut [u64]) {
        for (o, c) in out.iter_mut().zip(self.0.iter()) {
            *o = c.load(Ordering::Relaxed);
        }
    }
}

/// Namespace states allocated and not yet freed; must be 0 after unload.
pub(crate) static LIVE_STATES: AtomicUsize = AtomicUsize::new(0);

/// State of IPRP in one network namespace.
pub(crate) struct NetState {
    pub(crate) counters: Counters,
}

/// Allocates the state of a new namespace; NULL on allocation failure.
#[no_mangle]
pub(crate) extern "C" fn iprp_rs_net_init(_net: *mut bindings::net) -> *mut c_void {
    match KBox::new(
        NetState {
            counters: Counters::new(),
        },
        GFP_KERNEL,
    ) {
        Ok(state) => {
            LIVE_STATES.fetch_add(1, Ordering::Relaxed);
            KBox::into_raw(state).cast()
        }
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees the state of a namespace that is going away.
///
/// # Safety
///
/// `state` came from [`iprp_rs_net_init`], the namespace's hooks are
/// unregistered and no packet of this namespace can still reach us.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_net_exit(state: *mut c_void) {
    if !state.is_null() {
        // SAFETY: by the function's contract `state` is a `KBox<NetState>`
        // from `iprp_rs_net_init` that nobody else references any more.
        drop(unsafe { KBox::from_raw(state.cast::<NetState>()) });
        LIVE_STATES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Copies the counters of `state` into `out[0..n]`.
///
/// # Safety
///
/// `state` is a live state from [`iprp_rs_net_init`] and `out` points to `n`
/// writable u64.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_counters(state: *mut c_void, out: *mut u64, n: u32) {
    // SAFETY: by the function's contract.
    let (state, out) = unsafe {
        (
            &*state.cast::<NetState>(),
            core::slice::from_raw_parts_mut(out, n as usize),
        )
    };
    state.counters.snapshot(out);
}

/// Borrows the state behind the shim's pointer.
///
/// # Safety
///
/// `state` is a live state from [`iprp_rs_net_init`]; the namespace (and so
/// the state) outlives the returned reference, which holds for the duration
/// of a hook or protocol handler call.
pub(crate) unsafe fn state<'a>(state: *mut c_void) -> &'a NetState {
    // SAFETY: by the function's contract.
    unsafe { &*state.cast::<NetState>() }
}
