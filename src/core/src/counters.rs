// SPDX-License-Identifier: GPL-2.0
//! Plain counters: one `u64` per drop reason and per state change.
//!
//! Each shard owns its counters (updated under the shard's lock); the
//! kernel sums the shards with `add` when user space asks. Every field is
//! a monotonically increasing event count.

use crate::wire::ParseError;
use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
        pub struct $name {
            $($(#[$fm])* pub $f: u64,)*
        }

        impl $name {
            /// All zero.
            pub const ZERO: Self = Self { $($f: 0,)* };

            /// Adds `other` field by field (for summing shards).
            pub fn add(&mut self, other: &Self) {
                $(self.$f = self.$f.wrapping_add(other.$f);)*
            }

            /// `(name, value)` of every field, in declaration order.
            pub fn fields(&self) -> [(&'static str, u64); [$(stringify!($f)),*].len()] {
                [$((stringify!($f), self.$f)),*]
            }

            /// The field names NUL-terminated, in declaration order (for C).
            pub const C_NAMES: [&'static str; [$(stringify!($f)),*].len()] =
                [$(concat!(stringify!($f), "\0")),*];
        }
    };
}

/// Writers of shared counters spread over this many stripes, one cache
/// line each: a redirector shard writes the stripe of its index (see
/// [`crate::redirector::RedirShard::with_stripe`]), so shards under their
/// own locks never write the same line. Reads sum the stripes.
pub const COUNTER_STRIPES: usize = 16;

/// Plain counters (as [`counters!`]) plus a striped twin of relaxed
/// atomics for state that many shards update through a shared reference
/// (services).
macro_rules! shared_counters {
    ($(#[$m:meta])* $name:ident / $shared:ident / $stripe:ident { $($(#[$fm:meta])* $f:ident,)* }) => {
        counters! { $(#[$m])* $name { $($(#[$fm])* $f,)* } }

        #[doc = concat!("One stripe of [`", stringify!($shared), "`]: a cache line of its own.")]
        #[derive(Debug, Default)]
        #[repr(align(64))]
        pub struct $stripe {
            $(pub(crate) $f: AtomicU64,)*
        }

        impl $stripe {
            const fn new() -> Self {
                Self { $($f: AtomicU64::new(0),)* }
            }
        }

        #[doc = concat!("Live [`", stringify!($name), "`], updated with relaxed atomics in [`COUNTER_STRIPES`] stripes.")]
        #[derive(Debug)]
        pub struct $shared {
            stripes: [$stripe; COUNTER_STRIPES],
        }

        impl Default for $shared {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $shared {
            /// All zero.
            pub const fn new() -> Self {
                Self { stripes: [const { $stripe::new() }; COUNTER_STRIPES] }
            }

            /// The stripe writer `i` updates (`i` modulo the stripe count).
            pub(crate) fn stripe(&self, i: usize) -> &$stripe {
                &self.stripes[i % COUNTER_STRIPES]
            }

            /// The current values, summed over the stripes.
            pub fn snapshot(&self) -> $name {
                let mut sum = $name::ZERO;
                for s in self.stripes.iter() {
                    $(sum.$f = sum.$f.wrapping_add(s.$f.load(Ordering::Relaxed));)*
                }
                sum
            }

            /// Every counter back to 0.
            pub fn zero(&self) {
                for s in self.stripes.iter() {
                    $(s.$f.store(0, Ordering::Relaxed);)*
                }
            }
        }
    };
}

/// Adds one to a shared counter (statistics: relaxed).
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

shared_counters! {
    /// One service of a redirector, summed over every shard. Packet
    /// counters count packets of the service arriving at the redirector;
    /// flow counters count flows.
    ServiceCounters / SharedServiceCounters / ServiceCounterStripe {
        /// Packets of the service seen.
        packets,
        /// Packets forwarded to a replica.
        forwarded,
        /// Packets delivered locally (accept table, mid-flow without
        /// entry, no eligible replica).
        local,
        /// New flows given a replica (REQ sent).
        flows_new,
        /// Flows the client confirmed (SENT -> CONFIRMED): redirected.
        flows_redirected,
        /// Flows served locally: no eligible replica, no answer within
        /// the response timeout, or confirmed but still arriving.
        flows_local,
        /// New flows served locally because the redirector table was full.
        local_table_full,
        /// Confirmed flows moved to another replica because theirs failed
        /// (R28: the client is told to re-bind).
        flows_rebound,
    }
}

counters! {
    /// Protocol-99 messages as parsed, before any role sees them.
    MsgCounters {
        /// Messages parsed successfully.
        rx_ok,
        /// Dropped: shorter than 16 bytes.
        rx_short,
        /// Dropped: unknown type.
        rx_bad_type,
        /// Dropped: protocol neither TCP nor UDP.
        rx_bad_proto,
    }
}

impl MsgCounters {
    /// Counts the result of a parse.
    pub fn count<T>(&mut self, r: &Result<T, ParseError>) {
        match r {
            Ok(_) => self.rx_ok += 1,
            Err(ParseError::Short) => self.rx_short += 1,
            Err(ParseError::BadType) => self.rx_bad_type += 1,
            Err(ParseError::BadProto) => self.rx_bad_proto += 1,
        }
    }
}

counters! {
    /// Redirector role, per shard.
    RedirCounters {
        /// Packets of a configured service seen.
        packets,
        /// New flows that got a SENT entry (none -> SENT).
        flow_new,
        /// Packets forwarded to a replica.
        forwarded,
        /// Packets delivered locally because the flow is in the accept table.
        local_accept,
        /// Packets delivered locally: no entry and not a connection start
        /// (mid-flow packet, e.g. after the entry expired).
        local_midflow,
        /// New flows served locally because no replica is eligible.
        local_no_replica,
        /// REQ sent for a new flow.
        req_sent,
        /// Duplicate REQ sent (packet while SENT).
        req_dup,
        /// REQ re-sent on the timer while SENT (REQ or CHK lost).
        req_timer_resent,
        /// CFM sent on a CHK (SENT -> CONFIRMED).
        cfm_sent,
        /// Duplicate CFM sent: packet while CONFIRMED.
        cfm_dup_packet,
        /// Duplicate CFM sent: repeated CHK while CONFIRMED.
        cfm_dup_chk,
        /// ALM sent (any reason below).
        alm_sent,
        /// CHK received.
        chk_rx,
        /// CHK with no entry: ALM.
        chk_no_entry,
        /// CHK naming another replica than the entry: ALM.
        chk_wrong_replica,
        /// CHK for a CONFIRMED entry with another key: ALM.
        chk_wrong_key,
        /// CHK for a flow in the accept table: ALM.
        chk_in_accept,
        /// Late CHK for a flow in the accept table that R has served no
        /// packet of, naming its replica: confirmed (R14a).
        chk_late_confirmed,
        /// Dropped: CHK to an address/port that is no configured service.
        chk_not_service,
        /// Dropped: message of another type handed to the redirector.
        msg_not_chk,
        /// SENT -> accept table (response timeout).
        to_accept,
        /// CONFIRMED entry replaced by a fresh handshake: the client opened
        /// the flow through the redirector again a response timeout after
        /// confirmation (it lost the binding, or reused the port).
        confirmed_rebound,
        /// Entries expired idle (any state).
        expired_idle,
        /// Entries removed because their service was deleted.
        deleted_with_service,
        /// New flows served locally because the shard is full (nothing is
        /// evicted; the flow is not redirected).
        local_table_full,
        /// SENT -> accept table at once: the client answered the REQ with
        /// ICMP protocol unreachable (it has no IPRP).
        unreach_to_accept,
        /// ICMP protocol unreachable quoting a REQ of no SENT entry (late,
        /// duplicate or forged): ignored.
        unreach_no_flow,
        /// New flows served locally at once: their client recently answered
        /// a REQ with protocol unreachable (no REQ, no response timeout).
        local_legacy,
        /// New flows whose SYN carried the capability mark: given a REQ
        /// even if their client was remembered as legacy.
        flow_marked,
        /// New flows served locally at once because their SYN carried no
        /// capability mark and their service serves such flows itself.
        local_unmarked,
        /// CHK with no entry, of a fleet service, naming the replica this
        /// redirector picks for the client: confirmed with a new CONFIRMED
        /// entry (another member sent the REQ, R27).
        chk_fleet_confirmed,
        /// The same, confirmed without an entry: the shard was full (R27).
        chk_fleet_unstored,
        /// SENT entries of fleet services that reached the response
        /// timeout: their client is not learned as legacy, since its CHK
        /// may have gone to another member (R18, R27).
        fleet_silence_unlearned,
        /// CONFIRMED entries whose replica failed (down or removed), their
        /// client to be told with REBIND (R28).
        rebind_marked,
        /// CFMs with the REBIND item sent (R28, up to 3 per entry).
        rebind_sent,
        /// SENT entries removed because their replica failed (R28).
        failed_sent_removed,
    }
}

counters! {
    /// Events of the client cache.
    LegacyCounters {
        /// Clients learned as legacy from protocol unreachable (R22).
        legacy_learned_unreach,
        /// Clients learned as legacy from a silence (R18).
        legacy_learned_silent,
        /// Silences not taken as legacy: the client confirmed a flow
        /// within `CAPABLE_TTL_MS` (a lost REQ or CHK).
        legacy_silence_forgiven,
        /// Legacy clients forgotten because they confirmed a flow.
        legacy_forgotten_capable,
        /// Legacy clients forgotten because a SYN of theirs carried the
        /// capability mark.
        legacy_forgotten_marked,
        /// Live entries of other clients evicted because every slot of
        /// their bucket was live (the soonest to lapse goes).
        legacy_evicted,
        /// Entries removed by the operator.
        legacy_flushed,
    }
}

counters! {
    /// Events of a redirector's grant table.
    GrantCounters {
        /// New grants given (a new token).
        grants_given,
        /// Grants renewed by a later CFM (the same token).
        grants_renewed,
        /// Grant offers taken out of a CFM: the table had no room.
        grant_table_full,
        /// Grants revoked (replica drained, down or removed; service
        /// deleted or its grant turned off).
        grants_revoked,
        /// Revocation messages sent.
        revocations_sent,
    }
}

counters! {
    /// Client role, per shard.
    ClientCounters {
        /// REQ received.
        req_rx,
        /// CHK sent for a new binding (none -> CHECKING).
        chk_sent,
        /// CHK re-sent (same key) on a duplicate REQ while CHECKING.
        chk_resent,
        /// CHK re-sent on the timer while CHECKING (CHK or CFM lost).
        chk_timer_resent,
        /// REQ ignored: CHECKING binding names another replica.
        req_ignored_other_replica,
        /// REQ ignored: binding CONFIRMED.
        req_ignored_confirmed,
        /// Dropped: REQ would alias another binding's incoming key.
        req_conflict,
        /// Dropped: REQ refused, shard's CHECKING limit reached.
        req_checking_limit,
        /// Dropped: REQ refused, shard full.
        req_table_full,
        /// Dropped: REQ with a zero replica address or replica = redirector.
        req_bad_replica,
        /// Dropped: REQ for a flow this host has no socket for.
        req_no_local_flow,
        /// Dropped: REQ whose translated 4-tuple another local socket uses.
        req_aliased,
        /// CHECKING -> CONFIRMED.
        confirmed,
        /// CFM for an already CONFIRMED binding, same key (ignored).
        cfm_dup,
        /// Dropped: CFM with a wrong key or replica (forged).
        cfm_bad_key,
        /// Dropped: CFM with no binding.
        cfm_no_binding,
        /// CHECKING binding deleted by an ALM with the right key.
        alarmed,
        /// ALM with the right key for a CONFIRMED binding (provoked by a
        /// stale or replayed CHK): ignored, the flow keeps its replica.
        alm_ignored_confirmed,
        /// Dropped: ALM with a wrong key or replica (forged).
        alm_bad_key,
        /// Dropped: ALM with no binding.
        alm_no_binding,
        /// Dropped: message of another type handed to the client.
        msg_not_client,
        /// CFMs accepted with a wildcard grant (new or renewed).
        grant_rx,
        /// CFMs revoking a wildcard grant (lifetime 0) received.
        revoke_rx,
        /// Bindings created from a wildcard grant, without a handshake.
        granted_bound,
        /// Outgoing packets translated (redirector -> replica).
        translated_out,
        /// Incoming packets translated (replica -> redirector).
        translated_in,
        /// Outgoing packets of CONFIRMED bindings sent with the route their
        /// binding had cached, instead of a route lookup (kernel).
        route_reused,
        /// Outgoing packets of CONFIRMED bindings that needed a route
        /// lookup: a binding's first, one whose cached route had gone stale
        /// (a routing change, a learnt path MTU) or whose route inputs
        /// differ, or while fib rules or IPsec policies make the cache not
        /// apply (kernel).
        route_looked_up,
        /// Incoming ICMP errors quoting a packet sent to the replica of a
        /// binding, to be made to quote the redirector (C27; one with a
        /// wrong ICMP checksum is then left untouched).
        icmp_error_in,
        /// Outgoing ICMP errors quoting a packet translated by a CONFIRMED
        /// binding, to be sent to the replica and quote it (C28).
        icmp_error_out,
        /// Incoming packets held while CHECKING.
        held,
        /// Held packets released on CFM.
        held_released,
        /// Held packets dropped on ALM or expiry.
        held_dropped,
        /// Dropped: incoming packet while CHECKING, binding's queue full.
        hold_full_binding,
        /// Dropped: incoming packet while CHECKING, shard's queue full.
        hold_full_total,
        /// CHECKING bindings expired (no CFM in time).
        expired_checking,
        /// SYN-ACKs kept as orphans (no binding, no socket) awaiting a REQ.
        orphan_held,
        /// Orphans that joined a new binding's held packets.
        orphan_adopted,
        /// Dropped: orphans whose REQ did not come in time.
        orphan_expired,
        /// Dropped: oldest orphan evicted by a newer one.
        orphan_evicted,
        /// CONFIRMED bindings expired idle.
        expired_idle,
        /// CONFIRMED bindings dropped by a CFM with the REBIND item and the
        /// right key: their replica failed (C29).
        rebind_rx,
        /// REBIND for a CHECKING binding: ignored (R sends it only for
        /// confirmed flows).
        rebind_ignored,
        /// Dropped: REBIND with a wrong key or replica (forged, or a
        /// repeat that found the flow bound again).
        rebind_bad_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_fields() {
        let mut a = RedirCounters::ZERO;
        a.flow_new = 2;
        let b = RedirCounters {
            flow_new: 3,
            alm_sent: 1,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.flow_new, 5);
        assert_eq!(a.alm_sent, 1);
        let f = a.fields();
        assert_eq!(f[1], ("flow_new", 5));
    }

    #[test]
    fn shared_counters_snapshot_and_zero() {
        let s = SharedServiceCounters::new();
        bump(&s.stripe(0).flows_new);
        bump(&s.stripe(5).flows_new);
        bump(&s.stripe(5 + COUNTER_STRIPES).local_table_full);
        assert_eq!(s.stripe(5).local_table_full.load(Ordering::Relaxed), 1);
        let c = s.snapshot();
        assert_eq!((c.flows_new, c.local_table_full, c.packets), (2, 1, 0));
        assert_eq!(c.fields()[3], ("flows_new", 2));
        assert_eq!(ServiceCounters::C_NAMES[3], "flows_new\0");
        s.zero();
        assert_eq!(s.snapshot(), ServiceCounters::ZERO);
    }

    #[test]
    fn counter_stripes_are_cache_lines_of_their_own() {
        assert_eq!(core::mem::align_of::<ServiceCounterStripe>(), 64);
        assert_eq!(core::mem::size_of::<ServiceCounterStripe>(), 64);
    }

    #[test]
    fn msg_counters_count_each_reason() {
        let mut m = MsgCounters::ZERO;
        m.count::<()>(&Ok(()));
        m.count::<()>(&Err(ParseError::Short));
        m.count::<()>(&Err(ParseError::BadType));
        m.count::<()>(&Err(ParseError::BadType));
        m.count::<()>(&Err(ParseError::BadProto));
        assert_eq!(
            (m.rx_ok, m.rx_short, m.rx_bad_type, m.rx_bad_proto),
            (1, 1, 2, 1)
        );
    }
}
