// SPDX-License-Identifier: GPL-2.0

//! `iprpctl legacy list|forget|flush`: the redirector's client cache, the
//! clients it knows to have no IPRP (legacy) or to speak it (capable)
//! (`IPRP_CMD_GET_LEGACY` dump, `IPRP_CMD_DEL_LEGACY`).

use std::net::Ipv4Addr;

use super::{fmt_ms, in_addr, opt, required, Change, Ctx, Iprp, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::netlink::Attrs;
use crate::output::{Align, Table};
use crate::parse::{self, Toks};
use crate::uapi::{self, a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "legacy",
    summary: "list or forget the clients the redirector knows as legacy or capable",
    usage: "legacy [list] [client ADDR] [-j|--json]\n       \
            iprpctl legacy forget ADDR\n       \
            iprpctl legacy flush",
    help: "The redirector's client cache in this network namespace. A client\n\
           is learned as legacy (no IPRP) when it answers a REQ with ICMP\n\
           protocol unreachable, or leaves it unanswered for the service's\n\
           response timeout unless it confirmed a flow within the last 10\n\
           minutes; for `set legacy-ttl` (default 60 s) its new flows are\n\
           then served by the redirector at once, without a REQ. A client\n\
           that confirms a flow is known as capable (no longer legacy).\n\
           The cache has `role ... legacy-capacity` slots.\n\
           \n\
           list (the default)   dumps the cache (IPRP_CMD_GET_LEGACY), sorted\n                     \
                                by address: client, known (legacy or\n                     \
                                capable) and the time until it is forgotten\n  \
             client ADDR        only this client (filter applied by the module)\n\
           forget ADDR          forgets one client (IPRP_CMD_DEL_LEGACY with\n                     \
                                IPRP_A_PEER), e.g. after installing IPRP on it:\n                     \
                                its next new flow sends a REQ again; a client\n                     \
                                the cache does not hold is an error (ENOENT)\n\
           flush                forgets every client (IPRP_CMD_DEL_LEGACY)\n\
           \n\
           Options of list:\n  \
             -j, --json  print {\"clients\": [{\"client\": \"10.0.0.21\",\n              \
                         \"known\": \"legacy\", \"expires_ms\": 41800}]}\n  \
             -h, --help  this help\n\
           \n\
           forget and flush need CAP_NET_ADMIN and print nothing on success.\n\
           \n\
           Examples:\n  \
             iprpctl legacy list\n  \
             iprpctl legacy list client 10.0.0.21 -j\n  \
             iprpctl legacy forget 10.0.0.21\n  \
             iprpctl legacy flush\n",
    run,
};

/// What `legacy` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Legacy {
    /// Dump the cache, with these filter attributes (`PEER`).
    List(Vec<Val>),
    /// `DEL_LEGACY`, with `PEER` (forget) or without (flush).
    Del(Change),
}

pub fn parse(toks: &[String]) -> Result<Legacy> {
    let mut t = Toks::new(VERB.name, toks);
    let op = match t.peek() {
        None => "list",
        Some(op @ ("list" | "forget" | "flush")) => {
            t.next();
            op
        }
        // `legacy client ADDR` is `legacy list client ADDR`.
        Some("client") => "list",
        Some(other) => {
            return Err(t.err(format!(
                "unknown subcommand '{other}' (expected list, forget or flush)"
            )))
        }
    };
    match op {
        "forget" => {
            t.verb = "legacy forget".into();
            let v = t
                .next()
                .ok_or_else(|| t.err("missing client address (ADDR)"))?;
            let addr = parse::unicast(&t, "client address", v)?;
            t.end()?;
            let mut c = Change::new(iprp_cmd::IPRP_CMD_DEL_LEGACY);
            c.push(Val::InAddr(a::PEER, addr));
            Ok(Legacy::Del(c))
        }
        "flush" => {
            t.verb = "legacy flush".into();
            t.end()?;
            Ok(Legacy::Del(Change::new(iprp_cmd::IPRP_CMD_DEL_LEGACY)))
        }
        _ => {
            t.verb = "legacy list".into();
            let mut peer = None;
            while let Some(tok) = t.next() {
                match tok {
                    "client" => {
                        let v = t.value(tok)?;
                        if peer
                            .replace(parse::unicast(&t, "client address", v)?)
                            .is_some()
                        {
                            return Err(t.err("'client' given twice"));
                        }
                    }
                    _ => return Err(t.unexpected(tok)),
                }
            }
            Ok(Legacy::List(
                peer.map(|p| Val::InAddr(a::PEER, p)).into_iter().collect(),
            ))
        }
    }
}

/// One client of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub addr: Ipv4Addr,
    /// `enum iprp_known`.
    pub known: Option<u8>,
    /// ms until the redirector forgets it.
    pub expires_ms: Option<u32>,
}

/// Decodes one message of the `IPRP_CMD_GET_LEGACY` dump.
pub fn parse_client(attrs: Attrs<'_>) -> Result<Client> {
    let mut peer = None;
    let mut c = Client {
        addr: Ipv4Addr::UNSPECIFIED,
        known: None,
        expires_ms: None,
    };
    for f in attrs {
        let f = f?;
        match f.ty {
            a::PEER => peer = Some(in_addr(&f)?),
            a::KNOWN => c.known = Some(f.u8()?),
            a::EXPIRES => c.expires_ms = Some(f.u32()?),
            _ => {}
        }
    }
    c.addr = required(peer, "a legacy cache entry", a::PEER)?;
    Ok(c)
}

pub fn to_json(clients: &[Client]) -> Json {
    let list = clients
        .iter()
        .map(|c| {
            let mut o = Json::object();
            o.insert("client", c.addr.to_string())
                .insert("known", opt(c.known.map(uapi::known_name)))
                .insert("expires_ms", opt(c.expires_ms));
            o
        })
        .collect::<Vec<_>>();
    let mut o = Json::object();
    o.insert("clients", list);
    o
}

pub fn to_human(clients: &[Client]) -> String {
    let mut t = Table::new(&[
        ("Client", Align::Left),
        ("Known", Align::Left),
        ("Expires", Align::Right),
    ]);
    let dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
    for c in clients {
        t.row([
            c.addr.to_string(),
            dash(c.known.map(uapi::known_name)),
            dash(c.expires_ms.map(fmt_ms)),
        ]);
    }
    t.render()
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    match parse(&toks)? {
        Legacy::Del(c) => Iprp::connect()?.apply(&c),
        Legacy::List(filter) => {
            let mut clients = Iprp::connect()?.dump_filtered(
                iprp_cmd::IPRP_CMD_GET_LEGACY,
                &filter,
                parse_client,
            )?;
            clients.sort_by_key(|c| c.addr);
            let text = if ctx.json {
                format!("{}\n", to_json(&clients))
            } else {
                to_human(&clients)
            };
            super::print(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, GenlMsg, MsgBuilder};
    use crate::uapi::iprp_known;

    fn p(a: &[&str]) -> Result<Legacy> {
        super::super::testutil::run(parse, a)
    }

    fn usage(a: &[&str]) -> String {
        super::super::testutil::usage_of(a, p(a))
    }

    const L: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);

    #[test]
    fn parses_subcommands() {
        assert_eq!(p(&[]).unwrap(), Legacy::List(vec![]));
        assert_eq!(p(&["list"]).unwrap(), Legacy::List(vec![]));
        let one = Legacy::List(vec![Val::InAddr(a::PEER, L)]);
        assert_eq!(p(&["list", "client", "10.0.0.21"]).unwrap(), one);
        assert_eq!(p(&["client", "10.0.0.21"]).unwrap(), one);
        let Legacy::Del(c) = p(&["forget", "10.0.0.21"]).unwrap() else {
            panic!()
        };
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_DEL_LEGACY);
        assert_eq!(c.flags, 0);
        assert_eq!(c.attrs, vec![Val::InAddr(a::PEER, L)]);
        let Legacy::Del(c) = p(&["flush"]).unwrap() else {
            panic!()
        };
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_DEL_LEGACY);
        assert!(c.attrs.is_empty());
    }

    /// `legacy forget 10.0.0.21`: the address as the four octets in order.
    #[test]
    fn forget_encoding() {
        let Legacy::Del(c) = p(&["forget", "10.0.0.21"]).unwrap() else {
            panic!()
        };
        let m = c.encode(0x1d).finish(1);
        assert_eq!(&m[16..20], &[iprp_cmd::IPRP_CMD_DEL_LEGACY as u8, 1, 0, 0]);
        let mut want = Vec::new();
        want.extend(8u16.to_ne_bytes());
        want.extend(a::PEER.to_ne_bytes());
        want.extend([10, 0, 0, 21]);
        assert_eq!(&m[20..], &want[..]);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            usage(&["drop"]),
            "legacy: unknown subcommand 'drop' (expected list, forget or flush)"
        );
        assert_eq!(
            usage(&["forget"]),
            "legacy forget: missing client address (ADDR)"
        );
        assert_eq!(
            usage(&["forget", "10.0.0.300"]),
            "legacy forget: invalid client address '10.0.0.300' (expected an IPv4 address)"
        );
        assert_eq!(
            usage(&["forget", "224.0.0.1"]),
            "legacy forget: invalid client address '224.0.0.1' (not a unicast address)"
        );
        assert_eq!(
            usage(&["forget", "10.0.0.21", "10.0.0.22"]),
            "legacy forget: unexpected argument '10.0.0.22'"
        );
        assert_eq!(
            usage(&["flush", "10.0.0.21"]),
            "legacy flush: unexpected argument '10.0.0.21'"
        );
        assert_eq!(
            usage(&["list", "client"]),
            "legacy list: 'client' needs a value"
        );
        assert_eq!(
            usage(&["list", "client", "host.example"]),
            "legacy list: invalid client address 'host.example' (expected an IPv4 address)"
        );
        assert_eq!(
            usage(&["list", "client", "10.0.0.1", "client", "10.0.0.2"]),
            "legacy list: 'client' given twice"
        );
        assert_eq!(usage(&["list", "-k"]), "legacy list: unknown option '-k'");
        assert_eq!(
            usage(&["list", "10.0.0.21"]),
            "legacy list: unexpected argument '10.0.0.21'"
        );
    }

    /// One dump message as the module's dump_legacy() builds it.
    fn entry(peer: [u8; 4], known: u32, expires: u32) -> Vec<u8> {
        let mut m = MsgBuilder::genl(
            0x1d,
            libc::NLM_F_MULTI as u16,
            iprp_cmd::IPRP_CMD_GET_LEGACY as u8,
            1,
        );
        m.put(a::PEER, &peer)
            .put_u8(a::KNOWN, known as u8)
            .put_u32(a::EXPIRES, expires);
        m.finish(3)
    }

    fn decode(buf: &[u8]) -> Vec<Client> {
        let mut v: Vec<Client> = messages(buf)
            .map(|m| parse_client(GenlMsg::parse(&m.unwrap()).unwrap().attrs).unwrap())
            .collect();
        v.sort_by_key(|c| c.addr);
        v
    }

    #[test]
    fn output() {
        let mut buf = entry([10, 0, 0, 21], iprp_known::IPRP_KNOWN_LEGACY, 41800);
        buf.extend(entry([10, 0, 0, 1], iprp_known::IPRP_KNOWN_CAPABLE, 600000));
        buf.extend(entry([10, 0, 0, 3], 7, 0));
        let clients = decode(&buf);
        assert_eq!(
            to_json(&clients).to_string(),
            concat!(
                r#"{"clients":["#,
                r#"{"client":"10.0.0.1","known":"capable","expires_ms":600000},"#,
                r#"{"client":"10.0.0.3","known":"known_7","expires_ms":0},"#,
                r#"{"client":"10.0.0.21","known":"legacy","expires_ms":41800}"#,
                r#"]}"#
            )
        );
        assert_eq!(
            to_human(&clients),
            "Client     Known    Expires\n\
             10.0.0.1   capable     600s\n\
             10.0.0.3   known_7      0ms\n\
             10.0.0.21  legacy   41800ms\n"
        );
        assert_eq!(to_json(&[]).to_string(), r#"{"clients":[]}"#);
        assert_eq!(to_human(&[]), "Client  Known  Expires\n");
        // known and expires are optional
        let mut m = MsgBuilder::genl(0x1d, 0, iprp_cmd::IPRP_CMD_GET_LEGACY as u8, 1);
        m.put(a::PEER, &[10, 0, 0, 9]);
        let c = &decode(&m.finish(1))[0];
        assert_eq!((c.known, c.expires_ms), (None, None));
        assert_eq!(
            to_json(std::slice::from_ref(c)).to_string(),
            r#"{"clients":[{"client":"10.0.0.9","known":null,"expires_ms":null}]}"#
        );
    }

    #[test]
    fn entry_without_peer_is_an_error() {
        let mut m = MsgBuilder::genl(0x1d, 0, iprp_cmd::IPRP_CMD_GET_LEGACY as u8, 1);
        m.put_u8(a::KNOWN, 1);
        let buf = m.finish(1);
        let msg = messages(&buf).next().unwrap().unwrap();
        let e = parse_client(GenlMsg::parse(&msg).unwrap().attrs).unwrap_err();
        assert_eq!(e.to_string(), "a legacy cache entry without IPRP_A_PEER");
    }
}
