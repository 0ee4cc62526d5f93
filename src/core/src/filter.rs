// SPDX-License-Identifier: GPL-2.0
//! Lock-free pre-check for the client's per-packet lookups.
//!
//! Every TCP/UDP packet of a client host passes the hooks, and nearly all
//! of them belong to no binding. A binding's outgoing key starts with its
//! redirector's address and its incoming key with its replica's, and a host
//! talks to few redirectors and replicas. So the client keeps, for each
//! side, counters of live bindings indexed by a hash of that address (a
//! counting Bloom filter with one hash): a packet whose address hashes to
//! a zero counter has no binding, and needs no shard, lock or table walk.
//!
//! Counters are atomics, so every shard updates the one filter of its
//! role concurrently, under its own lock, and packets read it without any.
//! A counter is never 0 while a binding with an address hashing to it
//! lives (no false "absent"); other addresses sharing a counter only cost
//! a table lookup. A reader racing with the insert of a binding may miss
//! it: its packet is handled as if it had arrived just before.

use core::ops::Deref;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::wire::Ipv4;

/// Counters of a [`FixedBuckets`] set; a power of two.
pub const ADDR_BUCKETS: usize = 1024;

/// Most counters a set uses (a power of two): 256 KiB of counters.
pub const MAX_ADDR_BUCKETS: usize = 1 << 16;

/// [`ADDR_BUCKETS`] counters in place: for sets of few addresses (service
/// addresses, grants) and host tests.
pub struct FixedBuckets([AtomicU32; ADDR_BUCKETS]);

impl FixedBuckets {
    /// Zeroed counters.
    pub const fn new() -> Self {
        Self([const { AtomicU32::new(0) }; ADDR_BUCKETS])
    }
}

impl Default for FixedBuckets {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for FixedBuckets {
    type Target = [AtomicU32];
    fn deref(&self) -> &[AtomicU32] {
        &self.0
    }
}

/// Counters for a set that may hold up to `addresses` distinct addresses:
/// the next power of two, at least [`ADDR_BUCKETS`], at most
/// [`MAX_ADDR_BUCKETS`]. With n addresses in b counters, a packet to
/// another address passes the filter with probability about 1 − e^(−n/b).
pub fn buckets_for(addresses: usize) -> usize {
    addresses
        .checked_next_power_of_two()
        .unwrap_or(MAX_ADDR_BUCKETS)
        .clamp(ADDR_BUCKETS, MAX_ADDR_BUCKETS)
}

/// A counting filter of IPv4 addresses over caller storage `B` (its
/// length rounded down to a power of two, at least one counter).
pub struct AddrSet<B: Deref<Target = [AtomicU32]> = FixedBuckets> {
    count: B,
    /// 32 − log2(counters used): the top bits of the hash pick the counter.
    shift: u32,
    /// The sum of `count`, kept beside it: whether the set is empty is one
    /// load, not a walk over every bucket (a hook asks it per packet).
    total: AtomicU32,
}

impl Default for AddrSet {
    fn default() -> Self {
        Self::new()
    }
}

impl AddrSet {
    /// An empty set of [`ADDR_BUCKETS`] counters.
    pub const fn new() -> Self {
        Self {
            count: FixedBuckets::new(),
            shift: 32 - ADDR_BUCKETS.trailing_zeros(),
            total: AtomicU32::new(0),
        }
    }
}

impl<B: Deref<Target = [AtomicU32]>> AddrSet<B> {
    /// An empty set over `storage`; every counter is reset. Empty storage
    /// makes a set that never counts anything and never says "absent".
    pub fn new_in(storage: B) -> Self {
        for c in storage.iter() {
            c.store(0, Ordering::Relaxed);
        }
        let n = storage.len().min(1 << 31);
        let used = if n == 0 { 1 } else { 1usize << n.ilog2() };
        Self {
            count: storage,
            shift: 32 - used.trailing_zeros(),
            total: AtomicU32::new(0),
        }
    }

    /// Counters in use.
    pub fn buckets(&self) -> usize {
        1usize << (32 - self.shift)
    }

    #[inline]
    fn bucket(&self, a: Ipv4) -> Option<&AtomicU32> {
        // Fibonacci hashing: the top bits of a multiplicative hash spread
        // neighbouring addresses over the table. A shift of 32 (one
        // counter) must not overflow.
        let h = a.to_bits().wrapping_mul(0x9e37_79b1);
        let i = h.checked_shr(self.shift).unwrap_or(0);
        self.count.get(i as usize)
    }

    /// False only if no live binding has address `a`.
    #[inline]
    pub fn may_contain(&self, a: Ipv4) -> bool {
        self.bucket(a)
            .is_none_or(|c| c.load(Ordering::Acquire) != 0)
    }

    /// Counts one more binding with address `a`.
    pub fn add(&self, a: Ipv4) {
        let Some(c) = self.bucket(a) else {
            return;
        };
        // The total first: a reader that sees the bucket also sees it.
        self.total.fetch_add(1, Ordering::AcqRel);
        c.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts one binding with address `a` fewer (never below 0).
    pub fn remove(&self, a: Ipv4) {
        let removed = self.bucket(a).is_some_and(|c| {
            c.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        });
        if removed {
            self.total.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Bindings counted in all buckets: one load.
    #[inline]
    pub fn total(&self) -> u64 {
        u64::from(self.total.load(Ordering::Acquire))
    }

    /// True while no address is counted: one load.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// The two address sets of a client role, shared by its shards.
pub struct AddrFilter<B: Deref<Target = [AtomicU32]> = FixedBuckets> {
    /// Redirector addresses: the destination of outgoing packets to check.
    pub redirectors: AddrSet<B>,
    /// Replica addresses: the source of incoming packets to check.
    pub replicas: AddrSet<B>,
}

impl Default for AddrFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl AddrFilter {
    /// An empty filter of [`ADDR_BUCKETS`] counters per side.
    pub const fn new() -> Self {
        Self {
            redirectors: AddrSet::new(),
            replicas: AddrSet::new(),
        }
    }
}

impl<B: Deref<Target = [AtomicU32]>> AddrFilter<B> {
    /// An empty filter over caller storage, one per side (the kernel
    /// sizes them with [`buckets_for`] from the table's capacity).
    pub fn new_in(redirectors: B, replicas: B) -> Self {
        Self {
            redirectors: AddrSet::new_in(redirectors),
            replicas: AddrSet::new_in(replicas),
        }
    }
}

/// A filter owned by one shard (host tests, a single shard).
#[derive(Default)]
pub struct OwnedFilter(pub AddrFilter);

impl Deref for OwnedFilter {
    type Target = AddrFilter;
    fn deref(&self) -> &AddrFilter {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4;
    use std::collections::HashMap;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn empty_contains_nothing() {
        let s = AddrSet::new();
        assert!(!s.may_contain(ipv4(10, 0, 0, 1)));
        assert!(!s.may_contain(Ipv4::UNSPECIFIED));
    }

    #[test]
    fn counts_bindings_per_address() {
        let s = AddrSet::new();
        let a7 = Ipv4::from_bits(7);
        s.add(a7);
        s.add(a7);
        s.remove(a7);
        assert!(s.may_contain(a7));
        s.remove(a7);
        assert!(!s.may_contain(a7));
        s.remove(a7);
        assert_eq!(s.total(), 0, "never below zero");
    }

    #[test]
    fn neighbouring_addresses_spread() {
        // A /24 of replicas lands in (almost) distinct buckets.
        let s = AddrSet::new();
        let mut seen = std::collections::HashSet::new();
        for a in 0x0a00_0000u32..0x0a00_0100 {
            seen.insert(s.bucket(Ipv4::from_bits(a)).map(|c| c as *const AtomicU32));
        }
        assert!(
            seen.len() >= 250,
            "{} buckets for 256 addresses",
            seen.len()
        );
    }

    /// A xorshift64 generator from `seed` (not 0): test addresses.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Random adds and removes against a multiset: an address with live
    /// bindings is always possible; absent ones mostly are not.
    #[test]
    fn agrees_with_a_multiset() {
        let mut next = xorshift(0x1234_5678_9abc_def0);
        let mut false_pos = 0u32;
        let mut absent = 0u32;
        for _ in 0..50 {
            let s = AddrSet::new();
            let mut model: HashMap<Ipv4, u32> = HashMap::new();
            let universe: Vec<Ipv4> = (0..60).map(|_| Ipv4::from_bits(next() as u32)).collect();
            for _ in 0..2_000 {
                let a = universe[(next() % 60) as usize];
                let live = model.get(&a).copied().unwrap_or(0);
                if next().is_multiple_of(2) || live == 0 {
                    s.add(a);
                    *model.entry(a).or_default() += 1;
                } else {
                    s.remove(a);
                    *model.get_mut(&a).unwrap() -= 1;
                }
            }
            for &x in &universe {
                if model.get(&x).copied().unwrap_or(0) != 0 {
                    assert!(s.may_contain(x), "lost address {x}");
                }
            }
            for _ in 0..1_000 {
                let x = Ipv4::from_bits(next() as u32);
                if !model.contains_key(&x) {
                    absent += 1;
                    false_pos += u32::from(s.may_contain(x));
                }
            }
            let live: u64 = model.values().map(|&c| u64::from(c)).sum();
            assert_eq!(s.total(), live);
        }
        // At most ~60 live addresses in 1024 buckets: about 6 % false hits.
        assert!(false_pos * 100 < absent * 10, "{false_pos} of {absent}");
    }

    /// Thousands of redirector addresses: 1,024 counters are nearly all
    /// taken, so almost every packet passes the filter; counters sized for
    /// the table keep false hits rare.
    #[test]
    fn a_set_sized_for_many_addresses_keeps_false_hits_rare() {
        let mut next64 = xorshift(0x9e37_79b9_7f4a_7c15);
        let mut next = move || next64() as u32;
        let fixed = AddrSet::new();
        let storage: Vec<AtomicU32> = (0..buckets_for(1 << 20))
            .map(|_| AtomicU32::new(0))
            .collect();
        let sized = AddrSet::new_in(storage);
        assert_eq!(sized.buckets(), MAX_ADDR_BUCKETS);
        let live: Vec<Ipv4> = (0..5_000).map(|_| Ipv4::from_bits(next())).collect();
        for &a in &live {
            fixed.add(a);
            sized.add(a);
        }
        let (mut fixed_hits, mut sized_hits) = (0, 0);
        for _ in 0..10_000 {
            let a = Ipv4::from_bits(next());
            fixed_hits += u32::from(fixed.may_contain(a));
            sized_hits += u32::from(sized.may_contain(a));
        }
        assert!(live.iter().all(|&a| sized.may_contain(a)));
        // 1 - e^(-5000/1024) = 99 %; 1 - e^(-5000/65536) = 7 %.
        assert!(fixed_hits > 9_500, "{fixed_hits}");
        assert!(sized_hits < 1_000, "{sized_hits}");
        for &a in &live {
            sized.remove(a);
        }
        assert!(sized.is_empty());
        assert!(live.iter().all(|&a| !sized.may_contain(a)));
    }

    #[test]
    fn storage_is_used_in_powers_of_two() {
        assert_eq!(buckets_for(0), ADDR_BUCKETS);
        assert_eq!(buckets_for(16_384), 16_384);
        assert_eq!(buckets_for(16_385), 32_768);
        assert_eq!(buckets_for(usize::MAX), MAX_ADDR_BUCKETS);
        let v: Vec<AtomicU32> = (0..3_000).map(|_| AtomicU32::new(7)).collect();
        let s = AddrSet::new_in(v);
        assert_eq!(s.buckets(), 2_048);
        assert!(!s.may_contain(Ipv4::from_bits(1)), "counters reset");
        // One counter: everything shares it.
        let one = AddrSet::new_in(vec![AtomicU32::new(0)]);
        one.add(Ipv4::from_bits(1));
        assert!(one.may_contain(Ipv4::from_bits(0xffff_ffff)));
        // No storage: nothing can be counted, so nothing is ever "absent".
        let none = AddrSet::new_in(Vec::<AtomicU32>::new());
        assert!(none.may_contain(Ipv4::from_bits(1)));
    }
}
