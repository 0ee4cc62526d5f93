// SPDX-License-Identifier: GPL-2.0

//! Event notifications to the family's "events" multicast group
//! (`iprpctl monitor`; docs/netlink.md, "Events").
//!
//! The core logs every change of a binding or flow entry in its shard
//! ([`EventLog`]); whoever changed a shard calls [`flush`] before it
//! releases the shard's lock. With nobody listening in the namespace that
//! only empties the log. Otherwise each event becomes one message, sent at
//! once (atomic allocation) within the namespace's [`EventBudget`]: what
//! the budget refuses, what a full log lost, and what could not be
//! allocated or delivered is counted (`event_dropped`) and reported to the
//! listener in the next message sent (`IPRP_A_LOST`). The service and
//! replica commands report their changes the same way ([`service`],
//! [`replica`]).

use crate::nl::{self, Msg};
use crate::pernet::NetState;
use crate::shim;
use crate::uapi::iprp_attr as a;
use crate::uapi::iprp_cause as cause;
use crate::uapi::iprp_counter as ctr;
use crate::uapi::iprp_event as ev;
use core::sync::atomic::Ordering;
use iprp_core::{Cause, Event, EventKind, EventLog, Ipv4, Proto};
use kernel::prelude::*;

/// A change of configuration the service and replica commands report.
#[derive(Clone, Copy)]
pub(crate) enum Change {
    /// Added.
    New,
    /// Changed.
    Set,
    /// Removed.
    Del,
}

/// Sends the events of `log` (a shard's, under its lock) and empties it.
pub(crate) fn flush(state: &NetState, log: &mut EventLog) {
    if log.is_empty() {
        return;
    }
    if !nl::listening(state.net) {
        log.clear();
        return;
    }
    let lost = log.take(|e| send(state, |m| put_event(m, e)));
    dropped(state, lost);
}

/// Reports a change of service (`proto`, `vip`, `port`).
pub(crate) fn service(state: &NetState, change: Change, proto: Proto, vip: Ipv4, port: u16) {
    if !nl::listening(state.net) {
        return;
    }
    let kind = match change {
        Change::New => ev::IPRP_EVENT_SERVICE_NEW,
        Change::Set => ev::IPRP_EVENT_SERVICE_SET,
        Change::Del => ev::IPRP_EVENT_SERVICE_DEL,
    };
    send(state, |m| {
        m.put_u8(a::IPRP_A_EVENT, kind as u8)?;
        put_service(m, proto, vip, port)
    });
}

/// Reports a change of replica `addr` of service (`proto`, `vip`,
/// `port`); `weight` and `up` are its values after the change (before,
/// for a removal).
#[allow(clippy::too_many_arguments)]
pub(crate) fn replica(
    state: &NetState,
    change: Change,
    proto: Proto,
    vip: Ipv4,
    port: u16,
    addr: Ipv4,
    weight: u16,
    up: bool,
) {
    if !nl::listening(state.net) {
        return;
    }
    let kind = match change {
        Change::New => ev::IPRP_EVENT_REPLICA_NEW,
        Change::Set => ev::IPRP_EVENT_REPLICA_SET,
        Change::Del => ev::IPRP_EVENT_REPLICA_DEL,
    };
    send(state, |m| {
        m.put_u8(a::IPRP_A_EVENT, kind as u8)?;
        put_service(m, proto, vip, port)?;
        m.put_ipv4(a::IPRP_A_REPLICA_ADDR, addr)?;
        m.put_u32(a::IPRP_A_WEIGHT, u32::from(weight))?;
        m.put_u8(a::IPRP_A_UP, u8::from(up))
    });
}

fn put_service(m: &mut Msg<'_>, proto: Proto, vip: Ipv4, port: u16) -> Result {
    m.put_u8(a::IPRP_A_PROTO, proto.number())?;
    m.put_ipv4(a::IPRP_A_VIP, vip)?;
    m.put_u16(a::IPRP_A_PORT, port)
}

fn put_event(m: &mut Msg<'_>, e: &Event) -> Result {
    let kind = match e.kind {
        EventKind::BindingNew => ev::IPRP_EVENT_BINDING_NEW,
        EventKind::BindingConfirmed => ev::IPRP_EVENT_BINDING_CONFIRMED,
        EventKind::BindingDel => ev::IPRP_EVENT_BINDING_DEL,
        EventKind::FlowNew => ev::IPRP_EVENT_FLOW_NEW,
        EventKind::FlowConfirmed => ev::IPRP_EVENT_FLOW_CONFIRMED,
        EventKind::FlowLocal => ev::IPRP_EVENT_FLOW_LOCAL,
        EventKind::FlowDel => ev::IPRP_EVENT_FLOW_DEL,
    };
    m.put_u8(a::IPRP_A_EVENT, kind as u8)?;
    let why = match e.cause {
        Cause::None => None,
        Cause::Expired => Some(cause::IPRP_CAUSE_EXPIRED),
        Cause::Alarm => Some(cause::IPRP_CAUSE_ALARM),
        Cause::Flushed => Some(cause::IPRP_CAUSE_FLUSHED),
        Cause::ServiceDeleted => Some(cause::IPRP_CAUSE_SERVICE_DELETED),
        Cause::Reopened => Some(cause::IPRP_CAUSE_REOPENED),
        Cause::ReplicaFailed => Some(cause::IPRP_CAUSE_REPLICA_FAILED),
    };
    if let Some(why) = why {
        m.put_u8(a::IPRP_A_CAUSE, why as u8)?;
    }
    m.put_ipv4(a::IPRP_A_PEER, e.peer)?;
    put_service(m, e.proto, e.vip, e.port)?;
    m.put_ipv4(a::IPRP_A_REPLICA_ADDR, e.replica)?;
    m.put_u16(a::IPRP_A_CPORT, e.cport)
}

/// Counts `n` events not sent and keeps them for the next message's
/// `IPRP_A_LOST`.
fn dropped(state: &NetState, n: u32) {
    if n == 0 {
        return;
    }
    state
        .counters
        .add(ctr::IPRP_CTR_EVENT_DROPPED, u64::from(n));
    state.events_lost.fetch_add(n, Ordering::Relaxed);
}

/// Sends one event message that `build` fills, within the budget.
fn send(state: &NetState, build: impl FnOnce(&mut Msg<'_>) -> Result) {
    if !state.event_budget.admit(shim::now_ms()) {
        dropped(state, 1);
        return;
    }
    let lost = state.events_lost.swap(0, Ordering::Relaxed);
    let sent = nl::multicast(state.net, |m| {
        if lost > 0 {
            m.put_u32(a::IPRP_A_LOST, lost)?;
        }
        build(m)
    });
    match sent {
        Ok(()) => state.counters.inc(ctr::IPRP_CTR_EVENT_SENT),
        // The last listener left meanwhile: nobody misses it.
        Err(e) if e == ESRCH => {}
        // Not delivered: this one is lost, and the next message reports
        // the losses this one was to report.
        Err(_) => {
            state.counters.inc(ctr::IPRP_CTR_EVENT_DROPPED);
            state.events_lost.fetch_add(lost + 1, Ordering::Relaxed);
        }
    }
}
