// SPDX-License-Identifier: GPL-2.0
//! The client role: redirection bindings, one shard.
//!
//! A binding maps the flow (redirector R, proto, client port c, server port
//! s) to replica S. It is found in O(1) from both sides through two hash
//! indexes over the same slots:
//!
//! * output: (R, proto, c, s) — destination R becomes S;
//! * input: (S, proto, s, c) — source S becomes R.
//!
//! While a binding is CHECKING, packets from S are held in a per-binding
//! queue of [`HOLD_PER_BINDING`] and under a per-shard total; they are
//! handed back in arrival order on CFM (to deliver) or on ALM/expiry (to
//! free). A held packet is a value of the shard's type parameter `P`,
//! which the shard owns while it holds it: the kernel's owned skb (freed
//! when dropped), `u64` tags in tests.
//!
//! See `docs/protocol.md` for the transition table.

use crate::counters::ClientCounters;
use crate::events::{Cause, Event, EventKind, EventLog};
use crate::filter::{AddrFilter, OwnedFilter};
use crate::hash::HashKey;
use crate::readidx::{Key, ReadIndex, ReadSlot};
use crate::table::{DumpPos, Entry, Slot, Table};
use crate::wire::{Ext, Ipv4, MsgType, Outgoing, Proto, Repr, Resends, RESEND_AFTER_MS};
use crate::Rng;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::AtomicU32;

/// Packets held per CHECKING binding.
pub const HOLD_PER_BINDING: usize = 8;

/// A queue of held packets, oldest first.
pub type Held<P = u64> = heapless::Deque<P, HOLD_PER_BINDING>;

/// Orphans (see [`ClientShard::hold_orphan`]) kept per shard.
pub const ORPHANS_PER_SHARD: usize = 8;

/// How long an orphan waits for its REQ (ms); then it is dropped, as the
/// redirector's REQ is re-sent within this time (one or two ticks).
pub const ORPHAN_HOLD_MS: u64 = 1000;

/// A TCP SYN-ACK from an address without binding that no local socket
/// would accept: possibly a replica's answer that overtook the REQ naming
/// it (lost or slower REQ). Waits for that REQ instead of drawing an RST,
/// which would abort the replica's half of the connection.
#[derive(Clone, Debug)]
struct Orphan<P> {
    replica: Ipv4,
    proto: Proto,
    sport: u16,
    cport: u16,
    at: u64,
    pkt: P,
}

/// State of a client binding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CState {
    /// CHK sent, waiting for CFM (`IPRP_CHECKING`).
    Checking,
    /// CFM with the right key received (`IPRP_CONFIRMED`).
    Confirmed,
}

/// A client binding.
///
/// `repr(C)`, lookup fields first: the keys of both indexes, the state and
/// the activity time share the slot's first cache line with the table's
/// links; the held queue comes last.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Binding<P = u64> {
    /// Redirector (service) address the flow was opened to.
    pub redirector: Ipv4,
    /// Replica the flow is redirected to.
    pub replica: Ipv4,
    /// Client port.
    pub cport: u16,
    /// Server port.
    pub sport: u16,
    /// Transport protocol.
    pub proto: Proto,
    /// State.
    pub state: CState,
    /// The key this client drew (never 0).
    pub key: u32,
    /// Local address the REQ was sent to (source of our CHK).
    pub local: Ipv4,
    /// Creation, confirmation or last packet of the flow seen by
    /// `lookup_out` (any state) or translated by `lookup_in` (ms).
    pub last_activity: u64,
    /// Creation time (ms).
    pub created: u64,
    /// Last CHK sent for this binding (ms).
    pub last_chk: u64,
    held: Held<P>,
}

impl<P> Binding<P> {
    /// Its outgoing key in the read index.
    pub fn out_key(&self) -> Key {
        Key::out(self.redirector, self.proto, self.cport, self.sport)
    }

    /// Its incoming key in the read index.
    pub fn in_key(&self) -> Key {
        Key::from_replica(self.replica, self.proto, self.cport, self.sport)
    }

    /// Number of held packets.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// The event `kind` (for `cause`) of this binding.
    pub fn event(&self, kind: EventKind, cause: Cause) -> Event {
        Event {
            kind,
            cause,
            proto: self.proto,
            peer: self.redirector,
            vip: self.redirector,
            port: self.sport,
            cport: self.cport,
            replica: self.replica,
        }
    }
}

fn w0(ip: Ipv4, proto: Proto, which: u64) -> u64 {
    (u64::from(ip.to_bits()) << 32) | ((proto as u64) << 8) | which
}
fn w1(cport: u16, sport: u16) -> u64 {
    (u64::from(cport) << 16) | u64::from(sport)
}

impl<P> Entry for Binding<P> {
    const EMPTY: Self = Binding {
        redirector: Ipv4::UNSPECIFIED,
        replica: Ipv4::UNSPECIFIED,
        local: Ipv4::UNSPECIFIED,
        proto: Proto::Tcp,
        cport: 0,
        sport: 0,
        state: CState::Checking,
        key: 0,
        created: 0,
        last_chk: 0,
        last_activity: 0,
        held: Held::new(),
    };
    const INDEXES: usize = 2;
    fn hash(&self, which: usize, key: &HashKey) -> u64 {
        let ip = if which == 0 {
            self.redirector
        } else {
            self.replica
        };
        key.hash2(w0(ip, self.proto, which as u64), w1(self.cport, self.sport))
    }
}

/// Storage slot of a client shard.
pub type ClientSlot<P = u64> = Slot<Binding<P>>;

/// Tunables of a client shard.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClientConfig {
    /// A CHECKING binding is deleted when neither its creation nor an
    /// outgoing packet of its flow is this recent (ms). Must exceed the
    /// redirectors' response timeout plus a round trip.
    pub checking_timeout_ms: u32,
    /// A CONFIRMED TCP binding with no translated packet for this long is
    /// deleted (ms).
    pub idle_tcp_ms: u32,
    /// Same for UDP (ms).
    pub idle_udp_ms: u32,
    /// Most CHECKING bindings in the shard (bounds forged REQs).
    pub max_checking: u32,
    /// Most held packets in the shard, all bindings together.
    pub max_held: u32,
    /// Longest wildcard grant accepted (s): a longer one is shortened to
    /// this; 0 refuses every grant.
    pub max_grant_s: u32,
}

impl ClientConfig {
    /// Defaults for a shard of `capacity` slots: checking 3 s, idle TCP
    /// 15 min, UDP 2 min, a quarter of the slots CHECKING at most, two
    /// held packets per slot of that quarter.
    pub const fn for_capacity(capacity: usize) -> Self {
        let q = capacity / 4;
        let q = if q == 0 { 1 } else { q };
        let q = if q > u32::MAX as usize / 2 {
            u32::MAX / 2
        } else {
            q as u32
        };
        Self {
            checking_timeout_ms: 3000,
            idle_tcp_ms: 900_000,
            idle_udp_ms: 120_000,
            max_checking: q,
            max_held: q * 2,
            max_grant_s: DEFAULT_MAX_GRANT_S,
        }
    }
}

/// Longest wildcard grant a client accepts by default (s): 10 min.
pub const DEFAULT_MAX_GRANT_S: u32 = 600;

/// A wildcard grant that came with a CFM the client accepted
/// (docs/protocol.md, "Wildcard grants"): new flows of this host to
/// `redirector`:`sport` (`proto`) may go to `replica` without a handshake
/// for `lifetime_s`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Grant {
    /// Service address the flows are opened to.
    pub redirector: Ipv4,
    /// Transport protocol.
    pub proto: Proto,
    /// Service port.
    pub sport: u16,
    /// Replica the flows go to.
    pub replica: Ipv4,
    /// Seconds from now, at most the client's `max_grant_s`.
    pub lifetime_s: u32,
    /// The redirector's token for this grant: a revocation must carry it.
    pub token: u32,
}

/// Why the client drops a message or packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientDrop {
    /// REQ refused: the shard is full.
    TableFull,
    /// REQ refused: too many CHECKING bindings in the shard.
    CheckingLimit,
    /// REQ refused: another binding already translates packets from this
    /// replica and these ports.
    Conflict,
    /// REQ naming replica 0.0.0.0.
    BadReplica,
    /// REQ for a flow this host has no socket for (forged or stale).
    NoLocalFlow,
    /// REQ refused: a local socket already talks to the replica from the
    /// flow's port, so translation would merge the two connections.
    Aliased,
    /// CFM/ALM with a key or replica that does not match (forged).
    BadKey,
    /// CFM/ALM for a flow without binding.
    NoBinding,
    /// CHK handed to the client role.
    NotForClient,
    /// Held packet refused: the binding's queue is full.
    HoldFullBinding,
    /// Held packet refused: the shard's total is reached.
    HoldFullTotal,
}

/// What the host knows about the flow a REQ names, asked by
/// [`ClientShard::on_msg_with`] before a binding is created.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LocalFlow {
    /// A local socket is opening the flow to the redirector.
    Opening,
    /// No local socket is opening it: a forged or stale REQ.
    Absent,
    /// A local socket is opening it, but another local socket already uses
    /// the translated 4-tuple (this port to the replica's address and
    /// port): after translation both would share one connection at the
    /// replica and the incoming translation would steal the other's packets.
    Aliased,
}

/// Result of [`ClientShard::on_msg`].
#[derive(Clone, Debug)]
pub enum ClientOutcome<P = u64> {
    /// Send this message (a CHK).
    Send(Outgoing),
    /// The binding is CONFIRMED: deliver `released` in order, after
    /// rewriting their source from `replica` to `redirector`.
    Confirmed {
        /// Redirector address.
        redirector: Ipv4,
        /// Replica address.
        replica: Ipv4,
        /// Held packets, oldest first.
        released: Held<P>,
        /// The wildcard grant the CFM carried, if any and accepted.
        grant: Option<Grant>,
    },
    /// A CFM with the right key for a CONFIRMED binding, carrying a
    /// wildcard grant: the grant is renewed.
    Granted(Grant),
    /// A CFM revoking the grant for `redirector`:`sport` (`proto`) whose
    /// token is `token`: the caller drops it from its [`Wildcards`] if the
    /// token matches.
    Revoke {
        /// Service address.
        redirector: Ipv4,
        /// Transport protocol.
        proto: Proto,
        /// Service port.
        sport: u16,
        /// The grant's token.
        token: u32,
    },
    /// A CFM with the REBIND item deleted the CONFIRMED binding of flow
    /// (`proto`, `local`:`cport` to `redirector`:`sport`): its replica
    /// failed. The caller resets the local TCP connection, so that its
    /// application reconnects (C29); a UDP flow's next datagram goes to
    /// the redirector and is bound again.
    Rebound {
        /// Transport protocol.
        proto: Proto,
        /// Our address of the flow.
        local: Ipv4,
        /// Client port.
        cport: u16,
        /// Redirector (service) address.
        redirector: Ipv4,
        /// Service port.
        sport: u16,
    },
    /// The binding was deleted by an ALM: free `dropped`.
    Alarmed {
        /// Held packets to free.
        dropped: Held<P>,
    },
    /// Valid but nothing to do (duplicate REQ/CFM).
    Ignored,
    /// Dropped and counted.
    Drop(ClientDrop),
}

/// Result of [`ClientShard::lookup_in`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InVerdict {
    /// No binding: leave the packet alone.
    None,
    /// CONFIRMED: rewrite the source address to `redirector`.
    Translate {
        /// Redirector address.
        redirector: Ipv4,
    },
    /// CHECKING: the shard took the packet (it called `hold`) and queued
    /// it until `on_msg` or `on_tick` hands it back.
    Hold,
    /// CHECKING but no room: free the packet.
    Drop(ClientDrop),
}

/// Where a shard publishes its bindings for lock-free readers: a
/// [`ReadIndex`] shared with the packet hooks, or [`NoIndex`].
pub trait Publish {
    /// Binding `b` was created in table slot `entry`.
    fn insert<P>(&self, b: &Binding<P>, entry: u32);
    /// The binding was confirmed.
    fn confirm<P>(&self, b: &Binding<P>);
    /// The binding was removed.
    fn remove<P>(&self, b: &Binding<P>);
    /// Whether lock-free readers translated a packet of the binding in
    /// table slot `entry` since the last call; takes the mark down.
    fn take_mark(&self, entry: u32) -> bool;
    /// Whether the index holds `b`'s two keys with its state (checks).
    fn agrees<P>(&self, b: &Binding<P>) -> bool;
    /// Keys in the index, if it has any (checks).
    fn keys(&self) -> Option<usize>;
}

/// No lock-free readers: every lookup goes through the shard.
#[derive(Default)]
pub struct NoIndex;

impl Publish for NoIndex {
    fn insert<P>(&self, _: &Binding<P>, _: u32) {}
    fn confirm<P>(&self, _: &Binding<P>) {}
    fn remove<P>(&self, _: &Binding<P>) {}
    fn take_mark(&self, _: u32) -> bool {
        false
    }
    fn agrees<P>(&self, _: &Binding<P>) -> bool {
        true
    }
    fn keys(&self) -> Option<usize> {
        None
    }
}

impl<T, X> Publish for T
where
    T: Deref<Target = ReadIndex<X>>,
    X: Deref<Target = [ReadSlot]>,
{
    fn insert<P>(&self, b: &Binding<P>, entry: u32) {
        let ok = b.state == CState::Confirmed;
        self.deref().insert(&b.out_key(), b.replica, ok, entry);
        self.deref().insert(&b.in_key(), b.redirector, ok, entry);
    }
    fn confirm<P>(&self, b: &Binding<P>) {
        self.deref().confirm(&b.out_key());
        self.deref().confirm(&b.in_key());
    }
    fn remove<P>(&self, b: &Binding<P>) {
        self.deref().remove(&b.out_key());
        self.deref().remove(&b.in_key());
    }
    fn take_mark(&self, entry: u32) -> bool {
        self.deref().take_mark(entry)
    }
    fn agrees<P>(&self, b: &Binding<P>) -> bool {
        let ok = b.state == CState::Confirmed;
        self.deref().peek(&b.out_key()) == Some((b.replica, ok))
            && self.deref().peek(&b.in_key()) == Some((b.redirector, ok))
    }
    fn keys(&self) -> Option<usize> {
        Some(self.deref().len())
    }
}

/// One shard of a client's binding table; `P` is the type of the packets
/// it holds.
pub struct ClientShard<S: DerefMut<Target = [ClientSlot<P>]>, F = OwnedFilter, I = NoIndex, P = u64>
{
    table: Table<Binding<P>, S>,
    cfg: ClientConfig,
    checking: u32,
    held_total: u32,
    /// Oldest first.
    orphans: heapless::Vec<Orphan<P>, ORPHANS_PER_SHARD>,
    /// Addresses of this shard's bindings, for lock-free pre-checks.
    filter: F,
    /// This shard's bindings, for lock-free lookups.
    index: I,
    /// Counters of this shard.
    pub counters: ClientCounters,
    /// Changes of bindings since the caller last took them.
    pub events: EventLog,
}

impl<S: DerefMut<Target = [ClientSlot<P>]>, P> ClientShard<S, OwnedFilter, NoIndex, P> {
    /// Takes over `storage` (capacity = its length).
    pub fn new_in(storage: S, key: HashKey, cfg: ClientConfig) -> Self {
        Self::with_filter(storage, key, cfg, OwnedFilter::default())
    }
}

impl<S, F, P, B> ClientShard<S, F, NoIndex, P>
where
    S: DerefMut<Target = [ClientSlot<P>]>,
    F: Deref<Target = AddrFilter<B>>,
    B: Deref<Target = [AtomicU32]>,
{
    /// Takes over `storage` and keeps `filter` current; the caller may
    /// share one filter among shards and with lock-free readers (see
    /// [`crate::filter`]).
    pub fn with_filter(storage: S, key: HashKey, cfg: ClientConfig, filter: F) -> Self {
        ClientShard::with_index(storage, key, cfg, filter, NoIndex)
    }
}

impl<S, F, I, P, B> ClientShard<S, F, I, P>
where
    S: DerefMut<Target = [ClientSlot<P>]>,
    F: Deref<Target = AddrFilter<B>>,
    B: Deref<Target = [AtomicU32]>,
    I: Publish,
{
    /// [`Self::with_filter`], and keeps `index` current: every binding's
    /// two keys and state, for lock-free lookups (see [`crate::readidx`]).
    pub fn with_index(storage: S, key: HashKey, cfg: ClientConfig, filter: F, index: I) -> Self {
        Self {
            table: Table::new_in(storage, key),
            cfg,
            checking: 0,
            held_total: 0,
            orphans: heapless::Vec::new(),
            filter,
            index,
            counters: ClientCounters::ZERO,
            events: EventLog::new(),
        }
    }

    /// The shard's address filter.
    pub fn filter(&self) -> &AddrFilter<B> {
        &self.filter
    }

    /// The shard's lock-free read index.
    pub fn index(&self) -> &I {
        &self.index
    }

    /// Current configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Changes the tunables (limits apply to new events).
    pub fn set_config(&mut self, cfg: ClientConfig) {
        self.cfg = cfg;
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there are no bindings.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Number of CHECKING bindings.
    pub fn checking(&self) -> u32 {
        self.checking
    }

    /// Number of held packets.
    pub fn held_total(&self) -> u32 {
        self.held_total
    }

    /// Number of orphans waiting for their REQ.
    pub fn orphans(&self) -> usize {
        self.orphans.len()
    }

    /// Keeps `pkt`, a TCP SYN-ACK from `src` (port `sport`) to local
    /// port `dport` that matched no binding and that no local socket would
    /// accept, until a REQ naming `src` for these ports arrives (it joins
    /// that binding's held packets) or [`ORPHAN_HOLD_MS`] pass (freed by
    /// `on_tick`). When all [`ORPHANS_PER_SHARD`] places are taken the
    /// oldest orphan is evicted and returned, for the caller to free.
    pub fn hold_orphan(
        &mut self,
        src: Ipv4,
        proto: Proto,
        sport: u16,
        dport: u16,
        now: u64,
        pkt: P,
    ) -> Option<P> {
        let evicted = if self.orphans.is_full() {
            self.counters.orphan_evicted += 1;
            Some(self.orphans.remove(0).pkt)
        } else {
            None
        };
        self.counters.orphan_held += 1;
        // Cannot fail: a place was freed above if needed.
        let _ = self.orphans.push(Orphan {
            replica: src,
            proto,
            sport,
            cport: dport,
            at: now,
            pkt,
        });
        evicted
    }

    /// Moves the orphans of binding `i` (same replica and ports) into its
    /// held packets, as far as the hold limits allow; the rest stay
    /// orphans and expire.
    fn adopt_orphans(&mut self, i: u32) {
        let Some(b) = self.table.get_mut(i) else {
            return;
        };
        let mut k = 0;
        while let Some(o) = self.orphans.get(k) {
            if (o.replica, o.proto, o.sport, o.cport) != (b.replica, b.proto, b.sport, b.cport) {
                k += 1;
                continue;
            }
            if self.held_total >= self.cfg.max_held || b.held.is_full() {
                return;
            }
            let o = self.orphans.remove(k);
            // Cannot fail: checked not full above.
            let _ = b.held.push_back(o.pkt);
            self.held_total += 1;
            self.counters.held += 1;
            self.counters.orphan_adopted += 1;
        }
    }

    fn find_out(&self, redirector: Ipv4, proto: Proto, cport: u16, sport: u16) -> Option<u32> {
        let h = self
            .table
            .hash_key()
            .hash2(w0(redirector, proto, 0), w1(cport, sport));
        self.table.find(0, h, |b| {
            b.redirector == redirector && b.cport == cport && b.sport == sport && b.proto == proto
        })
    }

    fn find_in(&self, replica: Ipv4, proto: Proto, sport: u16, cport: u16) -> Option<u32> {
        let h = self
            .table
            .hash_key()
            .hash2(w0(replica, proto, 1), w1(cport, sport));
        self.table.find(1, h, |b| {
            b.replica == replica && b.cport == cport && b.sport == sport && b.proto == proto
        })
    }

    /// `find_out` for the packet path (moves the binding to the front of
    /// its output chain).
    fn find_out_front(
        &mut self,
        redirector: Ipv4,
        proto: Proto,
        cport: u16,
        sport: u16,
    ) -> Option<u32> {
        let h = self
            .table
            .hash_key()
            .hash2(w0(redirector, proto, 0), w1(cport, sport));
        self.table.find_front(0, h, |b| {
            b.redirector == redirector && b.cport == cport && b.sport == sport && b.proto == proto
        })
    }

    /// `find_in` for the packet path (moves the binding to the front of
    /// its input chain).
    fn find_in_front(
        &mut self,
        replica: Ipv4,
        proto: Proto,
        sport: u16,
        cport: u16,
    ) -> Option<u32> {
        let h = self
            .table
            .hash_key()
            .hash2(w0(replica, proto, 1), w1(cport, sport));
        self.table.find_front(1, h, |b| {
            b.replica == replica && b.cport == cport && b.sport == sport && b.proto == proto
        })
    }

    /// The binding for (redirector, proto, cport, sport), any state.
    pub fn get(
        &self,
        redirector: Ipv4,
        proto: Proto,
        cport: u16,
        sport: u16,
    ) -> Option<&Binding<P>> {
        self.find_out(redirector, proto, cport, sport)
            .and_then(|i| self.table.get(i))
    }

    /// Calls `f` on every binding (for dumps).
    pub fn for_each(&self, mut f: impl FnMut(&Binding<P>)) {
        self.table.for_each_index(|_, b| f(b));
    }

    /// Calls `f(local, cport, redirector, sport)` for the connection of
    /// every CONFIRMED TCP binding: the connections that can no longer
    /// reach their replica once the client role stops (C30). A CHECKING
    /// binding's connection is not yet established (its replica's answer
    /// is held), and its retransmitted SYN is redirected afresh.
    pub fn for_each_confirmed_tcp(&self, mut f: impl FnMut(Ipv4, u16, Ipv4, u16)) {
        self.for_each(|b| {
            if b.state == CState::Confirmed && b.proto == Proto::Tcp {
                f(b.local, b.cport, b.redirector, b.sport);
            }
        });
    }

    /// Bindings for a dump, newest first, from `from` until `f` returns
    /// false or `budget` were visited; returns where to resume (see
    /// [`Table::dump_from`]).
    pub fn dump_from(
        &self,
        from: DumpPos,
        budget: u32,
        f: impl FnMut(&Binding<P>) -> bool,
    ) -> Option<DumpPos> {
        self.table.dump_from(from, budget, f)
    }

    /// An ICMP error arrived that quotes a packet this host sent from local
    /// port `cport` to `replica`:`sport` (C27). Returns the redirector
    /// address to put in the quote (and in the outer source, where that is
    /// the replica), so the local stack finds the socket, which is
    /// connected to the redirector. Any state: the first packets of a flow
    /// reach the replica through the redirector while the binding is
    /// CHECKING, and an error about them (no route to the replica, a
    /// smaller MTU on the way) belongs to the flow too. Changes nothing
    /// else: an error is no sign of life.
    pub fn icmp_error_in(
        &mut self,
        replica: Ipv4,
        proto: Proto,
        sport: u16,
        cport: u16,
    ) -> Option<Ipv4> {
        if !self.filter.replicas.may_contain(replica) {
            return None;
        }
        let i = self.find_in(replica, proto, sport, cport)?;
        let redirector = self.table.get(i)?.redirector;
        self.counters.icmp_error_in += 1;
        Some(redirector)
    }

    /// This host sends an ICMP error that quotes a packet it received from
    /// `redirector`:`sport` on local port `cport` (C28). Returns the
    /// replica the packet really came from, if a CONFIRMED binding
    /// translated it: the error goes to the replica and quotes it, as the
    /// packet was on the wire. Changes nothing else.
    pub fn icmp_error_out(
        &mut self,
        redirector: Ipv4,
        proto: Proto,
        cport: u16,
        sport: u16,
    ) -> Option<Ipv4> {
        if !self.filter.redirectors.may_contain(redirector) {
            return None;
        }
        let i = self.find_out(redirector, proto, cport, sport)?;
        let b = self.table.get(i)?;
        if b.state != CState::Confirmed {
            return None;
        }
        let replica = b.replica;
        self.counters.icmp_error_out += 1;
        Some(replica)
    }

    /// Output path: a packet to `redirector` of flow (proto, cport, sport).
    /// Returns the replica to send it to if the binding is CONFIRMED.
    pub fn lookup_out(
        &mut self,
        redirector: Ipv4,
        proto: Proto,
        cport: u16,
        sport: u16,
        now: u64,
    ) -> Option<Ipv4> {
        if !self.filter.redirectors.may_contain(redirector) {
            return None;
        }
        let i = self.find_out_front(redirector, proto, cport, sport)?;
        let b = self.table.get_mut(i)?;
        b.last_activity = now;
        if b.state != CState::Confirmed {
            // CHECKING: the packet goes to the redirector untranslated; the
            // flow is alive, so the binding waits for a (duplicate) CFM.
            return None;
        }
        self.counters.translated_out += 1;
        Some(b.replica)
    }

    /// Input path: a packet from `replica`, source port `sport`, to local
    /// port `cport`. If the binding is CHECKING and has room, the shard
    /// takes the packet from `hold` (called at most once, and then the
    /// verdict is [`InVerdict::Hold`]).
    #[allow(clippy::too_many_arguments)]
    pub fn lookup_in(
        &mut self,
        replica: Ipv4,
        proto: Proto,
        sport: u16,
        cport: u16,
        now: u64,
        hold: impl FnOnce() -> P,
    ) -> InVerdict {
        if !self.filter.replicas.may_contain(replica) {
            return InVerdict::None;
        }
        let Some(i) = self.find_in_front(replica, proto, sport, cport) else {
            return InVerdict::None;
        };
        let total_full = self.held_total >= self.cfg.max_held;
        let Some(b) = self.table.get_mut(i) else {
            return InVerdict::None;
        };
        match b.state {
            CState::Confirmed => {
                b.last_activity = now;
                self.counters.translated_in += 1;
                InVerdict::Translate {
                    redirector: b.redirector,
                }
            }
            CState::Checking => {
                if b.held.is_full() {
                    self.counters.hold_full_binding += 1;
                    InVerdict::Drop(ClientDrop::HoldFullBinding)
                } else if total_full {
                    self.counters.hold_full_total += 1;
                    InVerdict::Drop(ClientDrop::HoldFullTotal)
                } else {
                    // Cannot fail: checked not full above.
                    let _ = b.held.push_back(hold());
                    self.held_total += 1;
                    self.counters.held += 1;
                    InVerdict::Hold
                }
            }
        }
    }

    /// A protocol message `m` arrived from `src` to local address `dst`.
    /// REQ, CFM and ALM are for the client role.
    ///
    /// Trusts every REQ to name a flow this host opened: for callers
    /// whose flows have no sockets (the benchmark fill, tests). The kernel
    /// uses [`Self::on_msg_with`].
    pub fn on_msg(
        &mut self,
        m: &Repr,
        src: Ipv4,
        dst: Ipv4,
        now: u64,
        rng: &mut impl Rng,
    ) -> ClientOutcome<P> {
        self.on_msg_with(m, src, dst, now, rng, || LocalFlow::Opening)
    }

    /// [`Self::on_msg`] where a REQ that would create a binding first asks
    /// `local_flow` whether this host has the flow (a socket from `dst`,
    /// port `m.cport`, to `src`, port `m.sport`) and whether another socket
    /// already uses the translated 4-tuple. A real REQ answers a packet the
    /// host just sent, so it always has one; a forged REQ for a made-up
    /// flow is dropped without state, and so is a REQ whose translation
    /// would alias another connection (the redirector then serves the flow
    /// itself). Called at most once, under the shard's lock.
    pub fn on_msg_with(
        &mut self,
        m: &Repr,
        src: Ipv4,
        dst: Ipv4,
        now: u64,
        rng: &mut impl Rng,
        local_flow: impl FnOnce() -> LocalFlow,
    ) -> ClientOutcome<P> {
        self.on_msg_ext(m, &Ext::NONE, src, dst, now, rng, local_flow)
    }

    /// [`Self::on_msg_with`] for a message that carried extensions `ext`
    /// (a CFM's wildcard grant).
    #[allow(clippy::too_many_arguments)]
    pub fn on_msg_ext(
        &mut self,
        m: &Repr,
        ext: &Ext,
        src: Ipv4,
        dst: Ipv4,
        now: u64,
        rng: &mut impl Rng,
        local_flow: impl FnOnce() -> LocalFlow,
    ) -> ClientOutcome<P> {
        match m.ty {
            MsgType::Req => self.on_req(m, src, dst, now, rng, local_flow),
            MsgType::Cfm => match ext.grant {
                Some(g) if g.lifetime_s == 0 => {
                    self.counters.revoke_rx += 1;
                    ClientOutcome::Revoke {
                        redirector: src,
                        proto: m.proto,
                        sport: m.sport,
                        token: g.token,
                    }
                }
                _ => self.on_cfm(m, ext, src, now),
            },
            MsgType::Alm => self.on_alm(m, src),
            MsgType::Chk => {
                self.counters.msg_not_client += 1;
                ClientOutcome::Drop(ClientDrop::NotForClient)
            }
        }
    }

    /// A new flow's first packet from local address `local`, port
    /// `cport`, to `redirector`:`sport`, which a live wildcard grant sends
    /// to `replica` (the caller found it in [`Wildcards`] and checked that
    /// no local socket already uses the translated 4-tuple): creates the
    /// flow's binding CONFIRMED at once, with key 0 (no handshake: the
    /// redirector never sees the flow). False, and nothing changes, if the
    /// flow has a binding, another binding translates from `replica` with
    /// these ports, or the shard is full.
    #[allow(clippy::too_many_arguments)]
    pub fn bind_granted(
        &mut self,
        redirector: Ipv4,
        replica: Ipv4,
        proto: Proto,
        cport: u16,
        sport: u16,
        local: Ipv4,
        now: u64,
    ) -> bool {
        if self.find_out(redirector, proto, cport, sport).is_some()
            || self.find_in(replica, proto, sport, cport).is_some()
        {
            return false;
        }
        let b = Binding {
            redirector,
            replica,
            local,
            proto,
            cport,
            sport,
            state: CState::Confirmed,
            key: 0,
            created: now,
            last_activity: now,
            last_chk: now,
            held: Held::new(),
        };
        let Some(i) = self.table.insert(b) else {
            return false;
        };
        if let Some(b) = self.table.get(i) {
            self.index.insert(b, i);
            self.events
                .push(b.event(EventKind::BindingConfirmed, Cause::None));
        }
        self.filter.redirectors.add(redirector);
        self.filter.replicas.add(replica);
        self.counters.granted_bound += 1;
        true
    }

    fn on_req(
        &mut self,
        m: &Repr,
        src: Ipv4,
        dst: Ipv4,
        now: u64,
        rng: &mut impl Rng,
        local_flow: impl FnOnce() -> LocalFlow,
    ) -> ClientOutcome<P> {
        self.counters.req_rx += 1;
        if m.replica.is_unspecified() {
            self.counters.req_bad_replica += 1;
            return ClientOutcome::Drop(ClientDrop::BadReplica);
        }
        if let Some(b) = self
            .find_out(src, m.proto, m.cport, m.sport)
            .and_then(|i| self.table.get_mut(i))
        {
            return match b.state {
                CState::Checking if b.replica == m.replica => {
                    // Re-send the same CHK: heals a lost CHK, tells nothing new.
                    b.last_chk = now;
                    self.counters.chk_resent += 1;
                    ClientOutcome::Send(Outgoing {
                        from: b.local,
                        to: src,
                        msg: m.answer(MsgType::Chk, b.key),
                        ext: Ext::NONE,
                    })
                }
                CState::Checking => {
                    self.counters.req_ignored_other_replica += 1;
                    ClientOutcome::Ignored
                }
                CState::Confirmed => {
                    self.counters.req_ignored_confirmed += 1;
                    ClientOutcome::Ignored
                }
            };
        }
        if self.find_in(m.replica, m.proto, m.sport, m.cport).is_some() {
            self.counters.req_conflict += 1;
            return ClientOutcome::Drop(ClientDrop::Conflict);
        }
        match local_flow() {
            LocalFlow::Opening => {}
            LocalFlow::Absent => {
                self.counters.req_no_local_flow += 1;
                return ClientOutcome::Drop(ClientDrop::NoLocalFlow);
            }
            LocalFlow::Aliased => {
                self.counters.req_aliased += 1;
                return ClientOutcome::Drop(ClientDrop::Aliased);
            }
        }
        if self.checking >= self.cfg.max_checking {
            self.counters.req_checking_limit += 1;
            return ClientOutcome::Drop(ClientDrop::CheckingLimit);
        }
        let mut key = rng.next_u32();
        if key == 0 {
            key = rng.next_u32().max(1);
        }
        let b = Binding {
            redirector: src,
            replica: m.replica,
            local: dst,
            proto: m.proto,
            cport: m.cport,
            sport: m.sport,
            state: CState::Checking,
            key,
            created: now,
            last_activity: now,
            last_chk: now,
            held: Held::new(),
        };
        let (redirector, replica) = (b.redirector, b.replica);
        let Some(i) = self.table.insert(b) else {
            self.counters.req_table_full += 1;
            return ClientOutcome::Drop(ClientDrop::TableFull);
        };
        if let Some(b) = self.table.get(i) {
            self.index.insert(b, i);
            self.events
                .push(b.event(EventKind::BindingNew, Cause::None));
        }
        self.filter.redirectors.add(redirector);
        self.filter.replicas.add(replica);
        self.checking += 1;
        self.adopt_orphans(i);
        self.counters.chk_sent += 1;
        ClientOutcome::Send(Outgoing {
            from: dst,
            to: src,
            msg: m.answer(MsgType::Chk, key),
            ext: Ext::NONE,
        })
    }

    /// C29: a CFM with the REBIND item: the replica of a CONFIRMED flow
    /// failed. Authenticated like a CFM (key and replica); a CHECKING
    /// binding ignores it (R sends it only for confirmed flows, and a
    /// REBIND must never confirm).
    fn on_rebind(&mut self, m: &Repr, src: Ipv4) -> ClientOutcome<P> {
        let Some(i) = self.find_out(src, m.proto, m.cport, m.sport) else {
            self.counters.cfm_no_binding += 1;
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        match self.table.get(i) {
            Some(b) if b.key != m.key || b.replica != m.replica => {
                self.counters.rebind_bad_key += 1;
                return ClientOutcome::Drop(ClientDrop::BadKey);
            }
            Some(b) if b.state == CState::Checking => {
                self.counters.rebind_ignored += 1;
                return ClientOutcome::Ignored;
            }
            Some(_) => {}
            None => return ClientOutcome::Drop(ClientDrop::NoBinding),
        }
        let Some(b) = self.table.remove(i) else {
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        self.forget(&b, Cause::ReplicaFailed);
        self.counters.rebind_rx += 1;
        ClientOutcome::Rebound {
            proto: b.proto,
            local: b.local,
            cport: b.cport,
            redirector: b.redirector,
            sport: b.sport,
        }
    }

    fn on_cfm(&mut self, m: &Repr, ext: &Ext, src: Ipv4, now: u64) -> ClientOutcome<P> {
        if ext.rebind {
            return self.on_rebind(m, src);
        }
        let Some(i) = self.find_out(src, m.proto, m.cport, m.sport) else {
            self.counters.cfm_no_binding += 1;
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        let Some(b) = self.table.get_mut(i) else {
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        if b.key != m.key || b.replica != m.replica {
            self.counters.cfm_bad_key += 1;
            return ClientOutcome::Drop(ClientDrop::BadKey);
        }
        let offered = ext.grant.unwrap_or_default();
        let lifetime_s = offered.lifetime_s.min(self.cfg.max_grant_s);
        let grant = (lifetime_s > 0).then_some(Grant {
            redirector: b.redirector,
            proto: b.proto,
            sport: b.sport,
            replica: b.replica,
            lifetime_s,
            token: offered.token,
        });
        if grant.is_some() {
            self.counters.grant_rx += 1;
        }
        if b.state == CState::Confirmed {
            self.counters.cfm_dup += 1;
            return grant.map_or(ClientOutcome::Ignored, ClientOutcome::Granted);
        }
        b.state = CState::Confirmed;
        b.last_activity = now;
        self.index.confirm(b);
        self.events
            .push(b.event(EventKind::BindingConfirmed, Cause::None));
        let released = core::mem::take(&mut b.held);
        let (redirector, replica) = (b.redirector, b.replica);
        let n = released.len() as u32;
        self.held_total = self.held_total.saturating_sub(n);
        self.checking = self.checking.saturating_sub(1);
        self.counters.confirmed += 1;
        self.counters.held_released += u64::from(n);
        ClientOutcome::Confirmed {
            redirector,
            replica,
            released,
            grant,
        }
    }

    fn on_alm(&mut self, m: &Repr, src: Ipv4) -> ClientOutcome<P> {
        let Some(i) = self.find_out(src, m.proto, m.cport, m.sport) else {
            self.counters.alm_no_binding += 1;
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        match self.table.get(i) {
            Some(b) if b.key != m.key || b.replica != m.replica => {
                self.counters.alm_bad_key += 1;
                return ClientOutcome::Drop(ClientDrop::BadKey);
            }
            // An ALM answers a CHK, and a CONFIRMED binding sends none: the
            // redirector confirmed this key, so an ALM now was provoked by
            // a stale or replayed CHK after the redirector's entry expired
            // (it sees none of the redirected flow's packets). Tearing the
            // binding down would cut a live connection to the replica.
            Some(b) if b.state == CState::Confirmed => {
                self.counters.alm_ignored_confirmed += 1;
                return ClientOutcome::Ignored;
            }
            Some(_) => {}
            None => return ClientOutcome::Drop(ClientDrop::NoBinding),
        }
        let Some(b) = self.table.remove(i) else {
            return ClientOutcome::Drop(ClientDrop::NoBinding);
        };
        self.forget(&b, Cause::Alarm);
        self.counters.alarmed += 1;
        ClientOutcome::Alarmed { dropped: b.held }
    }

    /// Accounts for a binding just removed from the table, for `cause`.
    fn forget(&mut self, b: &Binding<P>, cause: Cause) {
        self.index.remove(b);
        self.events.push(b.event(EventKind::BindingDel, cause));
        self.filter.redirectors.remove(b.redirector);
        self.filter.replicas.remove(b.replica);
        if b.state == CState::Checking {
            self.checking = self.checking.saturating_sub(1);
        }
        let n = b.held.len() as u32;
        self.held_total = self.held_total.saturating_sub(n);
        self.counters.held_dropped += u64::from(n);
    }

    /// Removes every binding (operator flush, namespace exit); held
    /// packets go to `free`. Not counted as expiry.
    pub fn clear(&mut self, mut free: impl FnMut(P)) {
        for o in self.orphans.drain(..) {
            free(o.pkt);
        }
        while let Some(b) = self.table.remove(self.table.first_live()) {
            self.forget(&b, Cause::Flushed);
            b.held.into_iter().for_each(&mut free);
        }
    }

    /// Slow timer: deletes CHECKING bindings without activity for the
    /// checking timeout and CONFIRMED bindings idle for the idle timeout; every
    /// held packet of a deleted binding and every orphan older than
    /// [`ORPHAN_HOLD_MS`] is passed to `free`. `free` runs
    /// under the caller's shard lock and must not re-enter this shard.
    ///
    /// Returns the CHKs to re-send: one for each CHECKING binding whose
    /// last CHK is [`RESEND_AFTER_MS`] old, at most
    /// [`RESEND_PER_TICK`](crate::wire::RESEND_PER_TICK) (the rest wait for
    /// a later tick). A lost CHK or CFM so heals without the client's next
    /// SYN, which TCP sends only after 1, 3, 7 ... s.
    ///
    /// Bounded: one call visits at most [`SWEEP_SLOTS`](crate::table::SWEEP_SLOTS)
    /// bindings, continuing where the previous call stopped, so every
    /// binding is checked once per `ceil(bindings / SWEEP_SLOTS)` calls
    /// (every call up to that many); its cost follows the bindings, not
    /// the capacity.
    pub fn on_tick(&mut self, now: u64, mut free: impl FnMut(P)) -> Resends {
        let mut resend = Resends::new();
        // Orphans are in arrival order: the expired ones are in front.
        while let Some(o) = self.orphans.first() {
            if now.saturating_sub(o.at) < ORPHAN_HOLD_MS {
                break;
            }
            let o = self.orphans.remove(0);
            self.counters.orphan_expired += 1;
            free(o.pkt);
        }
        for _ in 0..self.table.sweep_budget() {
            let Some(i) = self.table.sweep_next() else {
                break;
            };
            let Some(b) = self.table.get_mut(i) else {
                continue;
            };
            let expired = match b.state {
                CState::Checking => {
                    now.saturating_sub(b.last_activity) >= u64::from(self.cfg.checking_timeout_ms)
                }
                CState::Confirmed => {
                    let idle = u64::from(match b.proto {
                        Proto::Tcp => self.cfg.idle_tcp_ms,
                        Proto::Udp => self.cfg.idle_udp_ms,
                    });
                    // Packets translated lock-free since the last visit.
                    if self.index.take_mark(i) {
                        b.last_activity = now;
                    }
                    now.saturating_sub(b.last_activity) >= idle
                }
            };
            if !expired {
                if b.state == CState::Checking
                    && now.saturating_sub(b.last_chk) >= RESEND_AFTER_MS
                    && !resend.is_full()
                {
                    b.last_chk = now;
                    self.counters.chk_timer_resent += 1;
                    // Cannot fail: checked not full above.
                    let _ = resend.push(Outgoing {
                        from: b.local,
                        to: b.redirector,
                        msg: Repr {
                            ty: MsgType::Chk,
                            proto: b.proto,
                            cport: b.cport,
                            sport: b.sport,
                            replica: b.replica,
                            key: b.key,
                        },
                        ext: Ext::NONE,
                    });
                }
                continue;
            }
            let Some(b) = self.table.remove(i) else {
                continue;
            };
            self.forget(&b, Cause::Expired);
            match b.state {
                CState::Checking => self.counters.expired_checking += 1,
                CState::Confirmed => self.counters.expired_idle += 1,
            }
            b.held.into_iter().for_each(&mut free);
        }
        resend
    }

    /// Checks the table's structural invariants and the shard's counts
    /// (tests).
    pub fn check_invariants(&self) -> bool {
        let mut checking = 0u32;
        let mut held = 0u32;
        let mut filtered = true;
        let mut indexed = true;
        self.table.for_each_index(|_, b| {
            if b.state == CState::Checking {
                checking += 1;
            }
            indexed &= self.index.agrees(b);
            held += b.held.len() as u32;
            filtered &= self.filter.redirectors.may_contain(b.redirector)
                && self.filter.replicas.may_contain(b.replica);
        });
        self.table.check_invariants()
            && checking == self.checking
            && held == self.held_total
            && filtered
            && indexed
            && self.index.keys().is_none_or(|n| n == 2 * self.table.len())
    }
}

/// Slots of [`Wildcards`] the kernel gives it.
pub const WILDCARD_SLOTS: usize = 256;

/// One slot of [`Wildcards`]: a grant (service address, protocol, port)
/// -> replica until `until` (ms; 0: empty).
#[derive(Clone, Copy, Debug)]
pub struct WildcardSlot {
    redirector: Ipv4,
    proto: Proto,
    sport: u16,
    replica: Ipv4,
    token: u32,
    until: u64,
}

impl WildcardSlot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        redirector: Ipv4::UNSPECIFIED,
        proto: Proto::Tcp,
        sport: 0,
        replica: Ipv4::UNSPECIFIED,
        token: 0,
        until: 0,
    };
}

/// The wildcard grants a client role holds, one per (service address,
/// protocol, port), over caller storage `S` (the kernel allocates it, so
/// the table never passes through the stack): direct-mapped by a keyed
/// hash, so its memory is bounded; a collision replaces the older grant
/// (whose service then costs one handshake per flow again, as without
/// grants).
pub struct Wildcards<S: DerefMut<Target = [WildcardSlot]>> {
    key: HashKey,
    slots: S,
}

impl<S: DerefMut<Target = [WildcardSlot]>> Wildcards<S> {
    /// An empty table over `storage`, slots chosen with `key`.
    pub fn new_in(mut storage: S, key: HashKey) -> Self {
        storage.fill(WildcardSlot::EMPTY);
        Self {
            key,
            slots: storage,
        }
    }

    fn slot(&self, redirector: Ipv4, proto: Proto, sport: u16) -> usize {
        crate::hash::reduce(
            self.key.hash2(w0(redirector, proto, 2), u64::from(sport)),
            self.slots.len(),
        )
    }

    /// Installs or renews grant `g` at `now`. Returns the service address
    /// of the grant the slot held before, live or expired (a renewal
    /// replaces a grant by itself), so that a caller keeping a counting
    /// filter of grant addresses can count the new one and uncount the old.
    pub fn install(&mut self, g: &Grant, now: u64) -> Option<Ipv4> {
        let i = self.slot(g.redirector, g.proto, g.sport);
        let s = self.slots.get_mut(i)?;
        let old = (s.until != 0).then_some(s.redirector);
        *s = WildcardSlot {
            redirector: g.redirector,
            proto: g.proto,
            sport: g.sport,
            replica: g.replica,
            token: g.token,
            until: now.saturating_add(u64::from(g.lifetime_s) * 1000).max(1),
        };
        old
    }

    /// Drops the live grant for `redirector`:`sport` (`proto`) if its
    /// token is `token` (a revocation). True if it did: the caller
    /// uncounts the service address. A wrong token changes nothing.
    pub fn revoke(
        &mut self,
        redirector: Ipv4,
        proto: Proto,
        sport: u16,
        token: u32,
        now: u64,
    ) -> bool {
        let i = self.slot(redirector, proto, sport);
        let Some(s) = self.slots.get_mut(i) else {
            return false;
        };
        if (s.redirector, s.proto, s.sport, s.token) != (redirector, proto, sport, token)
            || now >= s.until
        {
            return false;
        }
        *s = WildcardSlot::EMPTY;
        true
    }

    /// The replica a live grant sends new flows to `redirector`:`sport`
    /// to, at `now`.
    pub fn lookup(&self, redirector: Ipv4, proto: Proto, sport: u16, now: u64) -> Option<Ipv4> {
        self.slots
            .get(self.slot(redirector, proto, sport))
            .filter(|w| {
                (w.redirector, w.proto, w.sport) == (redirector, proto, sport) && now < w.until
            })
            .map(|w| w.replica)
    }

    /// Drops every grant (flush, role change), calling `removed` with the
    /// service address of each slot that held one, live or expired.
    pub fn clear(&mut self, mut removed: impl FnMut(Ipv4)) {
        for s in self.slots.iter_mut().filter(|s| s.until != 0) {
            removed(s.redirector);
            *s = WildcardSlot::EMPTY;
        }
    }

    /// Live grants at `now` (stats).
    pub fn count(&self, now: u64) -> usize {
        self.slots.iter().filter(|w| now < w.until).count()
    }
}
