// SPDX-License-Identifier: GPL-2.0
//! The redirector role: redirection table and accept table, one shard.
//!
//! Both of the paper's tables share one slot pool per shard; an entry's
//! [`RState`] says which table it is in (`Sent`/`Confirmed`: redirection
//! table; `Accept`: accept table), so moving a flow to the accept table
//! never needs a free slot. Entries are keyed by (client address, service
//! address, protocol, client port, server port): the paper's Figure 4 key
//! plus the service address, so one client may use two services on the
//! same port of two addresses.
//!
//! See `docs/protocol.md` for the transition table.

use crate::counters::{bump, RedirCounters};
use crate::events::{Cause, Event, EventKind, EventLog};
use crate::hash::HashKey;
use crate::mark::Mark;
use crate::sched::{Service, ServiceTable};
use crate::table::{DumpPos, Entry, Slot, Table, NIL};
use crate::wire::{Ext, Ipv4, MsgType, Outgoing, Proto, Repr, Resends, RESEND_AFTER_MS};
use core::ops::DerefMut;

/// Ticks on which a CONFIRMED entry whose replica failed sends its client
/// the REBIND item (R28): a lost one is sent again on the next tick.
pub const REBIND_SENDS: u8 = 3;

/// State of a redirector entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RState {
    /// REQ sent, no matching CHK yet (`IPRP_SENT`).
    Sent,
    /// CHK matched, key stored, CFM sent (`IPRP_CONFIRMED`).
    Confirmed,
    /// In the accept table: served locally.
    Accept,
}

/// Key of a redirector entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct FlowKey {
    /// Client address.
    pub client: Ipv4,
    /// Service address the client contacted.
    pub vip: Ipv4,
    /// Transport protocol.
    pub proto: Proto,
    /// Client port.
    pub cport: u16,
    /// Server (service) port.
    pub sport: u16,
}

impl FlowKey {
    /// The event `kind` (for `cause`) of this flow, to `replica`.
    pub fn event(&self, kind: EventKind, cause: Cause, replica: Ipv4) -> Event {
        Event {
            kind,
            cause,
            proto: self.proto,
            peer: self.client,
            vip: self.vip,
            port: self.sport,
            cport: self.cport,
            replica,
        }
    }

    fn hash(&self, key: &HashKey) -> u64 {
        key.hash2(
            (u64::from(self.client.to_bits()) << 32) | u64::from(self.vip.to_bits()),
            ((self.proto as u64) << 32) | (u64::from(self.cport) << 16) | u64::from(self.sport),
        )
    }
}

/// A redirector table entry (paper Figure 4).
///
/// `repr(C)`, lookup fields first: the flow key, the state, the replica
/// and the activity time share the slot's first cache line with the
/// table's links.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
pub struct REntry {
    /// The flow.
    pub flow: FlowKey,
    /// State (and so which table).
    pub state: RState,
    /// Counted in the replica's connection count.
    counted: bool,
    /// In the accept table, R has delivered a packet of the flow to its
    /// own stack (R9): a late CHK can no longer rescue it (R14a).
    served_local: bool,
    /// CONFIRMED, its replica failed (R28): CFMs with the REBIND item the
    /// timer still sends before the entry goes; 0 for a live entry.
    rebind_left: u8,
    /// Replica chosen for the flow.
    pub replica: Ipv4,
    /// Last packet of the flow seen at the redirector (ms).
    pub last_activity: u64,
    /// Last CHK from the client, or creation time (ms).
    pub last_response: u64,
    /// Last REQ sent (ms).
    pub last_req: u64,
    /// The client's key (0 until CONFIRMED).
    pub key: u32,
    /// Response timeout copied from the service at creation (ms).
    pub response_timeout_ms: u32,
    /// Idle timeout copied from the service at creation (ms).
    pub idle_timeout_ms: u32,
    /// Service slot and generation, and the generation of the replica the
    /// entry is counted on, for the connection count.
    svc: u32,
    svc_gen: u32,
    replica_gen: u32,
}

/// A new counted entry of flow `k` of service `svc` (slot `si`), created
/// now in `state` with `key` and `replica`.
fn new_entry(
    k: FlowKey,
    si: usize,
    svc: &Service,
    state: RState,
    key: u32,
    replica: Ipv4,
    now: u64,
) -> REntry {
    REntry {
        flow: k,
        state,
        key,
        replica,
        last_activity: now,
        last_response: now,
        last_req: now,
        response_timeout_ms: svc.response_timeout_ms(),
        idle_timeout_ms: svc.idle_timeout_ms(),
        svc: si as u32,
        svc_gen: svc.generation(),
        replica_gen: 0,
        counted: true,
        served_local: false,
        rebind_left: 0,
    }
}

impl Entry for REntry {
    const EMPTY: Self = REntry {
        flow: FlowKey {
            client: Ipv4::UNSPECIFIED,
            vip: Ipv4::UNSPECIFIED,
            proto: Proto::Tcp,
            cport: 0,
            sport: 0,
        },
        state: RState::Sent,
        key: 0,
        replica: Ipv4::UNSPECIFIED,
        last_activity: 0,
        last_response: 0,
        last_req: 0,
        response_timeout_ms: 0,
        idle_timeout_ms: 0,
        svc: 0,
        svc_gen: 0,
        replica_gen: 0,
        counted: false,
        served_local: false,
        rebind_left: 0,
    };
    const INDEXES: usize = 1;
    fn hash(&self, _which: usize, key: &HashKey) -> u64 {
        self.flow.hash(key)
    }
}

/// Storage slot of a redirector shard.
pub type RedirSlot = Slot<REntry>;

/// A packet of a client flow arriving at the redirector host, addressed
/// to one of its local addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PacketInfo {
    /// Source address (the client).
    pub src: Ipv4,
    /// Destination address (a VIP if the flow is for a service).
    pub dst: Ipv4,
    /// Transport protocol.
    pub proto: Proto,
    /// Source port (client port).
    pub sport: u16,
    /// Destination port (service port).
    pub dport: u16,
    /// Whether this packet may start a flow: TCP SYN without ACK; every
    /// UDP packet. Without an entry, other packets are delivered locally
    /// instead of starting a redirection in the middle of a connection.
    pub initial: bool,
    /// The capability mark of a TCP SYN ([`Mark::Unknown`] for others).
    pub mark: Mark,
}

/// Why the redirector drops a packet or message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DropReason {
    /// CHK to an address/port that is not a configured service.
    NotService,
    /// Not a CHK (REQ/CFM/ALM are for the client role).
    NotChk,
}

/// What to do with a packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Not for a configured service: leave it alone.
    Pass,
    /// Deliver to the local transport layer (accept table, mid-flow
    /// packet without entry, or no eligible replica).
    Local,
    /// Rewrite the destination to `replica` and forward.
    Forward {
        /// Replica address.
        replica: Ipv4,
    },
    /// Drop it.
    Drop(DropReason),
}

/// Result of [`RedirShard::on_packet`]: the packet's fate and at most one
/// protocol message to send.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PacketOutcome {
    /// What to do with the packet.
    pub verdict: Verdict,
    /// REQ (new flow, or duplicate while SENT) or duplicate CFM.
    pub send: Option<Outgoing>,
}

impl PacketOutcome {
    /// Deliver the packet to the redirector's own stack; send nothing.
    pub const LOCAL: Self = Self {
        verdict: Verdict::Local,
        send: None,
    };
    /// Not ours: let the packet go on untouched; send nothing.
    pub const PASS: Self = Self {
        verdict: Verdict::Pass,
        send: None,
    };
}

/// One shard of a redirector's redirection and accept tables.
pub struct RedirShard<S: DerefMut<Target = [RedirSlot]>> {
    table: Table<REntry, S>,
    /// The stripe of the services' shared counters this shard writes.
    stripe: usize,
    /// Counters of this shard.
    pub counters: RedirCounters,
    /// Changes of entries since the caller last took them.
    pub events: EventLog,
}

fn msg(ty: MsgType, e: &REntry, key: u32) -> Outgoing {
    Outgoing {
        from: e.flow.vip,
        to: e.flow.client,
        msg: Repr {
            ty,
            proto: e.flow.proto,
            cport: e.flow.cport,
            sport: e.flow.sport,
            replica: e.replica,
            key,
        },
        ext: Ext::NONE,
    }
}

fn svc_of<'a, T: DerefMut<Target = [Service]>>(
    svcs: &'a ServiceTable<T>,
    e: &REntry,
) -> Option<&'a Service> {
    svcs.get(e.svc as usize)
        .filter(|s| s.generation() == e.svc_gen)
}

/// Releases the replica connection `e` counts, if it counts one (its
/// service or replica may be gone since: then there is nothing to release).
fn uncount<T: DerefMut<Target = [Service]>>(svcs: &ServiceTable<T>, e: &REntry) {
    if e.counted {
        if let Some(s) = svc_of(svcs, e) {
            s.conn_dec(e.replica, e.replica_gen);
        }
    }
}

impl<S: DerefMut<Target = [RedirSlot]>> RedirShard<S> {
    /// Takes over `storage` (capacity = its length) with bucket hash key `key`.
    pub fn new_in(storage: S, key: HashKey) -> Self {
        Self {
            table: Table::new_in(storage, key),
            stripe: 0,
            counters: RedirCounters::ZERO,
            events: EventLog::new(),
        }
    }

    /// Makes this shard write stripe `i` of the services' counters (see
    /// [`crate::counters::COUNTER_STRIPES`]): give each shard its index, so
    /// shards that run at once on different CPUs write different cache
    /// lines.
    pub fn with_stripe(mut self, i: usize) -> Self {
        self.stripe = i % crate::counters::COUNTER_STRIPES;
        self
    }

    /// Number of entries (both tables).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    fn find(&self, k: &FlowKey) -> Option<u32> {
        self.table
            .find(0, k.hash(self.table.hash_key()), |e| e.flow == *k)
    }

    /// `find` for the packet path (moves the entry to the front of its
    /// chain).
    fn find_front(&mut self, k: &FlowKey) -> Option<u32> {
        let h = k.hash(self.table.hash_key());
        self.table.find_front(0, h, |e| e.flow == *k)
    }

    /// The entry for flow `k`, if any.
    pub fn lookup(&self, k: &FlowKey) -> Option<&REntry> {
        self.find(k).and_then(|i| self.table.get(i))
    }

    /// Calls `f` on every entry (for dumps).
    pub fn for_each(&self, mut f: impl FnMut(&REntry)) {
        self.table.for_each_index(|_, e| f(e));
    }

    /// Entries for a dump, newest first, from `from` until `f` returns
    /// false or `budget` were visited; returns where to resume (see
    /// [`crate::table::Table::dump_from`]).
    pub fn dump_from(
        &self,
        from: DumpPos,
        budget: u32,
        f: impl FnMut(&REntry) -> bool,
    ) -> Option<DumpPos> {
        self.table.dump_from(from, budget, f)
    }

    /// A packet of a client flow arrived at the redirector host.
    ///
    /// Knows no legacy client: for callers without a [`LegacyClients`]
    /// (tests, benchmarks). The kernel uses [`Self::on_packet_with`].
    pub fn on_packet<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        pkt: &PacketInfo,
        now: u64,
    ) -> PacketOutcome {
        self.on_packet_with(svcs, pkt, now, |_| false)
    }

    /// [`Self::on_packet`] where a packet that would start a new flow first
    /// asks `is_legacy(client)`; a known legacy client is served locally
    /// at once, without a REQ. Called at most once, under the caller's lock.
    pub fn on_packet_with<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        pkt: &PacketInfo,
        now: u64,
        is_legacy: impl FnOnce(Ipv4) -> bool,
    ) -> PacketOutcome {
        let Some(si) = svcs.find(pkt.proto, pkt.dst, pkt.dport) else {
            return PacketOutcome::PASS;
        };
        let Some(svc) = svcs.get(si) else {
            return PacketOutcome::PASS;
        };
        self.counters.packets += 1;
        let sc = svc.live().stripe(self.stripe);
        bump(&sc.packets);
        let k = FlowKey {
            client: pkt.src,
            vip: pkt.dst,
            proto: pkt.proto,
            cport: pkt.sport,
            sport: pkt.dport,
        };
        if let Some(i) = self.find_front(&k) {
            if let Some(e) = self.table.get_mut(i) {
                let e0 = *e;
                let rebind = e0.state == RState::Confirmed
                    && pkt.initial
                    && now.saturating_sub(e0.last_response) >= u64::from(e0.response_timeout_ms);
                // R28: the flow's replica failed; its packets are those of
                // a flow without an entry.
                let failed = e0.rebind_left > 0;
                if !rebind && !failed {
                    e.last_activity = now;
                    if e.state == RState::Sent {
                        // Answered below with a REQ.
                        e.last_req = now;
                    }
                    if e.state == RState::Accept {
                        e.served_local = true;
                    }
                    let e = *e;
                    return match e.state {
                        RState::Accept => {
                            self.counters.local_accept += 1;
                            bump(&sc.local);
                            PacketOutcome::LOCAL
                        }
                        RState::Sent => {
                            self.counters.forwarded += 1;
                            self.counters.req_dup += 1;
                            bump(&sc.forwarded);
                            PacketOutcome {
                                verdict: Verdict::Forward { replica: e.replica },
                                send: Some(msg(MsgType::Req, &e, 0)),
                            }
                        }
                        RState::Confirmed => {
                            self.counters.forwarded += 1;
                            self.counters.cfm_dup_packet += 1;
                            bump(&sc.forwarded);
                            PacketOutcome {
                                verdict: Verdict::Forward { replica: e.replica },
                                send: Some(Outgoing {
                                    ext: Ext::offer(svc.grant_s()),
                                    ..msg(MsgType::Cfm, &e, e.key)
                                }),
                            }
                        }
                    };
                }
                // The client opens the flow through us again a full
                // response timeout after we confirmed it: it no longer has
                // the binding (it expired, the port was reused for a new
                // connection, its module was reloaded, or every CFM was
                // lost). A CFM cannot heal that, so the entry is replaced by
                // a fresh handshake, below, as for a new flow.
                if failed {
                    self.remove_entry(svcs, i, Cause::ReplicaFailed);
                } else {
                    self.remove_entry(svcs, i, Cause::Reopened);
                    self.counters.confirmed_rebound += 1;
                }
            }
        }
        if !pkt.initial {
            self.counters.local_midflow += 1;
            bump(&sc.local);
            return PacketOutcome::LOCAL;
        }
        match pkt.mark {
            // The client says it speaks IPRP: whatever R remembered of it,
            // the flow gets a REQ (R25).
            Mark::Marked => self.counters.flow_marked += 1,
            // The service serves flows without the mark at once (R26).
            Mark::Unmarked if svc.unmarked_local() => {
                self.counters.local_unmarked += 1;
                bump(&sc.local);
                bump(&sc.flows_local);
                self.events
                    .push(k.event(EventKind::FlowLocal, Cause::None, Ipv4::UNSPECIFIED));
                return PacketOutcome::LOCAL;
            }
            Mark::Unmarked | Mark::Unknown => {}
        }
        if pkt.mark != Mark::Marked && is_legacy(pkt.src) {
            self.counters.local_legacy += 1;
            bump(&sc.local);
            bump(&sc.flows_local);
            self.events
                .push(k.event(EventKind::FlowLocal, Cause::None, Ipv4::UNSPECIFIED));
            return PacketOutcome::LOCAL;
        }
        if self.table.is_full() {
            // A full shard serves the flow itself, as for a legacy client:
            // under a new-flow flood legitimate clients still get served
            // (not redirected) instead of losing their SYNs.
            self.counters.local_table_full += 1;
            bump(&sc.local_table_full);
            return PacketOutcome::LOCAL;
        }
        let Some((_, replica)) = svc.pick(pkt.src) else {
            self.counters.local_no_replica += 1;
            bump(&sc.local);
            bump(&sc.flows_local);
            self.events
                .push(k.event(EventKind::FlowLocal, Cause::None, Ipv4::UNSPECIFIED));
            return PacketOutcome::LOCAL;
        };
        let Some(e) =
            self.insert_counted(svc, new_entry(k, si, svc, RState::Sent, 0, replica, now))
        else {
            self.counters.local_table_full += 1;
            bump(&sc.local_table_full);
            return PacketOutcome::LOCAL;
        };
        self.events
            .push(k.event(EventKind::FlowNew, Cause::None, replica));
        self.counters.flow_new += 1;
        self.counters.forwarded += 1;
        self.counters.req_sent += 1;
        bump(&sc.flows_new);
        bump(&sc.forwarded);
        PacketOutcome {
            verdict: Verdict::Forward { replica },
            send: Some(msg(MsgType::Req, &e, 0)),
        }
    }

    /// A protocol message `m` arrived from `src` to local address `dst`.
    /// Only CHK is for the redirector; the answer is a CFM or an ALM.
    pub fn on_chk<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        m: &Repr,
        src: Ipv4,
        dst: Ipv4,
        now: u64,
    ) -> Result<Outgoing, DropReason> {
        if m.ty != MsgType::Chk {
            self.counters.msg_not_chk += 1;
            return Err(DropReason::NotChk);
        }
        let Some((si, svc)) = svcs
            .find(m.proto, dst, m.sport)
            .and_then(|i| Some((i, svcs.get(i)?)))
        else {
            self.counters.chk_not_service += 1;
            return Err(DropReason::NotService);
        };
        self.counters.chk_rx += 1;
        let alm = Outgoing {
            from: dst,
            to: src,
            msg: m.answer(MsgType::Alm, m.key),
            ext: Ext::NONE,
        };
        let k = FlowKey {
            client: src,
            vip: dst,
            proto: m.proto,
            cport: m.cport,
            sport: m.sport,
        };
        let Some(e) = self.find(&k).and_then(|i| self.table.get_mut(i)) else {
            if svc.fleet_seed() != 0 && svc.pick(src).is_some_and(|(_, r)| r == m.replica) {
                return Ok(self.fleet_confirm(si, svc, k, m, now));
            }
            self.counters.chk_no_entry += 1;
            self.counters.alm_sent += 1;
            return Ok(alm);
        };
        match e.state {
            RState::Sent if e.replica == m.replica => {
                // The confirmation is the flow's last sign of life here:
                // R sees none of its packets from now on (R10).
                e.last_activity = now;
                e.last_response = now;
                e.state = RState::Confirmed;
                e.key = m.key;
                self.events
                    .push(k.event(EventKind::FlowConfirmed, Cause::None, e.replica));
                self.counters.cfm_sent += 1;
                bump(&svc.live().stripe(self.stripe).flows_redirected);
                svc.count_confirmed(e.replica);
                Ok(Outgoing {
                    from: dst,
                    to: src,
                    msg: m.answer(MsgType::Cfm, m.key),
                    ext: Ext::offer(svc.grant_s()),
                })
            }
            RState::Confirmed if e.replica == m.replica && e.key == m.key => {
                e.last_response = now;
                self.counters.cfm_dup_chk += 1;
                Ok(Outgoing {
                    from: dst,
                    to: src,
                    msg: m.answer(MsgType::Cfm, m.key),
                    ext: Ext::offer(svc.grant_s()),
                })
            }
            RState::Sent | RState::Confirmed => {
                if e.replica != m.replica {
                    self.counters.chk_wrong_replica += 1;
                } else {
                    self.counters.chk_wrong_key += 1;
                }
                self.counters.alm_sent += 1;
                Ok(alm)
            }
            RState::Accept if !e.served_local && e.replica == m.replica => {
                // R14a: the CHK is late (the REQ or the first CHKs were
                // lost) but R has served none of the flow's packets: the
                // replica has the flow's SYN and is answering the client,
                // so confirm it as R10 would have, instead of an ALM that
                // leaves the flow to the client's next SYN retransmission.
                e.last_activity = now;
                e.last_response = now;
                e.state = RState::Confirmed;
                e.key = m.key;
                e.counted = true;
                e.replica_gen = svc.conn_inc(e.replica);
                self.events
                    .push(k.event(EventKind::FlowConfirmed, Cause::None, e.replica));
                self.counters.chk_late_confirmed += 1;
                self.counters.cfm_sent += 1;
                bump(&svc.live().stripe(self.stripe).flows_redirected);
                svc.count_confirmed(e.replica);
                Ok(Outgoing {
                    from: dst,
                    to: src,
                    msg: m.answer(MsgType::Cfm, m.key),
                    ext: Ext::offer(svc.grant_s()),
                })
            }
            RState::Accept => {
                self.counters.chk_in_accept += 1;
                self.counters.alm_sent += 1;
                Ok(alm)
            }
        }
    }

    /// Inserts new entry `e` and counts it on its replica (a new live
    /// connection, a flow assigned); the stored entry, or `None` when the
    /// shard is full (nothing counted).
    fn insert_counted(&mut self, svc: &Service, e: REntry) -> Option<REntry> {
        let i = self.table.insert(e)?;
        let replica_gen = svc.conn_inc(e.replica);
        if let Some(stored) = self.table.get_mut(i) {
            stored.replica_gen = replica_gen;
        }
        Some(REntry { replica_gen, ..e })
    }

    /// R27: a CHK of flow `k` of fleet service `svc` that this redirector
    /// has no entry for, naming the replica it would pick itself: another
    /// member of the fleet sent the REQ (ECMP or anycast moved the flow's
    /// packets). Confirmed as R10 would have, with a CONFIRMED entry if the
    /// shard has room (for duplicate CHKs, counts and dumps) and without
    /// one otherwise: a repeated CHK is confirmed again the same way.
    fn fleet_confirm(
        &mut self,
        si: usize,
        svc: &Service,
        k: FlowKey,
        m: &Repr,
        now: u64,
    ) -> Outgoing {
        let e = new_entry(k, si, svc, RState::Confirmed, m.key, m.replica, now);
        match self.insert_counted(svc, e) {
            Some(_) => self.counters.chk_fleet_confirmed += 1,
            None => self.counters.chk_fleet_unstored += 1,
        }
        self.events
            .push(k.event(EventKind::FlowConfirmed, Cause::None, m.replica));
        self.counters.cfm_sent += 1;
        bump(&svc.live().stripe(self.stripe).flows_redirected);
        svc.count_confirmed(m.replica);
        Outgoing {
            from: k.vip,
            to: k.client,
            msg: m.answer(MsgType::Cfm, m.key),
            ext: Ext::offer(svc.grant_s()),
        }
    }

    /// Removes every entry of both tables (operator flush), releasing
    /// the replicas' connection counts. Not counted as expiry.
    pub fn clear<T: DerefMut<Target = [Service]>>(&mut self, svcs: &ServiceTable<T>) {
        while self
            .remove_entry(svcs, self.table.first_live(), Cause::Flushed)
            .is_some()
        {}
    }

    /// Removes the entries of the service in slot `idx` (it is being
    /// deleted), releasing their connection counts. Returns how many.
    /// Visits every entry of the shard.
    pub fn remove_service<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        idx: usize,
    ) -> u32 {
        let Some(svc) = svcs.get(idx) else {
            return 0;
        };
        let gen = svc.generation();
        let mut removed = 0;
        let mut next = self.table.first_live();
        while next != NIL {
            let i = next;
            next = self.table.next_live(i);
            let Some(e) = self.table.get(i).copied() else {
                continue;
            };
            if e.svc as usize != idx || e.svc_gen != gen {
                continue;
            }
            self.remove_entry(svcs, i, Cause::ServiceDeleted);
            removed += 1;
        }
        self.counters.deleted_with_service += u64::from(removed);
        removed
    }

    /// R28: replica `replica` of the service in slot `idx` failed (marked
    /// down or removed). Its CONFIRMED entries stop counting on it and are
    /// marked to send their client a CFM with the REBIND item on the next
    /// [`REBIND_SENDS`] ticks ([`Self::on_tick`]), after which they go; a
    /// packet of such a flow meanwhile is handled as one without an entry.
    /// Its SENT entries go at once: the client's CHK then gets an ALM
    /// (R15), and the flow's next packet a live replica. Entries in the
    /// accept table stay (R serves them). Returns how many entries
    /// changed. Visits every entry of the shard.
    pub fn fail_replica<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        idx: usize,
        replica: Ipv4,
    ) -> u32 {
        let Some(svc) = svcs.get(idx) else {
            return 0;
        };
        let gen = svc.generation();
        let mut changed = 0;
        let mut next = self.table.first_live();
        while next != NIL {
            let i = next;
            next = self.table.next_live(i);
            let Some(e) = self.table.get_mut(i) else {
                continue;
            };
            if e.svc as usize != idx || e.svc_gen != gen || e.replica != replica {
                continue;
            }
            match e.state {
                RState::Confirmed if e.rebind_left == 0 => {
                    e.rebind_left = REBIND_SENDS;
                    uncount(svcs, e);
                    e.counted = false;
                    self.counters.rebind_marked += 1;
                    bump(&svc.live().stripe(self.stripe).flows_rebound);
                    svc.count_rebound(replica);
                    changed += 1;
                }
                RState::Sent => {
                    self.remove_entry(svcs, i, Cause::ReplicaFailed);
                    self.counters.failed_sent_removed += 1;
                    changed += 1;
                }
                RState::Confirmed | RState::Accept => {}
            }
        }
        changed
    }

    /// Slow timer (the paper runs it every 500 ms): deletes entries idle
    /// for their idle timeout, moves SENT entries whose client has not
    /// answered within the response timeout to the accept table.
    ///
    /// Returns the REQs to re-send: one for each SENT entry whose last REQ
    /// is [`RESEND_AFTER_MS`] old, at most
    /// [`RESEND_PER_TICK`](crate::wire::RESEND_PER_TICK) (the rest wait for
    /// a later tick). A lost REQ or CHK so heals within the response
    /// timeout instead of waiting for the client's next SYN.
    ///
    /// Bounded: one call visits at most [`SWEEP_SLOTS`](crate::table::SWEEP_SLOTS)
    /// entries, continuing where the previous call stopped, so every entry
    /// is checked once per `ceil(entries / SWEEP_SLOTS)` calls (every call
    /// up to that many); its cost follows the entries, not the capacity.
    pub fn on_tick<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        now: u64,
    ) -> Resends {
        self.on_tick_with(svcs, now, |_| {})
    }

    /// [`Self::on_tick`], calling `silent(client)` for each flow whose
    /// client did not answer its REQ within the response timeout (R18): the
    /// kernel remembers such a client as legacy unless it is known to speak
    /// IPRP ([`LegacyClients::remember_silent`]). Called under the caller's
    /// lock; it must not re-enter this shard.
    pub fn on_tick_with<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        now: u64,
        mut silent: impl FnMut(Ipv4),
    ) -> Resends {
        let mut resend = Resends::new();
        for _ in 0..self.table.sweep_budget() {
            let Some(i) = self.table.sweep_next() else {
                break;
            };
            let Some(e) = self.table.get_mut(i) else {
                continue;
            };
            if e.rebind_left > 0 {
                // R28: tell the client its replica failed, on up to
                // REBIND_SENDS ticks, then forget the flow.
                if resend.is_full() {
                    continue;
                }
                e.rebind_left -= 1;
                let last = e.rebind_left == 0;
                // Cannot fail: checked not full above.
                let _ = resend.push(Outgoing {
                    ext: Ext::REBIND,
                    ..msg(MsgType::Cfm, e, e.key)
                });
                self.counters.rebind_sent += 1;
                if last {
                    self.remove_entry(svcs, i, Cause::ReplicaFailed);
                }
                continue;
            }
            if now.saturating_sub(e.last_activity) >= u64::from(e.idle_timeout_ms) {
                self.remove_entry(svcs, i, Cause::Expired);
                self.counters.expired_idle += 1;
            } else if e.state == RState::Sent
                && now.saturating_sub(e.last_response) >= u64::from(e.response_timeout_ms)
            {
                let e = *e;
                self.move_to_accept(svcs, i);
                self.counters.to_accept += 1;
                let svc = svc_of(svcs, &e);
                if let Some(s) = svc {
                    bump(&s.live().stripe(self.stripe).flows_local);
                }
                if svc.is_some_and(|s| s.fleet_seed() != 0) {
                    // The CHK may have reached another member (R27): this
                    // silence says nothing about the client.
                    self.counters.fleet_silence_unlearned += 1;
                } else {
                    silent(e.flow.client);
                }
            } else if e.state == RState::Sent
                && now.saturating_sub(e.last_req) >= RESEND_AFTER_MS
                && !resend.is_full()
            {
                e.last_req = now;
                self.counters.req_timer_resent += 1;
                // Cannot fail: checked not full above.
                let _ = resend.push(msg(MsgType::Req, e, 0));
            }
        }
        resend
    }

    /// The client answered the REQ of flow `k` with ICMP protocol
    /// unreachable: it has no IPRP, so a SENT entry moves to the accept
    /// table at once instead of after the response timeout. True if it did
    /// (the caller may then remember the client in [`LegacyClients`]).
    /// An ICMP error for any other entry, or none, changes nothing: only the
    /// holder of a REQ that is still unanswered can end its flow's
    /// redirection this way.
    pub fn on_unreachable<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        k: &FlowKey,
    ) -> bool {
        let Some(i) = self.find(k) else {
            self.counters.unreach_no_flow += 1;
            return false;
        };
        let Some(e) = self.table.get(i).copied() else {
            return false;
        };
        if e.state != RState::Sent {
            self.counters.unreach_no_flow += 1;
            return false;
        }
        self.move_to_accept(svcs, i);
        // The client said it has no IPRP: a CHK for this flow can only be
        // forged, so none may bring it back (R14a).
        if let Some(e) = self.table.get_mut(i) {
            e.served_local = true;
        }
        self.counters.unreach_to_accept += 1;
        if let Some(s) = svc_of(svcs, &e) {
            bump(&s.live().stripe(self.stripe).flows_local);
        }
        true
    }

    fn move_to_accept<T: DerefMut<Target = [Service]>>(&mut self, svcs: &ServiceTable<T>, i: u32) {
        if let Some(e) = self.table.get_mut(i) {
            uncount(svcs, e);
            e.state = RState::Accept;
            e.counted = false;
            self.events.push(
                e.flow
                    .event(EventKind::FlowLocal, Cause::None, Ipv4::UNSPECIFIED),
            );
        }
    }

    /// Removes the entry in slot `i` for `cause`, releasing the connection
    /// it counts.
    fn remove_entry<T: DerefMut<Target = [Service]>>(
        &mut self,
        svcs: &ServiceTable<T>,
        i: u32,
        cause: Cause,
    ) -> Option<REntry> {
        let e = self.table.remove(i)?;
        uncount(svcs, &e);
        let replica = match e.state {
            RState::Accept => Ipv4::UNSPECIFIED,
            RState::Sent | RState::Confirmed => e.replica,
        };
        self.events
            .push(e.flow.event(EventKind::FlowDel, cause, replica));
        Some(e)
    }

    /// Checks the table's structural invariants (tests).
    pub fn check_invariants(&self) -> bool {
        self.table.check_invariants()
    }
}
