// SPDX-License-Identifier: GPL-2.0

//! `iprpctl status`: module version and the counters of the caller's
//! network namespace (`IPRP_CMD_GET_STATUS`).

use super::{Ctx, Iprp, Verb};
use crate::cli::{self, Args};
use crate::error::{Error, Result};
use crate::json::Json;
use crate::netlink::{Attr, Attrs, GenlMsg};
use crate::output::{Align, Table};
use crate::parse::Toks;
use crate::uapi::{self, a, iprp_attr, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "status",
    summary: "show the module version, role, counters and stats of this namespace",
    usage: "status [-j|--json]",
    help: "Asks the iprp module (IPRP_CMD_GET_STATUS) for its version, the role\n\
           and the counters and core stats of the network namespace iprpctl runs\n\
           in; use `ip netns exec NS iprpctl status` for another namespace.\n\
           \n\
           Options:\n  \
             -j, --json  print {\"version\": \"...\", \"role\": [\"client\", ...],\n              \
                         \"counters\": {\"NAME\": N, ...}, \"stats\": {\"group.name\": N, ...}}\n              \
                         (role and stats only if the module sends them; also\n              \
                         capacity, legacy_capacity, client_idle_timeout_ms and\n              \
                         params, as docs/cli.md describes)\n  \
             -h, --help  this help\n\
           \n\
           Counter names are the IPRP_CTR_* ids of the UAPI header, lower-cased\n\
           without the prefix (IPRP_CTR_PROTO_RX is proto_rx); a counter this\n\
           iprpctl does not know is shown as counter_<id>.\n",
    run,
};

/// The decoded answer to `IPRP_CMD_GET_STATUS`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Status {
    /// `IPRP_A_VERSION`, if the module sent it.
    pub version: Option<String>,
    /// `IPRP_A_ROLE`, a bit set of `enum iprp_role`, if sent.
    pub role: Option<u32>,
    /// `(IPRP_CTR_* id, value)`, sorted by id.
    pub counters: Vec<(u16, u64)>,
    /// `IPRP_A_STATS`: `(name, value)` in the module's order, if sent.
    pub stats: Option<Vec<(String, u64)>>,
    /// Global parameters (`IPRP_CMD_SET_PARAMS`), if sent.
    pub params: Params,
    /// `IPRP_A_CLIENT_CAPACITY`: the client's table size, once it exists.
    pub client_capacity: Option<u32>,
    /// `IPRP_A_REDIR_CAPACITY`: the redirector's table size, once it exists.
    pub redir_capacity: Option<u32>,
    /// `IPRP_A_IDLE_TIMEOUT`: the client's idle timeout, once set.
    pub client_idle_ms: Option<u32>,
    /// `IPRP_A_LEGACY_CAPACITY`: slots of the redirector's legacy cache,
    /// once the redirector's tables exist.
    pub legacy_capacity: Option<u32>,
}

/// The module's default legacy cache size (`IPRP_A_LEGACY_CAPACITY`),
/// which `save` leaves out.
pub const LEGACY_CAPACITY_DEFAULT: u32 = 4096;
/// The module's default legacy time to live (`IPRP_A_LEGACY_TTL`, ms),
/// which `save` leaves out.
pub const LEGACY_TTL_DEFAULT_MS: u32 = 60_000;

/// The module's default event rate (`IPRP_A_EVENT_RATE`, per second),
/// which `save` leaves out.
pub const EVENT_RATE_DEFAULT: u32 = 10_000;

/// The global parameters of a namespace, as far as the module sent them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// `IPRP_A_TICK`, ms.
    pub tick_ms: Option<u32>,
    /// `IPRP_A_CHECKING_TIMEOUT`, ms.
    pub checking_timeout_ms: Option<u32>,
    /// `IPRP_A_MAX_HELD`.
    pub max_held: Option<u32>,
    /// `IPRP_A_LEGACY_TTL`, ms.
    pub legacy_ttl_ms: Option<u32>,
    /// `IPRP_A_MARK_SYNS`: the client marks its SYNs (off by default).
    pub mark_syns: Option<bool>,
    /// `IPRP_A_EVENT_RATE`: event notifications per second at most.
    pub event_rate: Option<u32>,
}

impl Params {
    pub fn is_empty(&self) -> bool {
        *self == Params::default()
    }

    /// `tick 500 checking-timeout 3000 max-held 1024`: the arguments of
    /// `iprpctl set` that reproduce these values. `legacy-ttl` only if it
    /// is not the module's default and `mark-syns` only if on, unless
    /// `defaults` (which names them whatever they are, for restore's
    /// rollback).
    pub fn set_args(&self, defaults: bool) -> String {
        let mut v = Vec::new();
        if let Some(ms) = self.tick_ms {
            v.push(format!("tick {ms}"));
        }
        if let Some(ms) = self.checking_timeout_ms {
            v.push(format!("checking-timeout {ms}"));
        }
        if let Some(n) = self.max_held {
            v.push(format!("max-held {n}"));
        }
        if let Some(ms) = self.legacy_ttl_ms {
            if defaults || ms != LEGACY_TTL_DEFAULT_MS {
                v.push(format!("legacy-ttl {ms}"));
            }
        }
        match self.mark_syns {
            Some(true) => v.push("mark-syns on".into()),
            Some(false) if defaults => v.push("mark-syns off".into()),
            _ => {}
        }
        if let Some(n) = self.event_rate {
            if defaults || n != EVENT_RATE_DEFAULT {
                v.push(format!("event-rate {n}"));
            }
        }
        v.join(" ")
    }
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    Toks::new(VERB.name, &toks).end()?;
    let status = fetch(&mut Iprp::connect()?)?;
    let text = if ctx.json {
        format!("{}\n", to_json(&status))
    } else {
        to_human(&status)
    };
    super::print(&text)
}

/// Asks for and decodes the status of this network namespace.
pub fn fetch(iprp: &mut Iprp) -> Result<Status> {
    let req = iprp.msg(iprp_cmd::IPRP_CMD_GET_STATUS);
    let mut status = None;
    iprp.request(req, |m| {
        status = Some(parse(GenlMsg::parse(m)?.attrs)?);
        Ok(())
    })?;
    status.ok_or_else(|| Error::Protocol("the module sent no status reply".into()))
}

/// Decodes the reply's attributes. Counter attributes of type 0
/// (`IPRP_CTR_UNSPEC`, used as padding by `nla_put_u64_64bit`) and unknown
/// top-level attributes are skipped.
pub fn parse(attrs: Attrs<'_>) -> Result<Status> {
    let mut s = Status::default();
    for a in attrs {
        let a = a?;
        match u32::from(a.ty) {
            iprp_attr::IPRP_A_VERSION => s.version = Some(a.str()),
            iprp_attr::IPRP_A_ROLE => s.role = Some(a.u32()?),
            iprp_attr::IPRP_A_TICK => s.params.tick_ms = Some(a.u32()?),
            iprp_attr::IPRP_A_CHECKING_TIMEOUT => s.params.checking_timeout_ms = Some(a.u32()?),
            iprp_attr::IPRP_A_MAX_HELD => s.params.max_held = Some(a.u32()?),
            iprp_attr::IPRP_A_CLIENT_CAPACITY => s.client_capacity = Some(a.u32()?),
            iprp_attr::IPRP_A_REDIR_CAPACITY => s.redir_capacity = Some(a.u32()?),
            iprp_attr::IPRP_A_IDLE_TIMEOUT => s.client_idle_ms = Some(a.u32()?),
            iprp_attr::IPRP_A_LEGACY_CAPACITY => s.legacy_capacity = Some(a.u32()?),
            iprp_attr::IPRP_A_LEGACY_TTL => s.params.legacy_ttl_ms = Some(a.u32()?),
            iprp_attr::IPRP_A_MARK_SYNS => s.params.mark_syns = Some(a.u8()? != 0),
            iprp_attr::IPRP_A_EVENT_RATE => s.params.event_rate = Some(a.u32()?),
            iprp_attr::IPRP_A_STATS => s.stats = Some(parse_stats(&a)?),
            iprp_attr::IPRP_A_COUNTERS => {
                for c in a.nested_attrs() {
                    let c = c?;
                    if c.ty == 0 {
                        continue;
                    }
                    let v = c.uint().map_err(|_| {
                        Error::Protocol(format!(
                            "counter {} has {} bytes, expected a u64",
                            uapi::counter_name(c.ty),
                            c.payload.len()
                        ))
                    })?;
                    s.counters.push((c.ty, v));
                }
            }
            _ => {}
        }
    }
    s.counters.sort_by_key(|&(id, _)| id);
    s.counters.dedup_by_key(|&mut (id, _)| id);
    Ok(s)
}

/// Decodes `IPRP_A_STATS`: `IPRP_A_STAT` nests of `IPRP_A_STAT_NAME` and
/// `IPRP_A_STAT_VALUE`. Pad attributes and unknown types are skipped.
pub fn parse_stats(stats: &Attr<'_>) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for st in stats.nested_attrs() {
        let st = st?;
        if st.ty != a::STAT {
            continue;
        }
        let (mut name, mut value) = (None, None);
        for f in st.nested_attrs() {
            let f = f?;
            match f.ty {
                a::STAT_NAME => name = Some(f.str()),
                a::STAT_VALUE => value = Some(f.uint()?),
                _ => {}
            }
        }
        let name = super::required(name, "a stat", a::STAT_NAME)?;
        let value = super::required(value, "a stat", a::STAT_VALUE)?;
        out.push((name, value));
    }
    Ok(out)
}

/// `{"NAME": N, ...}` of the counters.
pub fn counters_json(s: &Status) -> Json {
    let mut counters = Json::object();
    for &(id, v) in &s.counters {
        counters.insert(uapi::counter_name(id), v);
    }
    counters
}

/// `{"group.name": N, ...}` of the stats.
pub fn stats_json(stats: &[(String, u64)]) -> Json {
    let mut o = Json::object();
    for (n, v) in stats {
        o.insert(n.clone(), *v);
    }
    o
}

/// `["client", "redirector"]`.
pub fn role_json(role: u32) -> Json {
    Json::Array(uapi::role_list(role).into_iter().map(Json::Str).collect())
}

/// `client redirector`, or `none`.
pub fn role_text(role: u32) -> String {
    let l = uapi::role_list(role);
    if l.is_empty() {
        "none".into()
    } else {
        l.join(" ")
    }
}

pub fn to_json(s: &Status) -> Json {
    let mut o = Json::object();
    o.insert(
        "version",
        s.version.clone().map(Json::Str).unwrap_or(Json::Null),
    );
    if let Some(r) = s.role {
        o.insert("role", role_json(r));
    }
    if s.client_capacity.is_some() || s.redir_capacity.is_some() {
        let mut c = Json::object();
        c.insert("client", super::opt(s.client_capacity))
            .insert("redirector", super::opt(s.redir_capacity));
        o.insert("capacity", c);
    }
    if let Some(n) = s.legacy_capacity {
        o.insert("legacy_capacity", n);
    }
    if let Some(ms) = s.client_idle_ms {
        o.insert("client_idle_timeout_ms", ms);
    }
    if !s.params.is_empty() {
        let p = &s.params;
        let mut j = Json::object();
        j.insert("tick_ms", super::opt(p.tick_ms))
            .insert("checking_timeout_ms", super::opt(p.checking_timeout_ms))
            .insert("max_held", super::opt(p.max_held))
            .insert("legacy_ttl_ms", super::opt(p.legacy_ttl_ms))
            .insert("mark_syns", super::opt(p.mark_syns))
            .insert("event_rate", super::opt(p.event_rate));
        o.insert("params", j);
    }
    o.insert("counters", counters_json(s));
    if let Some(st) = &s.stats {
        o.insert("stats", stats_json(st));
    }
    o
}

/// The COUNTER table, then the STAT table if the module sent stats.
pub fn tables(s: &Status) -> String {
    let mut t = Table::new(&[("COUNTER", Align::Left), ("VALUE", Align::Right)]);
    for &(id, v) in &s.counters {
        t.row([uapi::counter_name(id), v.to_string()]);
    }
    let mut out = t.render();
    if let Some(stats) = &s.stats {
        let mut t = Table::new(&[("STAT", Align::Left), ("VALUE", Align::Right)]);
        for (n, v) in stats {
            t.row([n.clone(), v.to_string()]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    out
}

pub fn to_human(s: &Status) -> String {
    let mut out = format!(
        "iprp module version {}\n",
        s.version.as_deref().unwrap_or("unknown")
    );
    if let Some(r) = s.role {
        out.push_str(&format!("role: {}\n", role_text(r)));
    }
    let cap = |c: Option<u32>| c.map_or("-".to_string(), |c| c.to_string());
    if s.client_capacity.is_some() || s.redir_capacity.is_some() {
        out.push_str(&format!(
            "capacity: client {}, redirector {}\n",
            cap(s.client_capacity),
            cap(s.redir_capacity)
        ));
    }
    if let Some(n) = s.legacy_capacity {
        out.push_str(&format!("legacy capacity: {n}\n"));
    }
    if let Some(ms) = s.client_idle_ms {
        out.push_str(&format!("client idle timeout: {}\n", super::fmt_ms(ms)));
    }
    if !s.params.is_empty() {
        let p = &s.params;
        let ms = |v: Option<u32>| v.map_or("-".to_string(), super::fmt_ms);
        let mut line = format!(
            "params: tick {}, checking-timeout {}, max-held {}",
            ms(p.tick_ms),
            ms(p.checking_timeout_ms),
            cap(p.max_held)
        );
        // Only from a module that has the legacy cache.
        if let Some(ttl) = p.legacy_ttl_ms {
            line.push_str(&format!(", legacy-ttl {}", super::fmt_ms(ttl)));
        }
        // Only from a module that marks SYNs.
        if let Some(on) = p.mark_syns {
            line.push_str(if on {
                ", mark-syns on"
            } else {
                ", mark-syns off"
            });
        }
        if let Some(n) = p.event_rate {
            line.push_str(&format!(", event-rate {n}/s"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&tables(s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{messages, MsgBuilder};
    use crate::uapi::iprp_counter;

    fn reply() -> Vec<u8> {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
        b.put_str(iprp_attr::IPRP_A_VERSION as u16, "0.1.0 \"dev\"")
            .nest_start(iprp_attr::IPRP_A_COUNTERS as u16)
            .put_u64(iprp_counter::IPRP_CTR_PROTO_RX as u16, 5)
            .put(0, &[]) // pad attribute
            .put_u64(iprp_counter::IPRP_CTR_PRE_ROUTING_PKTS as u16, 1234)
            .put_u64(200, 7) // from a newer module
            .nest_end()
            .put_u32(iprp_attr::IPRP_A_PAD as u16, 0);
        b.finish(1)
    }

    fn parsed() -> Status {
        let buf = reply();
        let m = messages(&buf).next().unwrap().unwrap();
        parse(GenlMsg::parse(&m).unwrap().attrs).unwrap()
    }

    #[test]
    fn parses_version_and_counters() {
        let s = parsed();
        assert_eq!(s.version.as_deref(), Some("0.1.0 \"dev\""));
        assert_eq!(
            s.counters,
            vec![
                (iprp_counter::IPRP_CTR_PRE_ROUTING_PKTS as u16, 1234),
                (iprp_counter::IPRP_CTR_PROTO_RX as u16, 5),
                (200, 7)
            ]
        );
    }

    #[test]
    fn json_output() {
        assert_eq!(
            to_json(&parsed()).to_string(),
            r#"{"version":"0.1.0 \"dev\"","counters":{"pre_routing_pkts":1234,"proto_rx":5,"counter_200":7}}"#
        );
        assert_eq!(
            to_json(&Status::default()).to_string(),
            r#"{"version":null,"counters":{}}"#
        );
    }

    #[test]
    fn human_output() {
        assert_eq!(
            to_human(&parsed()),
            "iprp module version 0.1.0 \"dev\"\n\
             \n\
             COUNTER           VALUE\n\
             pre_routing_pkts   1234\n\
             proto_rx              5\n\
             counter_200           7\n"
        );
    }

    fn full_reply() -> Vec<u8> {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
        b.put_str(a::VERSION, "0.2.0")
            .put_u32(a::ROLE, 3)
            .nest_start(a::COUNTERS)
            .put_u64(iprp_counter::IPRP_CTR_PROTO_RX as u16, 5)
            .nest_end()
            .nest_start(a::STATS)
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "client.confirmed")
            .put(a::PAD, &[])
            .put_u64(a::STAT_VALUE, 3)
            .nest_end()
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "redirector.req_sent")
            .put_u64(a::STAT_VALUE, 12)
            .nest_end()
            .nest_end();
        b.finish(1)
    }

    pub(crate) fn parse_buf(buf: &[u8]) -> Status {
        let m = messages(buf).next().unwrap().unwrap();
        parse(GenlMsg::parse(&m).unwrap().attrs).unwrap()
    }

    #[test]
    fn role_and_stats() {
        let s = parse_buf(&full_reply());
        assert_eq!(s.role, Some(3));
        assert_eq!(
            s.stats,
            Some(vec![
                ("client.confirmed".to_string(), 3),
                ("redirector.req_sent".to_string(), 12)
            ])
        );
        assert_eq!(
            to_json(&s).to_string(),
            r#"{"version":"0.2.0","role":["client","redirector"],"counters":{"proto_rx":5},"stats":{"client.confirmed":3,"redirector.req_sent":12}}"#
        );
        assert_eq!(
            to_human(&s),
            "iprp module version 0.2.0\n\
             role: client redirector\n\
             \n\
             COUNTER   VALUE\n\
             proto_rx      5\n\
             \n\
             STAT                 VALUE\n\
             client.confirmed         3\n\
             redirector.req_sent     12\n"
        );
        let none = Status {
            role: Some(0),
            ..Default::default()
        };
        assert_eq!(
            to_json(&none).to_string(),
            r#"{"version":null,"role":[],"counters":{}}"#
        );
        assert!(to_human(&none).contains("role: none\n"));
    }

    #[test]
    fn stat_without_value_is_an_error() {
        let mut b = MsgBuilder::genl(40, 0, 1, 1);
        b.nest_start(a::STATS)
            .nest_start(a::STAT)
            .put_str(a::STAT_NAME, "x.y")
            .nest_end()
            .nest_end();
        let buf = b.finish(1);
        let m = messages(&buf).next().unwrap().unwrap();
        let e = parse(GenlMsg::parse(&m).unwrap().attrs).unwrap_err();
        assert!(e.to_string().contains("IPRP_A_STAT_VALUE"), "{e}");
    }

    #[test]
    fn bad_counter_size_is_an_error() {
        let mut b = MsgBuilder::genl(40, 0, 1, 1);
        b.nest_start(iprp_attr::IPRP_A_COUNTERS as u16)
            .put(1, &[1, 2, 3])
            .nest_end();
        let buf = b.finish(1);
        let m = messages(&buf).next().unwrap().unwrap();
        let e = parse(GenlMsg::parse(&m).unwrap().attrs).unwrap_err();
        assert!(e.to_string().contains("pre_routing_pkts"), "{e}");
    }

    #[test]
    fn params_capacities_and_idle_timeout() {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
        b.put_str(a::VERSION, "0.3.0")
            .put_u32(a::ROLE, 3)
            .put_u32(a::TICK, 500)
            .put_u32(a::CHECKING_TIMEOUT, 3000)
            .put_u32(a::MAX_HELD, 1024)
            .put_u32(a::CLIENT_CAPACITY, 4096)
            .put_u32(a::REDIR_CAPACITY, 65536)
            .put_u32(a::IDLE_TIMEOUT, 30000);
        let s = parse_buf(&b.finish(1));
        assert_eq!(
            s.params.set_args(false),
            "tick 500 checking-timeout 3000 max-held 1024"
        );
        assert_eq!(
            (s.client_capacity, s.redir_capacity),
            (Some(4096), Some(65536))
        );
        assert_eq!(
            to_json(&s).to_string(),
            concat!(
                r#"{"version":"0.3.0","role":["client","redirector"],"#,
                r#""capacity":{"client":4096,"redirector":65536},"client_idle_timeout_ms":30000,"#,
                r#""params":{"tick_ms":500,"checking_timeout_ms":3000,"max_held":1024,"legacy_ttl_ms":null,"mark_syns":null,"event_rate":null},"counters":{}}"#
            )
        );
        assert_eq!(
            to_human(&s),
            "iprp module version 0.3.0\n\
             role: client redirector\n\
             capacity: client 4096, redirector 65536\n\
             client idle timeout: 30s\n\
             params: tick 500ms, checking-timeout 3s, max-held 1024\n\
             \n\
             COUNTER  VALUE\n"
        );
    }

    #[test]
    fn legacy_capacity_and_ttl() {
        let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
        b.put_str(a::VERSION, "0.4.0")
            .put_u32(a::ROLE, 2)
            .put_u32(a::TICK, 500)
            .put_u32(a::CHECKING_TIMEOUT, 3000)
            .put_u32(a::MAX_HELD, 1024)
            .put_u32(a::REDIR_CAPACITY, 4096)
            .put_u32(a::LEGACY_CAPACITY, 1024)
            .put_u32(a::LEGACY_TTL, 1500);
        let s = parse_buf(&b.finish(1));
        assert_eq!(s.legacy_capacity, Some(1024));
        assert_eq!(s.params.legacy_ttl_ms, Some(1500));
        assert_eq!(
            to_json(&s).to_string(),
            concat!(
                r#"{"version":"0.4.0","role":["redirector"],"#,
                r#""capacity":{"client":null,"redirector":4096},"legacy_capacity":1024,"#,
                r#""params":{"tick_ms":500,"checking_timeout_ms":3000,"max_held":1024,"legacy_ttl_ms":1500,"mark_syns":null,"event_rate":null},"counters":{}}"#
            )
        );
        assert_eq!(
            to_human(&s),
            "iprp module version 0.4.0\n\
             role: redirector\n\
             capacity: client -, redirector 4096\n\
             legacy capacity: 1024\n\
             params: tick 500ms, checking-timeout 3s, max-held 1024, legacy-ttl 1500ms\n\
             \n\
             COUNTER  VALUE\n"
        );
        // save names the TTL only if it is not the default, the rollback
        // always
        assert_eq!(
            s.params.set_args(false),
            "tick 500 checking-timeout 3000 max-held 1024 legacy-ttl 1500"
        );
        let dflt = Params {
            legacy_ttl_ms: Some(LEGACY_TTL_DEFAULT_MS),
            ..s.params
        };
        assert_eq!(
            dflt.set_args(false),
            "tick 500 checking-timeout 3000 max-held 1024"
        );
        assert_eq!(
            dflt.set_args(true),
            "tick 500 checking-timeout 3000 max-held 1024 legacy-ttl 60000"
        );
        // 0: no legacy client is remembered
        let zero = Params {
            legacy_ttl_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(zero.set_args(false), "legacy-ttl 0");
        let st = Status {
            params: zero,
            ..Default::default()
        };
        assert!(to_human(&st)
            .contains("params: tick -, checking-timeout -, max-held -, legacy-ttl 0ms\n"));
    }

    #[test]
    fn mark_syns() {
        let reply = |on: u8| {
            let mut b = MsgBuilder::genl(40, 0, iprp_cmd::IPRP_CMD_GET_STATUS as u8, 1);
            b.put_str(a::VERSION, "0.5.0")
                .put_u32(a::ROLE, 1)
                .put_u32(a::TICK, 500)
                .put_u32(a::CHECKING_TIMEOUT, 3000)
                .put_u32(a::MAX_HELD, 1024)
                .put_u32(a::LEGACY_TTL, 60000)
                .put_u8(a::MARK_SYNS, on);
            parse_buf(&b.finish(1))
        };
        let on = reply(1);
        assert_eq!(on.params.mark_syns, Some(true));
        assert_eq!(
            to_json(&on).to_string(),
            concat!(
                r#"{"version":"0.5.0","role":["client"],"#,
                r#""params":{"tick_ms":500,"checking_timeout_ms":3000,"max_held":1024,"legacy_ttl_ms":60000,"mark_syns":true,"event_rate":null},"counters":{}}"#
            )
        );
        assert_eq!(
            to_human(&on),
            "iprp module version 0.5.0\n\
             role: client\n\
             params: tick 500ms, checking-timeout 3s, max-held 1024, legacy-ttl 60s, mark-syns on\n\
             \n\
             COUNTER  VALUE\n"
        );
        // save names it only when on, the rollback always
        assert_eq!(
            on.params.set_args(false),
            "tick 500 checking-timeout 3000 max-held 1024 mark-syns on"
        );
        let off = reply(0);
        assert_eq!(off.params.mark_syns, Some(false));
        assert!(to_json(&off).to_string().contains(r#""mark_syns":false"#));
        assert!(to_human(&off).contains(", legacy-ttl 60s, mark-syns off\n"));
        assert_eq!(
            off.params.set_args(false),
            "tick 500 checking-timeout 3000 max-held 1024"
        );
        assert_eq!(
            off.params.set_args(true),
            "tick 500 checking-timeout 3000 max-held 1024 legacy-ttl 60000 mark-syns off"
        );
        // Alone, it is still a params line.
        let st = Status {
            params: Params {
                mark_syns: Some(true),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(to_human(&st)
            .contains("params: tick -, checking-timeout -, max-held -, mark-syns on\n"));
        assert_eq!(st.params.set_args(false), "mark-syns on");
    }
}
