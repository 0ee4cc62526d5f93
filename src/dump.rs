// SPDX-License-Identifier: GPL-2.0

//! Netlink dumps of services, bindings and flows (the dumpits of the
//! generated ops table), and the named core statistics.

use crate::nl::{self, Dump, HookPkts, Msg};
use crate::pernet::{NetState, MAX_SERVICES, NSHARDS};
use crate::shim;
use crate::uapi::iprp_attr as a;
use crate::uapi::iprp_cmd as cmd;
use crate::uapi::iprp_known as kn;
use crate::uapi::iprp_state as st;
use iprp_core::client::CState;
use iprp_core::legacy::Known;
use iprp_core::redirector::RState;
use iprp_core::sched::Service;
use iprp_core::{
    ClientCounters, DumpPos, GrantCounters, Ipv4, LegacyCounters, RedirCounters, ServiceCounters,
};
use kernel::prelude::*;

/// One row of the binding and flow dumps.
struct Row {
    peer: Ipv4,
    /// The service address; 0.0.0.0 (left out) if unknown.
    vip: Ipv4,
    replica: Ipv4,
    cport: u16,
    port: u16,
    proto: u8,
    state: u32,
    age_ms: u32,
}

impl Row {
    fn put(&self, m: &mut Msg<'_>) -> Result {
        m.put_ipv4(a::IPRP_A_PEER, self.peer)?;
        if !self.vip.is_unspecified() {
            m.put_ipv4(a::IPRP_A_VIP, self.vip)?;
        }
        m.put_ipv4(a::IPRP_A_REPLICA_ADDR, self.replica)?;
        m.put_u8(a::IPRP_A_PROTO, self.proto)?;
        m.put_u16(a::IPRP_A_CPORT, self.cport)?;
        m.put_u16(a::IPRP_A_PORT, self.port)?;
        m.put_u8(a::IPRP_A_STATE, self.state as u8)?;
        m.put_u32(a::IPRP_A_AGE, self.age_ms)
    }
}

/// Writes rows into a dump. Each call resumes at the entry where the
/// previous one stopped (see [`encode_pos`]), so a dump of n entries costs
/// O(n), whatever the tables' capacity.
struct Cursor<'d, 'a> {
    /// Only this service: (protocol, address, port).
    filter: Option<(u8, Ipv4, u16)>,
    /// Only this peer.
    peer: Option<Ipv4>,
    dump: &'d mut Dump<'a>,
    /// Set once a row did not fit: the call ends there.
    full: bool,
}

impl Cursor<'_, '_> {
    /// Writes `row` unless filtered out; false once the message is full.
    fn row(&mut self, row: Row) -> bool {
        if self
            .filter
            .is_some_and(|(p, v, port)| (p, v, port) != (row.proto, row.vip, row.port))
            || self.peer.is_some_and(|peer| peer != row.peer)
        {
            return true;
        }
        self.full = self.dump.message(|m| row.put(m)).is_err();
        !self.full
    }
}

/// Most entries a dump visits under one hold of a shard's lock; it then
/// drops the lock and takes it again, so a dump filtered down to few rows
/// does not hold a shard for a whole shard's walk.
const VISITS_PER_HOLD: u32 = 1024;

/// A dump position: shard in bits 59 to 63, then the [`DumpPos`] of the
/// entry to resume at: its slot in bits 32 to 58 (a shard has at most
/// 2^22 / 16 slots), its serial in bits 0 to 31 (0: the shard's newest
/// entry).
fn encode_pos(shard: usize, p: DumpPos) -> u64 {
    ((shard as u64) << 59) | (u64::from(p.slot & SLOT_MASK) << 32) | u64::from(p.serial)
}

fn decode_pos(pos: u64) -> (usize, DumpPos) {
    let p = DumpPos {
        slot: (pos >> 32) as u32 & SLOT_MASK,
        serial: pos as u32,
    };
    ((pos >> 59) as usize, p)
}

const SLOT_MASK: u32 = (1 << 27) - 1;

/// Walks `nshards` shards from position `pos`; `scan(shard, from, cursor)`
/// visits at most [`VISITS_PER_HOLD`] entries of one shard under its lock
/// from `from` and returns where to resume (`None`: the shard is done).
/// Returns the position to resume at. A fresh dump starts at position 0:
/// shard 0's newest entry.
fn walk_shards(
    pos: u64,
    nshards: usize,
    cur: &mut Cursor<'_, '_>,
    mut scan: impl FnMut(usize, DumpPos, &mut Cursor<'_, '_>) -> Option<DumpPos>,
) -> u64 {
    let (first, mut from) = decode_pos(pos);
    for shard in first..nshards {
        if shard != first {
            from = DumpPos::START;
        }
        while let Some(next) = scan(shard, from, cur) {
            if cur.full {
                return encode_pos(shard, next);
            }
            from = next;
        }
    }
    encode_pos(nshards, DumpPos::START)
}

fn age(now: u64, last: u64) -> u32 {
    u32::try_from(now.saturating_sub(last)).unwrap_or(u32::MAX)
}

/// A binding or flow dump: the request's filters (a service only with
/// its protocol, address and port all given), then `walk` from the
/// position where the previous call stopped.
fn dump_rows(dump: &mut Dump<'_>, walk: fn(&NetState, u64, &mut Cursor<'_, '_>) -> u64) -> Result {
    let attrs = dump.attrs();
    let filter = match (
        attrs.u8(a::IPRP_A_PROTO),
        attrs.ipv4(a::IPRP_A_VIP),
        attrs.u16(a::IPRP_A_PORT),
    ) {
        (Some(p), Some(v), Some(port)) => Some((p, v, port)),
        _ => None,
    };
    let peer = attrs.ipv4(a::IPRP_A_PEER);
    let start = dump.pos();
    let state = dump.state();
    let mut cur = Cursor {
        filter,
        peer,
        dump,
        full: false,
    };
    let next = walk(state, start, &mut cur);
    dump.set_pos(next);
    Ok(())
}

fn walk_bindings(state: &NetState, pos: u64, cur: &mut Cursor<'_, '_>) -> u64 {
    let Some(client) = state.client_tables() else {
        return pos;
    };
    let now = shim::now_ms();
    walk_shards(pos, client.shards.len(), cur, |i, from, cur| {
        client.shards[i]
            .lock()
            .dump_from(from, VISITS_PER_HOLD, |b| {
                cur.row(Row {
                    peer: b.redirector,
                    vip: b.redirector,
                    replica: b.replica,
                    cport: b.cport,
                    port: b.sport,
                    proto: b.proto.number(),
                    state: match b.state {
                        CState::Checking => st::IPRP_STATE_CHECKING,
                        CState::Confirmed => st::IPRP_STATE_CONFIRMED,
                    },
                    age_ms: age(now, b.last_activity),
                })
            })
    })
}

fn walk_flows(state: &NetState, pos: u64, cur: &mut Cursor<'_, '_>) -> u64 {
    let Some(redir) = state.redirector_tables() else {
        return pos;
    };
    let now = shim::now_ms();
    // Each shard under its own lock, like the packets of its flows.
    walk_shards(pos, NSHARDS, cur, |i, from, cur| {
        redir
            .tables
            .shard(i)
            .shard
            .dump_from(from, VISITS_PER_HOLD, |e| {
                cur.row(Row {
                    peer: e.flow.client,
                    vip: e.flow.vip,
                    replica: e.replica,
                    cport: e.flow.cport,
                    port: e.flow.sport,
                    proto: e.flow.proto.number(),
                    state: match e.state {
                        RState::Sent => st::IPRP_STATE_SENT,
                        RState::Confirmed => st::IPRP_STATE_CONFIRMED,
                        RState::Accept => st::IPRP_STATE_ACCEPT,
                    },
                    age_ms: age(now, e.last_activity),
                })
            })
    })
}

/// One service of the GET_SERVICE dump: its key, scheduler and timeouts,
/// its grants in force, its replicas and its counters.
fn put_service(m: &mut Msg<'_>, svc: &Service, granted: u32) -> Result {
    m.put_u8(a::IPRP_A_PROTO, svc.proto().number())?;
    m.put_ipv4(a::IPRP_A_VIP, svc.vip())?;
    m.put_u16(a::IPRP_A_PORT, svc.port())?;
    m.put_u8(a::IPRP_A_SCHED, svc.sched() as u8)?;
    m.put_u32(a::IPRP_A_RESPONSE_TIMEOUT, svc.response_timeout_ms())?;
    m.put_u32(a::IPRP_A_IDLE_TIMEOUT, svc.idle_timeout_ms())?;
    m.put_u32(a::IPRP_A_GRANT, svc.grant_s())?;
    m.put_u8(a::IPRP_A_UNMARKED_LOCAL, u8::from(svc.unmarked_local()))?;
    m.put_u64(a::IPRP_A_FLEET_SEED, svc.fleet_seed(), a::IPRP_A_PAD)?;
    m.put_u32(a::IPRP_A_GRANTED, granted)?;
    m.nest(a::IPRP_A_REPLICAS, |m| {
        for r in svc.replicas() {
            m.nest(a::IPRP_A_REPLICA, |m| {
                m.put_ipv4(a::IPRP_A_REPLICA_ADDR, r.addr())?;
                m.put_u32(a::IPRP_A_WEIGHT, u32::from(r.weight()))?;
                m.put_u8(a::IPRP_A_UP, u8::from(r.up()))?;
                m.put_u32(a::IPRP_A_CONNS, r.conns())?;
                m.put_u64(a::IPRP_A_ASSIGNED, r.assigned(), a::IPRP_A_PAD)?;
                m.put_u64(a::IPRP_A_CONFIRMED, r.confirmed(), a::IPRP_A_PAD)?;
                m.put_u64(a::IPRP_A_REBOUND, r.rebound(), a::IPRP_A_PAD)
            })?;
        }
        Ok(())
    })?;
    m.nest(a::IPRP_A_STATS, |m| {
        let counters = svc.counters();
        let names = ServiceCounters::C_NAMES.iter();
        for ((_, v), name) in counters.fields().into_iter().zip(names) {
            nl::put_stat(m, name.as_bytes(), v)?;
        }
        Ok(())
    })
}

/// GET_SERVICE: the redirector's services with their replicas and
/// counters, one message each, from the position (a service index) where
/// the previous call stopped.
fn dump_services(dump: &mut Dump<'_>) -> Result {
    let start = dump.pos();
    let Some(redir) = dump.state().redirector_tables() else {
        return Ok(());
    };
    let mut index = 0u64;
    let res = {
        // Any one shard's lock keeps the services from changing.
        let g = redir.tables.shard(0);
        // The grants in force per service, in one walk of the grant table
        // (taken inside a shard's lock, its order).
        let mut granted = [0u32; MAX_SERVICES];
        redir
            .grants
            .lock()
            .for_each_live(shim::now_ms(), |vip, proto, port| {
                if let Some(n) = g
                    .shared
                    .find(proto, vip, port)
                    .and_then(|i| granted.get_mut(i))
                {
                    *n += 1;
                }
            });
        // By slot, as `find` numbers them; `index` counts the services.
        let mut services = (0..MAX_SERVICES).filter_map(|i| g.shared.get(i).map(|svc| (i, svc)));
        services.try_for_each(|(i, svc)| {
            if index >= start {
                let n = granted.get(i).copied().unwrap_or(0);
                dump.message(|m| put_service(m, svc, n))?;
            }
            index += 1;
            Ok(())
        })
    };
    dump.set_pos(index);
    res
}

/// The GET_LEGACY dump: the redirector's client cache, slot by slot,
/// [`VISITS_PER_HOLD`] slots per hold of its lock; the position is the
/// slot to resume at.
fn dump_legacy(dump: &mut Dump<'_>) -> Result {
    let peer = dump.attrs().ipv4(a::IPRP_A_PEER);
    let Some(redir) = dump.state().redirector_tables() else {
        return Ok(());
    };
    let now = shim::now_ms();
    let mut pos = usize::try_from(dump.pos()).unwrap_or(usize::MAX);
    let mut full = false;
    loop {
        let next = redir
            .legacy
            .lock()
            .dump_from(pos, VISITS_PER_HOLD as usize, now, |c| {
                if peer.is_some_and(|p| p != c.client) {
                    return true;
                }
                full = dump
                    .message(|m| {
                        m.put_ipv4(a::IPRP_A_PEER, c.client)?;
                        m.put_u8(
                            a::IPRP_A_KNOWN,
                            match c.what {
                                Known::Legacy => kn::IPRP_KNOWN_LEGACY,
                                Known::Capable => kn::IPRP_KNOWN_CAPABLE,
                            } as u8,
                        )?;
                        m.put_u32(
                            a::IPRP_A_EXPIRES,
                            u32::try_from(c.remaining_ms).unwrap_or(u32::MAX),
                        )
                    })
                    .is_err();
                !full
            });
        match next {
            Some(n) => pos = n,
            None => {
                pos = usize::MAX;
                break;
            }
        }
        if full {
            break;
        }
    }
    dump.set_pos(pos as u64);
    Ok(())
}

nl::dumpit! {
    iprp_nl_get_service_dumpit(cmd::IPRP_CMD_GET_SERVICE) => dump_services;
    iprp_nl_get_legacy_dumpit(cmd::IPRP_CMD_GET_LEGACY) => dump_legacy;
    iprp_nl_get_binding_dumpit(cmd::IPRP_CMD_GET_BINDING) =>
        |d: &mut Dump<'_>| dump_rows(d, walk_bindings);
    iprp_nl_get_flow_dumpit(cmd::IPRP_CMD_GET_FLOW) =>
        |d: &mut Dump<'_>| dump_rows(d, walk_flows);
}

/// Writes "<group>.<name>" NUL-terminated into `buf`.
fn stat_name<'a>(buf: &'a mut [u8; 64], group: &str, name: &str) -> &'a [u8] {
    let mut n = 0;
    let bytes = Iterator::chain(group.bytes(), core::iter::once(b'.'));
    for b in Iterator::chain(bytes, name.bytes()) {
        if n + 1 >= buf.len() {
            break;
        }
        buf[n] = b;
        n += 1;
    }
    buf[n] = 0;
    &buf[..=n]
}

fn put_stat(msg: &mut Msg<'_>, group: &str, name: &str, value: u64) -> Result {
    let mut buf = [0u8; 64];
    nl::put_stat(msg, stat_name(&mut buf, group, name), value)
}

/// Writes the core's counters and table gauges, summed over shards, as
/// `IPRP_A_STAT` nests; `hook` adds the packets the hooks translated
/// lock-free (counted per CPU) to the shards' `client.translated_*`.
pub(crate) fn put_stats(state: &NetState, hook: &HookPkts, msg: &mut Msg<'_>) -> Result {
    let mut gauges: [(&str, &str, u64); 8] = [
        ("client", "bindings", 0),
        ("client", "checking", 0),
        ("client", "held_now", 0),
        ("redirector", "entries", 0),
        ("redirector", "services", 0),
        ("redirector", "legacy_clients", 0),
        ("redirector", "capable_clients", 0),
        ("redirector", "grants", 0),
    ];
    let mut cc = ClientCounters::ZERO;
    let mut rc = RedirCounters::ZERO;
    let mut lc = LegacyCounters::ZERO;
    let mut gc = GrantCounters::ZERO;
    if let Some(c) = state.client_tables() {
        for shard in c.shards.iter() {
            let s = shard.lock();
            cc.add(&s.counters);
            gauges[0].2 += s.len() as u64;
            gauges[1].2 += u64::from(s.checking());
            gauges[2].2 += u64::from(s.held_total());
        }
        cc.translated_out += hook.translated_out;
        cc.route_reused += hook.route_reused;
        cc.route_looked_up += hook.route_looked_up;
        cc.translated_in += hook.translated_in;
    }
    if let Some(r) = state.redirector_tables() {
        for i in 0..NSHARDS {
            let g = r.tables.shard(i);
            rc.add(&g.shard.counters);
            gauges[3].2 += g.shard.len() as u64;
            gauges[4].2 = g.shared.len() as u64;
        }
        let now = shim::now_ms();
        let legacy = r.legacy.lock();
        gauges[5].2 = legacy.count(now) as u64;
        gauges[6].2 = legacy.count_capable(now) as u64;
        lc = legacy.counters;
        drop(legacy);
        let grants = r.grants.lock();
        gauges[7].2 = grants.count(now) as u64;
        gc = grants.counters;
    }
    for (group, name, v) in gauges {
        put_stat(msg, group, name, v)?;
    }
    for (name, v) in cc.fields() {
        put_stat(msg, "client", name, v)?;
    }
    for (name, v) in rc.fields() {
        put_stat(msg, "redirector", name, v)?;
    }
    for (name, v) in lc.fields() {
        put_stat(msg, "redirector", name, v)?;
    }
    for (name, v) in gc.fields() {
        put_stat(msg, "redirector", name, v)?;
    }
    Ok(())
}
