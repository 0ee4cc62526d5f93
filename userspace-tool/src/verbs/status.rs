// SPDX-License-Identifier: GPL-2.0

//! `iprpctl status`: module version and the counters of the caller's
//! network namespace (`IPRP_CMD_GET_STATUS`).

use super::{Ctx, Iprp, Verb};
use crate::cli::{self, Args, Common};
use crate::error::{Error, Result};
use crate::json::Json;
use crate::netlink::{Attrs, GenlMsg};
use crate::output::{self, Align, Table};
use crate::uapi::{self, iprp_attr, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "status",
    summary: "show the module version and the counters of this network namespace",
    usage: "status [-j|--json]",
    help: "Asks the iprp module (IPRP_CMD_GET_STATUS) for its version and the\n\
           counters of the network namespace iprpctl runs in; use\n\
           `ip netns exec NS iprpctl status` for another namespace.\n\
           \n\
           Options:\n  \
             -j, --json  print {\"version\": \"...\", \"counters\": {\"NAME\": N, ...}}\n  \
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
    /// `(IPRP_CTR_* id, value)`, sorted by id.
    pub counters: Vec<(u16, u64)>,
}

fn run(ctx: &mut Ctx, mut args: Args) -> Result<()> {
    while let Some(c) = args.common(ctx) {
        match c {
            Common::Handled => {}
            Common::Help => {
                output::print(&cli::verb_help(&VERB)).map_err(|e| Error::Io("stdout".into(), e))?;
                return Ok(());
            }
            Common::Other(a) => return Err(cli::bad_arg(VERB.name, &a)),
        }
    }

    let mut iprp = Iprp::connect()?;
    let req = iprp.msg(iprp_cmd::IPRP_CMD_GET_STATUS);
    let mut status = None;
    iprp.request(req, |m| {
        status = Some(parse(GenlMsg::parse(m)?.attrs)?);
        Ok(())
    })?;
    let status = status.ok_or_else(|| Error::Protocol("the module sent no status reply".into()))?;

    let text = if ctx.json {
        format!("{}\n", to_json(&status))
    } else {
        to_human(&status)
    };
    output::print(&text).map_err(|e| Error::Io("stdout".into(), e))
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

pub fn to_json(s: &Status) -> Json {
    let mut counters = Json::object();
    for &(id, v) in &s.counters {
        counters.insert(uapi::counter_name(id), v);
    }
    let mut o = Json::object();
    o.insert(
        "version",
        s.version.clone().map(Json::Str).unwrap_or(Json::Null),
    );
    o.insert("counters", counters);
    o
}

pub fn to_human(s: &Status) -> String {
    let mut out = format!(
        "iprp module version {}\n\n",
        s.version.as_deref().unwrap_or("unknown")
    );
    let mut t = Table::new(&[("COUNTER", Align::Left), ("VALUE", Align::Right)]);
    for &(id, v) in &s.counters {
        t.row([uapi::counter_name(id), v.to_string()]);
    }
    out.push_str(&t.render());
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
}
