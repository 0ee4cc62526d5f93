// SPDX-License-Identifier: GPL-2.0

//! Storage of the routes cached per client binding (src/route.c).
//!
//! One slot per binding a client table can hold, in the order of the
//! shards' table slots, so a lock-free CONFIRMED hit names its binding's
//! slot ([`iprp_core::readidx::ReadIndex::read_at`]). A slot is an RCU
//! pointer that only src/route.c reads and replaces, inside the LOCAL_OUT
//! hook; what it points to says itself which route inputs it is valid for,
//! so a slot that passes to the next binding in its table slot needs no
//! clearing. The routes are released when the client's tables are freed.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;

/// `struct iprp_route` of src/route.c: opaque here.
#[repr(C)]
pub(crate) struct Route {
    _opaque: [u8; 0],
}

extern "C" {
    fn iprp_route_free(r: *mut Route);
}

/// One binding's slot: `struct iprp_route __rcu *` for the C side, which
/// reads it with `rcu_dereference` and replaces it with `xchg`.
#[repr(transparent)]
pub(crate) struct RouteSlot(AtomicPtr<Route>);

/// The slots of one client's bindings: `per_shard` per shard.
pub(crate) struct RouteCache {
    slots: KVVec<RouteSlot>,
    per_shard: usize,
}

impl RouteCache {
    /// Empty slots for `shards` shards of `per_shard` bindings each.
    pub(crate) fn new(shards: usize, per_shard: usize) -> Result<Self> {
        let n = shards.checked_mul(per_shard).ok_or(EINVAL)?;
        let mut slots = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(RouteSlot(AtomicPtr::new(core::ptr::null_mut())), GFP_KERNEL)?;
        }
        Ok(Self { slots, per_shard })
    }

    /// The slot of the binding in table slot `entry` of shard `shard`, as
    /// the pointer the C side takes; null if out of range.
    #[inline]
    pub(crate) fn slot(&self, shard: usize, entry: u32) -> *mut *mut Route {
        if entry as usize >= self.per_shard {
            return core::ptr::null_mut();
        }
        shard
            .checked_mul(self.per_shard)
            .and_then(|i| i.checked_add(entry as usize))
            .and_then(|i| self.slots.get(i))
            .map_or(core::ptr::null_mut(), |s| s.0.as_ptr())
    }
}

impl Drop for RouteCache {
    fn drop(&mut self) {
        for s in self.slots.iter() {
            let r = s.0.swap(core::ptr::null_mut(), Ordering::Acquire);
            if !r.is_null() {
                // SAFETY: a non-null slot holds a route stored by
                // src/route.c, owned by the slot; the client's tables are
                // freed only when no hook of the namespace runs any more,
                // so nothing else can read or replace it.
                unsafe { iprp_route_free(r) };
            }
        }
    }
}
