// SPDX-License-Identifier: GPL-2.0
//! Helpers shared by the integration tests.
#![allow(dead_code)]

use iprp_core::filter::OwnedFilter;
use iprp_core::wire::ipv4;
use iprp_core::*;

/// SplitMix64: small, seeded, deterministic.
#[derive(Clone)]
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    pub fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
}

impl Rng for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
}

/// An Rng that returns a fixed sequence, then repeats the last value.
pub struct SeqRng(pub Vec<u32>, pub usize);

impl Rng for SeqRng {
    fn next_u32(&mut self) -> u32 {
        let v = self.0.get(self.1).or(self.0.last()).copied().unwrap_or(0);
        self.1 += 1;
        v
    }
}

pub const VIP: Ipv4 = ipv4(192, 0, 2, 1);
pub const VIP2: Ipv4 = ipv4(192, 0, 2, 2);
pub const CLIENT: Ipv4 = ipv4(198, 51, 100, 7);
pub const S1: Ipv4 = ipv4(203, 0, 113, 1);
pub const S2: Ipv4 = ipv4(203, 0, 113, 2);
pub const S3: Ipv4 = ipv4(203, 0, 113, 3);
pub const PORT: u16 = 80;

pub type Svcs = ServiceTable<Vec<Service>>;
pub type Redir = RedirShard<Vec<RedirSlot>>;
/// A client shard with its lock-free read index, as the kernel builds it:
/// every test, the simulator and the fuzz harness also check that the
/// index agrees with the table (`check_invariants`).
pub type Client = ClientShard<Vec<ClientSlot>, OwnedFilter, Box<ReadIndex<Vec<ReadSlot>>>>;

pub fn svc_storage(n: usize) -> Vec<Service> {
    (0..n).map(|_| Service::empty()).collect()
}

pub fn rep(addr: Ipv4, weight: u16) -> ReplicaSpec {
    ReplicaSpec {
        addr,
        weight,
        up: true,
    }
}

pub fn spec<'a>(sched: SchedKind, replicas: &'a [ReplicaSpec]) -> ServiceSpec<'a> {
    ServiceSpec {
        proto: Proto::Tcp,
        vip: VIP,
        port: PORT,
        sched,
        response_timeout_ms: 1000,
        idle_timeout_ms: 60_000,
        grant_s: 0,
        unmarked_local: false,
        fleet_seed: 0,
        replicas,
    }
}

/// One TCP service on VIP:80 with the given replicas.
pub fn services(sched: SchedKind, replicas: &[ReplicaSpec]) -> Svcs {
    let mut t = ServiceTable::new_in(svc_storage(8), HashKey::new(11, 12));
    t.add(&spec(sched, replicas)).unwrap();
    t
}

pub fn redir(cap: usize) -> Redir {
    RedirShard::new_in(vec![RedirSlot::EMPTY; cap], HashKey::new(1, 2))
}

/// A client cache of the default size.
pub fn legacy_cache(key: HashKey) -> LegacyClients<Vec<LegacySlot>> {
    LegacyClients::new_in(vec![LegacySlot::EMPTY; LEGACY_SLOTS], key)
}

pub fn client(cap: usize) -> Client {
    client_keyed(cap, HashKey::new(5, 6))
}

pub fn client_keyed(cap: usize, key: HashKey) -> Client {
    let mut slots = Vec::new();
    slots.resize_with(cap * SLOTS_PER_BINDING, ReadSlot::default);
    ClientShard::with_index(
        vec![ClientSlot::EMPTY; cap],
        key,
        ClientConfig::for_capacity(cap),
        OwnedFilter::default(),
        Box::new(ReadIndex::new_in(slots, key)),
    )
}

pub fn syn(client: Ipv4, cport: u16) -> PacketInfo {
    PacketInfo {
        src: client,
        dst: VIP,
        proto: Proto::Tcp,
        sport: cport,
        dport: PORT,
        initial: true,
        mark: Mark::Unknown,
    }
}

pub fn fkey(client: Ipv4, cport: u16) -> FlowKey {
    FlowKey {
        client,
        vip: VIP,
        proto: Proto::Tcp,
        cport,
        sport: PORT,
    }
}

pub fn msg(ty: MsgType, cport: u16, replica: Ipv4, key: u32) -> Repr {
    Repr {
        ty,
        proto: Proto::Tcp,
        cport,
        sport: PORT,
        replica,
        key,
    }
}
