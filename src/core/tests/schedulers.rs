// SPDX-License-Identifier: GPL-2.0
//! Schedulers and service configuration.
mod common;
use common::*;
use iprp_core::wire::ipv4;
use iprp_core::*;
use std::collections::HashMap;

fn svc(s: &Svcs) -> &Service {
    s.lookup(Proto::Tcp, VIP, PORT).unwrap()
}

fn counts(s: &Svcs, clients: u32) -> HashMap<Ipv4, u32> {
    let mut m = HashMap::new();
    for c in 0..clients {
        if let Some((_, a)) = svc(s).pick(Ipv4::from_bits(0x0a00_0000 + c * 7919)) {
            *m.entry(a).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn rr_cycles_over_eligible_replicas() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 0), rep(S3, 5)]);
    let picks: Vec<_> = (0..6)
        .map(|_| svc(&s).pick(Ipv4::from_bits(1)).unwrap().1)
        .collect();
    assert_eq!(picks, vec![S1, S3, S1, S3, S1, S3]);
    assert!(!picks.contains(&S2), "weight 0 drains");
    let n1 = picks.iter().filter(|&&a| a == S1).count();
    assert_eq!(n1, 3, "rr ignores weights: S1 and S3 alternate");
}

#[test]
fn rr_skips_down_replicas() {
    let mut s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 1)]);
    s.set_replica(Proto::Tcp, VIP, PORT, S1, 1, false).unwrap();
    for _ in 0..10 {
        assert_eq!(svc(&s).pick(Ipv4::from_bits(1)).unwrap().1, S2);
    }
}

#[test]
fn wrr_is_proportional_and_smooth() {
    let s = services(
        SchedKind::WeightedRoundRobin,
        &[rep(S1, 5), rep(S2, 1), rep(S3, 1)],
    );
    let seq: Vec<_> = (0..7)
        .map(|_| svc(&s).pick(Ipv4::from_bits(1)).unwrap().1)
        .collect();
    // nginx's smooth WRR for 5,1,1: a a b a c a a
    assert_eq!(seq, vec![S1, S1, S2, S1, S3, S1, S1]);
    let m: HashMap<Ipv4, usize> = (0..700).fold(HashMap::new(), |mut m, _| {
        *m.entry(svc(&s).pick(Ipv4::from_bits(1)).unwrap().1)
            .or_default() += 1;
        m
    });
    assert_eq!((m[&S1], m[&S2], m[&S3]), (500, 100, 100));
}

#[test]
fn wrr_scales_huge_weights_into_the_table() {
    let s = services(
        SchedKind::WeightedRoundRobin,
        &[rep(S1, 60000), rep(S2, 30000), rep(S3, 1)],
    );
    assert!(svc(&s).lut().len() <= LUT_SIZE);
    let m: HashMap<Ipv4, usize> = (0..LUT_SIZE).fold(HashMap::new(), |mut m, _| {
        *m.entry(svc(&s).pick(Ipv4::from_bits(1)).unwrap().1)
            .or_default() += 1;
        m
    });
    assert!(m[&S3] >= 1, "a tiny weight keeps a turn");
    let ratio = m[&S1] as f64 / m[&S2] as f64;
    assert!((1.9..2.1).contains(&ratio), "ratio {ratio}");
}

#[test]
fn least_conn_prefers_fewest_per_weight() {
    let s = services(SchedKind::LeastConn, &[rep(S1, 1), rep(S2, 2)]);
    let v = svc(&s);
    // 0/1 vs 0/2: tie -> first.
    assert_eq!(v.pick(Ipv4::from_bits(1)).unwrap().1, S1);
    v.conn_inc(S1);
    assert_eq!(v.pick(Ipv4::from_bits(1)).unwrap().1, S2);
    v.conn_inc(S2);
    // 1/1 vs 1/2
    assert_eq!(v.pick(Ipv4::from_bits(1)).unwrap().1, S2);
    let g2 = v.conn_inc(S2);
    // 1/1 vs 2/2: tie -> first
    assert_eq!(v.pick(Ipv4::from_bits(1)).unwrap().1, S1);
    v.conn_dec(S2, g2.wrapping_add(1)); // another generation of S2: no-op
    assert_eq!(v.replicas()[1].conns(), 2);
    v.conn_dec(S2, g2);
    v.conn_dec(S2, g2);
    v.conn_dec(S2, g2); // saturates at 0
    assert_eq!(v.replicas()[1].conns(), 0);
}

#[test]
fn source_hash_is_sticky_and_spread() {
    let s = services(SchedKind::SourceHash, &[rep(S1, 1), rep(S2, 1), rep(S3, 2)]);
    for c in 0..100u32 {
        let a = svc(&s).pick(Ipv4::from_bits(c)).unwrap();
        for _ in 0..3 {
            assert_eq!(svc(&s).pick(Ipv4::from_bits(c)).unwrap(), a);
        }
    }
    let m = counts(&s, 40_000);
    let (a, b, c) = (m[&S1] as f64, m[&S2] as f64, m[&S3] as f64);
    assert!((a / 10_000.0 - 1.0).abs() < 0.1, "{a}");
    assert!((b / 10_000.0 - 1.0).abs() < 0.1, "{b}");
    assert!((c / 20_000.0 - 1.0).abs() < 0.1, "{c}");
}

fn maglev_with(n: u8) -> (Svcs, Vec<ReplicaSpec>) {
    let reps: Vec<_> = (1..=n).map(|i| rep(ipv4(10, 9, 0, i), 1)).collect();
    (services(SchedKind::Maglev, &reps), reps)
}

#[test]
fn maglev_table_full_and_balanced() {
    let (s, reps) = maglev_with(10);
    let lut = svc(&s).lut();
    assert_eq!(lut.len(), LUT_SIZE);
    let mut per = [0usize; 10];
    for &i in lut {
        per[i as usize] += 1;
    }
    for (i, &n) in per.iter().enumerate() {
        assert!((95..=110).contains(&n), "replica {i}: {n} of {LUT_SIZE}");
    }
    assert_eq!(reps.len(), 10);
}

#[test]
fn maglev_removing_one_replica_moves_few_clients() {
    let (mut s, mut reps) = maglev_with(10);
    let before: Vec<_> = (0..20_000u32)
        .map(|c| svc(&s).pick(Ipv4::from_bits(c)).unwrap().1)
        .collect();
    let gone = reps.remove(3).addr;
    s.update(&spec(SchedKind::Maglev, &reps)).unwrap();
    let mut moved = 0;
    for (c, &b) in before.iter().enumerate() {
        let a = svc(&s).pick(Ipv4::from_bits(c as u32)).unwrap().1;
        assert_ne!(a, gone);
        if b != gone && a != b {
            moved += 1;
        }
    }
    // Only clients of the removed replica must move; Maglev moves a few more.
    assert!(
        moved < 20_000 / 10 / 2,
        "moved {moved} clients of surviving replicas"
    );
}

#[test]
fn maglev_draining_moves_only_that_replicas_clients_mostly() {
    let (mut s, reps) = maglev_with(5);
    let before: Vec<_> = (0..10_000u32)
        .map(|c| svc(&s).pick(Ipv4::from_bits(c)).unwrap().1)
        .collect();
    s.set_replica(Proto::Tcp, VIP, PORT, reps[0].addr, 0, true)
        .unwrap();
    let stay = before
        .iter()
        .enumerate()
        .filter(|(c, &b)| {
            b != reps[0].addr && svc(&s).pick(Ipv4::from_bits(*c as u32)).unwrap().1 == b
        })
        .count();
    let others = before.iter().filter(|&&b| b != reps[0].addr).count();
    assert!(stay as f64 > others as f64 * 0.9, "{stay} of {others}");
}

#[test]
fn maglev_respects_weights() {
    let s = services(SchedKind::Maglev, &[rep(S1, 3), rep(S2, 1)]);
    let lut = svc(&s).lut();
    let n0 = lut.iter().filter(|&&i| i == 0).count() as f64;
    let n1 = lut.iter().filter(|&&i| i == 1).count() as f64;
    assert!((n0 / n1 - 3.0).abs() < 0.3, "{n0} / {n1}");
}

#[test]
fn every_scheduler_returns_none_when_all_drained_or_down() {
    for k in [
        SchedKind::RoundRobin,
        SchedKind::WeightedRoundRobin,
        SchedKind::LeastConn,
        SchedKind::SourceHash,
        SchedKind::Maglev,
    ] {
        let s = services(
            k,
            &[
                rep(S1, 0),
                ReplicaSpec {
                    addr: S2,
                    weight: 3,
                    up: false,
                },
            ],
        );
        assert_eq!(svc(&s).pick(Ipv4::from_bits(5)), None, "{k:?}");
        let s = services(k, &[]);
        assert_eq!(svc(&s).pick(Ipv4::from_bits(5)), None, "{k:?}");
    }
}

#[test]
fn every_scheduler_only_picks_eligible() {
    for k in [
        SchedKind::RoundRobin,
        SchedKind::WeightedRoundRobin,
        SchedKind::LeastConn,
        SchedKind::SourceHash,
        SchedKind::Maglev,
    ] {
        let s = services(
            k,
            &[
                rep(S1, 0),
                rep(S2, 2),
                ReplicaSpec {
                    addr: S3,
                    weight: 1,
                    up: false,
                },
            ],
        );
        for c in 0..200 {
            assert_eq!(svc(&s).pick(Ipv4::from_bits(c)).unwrap().1, S2, "{k:?}");
        }
    }
}

#[test]
fn sched_kind_numbers() {
    for n in 0..5 {
        assert_eq!(SchedKind::from_u8(n).unwrap() as u8, n);
    }
    assert_eq!(SchedKind::from_u8(5), None);
}

fn table() -> Svcs {
    ServiceTable::new_in(svc_storage(2), HashKey::new(1, 1))
}

#[test]
fn config_errors_leave_nothing_behind() {
    let mut t = table();
    let many: Vec<_> = (0..17u8).map(|i| rep(ipv4(10, 0, 0, i + 1), 1)).collect();
    assert_eq!(
        t.add(&spec(SchedKind::RoundRobin, &many)),
        Err(ConfigError::TooManyReplicas)
    );
    assert_eq!(
        t.add(&spec(SchedKind::RoundRobin, &[rep(S1, 1), rep(S1, 2)])),
        Err(ConfigError::DuplicateReplica)
    );
    assert_eq!(
        t.add(&spec(SchedKind::RoundRobin, &[rep(Ipv4::UNSPECIFIED, 1)])),
        Err(ConfigError::BadReplica)
    );
    assert_eq!(
        t.add(&spec(SchedKind::RoundRobin, &[rep(VIP, 1)])),
        Err(ConfigError::BadReplica)
    );
    let mut sp = spec(SchedKind::RoundRobin, &[]);
    sp.port = 0;
    assert_eq!(t.add(&sp), Err(ConfigError::BadService));
    let mut sp = spec(SchedKind::RoundRobin, &[]);
    sp.vip = Ipv4::UNSPECIFIED;
    assert_eq!(t.add(&sp), Err(ConfigError::BadService));
    let mut sp = spec(SchedKind::RoundRobin, &[]);
    sp.response_timeout_ms = 0;
    assert_eq!(t.add(&sp), Err(ConfigError::BadTimeout));
    let mut sp = spec(SchedKind::RoundRobin, &[]);
    sp.response_timeout_ms = sp.idle_timeout_ms + 1;
    assert_eq!(t.add(&sp), Err(ConfigError::BadTimeout));
    assert!(t.is_empty());
}

#[test]
fn config_add_exists_full_del_update() {
    let mut t = table();
    let r = [rep(S1, 1)];
    t.add(&spec(SchedKind::RoundRobin, &r)).unwrap();
    assert_eq!(
        t.add(&spec(SchedKind::Maglev, &r)),
        Err(ConfigError::Exists)
    );
    let mut sp = spec(SchedKind::RoundRobin, &r);
    sp.port = 81;
    t.add(&sp).unwrap();
    sp.port = 82;
    assert_eq!(t.add(&sp), Err(ConfigError::Full));
    assert_eq!(t.update(&sp), Err(ConfigError::NoService));
    assert_eq!(t.del(Proto::Tcp, VIP, 82), Err(ConfigError::NoService));
    assert_eq!(
        t.set_replica(Proto::Tcp, VIP, 81, S2, 1, true),
        Err(ConfigError::NoReplica)
    );
    t.del(Proto::Tcp, VIP, 81).unwrap();
    t.add(&sp).unwrap();
    assert_eq!(t.len(), 2);
    t.flush();
    assert!(t.is_empty());
    assert_eq!(t.capacity(), 2);
}

#[test]
fn update_keeps_connection_counts_of_staying_replicas() {
    let mut t = table();
    t.add(&spec(SchedKind::LeastConn, &[rep(S1, 1), rep(S2, 1)]))
        .unwrap();
    let g = t.lookup(Proto::Tcp, VIP, PORT).unwrap().generation();
    let _ = t.lookup(Proto::Tcp, VIP, PORT).unwrap().conn_inc(S2);
    t.update(&spec(SchedKind::LeastConn, &[rep(S2, 1), rep(S3, 1)]))
        .unwrap();
    let v = t.lookup(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(v.replicas()[0].addr(), S2);
    assert_eq!(v.replicas()[0].conns(), 1);
    assert_eq!(v.replicas()[1].conns(), 0);
    // An edit keeps the service's identity, so entries made before it
    // are still uncounted from it; deleting and adding makes a new one.
    assert_eq!(v.generation(), g);
    assert_eq!(v.pick(Ipv4::from_bits(0)).unwrap().1, S3);
    t.del(Proto::Tcp, VIP, PORT).unwrap();
    t.add(&spec(SchedKind::LeastConn, &[rep(S2, 1)])).unwrap();
    assert_ne!(t.lookup(Proto::Tcp, VIP, PORT).unwrap().generation(), g);
}

#[test]
fn service_accessors() {
    let t = services(SchedKind::SourceHash, &[rep(S1, 4)]);
    let v = svc(&t);
    assert_eq!(
        (v.proto(), v.vip(), v.port(), v.sched()),
        (Proto::Tcp, VIP, PORT, SchedKind::SourceHash)
    );
    assert_eq!(
        (v.response_timeout_ms(), v.idle_timeout_ms()),
        (1000, 60_000)
    );
    assert_eq!((v.replicas()[0].weight(), v.replicas()[0].up()), (4, true));
    assert_eq!(t.iter().count(), 1);
}

#[test]
fn slot_sizes_stay_small() {
    // Documented in docs/core.md; guards against accidental growth.
    assert!(
        std::mem::size_of::<RedirSlot>() <= 112,
        "{}",
        std::mem::size_of::<RedirSlot>()
    );
    assert!(
        std::mem::size_of::<ClientSlot>() <= 176,
        "{}",
        std::mem::size_of::<ClientSlot>()
    );
    assert!(
        std::mem::size_of::<Service>() <= 2752,
        "{}",
        std::mem::size_of::<Service>()
    );
    // The lookup fields (keys, state, replica/redirector, last activity)
    // are in the first 48 bytes of the slot (16 bytes of links and tags
    // precede the entry), i.e. in one or two cache lines.
    assert!(std::mem::offset_of!(Binding, last_activity) + 8 <= 32);
    assert!(std::mem::offset_of!(Binding, replica) + 4 <= 32);
    assert!(std::mem::offset_of!(REntry, last_activity) + 8 <= 32);
    assert!(std::mem::offset_of!(REntry, replica) + 4 <= 32);
    eprintln!(
        "RedirSlot {} ClientSlot {} Service {}",
        std::mem::size_of::<RedirSlot>(),
        std::mem::size_of::<ClientSlot>(),
        std::mem::size_of::<Service>()
    );
}

#[test]
fn services_and_replicas_must_be_unicast() {
    use iprp_core::sched::is_unicast;
    for bad in [
        ipv4(0, 0, 0, 0),
        ipv4(0, 1, 2, 3),
        ipv4(127, 0, 0, 1),
        ipv4(224, 0, 0, 1),
        ipv4(239, 255, 255, 255),
        ipv4(240, 0, 0, 1),
        ipv4(255, 255, 255, 255),
    ] {
        assert!(!is_unicast(bad), "{bad}");
    }
    for good in [
        ipv4(10, 0, 0, 1),
        ipv4(192, 0, 2, 1),
        ipv4(223, 255, 255, 254),
    ] {
        assert!(is_unicast(good), "{good}");
    }
}
