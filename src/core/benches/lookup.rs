// SPDX-License-Identifier: GPL-2.0
//! Lookup cost versus table fill: client output and input lookups and the
//! redirector's per-packet lookup, in a shard of 2^20 slots holding
//! 0, 1k, 100k or 1M entries. Plain `Instant` timing (no criterion, to keep
//! the build small): `cargo bench -p iprp-core`.
//!
//! Two access patterns per size:
//! * warm — 256 flows looked up round robin (the packet path of active
//!   flows, their slots in cache);
//! * cold — uniformly random flows among all entries (each lookup is a
//!   cache miss into the 2^20-slot array once the table is large).
//!
//! At size 0 every lookup is a miss on an empty bucket.
use iprp_core::wire::ipv4;
use iprp_core::*;
use std::hint::black_box;
use std::time::Instant;

const CAP: usize = 1 << 20;
const OPS: u64 = 4_000_000;

struct Rng32(u64);
impl Rng for Rng32 {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as u32
    }
}

fn flow(i: u64) -> (Ipv4, u16) {
    (
        ipv4(10, 0, 0, 1) + (i / 60_000) as u32,
        (1024 + i % 60_000) as u16,
    )
}

const S: Ipv4 = ipv4(203, 0, 113, 5);
const VIP: Ipv4 = ipv4(192, 0, 2, 1);
const ME: Ipv4 = ipv4(198, 51, 100, 1);

fn pattern(n: u64, warm: bool, rng: &mut Rng32) -> Vec<u64> {
    let n = n.max(1);
    (0..4096u64)
        .map(|k| {
            if warm {
                (k % 256) * (n / 256).max(1) % n
            } else {
                rng.next_u32() as u64 % n
            }
        })
        .collect()
}

fn ns(f: impl FnMut(u64)) -> f64 {
    let mut f = f;
    for i in 0..100_000 {
        f(i);
    }
    let t = Instant::now();
    for i in 0..OPS {
        f(i);
    }
    t.elapsed().as_nanos() as f64 / OPS as f64
}

fn main() {
    let sizes = [0u64, 1_000, 100_000, 1_000_000];
    println!("| entries | client out warm | client in warm | redirector warm | client out cold | client in cold | redirector cold |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut rng = Rng32(0x1234_5678_9abc);
    for &n in &sizes {
        let mut cfg = ClientConfig::for_capacity(CAP);
        cfg.max_checking = u32::MAX;
        let mut c = ClientShard::new_in(vec![ClientSlot::EMPTY; CAP], HashKey::new(1, 2), cfg);
        for i in 0..n {
            // Each binding: redirector R_i redirects (cport, 80) to replica S_i.
            let (r, cp) = flow(i);
            let m = Repr {
                ty: MsgType::Req,
                proto: Proto::Tcp,
                cport: cp,
                sport: 80,
                replica: S + (i / 60_000) as u32,
                key: 0,
            };
            let ClientOutcome::Send(chk) = c.on_msg(&m, r, ME, 0, &mut rng) else {
                panic!("req {i}")
            };
            let cfm = Repr {
                ty: MsgType::Cfm,
                ..chk.msg
            };
            assert!(matches!(
                c.on_msg(&cfm, r, ME, 0, &mut rng),
                ClientOutcome::Confirmed { .. }
            ));
        }
        let mut svcs = ServiceTable::new_in(
            (0..4).map(|_| Service::empty()).collect::<Vec<_>>(),
            HashKey::new(3, 4),
        );
        svcs.add(&ServiceSpec {
            proto: Proto::Tcp,
            vip: VIP,
            port: 80,
            sched: SchedKind::RoundRobin,
            response_timeout_ms: 1,
            idle_timeout_ms: u32::MAX,
            replicas: &[ReplicaSpec {
                addr: S,
                weight: 1,
                up: true,
            }],
        })
        .unwrap();
        let mut r = RedirShard::new_in(vec![RedirSlot::EMPTY; CAP], HashKey::new(5, 6));
        let pkt = |i: u64, initial: bool| {
            let (cl, cp) = flow(i);
            PacketInfo {
                src: cl,
                dst: VIP,
                proto: Proto::Tcp,
                sport: cp,
                dport: 80,
                initial,
            }
        };
        for i in 0..n {
            r.on_packet(&svcs, &pkt(i, true), 0);
        }
        r.on_tick(&svcs, 10); // all to the accept table: the legacy-client packet path
        assert_eq!(r.len() as u64, n);
        let mut row = vec![];
        for warm in [true, false] {
            let pat = pattern(n, warm, &mut rng);
            let at = |k: u64| pat[(k % 4096) as usize];
            row.push(ns(|k| {
                let (rr, cp) = flow(at(k));
                black_box(c.lookup_out(black_box(rr), Proto::Tcp, cp, 80, 1));
            }));
            row.push(ns(|k| {
                let i = at(k);
                let (_, cp) = flow(i);
                black_box(c.lookup_in(
                    black_box(S + (i / 60_000) as u32),
                    Proto::Tcp,
                    80,
                    cp,
                    1,
                    k,
                ));
            }));
            row.push(ns(|k| {
                black_box(r.on_packet(&svcs, black_box(&pkt(at(k), false)), 20));
            }));
        }
        println!(
            "| {n} | {:.1} ns | {:.1} ns | {:.1} ns | {:.1} ns | {:.1} ns | {:.1} ns |",
            row[0], row[1], row[2], row[3], row[4], row[5]
        );
    }
}
