// SPDX-License-Identifier: GPL-2.0
//! Lookup cost versus table fill, measured side by side in one run:
//! `cargo bench -p iprp-core` (plain `Instant`, no criterion, to keep the
//! build small).
//!
//! Every table is one shard of 2^20 slots (the same bucket array for every
//! fill) holding `n` entries, n = 256, 1k, 100k and 1M. n = 256 is "fill 0":
//! only the working set itself is present. Three operations:
//!
//! * client out — `ClientShard::lookup_out` of a CONFIRMED binding;
//! * client in — `ClientShard::lookup_in` of the same binding (translate);
//! * redirector — `RedirShard::on_packet` of a flow in the accept table
//!   (the legacy-client packet path, includes the service lookup).
//!
//! Two access patterns:
//!
//! * warm — a working set of 256 present flows, one random flow out of
//!   every n / 256 consecutive ones in insertion order (so spread over the
//!   whole slot array at 1M), looked up over and over in a fixed shuffled
//!   order: the packets of a busy host's active flows
//!   (`IPRP_BENCH_WS_FIRST=1`: the 256 oldest flows instead);
//! * cold — uniformly random present flows among all `n` (a DRAM miss per
//!   lookup once the table outgrows the caches).
//!
//! The four fills are interleaved: each round measures one (operation,
//! pattern) cell at all four fills back to back, starting at a rotating
//! fill, so the ratios compare neighbouring measurements under the same
//! machine load. A measurement is `IPRP_BENCH_OPS` lookups (default
//! 1 000 000) in batches of 10 000 and keeps the fastest batch, which
//! filters out preemption by other load on a shared machine.
//! `IPRP_BENCH_ROUNDS` (default 7) rounds; the table shows per cell the
//! median ns/lookup and the median over rounds of the ratio to the smallest
//! table. Goal (the O(1) lookup's): warm ratio at 1M ≤ 1.10.
//!
//! Noise-free second measure (instructions and simulated cache misses per
//! cell; each cell is its own symbol `lookup::lookups::<op, cold, fill>`):
//! `IPRP_BENCH_ROUNDS=1 IPRP_BENCH_OPS=200000 valgrind --tool=callgrind
//! --cache-sim=yes target/release/deps/lookup-*` then
//! `callgrind_annotate --inclusive=yes`.
use iprp_core::wire::ipv4;
use iprp_core::*;
use std::hint::black_box;
use std::time::Instant;

const CAP: usize = 1 << 20;
const WS: usize = 256;
const SIZES: [u64; 4] = [WS as u64, 1_000, 100_000, 1_000_000];

struct Rng32(u64);
impl Rng for Rng32 {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

/// Flow `i`: client/redirector address and client port.
fn flow(i: u64) -> (Ipv4, u16) {
    (
        Ipv4::from_bits(ipv4(10, 0, 0, 1).to_bits() + (i / 60_000) as u32),
        (1024 + i % 60_000) as u16,
    )
}

fn replica(i: u64) -> Ipv4 {
    Ipv4::from_bits(S.to_bits() + (i / 60_000) as u32)
}

const S: Ipv4 = ipv4(203, 0, 113, 5);
const VIP: Ipv4 = ipv4(192, 0, 2, 1);
const ME: Ipv4 = ipv4(198, 51, 100, 1);

struct Setup {
    n: u64,
    c: ClientShard<Vec<ClientSlot>>,
    r: RedirShard<Vec<RedirSlot>>,
    svcs: ServiceTable<Vec<Service>>,
    warm: Vec<u32>,
    cold: Vec<u32>,
}

fn pkt(i: u64, initial: bool) -> PacketInfo {
    let (cl, cp) = flow(i);
    PacketInfo {
        src: cl,
        dst: VIP,
        proto: Proto::Tcp,
        sport: cp,
        dport: 80,
        initial,
        mark: Mark::Unknown,
    }
}

fn setup(n: u64, ops: usize, rng: &mut Rng32) -> Setup {
    let mut cfg = ClientConfig::for_capacity(CAP);
    cfg.max_checking = u32::MAX;
    let mut c = ClientShard::new_in(vec![ClientSlot::<u64>::EMPTY; CAP], HashKey::new(1, 2), cfg);
    for i in 0..n {
        // Binding i: redirector R_i redirects (cport_i, 80) to replica S_i.
        let (r, cp) = flow(i);
        let m = Repr {
            ty: MsgType::Req,
            proto: Proto::Tcp,
            cport: cp,
            sport: 80,
            replica: replica(i),
            key: 0,
        };
        let ClientOutcome::Send(chk) = c.on_msg(&m, r, ME, 0, rng) else {
            panic!("req {i}")
        };
        let cfm = Repr {
            ty: MsgType::Cfm,
            ..chk.msg
        };
        assert!(matches!(
            c.on_msg(&cfm, r, ME, 0, rng),
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
        grant_s: 0,
        unmarked_local: false,
        fleet_seed: 0,
        replicas: &[ReplicaSpec {
            addr: S,
            weight: 1,
            up: true,
        }],
    })
    .unwrap();
    let mut r = RedirShard::new_in(vec![RedirSlot::EMPTY; CAP], HashKey::new(5, 6));
    for i in 0..n {
        r.on_packet(&svcs, &pkt(i, true), 0);
    }
    // Everything to the accept table (the legacy-client packet path); a
    // bounded sweep may need several ticks.
    for t in 0..64 {
        r.on_tick(&svcs, 10 + t);
    }
    assert_eq!(r.len() as u64, n);
    assert_eq!(c.len() as u64, n);
    // Working set: WS flows spread over the insertion order (so over the
    // whole slot array): one random flow out of each n / WS consecutive
    // ones (no regular address stride), looked up in a shuffled order (no
    // sequence for the prefetcher). IPRP_BENCH_WS_FIRST: the WS oldest
    // flows instead (contiguous slots, behind every later flow of their
    // buckets until the first lookup moves them to the front).
    let stride = n / WS as u64;
    let first = std::env::var("IPRP_BENCH_WS_FIRST").is_ok();
    let mut warm: Vec<u32> = (0..WS as u64)
        .map(|j| {
            if first {
                j as u32
            } else {
                (j * stride + rng.next_u32() as u64 % stride) as u32
            }
        })
        .collect();
    for j in (1..warm.len()).rev() {
        let k = rng.next_u32() as usize % (j + 1);
        warm.swap(j, k);
    }
    let cold: Vec<u32> = (0..ops)
        .map(|_| (rng.next_u32() as u64 % n) as u32)
        .collect();
    let mut s = Setup {
        n,
        c,
        r,
        svcs,
        warm,
        cold,
    };
    for &i in s.warm.clone().iter() {
        let i = i as u64;
        let (rr, cp) = flow(i);
        assert_eq!(s.c.lookup_out(rr, Proto::Tcp, cp, 80, 1), Some(replica(i)));
        assert_eq!(
            s.c.lookup_in(replica(i), Proto::Tcp, 80, cp, 1, || 0),
            InVerdict::Translate { redirector: rr }
        );
        assert_eq!(
            s.r.on_packet(&s.svcs, &pkt(i, false), 20).verdict,
            Verdict::Local
        );
    }
    s
}

/// Looks up `pat[k % len]` for k in `from..to`. One monomorphised copy
/// per (operation, pattern, fill), so that `valgrind --tool=callgrind`
/// reports each cell's instructions (and simulated cache misses) under its
/// own symbol, e.g. `lookup::lookups::<0, false, 3>`.
#[inline(never)]
fn lookups<const OP: u8, const COLD: bool, const SI: usize>(s: &mut Setup, from: usize, to: usize) {
    // Distinct code per fill, so the compiler cannot merge the copies.
    black_box(SI);
    let pat = if COLD { &s.cold } else { &s.warm };
    let len = pat.len();
    for k in from..to {
        let i = pat[k % len] as u64;
        match OP {
            0 => {
                let (rr, cp) = flow(i);
                black_box(s.c.lookup_out(black_box(rr), Proto::Tcp, cp, 80, 1));
            }
            1 => {
                let (_, cp) = flow(i);
                black_box(s.c.lookup_in(black_box(replica(i)), Proto::Tcp, 80, cp, 1, || k as u64));
            }
            _ => {
                black_box(s.r.on_packet(&s.svcs, black_box(&pkt(i, false)), 20));
            }
        }
    }
}

const BATCH: usize = 10_000;

/// `ops` lookups in batches of `BATCH`; returns the ns per lookup of the
/// fastest batch (the one least disturbed by other load on the machine).
fn timed<const OP: u8, const COLD: bool, const SI: usize>(s: &mut Setup, ops: usize) -> f64 {
    // Warm-up: bring the working set (back) into the caches.
    lookups::<OP, COLD, SI>(s, 0, if COLD { 4096 } else { 16 * WS });
    let mut best = f64::MAX;
    let mut k = 0;
    while k < ops {
        let b = BATCH.min(ops - k);
        let t = Instant::now();
        lookups::<OP, COLD, SI>(s, k, k + b);
        best = best.min(t.elapsed().as_nanos() as f64 / b as f64);
        k += b;
    }
    best
}

fn run_op<const OP: u8>(s: &mut Setup, si: usize, cold: bool, ops: usize) -> f64 {
    match (cold, si) {
        (false, 0) => timed::<OP, false, 0>(s, ops),
        (false, 1) => timed::<OP, false, 1>(s, ops),
        (false, 2) => timed::<OP, false, 2>(s, ops),
        (false, _) => timed::<OP, false, 3>(s, ops),
        (true, 0) => timed::<OP, true, 0>(s, ops),
        (true, 1) => timed::<OP, true, 1>(s, ops),
        (true, 2) => timed::<OP, true, 2>(s, ops),
        (true, _) => timed::<OP, true, 3>(s, ops),
    }
}

fn run(s: &mut Setup, si: usize, op: u8, cold: bool, ops: usize) -> f64 {
    match op {
        0 => run_op::<0>(s, si, cold, ops),
        1 => run_op::<1>(s, si, cold, ops),
        _ => run_op::<2>(s, si, cold, ops),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// Indexing by round and fill reads clearer than nested iterators here.
#[allow(clippy::needless_range_loop)]
fn main() {
    let rounds = env("IPRP_BENCH_ROUNDS", 7).max(1);
    let ops = env("IPRP_BENCH_OPS", 1_000_000).max(1);
    let mut rng = Rng32(0x1234_5678_9abc);
    let t0 = Instant::now();
    let mut setups: Vec<Setup> = SIZES.iter().map(|&n| setup(n, ops, &mut rng)).collect();
    eprintln!("setup {:.1} s", t0.elapsed().as_secs_f64());
    let cells = [("client out", 0u8), ("client in", 1), ("redirector", 2)];
    // ns[cell][pattern][size][round]
    let mut ns = vec![vec![vec![vec![0f64; rounds]; SIZES.len()]; 2]; cells.len()];
    for round in 0..rounds {
        for (ci, &(_, op)) in cells.iter().enumerate() {
            for (pi, cold) in [false, true].into_iter().enumerate() {
                for j in 0..SIZES.len() {
                    let si = (j + round) % SIZES.len();
                    ns[ci][pi][si][round] = run(&mut setups[si], si, op, cold, ops);
                }
            }
        }
        eprintln!("round {} done", round + 1);
    }
    println!(
        "{} rounds × {} lookups per cell (fastest {}-lookup batch); \
         ns/lookup median over rounds (median over rounds of the ratio to n = {})",
        rounds, ops, BATCH, SIZES[0]
    );
    print!("| operation | pattern |");
    for s in &setups {
        print!(" n = {} |", s.n);
    }
    println!();
    println!("|---|---|---:|---:|---:|---:|");
    let mut verdict = vec![];
    for (ci, &(name, _)) in cells.iter().enumerate() {
        for (pi, pname) in ["warm", "cold"].into_iter().enumerate() {
            print!("| {name} | {pname} |");
            for si in 0..SIZES.len() {
                let mut ratios: Vec<f64> = (0..rounds)
                    .map(|r| ns[ci][pi][si][r] / ns[ci][pi][0][r])
                    .collect();
                let ratio = median(&mut ratios);
                let mut v = ns[ci][pi][si].clone();
                let m = median(&mut v);
                print!(" {m:.1} ns ({ratio:.2}) |");
                if pi == 0 && si == SIZES.len() - 1 {
                    verdict.push((name, ratio));
                }
            }
            println!();
        }
    }
    for (name, ratio) in verdict {
        println!(
            "{name} warm: ratio 1M / {} = {ratio:.3} -> {}",
            SIZES[0],
            if ratio <= 1.10 {
                "flat (<= 1.10)"
            } else {
                "NOT flat (> 1.10)"
            }
        );
    }
}
