// SPDX-License-Identifier: GPL-2.0
//! iprp-core: the sans-IO core of IPRP, client-oriented IP-level redirection.
//!
//! No I/O, no clock, no allocator: time arrives as `u64` milliseconds in
//! each call, randomness through [`Rng`], and every table lives in storage
//! the caller provides. The same source builds on the host for tests and
//! inside the Linux kernel module. See `docs/core.md` for the API and
//! `docs/protocol.md` for the state machines.
// The kernel build passes -Zcrate-attr=no_std itself.
#![cfg_attr(not(iprp_kernel), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod client;
pub mod counters;
pub mod events;
pub mod filter;
pub mod grants;
pub mod hash;
pub mod legacy;
pub mod mark;
pub mod readidx;
pub mod redirector;
pub mod sched;
pub mod table;
pub mod wire;

pub use client::{
    Binding, CState, ClientConfig, ClientDrop, ClientOutcome, ClientShard, ClientSlot, Grant, Held,
    InVerdict, LocalFlow, NoIndex, Publish, WildcardSlot, Wildcards, DEFAULT_MAX_GRANT_S,
    HOLD_PER_BINDING, ORPHANS_PER_SHARD, ORPHAN_HOLD_MS, WILDCARD_SLOTS,
};
pub use counters::{
    ClientCounters, GrantCounters, LegacyCounters, MsgCounters, RedirCounters, ServiceCounters,
};
pub use events::{Cause, Event, EventBudget, EventKind, EventLog, EVENT_LOG_LEN};
pub use grants::{
    GrantSlot, Grants, Revocations, GRANT_MARGIN_MS, GRANT_SLOTS, GRANT_WAYS, REVOKE_SENDS,
};
pub use hash::HashKey;
pub use legacy::{
    Known, KnownClient, LegacyClients, LegacySlot, CAPABLE_TTL_MS, LEGACY_SLOTS, LEGACY_TTL_MS,
    LEGACY_WAYS, MAX_LEGACY_SLOTS, MAX_LEGACY_TTL_MS,
};
pub use mark::{Mark, MARK_EXID, MARK_KIND, MARK_OPTION};
pub use readidx::{ports_hash, Dir, Key, Read, ReadIndex, ReadSlot, SLOTS_PER_BINDING};
pub use redirector::{
    DropReason, FlowKey, PacketInfo, PacketOutcome, REntry, RState, RedirShard, RedirSlot, Verdict,
    REBIND_SENDS,
};
pub use sched::{
    ConfigError, ReplicaSpec, SchedKind, Service, ServiceSpec, ServiceTable, LUT_SIZE, MAX_GRANT_S,
    MAX_REPLICAS,
};
pub use table::{shard_index, DumpPos};
pub use wire::{
    Ext, GrantExt, Ipv4, MsgType, Outgoing, ParseError, Proto, Repr, Resends, EXT_MAX_LEN,
    IPPROTO_REDR, MSG_LEN, RESEND_AFTER_MS, RESEND_PER_TICK,
};

/// Source of randomness injected by the caller (the kernel passes
/// `get_random_u32`, tests a seeded generator).
pub trait Rng {
    /// Returns the next random 32-bit value.
    fn next_u32(&mut self) -> u32;
}
