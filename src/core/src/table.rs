// SPDX-License-Identifier: GPL-2.0
//! Fixed-capacity hash tables in caller-provided storage.
//!
//! A [`Table`] is one shard: a slice of [`Slot`]s that the caller allocates
//! (a `Vec` on the host, a `KVVec` in the kernel) and hands over with
//! [`Table::new_in`]. The slice is used three ways at once:
//!
//! * as the entry pool (slot `i` holds at most one entry);
//! * as the bucket arrays of up to two independent hash indexes: every slot
//!   carries [`HEADS`] = 4 bucket heads, split between the indexes, so an
//!   index has `2 × capacity` buckets when there are two indexes (the
//!   client) and `4 × capacity` when there is one (the redirector);
//! * as intrusive singly linked chains (`next[k]`) and the free list.
//!
//! The load factor therefore never exceeds 1/2 (two indexes) or 1/4 (one
//! index): a successful lookup walks at most 1.25 (1.125) entries on
//! average even in a full table. Every slot also keeps a 16-bit tag of its
//! entry's hash per index next to its link, so walking past another entry
//! of the chain reads only that entry's link word and skips its key
//! compare (and the key's cache line). The slot is `repr(C)`: links, tags
//! and the entry's lookup fields come first, in the same one or two cache
//! lines. The bucket hash is SipHash-1-3 with the shard's secret key, so
//! chains cannot be made long from outside. Insert, find and remove are
//! O(1) expected; no allocation, no recursion, nothing on the stack that
//! grows with the table.
//!
//! When every slot is taken, [`Table::insert`] refuses (returns `None`);
//! nothing is ever evicted to make room.
//!
//! The used slots are also on a doubly linked list (`live`), so what walks
//! every entry (the periodic sweep, a flush) costs time in proportion to the
//! entries, not to the capacity. [`Table::sweep_next`] hands out the
//! entries of a periodic sweep in a ring, at most [`SWEEP_SLOTS`] per call
//! ([`Table::sweep_budget`]), so a timer holding the shard lock does
//! bounded work per call.

use crate::hash::{reduce, HashKey};
use crate::wire::Proto;
use core::ops::DerefMut;

/// Index value meaning "no slot".
pub const NIL: u32 = u32::MAX;

/// Largest usable number of slots in one shard.
pub const MAX_SLOTS: usize = (u32::MAX - 1) as usize;

/// Bucket heads per slot, shared by the indexes: `HEADS / INDEXES` buckets
/// per slot per index.
pub const HEADS: usize = 4;

/// Most entries one sweep (one `on_tick` call) visits. A shard holding `n`
/// entries is swept completely every `ceil(n / SWEEP_SLOTS)` calls; up to
/// this many entries, every call sweeps the whole shard.
pub const SWEEP_SLOTS: usize = 16384;

/// What a table stores. Implemented by the redirector's flow entries and
/// the client's bindings.
pub trait Entry {
    /// The value of an unused slot.
    const EMPTY: Self;
    /// Number of hash indexes kept over the entries (1 or 2).
    const INDEXES: usize;
    /// Hash of this entry for index `which` (`0..INDEXES`).
    fn hash(&self, which: usize, key: &HashKey) -> u64;
}

/// One slot of a table's storage. Allocate `capacity` of them, e.g. with
/// `vec![Slot::EMPTY; n]` or by pushing [`Slot::EMPTY`] `n` times; the
/// contents are overwritten by [`Table::new_in`].
///
/// Layout (`repr(C)`): chain links and hash tags, then the entry (whose
/// lookup fields come first), then this slot's bucket heads and its links
/// in the list of used slots (previous, next), which lookups never read.
#[derive(Clone)]
#[repr(C)]
pub struct Slot<E> {
    next: [u32; 2],
    tag: [u16; 2],
    /// 0 while the slot is free; else the table's insertion serial of the
    /// entry (see [`DumpPos`]).
    serial: u32,
    entry: E,
    head: [u32; HEADS],
    live: [u32; 2],
}

impl<E> Slot<E> {
    #[inline(always)]
    fn used(&self) -> bool {
        self.serial != 0
    }
}

impl<E: Entry> Slot<E> {
    /// An unused slot.
    pub const EMPTY: Self = Self {
        next: [NIL; 2],
        tag: [0; 2],
        serial: 0,
        entry: E::EMPTY,
        head: [NIL; HEADS],
        live: [NIL; 2],
    };
}

/// The tag of a hash: its low 16 bits (the bucket comes from the high
/// bits).
#[inline(always)]
fn tag_of(hash: u64) -> u16 {
    hash as u16
}

/// A fixed-capacity hash table (one shard) over caller storage `S`.
///
/// # Invariants
///
/// * `len` equals the number of slots with `used == true`;
/// * every used slot is on exactly one chain of each index `k`, the one of
///   the bucket `bucket(k, entry.hash(k))`, and its `tag[k]` is
///   `tag_of(entry.hash(k))`; every unused slot is on the free list
///   (linked through `next[0]`) and on no chain;
/// * the used slots, and only they, form the list from `live_head` through
///   `live[1]`, with `live[0]` pointing back; `cursor` is `NIL` or a used
///   slot.
pub struct Table<E: Entry, S: DerefMut<Target = [Slot<E>]>> {
    slots: S,
    cap: u32,
    len: u32,
    free: u32,
    live_head: u32,
    /// Where the periodic sweep continues (`NIL`: at `live_head`).
    cursor: u32,
    /// The serial the next inserted entry gets (never 0).
    serial: u32,
    key: HashKey,
}

/// Where a dump resumes in a table (see [`Table::dump_from`]): the slot of
/// the next entry to visit and that entry's insertion serial, which tells
/// whether the slot still holds it. Serial 0 ([`DumpPos::START`]) is the
/// beginning, whatever the slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DumpPos {
    /// Slot of the next entry.
    pub slot: u32,
    /// Its insertion serial (0: the newest entry, whatever `slot`).
    pub serial: u32,
}

impl DumpPos {
    /// The beginning of a dump.
    pub const START: Self = Self {
        slot: NIL,
        serial: 0,
    };
}

impl<E: Entry, S: DerefMut<Target = [Slot<E>]>> Table<E, S> {
    /// Indexes actually kept (1 or 2).
    const NIDX: usize = if E::INDEXES >= 2 { 2 } else { 1 };
    /// Buckets per slot per index.
    const PER: usize = HEADS / Self::NIDX;

    /// Takes over `storage`, resets every slot and builds the free list.
    /// Capacity is `storage.len()` (at most [`MAX_SLOTS`]).
    pub fn new_in(mut storage: S, key: HashKey) -> Self {
        let cap = storage.len().min(MAX_SLOTS) as u32;
        for (i, s) in storage.iter_mut().enumerate() {
            *s = Slot::EMPTY;
            let n = i as u64 + 1;
            s.next[0] = if n < u64::from(cap) { n as u32 } else { NIL };
        }
        Self {
            slots: storage,
            cap,
            len: 0,
            free: if cap > 0 { 0 } else { NIL },
            live_head: NIL,
            cursor: NIL,
            serial: 1,
            key,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when an insert would be refused.
    pub fn is_full(&self) -> bool {
        self.free == NIL
    }

    /// The secret hash key of this shard.
    pub fn hash_key(&self) -> &HashKey {
        &self.key
    }

    /// Bucket of `hash` in index `which`: (slot holding the head, head
    /// index in that slot). Multiply-high over the full 64-bit hash onto
    /// `cap × PER` buckets.
    #[inline(always)]
    fn bucket(&self, which: usize, hash: u64) -> (usize, usize) {
        let nb = u128::from(self.cap) * Self::PER as u128;
        let b = ((u128::from(hash) * nb) >> 64) as usize;
        (b / Self::PER, which * Self::PER + b % Self::PER)
    }

    #[inline(always)]
    fn head(&self, (slot, h): (usize, usize)) -> u32 {
        self.slots
            .get(slot)
            .and_then(|s| s.head.get(h).copied())
            .unwrap_or(NIL)
    }

    fn set_head(&mut self, (slot, h): (usize, usize), v: u32) {
        if let Some(p) = self.slots.get_mut(slot).and_then(|s| s.head.get_mut(h)) {
            *p = v;
        }
    }

    /// Finds the entry with hash `hash` in index `which` for which `pred`
    /// holds. Returns its slot index.
    #[inline]
    pub fn find(&self, which: usize, hash: u64, pred: impl Fn(&E) -> bool) -> Option<u32> {
        if which >= Self::NIDX || self.cap == 0 {
            return None;
        }
        let tag = tag_of(hash);
        let mut i = self.head(self.bucket(which, hash));
        // A chain never holds more than `cap` entries; the bound only
        // guards against a corrupted chain looping forever.
        let mut steps = 0u32;
        while i != NIL && steps < self.cap {
            let s = self.slots.get(i as usize)?;
            if s.tag[which & 1] == tag && s.used() && pred(&s.entry) {
                return Some(i);
            }
            i = s.next[which & 1];
            steps += 1;
        }
        None
    }

    /// [`find`](Self::find) for the packet path: on a hit, also moves the
    /// entry to the front of its chain in index `which`, so the flows that
    /// carry traffic are found without walking past idle ones whatever the
    /// fill (the relink writes only lines the walk has just read).
    #[inline]
    pub fn find_front(
        &mut self,
        which: usize,
        hash: u64,
        pred: impl Fn(&E) -> bool,
    ) -> Option<u32> {
        if which >= Self::NIDX || self.cap == 0 {
            return None;
        }
        let w = which & 1;
        let tag = tag_of(hash);
        let b = self.bucket(which, hash);
        let first = self.head(b);
        let mut prev = NIL;
        let mut i = first;
        let mut steps = 0u32;
        while i != NIL && steps < self.cap {
            let s = self.slots.get(i as usize)?;
            if s.tag[w] == tag && s.used() && pred(&s.entry) {
                if prev != NIL {
                    let after = s.next[w];
                    if let Some(p) = self.slots.get_mut(prev as usize) {
                        p.next[w] = after;
                    }
                    if let Some(s) = self.slots.get_mut(i as usize) {
                        s.next[w] = first;
                    }
                    self.set_head(b, i);
                }
                return Some(i);
            }
            prev = i;
            i = s.next[w];
            steps += 1;
        }
        None
    }

    /// Stores `entry` and links it into every index. `None` when full.
    pub fn insert(&mut self, entry: E) -> Option<u32> {
        let idx = self.free;
        if idx == NIL {
            return None;
        }
        let mut hashes = [0u64; 2];
        for (k, h) in hashes.iter_mut().enumerate().take(Self::NIDX) {
            *h = entry.hash(k, &self.key);
        }
        let next_free = self.slots.get(idx as usize)?.next[0];
        self.free = next_free;
        for (k, &h) in hashes.iter().enumerate().take(Self::NIDX) {
            let b = self.bucket(k, h);
            let old = self.head(b);
            self.set_head(b, idx);
            if let Some(s) = self.slots.get_mut(idx as usize) {
                s.next[k] = old;
                s.tag[k] = tag_of(h);
            }
        }
        let old_head = self.live_head;
        let serial = self.serial;
        // Serials wrap, skipping 0 (a free slot).
        self.serial = self.serial.checked_add(1).unwrap_or(1);
        let s = self.slots.get_mut(idx as usize)?;
        s.serial = serial;
        s.entry = entry;
        s.live = [NIL, old_head];
        if let Some(h) = self.slots.get_mut(old_head as usize) {
            h.live[0] = idx;
        }
        self.live_head = idx;
        self.len += 1;
        Some(idx)
    }

    /// Unlinks and frees slot `idx`, returning its entry.
    pub fn remove(&mut self, idx: u32) -> Option<E> {
        let s = self.slots.get(idx as usize)?;
        if !s.used() {
            return None;
        }
        let mut hashes = [0u64; 2];
        for (k, h) in hashes.iter_mut().enumerate().take(Self::NIDX) {
            *h = s.entry.hash(k, &self.key);
        }
        for (k, &h) in hashes.iter().enumerate().take(Self::NIDX) {
            let b = self.bucket(k, h);
            let after = self
                .slots
                .get(idx as usize)
                .map(|s| s.next[k])
                .unwrap_or(NIL);
            if self.head(b) == idx {
                self.set_head(b, after);
            } else {
                let mut p = self.head(b);
                let mut steps = 0u32;
                while p != NIL && steps < self.cap {
                    let pn = self.slots.get(p as usize).map(|s| s.next[k]).unwrap_or(NIL);
                    if pn == idx {
                        if let Some(ps) = self.slots.get_mut(p as usize) {
                            ps.next[k] = after;
                        }
                        break;
                    }
                    p = pn;
                    steps += 1;
                }
            }
        }
        let [prev, next] = self.slots.get(idx as usize)?.live;
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.live[1] = next,
            None => self.live_head = next,
        }
        if let Some(n) = self.slots.get_mut(next as usize) {
            n.live[0] = prev;
        }
        if self.cursor == idx {
            self.cursor = next;
        }
        let free = self.free;
        let s = self.slots.get_mut(idx as usize)?;
        let entry = core::mem::replace(&mut s.entry, E::EMPTY);
        s.serial = 0;
        s.next = [free, NIL];
        s.tag = [0; 2];
        s.live = [NIL; 2];
        self.free = idx;
        self.len -= 1;
        Some(entry)
    }

    /// The entry in slot `idx`, if used.
    #[inline]
    pub fn get(&self, idx: u32) -> Option<&E> {
        self.slots
            .get(idx as usize)
            .filter(|s| s.used())
            .map(|s| &s.entry)
    }

    /// The entry in slot `idx`, if used. Callers must not change the
    /// fields the entry is hashed on.
    #[inline]
    pub(crate) fn get_mut(&mut self, idx: u32) -> Option<&mut E> {
        self.slots
            .get_mut(idx as usize)
            .filter(|s| s.used())
            .map(|s| &mut s.entry)
    }

    /// How many insertions ago serial `serial` was given.
    #[inline]
    fn age(&self, serial: u32) -> u32 {
        self.serial.wrapping_sub(serial)
    }

    /// Whether the entry of serial `serial` was inserted before the one in
    /// slot `than` (true when `than` is [`NIL`]): the list of used slots
    /// runs from the newest entry to the oldest.
    fn older(&self, serial: u32, than: u32) -> bool {
        self.slots
            .get(than as usize)
            .is_none_or(|t| self.age(serial) > self.age(t.serial))
    }

    /// Visits entries for a dump, newest first, from `from` until `f`
    /// returns false or `budget` entries were visited; returns where to
    /// resume (the entry `f` refused, or the next one), or `None` once the
    /// last entry was visited. Cost: the entries visited, plus, when the
    /// entry to resume at was removed since, a walk past the entries newer
    /// than it (each has a serial). Entries inserted after the dump started
    /// are not visited (they are newer than its first entry); entries
    /// removed meanwhile are not visited again; every other entry is
    /// visited exactly once. Serials wrap after 2^32 - 1 insertions, so an
    /// entry that lives through that many insertions may be visited out of
    /// order by a dump whose resume entry was removed.
    pub fn dump_from(
        &self,
        from: DumpPos,
        budget: u32,
        mut f: impl FnMut(&E) -> bool,
    ) -> Option<DumpPos> {
        let mut i = match self.slots.get(from.slot as usize) {
            _ if from.serial == 0 => self.live_head,
            Some(s) if s.serial == from.serial => from.slot,
            _ => {
                // The entry to resume at is gone (or the slot is not one
                // of ours): resume at the newest entry older than it.
                let age = self.age(from.serial);
                let mut i = self.live_head;
                let mut steps = 0u32;
                while let Some(s) = self.slots.get(i as usize) {
                    if self.age(s.serial) > age || steps >= self.len {
                        break;
                    }
                    i = s.live[1];
                    steps += 1;
                }
                i
            }
        };
        let mut visited = 0u32;
        while let Some(s) = self.slots.get(i as usize) {
            if visited >= budget || !f(&s.entry) {
                return Some(DumpPos {
                    slot: i,
                    serial: s.serial,
                });
            }
            visited += 1;
            i = s.live[1];
        }
        None
    }

    /// Calls `f` on every used slot index and its entry, newest first;
    /// O(entries).
    pub fn for_each_index(&self, mut f: impl FnMut(u32, &E)) {
        let mut i = self.live_head;
        let mut steps = 0u32;
        while let Some(s) = self.slots.get(i as usize) {
            if steps >= self.len {
                break;
            }
            f(i, &s.entry);
            i = s.live[1];
            steps += 1;
        }
    }

    /// The slot of the newest entry (`NIL` when empty); with
    /// [`Self::next_live`], a walk over every entry that may remove the
    /// entry it is at (take the next one first).
    pub fn first_live(&self) -> u32 {
        self.live_head
    }

    /// The slot of the entry after slot `idx` in the list of entries
    /// (`NIL` at the end or if `idx` holds none).
    pub fn next_live(&self, idx: u32) -> u32 {
        self.slots
            .get(idx as usize)
            .filter(|s| s.used())
            .map_or(NIL, |s| s.live[1])
    }

    /// True if slot `idx` holds an entry (used by sweeps).
    pub fn is_used(&self, idx: u32) -> bool {
        self.slots.get(idx as usize).is_some_and(|s| s.used())
    }

    /// How many entries one call of a periodic sweep visits:
    /// `min(entries, SWEEP_SLOTS)`, each with one [`Self::sweep_next`].
    pub fn sweep_budget(&self) -> u32 {
        self.len.min(SWEEP_SLOTS as u32)
    }

    /// The next entry of the periodic sweep, which goes round the entries
    /// (not the slots), continuing where the last call stopped; the caller
    /// may remove the entry it gets. Within [`Self::sweep_budget`] calls no
    /// entry comes twice, and successive sweeps visit every entry once per
    /// `ceil(entries / SWEEP_SLOTS)` sweeps (entries added meanwhile come
    /// in a later round).
    pub fn sweep_next(&mut self) -> Option<u32> {
        let i = if self.cursor == NIL {
            self.live_head
        } else {
            self.cursor
        };
        let s = self.slots.get(i as usize)?;
        self.cursor = s.live[1];
        Some(i)
    }

    /// Checks every structural invariant; O(capacity). For tests.
    pub fn check_invariants(&self) -> bool {
        let mut used = 0u32;
        for (i, s) in self.slots.iter().enumerate().take(self.cap as usize) {
            if !s.used() {
                continue;
            }
            used += 1;
            for k in 0..Self::NIDX {
                let h = s.entry.hash(k, &self.key);
                if s.tag[k] != tag_of(h) {
                    return false;
                }
                let mut p = self.head(self.bucket(k, h));
                let mut found = false;
                let mut steps = 0;
                while p != NIL && steps <= self.cap {
                    if p as usize == i {
                        found = true;
                        break;
                    }
                    p = self.slots.get(p as usize).map(|s| s.next[k]).unwrap_or(NIL);
                    steps += 1;
                }
                if !found {
                    return false;
                }
            }
        }
        let mut free = 0u32;
        let mut p = self.free;
        while p != NIL && free <= self.cap {
            match self.slots.get(p as usize) {
                Some(s) if !s.used() => {
                    free += 1;
                    p = s.next[0];
                }
                _ => return false,
            }
        }
        if used != self.len || used + free != self.cap {
            return false;
        }
        let (mut n, mut prev, mut p) = (0u32, NIL, self.live_head);
        while p != NIL && n <= self.cap {
            match self.slots.get(p as usize) {
                Some(s) if s.used() && s.live[0] == prev && self.older(s.serial, prev) => {
                    n += 1;
                    prev = p;
                    p = s.live[1];
                }
                _ => return false,
            }
        }
        n == self.len && (self.cursor == NIL || self.is_used(self.cursor))
    }
}

/// Picks the shard of a flow from its protocol and ports only, so that the
/// client's outgoing key (redirector, proto, cport, sport), its incoming key
/// (replica, proto, sport, cport) and the redirector's key (client, VIP,
/// proto, cport, sport) of one flow all land in the same shard. `key` is a
/// secret shared by all shards of a table; `nshards == 0` gives 0.
pub fn shard_index(key: &HashKey, proto: Proto, cport: u16, sport: u16, nshards: usize) -> usize {
    let w = ((proto as u64) << 32) | (u64::from(cport) << 16) | u64::from(sport);
    reduce(key.hash1(w), nshards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[derive(Clone, Copy, PartialEq, Debug)]
    struct E2 {
        a: u32,
        b: u32,
    }
    impl Entry for E2 {
        const EMPTY: Self = E2 { a: 0, b: 0 };
        const INDEXES: usize = 2;
        fn hash(&self, which: usize, key: &HashKey) -> u64 {
            if which == 0 {
                key.hash2(0, self.a as u64)
            } else {
                key.hash2(1, self.b as u64)
            }
        }
    }

    fn t(cap: usize) -> Table<E2, Vec<Slot<E2>>> {
        Table::new_in(vec![Slot::EMPTY; cap], HashKey::new(3, 4))
    }

    /// Longest chain of index `which` (walks every bucket).
    fn max_chain(t: &Table<E2, Vec<Slot<E2>>>, which: usize) -> u32 {
        let w = which & 1;
        let mut longest = 0;
        for slot in 0..t.capacity() {
            for h in 0..Table::<E2, Vec<Slot<E2>>>::PER {
                let mut n = 0;
                let mut i = t.head((slot, which * Table::<E2, Vec<Slot<E2>>>::PER + h));
                while let Some(s) = t.slots.get(i as usize) {
                    n += 1;
                    i = s.next[w];
                }
                longest = longest.max(n);
            }
        }
        longest
    }

    /// Hash flooding: keys crafted to share one bucket under a key the
    /// attacker knows make one long chain there, and spread out under the
    /// shard's secret key.
    #[test]
    fn crafted_keys_do_not_lengthen_chains_under_a_secret_key() {
        const CAP: usize = 256;
        const CRAFTED: usize = 128;
        let known = HashKey::new(0x0123, 0x4567);
        let secret = HashKey::new(0x89ab_cdef, 0x1357_9bdf);
        let mut probe = Table::<E2, Vec<Slot<E2>>>::new_in(vec![Slot::EMPTY; CAP], known);
        let target = probe.bucket(0, E2 { a: 0, b: 0 }.hash(0, &known));
        let crafted: Vec<u32> = (0u32..)
            .filter(|&a| probe.bucket(0, E2 { a, b: 0 }.hash(0, &known)) == target)
            .take(CRAFTED)
            .collect();
        // The attack works where the key is known: every entry in one chain.
        for &a in &crafted {
            probe.insert(E2 { a, b: !a }).unwrap();
        }
        assert_eq!(max_chain(&probe, 0), CRAFTED as u32);
        // Under the secret key the same entries spread like any others:
        // 128 entries over 512 buckets leave no chain longer than a few.
        let mut t = Table::<E2, Vec<Slot<E2>>>::new_in(vec![Slot::EMPTY; CAP], secret);
        for &a in &crafted {
            t.insert(E2 { a, b: !a }).unwrap();
        }
        let longest = max_chain(&t, 0);
        assert!(longest <= 6, "longest chain {longest}");
        assert!(t.check_invariants());
    }

    fn find_a(t: &Table<E2, Vec<Slot<E2>>>, a: u32) -> Option<u32> {
        t.find(0, E2 { a, b: 0 }.hash(0, t.hash_key()), |e| e.a == a)
    }
    fn find_b(t: &Table<E2, Vec<Slot<E2>>>, b: u32) -> Option<u32> {
        t.find(1, E2 { a: 0, b }.hash(1, t.hash_key()), |e| e.b == b)
    }

    /// Runs a dump in chunks of `chunk` rows (and `budget` visits per
    /// call), calling `between` after each call; returns the rows.
    fn dump_chunks(
        t: &mut Table<E2, Vec<Slot<E2>>>,
        chunk: usize,
        budget: u32,
        mut between: impl FnMut(&mut Table<E2, Vec<Slot<E2>>>),
    ) -> Vec<u32> {
        let (mut pos, mut got) = (Some(DumpPos::START), Vec::new());
        while let Some(p) = pos {
            let mut room = chunk;
            pos = t.dump_from(p, budget, |e| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                got.push(e.a);
                true
            });
            between(t);
        }
        got
    }

    /// A dump in chunks that resumes where the previous chunk stopped sees
    /// every entry exactly once, newest first, whatever the chunk size and
    /// the budget per call.
    #[test]
    fn dump_from_resumes_exactly() {
        let mut t = t(300);
        for i in 0..200u32 {
            t.insert(E2 { a: i, b: i + 1000 }).unwrap();
        }
        for i in (0..200u32).step_by(3) {
            let idx = find_a(&t, i).unwrap();
            t.remove(idx);
        }
        let want: Vec<u32> = (0..200u32).rev().filter(|i| i % 3 != 0).collect();
        for chunk in [1usize, 7, 64, 1000] {
            for budget in [1u32, 5, u32::MAX] {
                let got = dump_chunks(&mut t, chunk, budget, |_| {});
                assert_eq!(got, want, "chunk {chunk} budget {budget}");
            }
        }
        assert!(t.check_invariants());
    }

    /// Between the calls of a dump, the entry it resumes at is removed and
    /// new entries are inserted (into the freed slots too): every entry
    /// that lived through the dump is visited once, in order, and none
    /// inserted after the dump began.
    #[test]
    fn dump_from_survives_removal_of_its_resume_entry() {
        let mut t = t(64);
        for i in 0..60u32 {
            t.insert(E2 { a: i, b: i + 1000 }).unwrap();
        }
        let mut next = 1000u32;
        let mut removed = Vec::new();
        let mut pos = Some(DumpPos::START);
        let mut got = Vec::new();
        while let Some(p) = pos {
            let mut room = 4;
            pos = t.dump_from(p, u32::MAX, |e| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                got.push(e.a);
                true
            });
            if let Some(p) = pos {
                // Remove the entry the dump resumes at, and one more, and
                // reuse their slots at once.
                let a = t.get(p.slot).unwrap().a;
                t.remove(p.slot);
                removed.push(a);
                if let Some(idx) = find_a(&t, a.wrapping_sub(7)) {
                    removed.push(a - 7);
                    t.remove(idx);
                }
                for _ in 0..2 {
                    t.insert(E2 {
                        a: next,
                        b: next + 5000,
                    })
                    .unwrap();
                    next += 1;
                }
            }
        }
        let want: Vec<u32> = (0..60u32).rev().filter(|i| !removed.contains(i)).collect();
        let got_old: Vec<u32> = got.iter().copied().filter(|&a| a < 1000).collect();
        assert_eq!(
            got_old.len(),
            got.len(),
            "no entry inserted after the start: {got:?}"
        );
        // Removed entries may have been visited before their removal.
        let lived: Vec<u32> = got_old
            .iter()
            .copied()
            .filter(|a| !removed.contains(a))
            .collect();
        assert_eq!(lived, want);
        assert!(t.check_invariants());
    }

    /// Serials wrap past u32::MAX without reusing 0 (the free mark), and a
    /// dump across the wrap still visits each entry once, in order.
    #[test]
    fn dump_from_across_serial_wrap() {
        let mut t = t(16);
        t.serial = u32::MAX - 3;
        for i in 0..8u32 {
            t.insert(E2 { a: i, b: i + 100 }).unwrap();
        }
        assert!(t.slots.iter().filter(|s| s.used()).all(|s| s.serial != 0));
        let got = dump_chunks(&mut t, 3, u32::MAX, |t| {
            t.insert(E2 { a: 50, b: 150 });
        });
        assert_eq!(got, (0..8u32).rev().collect::<Vec<_>>());
        assert!(t.check_invariants());
    }

    #[test]
    fn zero_capacity_refuses() {
        let mut t = t(0);
        assert!(t.is_full());
        assert_eq!(t.insert(E2 { a: 1, b: 2 }), None);
        assert_eq!(find_a(&t, 1), None);
        assert!(t.check_invariants());
    }

    #[test]
    fn insert_find_both_sides_remove() {
        let mut t = t(8);
        let i = t.insert(E2 { a: 10, b: 20 }).unwrap();
        assert_eq!(find_a(&t, 10), Some(i));
        assert_eq!(find_b(&t, 20), Some(i));
        assert_eq!(find_b(&t, 10), None);
        assert_eq!(t.remove(i), Some(E2 { a: 10, b: 20 }));
        assert_eq!(find_a(&t, 10), None);
        assert_eq!(t.remove(i), None);
        assert!(t.check_invariants());
    }

    #[test]
    fn full_refuses_without_evicting() {
        let mut t = t(16);
        for a in 0..16 {
            assert!(t.insert(E2 { a, b: a + 100 }).is_some());
        }
        assert!(t.is_full());
        assert_eq!(t.insert(E2 { a: 99, b: 99 }), None);
        for a in 0..16 {
            assert!(find_a(&t, a).is_some());
            assert!(find_b(&t, a + 100).is_some());
        }
        assert_eq!(t.len(), 16);
        assert!(t.check_invariants());
    }

    #[test]
    fn churn_keeps_invariants() {
        let mut t = t(32);
        let mut live: Vec<(u32, u32)> = Vec::new();
        for round in 0..2000u32 {
            if round % 3 != 2 && !t.is_full() {
                let a = round.wrapping_mul(2_654_435_761);
                let i = t.insert(E2 { a, b: !a }).unwrap();
                live.push((a, i));
            } else if !live.is_empty() {
                let (a, i) = live.remove((round as usize * 7) % live.len());
                assert_eq!(find_a(&t, a), Some(i));
                assert_eq!(t.remove(i).unwrap().a, a);
            }
        }
        assert!(t.check_invariants());
        for (a, i) in live {
            assert_eq!(find_a(&t, a), Some(i));
            assert_eq!(find_b(&t, !a), Some(i));
        }
    }

    #[test]
    fn find_front_moves_hit_to_chain_front_and_keeps_chains() {
        // Capacity 1: both buckets of index 0 live in slot 0's heads, so
        // many entries share chains once the table is reused.
        let mut t = t(64);
        let mut at = Vec::new();
        for a in 0..64 {
            at.push(t.insert(E2 { a, b: a + 1000 }).unwrap());
        }
        for round in 0..3 {
            for a in (0..64u32).rev() {
                let h = E2 { a, b: 0 }.hash(0, t.hash_key());
                assert_eq!(t.find_front(0, h, |e| e.a == a), Some(at[a as usize]));
                // Now first in its bucket: found without walking.
                let b = t.bucket(0, h);
                assert_eq!(t.head(b), at[a as usize], "round {round}");
                assert_eq!(find_b(&t, a + 1000), Some(at[a as usize]));
            }
            assert!(t.check_invariants());
        }
        let h = E2 { a: 999, b: 0 }.hash(0, t.hash_key());
        assert_eq!(t.find_front(0, h, |e| e.a == 999), None);
        assert_eq!(t.find_front(2, h, |_| true), None);
        assert!(t.check_invariants());
    }

    #[test]
    fn sweeps_visit_entries_not_slots_each_once_per_round() {
        for (cap, n) in [
            (0usize, 0usize),
            (8, 0),
            (8, 5),
            (4 * SWEEP_SLOTS, 3),
            (SWEEP_SLOTS + 1, SWEEP_SLOTS + 1),
            (3 * SWEEP_SLOTS, 3 * SWEEP_SLOTS - 7),
        ] {
            let mut t = t(cap);
            let mut slot_of = Vec::new();
            for a in 0..n as u32 {
                slot_of.push(t.insert(E2 { a, b: !a }).unwrap());
            }
            // A sweep's budget follows the entries, not the capacity.
            assert_eq!(t.sweep_budget() as usize, n.min(SWEEP_SLOTS));
            let rounds = n.div_ceil(SWEEP_SLOTS).max(1);
            for _ in 0..2 {
                let mut seen = vec![0u32; cap];
                for _ in 0..rounds {
                    let mut this = vec![false; cap];
                    for _ in 0..t.sweep_budget() {
                        let i = t.sweep_next().unwrap() as usize;
                        assert!(!this[i], "no entry twice in one sweep");
                        this[i] = true;
                        seen[i] += 1;
                    }
                }
                for &i in &slot_of {
                    // At least once; a round's last sweep may run into the
                    // next round's first entries.
                    assert!((1..=2).contains(&seen[i as usize]), "cap {cap} n {n}");
                }
            }
        }
    }

    #[test]
    fn a_sweep_may_remove_what_it_visits() {
        let mut t = t(64);
        for a in 0..40u32 {
            t.insert(E2 { a, b: !a });
        }
        // Remove every other entry as the sweep meets it, over two sweeps.
        let mut visited = Vec::new();
        for _ in 0..2 {
            for _ in 0..t.sweep_budget() {
                let i = t.sweep_next().unwrap();
                let a = t.get(i).unwrap().a;
                visited.push(a);
                if a.is_multiple_of(2) {
                    t.remove(i);
                }
                assert!(t.check_invariants());
            }
        }
        assert_eq!(t.len(), 20);
        let mut first: Vec<u32> = visited[..40].to_vec();
        first.sort_unstable();
        assert_eq!(first, (0..40).collect::<Vec<_>>());
        assert!(visited[40..].iter().all(|a| !a.is_multiple_of(2)));
        let mut left = Vec::new();
        t.for_each_index(|_, e| left.push(e.a));
        left.sort_unstable();
        assert_eq!(
            left,
            (0..40u32)
                .filter(|a| !a.is_multiple_of(2))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn lookup_fields_share_the_first_cache_line() {
        // Links and tags, then the entry: the entry starts 16 bytes in,
        // the bucket heads come after it.
        assert_eq!(core::mem::offset_of!(Slot<E2>, entry), 16);
        assert_eq!(
            core::mem::offset_of!(Slot<E2>, head),
            16 + core::mem::size_of::<E2>()
        );
    }

    #[test]
    fn shard_index_ignores_addresses_and_is_in_range() {
        let k = HashKey::new(9, 9);
        for n in [1usize, 2, 7, 64] {
            for p in 0..200u16 {
                assert!(shard_index(&k, Proto::Tcp, p, 80, n) < n);
            }
        }
        assert_eq!(shard_index(&k, Proto::Tcp, 1, 2, 0), 0);
    }
}
