// SPDX-License-Identifier: GPL-2.0
//! Property tests: reference model of the table, key safety of the client,
//! capacity bounds of both machines, wire round trip.
mod common;
use common::*;
use iprp_core::hash::HashKey;
use iprp_core::table::{Entry, Slot, Table};
use iprp_core::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Debug)]
struct E {
    a: u32,
    b: u32,
    v: u32,
}
impl Entry for E {
    const EMPTY: Self = E { a: 0, b: 0, v: 0 };
    const INDEXES: usize = 2;
    fn hash(&self, which: usize, key: &HashKey) -> u64 {
        key.hash2(
            which as u64,
            if which == 0 { self.a } else { self.b } as u64,
        )
    }
}

#[derive(Clone, Debug)]
enum TOp {
    Insert(u32, u32),
    Remove(u32),
    Find(u32),
}

fn top() -> impl Strategy<Value = TOp> {
    prop_oneof![
        (0u32..64, any::<u32>()).prop_map(|(a, v)| TOp::Insert(a, v)),
        (0u32..64).prop_map(TOp::Remove),
        (0u32..64).prop_map(TOp::Find),
    ]
}

fn rmsg() -> impl Strategy<Value = Repr> {
    (1u16..=4, prop::bool::ANY, 0u16..4, 0u8..3, 0u32..4).prop_map(|(t, udp, cport, rep, key)| {
        Repr {
            ty: MsgType::from_u16(t).unwrap(),
            proto: if udp { Proto::Udp } else { Proto::Tcp },
            cport: 1000 + cport,
            sport: PORT,
            replica: [S1, S2, S3][rep as usize],
            key,
        }
    })
}

#[derive(Clone, Debug)]
enum COp {
    Msg(Repr, bool),
    In(u16, u8),
    Out(u16),
    Tick(u64),
}

fn cop() -> impl Strategy<Value = COp> {
    prop_oneof![
        4 => (rmsg(), prop::bool::ANY).prop_map(|(m, other)| COp::Msg(m, other)),
        2 => (0u16..4, 0u8..3).prop_map(|(c, r)| COp::In(c, r)),
        1 => (0u16..4).prop_map(COp::Out),
        1 => (0u64..4000).prop_map(COp::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The table agrees with a HashMap on every lookup from both sides and
    /// never holds more than its capacity.
    #[test]
    fn table_matches_hashmap(cap in 0usize..40, ops in prop::collection::vec(top(), 1..300)) {
        let mut t: Table<E, Vec<Slot<E>>> = Table::new_in(vec![Slot::EMPTY; cap], HashKey::new(7, 8));
        let mut model: HashMap<u32, (u32, u32)> = HashMap::new();
        let k = *t.hash_key();
        for op in ops {
            match op {
                TOp::Insert(a, v) => {
                    if model.contains_key(&a) { continue; }
                    let r = t.insert(E { a, b: a ^ 0xffff, v });
                    if model.len() < cap {
                        let i = r.expect("room left");
                        model.insert(a, (i, v));
                    } else {
                        prop_assert!(r.is_none());
                    }
                }
                TOp::Remove(a) => {
                    let found = t.find(0, E { a, b: 0, v: 0 }.hash(0, &k), |e| e.a == a);
                    prop_assert_eq!(found, model.get(&a).map(|x| x.0));
                    if let Some(i) = found {
                        prop_assert_eq!(t.remove(i).unwrap().v, model.remove(&a).unwrap().1);
                    }
                }
                TOp::Find(a) => {
                    let b = a ^ 0xffff;
                    // The packet path's move-to-front variant must agree with
                    // the plain walk and keep every chain intact.
                    let fa = if a % 2 == 0 {
                        t.find_front(0, E { a, b: 0, v: 0 }.hash(0, &k), |e| e.a == a)
                    } else {
                        t.find(0, E { a, b: 0, v: 0 }.hash(0, &k), |e| e.a == a)
                    };
                    let fb = t.find(1, E { a: 0, b, v: 0 }.hash(1, &k), |e| e.b == b);
                    prop_assert_eq!(fa, fb);
                    prop_assert_eq!(fa.and_then(|i| t.get(i)).map(|e| e.v), model.get(&a).map(|x| x.1));
                }
            }
            prop_assert!(t.len() <= cap);
            prop_assert_eq!(t.len(), model.len());
        }
        prop_assert!(t.check_invariants());
    }

    /// Client safety: a binding is CONFIRMED only by a CFM carrying the key
    /// the client itself chose; CFM/ALM with a wrong key change nothing;
    /// bounds hold after every step.
    #[test]
    fn client_key_safety_and_bounds(seed in any::<u64>(), cap in 1usize..12, ops in prop::collection::vec(cop(), 1..200)) {
        let mut c = client(cap);
        let mut rng = TestRng(seed);
        let mut chosen: HashMap<(Ipv4, Proto, u16), u32> = HashMap::new();
        let mut now = 0u64;
        let mut handle = 0u64;
        for op in ops {
            match op {
                COp::Msg(m, other) => {
                    let src = if other { VIP2 } else { VIP };
                    let before = c.get(src, m.proto, m.cport, m.sport).cloned();
                    let o = c.on_msg(&m, src, CLIENT, now, &mut rng);
                    let after = c.get(src, m.proto, m.cport, m.sport).cloned();
                    if let ClientOutcome::Send(out) = &o {
                        prop_assert_eq!(out.msg.ty, MsgType::Chk);
                        prop_assert_ne!(out.msg.key, 0);
                        chosen.insert((src, m.proto, m.cport), out.msg.key);
                    }
                    if let ClientOutcome::Confirmed { .. } = o {
                        prop_assert_eq!(m.ty, MsgType::Cfm);
                        prop_assert_eq!(Some(&m.key), chosen.get(&(src, m.proto, m.cport)));
                    }
                    if matches!(m.ty, MsgType::Cfm | MsgType::Alm) {
                        if let Some(b) = &before {
                            if b.key != m.key || b.replica != m.replica {
                                prop_assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
                                let a = after.as_ref().unwrap();
                                prop_assert_eq!((a.state, a.key, a.replica, a.held_len()), (b.state, b.key, b.replica, b.held_len()));
                            }
                        }
                    }
                    if let Some(a) = &after {
                        if a.state == CState::Confirmed {
                            prop_assert_eq!(Some(&a.key), chosen.get(&(src, m.proto, m.cport)));
                        }
                    }
                }
                COp::In(cp, r) => {
                    handle += 1;
                    let _ = c.lookup_in([S1, S2, S3][r as usize], Proto::Tcp, PORT, 1000 + cp, now, || handle);
                }
                COp::Out(cp) => {
                    if let Some(s) = c.lookup_out(VIP, Proto::Tcp, 1000 + cp, PORT, now) {
                        let b = c.get(VIP, Proto::Tcp, 1000 + cp, PORT).unwrap();
                        prop_assert_eq!(b.state, CState::Confirmed);
                        prop_assert_eq!(b.replica, s);
                    }
                }
                COp::Tick(dt) => {
                    now += dt;
                    c.on_tick(now, |_| {});
                }
            }
            prop_assert!(c.len() <= cap);
            prop_assert!(c.checking() <= c.config().max_checking);
            prop_assert!(c.held_total() <= c.config().max_held);
            prop_assert!(c.check_invariants());
        }
    }

    /// Redirector: capacity never exceeded; a CONFIRMED entry holds the key
    /// of a CHK from its client naming its replica; bounds after every step.
    #[test]
    fn redirector_bounds_and_confirmation(cap in 0usize..10, ops in prop::collection::vec((0u8..4, 0u16..6, 0u8..3, 0u32..3, 0u64..1500, prop::bool::ANY), 1..200)) {
        let s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 1)]);
        let mut r = redir(cap);
        let mut now = 0;
        let mut chks: Vec<(u16, Ipv4, u32)> = Vec::new();
        for (kind, cp, rp, key, dt, initial) in ops {
            let cport = 1000 + cp;
            match kind {
                0 | 1 => {
                    let mut p = syn(CLIENT, cport);
                    p.initial = initial;
                    let o = r.on_packet(&s, &p, now);
                    if let Verdict::Forward { replica } = o.verdict {
                        prop_assert_eq!(r.lookup(&fkey(CLIENT, cport)).unwrap().replica, replica);
                    }
                }
                2 => {
                    let m = msg(MsgType::Chk, cport, [S1, S2, S3][rp as usize], key);
                    chks.push((cport, m.replica, key));
                    let o = r.on_chk(&s, &m, CLIENT, VIP, now).unwrap();
                    prop_assert_eq!(o.msg.key, key);
                    if o.msg.ty == MsgType::Cfm {
                        let e = r.lookup(&fkey(CLIENT, cport)).unwrap();
                        prop_assert_eq!((e.state, e.key, e.replica), (RState::Confirmed, key, m.replica));
                    }
                }
                _ => {
                    now += dt;
                    r.on_tick(&s, now);
                }
            }
            prop_assert!(r.len() <= cap);
            prop_assert!(r.check_invariants());
            let mut bad = false;
            r.for_each(|e| {
                if e.state == RState::Confirmed && !chks.contains(&(e.flow.cport, e.replica, e.key)) {
                    bad = true;
                }
            });
            prop_assert!(!bad);
        }
        let conns: u32 = s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas().iter().map(|x| x.conns()).sum();
        let mut live = 0;
        r.for_each(|e| if e.state != RState::Accept { live += 1 });
        prop_assert_eq!(conns, live);
    }

    /// parse(emit(x)) == x for every valid message; emit(parse(b)) == b[..16]
    /// for every 16+ byte buffer that parses.
    #[test]
    fn wire_roundtrip(t in 1u16..=4, udp in prop::bool::ANY, cport in any::<u16>(), sport in any::<u16>(), replica in any::<u32>(), key in any::<u32>()) {
        let r = Repr { ty: MsgType::from_u16(t).unwrap(), proto: if udp { Proto::Udp } else { Proto::Tcp }, cport, sport, replica: Ipv4::from_bits(replica), key };
        prop_assert_eq!(Repr::parse(&r.to_bytes()), Ok(r));
    }

    #[test]
    fn wire_parse_any_bytes(b in prop::collection::vec(any::<u8>(), 0..40)) {
        match Repr::parse(&b) {
            Ok(r) => prop_assert_eq!(&r.to_bytes()[..], &b[..16]),
            Err(ParseError::Short) => prop_assert!(b.len() < 16),
            Err(ParseError::BadType) => prop_assert!(MsgType::from_u16(u16::from_be_bytes([b[0], b[1]])).is_none()),
            Err(ParseError::BadProto) => prop_assert!(Proto::from_u16(u16::from_be_bytes([b[2], b[3]])).is_none()),
        }
    }
}
