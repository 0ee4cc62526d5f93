// SPDX-License-Identifier: GPL-2.0
//! Stable-Rust fuzz harness over the parser and both machines.
//!
//! A seeded generator produces byte strings (random, or mutated from the
//! corpus in `tests/corpus/`) and random packets/ticks; every byte string
//! is parsed, and every parsed message is fed to a client shard (as from
//! one of a few addresses) and to a redirector shard. Bounds and table
//! invariants are checked as it goes; any panic fails the test.
//!
//! `IPRP_FUZZ_ITERS` sets the iteration count (default 20 000);
//! `IPRP_FUZZ_SEED` the seed. The ignored test `fuzz_million` runs 10^6:
//! `cargo test --release -p iprp-core --test fuzz -- --ignored`.
mod common;
use common::*;
use iprp_core::wire::{self, ipv4, ParseError, Quoted};
use iprp_core::*;
use std::path::Path;

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    v
}

const ADDRS: [Ipv4; 6] = [VIP, VIP2, CLIENT, S1, S2, ipv4(10, 0, 0, 9)];

fn bytes(rng: &mut TestRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(4) {
        0 => (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect(),
        _ => {
            let mut b = corpus[rng.below(corpus.len() as u64) as usize].clone();
            for _ in 0..rng.below(4) {
                match rng.below(5) {
                    0 if !b.is_empty() => {
                        let i = rng.below(b.len() as u64) as usize;
                        b[i] ^= 1 << rng.below(8);
                    }
                    1 if !b.is_empty() => {
                        let i = rng.below(b.len() as u64) as usize;
                        b[i] = rng.next_u64() as u8;
                    }
                    2 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                    3 => b.push(rng.next_u64() as u8),
                    _ if b.len() >= 16 => {
                        // Keep it valid-looking: small ports, known replicas.
                        b[0] = 0;
                        b[1] = 1 + rng.below(4) as u8;
                        b[5] = rng.below(4) as u8;
                        b[8..12].copy_from_slice(&ADDRS[rng.below(6) as usize].octets());
                        b[12..16].copy_from_slice(&(rng.below(3) as u32).to_be_bytes());
                    }
                    _ => {}
                }
            }
            b
        }
    }
}

fn fuzz(iters: u64, seed: u64) {
    let corpus = corpus();
    assert!(corpus.len() >= 10);
    let mut rng = TestRng(seed);
    let mut svcs = services(SchedKind::Maglev, &[rep(S1, 1), rep(S2, 3)]);
    let mut udp = spec(SchedKind::LeastConn, &[]);
    let reps = [rep(S1, 1), rep(S2, 0)];
    udp.proto = Proto::Udp;
    udp.replicas = &reps;
    svcs.add(&udp).unwrap();
    let mut r = redir(64);
    let mut legacy = legacy_cache(HashKey::new(5, 6));
    let mut c = client(64);
    let mut mc = MsgCounters::ZERO;
    let mut now = 0u64;
    let mut handle = 0u64;
    for i in 0..iters {
        match rng.below(8) {
            0..=3 => {
                let b = bytes(&mut rng, &corpus);
                let p = Repr::parse(&b);
                mc.count(&p);
                // What an ICMP error quotes (the first 8 bytes) parses to
                // the same flow, and fails for the same reason.
                match (&p, Quoted::parse(&b)) {
                    (Ok(m), Ok(q)) => {
                        assert_eq!(
                            (q.ty, q.proto, q.cport, q.sport),
                            (m.ty, m.proto, m.cport, m.sport)
                        )
                    }
                    (Err(ParseError::Short), q) => {
                        assert!(b.len() >= wire::QUOTED_LEN || q.is_err())
                    }
                    (p, q) => assert_eq!(p.map(|_| ()), q.map(|_| ())),
                }
                if let Ok(m) = p {
                    let src = ADDRS[rng.below(6) as usize];
                    let dst = ADDRS[rng.below(6) as usize];
                    let flow = match rng.below(8) {
                        0 => LocalFlow::Absent,
                        1 => LocalFlow::Aliased,
                        _ => LocalFlow::Opening,
                    };
                    let _ = c.on_msg_with(&m, src, dst, now, &mut rng, || flow);
                    let _ = r.on_chk(&svcs, &m, src, dst, now);
                }
            }
            4 | 5 => {
                let p = PacketInfo {
                    src: ADDRS[rng.below(6) as usize],
                    dst: ADDRS[rng.below(2) as usize],
                    proto: if rng.below(2) == 0 {
                        Proto::Tcp
                    } else {
                        Proto::Udp
                    },
                    sport: rng.below(4) as u16,
                    dport: if rng.below(4) == 0 {
                        rng.next_u64() as u16
                    } else {
                        PORT
                    },
                    initial: rng.below(2) == 0,
                    mark: [Mark::Unknown, Mark::Marked, Mark::Unmarked][rng.below(3) as usize],
                };
                let _ = r.on_packet_with(&svcs, &p, now, |a| legacy.is_legacy(a, now));
                // An ICMP protocol unreachable quoting a REQ of this flow
                // (or of a guessed one).
                // The quote is parsed as the glue does (iprp_rs_proto_unreach).
                if rng.below(4) == 0 {
                    let req = Repr {
                        ty: MsgType::Req,
                        proto: p.proto,
                        cport: if rng.below(2) == 0 {
                            p.sport
                        } else {
                            rng.next_u64() as u16
                        },
                        sport: p.dport,
                        replica: Ipv4::UNSPECIFIED,
                        key: 0,
                    };
                    let mut quote = req.to_bytes();
                    if rng.below(4) == 0 {
                        quote[rng.below(8) as usize] = rng.next_u64() as u8;
                    }
                    if let Ok(q) = Quoted::parse(&quote[..wire::QUOTED_LEN]) {
                        if q.ty == MsgType::Req {
                            let k = FlowKey {
                                client: p.src,
                                vip: p.dst,
                                proto: q.proto,
                                cport: q.cport,
                                sport: q.sport,
                            };
                            if r.on_unreachable(&svcs, &k) {
                                legacy.remember(k.client, now);
                            }
                        }
                    }
                }
            }
            6 => {
                handle += 1;
                let a = ADDRS[rng.below(6) as usize];
                let (sp, cp) = (rng.below(4) as u16, rng.below(4) as u16);
                if c.lookup_in(a, Proto::Tcp, sp, cp, now, || handle) == InVerdict::None {
                    handle += 1;
                    let _ = c.hold_orphan(a, Proto::Tcp, sp, cp, now, handle);
                }
                let _ = c.lookup_out(a, Proto::Udp, cp, sp, now);
            }
            _ => {
                now += rng.below(2000);
                r.on_tick(&svcs, now);
                c.on_tick(now, |_| {});
                if rng.below(50) == 0 {
                    let up = rng.below(2) == 0;
                    let _ = svcs.set_replica(Proto::Tcp, VIP, PORT, S1, rng.below(3) as u16, up);
                }
            }
        }
        assert!(r.len() <= r.capacity());
        assert!(c.len() <= c.capacity());
        assert!(c.held_total() <= c.config().max_held);
        assert!(c.checking() <= c.config().max_checking);
        assert!(c.orphans() <= ORPHANS_PER_SHARD);
        if i % 4096 == 0 {
            assert!(r.check_invariants());
            assert!(c.check_invariants());
        }
    }
    assert!(r.check_invariants());
    assert!(c.check_invariants());
    assert!(mc.rx_ok > 0 && mc.rx_short > 0 && mc.rx_bad_type > 0 && mc.rx_bad_proto > 0);
    eprintln!("fuzz: {iters} iterations, seed {seed}, messages {mc:?}");
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_default() {
    fuzz(env("IPRP_FUZZ_ITERS", 20_000), env("IPRP_FUZZ_SEED", 1));
}

#[test]
#[ignore = "long: 10^6 iterations, run with --ignored (use --release)"]
fn fuzz_million() {
    fuzz(1_000_000, env("IPRP_FUZZ_SEED", 2));
}

#[test]
fn corpus_entries_parse_as_named() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let r = Repr::parse(&std::fs::read(&p).unwrap());
        let want = if name.starts_with("short") || name.starts_with("empty") {
            Err(ParseError::Short)
        } else if name.starts_with("bad_type") {
            Err(ParseError::BadType)
        } else if name.starts_with("bad_proto") {
            Err(ParseError::BadProto)
        } else {
            assert!(r.is_ok(), "{name}");
            continue;
        };
        assert_eq!(r.map(|_| ()), want, "{name}");
    }
}
