// SPDX-License-Identifier: GPL-2.0
//! Services, replicas and the schedulers that pick a replica for a new flow.
//!
//! A [`ServiceTable`] lives in caller storage (a slice of [`Service`]).
//! Configuration changes take `&mut self` and validate everything before
//! touching anything, so a bad request leaves no partial state. Picking a
//! replica takes `&self` only: the per-service state that schedulers mutate
//! (round-robin cursor, per-replica connection counts) is atomic, so the
//! packet path of every shard can read the services concurrently (e.g.
//! under RCU) while each shard is behind its own lock.
//!
//! Schedulers (weight 0 = drain: no new flows; a replica that is down gets
//! none either; existing flows keep their replica):
//!
//! * round robin — every eligible replica in turn, weights ignored;
//! * weighted round robin — the smooth (nginx) interleaving of the weights,
//!   precomputed into the service's lookup table;
//! * least connections — fewest active entries per unit of weight;
//! * source hash — keyed hash of the client address into the weighted
//!   lookup table (the same client gets the same replica while the replica
//!   set is unchanged);
//! * Maglev — consistent hashing of the client address into a lookup table
//!   of [`LUT_SIZE`] (prime) entries, weighted; changing one replica moves
//!   about `1/n` of the clients.

use crate::counters::{bump, ServiceCounters, SharedServiceCounters};
use crate::hash::{reduce, HashKey};
use crate::wire::{Ipv4, Proto};
use core::ops::DerefMut;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Most replicas per service.
pub const MAX_REPLICAS: usize = 16;

/// Size of each service's lookup table (Maglev, WRR sequence, source hash).
/// A prime, about 64 entries per replica at [`MAX_REPLICAS`], so Maglev's
/// imbalance stays within a few percent; 1 KiB per service.
pub const LUT_SIZE: usize = 1021;

const LUT_NONE: u8 = u8::MAX;

/// Scheduler of a service.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum SchedKind {
    /// Round robin.
    RoundRobin = 0,
    /// Smooth weighted round robin.
    WeightedRoundRobin = 1,
    /// Least connections (weighted).
    LeastConn = 2,
    /// Source (client address) hash.
    SourceHash = 3,
    /// Maglev consistent hashing on the client address.
    Maglev = 4,
}

impl SchedKind {
    /// Decodes the number used on the configuration interface.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::RoundRobin),
            1 => Some(Self::WeightedRoundRobin),
            2 => Some(Self::LeastConn),
            3 => Some(Self::SourceHash),
            4 => Some(Self::Maglev),
            _ => None,
        }
    }
}

/// A replica as configured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ReplicaSpec {
    /// Address of the replica.
    pub addr: Ipv4,
    /// Weight; 0 drains the replica (no new flows).
    pub weight: u16,
    /// Administrative/health state; a replica that is down gets no new flows.
    pub up: bool,
}

/// A service as configured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServiceSpec<'a> {
    /// Transport protocol.
    pub proto: Proto,
    /// Service address the clients contact.
    pub vip: Ipv4,
    /// Service port.
    pub port: u16,
    /// Scheduler.
    pub sched: SchedKind,
    /// How long a SENT entry waits for the client's CHK before the flow
    /// moves to the accept table (paper: configurable; default 1000 ms).
    pub response_timeout_ms: u32,
    /// Idle time after which an entry is deleted.
    pub idle_timeout_ms: u32,
    /// Wildcard grant sent with every CFM (seconds, at most
    /// [`MAX_GRANT_S`]; 0: none): the client's new flows to this service
    /// may go to the confirmed flow's replica without a handshake for that
    /// long (docs/protocol.md, "Wildcard grants").
    pub grant_s: u32,
    /// Serve a new TCP flow whose SYN carries no capability mark locally
    /// at once, without a REQ (docs/protocol.md, "Capability mark"); when
    /// false (the paper), such a flow gets a REQ like any other.
    pub unmarked_local: bool,
    /// Fleet seed (0: none). Every redirector of a fleet, sharing the
    /// service address, configures the same non-zero seed: the replica of
    /// a flow then depends only on the seed, the client address and the
    /// replica set, so each member picks the same one, and a member
    /// confirms a CHK for a flow it never saw when the CHK names that
    /// replica (docs/protocol.md, "Redirector fleets", R27). Needs a
    /// consistent scheduler: source hash or Maglev.
    pub fleet_seed: u64,
    /// Replicas, at most [`MAX_REPLICAS`], distinct non-zero addresses.
    pub replicas: &'a [ReplicaSpec],
}

/// Longest wildcard grant a service may send (s): one day.
pub const MAX_GRANT_S: u32 = 86_400;

/// Default response timeout (ms).
pub const DEFAULT_RESPONSE_TIMEOUT_MS: u32 = 1000;
/// Default idle timeout at the redirector (ms).
pub const DEFAULT_IDLE_TIMEOUT_MS: u32 = 60_000;

/// The client-hashing key of a fleet service: the seed in both halves,
/// the second one tagged, so that a seed's key is fixed by the seed alone.
pub fn fleet_key(seed: u64) -> HashKey {
    HashKey::new(seed, seed ^ 0x6970_7270_666c_6565)
}

/// Why a configuration request was refused. Nothing was changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConfigError {
    /// More than [`MAX_REPLICAS`] replicas.
    TooManyReplicas,
    /// Two replicas with the same address.
    DuplicateReplica,
    /// A replica address of 0.0.0.0, or the VIP itself.
    BadReplica,
    /// VIP 0.0.0.0 or port 0.
    BadService,
    /// Response or idle timeout of 0, or response timeout > idle timeout.
    BadTimeout,
    /// Wildcard grant longer than [`MAX_GRANT_S`].
    BadGrant,
    /// A fleet seed on a service whose scheduler is not consistent (source
    /// hash or Maglev).
    FleetNeedsHash,
    /// A service with this protocol, VIP and port exists already.
    Exists,
    /// No such service.
    NoService,
    /// No such replica in the service.
    NoReplica,
    /// No free service slot.
    Full,
}

/// One replica of a configured service.
pub struct Replica {
    addr: Ipv4,
    weight: u16,
    up: bool,
    /// Identity of this replica in this service, drawn from the table's
    /// generation counter when the replica is added and kept across edits
    /// that keep it: an entry counted on a replica that was removed (and
    /// perhaps added again) since does not uncount the new one.
    gen: u32,
    conns: AtomicU32,
    assigned: AtomicU64,
    confirmed: AtomicU64,
    rebound: AtomicU64,
}

impl Replica {
    /// Address.
    pub fn addr(&self) -> Ipv4 {
        self.addr
    }
    /// Weight.
    pub fn weight(&self) -> u16 {
        self.weight
    }
    /// Up or down.
    pub fn up(&self) -> bool {
        self.up
    }
    /// Redirector entries currently assigned to this replica (SENT or
    /// CONFIRMED); what least-connections balances.
    pub fn conns(&self) -> u32 {
        self.conns.load(Ordering::Relaxed)
    }
    /// New flows assigned to this replica since the service was added or
    /// its counters were zeroed (kept across edits of the service).
    pub fn assigned(&self) -> u64 {
        self.assigned.load(Ordering::Relaxed)
    }
    /// Flows confirmed on this replica (redirected to it), counted as
    /// [`Self::assigned`].
    pub fn confirmed(&self) -> u64 {
        self.confirmed.load(Ordering::Relaxed)
    }
    /// Confirmed flows moved off this replica because it failed (R28),
    /// counted as [`Self::assigned`].
    pub fn rebound(&self) -> u64 {
        self.rebound.load(Ordering::Relaxed)
    }
    fn eligible(&self) -> bool {
        self.up && self.weight > 0
    }
}

/// One service slot. Allocate them with [`Service::empty`]; the table
/// resets them in [`ServiceTable::new_in`].
pub struct Service {
    used: bool,
    gen: u32,
    proto: Proto,
    vip: Ipv4,
    port: u16,
    sched: SchedKind,
    response_timeout_ms: u32,
    idle_timeout_ms: u32,
    grant_s: u32,
    unmarked_local: bool,
    fleet_seed: u64,
    replicas: heapless::Vec<Replica, MAX_REPLICAS>,
    lut: [u8; LUT_SIZE],
    lut_len: u16,
    cursor: AtomicU32,
    key: HashKey,
    counters: SharedServiceCounters,
}

impl Service {
    /// An unused slot.
    pub const fn empty() -> Self {
        Self {
            used: false,
            gen: 0,
            proto: Proto::Tcp,
            vip: Ipv4::UNSPECIFIED,
            port: 0,
            sched: SchedKind::RoundRobin,
            response_timeout_ms: 0,
            idle_timeout_ms: 0,
            grant_s: 0,
            unmarked_local: false,
            fleet_seed: 0,
            replicas: heapless::Vec::new(),
            lut: [LUT_NONE; LUT_SIZE],
            lut_len: 0,
            cursor: AtomicU32::new(0),
            key: HashKey::new(0, 0),
            counters: SharedServiceCounters::new(),
        }
    }

    /// Protocol.
    pub fn proto(&self) -> Proto {
        self.proto
    }
    /// Service address.
    pub fn vip(&self) -> Ipv4 {
        self.vip
    }
    /// Service port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Scheduler.
    pub fn sched(&self) -> SchedKind {
        self.sched
    }
    /// Response timeout in ms.
    pub fn response_timeout_ms(&self) -> u32 {
        self.response_timeout_ms
    }
    /// Idle timeout in ms.
    pub fn idle_timeout_ms(&self) -> u32 {
        self.idle_timeout_ms
    }
    /// Wildcard grant sent with each CFM (s; 0: none).
    pub fn grant_s(&self) -> u32 {
        self.grant_s
    }
    /// Whether unmarked TCP flows are served locally at once.
    pub fn unmarked_local(&self) -> bool {
        self.unmarked_local
    }
    /// Fleet seed (0: not a fleet service).
    pub fn fleet_seed(&self) -> u64 {
        self.fleet_seed
    }
    /// Generation number: identifies this service among every service the
    /// slot held. Set when the service is added, kept by edits.
    pub fn generation(&self) -> u32 {
        self.gen
    }
    /// Replicas.
    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }
    /// The service's counters, summed over every shard.
    pub fn counters(&self) -> ServiceCounters {
        self.counters.snapshot()
    }
    /// The live counters, for the redirector shards to update.
    pub(crate) fn live(&self) -> &SharedServiceCounters {
        &self.counters
    }
    /// Zeroes the service's and its replicas' counters (not the live
    /// connection counts, which are gauges).
    pub fn zero_counters(&self) {
        self.counters.zero();
        for r in self.replicas.iter() {
            r.assigned.store(0, Ordering::Relaxed);
            r.confirmed.store(0, Ordering::Relaxed);
            r.rebound.store(0, Ordering::Relaxed);
        }
    }
    /// The current lookup table (Maglev/WRR/SH), replica indexes.
    pub fn lut(&self) -> &[u8] {
        self.lut.get(..self.lut_len as usize).unwrap_or(&[])
    }

    /// Picks a replica for a new flow from `client`. Returns the replica's
    /// index and address, or `None` when no replica is eligible.
    pub fn pick(&self, client: Ipv4) -> Option<(usize, Ipv4)> {
        let n = self.replicas.len();
        if n == 0 {
            return None;
        }
        let idx = match self.sched {
            SchedKind::RoundRobin => {
                // The c-th eligible replica, so a drained or down replica's
                // turn is not inherited by its neighbour.
                let elig = self.replicas.iter().filter(|r| r.eligible()).count();
                if elig == 0 {
                    return None;
                }
                let c = self.cursor.fetch_add(1, Ordering::Relaxed) as usize % elig;
                self.replicas
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.eligible())
                    .nth(c)?
                    .0
            }
            SchedKind::WeightedRoundRobin => {
                let c = self.cursor.fetch_add(1, Ordering::Relaxed) as usize;
                let len = self.lut_len as usize;
                if len == 0 {
                    return None;
                }
                *self.lut.get(c % len)? as usize
            }
            SchedKind::LeastConn => {
                let mut best: Option<(usize, u64, u64)> = None;
                for (i, r) in self.replicas.iter().enumerate() {
                    if !r.eligible() {
                        continue;
                    }
                    let (c, w) = (u64::from(r.conns()), u64::from(r.weight));
                    match best {
                        // c / w < bc / bw  <=>  c * bw < bc * w
                        Some((_, bc, bw)) if c * bw >= bc * w => {}
                        _ => best = Some((i, c, w)),
                    }
                }
                best?.0
            }
            SchedKind::SourceHash | SchedKind::Maglev => {
                let len = self.lut_len as usize;
                if len == 0 {
                    return None;
                }
                let h = self.key.hash1(u64::from(client.to_bits()));
                *self.lut.get(reduce(h, len))? as usize
            }
        };
        let r = self.replicas.get(idx)?;
        if !r.eligible() {
            return None;
        }
        Some((idx, r.addr))
    }

    /// Counts a new entry on the replica with address `addr`: one more
    /// live connection and one more flow assigned. Returns the replica's
    /// generation, which [`Self::conn_dec`] needs (0: no such replica,
    /// nothing counted).
    pub fn conn_inc(&self, addr: Ipv4) -> u32 {
        let Some(r) = self.replicas.iter().find(|r| r.addr == addr) else {
            return 0;
        };
        r.conns.fetch_add(1, Ordering::Relaxed);
        bump(&r.assigned);
        r.gen
    }

    /// Counts a flow confirmed on the replica with address `addr`.
    pub(crate) fn count_confirmed(&self, addr: Ipv4) {
        if let Some(r) = self.replicas.iter().find(|r| r.addr == addr) {
            bump(&r.confirmed);
        }
    }

    /// Counts a confirmed flow moved off the failed replica `addr`.
    pub(crate) fn count_rebound(&self, addr: Ipv4) {
        if let Some(r) = self.replicas.iter().find(|r| r.addr == addr) {
            bump(&r.rebound);
        }
    }

    /// Uncounts an entry that [`Self::conn_inc`] counted on replica `addr`
    /// of generation `gen` (saturating). Nothing happens if that replica
    /// has been removed since, even if one with the same address was added
    /// again: its count never included the entry.
    pub fn conn_dec(&self, addr: Ipv4, gen: u32) {
        if let Some(r) = self
            .replicas
            .iter()
            .find(|r| r.addr == addr && r.gen == gen)
        {
            let _ = r
                .conns
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_sub(1));
        }
    }

    fn rebuild_lut(&mut self) {
        self.lut = [LUT_NONE; LUT_SIZE];
        self.lut_len = 0;
        match self.sched {
            SchedKind::RoundRobin | SchedKind::LeastConn => {}
            SchedKind::WeightedRoundRobin | SchedKind::SourceHash => self.build_wrr(),
            SchedKind::Maglev => self.build_maglev(),
        }
    }

    /// Smooth weighted round robin sequence; weights scaled down if their
    /// sum exceeds [`LUT_SIZE`] (every eligible replica keeps >= 1 turn).
    fn build_wrr(&mut self) {
        let mut w = [0u64; MAX_REPLICAS];
        let mut total = 0u64;
        for (i, r) in self.replicas.iter().enumerate() {
            if let Some(wi) = w.get_mut(i) {
                *wi = if r.eligible() { u64::from(r.weight) } else { 0 };
                total += *wi;
            }
        }
        if total == 0 {
            return;
        }
        if total > LUT_SIZE as u64 {
            let mut t2 = 0;
            for wi in w.iter_mut().filter(|w| **w > 0) {
                *wi = (*wi * LUT_SIZE as u64 / total).max(1);
                t2 += *wi;
            }
            total = t2;
        }
        let len = (total as usize).min(LUT_SIZE);
        let mut cur = [0i64; MAX_REPLICAS];
        for pos in 0..len {
            let mut best = 0usize;
            let mut best_v = i64::MIN;
            for i in 0..MAX_REPLICAS {
                let (Some(c), Some(&wi)) = (cur.get_mut(i), w.get(i)) else {
                    continue;
                };
                if wi == 0 {
                    continue;
                }
                *c += wi as i64;
                if *c > best_v {
                    best_v = *c;
                    best = i;
                }
            }
            if let Some(c) = cur.get_mut(best) {
                *c -= total as i64;
            }
            if let Some(l) = self.lut.get_mut(pos) {
                *l = best as u8;
            }
        }
        self.lut_len = len as u16;
    }

    /// Weighted Maglev population (Eisenbud et al., NSDI 2016): each
    /// eligible replica walks its own permutation of the table, taking turns
    /// in proportion to its weight.
    fn build_maglev(&mut self) {
        const M: u64 = LUT_SIZE as u64;
        let mut offset = [0u64; MAX_REPLICAS];
        let mut skip = [0u64; MAX_REPLICAS];
        let mut next = [0u64; MAX_REPLICAS];
        let mut credit = [0u64; MAX_REPLICAS];
        let mut w = [0u64; MAX_REPLICAS];
        let mut wmax = 0u64;
        // Permutations depend on the replica address only (fixed key), so a
        // replica keeps its preferences across reconfigurations.
        let pk = HashKey::new(0x6d61_676c_6576_0001, 0x6970_7270_0000_0002);
        for (i, r) in self.replicas.iter().enumerate().take(MAX_REPLICAS) {
            if !r.eligible() {
                continue;
            }
            if let (Some(o), Some(s), Some(wi)) = (offset.get_mut(i), skip.get_mut(i), w.get_mut(i))
            {
                *o = pk.hash2(u64::from(r.addr.to_bits()), 0) % M;
                *s = pk.hash2(u64::from(r.addr.to_bits()), 1) % (M - 1) + 1;
                *wi = u64::from(r.weight);
                wmax = wmax.max(*wi);
            }
        }
        if wmax == 0 {
            return;
        }
        let mut filled = 0u64;
        // Each round the heaviest replica claims at least one entry, so at
        // most M rounds; each claim probes at most M positions.
        let mut rounds = 0u64;
        while filled < M && rounds <= M {
            rounds += 1;
            for i in 0..MAX_REPLICAS {
                let wi = w.get(i).copied().unwrap_or(0);
                if wi == 0 {
                    continue;
                }
                let Some(c) = credit.get_mut(i) else { continue };
                *c += wi;
                while *c >= wmax && filled < M {
                    *c -= wmax;
                    let (o, s) = (
                        offset.get(i).copied().unwrap_or(0),
                        skip.get(i).copied().unwrap_or(1),
                    );
                    let Some(nx) = next.get_mut(i) else { break };
                    let mut probes = 0u64;
                    while probes < M {
                        let pos = ((o + (*nx % M) * s) % M) as usize;
                        *nx += 1;
                        probes += 1;
                        if let Some(l) = self.lut.get_mut(pos) {
                            if *l == LUT_NONE {
                                *l = i as u8;
                                filled += 1;
                                break;
                            }
                        }
                    }
                }
            }
        }
        self.lut_len = LUT_SIZE as u16;
    }
}

/// What an edit keeps of a replica that stays in the service.
#[derive(Clone, Copy, Default)]
struct OldReplica {
    addr: Ipv4,
    gen: u32,
    conns: u32,
    assigned: u64,
    confirmed: u64,
    rebound: u64,
}

/// The services of one redirector (one network namespace), in caller
/// storage.
pub struct ServiceTable<S: DerefMut<Target = [Service]>> {
    slots: S,
    gen: u32,
    key: HashKey,
}

/// Whether `a` can be a service or replica address: not in 0.0.0.0/8
/// ("this network"), 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) or
/// 240.0.0.0/4 (reserved, including the limited broadcast).
pub fn is_unicast(a: Ipv4) -> bool {
    let top = a.to_bits() >> 24;
    top != 0 && top != 127 && top < 224
}

fn validate(spec: &ServiceSpec<'_>) -> Result<(), ConfigError> {
    if !is_unicast(spec.vip) || spec.port == 0 {
        return Err(ConfigError::BadService);
    }
    if spec.response_timeout_ms == 0
        || spec.idle_timeout_ms == 0
        || spec.response_timeout_ms > spec.idle_timeout_ms
    {
        return Err(ConfigError::BadTimeout);
    }
    if spec.grant_s > MAX_GRANT_S {
        return Err(ConfigError::BadGrant);
    }
    if spec.fleet_seed != 0 && !matches!(spec.sched, SchedKind::SourceHash | SchedKind::Maglev) {
        return Err(ConfigError::FleetNeedsHash);
    }
    if spec.replicas.len() > MAX_REPLICAS {
        return Err(ConfigError::TooManyReplicas);
    }
    for (i, r) in spec.replicas.iter().enumerate() {
        if !is_unicast(r.addr) || r.addr == spec.vip {
            return Err(ConfigError::BadReplica);
        }
        if spec.replicas.iter().skip(i + 1).any(|o| o.addr == r.addr) {
            return Err(ConfigError::DuplicateReplica);
        }
    }
    Ok(())
}

impl<S: DerefMut<Target = [Service]>> ServiceTable<S> {
    /// Takes over `storage` (one slot per service) and clears it. `key`
    /// seeds the source-hash and Maglev client hashing.
    pub fn new_in(mut storage: S, key: HashKey) -> Self {
        for s in storage.iter_mut() {
            s.used = false;
            s.replicas.clear();
            s.lut_len = 0;
        }
        Self {
            slots: storage,
            gen: 0,
            key,
        }
    }

    /// Number of service slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of configured services.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// True when no service is configured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of the service `(proto, vip, port)`.
    pub fn find(&self, proto: Proto, vip: Ipv4, port: u16) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.used && s.port == port && s.vip == vip && s.proto == proto)
    }

    /// The service in slot `idx`, if configured.
    pub fn get(&self, idx: usize) -> Option<&Service> {
        self.slots.get(idx).filter(|s| s.used)
    }

    /// The service `(proto, vip, port)`.
    pub fn lookup(&self, proto: Proto, vip: Ipv4, port: u16) -> Option<&Service> {
        self.find(proto, vip, port).and_then(|i| self.get(i))
    }

    /// Configured services (for dumps).
    pub fn iter(&self) -> impl Iterator<Item = &Service> {
        self.slots.iter().filter(|s| s.used)
    }

    /// The next generation number (never 0, which marks "not counted").
    fn next_gen(&mut self) -> u32 {
        self.gen = self.gen.wrapping_add(1).max(1);
        self.gen
    }

    /// Configures slot `idx` as service generation `svc_gen`; replicas
    /// listed in `old` keep their generation, connection count and
    /// assigned-flow counter, the others get a new generation.
    fn fill(&mut self, idx: usize, spec: &ServiceSpec<'_>, svc_gen: u32, old: &[OldReplica]) {
        // What each replica keeps: its old self, or a new generation.
        let mut kept = [OldReplica::default(); MAX_REPLICAS];
        for (k, r) in kept.iter_mut().zip(spec.replicas) {
            *k = match old.iter().find(|o| o.addr == r.addr) {
                Some(o) => *o,
                None => OldReplica {
                    gen: self.next_gen(),
                    ..OldReplica::default()
                },
            };
        }
        let key = self.key;
        let Some(s) = self.slots.get_mut(idx) else {
            return;
        };
        s.used = true;
        s.gen = svc_gen;
        s.proto = spec.proto;
        s.vip = spec.vip;
        s.port = spec.port;
        s.sched = spec.sched;
        s.response_timeout_ms = spec.response_timeout_ms;
        s.idle_timeout_ms = spec.idle_timeout_ms;
        s.grant_s = spec.grant_s;
        s.unmarked_local = spec.unmarked_local;
        s.fleet_seed = spec.fleet_seed;
        // A fleet's members hash clients with the seed, not with their own
        // random key.
        s.key = match spec.fleet_seed {
            0 => key,
            seed => fleet_key(seed),
        };
        s.cursor = AtomicU32::new(0);
        s.replicas.clear();
        for (r, k) in spec.replicas.iter().zip(kept.iter()) {
            // Cannot fail: validated len <= MAX_REPLICAS.
            let _ = s.replicas.push(Replica {
                addr: r.addr,
                weight: r.weight,
                up: r.up,
                gen: k.gen,
                conns: AtomicU32::new(k.conns),
                assigned: AtomicU64::new(k.assigned),
                confirmed: AtomicU64::new(k.confirmed),
                rebound: AtomicU64::new(k.rebound),
            });
        }
        if spec.fleet_seed != 0 {
            // The lookup table is built in replica order and holds replica
            // indexes: in address order, members that list the same replicas
            // in another order build the same table.
            s.replicas.sort_unstable_by_key(|r| r.addr.to_bits());
        }
        s.rebuild_lut();
    }

    /// Adds a service. Validates first; on error nothing changes.
    pub fn add(&mut self, spec: &ServiceSpec<'_>) -> Result<usize, ConfigError> {
        validate(spec)?;
        if self.find(spec.proto, spec.vip, spec.port).is_some() {
            return Err(ConfigError::Exists);
        }
        let idx = self
            .slots
            .iter()
            .position(|s| !s.used)
            .ok_or(ConfigError::Full)?;
        let gen = self.next_gen();
        self.fill(idx, spec, gen, &[]);
        if let Some(s) = self.slots.get(idx) {
            s.counters.zero();
        }
        Ok(idx)
    }

    /// Replaces the configuration of an existing service (same protocol,
    /// VIP and port), keeping the connection counts of replicas that stay.
    pub fn update(&mut self, spec: &ServiceSpec<'_>) -> Result<usize, ConfigError> {
        validate(spec)?;
        let idx = self
            .find(spec.proto, spec.vip, spec.port)
            .ok_or(ConfigError::NoService)?;
        let mut old = [OldReplica::default(); MAX_REPLICAS];
        let mut n = 0;
        let mut svc_gen = 0;
        if let Some(s) = self.slots.get(idx) {
            svc_gen = s.gen;
            for (o, r) in old.iter_mut().zip(s.replicas.iter()) {
                *o = OldReplica {
                    addr: r.addr,
                    gen: r.gen,
                    conns: r.conns(),
                    assigned: r.assigned(),
                    confirmed: r.confirmed(),
                    rebound: r.rebound(),
                };
                n += 1;
            }
        }
        self.fill(idx, spec, svc_gen, old.get(..n).unwrap_or(&[]));
        Ok(idx)
    }

    /// Changes one replica's weight and state, keeping everything else.
    pub fn set_replica(
        &mut self,
        proto: Proto,
        vip: Ipv4,
        port: u16,
        addr: Ipv4,
        weight: u16,
        up: bool,
    ) -> Result<(), ConfigError> {
        let idx = self.find(proto, vip, port).ok_or(ConfigError::NoService)?;
        let s = self.slots.get_mut(idx).ok_or(ConfigError::NoService)?;
        let r = s
            .replicas
            .iter_mut()
            .find(|r| r.addr == addr)
            .ok_or(ConfigError::NoReplica)?;
        r.weight = weight;
        r.up = up;
        s.rebuild_lut();
        Ok(())
    }

    /// Deletes a service. The caller removes its redirector entries first
    /// ([`crate::RedirShard::remove_service`], with the index
    /// [`Self::find`] gives).
    pub fn del(&mut self, proto: Proto, vip: Ipv4, port: u16) -> Result<(), ConfigError> {
        let idx = self.find(proto, vip, port).ok_or(ConfigError::NoService)?;
        if let Some(s) = self.slots.get_mut(idx) {
            s.used = false;
            s.replicas.clear();
            s.lut_len = 0;
        }
        Ok(())
    }

    /// Deletes every service.
    pub fn flush(&mut self) {
        for s in self.slots.iter_mut() {
            s.used = false;
            s.replicas.clear();
            s.lut_len = 0;
        }
    }
}
