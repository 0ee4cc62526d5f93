// SPDX-License-Identifier: GPL-2.0
//! What a redirector knows of its clients: which have no IPRP (legacy,
//! served locally at once) and which speak it.
//!
//! A client is learned as legacy when it answers a REQ with ICMP protocol
//! unreachable (R22) or leaves one unanswered for the response timeout
//! while not known to speak IPRP (R18); it is learned as capable when it
//! confirms a flow (R10, R14a). Either lasts a time to live. The cache is
//! set-associative over storage the caller provides ([`LEGACY_WAYS`]
//! slots per bucket, buckets chosen by a keyed hash of the address), so
//! its memory is fixed and a flood of forged addresses can only evict
//! other clients, which is counted.

use crate::counters::LegacyCounters;
use crate::hash::HashKey;
use crate::wire::Ipv4;
use core::ops::DerefMut;

/// Slots per bucket: a client may live in any of its bucket's slots.
pub const LEGACY_WAYS: usize = 4;

/// Default number of slots (`iprpctl role redirector legacy-capacity N`).
pub const LEGACY_SLOTS: usize = 4096;

/// Most slots an operator may configure (a stats read walks them all).
pub const MAX_LEGACY_SLOTS: usize = 65_536;

/// Default time a client known to have no IPRP is served locally without
/// a new REQ (ms, `iprpctl set legacy-ttl`): long enough to spare its
/// next connections the response timeout; short enough that a client
/// that loads IPRP is redirected again soon. 0 remembers no legacy
/// client (the paper's behaviour: every new flow sends a REQ).
pub const LEGACY_TTL_MS: u64 = 60_000;

/// Largest legacy time to live (ms): one day.
pub const MAX_LEGACY_TTL_MS: u64 = 86_400_000;

/// How long a client that confirmed a flow (sent a CHK that R answered
/// with a CFM) is known to speak IPRP (ms): a REQ of it that goes
/// unanswered meanwhile was lost, so it does not make the client legacy.
pub const CAPABLE_TTL_MS: u64 = 600_000;

/// What R knows of a client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Known {
    /// No IPRP: its new flows are served locally.
    Legacy,
    /// Speaks IPRP: a silence is a loss, not a legacy host.
    Capable,
}

/// One slot of [`LegacyClients`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LegacySlot {
    client: Ipv4,
    what: Known,
    /// Time (ms) at which the knowledge lapses; 0: empty slot.
    until: u64,
}

impl LegacySlot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        client: Ipv4::UNSPECIFIED,
        what: Known::Legacy,
        until: 0,
    };

    fn live(&self, now: u64) -> bool {
        now < self.until
    }
}

/// One remembered client, as dumped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KnownClient {
    /// The client's address.
    pub client: Ipv4,
    /// What R knows of it.
    pub what: Known,
    /// Milliseconds until R forgets it.
    pub remaining_ms: u64,
}

/// The redirector's client cache (see the module documentation).
pub struct LegacyClients<S: DerefMut<Target = [LegacySlot]>> {
    key: HashKey,
    slots: S,
    ttl_ms: u64,
    /// Counters of the cache.
    pub counters: LegacyCounters,
}

impl<S: DerefMut<Target = [LegacySlot]>> LegacyClients<S> {
    /// A cache over `storage` (its slots are emptied; a length that is
    /// not a multiple of [`LEGACY_WAYS`] leaves the rest unused; fewer
    /// than [`LEGACY_WAYS`] slots remember nothing), buckets chosen with
    /// `key`, legacy time to live [`LEGACY_TTL_MS`].
    pub fn new_in(mut storage: S, key: HashKey) -> Self {
        storage.fill(LegacySlot::EMPTY);
        Self {
            key,
            slots: storage,
            ttl_ms: LEGACY_TTL_MS,
            counters: LegacyCounters::ZERO,
        }
    }

    /// Number of slots in use by buckets.
    pub fn capacity(&self) -> usize {
        self.buckets() * LEGACY_WAYS
    }

    fn buckets(&self) -> usize {
        self.slots.len() / LEGACY_WAYS
    }

    /// The legacy time to live (ms).
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    /// Sets the legacy time to live (ms, at most [`MAX_LEGACY_TTL_MS`]),
    /// for clients learned from now on; 0 learns none. Clients already
    /// remembered keep their time.
    pub fn set_ttl_ms(&mut self, ttl_ms: u64) {
        self.ttl_ms = ttl_ms.min(MAX_LEGACY_TTL_MS);
    }

    fn bucket(&self, client: Ipv4) -> core::ops::Range<usize> {
        let b = crate::hash::reduce(self.key.hash1(u64::from(client.to_bits())), self.buckets());
        b * LEGACY_WAYS..(b + 1) * LEGACY_WAYS
    }

    fn find(&self, client: Ipv4, now: u64) -> Option<&LegacySlot> {
        self.slots
            .get(self.bucket(client))?
            .iter()
            .find(|s| s.client == client && s.live(now))
    }

    fn known(&self, client: Ipv4, now: u64) -> Option<Known> {
        self.find(client, now).map(|s| s.what)
    }

    /// Stores what R knows of `client` until `until`: in its own slot if
    /// it has one, else in an empty or lapsed slot, else over the live
    /// slot that lapses first (counted).
    fn set(&mut self, client: Ipv4, what: Known, until: u64, now: u64) {
        let range = self.bucket(client);
        let Some(bucket) = self.slots.get_mut(range) else {
            return;
        };
        let pick = bucket
            .iter()
            .position(|s| s.client == client && s.live(now))
            .or_else(|| bucket.iter().position(|s| !s.live(now)));
        let i = match pick {
            Some(i) => i,
            None => {
                self.counters.legacy_evicted += 1;
                bucket
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| s.until)
                    .map_or(0, |(i, _)| i)
            }
        };
        if let Some(s) = bucket.get_mut(i) {
            *s = LegacySlot {
                client,
                what,
                until: until.max(1),
            };
        }
    }

    /// `client` answered a REQ with protocol unreachable (R22): legacy
    /// for the time to live, whatever was known of it (it may have
    /// unloaded IPRP).
    pub fn remember(&mut self, client: Ipv4, now: u64) {
        if self.ttl_ms == 0 {
            return;
        }
        self.counters.legacy_learned_unreach += 1;
        self.set(client, Known::Legacy, now.saturating_add(self.ttl_ms), now);
    }

    /// `client` left a REQ unanswered for the response timeout (R18):
    /// legacy, as by [`Self::remember`], unless it is known to speak IPRP.
    /// True if it is now remembered as legacy.
    pub fn remember_silent(&mut self, client: Ipv4, now: u64) -> bool {
        if self.known(client, now) == Some(Known::Capable) {
            self.counters.legacy_silence_forgiven += 1;
            return false;
        }
        if self.ttl_ms == 0 {
            return false;
        }
        self.counters.legacy_learned_silent += 1;
        self.set(client, Known::Legacy, now.saturating_add(self.ttl_ms), now);
        true
    }

    /// `client` confirmed a flow: it speaks IPRP until
    /// `now + CAPABLE_TTL_MS`, and is no longer legacy.
    pub fn remember_capable(&mut self, client: Ipv4, now: u64) {
        if self.known(client, now) == Some(Known::Legacy) {
            self.counters.legacy_forgotten_capable += 1;
        }
        self.set(
            client,
            Known::Capable,
            now.saturating_add(CAPABLE_TTL_MS),
            now,
        );
    }

    /// A SYN of `client` carried the capability mark: it speaks IPRP
    /// now, so it is no longer legacy (its silences still count: only a
    /// confirmed flow makes it capable). True if it was legacy.
    pub fn marked(&mut self, client: Ipv4, now: u64) -> bool {
        let taken = self.take(client, now, |what| what == Known::Legacy);
        if taken {
            self.counters.legacy_forgotten_marked += 1;
        }
        taken
    }

    /// Empties `client`'s live slot if `which` accepts what R knows of
    /// it. True if it did.
    fn take(&mut self, client: Ipv4, now: u64, which: impl Fn(Known) -> bool) -> bool {
        let range = self.bucket(client);
        let Some(bucket) = self.slots.get_mut(range) else {
            return false;
        };
        let Some(s) = bucket
            .iter_mut()
            .find(|s| s.client == client && s.live(now) && which(s.what))
        else {
            return false;
        };
        *s = LegacySlot::EMPTY;
        true
    }

    /// Whether `client` is a legacy client remembered at `now`.
    pub fn is_legacy(&self, client: Ipv4, now: u64) -> bool {
        self.known(client, now) == Some(Known::Legacy)
    }

    /// Forgets `client` (operator). True if it was remembered at `now`.
    pub fn forget(&mut self, client: Ipv4, now: u64) -> bool {
        let taken = self.take(client, now, |_| true);
        if taken {
            self.counters.legacy_flushed += 1;
        }
        taken
    }

    /// Forgets every client; returns how many were remembered at `now`.
    pub fn clear(&mut self, now: u64) -> usize {
        let n = self.slots.iter().filter(|s| s.live(now)).count();
        self.slots.fill(LegacySlot::EMPTY);
        self.counters.legacy_flushed += n as u64;
        n
    }

    /// Legacy clients remembered at `now` (stats; walks every slot).
    pub fn count(&self, now: u64) -> usize {
        self.count_of(Known::Legacy, now)
    }

    /// Clients known at `now` to speak IPRP (stats; walks every slot).
    pub fn count_capable(&self, now: u64) -> usize {
        self.count_of(Known::Capable, now)
    }

    fn count_of(&self, what: Known, now: u64) -> usize {
        self.slots
            .iter()
            .filter(|s| s.what == what && s.live(now))
            .count()
    }

    /// Clients remembered at `now`, for a dump: calls `f` on each live
    /// slot from slot `from` on, visiting at most `budget` slots, until
    /// `f` returns false; returns the slot to resume at (the one `f`
    /// refused, or the first not visited), or `None` when the walk is
    /// complete. A client learned meanwhile in a slot before the resume
    /// point is not listed; one moved by eviction may be missed or listed
    /// twice.
    pub fn dump_from(
        &self,
        from: usize,
        budget: usize,
        now: u64,
        mut f: impl FnMut(&KnownClient) -> bool,
    ) -> Option<usize> {
        let end = self.slots.len();
        let stop = from.saturating_add(budget).min(end);
        for (i, s) in self.slots.iter().enumerate().take(stop).skip(from) {
            if !s.live(now) {
                continue;
            }
            let row = KnownClient {
                client: s.client,
                what: s.what,
                remaining_ms: s.until - now,
            };
            if !f(&row) {
                return Some(i);
            }
        }
        (stop < end).then_some(stop)
    }
}
