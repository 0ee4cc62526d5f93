// SPDX-License-Identifier: GPL-2.0

//! Netlink dumps of bindings and flows, and the named core statistics.

use crate::pernet::{self, NetState, NSHARDS};
use crate::shim::{self, Filter, Row, RowFn, Stat, StatFn, SvcFn, SvcReplica, SvcRow};
use crate::uapi::iprp_state as st;
use iprp_core::client::CState;
use iprp_core::redirector::RState;
use iprp_core::{ClientCounters, RedirCounters, ServiceCounters};
use kernel::prelude::*;

/// Feeds rows to the shim's writer. A dump position is (shard << 32) |
/// slot: each call resumes at the slot where the previous one stopped, so
/// a dump of n entries costs O(n + capacity), not O(n^2).
struct Cursor {
    filter: Option<(u8, u32, u16)>,
    peer: Option<u32>,
    put: RowFn,
    ctx: *mut c_void,
    full: bool,
}

impl Cursor {
    /// Writes `row` unless filtered out; false once the message is full.
    fn row(&mut self, row: Row) -> bool {
        if self
            .filter
            .is_some_and(|(p, v, port)| (p, v, port) != (row.proto, row.vip, row.port))
            || self.peer.is_some_and(|peer| peer != row.peer)
        {
            return true;
        }
        // SAFETY: `put` and `ctx` come from the shim's dump callback, valid
        // for the duration of this dump call.
        self.full = unsafe { (self.put)(self.ctx, &row) } != 0;
        !self.full
    }
}

/// Walks `nshards` shards from position `pos`; `scan(shard, from, cursor)`
/// scans one shard from slot `from` and returns where it stopped. Returns
/// the position to resume at.
fn walk_shards(
    pos: u64,
    nshards: usize,
    cur: &mut Cursor,
    mut scan: impl FnMut(usize, u32, &mut Cursor) -> u32,
) -> u64 {
    let first = (pos >> 32) as usize;
    for shard in first..nshards {
        let from = if shard == first { pos as u32 } else { 0 };
        let stop = scan(shard, from, cur);
        if cur.full {
            return ((shard as u64) << 32) | u64::from(stop);
        }
    }
    (nshards as u64) << 32
}

fn age(now: u64, last: u64) -> u32 {
    u32::try_from(now.saturating_sub(last)).unwrap_or(u32::MAX)
}

fn dump(
    state: *mut c_void,
    filter: *const Filter,
    pos: *mut u64,
    put: RowFn,
    ctx: *mut c_void,
    walk: fn(&NetState, u64, &mut Cursor) -> u64,
) -> i32 {
    // SAFETY: the shim passes a live state, a valid filter and a writable
    // position.
    let (state, f, start) = unsafe { (pernet::state(state), &*filter, *pos) };
    let mut cur = Cursor {
        filter: (f.has_service != 0).then_some((f.proto, f.vip, f.port)),
        peer: (f.has_peer != 0).then_some(f.peer),
        put,
        ctx,
        full: false,
    };
    let next = walk(state, start, &mut cur);
    // SAFETY: as above.
    unsafe { *pos = next };
    0
}

fn walk_bindings(state: &NetState, pos: u64, cur: &mut Cursor) -> u64 {
    let Some(client) = state.client_tables() else {
        return pos;
    };
    let now = shim::now_ms();
    walk_shards(pos, client.shards.len(), cur, |i, from, cur| {
        client.shards[i].lock().scan_from(from, |b| {
            cur.row(Row {
                peer: b.redirector.to_be(),
                vip: b.redirector.to_be(),
                replica: b.replica.to_be(),
                cport: b.cport,
                port: b.sport,
                proto: b.proto.number(),
                state: match b.state {
                    CState::Checking => st::IPRP_STATE_CHECKING as u8,
                    CState::Confirmed => st::IPRP_STATE_CONFIRMED as u8,
                },
                age_ms: age(now, b.last_activity),
            })
        })
    })
}

fn walk_flows(state: &NetState, pos: u64, cur: &mut Cursor) -> u64 {
    let Some(redir) = state.redirector_tables() else {
        return pos;
    };
    let now = shim::now_ms();
    // Each shard under its own lock, like the packets of its flows.
    walk_shards(pos, NSHARDS, cur, |i, from, cur| {
        redir.tables.shard(i).shard.scan_from(from, |e| {
            cur.row(Row {
                peer: e.flow.client.to_be(),
                vip: e.flow.vip.to_be(),
                replica: e.replica.to_be(),
                cport: e.flow.cport,
                port: e.flow.sport,
                proto: e.flow.proto.number(),
                state: match e.state {
                    RState::Sent => st::IPRP_STATE_SENT as u8,
                    RState::Confirmed => st::IPRP_STATE_CONFIRMED as u8,
                    RState::Accept => st::IPRP_STATE_ACCEPT as u8,
                },
                age_ms: age(now, e.last_activity),
            })
        })
    })
}

/// Dumps client bindings from `*pos` on.
///
/// # Safety
///
/// `state` is live, `pos` writable, `put`/`ctx` valid for this call.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_dump_bindings(
    state: *mut c_void,
    filter: *const Filter,
    pos: *mut u64,
    put: RowFn,
    ctx: *mut c_void,
) -> i32 {
    dump(state, filter, pos, put, ctx, walk_bindings)
}

/// Dumps redirector entries (redirection and accept tables) from `*pos` on.
///
/// # Safety
///
/// As for [`iprp_rs_dump_bindings`].
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_dump_flows(
    state: *mut c_void,
    filter: *const Filter,
    pos: *mut u64,
    put: RowFn,
    ctx: *mut c_void,
) -> i32 {
    dump(state, filter, pos, put, ctx, walk_flows)
}

/// Dumps the redirector's services with their replicas from `*pos` on.
///
/// # Safety
///
/// As for [`iprp_rs_dump_bindings`].
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_dump_services(
    state: *mut c_void,
    pos: *mut u64,
    put: SvcFn,
    ctx: *mut c_void,
) -> i32 {
    // SAFETY: the shim passes a live state and a writable position.
    let (state, start) = unsafe { (pernet::state(state), *pos) };
    let Some(redir) = state.redirector_tables() else {
        return 0;
    };
    let mut index = 0u64;
    {
        // Any one shard's lock keeps the services from changing.
        let g = redir.tables.shard(0);
        for svc in g.shared.iter() {
            if index < start {
                index += 1;
                continue;
            }
            let mut row = SvcRow {
                vip: svc.vip().to_be(),
                port: svc.port(),
                proto: svc.proto().number(),
                sched: svc.sched() as u8,
                response_timeout_ms: svc.response_timeout_ms(),
                idle_timeout_ms: svc.idle_timeout_ms(),
                ..SvcRow::default()
            };
            for (out, r) in row.replicas.iter_mut().zip(svc.replicas()) {
                *out = SvcReplica {
                    addr: r.addr().to_be(),
                    weight: u32::from(r.weight()),
                    conns: r.conns(),
                    up: u32::from(r.up()),
                    assigned: r.assigned(),
                };
                row.n_replicas += 1;
            }
            let counters = svc.counters();
            let names = ServiceCounters::C_NAMES.iter();
            for ((out, (_, v)), name) in row.stats.iter_mut().zip(counters.fields()).zip(names) {
                *out = Stat {
                    name: name.as_ptr().cast(),
                    value: v,
                };
                row.n_stats += 1;
            }
            // SAFETY: `put`/`ctx` come from the shim's dump callback.
            if unsafe { put(ctx, &row) } != 0 {
                break;
            }
            index += 1;
        }
    }
    // SAFETY: as above.
    unsafe { *pos = index };
    0
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

fn put_stat(put: StatFn, ctx: *mut c_void, group: &str, name: &str, value: u64) -> i32 {
    let mut buf = [0u8; 64];
    let name = stat_name(&mut buf, group, name);
    // SAFETY: `name` is NUL-terminated; `put`/`ctx` are valid for this call.
    unsafe { put(ctx, name.as_ptr().cast(), value) }
}

/// Writes the core's counters and table gauges, summed over shards.
///
/// # Safety
///
/// `state` is live; `put`/`ctx` valid for this call.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_stats(
    state: *mut c_void,
    put: StatFn,
    ctx: *mut c_void,
) -> i32 {
    // SAFETY: by the function's contract.
    let state = unsafe { pernet::state(state) };
    let mut gauges: [(&str, &str, u64); 6] = [
        ("client", "bindings", 0),
        ("client", "checking", 0),
        ("client", "held_now", 0),
        ("redirector", "entries", 0),
        ("redirector", "services", 0),
        ("redirector", "legacy_clients", 0),
    ];
    let mut cc = ClientCounters::ZERO;
    let mut rc = RedirCounters::ZERO;
    if let Some(c) = state.client_tables() {
        for shard in c.shards.iter() {
            let s = shard.lock();
            cc.add(&s.counters);
            gauges[0].2 += s.len() as u64;
            gauges[1].2 += u64::from(s.checking());
            gauges[2].2 += u64::from(s.held_total());
        }
        // Packets the hooks translated through the read indexes, no lock.
        for index in c.index.iter() {
            let (out, inn) = index.translated();
            cc.translated_out += out;
            cc.translated_in += inn;
        }
    }
    if let Some(r) = state.redirector_tables() {
        for i in 0..NSHARDS {
            let g = r.tables.shard(i);
            rc.add(&g.shard.counters);
            gauges[3].2 += g.shard.len() as u64;
            gauges[4].2 = g.shared.len() as u64;
        }
        let now = shim::now_ms();
        gauges[5].2 = r.legacy.lock().count(now) as u64;
    }
    for (group, name, v) in gauges {
        let err = put_stat(put, ctx, group, name, v);
        if err != 0 {
            return err;
        }
    }
    for (name, v) in cc.fields() {
        let err = put_stat(put, ctx, "client", name, v);
        if err != 0 {
            return err;
        }
    }
    for (name, v) in rc.fields() {
        let err = put_stat(put, ctx, "redirector", name, v);
        if err != 0 {
            return err;
        }
    }
    0
}
