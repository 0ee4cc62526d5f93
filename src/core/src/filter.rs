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

use core::sync::atomic::{AtomicU32, Ordering};

use crate::wire::Ipv4;

/// Counters per address set; a power of two.
pub const ADDR_BUCKETS: usize = 1024;

/// A counting filter of IPv4 addresses.
pub struct AddrSet {
    count: [AtomicU32; ADDR_BUCKETS],
    /// The sum of `count`, kept beside it: whether the set is empty is one
    /// load, not a walk over every bucket (a hook asks it per packet).
    total: AtomicU32,
}

impl Default for AddrSet {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn bucket(a: Ipv4) -> usize {
    // Fibonacci hashing: the top bits of a multiplicative hash spread
    // neighbouring addresses over the table.
    (a.to_bits().wrapping_mul(0x9e37_79b1) >> (32 - ADDR_BUCKETS.trailing_zeros())) as usize
}

impl AddrSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            count: [const { AtomicU32::new(0) }; ADDR_BUCKETS],
            total: AtomicU32::new(0),
        }
    }

    /// False only if no live binding has address `a`.
    #[inline]
    pub fn may_contain(&self, a: Ipv4) -> bool {
        self.count[bucket(a)].load(Ordering::Acquire) != 0
    }

    /// Counts one more binding with address `a`.
    pub fn add(&self, a: Ipv4) {
        // The total first: a reader that sees the bucket also sees it.
        self.total.fetch_add(1, Ordering::AcqRel);
        self.count[bucket(a)].fetch_add(1, Ordering::AcqRel);
    }

    /// Counts one binding with address `a` fewer (never below 0).
    pub fn remove(&self, a: Ipv4) {
        let removed = self.count[bucket(a)]
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
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
#[derive(Default)]
pub struct AddrFilter {
    /// Redirector addresses: the destination of outgoing packets to check.
    pub redirectors: AddrSet,
    /// Replica addresses: the source of incoming packets to check.
    pub replicas: AddrSet,
}

impl AddrFilter {
    /// An empty filter.
    pub const fn new() -> Self {
        Self {
            redirectors: AddrSet::new(),
            replicas: AddrSet::new(),
        }
    }
}

/// A filter owned by one shard (host tests, a single shard).
#[derive(Default)]
pub struct OwnedFilter(pub AddrFilter);

impl core::ops::Deref for OwnedFilter {
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
        let mut seen = std::collections::HashSet::new();
        for a in 0x0a00_0000u32..0x0a00_0100 {
            seen.insert(bucket(Ipv4::from_bits(a)));
        }
        assert!(
            seen.len() >= 250,
            "{} buckets for 256 addresses",
            seen.len()
        );
    }

    /// Random adds and removes against a multiset: an address with live
    /// bindings is always possible; absent ones mostly are not.
    #[test]
    fn agrees_with_a_multiset() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut false_pos = 0u32;
        let mut absent = 0u32;
        for _ in 0..50 {
            let s = AddrSet::new();
            let mut model: HashMap<Ipv4, u32> = HashMap::new();
            let universe: Vec<Ipv4> = (0..60).map(|_| Ipv4::from_bits(next() as u32)).collect();
            for _ in 0..2_000 {
                let a = universe[(next() % 60) as usize];
                let live = model.get(&a).copied().unwrap_or(0);
                if next() % 2 == 0 || live == 0 {
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
}
