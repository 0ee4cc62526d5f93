// SPDX-License-Identifier: GPL-2.0
//! The wildcard grants a redirector has given, so that it can revoke them
//! (docs/protocol.md, "Wildcard grants").
//!
//! A shard offers a grant in every CFM of a granting service
//! ([`Ext::offer`]); before the CFM goes out, [`Grants::attach`] gives the
//! offer the token of this redirector's grant to that client and service,
//! remembering it, or strips the offer when there is no room: R never
//! grants what it could not revoke. When a replica is drained, marked
//! down or removed, or its service deleted or its grant turned off,
//! [`Grants::revoke`] marks the grants naming it, and the slow timer sends
//! each a revocation (a CFM whose GRANT item has lifetime 0 and the token)
//! on [`REVOKE_SENDS`] ticks. The table is set-associative over caller
//! storage ([`GRANT_WAYS`] slots per bucket, keyed hash of client and
//! service), so its memory is fixed.

use crate::counters::GrantCounters;
use crate::hash::HashKey;
use crate::wire::{Ext, GrantExt, Ipv4, MsgType, Outgoing, Proto, Repr};
use crate::Rng;
use core::ops::DerefMut;

/// Slots per bucket.
pub const GRANT_WAYS: usize = 4;

/// Slots of a redirector's grant table.
pub const GRANT_SLOTS: usize = 4096;

/// How much longer than the lifetime it sent R remembers a grant (ms): the
/// client counts the lifetime from the CFM's arrival, later than R.
pub const GRANT_MARGIN_MS: u64 = 2_000;

/// Ticks on which a revocation is sent (it may be lost like any message;
/// a grant whose revocations are all lost lapses at the end of its
/// lifetime).
pub const REVOKE_SENDS: u8 = 3;

/// Most revocations one tick sends; the rest wait for the next tick.
pub const REVOKES_PER_TICK: usize = 32;

/// Revocations a tick asks the caller to send.
pub type Revocations = heapless::Vec<Outgoing, REVOKES_PER_TICK>;

/// One remembered grant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GrantSlot {
    client: Ipv4,
    vip: Ipv4,
    proto: Proto,
    sport: u16,
    replica: Ipv4,
    /// The flow of the last CFM that carried the grant (the revocation
    /// names it too, so a peer that knows only the paper takes it for a
    /// duplicate CFM, or one for no binding).
    cport: u16,
    key: u32,
    token: u32,
    /// Time (ms) the grant lapses at the client, plus the margin; 0:
    /// empty slot.
    until: u64,
    /// Revocations still to send; 0: not revoked.
    revoke_left: u8,
}

impl GrantSlot {
    /// An empty slot.
    pub const EMPTY: Self = Self {
        client: Ipv4::UNSPECIFIED,
        vip: Ipv4::UNSPECIFIED,
        proto: Proto::Tcp,
        sport: 0,
        replica: Ipv4::UNSPECIFIED,
        cport: 0,
        key: 0,
        token: 0,
        until: 0,
        revoke_left: 0,
    };

    fn live(&self, now: u64) -> bool {
        now < self.until
    }

    fn is(&self, client: Ipv4, vip: Ipv4, proto: Proto, sport: u16) -> bool {
        (self.client, self.vip, self.proto, self.sport) == (client, vip, proto, sport)
    }
}

/// A redirector's grants (see the module documentation).
pub struct Grants<S: DerefMut<Target = [GrantSlot]>> {
    key: HashKey,
    slots: S,
    /// Counters of the table.
    pub counters: GrantCounters,
}

impl<S: DerefMut<Target = [GrantSlot]>> Grants<S> {
    /// An empty table over `storage` (a length that is not a multiple of
    /// [`GRANT_WAYS`] leaves the rest unused), buckets chosen with `key`.
    pub fn new_in(mut storage: S, key: HashKey) -> Self {
        storage.fill(GrantSlot::EMPTY);
        Self {
            key,
            slots: storage,
            counters: GrantCounters::ZERO,
        }
    }

    fn bucket(&self, client: Ipv4, vip: Ipv4, proto: Proto, sport: u16) -> core::ops::Range<usize> {
        let n = self.slots.len() / GRANT_WAYS;
        let h = self.key.hash2(
            (u64::from(client.to_bits()) << 32) | u64::from(vip.to_bits()),
            ((proto as u64) << 16) | u64::from(sport),
        );
        let b = crate::hash::reduce(h, n);
        b * GRANT_WAYS..(b + 1) * GRANT_WAYS
    }

    /// Gives the grant that the CFM `out` offers (if any) the token of
    /// this redirector's grant to its client and service, and remembers
    /// it until its lifetime ends; a live grant to the same client and
    /// service is renewed under its token, for the CFM's replica. When
    /// every slot of the bucket holds a live grant, the offer is taken out
    /// of the CFM (counted): R never grants what it could not revoke. A
    /// new token comes from `rng` (never 0).
    pub fn attach(&mut self, out: &mut Outgoing, now: u64, rng: &mut impl Rng) {
        let Some(offer) = out.ext.grant.filter(|g| g.lifetime_s > 0) else {
            return;
        };
        if out.msg.ty != MsgType::Cfm {
            out.ext = Ext::NONE;
            return;
        }
        let (client, vip, m) = (out.to, out.from, out.msg);
        let until = now
            .saturating_add(u64::from(offer.lifetime_s) * 1000)
            .saturating_add(GRANT_MARGIN_MS);
        let range = self.bucket(client, vip, m.proto, m.sport);
        let Some(bucket) = self.slots.get_mut(range) else {
            out.ext = Ext::NONE;
            return;
        };
        let own = bucket
            .iter()
            .position(|s| s.is(client, vip, m.proto, m.sport) && s.live(now) && s.revoke_left == 0);
        let i = match own.or_else(|| bucket.iter().position(|s| !s.live(now))) {
            Some(i) => i,
            None => {
                self.counters.grant_table_full += 1;
                out.ext = Ext::NONE;
                return;
            }
        };
        let Some(s) = bucket.get_mut(i) else {
            out.ext = Ext::NONE;
            return;
        };
        let token = if own.is_some() {
            self.counters.grants_renewed += 1;
            s.token
        } else {
            self.counters.grants_given += 1;
            loop {
                let t = rng.next_u32();
                if t != 0 {
                    break t;
                }
            }
        };
        *s = GrantSlot {
            client,
            vip,
            proto: m.proto,
            sport: m.sport,
            replica: m.replica,
            cport: m.cport,
            key: m.key,
            token,
            until: until.max(s.until),
            revoke_left: 0,
        };
        out.ext.grant = Some(GrantExt {
            lifetime_s: offer.lifetime_s,
            token,
        });
    }

    /// Revokes the live grants of service (`vip`, `proto`, `sport`) that
    /// send flows to `replica`, or every grant of the service when
    /// `replica` is `None`: each is sent a revocation on the next
    /// [`REVOKE_SENDS`] ticks, then forgotten. Returns how many.
    pub fn revoke(
        &mut self,
        vip: Ipv4,
        proto: Proto,
        sport: u16,
        replica: Option<Ipv4>,
        now: u64,
    ) -> usize {
        let mut n = 0;
        for s in self.slots.iter_mut() {
            if s.live(now)
                && s.revoke_left == 0
                && (s.vip, s.proto, s.sport) == (vip, proto, sport)
                && replica.is_none_or(|r| r == s.replica)
            {
                s.revoke_left = REVOKE_SENDS;
                n += 1;
            }
        }
        self.counters.grants_revoked += n as u64;
        n
    }

    /// Slow timer: the revocations to send now (at most
    /// [`REVOKES_PER_TICK`]; the rest on later ticks), and the grants
    /// that lapsed or were revoked often enough are forgotten. Visits
    /// every slot.
    pub fn on_tick(&mut self, now: u64) -> Revocations {
        let mut out = Revocations::new();
        for s in self.slots.iter_mut() {
            if s.until == 0 {
                continue;
            }
            if !s.live(now) {
                *s = GrantSlot::EMPTY;
                continue;
            }
            if s.revoke_left == 0 || out.is_full() {
                continue;
            }
            let revocation = Outgoing {
                from: s.vip,
                to: s.client,
                msg: Repr {
                    ty: MsgType::Cfm,
                    proto: s.proto,
                    cport: s.cport,
                    sport: s.sport,
                    replica: s.replica,
                    key: s.key,
                },
                ext: Ext {
                    rebind: false,
                    grant: Some(GrantExt {
                        lifetime_s: 0,
                        token: s.token,
                    }),
                },
            };
            // Cannot fail: checked not full above.
            let _ = out.push(revocation);
            self.counters.revocations_sent += 1;
            s.revoke_left -= 1;
            if s.revoke_left == 0 {
                *s = GrantSlot::EMPTY;
            }
        }
        out
    }

    /// Whether a grant is remembered (live, or lapsed and not yet swept):
    /// the slow timer has work.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.until == 0)
    }

    /// Grants live at `now` and not revoked (stats; visits every slot).
    pub fn count(&self, now: u64) -> usize {
        self.slots
            .iter()
            .filter(|s| s.live(now) && s.revoke_left == 0)
            .count()
    }

    /// Calls `f(vip, proto, port)` for the service of every grant live at
    /// `now` and not revoked (stats per service; visits every slot).
    pub fn for_each_live(&self, now: u64, mut f: impl FnMut(Ipv4, Proto, u16)) {
        for s in self.slots.iter() {
            if s.live(now) && s.revoke_left == 0 {
                f(s.vip, s.proto, s.sport);
            }
        }
    }

    /// Forgets every grant without revoking it (flush, role change: the
    /// clients' grants lapse by themselves).
    pub fn clear(&mut self) {
        self.slots.fill(GrantSlot::EMPTY);
    }
}
