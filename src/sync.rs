// SPDX-License-Identifier: GPL-2.0

//! Locks of the packet path.
//!
//! [`BhLock`] is a spin lock that disables bottom halves while held.
//!
//! [`Sharded`] is a table split into [`NSHARDS`] shards, each behind its own
//! spin lock, plus data every shard reads: a packet takes the lock of its
//! flow's shard only, and reads the shared data under it; a writer of the
//! shared data takes every shard's lock, in order (a "big reader" lock). So
//! packets of different shards never wait for each other, and the shared
//! data changes only while no packet reads it.
//!
//! Every lock here is taken with bottom halves disabled by the lock itself
//! (the packet path runs in softirq context, netlink and LOCAL_OUT in
//! process context), so no caller has to remember it.

use crate::shim;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use kernel::prelude::*;
use kernel::sync::lock::{spinlock::SpinLockBackend, Guard};
use kernel::sync::{LockClassKey, SpinLock};

/// Shards of a [`Sharded`] table.
pub(crate) const NSHARDS: usize = 16;

/// `NSHARDS` spin locks, each of its own lockdep class (a writer holds them
/// all at once, in index order, which lockdep accepts only for distinct
/// classes).
macro_rules! shard_locks {
    ($init:ident; $($i:literal)*) => {
        [$(
            KBox::pin_init(
                SpinLock::new($init($i)?, c"iprp_shard", kernel::static_lock_class!()),
                GFP_KERNEL,
            )?,
        )*]
    };
}

/// Shards of type `T` that each have their own lock, and data of type `S`
/// that all of them read.
pub(crate) struct Sharded<S, T> {
    shards: [Pin<KBox<SpinLock<T>>>; NSHARDS],
    /// Read under any one shard's lock, written under all of them.
    shared: UnsafeCell<S>,
}

// SAFETY: `shared` is only reached through `shard` (shared access under one
// shard lock) and `lock_all` (exclusive access under every shard lock), so
// it is sent and shared between threads like the data of a lock; the shards
// are in `SpinLock`s.
unsafe impl<S: Send, T: Send> Send for Sharded<S, T> {}
// SAFETY: as for `Send`: `&Sharded` gives `&S` to several threads at once
// (needs `S: Sync`) and `&mut S` to one (needs `S: Send`).
unsafe impl<S: Send + Sync, T: Send> Sync for Sharded<S, T> {}

/// One shard locked, bottom halves off until it is dropped.
pub(crate) struct ShardGuard<'a, S, T> {
    /// The data all shards share, read-only.
    pub(crate) shared: &'a S,
    /// The shard.
    pub(crate) shard: Guard<'a, T, SpinLockBackend>,
    _bh: BhOff,
}

/// Every shard locked, bottom halves off until it is dropped.
pub(crate) struct AllGuard<'a, S, T> {
    /// The shared data, writable.
    pub(crate) shared: &'a mut S,
    /// The shards, in index order.
    pub(crate) shards: [Guard<'a, T, SpinLockBackend>; NSHARDS],
    _bh: BhOff,
}

/// Bottom halves disabled while it lives; declared last in the guards, so
/// it is dropped after their locks.
struct BhOff;

impl BhOff {
    fn new() -> Self {
        shim::bh_disable();
        Self
    }
}

impl Drop for BhOff {
    fn drop(&mut self) {
        shim::bh_enable();
    }
}

/// A spin lock that disables bottom halves while it is held. Make one with
/// [`new_bh_lock!`], which gives each call site its lockdep class.
pub(crate) struct BhLock<T> {
    lock: Pin<KBox<SpinLock<T>>>,
}

/// A held [`BhLock`]; bottom halves are back on when it is dropped.
pub(crate) struct BhGuard<'a, T> {
    guard: Guard<'a, T, SpinLockBackend>,
    _bh: BhOff,
}

impl<T> BhLock<T> {
    /// A lock over `t` of lockdep class `key`.
    pub(crate) fn new(t: T, name: &'static CStr, key: Pin<&'static LockClassKey>) -> Result<Self> {
        Ok(Self {
            lock: KBox::pin_init(SpinLock::new(t, name, key), GFP_KERNEL)?,
        })
    }

    /// Disables bottom halves and takes the lock.
    pub(crate) fn lock(&self) -> BhGuard<'_, T> {
        let bh = BhOff::new();
        BhGuard {
            guard: self.lock.lock(),
            _bh: bh,
        }
    }
}

impl<T> Deref for BhGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: Unpin> DerefMut for BhGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// A [`BhLock`] over `$t` named `$name`, of its own lockdep class.
macro_rules! new_bh_lock {
    ($t:expr, $name:literal) => {
        $crate::sync::BhLock::new($t, $name, kernel::static_lock_class!())
    };
}
pub(crate) use new_bh_lock;

impl<S, T> Sharded<S, T> {
    /// `shared`, and shard `i` made by `init(i)`.
    pub(crate) fn new(shared: S, init: impl Fn(usize) -> Result<T>) -> Result<Self> {
        Ok(Self {
            shards: shard_locks!(init; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15),
            shared: UnsafeCell::new(shared),
        })
    }

    /// Locks shard `i` (taken modulo [`NSHARDS`]).
    pub(crate) fn shard(&self, i: usize) -> ShardGuard<'_, S, T> {
        let bh = BhOff::new();
        let shard = self.shards[i % NSHARDS].lock();
        ShardGuard {
            // SAFETY: we hold shard `i`'s lock, so no `AllGuard` (which
            // holds every shard's lock) exists, and none can be made while
            // this guard lives: nobody has `&mut S`.
            shared: unsafe { &*self.shared.get() },
            shard,
            _bh: bh,
        }
    }

    /// Locks every shard, in index order.
    pub(crate) fn lock_all(&self) -> AllGuard<'_, S, T> {
        let bh = BhOff::new();
        let shards = core::array::from_fn(|i| self.shards[i].lock());
        AllGuard {
            // SAFETY: we hold every shard's lock: no `ShardGuard` or other
            // `AllGuard` exists, so this is the only reference to `shared`.
            shared: unsafe { &mut *self.shared.get() },
            shards,
            _bh: bh,
        }
    }
}
