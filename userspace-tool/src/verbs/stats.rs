// SPDX-License-Identifier: GPL-2.0

//! `iprpctl stats`: the counters and core stats of this network namespace
//! (`IPRP_CMD_GET_STATUS`, without the version and role) and the counters
//! of each service and replica (`IPRP_CMD_GET_SERVICE`).

use super::list::{self, Service};
use super::status::{self, Status};
use super::{opt, Ctx, Iprp, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::parse::Toks;

pub const VERB: Verb = Verb {
    name: "stats",
    summary: "show the counters of this network namespace, its services and replicas",
    usage: "stats [-j|--json|-p|--prometheus]",
    help: "Asks the iprp module (IPRP_CMD_GET_STATUS) for the counters of this\n\
           network namespace (IPRP_A_COUNTERS, as `status` shows them) and the\n\
           stats of the protocol core (IPRP_A_STATS), named \"<group>.<counter>\",\n\
           e.g. client.confirmed, in the module's order; drops are counted by\n\
           reason (drop_*, *_full, *_bad_*). Then, if the redirector has\n\
           services (IPRP_CMD_GET_SERVICE), each service's counters and the\n\
           flows assigned to, confirmed on and re-bound off each replica, as\n\
           `list --stats` shows them.\n\
           `iprpctl zero` sets the counters back to 0.\n\
           \n\
           Options:\n  \
             -p, --prometheus\n              \
                         print the same in the Prometheus text format, for a\n              \
                         scraper (e.g. node_exporter's textfile collector):\n              \
                         iprp_<counter>_total; iprp_<group>_<stat>_total, or\n              \
                         without _total for the table gauges (client.bindings,\n              \
                         client.checking, client.held_now, redirector.entries,\n              \
                         redirector.services, redirector.legacy_clients,\n              \
                         redirector.capable_clients, redirector.grants);\n              \
                         iprp_service_<counter>_total{proto,vip,port} and\n              \
                         the gauge iprp_service_grants{proto,vip,port};\n              \
                         iprp_replica_assigned_total,\n              \
                         iprp_replica_confirmed_total,\n              \
                         iprp_replica_rebound_total and the gauge\n              \
                         iprp_replica_connections{proto,vip,port,replica}\n  \
             -j, --json  print {\"counters\": {\"NAME\": N, ...},\n              \
                         \"stats\": {\"client.confirmed\": N, ...},\n              \
                         \"services\": [{\"proto\": \"tcp\", \"vip\": \"10.0.0.100\",\n              \
                         \"port\": 80, \"stats\": {\"flows_new\": N, ...},\n              \
                         \"granted\": N,\n              \
                         \"replicas\": [{\"addr\": \"10.0.1.1\", \"assigned\": N,\n              \
                         \"confirmed\": N, \"rebound\": N, \"conns\": N}]}]}\n  \
             -h, --help  this help\n",
    run,
};

pub fn to_json(s: &Status, services: &[Service]) -> Json {
    let mut o = Json::object();
    o.insert("counters", status::counters_json(s)).insert(
        "stats",
        status::stats_json(s.stats.as_deref().unwrap_or_default()),
    );
    let list = services
        .iter()
        .map(|svc| {
            let replicas = svc
                .replicas
                .iter()
                .map(|r| {
                    let mut o = Json::object();
                    o.insert("addr", r.addr.to_string())
                        .insert("assigned", opt(r.assigned))
                        .insert("confirmed", opt(r.confirmed))
                        .insert("rebound", opt(r.rebound))
                        .insert("conns", opt(r.conns));
                    o
                })
                .collect::<Vec<_>>();
            let mut o = Json::object();
            o.insert("proto", crate::uapi::proto_name(svc.proto))
                .insert("vip", svc.vip.to_string())
                .insert("port", u32::from(svc.port))
                .insert(
                    "stats",
                    status::stats_json(svc.stats.as_deref().unwrap_or_default()),
                )
                .insert("granted", opt(svc.granted))
                .insert("replicas", replicas);
            o
        })
        .collect::<Vec<_>>();
    o.insert("services", list);
    o
}

/// The core's stats that are table gauges, not event counts: what
/// `put_stats` in the module's src/dump.rs writes first (a host test keeps
/// the two lists equal).
pub const GAUGES: [&str; 8] = [
    "client.bindings",
    "client.checking",
    "client.held_now",
    "redirector.entries",
    "redirector.services",
    "redirector.legacy_clients",
    "redirector.capable_clients",
    "redirector.grants",
];

/// A metric name from `iprp_` and `parts`: every character outside
/// `[A-Za-z0-9_]` becomes `_`.
fn metric(parts: &[&str]) -> String {
    let mut m = String::from("iprp");
    for p in parts {
        m.push('_');
        m.extend(p.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        }));
    }
    m
}

/// Families in the order of their first sample: each family's `# TYPE`
/// line once, then all its samples together, as the text format wants.
#[derive(Default)]
struct Families(Vec<(String, &'static str, Vec<String>)>);

impl Families {
    fn add(&mut self, name: String, kind: &'static str, labels: &str, v: u64) {
        let sample = format!("{name}{labels} {v}");
        match self.0.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.2.push(sample),
            None => self.0.push((name, kind, vec![sample])),
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (name, kind, samples) in &self.0 {
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            for s in samples {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }
}

/// The Prometheus text format (version 0.0.4) of what `to_json` prints.
pub fn to_prometheus(s: &Status, services: &[Service]) -> String {
    let mut f = Families::default();
    for &(id, v) in &s.counters {
        f.add(
            metric(&[&crate::uapi::counter_name(id), "total"]),
            "counter",
            "",
            v,
        );
    }
    for (n, v) in s.stats.as_deref().unwrap_or_default() {
        if GAUGES.contains(&n.as_str()) {
            f.add(metric(&[n]), "gauge", "", *v);
        } else {
            f.add(metric(&[n, "total"]), "counter", "", *v);
        }
    }
    for svc in services {
        let labels = format!(
            "proto=\"{}\",vip=\"{}\",port=\"{}\"",
            crate::uapi::proto_name(svc.proto),
            svc.vip,
            svc.port
        );
        for (n, v) in svc.stats.as_deref().unwrap_or_default() {
            f.add(
                metric(&["service", n, "total"]),
                "counter",
                &format!("{{{labels}}}"),
                *v,
            );
        }
        if let Some(v) = svc.granted {
            f.add(
                metric(&["service", "grants"]),
                "gauge",
                &format!("{{{labels}}}"),
                u64::from(v),
            );
        }
        for r in &svc.replicas {
            let l = format!("{{{labels},replica=\"{}\"}}", r.addr);
            for (name, v) in [
                ("assigned", r.assigned),
                ("confirmed", r.confirmed),
                ("rebound", r.rebound),
            ] {
                if let Some(v) = v {
                    f.add(metric(&["replica", name, "total"]), "counter", &l, v);
                }
            }
            if let Some(v) = r.conns {
                f.add(
                    metric(&["replica", "connections"]),
                    "gauge",
                    &l,
                    u64::from(v),
                );
            }
        }
    }
    f.text()
}

pub fn to_human(s: &Status, services: &[Service]) -> String {
    let mut s = s.clone();
    s.stats.get_or_insert_with(Vec::new);
    let mut out = status::tables(&s);
    if !services.is_empty() {
        out.push('\n');
        out.push_str(&list::stats_human(services));
    }
    out
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    let mut t = Toks::new(VERB.name, &toks);
    let mut prometheus = false;
    while let Some(tok) = t.next() {
        match tok {
            "-p" | "--prometheus" => prometheus = true,
            _ => return Err(t.unexpected(tok)),
        }
    }
    if prometheus && ctx.json {
        return Err(t.unexpected("--json"));
    }
    let mut iprp = Iprp::connect()?;
    let s = status::fetch(&mut iprp)?;
    let services = list::fetch(&mut iprp)?;
    let text = if prometheus {
        to_prometheus(&s, &services)
    } else if ctx.json {
        format!("{}\n", to_json(&s, &services))
    } else {
        to_human(&s, &services)
    };
    super::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, GenlMsg, MsgBuilder};
    use crate::uapi::{a, iprp_cmd, iprp_counter};

    fn decoded() -> Status {
        let mut b = MsgBuilder::genl(0x1d, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
        b.put_str(a::VERSION, "0.2.0")
            .put_u32(a::ROLE, 1)
            .nest_start(a::COUNTERS)
            .put_u64(iprp_counter::IPRP_CTR_MSG_TX as u16, 9)
            .put_u64(iprp_counter::IPRP_CTR_PROTO_RX as u16, 4)
            .nest_end()
            .nest_start(a::STATS)
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "client.confirmed")
            .put_u64(a::STAT_VALUE, 2)
            .nest_end()
            .put(a::PAD, &[0, 0, 0, 0])
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "client.alarm")
            .put_u64(a::STAT_VALUE, 0)
            .nest_end()
            .nest_end();
        let buf = b.finish(1);
        let m = messages(&buf).next().unwrap().unwrap();
        status::parse(GenlMsg::parse(&m).unwrap().attrs).unwrap()
    }

    /// Replica 10.0.0.`last` of weight 1: all but one of its flows
    /// confirmed, one re-bound.
    fn replica(last: u8, up: bool, conns: u32, assigned: u64) -> list::Replica {
        list::Replica {
            addr: std::net::Ipv4Addr::new(10, 0, 0, last),
            weight: Some(1),
            up: Some(up),
            conns: Some(conns),
            assigned: Some(assigned),
            confirmed: Some(assigned - 1),
            rebound: Some(1),
        }
    }

    /// Service 10.0.0.100:`port` (rr) with its replicas and counters.
    fn service(
        proto: u8,
        port: u16,
        replicas: Vec<list::Replica>,
        stats: Vec<(String, u64)>,
    ) -> Service {
        Service {
            proto,
            vip: std::net::Ipv4Addr::new(10, 0, 0, 100),
            port,
            sched: Some(0),
            response_timeout_ms: None,
            idle_timeout_ms: None,
            grant_s: None,
            unmarked_local: None,
            fleet_seed: None,
            granted: Some(3),
            replicas,
            stats: Some(stats),
        }
    }

    #[test]
    fn json() {
        assert_eq!(
            to_json(&decoded(), &[]).to_string(),
            r#"{"counters":{"proto_rx":4,"msg_tx":9},"stats":{"client.confirmed":2,"client.alarm":0},"services":[]}"#
        );
        assert_eq!(
            to_json(&Status::default(), &[]).to_string(),
            r#"{"counters":{},"stats":{},"services":[]}"#
        );
        let svc = service(
            6,
            80,
            vec![replica(11, true, 1, 9)],
            vec![("flows_new".into(), 9)],
        );
        assert_eq!(
            to_json(&Status::default(), std::slice::from_ref(&svc)).to_string(),
            concat!(
                r#"{"counters":{},"stats":{},"services":[{"proto":"tcp","vip":"10.0.0.100","port":80,"#,
                r#""stats":{"flows_new":9},"granted":3,"replicas":[{"addr":"10.0.0.11","assigned":9,"confirmed":8,"rebound":1,"conns":1}]}]}"#
            )
        );
        let human = to_human(&Status::default(), &[svc]);
        assert!(
            human.ends_with(
                "\nProt VIP:Port       flows_new\n\
                 \x20 -> Replica         assigned  confirmed  rebound  conns\n\
                 TCP  10.0.0.100:80          9\n\
                 \x20 -> 10.0.0.11              9          8        1      1\n"
            ),
            "{human}"
        );
    }

    #[test]
    fn prometheus() {
        let svc = service(
            17,
            53,
            vec![replica(11, true, 1, 9), replica(12, false, 0, 2)],
            vec![("flows_new".into(), 11), ("flows_local".into(), 0)],
        );
        let mut st = decoded();
        st.stats
            .get_or_insert_with(Vec::new)
            .push(("client.bindings".into(), 5));
        let text = to_prometheus(&st, &[svc.clone(), Service { port: 54, ..svc }]);
        assert_eq!(
            text,
            concat!(
                "# TYPE iprp_proto_rx_total counter\n",
                "iprp_proto_rx_total 4\n",
                "# TYPE iprp_msg_tx_total counter\n",
                "iprp_msg_tx_total 9\n",
                "# TYPE iprp_client_confirmed_total counter\n",
                "iprp_client_confirmed_total 2\n",
                "# TYPE iprp_client_alarm_total counter\n",
                "iprp_client_alarm_total 0\n",
                "# TYPE iprp_client_bindings gauge\n",
                "iprp_client_bindings 5\n",
                "# TYPE iprp_service_flows_new_total counter\n",
                "iprp_service_flows_new_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\"} 11\n",
                "iprp_service_flows_new_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\"} 11\n",
                "# TYPE iprp_service_flows_local_total counter\n",
                "iprp_service_flows_local_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\"} 0\n",
                "iprp_service_flows_local_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\"} 0\n",
                "# TYPE iprp_service_grants gauge\n",
                "iprp_service_grants{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\"} 3\n",
                "iprp_service_grants{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\"} 3\n",
                "# TYPE iprp_replica_assigned_total counter\n",
                "iprp_replica_assigned_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.11\"} 9\n",
                "iprp_replica_assigned_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.12\"} 2\n",
                "iprp_replica_assigned_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.11\"} 9\n",
                "iprp_replica_assigned_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.12\"} 2\n",
                "# TYPE iprp_replica_confirmed_total counter\n",
                "iprp_replica_confirmed_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.11\"} 8\n",
                "iprp_replica_confirmed_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.12\"} 1\n",
                "iprp_replica_confirmed_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.11\"} 8\n",
                "iprp_replica_confirmed_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.12\"} 1\n",
                "# TYPE iprp_replica_rebound_total counter\n",
                "iprp_replica_rebound_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.11\"} 1\n",
                "iprp_replica_rebound_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.12\"} 1\n",
                "iprp_replica_rebound_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.11\"} 1\n",
                "iprp_replica_rebound_total{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.12\"} 1\n",
                "# TYPE iprp_replica_connections gauge\n",
                "iprp_replica_connections{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.11\"} 1\n",
                "iprp_replica_connections{proto=\"udp\",vip=\"10.0.0.100\",port=\"53\",replica=\"10.0.0.12\"} 0\n",
                "iprp_replica_connections{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.11\"} 1\n",
                "iprp_replica_connections{proto=\"udp\",vip=\"10.0.0.100\",port=\"54\",replica=\"10.0.0.12\"} 0\n",
            )
        );
        assert_eq!(metric(&["a.b-c", "total"]), "iprp_a_b_c_total");
        assert_eq!(to_prometheus(&Status::default(), &[]), "");
    }

    #[test]
    fn human() {
        assert_eq!(
            to_human(&decoded(), &[]),
            "COUNTER   VALUE\n\
             proto_rx      4\n\
             msg_tx        9\n\
             \n\
             STAT              VALUE\n\
             client.confirmed      2\n\
             client.alarm          0\n"
        );
    }
}
