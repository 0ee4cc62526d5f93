// SPDX-License-Identifier: GPL-2.0

//! `iprpctl list`: the services and their replicas (`IPRP_CMD_GET_SERVICE`
//! dump), with their counters.

use std::net::Ipv4Addr;

use super::{fmt_ms, in_addr, opt, required, Ctx, Iprp, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::netlink::{Attr, Attrs};
use crate::output::{Align, Table};
use crate::parse::Toks;
use crate::uapi::{self, a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "list",
    summary: "list the services and their replicas",
    usage: "list [-s|--stats] [-j|--json]",
    help: "Dumps the services of the redirector in this network namespace\n\
           (IPRP_CMD_GET_SERVICE) with their replicas, sorted by address, port\n\
           and protocol, in an ipvsadm-like table:\n\
           \n\
           Prot VIP:Port       Sched   Response  Idle   Grant  Unmarked\n  \
             -> Replica        Weight  State     Conns\n\
           TCP  10.0.0.100:80  wrr     200ms     30s    600s   redirect\n  \
             -> 10.0.1.1       3       up        12\n\
           \n\
           Grant is how long the client may send new flows of the service\n\
           straight to a replica it was redirected to (off: never).\n\
           Unmarked is what the redirector does with a new TCP flow whose SYN\n\
           lacks the capability mark: local (serve it at once) or redirect\n\
           (send a REQ, the default).\n\
           State is up, down, or drain (up with weight 0). Conns counts the\n\
           redirector's live entries for the replica.\n\
           \n\
           Options:\n  \
             -s, --stats  the services' counters instead (as `iprpctl stats`):\n               \
                          packets, forwarded, local (packets delivered by the\n               \
                          redirector), flows_new (given a replica),\n               \
                          flows_redirected (confirmed by the client), flows_local\n               \
                          (served by the redirector), local_table_full,\n               \
                          flows_rebound (moved off a failed replica); and per\n               \
                          replica the flows assigned to it, confirmed on it and\n               \
                          re-bound off it\n  \
             -j, --json   print {\"services\": [{\"proto\": \"tcp\", \"vip\": \"10.0.0.100\",\n               \
                          \"port\": 80, \"sched\": \"wrr\", \"response_timeout_ms\": 200,\n               \
                          \"idle_timeout_ms\": 30000, \"grant_s\": 600,\n               \
                          \"unmarked_local\": false, \"fleet_seed\": 0,\n               \
                          \"granted\": N (wildcard grants in force),\n               \
                          \"stats\": {\"packets\": N, ...},\n               \
                          \"replicas\": [{\"addr\": \"10.0.1.1\", \"weight\": 3, \"up\": true,\n               \
                          \"conns\": 12, \"assigned\": 40, \"confirmed\": 38,\n               \
                          \"rebound\": 0}]}]}\n               \
                          (null for a value the module did not send)\n  \
             -h, --help   this help\n",
    run,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub addr: Ipv4Addr,
    pub weight: Option<u32>,
    pub up: Option<bool>,
    pub conns: Option<u32>,
    /// `IPRP_A_ASSIGNED`: flows assigned since the service was added or
    /// the counters zeroed.
    pub assigned: Option<u64>,
    /// `IPRP_A_CONFIRMED`: flows confirmed on it, counted as `assigned`.
    pub confirmed: Option<u64>,
    /// `IPRP_A_REBOUND`: confirmed flows moved off it because it failed.
    pub rebound: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub proto: u8,
    pub vip: Ipv4Addr,
    pub port: u16,
    pub sched: Option<u8>,
    pub response_timeout_ms: Option<u32>,
    pub idle_timeout_ms: Option<u32>,
    /// `IPRP_A_GRANT`: wildcard grant of the service's CFMs (s; 0: none).
    pub grant_s: Option<u32>,
    /// `IPRP_A_UNMARKED_LOCAL`: a new TCP flow whose SYN lacks the
    /// capability mark is served at once, without a REQ.
    pub unmarked_local: Option<bool>,
    /// `IPRP_A_FLEET_SEED`: the fleet's hash seed (0: not a fleet service).
    pub fleet_seed: Option<u64>,
    /// `IPRP_A_GRANTED`: the service's wildcard grants in force.
    pub granted: Option<u32>,
    pub replicas: Vec<Replica>,
    /// `IPRP_A_STATS`: the service's counters by name, in the module's order.
    pub stats: Option<Vec<(String, u64)>>,
}

fn parse_replica(r: &Attr<'_>) -> Result<Replica> {
    let (mut addr, mut weight, mut up, mut conns) = (None, None, None, None);
    let (mut assigned, mut confirmed, mut rebound) = (None, None, None);
    for f in r.nested_attrs() {
        let f = f?;
        match f.ty {
            a::REPLICA_ADDR => addr = Some(in_addr(&f)?),
            a::WEIGHT => weight = Some(f.u32()?),
            a::UP => up = Some(f.u8()? != 0),
            a::CONNS => conns = Some(f.u32()?),
            a::ASSIGNED => assigned = Some(f.uint()?),
            a::CONFIRMED => confirmed = Some(f.uint()?),
            a::REBOUND => rebound = Some(f.uint()?),
            _ => {}
        }
    }
    Ok(Replica {
        addr: required(addr, "a replica", a::REPLICA_ADDR)?,
        weight,
        up,
        conns,
        assigned,
        confirmed,
        rebound,
    })
}

/// Decodes one message of the `IPRP_CMD_GET_SERVICE` dump.
pub fn parse(attrs: Attrs<'_>) -> Result<Service> {
    let (mut proto, mut vip, mut port) = (None, None, None);
    let mut s = Service {
        proto: 0,
        vip: Ipv4Addr::UNSPECIFIED,
        port: 0,
        sched: None,
        response_timeout_ms: None,
        idle_timeout_ms: None,
        grant_s: None,
        unmarked_local: None,
        fleet_seed: None,
        granted: None,
        replicas: Vec::new(),
        stats: None,
    };
    for f in attrs {
        let f = f?;
        match f.ty {
            a::PROTO => proto = Some(f.u8()?),
            a::VIP => vip = Some(in_addr(&f)?),
            a::PORT => port = Some(f.u16()?),
            a::SCHED => s.sched = Some(f.u8()?),
            a::RESPONSE_TIMEOUT => s.response_timeout_ms = Some(f.u32()?),
            a::IDLE_TIMEOUT => s.idle_timeout_ms = Some(f.u32()?),
            a::GRANT => s.grant_s = Some(f.u32()?),
            a::UNMARKED_LOCAL => s.unmarked_local = Some(f.u8()? != 0),
            a::FLEET_SEED => s.fleet_seed = Some(f.u64()?),
            a::GRANTED => s.granted = Some(f.u32()?),
            a::STATS => s.stats = Some(super::status::parse_stats(&f)?),
            a::REPLICAS => {
                for r in f.nested_attrs() {
                    let r = r?;
                    if r.ty == a::REPLICA {
                        s.replicas.push(parse_replica(&r)?);
                    }
                }
            }
            _ => {}
        }
    }
    s.proto = required(proto, "a service", a::PROTO)?;
    s.vip = required(vip, "a service", a::VIP)?;
    s.port = required(port, "a service", a::PORT)?;
    s.replicas.sort_by_key(|r| r.addr);
    Ok(s)
}

/// Sorts services by VIP, port, protocol.
pub fn sort(services: &mut [Service]) {
    services.sort_by_key(|s| (s.vip, s.port, s.proto));
}

pub fn to_json(services: &[Service]) -> Json {
    let list = services
        .iter()
        .map(|s| {
            let replicas = s
                .replicas
                .iter()
                .map(|r| {
                    let mut o = Json::object();
                    o.insert("addr", r.addr.to_string())
                        .insert("weight", opt(r.weight))
                        .insert("up", opt(r.up))
                        .insert("conns", opt(r.conns))
                        .insert("assigned", opt(r.assigned))
                        .insert("confirmed", opt(r.confirmed))
                        .insert("rebound", opt(r.rebound));
                    o
                })
                .collect::<Vec<_>>();
            let mut o = Json::object();
            o.insert("proto", uapi::proto_name(s.proto))
                .insert("vip", s.vip.to_string())
                .insert("port", u32::from(s.port))
                .insert("sched", opt(s.sched.map(uapi::sched_name)))
                .insert("response_timeout_ms", opt(s.response_timeout_ms))
                .insert("idle_timeout_ms", opt(s.idle_timeout_ms))
                .insert("grant_s", opt(s.grant_s))
                .insert("unmarked_local", opt(s.unmarked_local))
                .insert("fleet_seed", opt(s.fleet_seed))
                .insert("granted", opt(s.granted))
                .insert(
                    "stats",
                    s.stats
                        .as_deref()
                        .map_or(Json::Null, super::status::stats_json),
                )
                .insert("replicas", replicas);
            o
        })
        .collect::<Vec<_>>();
    let mut o = Json::object();
    o.insert("services", list);
    o
}

fn dash<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// State of a replica for humans: `up`, `down`, or `drain` (up, weight 0).
pub fn replica_state(r: &Replica) -> &'static str {
    match (r.up, r.weight) {
        (Some(false), _) => "down",
        (_, Some(0)) => "drain",
        (Some(true), _) => "up",
        (None, _) => "-",
    }
}

/// The word of `service ... unmarked`: `local` or `redirect`.
pub fn unmarked_name(local: bool) -> &'static str {
    if local {
        "local"
    } else {
        "redirect"
    }
}

pub fn to_human(services: &[Service]) -> String {
    let l = Align::Left;
    let mut t = Table::new(&[
        ("Prot VIP:Port", l),
        ("Sched", l),
        ("Response", l),
        ("Idle", l),
        ("Grant", l),
        ("Unmarked", l),
    ]);
    t.row(["  -> Replica", "Weight", "State", "Conns", "", ""]);
    for s in services {
        t.row([
            format!(
                "{:<4} {}:{}",
                uapi::proto_name(s.proto).to_ascii_uppercase(),
                s.vip,
                s.port
            ),
            match (s.sched, s.fleet_seed) {
                (Some(k), Some(seed)) if seed != 0 => {
                    format!("{} fleet {seed:#x}", uapi::sched_name(k))
                }
                (k, _) => dash(k, uapi::sched_name),
            },
            dash(s.response_timeout_ms, fmt_ms),
            dash(s.idle_timeout_ms, fmt_ms),
            dash(s.grant_s, |g| match g {
                0 => "off".into(),
                g => format!("{g}s"),
            }),
            dash(s.unmarked_local, |l| unmarked_name(l).into()),
        ]);
        for r in &s.replicas {
            t.row([
                format!("  -> {}", r.addr),
                dash(r.weight, |w| w.to_string()),
                replica_state(r).to_string(),
                dash(r.conns, |c| c.to_string()),
                String::new(),
                String::new(),
            ]);
        }
    }
    t.render()
}

/// The services' counters as a table: one row per service with a column
/// per counter (in the module's order), one row per replica with the
/// flows assigned to it and its live connections.
pub fn stats_human(services: &[Service]) -> String {
    let names: Vec<String> = services
        .iter()
        .find_map(|s| s.stats.as_ref())
        .map(|st| st.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut cols = vec![("Prot VIP:Port".to_string(), Align::Left)];
    cols.extend(names.iter().map(|n| (n.clone(), Align::Right)));
    // Room for the replica rows' four values even with fewer counters.
    cols.resize(cols.len().max(5), (String::new(), Align::Right));
    let cols: Vec<(&str, Align)> = cols.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    let mut t = Table::new(&cols);
    t.row(["  -> Replica", "assigned", "confirmed", "rebound", "conns"]);
    for s in services {
        let mut row = vec![format!(
            "{:<4} {}:{}",
            uapi::proto_name(s.proto).to_ascii_uppercase(),
            s.vip,
            s.port
        )];
        for n in &names {
            let v = s
                .stats
                .as_ref()
                .and_then(|st| st.iter().find(|(k, _)| k == n))
                .map(|(_, v)| v.to_string());
            row.push(v.unwrap_or_else(|| "-".into()));
        }
        t.row(row);
        for r in &s.replicas {
            t.row([
                format!("  -> {}", r.addr),
                dash(r.assigned, |n| n.to_string()),
                dash(r.confirmed, |n| n.to_string()),
                dash(r.rebound, |n| n.to_string()),
                dash(r.conns, |c| c.to_string()),
            ]);
        }
    }
    t.render()
}

/// Dumps, decodes and sorts the services.
pub fn fetch(iprp: &mut Iprp) -> Result<Vec<Service>> {
    let mut services = iprp.dump_all(iprp_cmd::IPRP_CMD_GET_SERVICE, parse)?;
    sort(&mut services);
    Ok(services)
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    let mut t = Toks::new(VERB.name, &toks);
    let mut stats = false;
    while let Some(tok) = t.next() {
        match tok {
            "-s" | "--stats" => stats = true,
            _ => return Err(t.unexpected(tok)),
        }
    }
    let services = fetch(&mut Iprp::connect()?)?;
    let text = if ctx.json {
        format!("{}\n", to_json(&services))
    } else if stats {
        stats_human(&services)
    } else {
        to_human(&services)
    };
    super::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, GenlMsg, MsgBuilder};

    /// A dump reply as the module builds it (nla_put_in_addr, nla_put_u16 ...).
    fn dump() -> Vec<u8> {
        let cmd = iprp_cmd::IPRP_CMD_GET_SERVICE as u8;
        let mut buf = Vec::new();
        let mut m = MsgBuilder::genl(0x1d, libc::NLM_F_MULTI as u16, cmd, 1);
        m.put_u8(a::PROTO, 6)
            .put(a::VIP, &[10, 0, 0, 100])
            .put_u16(a::PORT, 80)
            .put_u8(a::SCHED, 4)
            .put_u32(a::RESPONSE_TIMEOUT, 200)
            .put_u32(a::IDLE_TIMEOUT, 30000)
            .put_u32(a::GRANT, 600)
            .put_u8(a::UNMARKED_LOCAL, 1)
            .put(a::PAD, &[])
            .put_u64(a::FLEET_SEED, 0x5eed)
            .put_u32(a::GRANTED, 2)
            .nest_start(a::REPLICAS)
            .nest_start(a::REPLICA)
            .put(a::REPLICA_ADDR, &[10, 0, 1, 2])
            .put_u32(a::WEIGHT, 0)
            .put_u8(a::UP, 1)
            .put_u32(a::CONNS, 4)
            .nest_end()
            .nest_start(a::REPLICA)
            .put(a::REPLICA_ADDR, &[10, 0, 1, 1])
            .put_u32(a::WEIGHT, 3)
            .put_u8(a::UP, 1)
            .put_u32(a::CONNS, 12)
            .put(a::PAD, &[])
            .put_u64(a::ASSIGNED, 40)
            .put_u64(a::CONFIRMED, 38)
            .put_u64(a::REBOUND, 3)
            .put_u32(200, 1) // from a newer module: ignored
            .nest_end()
            .nest_end()
            .nest_start(a::STATS)
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "packets")
            .put_u64(a::STAT_VALUE, 1000)
            .nest_end()
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "flows_new")
            .put_u64(a::STAT_VALUE, 44)
            .nest_end()
            .nest_end();
        buf.extend(m.finish(5));
        let mut m = MsgBuilder::genl(0x1d, libc::NLM_F_MULTI as u16, cmd, 1);
        m.put_u8(a::PROTO, 17)
            .put(a::VIP, &[10, 0, 0, 9])
            .put_u16(a::PORT, 53)
            .nest_start(a::REPLICAS)
            .nest_start(a::REPLICA)
            .put(a::REPLICA_ADDR, &[192, 168, 0, 1])
            .put_u8(a::UP, 0)
            .nest_end()
            .nest_end();
        buf.extend(m.finish(5));
        buf
    }

    fn decoded() -> Vec<Service> {
        let buf = dump();
        let mut v: Vec<Service> = messages(&buf)
            .map(|m| parse(GenlMsg::parse(&m.unwrap()).unwrap().attrs).unwrap())
            .collect();
        sort(&mut v);
        v
    }

    #[test]
    fn decodes_the_dump() {
        let v = decoded();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].vip, Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(v[1].vip, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(v[1].port, 80);
        assert_eq!(v[1].replicas[0].addr, Ipv4Addr::new(10, 0, 1, 1));
    }

    #[test]
    fn json() {
        assert_eq!(
            to_json(&decoded()).to_string(),
            concat!(
                r#"{"services":["#,
                r#"{"proto":"udp","vip":"10.0.0.9","port":53,"sched":null,"response_timeout_ms":null,"idle_timeout_ms":null,"grant_s":null,"unmarked_local":null,"fleet_seed":null,"granted":null,"stats":null,"#,
                r#""replicas":[{"addr":"192.168.0.1","weight":null,"up":false,"conns":null,"assigned":null,"confirmed":null,"rebound":null}]},"#,
                r#"{"proto":"tcp","vip":"10.0.0.100","port":80,"sched":"mh","response_timeout_ms":200,"idle_timeout_ms":30000,"grant_s":600,"unmarked_local":true,"fleet_seed":24301,"granted":2,"#,
                r#""stats":{"packets":1000,"flows_new":44},"#,
                r#""replicas":[{"addr":"10.0.1.1","weight":3,"up":true,"conns":12,"assigned":40,"confirmed":38,"rebound":3},"#,
                r#"{"addr":"10.0.1.2","weight":0,"up":true,"conns":4,"assigned":null,"confirmed":null,"rebound":null}]}"#,
                r#"]}"#
            )
        );
        assert_eq!(to_json(&[]).to_string(), r#"{"services":[]}"#);
    }

    #[test]
    fn human() {
        assert_eq!(
            to_human(&decoded()),
            "Prot VIP:Port       Sched            Response  Idle   Grant  Unmarked\n\
             \x20 -> Replica        Weight           State     Conns\n\
             UDP  10.0.0.9:53    -                -         -      -      -\n\
             \x20 -> 192.168.0.1    -                down      -\n\
             TCP  10.0.0.100:80  mh fleet 0x5eed  200ms     30s    600s   local\n\
             \x20 -> 10.0.1.1       3                up        12\n\
             \x20 -> 10.0.1.2       0                drain     4\n"
        );
    }

    #[test]
    fn stats_table() {
        assert_eq!(
            stats_human(&decoded()),
            "Prot VIP:Port        packets  flows_new\n\
             \x20 -> Replica        assigned  confirmed  rebound  conns\n\
             UDP  10.0.0.9:53           -          -\n\
             \x20 -> 192.168.0.1           -          -        -      -\n\
             TCP  10.0.0.100:80      1000         44\n\
             \x20 -> 10.0.1.1             40         38        3     12\n\
             \x20 -> 10.0.1.2              -          -        -      4\n"
        );
    }

    #[test]
    fn service_without_vip_is_an_error() {
        let mut m = MsgBuilder::genl(0x1d, 0, 5, 1);
        m.put_u8(a::PROTO, 6).put_u16(a::PORT, 80);
        let buf = m.finish(1);
        let msg = messages(&buf).next().unwrap().unwrap();
        let e = parse(GenlMsg::parse(&msg).unwrap().attrs).unwrap_err();
        assert_eq!(e.to_string(), "a service without IPRP_A_VIP");
    }
}
