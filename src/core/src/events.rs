// SPDX-License-Identifier: GPL-2.0
//! Events: what changed in a client's bindings or a redirector's flow
//! entries, for a monitor (`iprpctl monitor`, docs/netlink.md "Events").
//!
//! Each shard records its changes in an [`EventLog`] of [`EVENT_LOG_LEN`]
//! events; the caller takes them out after every call that may change the
//! shard ([`EventLog::take`]) and sends them, or drops them when nobody
//! listens. A log that is full counts what it could not keep
//! ([`EventLog::lost`]) instead of growing: a burst of changes costs the
//! datapath at most a bounded copy. [`EventBudget`] bounds the rate at
//! which the caller sends them.

use crate::wire::{Ipv4, Proto};
use core::sync::atomic::{AtomicU64, Ordering};

/// Events a shard keeps between two [`EventLog::take`]s; more are lost
/// (counted). A call on a packet or message changes at most a few
/// entries; only a timer sweep or a flush changes more, and those lose
/// the rest beyond this many.
pub const EVENT_LOG_LEN: usize = 64;

/// What happened. The numbers are the UAPI's `iprp_event` values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum EventKind {
    /// Client: a REQ created a CHECKING binding (CHK sent).
    BindingNew = 1,
    /// Client: a binding was confirmed (CFM), or created CONFIRMED from a
    /// wildcard grant.
    BindingConfirmed = 2,
    /// Client: a binding was removed; [`Event::cause`] says why.
    BindingDel = 3,
    /// Redirector: a new flow got an entry and its REQ was sent.
    FlowNew = 4,
    /// Redirector: a flow was confirmed (CHK answered with CFM).
    FlowConfirmed = 5,
    /// Redirector: a flow is served by the redirector itself (legacy
    /// client, no REQ answer, no eligible replica).
    FlowLocal = 6,
    /// Redirector: a flow entry was removed; [`Event::cause`] says why.
    FlowDel = 7,
}

/// Why an entry was removed ([`EventKind::BindingDel`],
/// [`EventKind::FlowDel`]). The numbers are the UAPI's `iprp_cause`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Cause {
    /// Not a removal.
    None = 0,
    /// Idle (or CHECKING) longer than its timeout.
    Expired = 1,
    /// The redirector answered the CHK with an ALM.
    Alarm = 2,
    /// The operator flushed the table, or the namespace went away.
    Flushed = 3,
    /// The operator deleted the entry's service.
    ServiceDeleted = 4,
    /// Redirector: the client opened the flow through it again long after
    /// it was confirmed; a new handshake replaces the entry.
    Reopened = 5,
    /// The flow's replica failed (down or removed): R tells the client with
    /// REBIND, and the client drops the binding.
    ReplicaFailed = 6,
}

/// One change of one entry. For a binding, `peer` and `vip` are both the
/// redirector's address; for a flow, `peer` is the client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Why, for a removal.
    pub cause: Cause,
    /// Transport protocol of the flow.
    pub proto: Proto,
    /// The other end: the client (redirector) or the redirector (client).
    pub peer: Ipv4,
    /// The service address.
    pub vip: Ipv4,
    /// The service port.
    pub port: u16,
    /// The client port.
    pub cport: u16,
    /// The replica; 0.0.0.0 for a flow served locally.
    pub replica: Ipv4,
}

/// A shard's recent events, at most [`EVENT_LOG_LEN`].
#[derive(Debug, Default)]
pub struct EventLog {
    events: heapless::Vec<Event, EVENT_LOG_LEN>,
    /// Events not kept since the last take because the log was full.
    lost: u32,
}

impl EventLog {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            events: heapless::Vec::new(),
            lost: 0,
        }
    }

    /// Records `ev`, or counts it lost when full.
    pub fn push(&mut self, ev: Event) {
        if self.events.push(ev).is_err() {
            self.lost = self.lost.saturating_add(1);
        }
    }

    /// True when there is nothing to take (no event, none lost).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.lost == 0
    }

    /// Events not kept since the last take.
    pub fn lost(&self) -> u32 {
        self.lost
    }

    /// Passes the events to `f` in order and empties the log; returns how
    /// many were lost after them.
    pub fn take(&mut self, mut f: impl FnMut(&Event)) -> u32 {
        self.events.iter().for_each(&mut f);
        self.events.clear();
        core::mem::take(&mut self.lost)
    }

    /// Forgets every event (nobody listens).
    pub fn clear(&mut self) {
        self.events.clear();
        self.lost = 0;
    }
}

/// A token bucket over events sent, shared by every CPU without a lock:
/// `rate` events per second on average, bursts of up to `burst`. A rate
/// of 0 sends none.
///
/// The state is one word: the time (ms) at which the bucket was last
/// empty, in the future by the tokens used beyond it. An event is admitted
/// if that time, plus the event's cost, is no later than `burst` events
/// ahead of now.
#[derive(Debug)]
pub struct EventBudget {
    /// Events per second (0: none).
    rate: AtomicU64,
    /// The time (µs) up to which the bucket's tokens are spent.
    spent_until_us: AtomicU64,
}

impl EventBudget {
    /// Events a burst may send at once, on top of the rate.
    pub const BURST: u64 = 256;
    /// Default rate, events per second.
    pub const DEFAULT_RATE: u32 = 10_000;

    /// A bucket of `rate` events per second, full.
    pub const fn new(rate: u32) -> Self {
        Self {
            rate: AtomicU64::new(rate as u64),
            spent_until_us: AtomicU64::new(0),
        }
    }

    /// Events per second.
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed) as u32
    }

    /// Sets the rate (events per second, 0: none).
    pub fn set_rate(&self, rate: u32) {
        self.rate.store(u64::from(rate), Ordering::Relaxed);
    }

    /// Whether one more event may be sent at `now_ms`; if so, it is
    /// charged.
    pub fn admit(&self, now_ms: u64) -> bool {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate == 0 {
            return false;
        }
        let cost = (1_000_000 / rate).max(1);
        let now = now_ms.saturating_mul(1000);
        let horizon = now.saturating_add(cost.saturating_mul(Self::BURST));
        let mut spent = self.spent_until_us.load(Ordering::Relaxed);
        loop {
            let next = spent.max(now).saturating_add(cost);
            if next > horizon {
                return false;
            }
            match self.spent_until_us.compare_exchange_weak(
                spent,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(cur) => spent = cur,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(cport: u16) -> Event {
        Event {
            kind: EventKind::FlowNew,
            cause: Cause::None,
            proto: Proto::Tcp,
            peer: Ipv4::new(10, 0, 0, 1),
            vip: Ipv4::new(10, 0, 0, 100),
            port: 80,
            cport,
            replica: Ipv4::new(10, 0, 1, 1),
        }
    }

    #[test]
    fn log_keeps_order_and_counts_what_does_not_fit() {
        let mut log = EventLog::new();
        assert!(log.is_empty());
        for p in 0..EVENT_LOG_LEN as u16 + 5 {
            log.push(ev(p));
        }
        assert_eq!(log.lost(), 5);
        let mut events = std::vec::Vec::new();
        let lost = log.take(|e| events.push(*e));
        assert_eq!(lost, 5);
        assert_eq!(events.len(), EVENT_LOG_LEN);
        assert!(events.iter().enumerate().all(|(i, e)| e.cport == i as u16));
        assert!(log.is_empty());
        log.push(ev(1));
        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    fn budget_admits_a_burst_then_the_rate() {
        let b = EventBudget::new(1000);
        let burst = (0..1000).filter(|_| b.admit(5_000)).count() as u64;
        assert_eq!(burst, EventBudget::BURST);
        // One event per ms afterwards: 100 in the next 100 ms.
        let later = (5_001..=5_100).filter(|&t| b.admit(t)).count();
        assert_eq!(later, 100);
        // Refills up to the burst after a quiet second, no more.
        let after_quiet = (0..1000).filter(|_| b.admit(10_000)).count() as u64;
        assert_eq!(after_quiet, EventBudget::BURST);
    }

    #[test]
    fn budget_of_zero_sends_nothing() {
        let b = EventBudget::new(0);
        assert!(!b.admit(1));
        b.set_rate(5);
        assert!(b.admit(1));
        assert_eq!(b.rate(), 5);
    }
}
