// SPDX-License-Identifier: GPL-2.0

//! `iprpctl healthcheck`: probes every replica with a TCP connect and takes
//! one that stops answering out of scheduling (`IPRP_A_UP` 0), then back in
//! once it answers again. Like keepalived for IPVS, the checking lives in
//! userspace; the module only honours the replica's up flag.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use super::list::{self, Service};
use super::{Change, Ctx, Iprp, ServiceKey, Val, Verb};
use crate::cli::{self, Args};
use crate::error::{Error, Extack, KernelError, Result};
use crate::json::Json;
use crate::parse::{self, Toks};
use crate::uapi::{a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "healthcheck",
    summary: "probe the replicas and mark them up or down as they answer",
    usage: "healthcheck [service tcp|udp VIP:PORT] [interval MS] [timeout MS] [fall N]\n       \
            [rise N] [port P] [rounds N] [-j]",
    help: "Every interval, connects (TCP) to each replica of each service at the\n\
           service's port and closes the connection. A replica that is up and fails\n\
           `fall` probes in a row is set down (IPRP_CMD_SET_REPLICA, IPRP_A_UP 0,\n\
           NLM_F_REPLACE): it gets no new flows, and the clients of its\n\
           confirmed flows are told to re-bind (a UDP flow goes on to a live\n\
           replica, a TCP connection is reset). A replica\n\
           that is down and answers `rise` probes in a row is set up again. Weights\n\
           are never touched; to take a replica out by hand while the checker runs,\n\
           drain it (`replica set ... drain`), since the checker owns up/down.\n\
           A replica or service deleted meanwhile is left alone (never recreated).\n\
           Runs in the foreground until killed, or for `rounds` rounds; prints one\n\
           line per change.\n\
           \n\
           Options:\n  \
             service tcp|udp VIP:PORT  check this service only (default: all)\n  \
             interval MS   time between probe rounds (default 2000)\n  \
             timeout MS    connect timeout of one probe (default 1000)\n  \
             fall N        failed probes in a row that set a replica down (default 3)\n  \
             rise N        answered probes in a row that set it up (default 2)\n  \
             port P        probe TCP port P instead of the service's port; needed\n                \
                           for UDP services, which are skipped otherwise\n  \
             rounds N      stop after N rounds (default: run until killed)\n  \
             -j, --json    print each change as a JSON line: {\"service\": \"tcp\n                \
                           10.0.0.100:80\", \"replica\": \"10.0.1.1\", \"up\": false,\n                \
                           \"probes\": 3, \"last\": \"Connection refused (os error 111)\"}\n\
           \n\
           Needs CAP_NET_ADMIN to change replicas.\n\
           \n\
           Example:\n  \
             iprpctl healthcheck interval 1000 timeout 500 fall 2\n",
    run,
};

/// Most probes in flight at once (one thread each).
const PARALLEL_PROBES: usize = 64;

/// The checker's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    pub service: Option<ServiceKey>,
    pub interval_ms: u32,
    pub timeout_ms: u32,
    pub fall: u32,
    pub rise: u32,
    pub port: Option<u16>,
    pub rounds: Option<u32>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            service: None,
            interval_ms: 2000,
            timeout_ms: 1000,
            fall: 3,
            rise: 2,
            port: None,
            rounds: None,
        }
    }
}

pub fn parse(toks: &[String]) -> Result<Opts> {
    let mut t = Toks::new(VERB.name, toks);
    let mut o = Opts::default();
    let positive = |t: &Toks<'_>, kw: &str, v: &str| -> Result<u32> {
        match parse::u32_value(t, kw, v)? {
            0 => Err(t.err(format!("'{kw}' must be at least 1"))),
            n => Ok(n),
        }
    };
    while let Some(tok) = t.next() {
        match tok {
            "service" if o.service.is_none() => o.service = Some(ServiceKey::parse(&mut t)?),
            "interval" | "timeout" => {
                let v = t.value(tok)?;
                let ms = parse::millis(&t, tok, v)?;
                if ms == 0 {
                    return Err(t.err(format!("'{tok}' must be at least 1 ms")));
                }
                if tok == "interval" {
                    o.interval_ms = ms;
                } else {
                    o.timeout_ms = ms;
                }
            }
            "fall" | "rise" | "rounds" => {
                let v = t.value(tok)?;
                let n = positive(&t, tok, v)?;
                match tok {
                    "fall" => o.fall = n,
                    "rise" => o.rise = n,
                    _ => o.rounds = Some(n),
                }
            }
            "port" => {
                let v = t.value(tok)?;
                o.port = Some(parse::port(&t, v)?);
            }
            _ => return Err(t.unexpected(tok)),
        }
    }
    Ok(o)
}

/// One replica's health as the checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub up: bool,
    /// Probes in a row whose result disagrees with `up`.
    pub streak: u32,
}

impl Health {
    pub fn new(up: bool) -> Self {
        Health { up, streak: 0 }
    }

    /// Feeds one probe result; `Some(up)` when the replica changes state.
    pub fn probe(&mut self, answered: bool, fall: u32, rise: u32) -> Option<bool> {
        if answered == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.up { fall } else { rise };
        if self.streak < needed {
            return None;
        }
        self.up = answered;
        self.streak = 0;
        Some(answered)
    }
}

/// A replica to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub service: ServiceKey,
    pub replica: Ipv4Addr,
    /// What the module says now (absent: up, the module's default).
    pub up: bool,
    pub probe: SocketAddrV4,
}

fn key(s: &Service) -> ServiceKey {
    ServiceKey {
        proto: s.proto,
        vip: s.vip,
        port: s.port,
    }
}

/// The replicas `o` asks to probe, and the services it must skip (UDP
/// without `port`).
pub fn targets(o: &Opts, services: &[Service]) -> (Vec<Target>, Vec<ServiceKey>) {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for s in services {
        let service = key(s);
        if o.service.is_some_and(|k| k != service) {
            continue;
        }
        let port = match o.port {
            Some(p) => p,
            None if s.proto == libc::IPPROTO_TCP as u8 => s.port,
            None => {
                skipped.push(service);
                continue;
            }
        };
        for r in &s.replicas {
            out.push(Target {
                service,
                replica: r.addr,
                up: r.up.unwrap_or(true),
                probe: SocketAddrV4::new(r.addr, port),
            });
        }
    }
    (out, skipped)
}

/// The request that sets `t`'s up flag; NLM_F_REPLACE so that a replica
/// deleted meanwhile is not recreated.
pub fn set_up(t: &Target, up: bool) -> Change {
    let mut c = Change::new(iprp_cmd::IPRP_CMD_SET_REPLICA);
    c.flags = libc::NLM_F_REPLACE as u16;
    t.service.push_to(&mut c);
    c.push(Val::InAddr(a::REPLICA_ADDR, t.replica))
        .push(Val::U8(a::UP, u8::from(up)));
    c
}

/// One probe: `Ok` if the TCP connect succeeded within `timeout`.
fn probe(addr: SocketAddrV4, timeout: Duration) -> std::result::Result<(), String> {
    TcpStream::connect_timeout(&SocketAddr::V4(addr), timeout)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn event(json: bool, t: &Target, up: bool, probes: u32, last: &str) -> String {
    if json {
        let mut o = Json::object();
        o.insert("service", t.service.to_string())
            .insert("replica", t.replica.to_string())
            .insert("up", up)
            .insert("probes", probes)
            .insert("last", last);
        format!("{o}\n")
    } else if up {
        format!(
            "{} replica {}: up ({probes} answered probes)\n",
            t.service, t.replica
        )
    } else {
        format!(
            "{} replica {}: down ({probes} failed probes, last: {last})\n",
            t.service, t.replica
        )
    }
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    let o = parse(&toks)?;
    let mut iprp = Iprp::connect()?;
    let timeout = Duration::from_millis(o.timeout_ms.into());
    let interval = Duration::from_millis(o.interval_ms.into());
    let mut health: HashMap<(ServiceKey, Ipv4Addr), Health> = HashMap::new();
    let mut warned: HashSet<ServiceKey> = HashSet::new();
    let mut round = 0u32;
    loop {
        let start = Instant::now();
        let services = list::fetch(&mut iprp)?;
        let (targets, skipped) = targets(&o, &services);
        for k in skipped {
            if warned.insert(k) {
                eprintln!(
                    "{}: {k} not probed (give 'port P' for a UDP service)",
                    VERB.name
                );
            }
        }
        if let Some(k) = o.service.filter(|k| !services.iter().any(|s| key(s) == *k)) {
            // Worded like the module's answer to a change of that service.
            let extack = Extack {
                msg: Some(format!("no such service: {k}")),
                ..Extack::default()
            };
            return Err(Error::Kernel(KernelError {
                errno: libc::ENOENT,
                extack,
            }));
        }
        // Forget replicas that are gone; the module's flag is the truth for
        // the rest (someone may have changed it by hand).
        health.retain(|k, _| targets.iter().any(|t| (t.service, t.replica) == *k));
        // Probes run in parallel, at most PARALLEL_PROBES at a time.
        let mut results: Vec<std::result::Result<(), String>> = Vec::new();
        for chunk in targets.chunks(PARALLEL_PROBES) {
            std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|t| s.spawn(move || probe(t.probe, timeout)))
                    .collect();
                results.extend(
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|_| Err("probe panicked".into()))),
                );
            });
        }
        for (t, r) in targets.iter().zip(&results) {
            let h = health
                .entry((t.service, t.replica))
                .or_insert_with(|| Health::new(t.up));
            if h.up != t.up {
                *h = Health::new(t.up);
            }
            let streak = h.streak + 1;
            let Some(up) = h.probe(r.is_ok(), o.fall, o.rise) else {
                continue;
            };
            match iprp.apply(&set_up(t, up)) {
                Ok(()) => {}
                // Deleted since the dump: nothing to mark.
                Err(Error::Kernel(k)) if k.errno == libc::ENOENT => {
                    health.remove(&(t.service, t.replica));
                    continue;
                }
                Err(e) => return Err(e),
            }
            let last = r.as_ref().err().map(String::as_str).unwrap_or("answered");
            super::print(&event(ctx.json, t, up, streak, last))?;
        }
        round += 1;
        if o.rounds.is_some_and(|n| round >= n) {
            return Ok(());
        }
        std::thread::sleep(interval.saturating_sub(start.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verbs::list::Replica;

    fn p(a: &[&str]) -> Result<Opts> {
        super::super::testutil::run(parse, a)
    }

    fn usage(a: &[&str]) -> String {
        super::super::testutil::usage_of(a, p(a))
    }

    #[test]
    fn options() {
        assert_eq!(p(&[]).unwrap(), Opts::default());
        let o = p(&[
            "service",
            "tcp",
            "10.0.0.100:80",
            "interval",
            "1s",
            "timeout",
            "250",
            "fall",
            "2",
            "rise",
            "5",
            "port",
            "8081",
            "rounds",
            "3",
        ])
        .unwrap();
        assert_eq!(
            o,
            Opts {
                service: Some(ServiceKey {
                    proto: 6,
                    vip: Ipv4Addr::new(10, 0, 0, 100),
                    port: 80
                }),
                interval_ms: 1000,
                timeout_ms: 250,
                fall: 2,
                rise: 5,
                port: Some(8081),
                rounds: Some(3),
            }
        );
        assert!(usage(&["fall", "0"]).contains("'fall' must be at least 1"));
        assert!(usage(&["timeout", "0"]).contains("'timeout' must be at least 1 ms"));
        assert!(usage(&["interval", "0s"]).contains("'interval' must be at least 1 ms"));
        assert!(usage(&["port", "0"]).contains("invalid port '0'"));
        assert!(usage(&["rounds"]).contains("'rounds' needs a value"));
        assert!(usage(&["bogus"]).contains("unexpected argument 'bogus'"));
        assert!(usage(&["service", "tcp", "x:1"]).contains("invalid service address"));
    }

    #[test]
    fn fall_and_rise_need_streaks() {
        let mut h = Health::new(true);
        // A single failure, then an answer: still up, streak reset.
        assert_eq!(h.probe(false, 3, 2), None);
        assert_eq!(h.probe(true, 3, 2), None);
        assert_eq!(h.streak, 0);
        assert_eq!(h.probe(false, 3, 2), None);
        assert_eq!(h.probe(false, 3, 2), None);
        assert_eq!(h.probe(false, 3, 2), Some(false));
        assert!(!h.up);
        // Still failing: no new event.
        assert_eq!(h.probe(false, 3, 2), None);
        assert_eq!(h.probe(true, 3, 2), None);
        assert_eq!(h.probe(true, 3, 2), Some(true));
        assert_eq!(h, Health::new(true));
        // fall 1: the first failure counts.
        assert_eq!(Health::new(true).probe(false, 1, 1), Some(false));
    }

    fn svc(proto: u8, port: u16, replicas: &[(Ipv4Addr, Option<bool>)]) -> Service {
        Service {
            proto,
            vip: Ipv4Addr::new(10, 0, 0, 100),
            port,
            sched: None,
            response_timeout_ms: None,
            idle_timeout_ms: None,
            grant_s: None,
            unmarked_local: None,
            fleet_seed: None,
            granted: None,
            replicas: replicas
                .iter()
                .map(|&(addr, up)| Replica {
                    addr,
                    weight: Some(1),
                    up,
                    conns: None,
                    assigned: None,
                    confirmed: None,
                    rebound: None,
                })
                .collect(),
            stats: None,
        }
    }

    #[test]
    fn targets_follow_the_options() {
        let s1 = Ipv4Addr::new(10, 0, 0, 11);
        let s2 = Ipv4Addr::new(10, 0, 0, 12);
        let services = [
            svc(6, 80, &[(s1, Some(true)), (s2, Some(false))]),
            svc(17, 53, &[(s1, None)]),
        ];
        let (t, skipped) = targets(&Opts::default(), &services);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].probe, SocketAddrV4::new(s1, 80));
        assert!(t[0].up && !t[1].up);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].proto, 17);

        // `port` probes UDP services too, at that port.
        let o = Opts {
            port: Some(9000),
            ..Opts::default()
        };
        let (t, skipped) = targets(&o, &services);
        assert_eq!((t.len(), skipped.len()), (3, 0));
        assert!(t.iter().all(|t| t.probe.port() == 9000));
        assert!(t[2].up, "no UP attribute means up");

        // One service only.
        let o = Opts {
            service: Some(ServiceKey {
                proto: 17,
                vip: Ipv4Addr::new(10, 0, 0, 100),
                port: 53,
            }),
            port: Some(53),
            ..Opts::default()
        };
        let (t, _) = targets(&o, &services);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].service.proto, 17);
    }

    #[test]
    fn set_up_changes_only_the_flag_of_an_existing_replica() {
        let t = Target {
            service: ServiceKey {
                proto: 6,
                vip: Ipv4Addr::new(10, 0, 0, 100),
                port: 80,
            },
            replica: Ipv4Addr::new(10, 0, 0, 11),
            up: true,
            probe: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 11), 80),
        };
        let c = set_up(&t, false);
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_SET_REPLICA);
        assert_eq!(c.flags, libc::NLM_F_REPLACE as u16);
        assert_eq!(
            c.attrs,
            vec![
                Val::U8(a::PROTO, 6),
                Val::InAddr(a::VIP, Ipv4Addr::new(10, 0, 0, 100)),
                Val::U16(a::PORT, 80),
                Val::InAddr(a::REPLICA_ADDR, Ipv4Addr::new(10, 0, 0, 11)),
                Val::U8(a::UP, 0),
            ]
        );
        assert!(event(false, &t, false, 3, "Connection refused").contains("down (3 failed probes"));
        assert!(
            event(true, &t, true, 2, "answered").starts_with("{\"service\":\"tcp 10.0.0.100:80\"")
        );
    }

    #[test]
    fn probe_reports_refused_and_answered() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = l.local_addr().unwrap() else {
            unreachable!()
        };
        assert!(probe(addr, Duration::from_secs(1)).is_ok());
        drop(l);
        assert!(probe(addr, Duration::from_secs(1)).is_err());
    }
}
