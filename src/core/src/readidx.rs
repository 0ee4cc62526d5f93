// SPDX-License-Identifier: GPL-2.0
//! Lock-free read side of a client shard: every binding's two keys, for
//! the packet hooks.
//!
//! Nearly every packet a client translates belongs to a CONFIRMED binding,
//! and the answer it needs is one address. A [`ReadIndex`] keeps, for each
//! binding of its shard, the outgoing key (redirector, proto, client port,
//! server port) → replica and the incoming key (replica, proto, client
//! port, server port) → redirector, with the binding's state, in an
//! open-addressed table of atomic words. The shard writes it under its
//! lock; packets read it with no lock, no bottom-half toggle and no write
//! to shared state except an activity mark.
//!
//! Consistency is a sequence count (a seqlock): a writer makes the count
//! odd, changes slots, and makes it even again; a reader notes the count,
//! probes, and keeps its answer only if the count did not change. A reader
//! that meets a writer returns [`Read::Busy`] and the caller takes the
//! shard's lock instead, so no answer is ever made from a half-written
//! index. Every field is an atomic: the index needs no `unsafe`.
//!
//! The table has four slots per binding the shard can hold (two keys per
//! binding), so it is at most half full and never refuses an insert;
//! linear probing from a keyed hash, deletion by backward shift (no
//! tombstones), so a lookup that finds nothing stops at the first empty
//! slot.
//!
//! Activity: a hit on a CONFIRMED binding raises an activity mark kept
//! for the binding's table slot (one store, only when the mark was down;
//! no clock is read). The shard's timer, when its sweep visits the
//! binding, takes the mark down with [`ReadIndex::take_mark`] and counts
//! the binding active at that moment. So a binding whose packets all go
//! the lock-free way is seen active at most one sweep round late, never
//! early: it expires between its idle timeout and the idle timeout plus one
//! sweep round after its last packet. A mark that races with the removal
//! of its binding may land on the binding that next takes the slot, which
//! then lives one sweep round longer.

use core::ops::Deref;
use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use crate::hash::HashKey;
use crate::wire::{Ipv4, Proto};

/// Slots per binding the shard can hold.
pub const SLOTS_PER_BINDING: usize = 4;

/// Which key of a binding a slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    /// Outgoing key: (redirector, proto, cport, sport) → replica.
    Out = 0,
    /// Incoming key: (replica, proto, cport, sport) → redirector.
    In = 1,
}

/// Answer of a lock-free lookup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Read {
    /// No binding has this key.
    Absent,
    /// A CHECKING binding has it: the caller needs the shard (held
    /// packets, activity of a CHECKING binding).
    Checking,
    /// A CONFIRMED binding has it: translate to this address.
    Confirmed(Ipv4),
    /// A writer was changing the index: ask the shard under its lock.
    Busy,
}

/// One slot: all atomics, written by the shard under its lock.
pub struct ReadSlot {
    /// `address << 32 | cport << 16 | sport`.
    key: AtomicU64,
    /// 0 when empty; else [`USED`] | flags | proto << 32 | answer address.
    val: AtomicU64,
    /// The binding's slot in the shard's table.
    entry: AtomicU32,
    /// Activity mark of the binding in table slot `i` is `slots[i].mark`
    /// (unrelated to the key this slot holds).
    mark: AtomicU32,
}

impl ReadSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        Self {
            key: AtomicU64::new(0),
            val: AtomicU64::new(0),
            entry: AtomicU32::new(0),
            mark: AtomicU32::new(0),
        }
    }
}

impl Default for ReadSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// One key of a binding: direction, address (redirector out, replica
/// in), protocol, client port, server port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Key {
    /// Which key.
    pub dir: Dir,
    /// The redirector ([`Dir::Out`]) or the replica ([`Dir::In`]).
    pub addr: Ipv4,
    /// Transport protocol.
    pub proto: Proto,
    /// Client (local) port.
    pub cport: u16,
    /// Server port.
    pub sport: u16,
}

impl Key {
    /// The outgoing key of a flow to `redirector`.
    pub const fn out(redirector: Ipv4, proto: Proto, cport: u16, sport: u16) -> Self {
        Self {
            dir: Dir::Out,
            addr: redirector,
            proto,
            cport,
            sport,
        }
    }

    /// The incoming key of a flow from `replica`.
    pub const fn from_replica(replica: Ipv4, proto: Proto, cport: u16, sport: u16) -> Self {
        Self {
            dir: Dir::In,
            addr: replica,
            proto,
            cport,
            sport,
        }
    }

    #[inline]
    fn word(&self) -> u64 {
        key_word(self.addr, self.cport, self.sport)
    }

    #[inline]
    fn tag(&self) -> u64 {
        val_tag(val_word(self.dir, self.proto, Ipv4::UNSPECIFIED, false))
    }
}

const USED: u64 = 1 << 63;
const CONFIRMED: u64 = 1 << 62;
const DIR_IN: u64 = 1 << 61;

#[inline]
fn key_word(addr: Ipv4, cport: u16, sport: u16) -> u64 {
    (u64::from(addr.to_bits()) << 32) | (u64::from(cport) << 16) | u64::from(sport)
}

#[inline]
fn val_word(dir: Dir, proto: Proto, answer: Ipv4, confirmed: bool) -> u64 {
    let mut v = USED | ((proto as u64) << 32) | u64::from(answer.to_bits());
    if dir == Dir::In {
        v |= DIR_IN;
    }
    if confirmed {
        v |= CONFIRMED;
    }
    v
}

/// The part of `val` that must match a lookup: used, direction, proto.
#[inline]
fn val_tag(v: u64) -> u64 {
    v & (USED | DIR_IN | (0xff << 32))
}

/// Hash of a flow's protocol and ports with the table's secret key: the
/// client's hooks compute it once per packet, pick the shard from it
/// (`crate::hash::reduce(h, shards)`, as [`crate::shard_index`]) and probe
/// that shard's index with it.
pub fn ports_hash(key: &HashKey, proto: Proto, cport: u16, sport: u16) -> u64 {
    key.hash1(((proto as u64) << 32) | (u64::from(cport) << 16) | u64::from(sport))
}

/// A bijective 64-bit mixer (the SplitMix64 finaliser).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The lock-free index of one client shard over caller storage `S`.
pub struct ReadIndex<S: Deref<Target = [ReadSlot]>> {
    slots: S,
    cap: u32,
    seq: AtomicU32,
    key: HashKey,
}

impl<S: Deref<Target = [ReadSlot]>> ReadIndex<S> {
    /// An index over `storage`: give it [`SLOTS_PER_BINDING`] slots per
    /// binding the shard can hold, so it is never more than half full.
    /// Every slot is reset.
    pub fn new_in(storage: S, key: HashKey) -> Self {
        for s in storage.iter() {
            s.key.store(0, Ordering::Relaxed);
            s.val.store(0, Ordering::Relaxed);
            s.entry.store(0, Ordering::Relaxed);
            s.mark.store(0, Ordering::Relaxed);
        }
        let cap = storage.len().min(u32::MAX as usize) as u32;
        Self {
            slots: storage,
            cap,
            seq: AtomicU32::new(0),
            key,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.cap as usize
    }

    #[inline]
    fn home(&self, hp: u64, dir: Dir, addr: Ipv4) -> u32 {
        let h = hp ^ mix((u64::from(addr.to_bits()) | ((dir as u64) << 32)) ^ self.key.k0);
        ((u128::from(h) * u128::from(self.cap)) >> 64) as u32
    }

    /// Where the probe of the key in `key` word / `val` word starts.
    fn home_of(&self, key: u64, val: u64) -> u32 {
        let proto = if (val >> 32) as u8 == Proto::Udp as u8 {
            Proto::Udp
        } else {
            Proto::Tcp
        };
        let dir = if val & DIR_IN != 0 { Dir::In } else { Dir::Out };
        let hp = ports_hash(&self.key, proto, (key >> 16) as u16, key as u16);
        self.home(hp, dir, Ipv4::from_bits((key >> 32) as u32))
    }

    #[inline]
    fn next(&self, i: u32) -> u32 {
        if i + 1 >= self.cap {
            0
        } else {
            i + 1
        }
    }

    /// Lock-free lookup of key `k`, whose [`ports_hash`] is `hp`. On a
    /// CONFIRMED hit, raises the binding's activity mark. It writes nothing
    /// else: the caller counts translated packets (the kernel per CPU), so
    /// no hit writes the cache line of `seq` that every reader loads.
    #[inline]
    pub fn read(&self, hp: u64, k: &Key) -> Read {
        self.read_at(hp, k).0
    }

    /// [`Self::read`], and for a CONFIRMED hit also the binding's slot in
    /// the shard's table (0 otherwise), which the caller may use to keep
    /// per-binding data of its own beside the table (the kernel caches the
    /// replica's route there). The slot is read after the sequence check: a
    /// writer may have given it to another binding since, so data kept per
    /// slot must say itself what it is valid for.
    #[inline]
    pub fn read_at(&self, hp: u64, k: &Key) -> (Read, u32) {
        if self.cap == 0 {
            return (Read::Absent, 0);
        }
        let s0 = self.seq.load(Ordering::Acquire);
        if s0 & 1 != 0 {
            return (Read::Busy, 0);
        }
        let found = self.probe(hp, k);
        fence(Ordering::Acquire);
        if self.seq.load(Ordering::Relaxed) != s0 {
            return (Read::Busy, 0);
        }
        let Some((_, slot, v)) = found else {
            return (Read::Absent, 0);
        };
        if v & CONFIRMED == 0 {
            return (Read::Checking, 0);
        }
        let entry = slot.entry.load(Ordering::Relaxed);
        if let Some(m) = self.slots.get(entry as usize).map(|s| &s.mark) {
            if m.load(Ordering::Relaxed) == 0 {
                m.store(1, Ordering::Relaxed);
            }
        }
        (Read::Confirmed(Ipv4::from_bits(v as u32)), entry)
    }

    fn write_begin(&self) -> u32 {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        s
    }

    fn write_end(&self, s: u32) {
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// The slot holding key `k`, for writers.
    fn find(&self, k: &Key) -> Option<u32> {
        if self.cap == 0 {
            return None;
        }
        let hp = ports_hash(&self.key, k.proto, k.cport, k.sport);
        self.probe(hp, k).map(|(i, _, _)| i)
    }

    /// Linear probe for key `k` (whose [`ports_hash`] is `hp`) from its
    /// home slot to the first empty one: its position, slot and `val` word.
    /// Readers must check the sequence count before trusting the result.
    #[inline]
    fn probe(&self, hp: u64, k: &Key) -> Option<(u32, &ReadSlot, u64)> {
        let (want_key, want_tag) = (k.word(), k.tag());
        let mut i = self.home(hp, k.dir, k.addr);
        for _ in 0..self.cap {
            let slot = self.slots.get(i as usize)?;
            let v = slot.val.load(Ordering::Relaxed);
            if v == 0 {
                return None;
            }
            if val_tag(v) == want_tag && slot.key.load(Ordering::Relaxed) == want_key {
                return Some((i, slot, v));
            }
            i = self.next(i);
        }
        None
    }

    /// Writer (under the shard's lock): adds key `k` of the binding in table
    /// slot `entry`, with its answer and state. False if the index is full
    /// (it never is when sized as [`Self::new_in`] asks).
    pub fn insert(&self, k: &Key, answer: Ipv4, confirmed: bool, entry: u32) -> bool {
        if self.cap == 0 {
            return false;
        }
        let hp = ports_hash(&self.key, k.proto, k.cport, k.sport);
        if let Some(s) = self.slots.get(entry as usize) {
            s.mark.store(0, Ordering::Relaxed);
        }
        let mut i = self.home(hp, k.dir, k.addr);
        for _ in 0..self.cap {
            let Some(slot) = self.slots.get(i as usize) else {
                return false;
            };
            if slot.val.load(Ordering::Relaxed) == 0 {
                let s = self.write_begin();
                slot.key.store(k.word(), Ordering::Relaxed);
                slot.entry.store(entry, Ordering::Relaxed);
                slot.val.store(
                    val_word(k.dir, k.proto, answer, confirmed),
                    Ordering::Relaxed,
                );
                self.write_end(s);
                return true;
            }
            i = self.next(i);
        }
        false
    }

    /// Writer: marks key `k` CONFIRMED.
    pub fn confirm(&self, k: &Key) {
        let Some(slot) = self.find(k).and_then(|i| self.slots.get(i as usize)) else {
            return;
        };
        let s = self.write_begin();
        let v = slot.val.load(Ordering::Relaxed);
        slot.val.store(v | CONFIRMED, Ordering::Relaxed);
        self.write_end(s);
    }

    /// Writer: removes key `k` (backward-shift deletion: the entries after
    /// it in its probe run move up, so no lookup meets a hole).
    pub fn remove(&self, k: &Key) {
        let Some(mut hole) = self.find(k) else {
            return;
        };
        let s = self.write_begin();
        let mut j = hole;
        for _ in 0..self.cap {
            j = self.next(j);
            let Some(next) = self.slots.get(j as usize) else {
                break;
            };
            let v = next.val.load(Ordering::Relaxed);
            if v == 0 {
                break;
            }
            let home = self.home_of(next.key.load(Ordering::Relaxed), v);
            // The entry at j stays if its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if stays {
                continue;
            }
            if let Some(h) = self.slots.get(hole as usize) {
                h.key
                    .store(next.key.load(Ordering::Relaxed), Ordering::Relaxed);
                h.entry
                    .store(next.entry.load(Ordering::Relaxed), Ordering::Relaxed);
                h.val.store(v, Ordering::Relaxed);
            }
            hole = j;
        }
        if let Some(h) = self.slots.get(hole as usize) {
            h.val.store(0, Ordering::Relaxed);
            h.key.store(0, Ordering::Relaxed);
        }
        self.write_end(s);
    }

    /// Writer: whether a lock-free reader translated a packet of the
    /// binding in table slot `entry` since the last call (or its insert);
    /// takes the mark down.
    pub fn take_mark(&self, entry: u32) -> bool {
        let Some(m) = self.slots.get(entry as usize).map(|s| &s.mark) else {
            return false;
        };
        let up = m.load(Ordering::Relaxed) != 0;
        if up {
            m.store(0, Ordering::Relaxed);
        }
        up
    }

    /// Writer: key `k`'s answer and whether it is CONFIRMED, if present;
    /// marks nothing (invariant checks).
    pub fn peek(&self, k: &Key) -> Option<(Ipv4, bool)> {
        let slot = self.slots.get(self.find(k)? as usize)?;
        let v = slot.val.load(Ordering::Relaxed);
        Some((Ipv4::from_bits(v as u32), v & CONFIRMED != 0))
    }

    /// Number of keys (tests; walks every slot).
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.val.load(Ordering::Relaxed) != 0)
            .count()
    }

    /// True when no key is present (tests; walks every slot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn idx(n: usize) -> ReadIndex<Vec<ReadSlot>> {
        let mut v = Vec::new();
        v.resize_with(n, ReadSlot::default);
        ReadIndex::new_in(v, HashKey::new(7, 9))
    }

    /// A TCP key; `addr` is the address's host-order bits.
    fn k(dir: Dir, addr: u32, cport: u16, sport: u16) -> Key {
        Key {
            dir,
            addr: Ipv4::from_bits(addr),
            proto: Proto::Tcp,
            cport,
            sport,
        }
    }

    fn rd(x: &ReadIndex<Vec<ReadSlot>>, dir: Dir, addr: u32, cport: u16, sport: u16) -> Read {
        let hp = ports_hash(&x.key, Proto::Tcp, cport, sport);
        x.read(hp, &k(dir, addr, cport, sport))
    }

    fn a(bits: u32) -> Ipv4 {
        Ipv4::from_bits(bits)
    }

    #[test]
    fn insert_confirm_read_remove() {
        let x = idx(64);
        assert_eq!(rd(&x, Dir::Out, 1, 1000, 80), Read::Absent);
        assert!(x.insert(&k(Dir::Out, 1, 1000, 80), a(2), false, 3));
        assert!(x.insert(&k(Dir::In, 2, 1000, 80), a(1), false, 3));
        assert_eq!(rd(&x, Dir::Out, 1, 1000, 80), Read::Checking);
        assert!(!x.take_mark(3), "only CONFIRMED hits mark");
        // Same address and ports, other direction or protocol: absent.
        assert_eq!(rd(&x, Dir::In, 1, 1000, 80), Read::Absent);
        let hp = ports_hash(&x.key, Proto::Udp, 1000, 80);
        let udp = Key::out(a(1), Proto::Udp, 1000, 80);
        assert_eq!(x.read(hp, &udp), Read::Absent);
        x.confirm(&k(Dir::Out, 1, 1000, 80));
        x.confirm(&k(Dir::In, 2, 1000, 80));
        assert_eq!(rd(&x, Dir::Out, 1, 1000, 80), Read::Confirmed(a(2)));
        assert_eq!(rd(&x, Dir::In, 2, 1000, 80), Read::Confirmed(a(1)));
        assert!(x.take_mark(3));
        assert!(!x.take_mark(3));
        x.remove(&k(Dir::Out, 1, 1000, 80));
        assert_eq!(rd(&x, Dir::Out, 1, 1000, 80), Read::Absent);
        assert_eq!(rd(&x, Dir::In, 2, 1000, 80), Read::Confirmed(a(1)));
        x.remove(&k(Dir::In, 2, 1000, 80));
        assert!(x.is_empty());
    }

    /// `read_at` names the table slot of the binding a CONFIRMED hit
    /// belongs to, and only for a CONFIRMED hit; entries moved by a
    /// backward-shift deletion keep their binding's slot.
    #[test]
    fn read_at_names_the_bindings_table_slot() {
        let x = idx(8);
        let at = |addr: u32, cport: u16| {
            let hp = ports_hash(&x.key, Proto::Tcp, cport, 80);
            x.read_at(hp, &k(Dir::Out, addr, cport, 80))
        };
        for i in 0..4u16 {
            assert!(x.insert(
                &k(Dir::Out, 1, 1000 + i, 80),
                a(2),
                false,
                10 + u32::from(i)
            ));
        }
        assert_eq!(at(1, 1001), (Read::Checking, 0));
        for i in 0..4u16 {
            x.confirm(&k(Dir::Out, 1, 1000 + i, 80));
        }
        x.remove(&k(Dir::Out, 1, 1000, 80));
        for i in 1..4u16 {
            assert_eq!(at(1, 1000 + i), (Read::Confirmed(a(2)), 10 + u32::from(i)));
        }
        assert_eq!(at(1, 1000), (Read::Absent, 0));
    }

    #[test]
    fn a_reader_meeting_a_writer_is_busy() {
        let x = idx(16);
        let s = x.write_begin();
        assert_eq!(rd(&x, Dir::Out, 1, 1, 1), Read::Busy);
        x.write_end(s);
        assert_eq!(rd(&x, Dir::Out, 1, 1, 1), Read::Absent);
    }

    /// Readers racing with a writer that churns keys never get a wrong
    /// answer: each key has one answer, and a reader sees it, absence, or
    /// Busy.
    #[test]
    fn concurrent_readers_never_see_a_torn_answer() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let x = Arc::new(idx(64));
        let stop = Arc::new(AtomicBool::new(false));
        let answer = |a: u32, p: u16| Ipv4::from_bits(a.wrapping_mul(2654435761) ^ u32::from(p));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (x, stop) = (x.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut hits = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for a in 1..=12u32 {
                            for p in 0..4u16 {
                                if let Read::Confirmed(v) = rd(&x, Dir::Out, a, p, 80) {
                                    assert_eq!(v, answer(a, p));
                                    hits += 1;
                                }
                            }
                        }
                    }
                    hits
                })
            })
            .collect();
        for round in 0..200_000u32 {
            let (a, p) = (round % 12 + 1, (round / 12 % 4) as u16);
            let key = k(Dir::Out, a, p, 80);
            if x.find(&key).is_some() {
                x.remove(&key);
            } else {
                x.insert(&key, answer(a, p), true, a);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let hits: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(hits > 0);
    }

    /// Fills a small index to half (its design load) and beyond with
    /// colliding runs, removes in random order, and checks after every step
    /// that exactly the live keys are found (backward shift leaves no
    /// holes in a probe run).
    #[test]
    fn churn_finds_exactly_the_live_keys() {
        let x = idx(37);
        let mut live: Vec<(u32, u16)> = Vec::new();
        let mut r: u64 = 0x1234_5678;
        let mut step = || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for round in 0..4000u32 {
            let v = step();
            if live.len() < 30 && (v % 3 != 0 || live.is_empty()) {
                let key = ((v >> 8) as u32 % 50 + 1, (v >> 40) as u16 % 4);
                if !live.contains(&key) {
                    assert!(x.insert(&k(Dir::Out, key.0, key.1, 80), a(round), true, 0));
                    live.push(key);
                }
            } else {
                let key = live.swap_remove((v >> 16) as usize % live.len());
                x.remove(&k(Dir::Out, key.0, key.1, 80));
            }
            assert_eq!(x.len(), live.len());
            for a in 1..=50 {
                for p in 0..4 {
                    let got = rd(&x, Dir::Out, a, p, 80);
                    assert_eq!(
                        matches!(got, Read::Confirmed(_)),
                        live.contains(&(a, p)),
                        "key {a}:{p} at round {round}"
                    );
                }
            }
        }
    }
}
