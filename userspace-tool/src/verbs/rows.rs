// SPDX-License-Identifier: GPL-2.0

//! `iprpctl bindings` (client bindings, `IPRP_CMD_GET_BINDING`) and
//! `iprpctl flows` (redirector redirection and accept tables,
//! `IPRP_CMD_GET_FLOW`). Both dumps send one message per entry with the
//! same attributes; `IPRP_A_PEER` is the redirector in a binding and the
//! client in a flow.

use std::net::Ipv4Addr;

use super::{fmt_ms, in_addr, opt, required, Ctx, Iprp, ServiceKey, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::netlink::Attrs;
use crate::output::{Align, Table};
use crate::parse::{self, Toks};
use crate::uapi::{self, a, iprp_cmd};

pub const BINDINGS: Verb = Verb {
    name: "bindings",
    summary: "list the client's bindings (flows redirected to a replica)",
    usage: "bindings [service tcp|udp VIP:PORT] [redirector ADDR] [-k|--keys] [-j|--json]",
    help: "Dumps the bindings of the client in this network namespace\n\
           (IPRP_CMD_GET_BINDING): flows to a redirector's service that the\n\
           client's IP layer sends to a replica instead, sorted by redirector,\n\
           port and client port.\n\
           \n\
           Filters (applied by the module; both may be given):\n  \
             service tcp|udp VIP:PORT   only the bindings of this service (VIP\n                             \
                                        is the redirector's service address);\n                             \
                                        also -t VIP:PORT / -u VIP:PORT\n  \
             redirector ADDR            only the bindings to this redirector\n\
           \n\
           Columns: protocol, redirector:port (the address the socket is\n\
           connected to), client port, replica, state (checking, confirmed, ...)\n\
           and age (time since the last activity).\n\
           \n\
           Options:\n  \
             -k, --keys  also show the binding keys (secret: not shown by default)\n  \
             -j, --json  print {\"bindings\": [{\"proto\": \"tcp\", \"redirector\": \"10.0.0.100\",\n              \
                         \"port\": 80, \"cport\": 40000, \"replica\": \"10.0.1.1\",\n              \
                         \"state\": \"confirmed\", \"age_ms\": 1200}]}\n              \
                         (with -k, a \"key\" member too)\n  \
             -h, --help  this help\n",
    run: run_bindings,
};

pub const FLOWS: Verb = Verb {
    name: "flows",
    summary: "list the redirector's redirection and accept tables",
    usage: "flows [service tcp|udp VIP:PORT] [client ADDR] [-j|--json]",
    help: "Dumps the redirector's entries in this network namespace\n\
           (IPRP_CMD_GET_FLOW): flows of clients to a service, sorted by client\n\
           and ports, in state sent (redirection requested), confirmed (the\n\
           client is bound to the replica) or accept (served by the redirector\n\
           itself, replica \"-\").\n\
           \n\
           Filters (applied by the module; both may be given):\n  \
             service tcp|udp VIP:PORT   only the flows of this service; also\n                             \
                                        -t VIP:PORT / -u VIP:PORT\n  \
             client ADDR                only the flows of this client\n\
           \n\
           Options:\n  \
             -j, --json  print {\"flows\": [{\"proto\": \"tcp\", \"client\": \"10.0.2.7\",\n              \
                         \"cport\": 40000, \"vip\": \"10.0.0.100\", \"port\": 80,\n              \
                         \"replica\": \"10.0.1.1\", \"state\": \"confirmed\", \"age_ms\": 1200}]}\n              \
                         (replica null in state accept)\n  \
             -h, --help  this help\n",
    run: run_flows,
};

/// One entry of either dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub peer: Ipv4Addr,
    pub proto: u8,
    pub cport: u16,
    pub port: u16,
    pub vip: Option<Ipv4Addr>,
    /// `None` if absent or 0.0.0.0 (served locally).
    pub replica: Option<Ipv4Addr>,
    pub state: Option<u8>,
    pub age_ms: Option<u32>,
    pub key: Option<u32>,
}

/// Decodes one message of the `IPRP_CMD_GET_BINDING` or
/// `IPRP_CMD_GET_FLOW` dump.
pub fn parse(attrs: Attrs<'_>) -> Result<Row> {
    let (mut peer, mut proto, mut cport, mut port) = (None, None, None, None);
    let mut r = Row {
        peer: Ipv4Addr::UNSPECIFIED,
        proto: 0,
        cport: 0,
        port: 0,
        vip: None,
        replica: None,
        state: None,
        age_ms: None,
        key: None,
    };
    for f in attrs {
        let f = f?;
        match f.ty {
            a::PEER => peer = Some(in_addr(&f)?),
            a::PROTO => proto = Some(f.u8()?),
            a::CPORT => cport = Some(f.u16()?),
            a::PORT => port = Some(f.u16()?),
            a::VIP => r.vip = Some(in_addr(&f)?),
            a::REPLICA_ADDR => r.replica = Some(in_addr(&f)?).filter(|a| !a.is_unspecified()),
            a::STATE => r.state = Some(f.u8()?),
            a::AGE => r.age_ms = Some(f.u32()?),
            a::KEY => r.key = Some(f.u32()?),
            _ => {}
        }
    }
    r.peer = required(peer, "an entry", a::PEER)?;
    r.proto = required(proto, "an entry", a::PROTO)?;
    r.cport = required(cport, "an entry", a::CPORT)?;
    r.port = required(port, "an entry", a::PORT)?;
    Ok(r)
}

/// Sorts entries by peer, server port, client port, protocol.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by_key(|r| (r.peer, r.port, r.cport, r.proto));
}

fn addr_json(a: Option<Ipv4Addr>) -> Json {
    opt(a.map(|a| a.to_string()))
}

fn state_str(r: &Row) -> String {
    r.state.map(uapi::state_name).unwrap_or_else(|| "-".into())
}

fn dash(a: Option<impl ToString>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
}

pub fn bindings_json(rows: &[Row], keys: bool) -> Json {
    let list = rows
        .iter()
        .map(|r| {
            let mut o = Json::object();
            o.insert("proto", uapi::proto_name(r.proto))
                .insert("redirector", r.peer.to_string())
                .insert("port", u32::from(r.port))
                .insert("cport", u32::from(r.cport))
                .insert("replica", addr_json(r.replica))
                .insert("state", opt(r.state.map(uapi::state_name)))
                .insert("age_ms", opt(r.age_ms));
            if keys {
                o.insert("key", opt(r.key));
            }
            o
        })
        .collect::<Vec<_>>();
    let mut o = Json::object();
    o.insert("bindings", list);
    o
}

pub fn bindings_human(rows: &[Row], keys: bool) -> String {
    let (l, rt) = (Align::Left, Align::Right);
    let mut cols = vec![
        ("Prot", l),
        ("Redirector:Port", l),
        ("CPort", rt),
        ("Replica", l),
        ("State", l),
        ("Age", rt),
    ];
    if keys {
        cols.push(("Key", l));
    }
    let mut t = Table::new(&cols);
    for r in rows {
        let mut cells = vec![
            uapi::proto_name(r.proto).to_ascii_uppercase(),
            format!("{}:{}", r.peer, r.port),
            r.cport.to_string(),
            dash(r.replica),
            state_str(r),
            dash(r.age_ms.map(fmt_ms)),
        ];
        if keys {
            cells.push(dash(r.key.map(|k| format!("{k:#010x}"))));
        }
        t.row(cells);
    }
    t.render()
}

pub fn flows_json(rows: &[Row]) -> Json {
    let list = rows
        .iter()
        .map(|r| {
            let mut o = Json::object();
            o.insert("proto", uapi::proto_name(r.proto))
                .insert("client", r.peer.to_string())
                .insert("cport", u32::from(r.cport))
                .insert("vip", addr_json(r.vip))
                .insert("port", u32::from(r.port))
                .insert("replica", addr_json(r.replica))
                .insert("state", opt(r.state.map(uapi::state_name)))
                .insert("age_ms", opt(r.age_ms));
            o
        })
        .collect::<Vec<_>>();
    let mut o = Json::object();
    o.insert("flows", list);
    o
}

pub fn flows_human(rows: &[Row]) -> String {
    let (l, rt) = (Align::Left, Align::Right);
    let mut t = Table::new(&[
        ("Prot", l),
        ("Client:CPort", l),
        ("VIP:Port", l),
        ("Replica", l),
        ("State", l),
        ("Age", rt),
    ]);
    for r in rows {
        t.row([
            uapi::proto_name(r.proto).to_ascii_uppercase(),
            format!("{}:{}", r.peer, r.cport),
            match r.vip {
                Some(v) => format!("{v}:{}", r.port),
                None => format!("-:{}", r.port),
            },
            dash(r.replica),
            state_str(r),
            dash(r.age_ms.map(fmt_ms)),
        ]);
    }
    t.render()
}

/// What `bindings` or `flows` asks for: the dump filter attributes
/// (`PROTO`+`VIP`+`PORT`, `PEER`) and, for bindings, whether to show keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub filter: Vec<Val>,
    pub keys: bool,
}

/// Parses the arguments of `bindings` (`peer_kw` "redirector", keys
/// allowed) or `flows` (`peer_kw` "client").
pub fn parse_query(verb: &str, peer_kw: &str, toks: &[String]) -> Result<Query> {
    let mut t = Toks::new(verb, toks);
    let mut q = Query::default();
    let (mut service, mut peer) = (None, None);
    while let Some(tok) = t.next() {
        let key = match tok {
            "-k" | "--keys" if verb == BINDINGS.name => {
                q.keys = true;
                continue;
            }
            "service" => ServiceKey::parse(&mut t)?,
            "-t" | "--tcp-service" | "-u" | "--udp-service" => {
                let v = t.value(tok)?;
                let (vip, port) = parse::endpoint(&t, v)?;
                let proto = if matches!(tok, "-t" | "--tcp-service") {
                    libc::IPPROTO_TCP
                } else {
                    libc::IPPROTO_UDP
                };
                ServiceKey {
                    proto: proto as u8,
                    vip,
                    port,
                }
            }
            kw if kw == peer_kw || kw == "peer" => {
                let v = t.value(kw)?;
                if peer
                    .replace(parse::unicast(&t, &format!("{peer_kw} address"), v)?)
                    .is_some()
                {
                    return Err(t.err(format!("'{kw}' given twice")));
                }
                continue;
            }
            _ => return Err(t.unexpected(tok)),
        };
        if service.replace(key).is_some() {
            return Err(t.err("only one service filter may be given"));
        }
    }
    if let Some(k) = service {
        q.filter.push(Val::U8(a::PROTO, k.proto));
        q.filter.push(Val::InAddr(a::VIP, k.vip));
        q.filter.push(Val::U16(a::PORT, k.port));
    }
    if let Some(p) = peer {
        q.filter.push(Val::InAddr(a::PEER, p));
    }
    Ok(q)
}

fn run_bindings(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &BINDINGS)? else {
        return Ok(());
    };
    let Query { filter, keys } = parse_query(BINDINGS.name, "redirector", &toks)?;
    let mut rows =
        Iprp::connect()?.dump_filtered(iprp_cmd::IPRP_CMD_GET_BINDING, &filter, parse)?;
    sort(&mut rows);
    let text = if ctx.json {
        format!("{}\n", bindings_json(&rows, keys))
    } else {
        bindings_human(&rows, keys)
    };
    super::print(&text)
}

fn run_flows(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &FLOWS)? else {
        return Ok(());
    };
    let q = parse_query(FLOWS.name, "client", &toks)?;
    let mut rows = Iprp::connect()?.dump_filtered(iprp_cmd::IPRP_CMD_GET_FLOW, &q.filter, parse)?;
    sort(&mut rows);
    let text = if ctx.json {
        format!("{}\n", flows_json(&rows))
    } else {
        flows_human(&rows)
    };
    super::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, GenlMsg, MsgBuilder};
    use crate::uapi::iprp_state;

    /// One dump message as the module's iprp_put_row() builds it.
    #[allow(clippy::too_many_arguments)]
    fn row(
        cmd: u32,
        peer: [u8; 4],
        vip: Option<[u8; 4]>,
        replica: [u8; 4],
        proto: u8,
        cport: u16,
        port: u16,
        state: u32,
        age: u32,
        key: Option<u32>,
    ) -> Vec<u8> {
        let mut m = MsgBuilder::genl(0x1d, libc::NLM_F_MULTI as u16, cmd as u8, 1);
        m.put(a::PEER, &peer);
        if let Some(v) = vip {
            m.put(a::VIP, &v);
        }
        m.put(a::REPLICA_ADDR, &replica)
            .put_u8(a::PROTO, proto)
            .put_u16(a::CPORT, cport)
            .put_u16(a::PORT, port)
            .put_u8(a::STATE, state as u8)
            .put_u32(a::AGE, age);
        if let Some(k) = key {
            m.put_u32(a::KEY, k);
        }
        m.finish(9)
    }

    fn decode(buf: &[u8]) -> Vec<Row> {
        let mut v: Vec<Row> = messages(buf)
            .map(|m| parse(GenlMsg::parse(&m.unwrap()).unwrap().attrs).unwrap())
            .collect();
        sort(&mut v);
        v
    }

    fn bindings() -> Vec<Row> {
        let cmd = iprp_cmd::IPRP_CMD_GET_BINDING;
        let mut buf = row(
            cmd,
            [10, 0, 0, 100],
            None,
            [10, 0, 1, 1],
            6,
            40002,
            80,
            iprp_state::IPRP_STATE_CHECKING,
            250,
            None,
        );
        buf.extend(row(
            cmd,
            [10, 0, 0, 100],
            None,
            [10, 0, 1, 2],
            6,
            40001,
            80,
            iprp_state::IPRP_STATE_CONFIRMED,
            12000,
            Some(0xdeadbeef),
        ));
        decode(&buf)
    }

    #[test]
    fn bindings_output() {
        let rows = bindings();
        assert_eq!(rows[0].cport, 40001);
        assert_eq!(
            bindings_json(&rows, false).to_string(),
            concat!(
                r#"{"bindings":["#,
                r#"{"proto":"tcp","redirector":"10.0.0.100","port":80,"cport":40001,"replica":"10.0.1.2","state":"confirmed","age_ms":12000},"#,
                r#"{"proto":"tcp","redirector":"10.0.0.100","port":80,"cport":40002,"replica":"10.0.1.1","state":"checking","age_ms":250}"#,
                r#"]}"#
            )
        );
        let with_keys = bindings_json(&rows, true).to_string();
        assert!(
            with_keys.contains(r#""age_ms":12000,"key":3735928559}"#),
            "{with_keys}"
        );
        assert!(
            with_keys.contains(r#""age_ms":250,"key":null}"#),
            "{with_keys}"
        );
        let human = bindings_human(&rows, false);
        assert_eq!(
            human,
            "Prot  Redirector:Port  CPort  Replica   State        Age\n\
             TCP   10.0.0.100:80    40001  10.0.1.2  confirmed    12s\n\
             TCP   10.0.0.100:80    40002  10.0.1.1  checking   250ms\n"
        );
        assert!(!human.contains("deadbeef"));
        assert!(bindings_human(&rows, true).contains("0xdeadbeef"));
        assert_eq!(bindings_json(&[], false).to_string(), r#"{"bindings":[]}"#);
    }

    #[test]
    fn flows_output() {
        let cmd = iprp_cmd::IPRP_CMD_GET_FLOW;
        let mut buf = row(
            cmd,
            [10, 0, 2, 7],
            Some([10, 0, 0, 100]),
            [10, 0, 1, 1],
            6,
            40000,
            80,
            iprp_state::IPRP_STATE_SENT,
            5,
            None,
        );
        buf.extend(row(
            cmd,
            [10, 0, 2, 8],
            Some([10, 0, 0, 100]),
            [0, 0, 0, 0],
            17,
            5353,
            53,
            iprp_state::IPRP_STATE_ACCEPT,
            3000,
            None,
        ));
        let rows = decode(&buf);
        assert_eq!(
            flows_json(&rows).to_string(),
            concat!(
                r#"{"flows":["#,
                r#"{"proto":"tcp","client":"10.0.2.7","cport":40000,"vip":"10.0.0.100","port":80,"replica":"10.0.1.1","state":"sent","age_ms":5},"#,
                r#"{"proto":"udp","client":"10.0.2.8","cport":5353,"vip":"10.0.0.100","port":53,"replica":null,"state":"accept","age_ms":3000}"#,
                r#"]}"#
            )
        );
        assert_eq!(
            flows_human(&rows),
            "Prot  Client:CPort    VIP:Port       Replica   State   Age\n\
             TCP   10.0.2.7:40000  10.0.0.100:80  10.0.1.1  sent    5ms\n\
             UDP   10.0.2.8:5353   10.0.0.100:53  -         accept   3s\n"
        );
    }

    fn q(verb: &str, peer: &str, a: &[&str]) -> Result<Query> {
        let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        parse_query(verb, peer, &v)
    }

    #[test]
    fn filters() {
        let vip = Ipv4Addr::new(10, 0, 0, 100);
        let svc = |proto| {
            vec![
                Val::U8(a::PROTO, proto),
                Val::InAddr(a::VIP, vip),
                Val::U16(a::PORT, 8080),
            ]
        };
        assert_eq!(q("flows", "client", &[]).unwrap(), Query::default());
        assert_eq!(
            q("flows", "client", &["service", "tcp", "10.0.0.100:8080"])
                .unwrap()
                .filter,
            svc(6)
        );
        assert_eq!(
            q("flows", "client", &["-u", "10.0.0.100:8080"])
                .unwrap()
                .filter,
            svc(17)
        );
        let mut both = svc(6);
        both.push(Val::InAddr(a::PEER, Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            q(
                "flows",
                "client",
                &["client", "10.0.0.1", "-t", "10.0.0.100:8080"]
            )
            .unwrap()
            .filter,
            both
        );
        let b = q(
            "bindings",
            "redirector",
            &["-k", "redirector", "10.0.0.100"],
        )
        .unwrap();
        assert!(b.keys);
        assert_eq!(b.filter, vec![Val::InAddr(a::PEER, vip)]);
        let err = |verb: &str, peer: &str, a: &[&str]| q(verb, peer, a).unwrap_err().to_string();
        assert_eq!(
            err("flows", "client", &["-k"]),
            "flows: unknown option '-k'"
        );
        assert_eq!(
            err("flows", "client", &["redirector", "10.0.0.1"]),
            "flows: unexpected argument 'redirector'"
        );
        assert!(err("flows", "client", &["client", "10.0.0.300"])
            .contains("invalid client address '10.0.0.300'"));
        assert!(
            err("bindings", "redirector", &["service", "sctp", "1.2.3.4:5"])
                .contains("unknown protocol 'sctp'")
        );
        assert_eq!(
            err(
                "flows",
                "client",
                &["-t", "10.0.0.1:80", "-u", "10.0.0.1:53"]
            ),
            "flows: only one service filter may be given"
        );
        assert_eq!(
            err("flows", "client", &["client"]),
            "flows: 'client' needs a value"
        );
    }

    #[test]
    fn entry_without_peer_is_an_error() {
        let mut m = MsgBuilder::genl(0x1d, 0, 9, 1);
        m.put_u8(a::PROTO, 6);
        let buf = m.finish(1);
        let msg = messages(&buf).next().unwrap().unwrap();
        let e = parse(GenlMsg::parse(&msg).unwrap().attrs).unwrap_err();
        assert_eq!(e.to_string(), "an entry without IPRP_A_PEER");
    }
}
