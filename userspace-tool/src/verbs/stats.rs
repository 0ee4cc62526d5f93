// SPDX-License-Identifier: GPL-2.0

//! `iprpctl stats`: the counters and core stats of this network namespace
//! (`IPRP_CMD_GET_STATUS`, without the version and role).

use super::status::{self, Status};
use super::{Ctx, Iprp, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::parse::Toks;

pub const VERB: Verb = Verb {
    name: "stats",
    summary: "show the counters and core stats of this network namespace",
    usage: "stats [-j|--json]",
    help: "Asks the iprp module (IPRP_CMD_GET_STATUS) for the counters of this\n\
           network namespace (IPRP_A_COUNTERS, as `status` shows them) and the\n\
           stats of the protocol core (IPRP_A_STATS), named \"<group>.<counter>\",\n\
           e.g. client.confirmed, in the module's order.\n\
           \n\
           Options:\n  \
             -j, --json  print {\"counters\": {\"NAME\": N, ...},\n              \
                         \"stats\": {\"client.confirmed\": N, ...}}\n  \
             -h, --help  this help\n",
    run,
};

pub fn to_json(s: &Status) -> Json {
    let mut o = Json::object();
    o.insert("counters", status::counters_json(s)).insert(
        "stats",
        status::stats_json(s.stats.as_deref().unwrap_or_default()),
    );
    o
}

pub fn to_human(s: &Status) -> String {
    let mut s = s.clone();
    s.stats.get_or_insert_with(Vec::new);
    status::tables(&s)
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    Toks::new(VERB.name, &toks).end()?;
    let s = status::fetch(&mut Iprp::connect()?)?;
    let text = if ctx.json {
        format!("{}\n", to_json(&s))
    } else {
        to_human(&s)
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

    #[test]
    fn json() {
        assert_eq!(
            to_json(&decoded()).to_string(),
            r#"{"counters":{"proto_rx":4,"msg_tx":9},"stats":{"client.confirmed":2,"client.alarm":0}}"#
        );
        assert_eq!(
            to_json(&Status::default()).to_string(),
            r#"{"counters":{},"stats":{}}"#
        );
    }

    #[test]
    fn human() {
        assert_eq!(
            to_human(&decoded()),
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
