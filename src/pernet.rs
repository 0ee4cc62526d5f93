// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: each netns is an independent IPRP host.
//!
//! A role's tables are allocated the first time the role is enabled and
//! published through an atomic pointer; they live until the namespace
//! exits (after its hooks are gone), so the packet path reads them without
//! a reference count. Tables are sharded, each shard behind a spinlock
//! taken with bottom halves disabled.

use crate::config::{Params, ParamsUpdate};
use crate::notify;
use crate::route::{Route, RouteCache};
use crate::shim::{self, OwnedSkb};
use crate::sync::{new_bh_lock, BhLock, ShardGuard, Sharded};
use crate::uapi::iprp_counter as ctr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use iprp_core::client::{
    ClientConfig, ClientShard, ClientSlot, Grant, WildcardSlot, Wildcards, WILDCARD_SLOTS,
};
use iprp_core::filter::{buckets_for, AddrFilter, AddrSet};
use iprp_core::grants::{GrantSlot, Grants, GRANT_SLOTS};
use iprp_core::hash::reduce;
use iprp_core::legacy::{LegacyClients, LegacySlot, LEGACY_SLOTS, LEGACY_TTL_MS};
use iprp_core::readidx::{ReadIndex, ReadSlot, SLOTS_PER_BINDING};
use iprp_core::redirector::{RedirShard, RedirSlot};
use iprp_core::sched::{Service, ServiceTable};
use iprp_core::{
    shard_index, ClientCounters, EventBudget, GrantCounters, HashKey, Ipv4, LegacyCounters,
    Outgoing, Proto, RedirCounters, Rng,
};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Arc;

const N_COUNTERS: usize = ctr::__IPRP_CTR_MAX as usize;

/// Shards per role and namespace: spreads lock contention over CPUs.
pub(crate) use crate::sync::NSHARDS;
/// Table entries per role when SET_ROLE names no capacity.
pub(crate) const DEFAULT_CAPACITY: u32 = 16384;
/// Services per namespace.
pub(crate) const MAX_SERVICES: usize = 64;
/// The paper's slow timer period.
pub(crate) const TICK_MS: u32 = 500;

/// A client parameter left at the core's default.
const UNSET: u32 = u32::MAX;

/// Role bits, as `enum iprp_role`.
pub(crate) const ROLE_CLIENT: u32 = crate::uapi::iprp_role::IPRP_ROLE_CLIENT;
/// Role bits, as `enum iprp_role`.
pub(crate) const ROLE_REDIRECTOR: u32 = crate::uapi::iprp_role::IPRP_ROLE_REDIRECTOR;

/// Counters of one namespace, indexed by `enum iprp_counter`.
pub(crate) struct Counters([AtomicU64; N_COUNTERS]);

impl Counters {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; N_COUNTERS])
    }

    /// Adds one to counter `id`.
    pub(crate) fn inc(&self, id: ctr::Type) {
        self.add(id, 1);
    }

    /// Adds `n` to counter `id`.
    pub(crate) fn add(&self, id: ctr::Type, n: u64) {
        if let Some(c) = self.0.get(id as usize) {
            // Relaxed: counters are statistics, ordered by nothing.
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Copies the counters into `out` (indexed by `enum iprp_counter`).
    pub(crate) fn snapshot(&self, out: &mut [u64]) {
        for (o, c) in out.iter_mut().zip(self.0.iter()) {
            *o = c.load(Ordering::Relaxed);
        }
    }
}

/// A client shard's lock-free read index (see `iprp_core::readidx`).
pub(crate) type ClientIndex = ReadIndex<KVVec<ReadSlot>>;
pub(crate) type ClientTable =
    ClientShard<KVVec<ClientSlot<OwnedSkb>>, Arc<ClientFilter>, Arc<ClientIndex>, OwnedSkb>;

/// The client's address filter, its counters sized from the table's
/// capacity ([`buckets_for`]): thousands of redirectors or replicas still
/// leave most addresses "absent".
pub(crate) type ClientFilter = AddrFilter<KVVec<AtomicU32>>;
pub(crate) type RedirTable = RedirShard<KVVec<RedirSlot>>;
pub(crate) type Services = ServiceTable<KVVec<Service>>;

/// Client role: the binding table, sharded.
pub(crate) struct ClientRole {
    pub(crate) shards: KVec<BhLock<ClientTable>>,
    /// Each shard's read index, written under the shard's lock and read by
    /// the hooks without it.
    pub(crate) index: KVec<Arc<ClientIndex>>,
    /// Addresses of all bindings, kept by the shards, read without locks.
    pub(crate) filter: Arc<ClientFilter>,
    pub(crate) capacity: u32,
    /// Bindings in all shards, kept current by [`ClientRole::update`]: while
    /// it is 0 the hooks skip hashing and locking for every packet.
    bound: AtomicUsize,
    /// Wildcard grants from the redirectors' CFMs. Taken inside a shard's
    /// lock, never the other way round.
    pub(crate) wildcards: BhLock<Wildcards<KVVec<WildcardSlot>>>,
    /// Service addresses of the grants, one count per grant slot, read
    /// without any lock: LOCAL_OUT looks for a grant only for a packet to
    /// one of them.
    pub(crate) granted: KBox<AddrSet>,
    /// The route of each binding's translated packets, cached by
    /// LOCAL_OUT (src/route.c).
    routes: RouteCache,
}

/// Redirector role.
pub(crate) struct RedirRole {
    /// The flow entries in shards, each behind its own lock, and the
    /// services every shard reads: a packet locks its flow's shard only;
    /// a service change locks them all (`crate::sync`).
    pub(crate) tables: Sharded<Services, RedirTable>,
    /// What R knows of its clients: legacy (protocol unreachable, or a
    /// REQ left unanswered) or speaking IPRP (a flow confirmed). Taken
    /// inside a shard's lock, never the other way round.
    pub(crate) legacy: BhLock<LegacyClients<KVVec<LegacySlot>>>,
    /// The wildcard grants R has given, to revoke them. Taken inside a
    /// shard's lock or alone.
    pub(crate) grants: BhLock<Grants<KVVec<GrantSlot>>>,
    pub(crate) capacity: u32,
    /// Slots of `legacy`.
    pub(crate) legacy_capacity: u32,
    /// Service addresses, one count per configured service, changed with
    /// every shard locked and read without any lock: a packet to no
    /// service address takes no lock.
    pub(crate) vips: KBox<AddrSet>,
}

/// Namespace states allocated and not yet freed; must be 0 after unload.
pub(crate) static LIVE_STATES: AtomicUsize = AtomicUsize::new(0);

/// State of IPRP in one network namespace.
pub(crate) struct NetState {
    pub(crate) counters: Counters,
    pub(crate) net: *mut bindings::net,
    pub(crate) key: HashKey,
    roles: AtomicU32,
    client: AtomicPtr<ClientRole>,
    redir: AtomicPtr<RedirRole>,
    /// Slow timer period (SET_PARAMS).
    tick_ms: AtomicU32,
    /// Client parameters applied to every shard, now and when allocated.
    checking_timeout_ms: AtomicU32,
    max_held_per_shard: AtomicU32,
    /// The redirector's legacy time to live (SET_PARAMS), ms.
    legacy_ttl_ms: AtomicU32,
    /// The client inserts the capability mark into the SYNs it sends
    /// untranslated (SET_PARAMS).
    mark_syns: AtomicBool,
    /// How many event notifications may be sent (SET_PARAMS event-rate).
    pub(crate) event_budget: EventBudget,
    /// Events not sent since the last one sent, for its `IPRP_A_LOST`.
    pub(crate) events_lost: AtomicU32,
}

/// Keys and choices drawn from the kernel's random source.
pub(crate) struct KernelRng;

impl Rng for KernelRng {
    fn next_u32(&mut self) -> u32 {
        // SAFETY: no preconditions.
        unsafe { bindings::get_random_u32() }
    }
}

fn random_key() -> HashKey {
    let mut b = [0u8; 16];
    // SAFETY: `b` is a writable buffer of the length passed.
    unsafe { bindings::get_random_bytes(b.as_mut_ptr().cast(), b.len()) };
    HashKey::from_bytes(b)
}

fn per_shard(capacity: u32) -> usize {
    (capacity as usize).div_ceil(NSHARDS).max(16)
}

/// `n` empty slots in vmalloc-able memory (tables can be large).
fn slots<T>(n: usize, empty: impl Fn() -> T) -> Result<KVVec<T>> {
    let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(empty(), GFP_KERNEL)?;
    }
    Ok(v)
}

/// A client configuration with the namespace's parameters applied.
fn with_params(mut c: ClientConfig, (checking_ms, max_held): (u32, u32)) -> ClientConfig {
    if checking_ms != UNSET {
        c.checking_timeout_ms = checking_ms;
    }
    if max_held != UNSET {
        c.max_held = max_held;
    }
    c
}

impl ClientRole {
    fn new(capacity: u32, key: HashKey, params: (u32, u32)) -> Result<KBox<Self>> {
        let n = per_shard(capacity);
        let mut shards = KVec::with_capacity(NSHARDS, GFP_KERNEL)?;
        let mut index = KVec::with_capacity(NSHARDS, GFP_KERNEL)?;
        let buckets = buckets_for(capacity as usize);
        let filter = Arc::new(
            AddrFilter::new_in(
                slots(buckets, || AtomicU32::new(0))?,
                slots(buckets, || AtomicU32::new(0))?,
            ),
            GFP_KERNEL,
        )?;
        for _ in 0..NSHARDS {
            let idx = Arc::new(
                ReadIndex::new_in(slots(n * SLOTS_PER_BINDING, ReadSlot::new)?, key),
                GFP_KERNEL,
            )?;
            index.push(idx.clone(), GFP_KERNEL)?;
            let shard = ClientShard::with_index(
                slots(n, || ClientSlot::EMPTY)?,
                key,
                with_params(ClientConfig::for_capacity(n), params),
                filter.clone(),
                idx,
            );
            shards.push(new_bh_lock!(shard, c"iprp_client_shard")?, GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Self {
                shards,
                index,
                filter,
                capacity,
                bound: AtomicUsize::new(0),
                wildcards: new_bh_lock!(
                    Wildcards::new_in(slots(WILDCARD_SLOTS, || WildcardSlot::EMPTY)?, key),
                    c"iprp_client_wildcards"
                )?,
                granted: KBox::new(AddrSet::new(), GFP_KERNEL)?,
                routes: RouteCache::new(NSHARDS, n)?,
            },
            GFP_KERNEL,
        )?)
    }

    /// Installs or renews wildcard grant `g` (it came with a CFM the
    /// client accepted).
    pub(crate) fn install_grant(&self, g: &Grant, now: u64) {
        let mut w = self.wildcards.lock();
        let replaced = w.install(g, now);
        self.granted.add(g.redirector);
        if let Some(old) = replaced {
            self.granted.remove(old);
        }
    }

    /// The replica a live grant sends new flows to `redirector`:`sport`
    /// (`proto`) to.
    pub(crate) fn granted_replica(
        &self,
        redirector: Ipv4,
        proto: Proto,
        sport: u16,
        now: u64,
    ) -> Option<Ipv4> {
        self.wildcards.lock().lookup(redirector, proto, sport, now)
    }

    /// A revocation for `redirector`:`sport` (`proto`) arrived: drops the
    /// grant if `token` is its token. True if it did.
    pub(crate) fn revoke_grant(
        &self,
        redirector: Ipv4,
        proto: Proto,
        sport: u16,
        token: u32,
        now: u64,
    ) -> bool {
        let revoked = self
            .wildcards
            .lock()
            .revoke(redirector, proto, sport, token, now);
        if revoked {
            self.granted.remove(redirector);
        }
        revoked
    }

    /// False while the role holds no grant (lock-free).
    #[inline]
    pub(crate) fn has_grants(&self) -> bool {
        !self.granted.is_empty()
    }

    /// Runs `f` on `shard` under its lock (bottom halves off), keeps the
    /// binding count current and sends the shard's events (`state` is the
    /// namespace's). Every change of a client table goes here.
    pub(crate) fn update<R>(
        &self,
        state: &NetState,
        shard: &BhLock<ClientTable>,
        f: impl FnOnce(&mut ClientTable) -> R,
    ) -> R {
        let mut s = shard.lock();
        let before = s.len();
        let r = f(&mut s);
        notify::flush(state, &mut s.events);
        let after = s.len();
        // Inside the lock, so counts of one shard never cross. A hook that
        // reads 0 while a REQ is being handled on another CPU acts as if its
        // packet had come first.
        if after > before {
            self.bound.fetch_add(after - before, Ordering::Release);
        } else if after < before {
            self.bound.fetch_sub(before - after, Ordering::Release);
        }
        r
    }

    /// False while no shard holds a binding (lock-free).
    #[inline]
    pub(crate) fn has_bindings(&self) -> bool {
        self.bound.load(Ordering::Acquire) != 0
    }

    /// The shard holding flow (proto, client port, server port).
    pub(crate) fn shard(
        &self,
        key: &HashKey,
        proto: Proto,
        cport: u16,
        sport: u16,
    ) -> &BhLock<ClientTable> {
        let i = shard_index(key, proto, cport, sport, self.shards.len());
        // shard_index() < len, and len == NSHARDS > 0.
        &self.shards[i.min(self.shards.len() - 1)]
    }

    /// The number, shard and read index of the flow whose [`ports_hash`]
    /// is `hp` (the shard [`Self::shard`] picks for the same flow).
    ///
    /// [`ports_hash`]: iprp_core::readidx::ports_hash
    pub(crate) fn shard_of_hash(&self, hp: u64) -> (usize, &BhLock<ClientTable>, &ClientIndex) {
        let i = reduce(hp, self.shards.len()).min(self.shards.len() - 1);
        (i, &self.shards[i], &self.index[i])
    }

    /// The route cache slot of the binding in table slot `entry` of shard
    /// number `shard` (from [`Self::shard_of_hash`]), for the shim.
    #[inline]
    pub(crate) fn route_slot(&self, shard: usize, entry: u32) -> *mut *mut Route {
        self.routes.slot(shard, entry)
    }
}

impl RedirRole {
    fn new(
        capacity: u32,
        legacy_capacity: u32,
        key: HashKey,
        legacy_ttl_ms: u32,
    ) -> Result<KBox<Self>> {
        let n = per_shard(capacity);
        let services = ServiceTable::new_in(slots(MAX_SERVICES, Service::empty)?, key);
        let tables = Sharded::new(services, |i| {
            Ok(RedirShard::new_in(slots(n, || RedirSlot::EMPTY)?, key).with_stripe(i))
        })?;
        let mut cache =
            LegacyClients::new_in(slots(legacy_capacity as usize, || LegacySlot::EMPTY)?, key);
        cache.set_ttl_ms(u64::from(legacy_ttl_ms));
        let legacy = new_bh_lock!(cache, c"iprp_legacy_clients")?;
        let grants = new_bh_lock!(
            Grants::new_in(slots(GRANT_SLOTS, || GrantSlot::EMPTY)?, key),
            c"iprp_grants"
        )?;
        let vips = KBox::new(AddrSet::new(), GFP_KERNEL)?;
        Ok(KBox::new(
            Self {
                tables,
                legacy,
                grants,
                capacity,
                legacy_capacity,
                vips,
            },
            GFP_KERNEL,
        )?)
    }

    /// The shard of flow (proto, client port, server port), locked.
    pub(crate) fn shard(
        &self,
        key: &HashKey,
        proto: Proto,
        cport: u16,
        sport: u16,
    ) -> ShardGuard<'_, Services, RedirTable> {
        self.tables
            .shard(shard_index(key, proto, cport, sport, NSHARDS))
    }

    /// Sends `out` (a message of this redirector) after giving the grant
    /// it offers, if any, its token from the grant table, or taking the
    /// offer out when the table has no room.
    pub(crate) fn send(&self, state: &NetState, mut out: Outgoing, now: u64) {
        if out.ext.grant.is_some() {
            self.grants.lock().attach(&mut out, now, &mut KernelRng);
        }
        crate::proto::send(state, &out);
    }

    /// Revokes the grants of service (`vip`, `proto`, `port`) naming
    /// `replica` (all of the service's when `None`); the slow timer sends
    /// the revocations.
    pub(crate) fn revoke_grants(
        &self,
        state: &NetState,
        vip: Ipv4,
        proto: Proto,
        port: u16,
        replica: Option<Ipv4>,
    ) {
        let n = self
            .grants
            .lock()
            .revoke(vip, proto, port, replica, shim::now_ms());
        if n > 0 {
            state.kick_timer();
        }
    }

    /// Whether `client` is a known legacy client (takes the legacy lock).
    pub(crate) fn is_legacy(&self, client: Ipv4, now: u64) -> bool {
        self.legacy.lock().is_legacy(client, now)
    }
}

impl NetState {
    /// Whether the client marks the SYNs it sends untranslated.
    #[inline]
    pub(crate) fn mark_syns(&self) -> bool {
        self.mark_syns.load(Ordering::Relaxed)
    }

    /// Enabled roles (bits of `enum iprp_role`).
    #[inline]
    pub(crate) fn roles(&self) -> u32 {
        self.roles.load(Ordering::Relaxed)
    }

    /// The client role's tables if the role is enabled.
    #[inline]
    pub(crate) fn client(&self) -> Option<&ClientRole> {
        if self.roles() & ROLE_CLIENT == 0 {
            return None;
        }
        let p = self.client.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was published by `set_roles` from a
        // `KBox` that stays alive until `Drop for NetState`, which runs
        // after every hook and handler of this namespace has finished.
        unsafe { p.as_ref() }
    }

    /// The redirector role's tables if the role is enabled.
    #[inline]
    pub(crate) fn redirector(&self) -> Option<&RedirRole> {
        if self.roles() & ROLE_REDIRECTOR == 0 {
            return None;
        }
        let p = self.redir.load(Ordering::Acquire);
        // SAFETY: as in `client`.
        unsafe { p.as_ref() }
    }

    /// The redirector's tables even if the role is off (dumps, stats).
    pub(crate) fn redirector_tables(&self) -> Option<&RedirRole> {
        // SAFETY: as in `client`.
        unsafe { self.redir.load(Ordering::Acquire).as_ref() }
    }

    /// The client's tables even if the role is off (dumps, stats).
    pub(crate) fn client_tables(&self) -> Option<&ClientRole> {
        // SAFETY: as in `client`.
        unsafe { self.client.load(Ordering::Acquire).as_ref() }
    }

    /// Enables exactly `roles`, allocating a role's tables on first use.
    /// Serialised by the genl mutex (the family has no parallel ops).
    /// `client_cap`/`redir_cap` size the tables of a role created now; a
    /// role whose tables exist must be given their capacity or none;
    /// `legacy_cap` sizes the redirector's client cache likewise.
    pub(crate) fn set_roles(
        &self,
        roles: u32,
        client_cap: Option<u32>,
        redir_cap: Option<u32>,
        legacy_cap: Option<u32>,
    ) -> Result<(), (Error, &'static CStr)> {
        let want_client = roles & ROLE_CLIENT != 0;
        let want_redir = roles & ROLE_REDIRECTOR != 0;
        // Check everything before changing anything.
        let clash = |want: bool, have: Option<u32>, cap: Option<u32>| {
            want && matches!((have, cap), (Some(h), Some(c)) if h != c)
        };
        if clash(
            want_client,
            self.client_tables().map(|c| c.capacity),
            client_cap,
        ) || clash(
            want_redir,
            self.redirector_tables().map(|r| r.capacity),
            redir_cap,
        ) || clash(
            want_redir,
            self.redirector_tables().map(|r| r.legacy_capacity),
            legacy_cap,
        ) {
            return Err((EBUSY, c"table capacity is fixed once a role's tables exist"));
        }
        let new_client = if want_client && self.client_tables().is_none() {
            let cap = client_cap.unwrap_or(DEFAULT_CAPACITY);
            Some(
                ClientRole::new(cap, self.key, self.client_params())
                    .map_err(|e| (e, c"no memory for the client table"))?,
            )
        } else {
            None
        };
        let new_redir = if want_redir && self.redirector_tables().is_none() {
            let cap = redir_cap.unwrap_or(DEFAULT_CAPACITY);
            let legacy_cap = legacy_cap.unwrap_or(LEGACY_SLOTS as u32);
            let ttl = self.legacy_ttl_ms.load(Ordering::Relaxed);
            Some(
                RedirRole::new(cap, legacy_cap, self.key, ttl)
                    .map_err(|e| (e, c"no memory for the redirector tables"))?,
            )
        } else {
            None
        };
        if !want_client {
            // Before the role goes: the bindings still translate the resets.
            self.reset_client_tcp();
        }
        if let Some(c) = new_client {
            self.client.store(KBox::into_raw(c), Ordering::Release);
        }
        if let Some(r) = new_redir {
            self.redir.store(KBox::into_raw(r), Ordering::Release);
        }
        self.roles
            .store(roles & (ROLE_CLIENT | ROLE_REDIRECTOR), Ordering::Relaxed);
        Ok(())
    }

    /// C30: the client role stops (switched off, or the module unloads).
    /// Its confirmed TCP connections could no longer reach their replicas:
    /// the replica's packets would arrive untranslated and the connection
    /// would wait for a timeout. Each is aborted at once instead; its
    /// binding, still in place, translates the reset to the replica, so
    /// both ends learn. Does nothing unless the client role is on.
    /// Process context (no lock held: `tcp_abort` sleeps, and its reset
    /// passes our LOCAL_OUT hook).
    pub(crate) fn reset_client_tcp(&self) {
        let Some(c) = self.client() else {
            return;
        };
        for shard in c.shards.iter() {
            let mut n = 0;
            shard.lock().for_each_confirmed_tcp(|_, _, _, _| n += 1);
            if n == 0 {
                continue;
            }
            // Bindings confirmed between the count and the copy are left
            // out; none are, as nothing opens flows during a role change
            // or an unload.
            let Ok(mut conns) = KVec::with_capacity(n, GFP_KERNEL) else {
                continue;
            };
            shard
                .lock()
                .for_each_confirmed_tcp(|local, cport, redirector, sport| {
                    let _ = conns.push_within_capacity((local, cport, redirector, sport));
                });
            for (local, cport, redirector, sport) in conns {
                // SAFETY: `self.net` is this state's live namespace.
                if unsafe { shim::abort_tcp(self.net, (local, cport), (redirector, sport)) } {
                    self.counters.inc(ctr::IPRP_CTR_CLIENT_STOP_RESET);
                }
            }
        }
    }

    fn client_params(&self) -> (u32, u32) {
        (
            self.checking_timeout_ms.load(Ordering::Relaxed),
            self.max_held_per_shard.load(Ordering::Relaxed),
        )
    }

    /// SET_PARAMS: slow timer period and client limits (validated by the
    /// netlink policy), applied to existing shards and future ones.
    pub(crate) fn set_params(&self, p: &ParamsUpdate) {
        if let Some(tick_ms) = p.tick_ms {
            self.tick_ms.store(tick_ms, Ordering::Relaxed);
        }
        if let Some(checking_ms) = p.checking_timeout_ms {
            self.checking_timeout_ms
                .store(checking_ms, Ordering::Relaxed);
        }
        if let Some(max_held) = p.max_held {
            self.max_held_per_shard.store(max_held, Ordering::Relaxed);
        }
        if let Some(mark) = p.mark_syns {
            self.mark_syns.store(mark, Ordering::Relaxed);
        }
        if let Some(rate) = p.event_rate {
            self.event_budget.set_rate(rate);
        }
        if let Some(ttl) = p.legacy_ttl_ms {
            self.legacy_ttl_ms.store(ttl, Ordering::Relaxed);
            if let Some(r) = self.redirector_tables() {
                r.legacy.lock().set_ttl_ms(u64::from(ttl));
            }
        }
        if let Some(c) = self.client_tables() {
            let params = self.client_params();
            for shard in c.shards.iter() {
                let mut s = shard.lock();
                let cfg = with_params(*s.config(), params);
                s.set_config(cfg);
            }
        }
    }

    /// The parameters in force (GET_STATUS).
    pub(crate) fn params(&self) -> Params {
        let defaults = ClientConfig::for_capacity(per_shard(DEFAULT_CAPACITY));
        let (checking, held, idle) = match self.client_tables().and_then(|c| c.shards.first()) {
            Some(shard) => {
                let c = *shard.lock().config();
                // One idle timeout for both protocols only once SET_ROLE
                // set it; the defaults differ (TCP 900 s, UDP 120 s).
                let idle = (c.idle_tcp_ms == c.idle_udp_ms).then_some(c.idle_tcp_ms);
                (c.checking_timeout_ms, c.max_held, idle)
            }
            None => {
                let c = with_params(defaults, self.client_params());
                (c.checking_timeout_ms, c.max_held, None)
            }
        };
        Params {
            tick_ms: self.tick_ms.load(Ordering::Relaxed),
            checking_timeout_ms: checking,
            max_held: held,
            client_capacity: self.client_tables().map(|c| c.capacity),
            redir_capacity: self.redirector_tables().map(|r| r.capacity),
            legacy_capacity: self.redirector_tables().map(|r| r.legacy_capacity),
            legacy_ttl_ms: self.legacy_ttl_ms.load(Ordering::Relaxed),
            mark_syns: self.mark_syns(),
            event_rate: self.event_budget.rate(),
            client_idle_ms: idle,
        }
    }

    /// ZERO_COUNTERS: every counter of this namespace back to 0.
    pub(crate) fn zero_counters(&self) {
        for c in self.counters.0.iter() {
            c.store(0, Ordering::Relaxed);
        }
        if let Some(c) = self.client_tables() {
            for shard in c.shards.iter() {
                shard.lock().counters = ClientCounters::ZERO;
            }
        }
        if let Some(r) = self.redirector_tables() {
            let mut g = r.tables.lock_all();
            for shard in g.shards.iter_mut() {
                shard.counters = RedirCounters::ZERO;
            }
            r.legacy.lock().counters = LegacyCounters::ZERO;
            r.grants.lock().counters = GrantCounters::ZERO;
            for svc in g.shared.iter() {
                svc.zero_counters();
            }
        }
    }

    /// Removes every client binding; held packets are freed.
    pub(crate) fn flush_client(&self) {
        let Some(c) = self.client_tables() else {
            return;
        };
        for shard in c.shards.iter() {
            let mut freed = 0u64;
            c.update(self, shard, |s| {
                s.clear(|skb| {
                    drop(skb);
                    freed += 1;
                })
            });
            for _ in 0..freed {
                self.counters.inc(ctr::IPRP_CTR_HELD_FREED);
            }
        }
        c.wildcards.lock().clear(|a| c.granted.remove(a));
    }

    /// Removes every redirector entry; with `services`, every service, the
    /// client cache and the grants too.
    pub(crate) fn flush_redirector(&self, services: bool) {
        let Some(r) = self.redirector_tables() else {
            return;
        };
        let mut guard = r.tables.lock_all();
        let g = &mut guard;
        for shard in g.shards.iter_mut() {
            shard.clear(g.shared);
            notify::flush(self, &mut shard.events);
        }
        if services {
            // Everything: the client cache and the grants too. A flush of
            // the redirector's flows keeps what R knows of its clients
            // (`iprpctl legacy flush` empties that) and the grants it can
            // still revoke.
            r.legacy.lock().clear(shim::now_ms());
            r.grants.lock().clear();
            for s in g.shared.iter() {
                r.vips.remove(s.vip());
            }
            g.shared.flush();
        }
    }

    /// Makes sure the slow timer runs (called when state was created).
    pub(crate) fn kick_timer(&self) {
        // SAFETY: `self.net` is our live namespace.
        unsafe { shim::timer_start(self.net, self.tick_ms.load(Ordering::Relaxed)) };
    }

    /// Slow timer: expires entries and re-sends unanswered REQs and CHKs;
    /// returns the next delay, 0 when idle.
    pub(crate) fn tick(&self) -> u32 {
        let now = shim::now_ms();
        let mut busy = false;
        if let Some(c) = self.client_tables() {
            for shard in c.shards.iter() {
                let mut freed = 0u64;
                let (resend, more) = c.update(self, shard, |s| {
                    let resend = s.on_tick(now, |skb| {
                        drop(skb);
                        freed += 1;
                    });
                    (resend, !s.is_empty() || s.orphans() > 0)
                });
                busy |= more;
                for _ in 0..freed {
                    self.counters.inc(ctr::IPRP_CTR_HELD_FREED);
                }
                // Sent after the shard's lock is released.
                for out in &resend {
                    crate::proto::send(self, out);
                }
            }
        }
        if let Some(r) = self.redirector_tables() {
            // The lock is taken per shard, so the REQs go out between them.
            for i in 0..NSHARDS {
                let (resend, more) = {
                    let mut guard = r.tables.shard(i);
                    let g = &mut guard;
                    // A client silent for a response timeout is legacy,
                    // unless it confirmed a flow lately (the legacy lock is
                    // taken inside a shard's, as on the packet path).
                    let resend = g.shard.on_tick_with(g.shared, now, |client| {
                        r.legacy.lock().remember_silent(client, now);
                    });
                    notify::flush(self, &mut g.shard.events);
                    (resend, !g.shard.is_empty())
                };
                busy |= more;
                for out in &resend {
                    crate::proto::send(self, out);
                }
            }
            let (revocations, more) = {
                let mut g = r.grants.lock();
                (g.on_tick(now), !g.is_empty())
            };
            busy |= more;
            for out in &revocations {
                crate::proto::send(self, out);
            }
        }
        if busy {
            self.tick_ms.load(Ordering::Relaxed)
        } else {
            0
        }
    }
}

impl Drop for NetState {
    fn drop(&mut self) {
        let c = self.client.swap(core::ptr::null_mut(), Ordering::Acquire);
        if !c.is_null() {
            // SAFETY: published from `KBox::into_raw` in `set_roles`; no
            // hook, handler or timer of this namespace runs any more.
            let c = unsafe { KBox::from_raw(c) };
            // Free every held packet. The lock disables bottom halves, as
            // for every taker in process context: lockdep checks the lock
            // class, which softirqs take (it reported this path once).
            for shard in c.shards.iter() {
                shard.lock().clear(drop);
            }
        }
        let r = self.redir.swap(core::ptr::null_mut(), Ordering::Acquire);
        if !r.is_null() {
            // SAFETY: as above.
            drop(unsafe { KBox::from_raw(r) });
        }
    }
}

/// Allocates the state of a new namespace; NULL on allocation failure.
#[no_mangle]
pub(crate) extern "C" fn iprp_rs_net_init(net: *mut bindings::net) -> *mut c_void {
    let state = NetState {
        counters: Counters::new(),
        net,
        key: random_key(),
        roles: AtomicU32::new(0),
        client: AtomicPtr::new(core::ptr::null_mut()),
        redir: AtomicPtr::new(core::ptr::null_mut()),
        tick_ms: AtomicU32::new(TICK_MS),
        checking_timeout_ms: AtomicU32::new(UNSET),
        max_held_per_shard: AtomicU32::new(UNSET),
        legacy_ttl_ms: AtomicU32::new(LEGACY_TTL_MS as u32),
        mark_syns: AtomicBool::new(false),
        event_budget: EventBudget::new(EventBudget::DEFAULT_RATE),
        events_lost: AtomicU32::new(0),
    };
    match KBox::new(state, GFP_KERNEL) {
        Ok(state) => {
            LIVE_STATES.fetch_add(1, Ordering::Relaxed);
            KBox::into_raw(state).cast()
        }
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees the state of a namespace that is going away.
///
/// # Safety
///
/// `state` came from [`iprp_rs_net_init`], the namespace's hooks are
/// unregistered, its timer is shut down and no packet can still reach us.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_net_exit(state: *mut c_void) {
    if !state.is_null() {
        // SAFETY: by the function's contract `state` is a `KBox<NetState>`
        // from `iprp_rs_net_init` that nobody else references any more.
        drop(unsafe { KBox::from_raw(state.cast::<NetState>()) });
        LIVE_STATES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Before a namespace's hooks go (the module unloads, or the namespace is
/// deleted): ends the client role's TCP connections (C30).
///
/// # Safety
///
/// `state` is a live state from [`iprp_rs_net_init`]; process context.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_net_pre_exit(state: *mut c_void) {
    if !state.is_null() {
        // SAFETY: by the function's contract.
        unsafe { self::state(state) }.reset_client_tcp();
    }
}

/// Slow timer callback; returns the delay to the next tick, 0 to stop.
///
/// # Safety
///
/// `state` is a live state from [`iprp_rs_net_init`].
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_tick(state: *mut c_void) -> u32 {
    // SAFETY: by the function's contract.
    unsafe { self::state(state) }.tick()
}

/// Borrows the state behind the shim's pointer.
///
/// # Safety
///
/// `state` is a live state from [`iprp_rs_net_init`]; the namespace (and so
/// the state) outlives the returned reference, which holds for the duration
/// of a hook, handler, timer or netlink call.
pub(crate) unsafe fn state<'a>(state: *mut c_void) -> &'a NetState {
    // SAFETY: by the function's contract.
    unsafe { &*state.cast::<NetState>() }
}
