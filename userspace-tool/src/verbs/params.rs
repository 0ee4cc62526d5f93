// SPDX-License-Identifier: GPL-2.0

//! `iprpctl set`: global parameters of this network namespace
//! (`IPRP_CMD_SET_PARAMS`), and `iprpctl zero`: zero its counters
//! (`IPRP_CMD_ZERO_COUNTERS`).

use super::{Change, Ctx, Iprp, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::parse::{self, Toks};
use crate::uapi::{a, iprp_cmd};

pub const SET: Verb = Verb {
    name: "set",
    summary: "set global parameters (slow timer, checking timeout, held-packet limit)",
    usage: "set [tick MS] [checking-timeout MS] [max-held N]",
    help: "Sets global parameters of this network namespace\n\
           (IPRP_CMD_SET_PARAMS); the parameters not named keep their values.\n  \
             tick MS               period of the slow timer that expires entries\n                        \
                                   (IPRP_A_TICK, 50..10000; the paper's 500 ms)\n  \
             checking-timeout MS   how long a client's binding may wait for the\n                        \
                                   redirector's confirmation before it is dropped\n                        \
                                   (IPRP_A_CHECKING_TIMEOUT, 100..60000)\n  \
             max-held N            packets a client holds per shard while bindings\n                        \
                                   wait for confirmation; 0 holds none\n                        \
                                   (IPRP_A_MAX_HELD, 0..1048576)\n\
           Times are milliseconds: 500, 500ms or 2s. The module checks the\n\
           ranges and names the attribute it refuses. `iprpctl status` shows\n\
           the values in force.\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n\
           \n\
           Example:\n  \
             iprpctl set tick 250 checking-timeout 2s max-held 512\n",
    run: run_set,
};

pub const ZERO: Verb = Verb {
    name: "zero",
    summary: "zero the counters of this network namespace",
    usage: "zero",
    help: "Sets every counter of this network namespace back to 0\n\
           (IPRP_CMD_ZERO_COUNTERS): the namespace's counters, the core's stats,\n\
           the counters of every service and the flows assigned to every\n\
           replica. Gauges (table sizes, live connections per replica) are\n\
           not counters and stay.\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n",
    run: run_zero,
};

/// Parses the arguments of `set` into an `IPRP_CMD_SET_PARAMS` request.
pub fn parse(toks: &[String]) -> Result<Change> {
    let mut t = Toks::new(SET.name, toks);
    let mut c = Change::new(iprp_cmd::IPRP_CMD_SET_PARAMS);
    while let Some(tok) = t.next() {
        let (attr, v) = match tok {
            "tick" => {
                let v = t.value(tok)?;
                (a::TICK, parse::millis(&t, tok, v)?)
            }
            "checking-timeout" => {
                let v = t.value(tok)?;
                (a::CHECKING_TIMEOUT, parse::millis(&t, tok, v)?)
            }
            "max-held" => {
                let v = t.value(tok)?;
                (a::MAX_HELD, parse::u32_value(&t, tok, v)?)
            }
            _ => return Err(t.unexpected(tok)),
        };
        if c.attr(attr).is_some() {
            return Err(t.err(format!("'{tok}' given twice")));
        }
        c.push(Val::U32(attr, v));
    }
    if c.attrs.is_empty() {
        return Err(t.err(
            "nothing to set (tick, checking-timeout or max-held); `iprpctl status` shows them",
        ));
    }
    Ok(c)
}

fn run_set(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &SET)? else {
        return Ok(());
    };
    let c = parse(&toks)?;
    Iprp::connect()?.apply(&c)
}

fn run_zero(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &ZERO)? else {
        return Ok(());
    };
    Toks::new(ZERO.name, &toks).end()?;
    Iprp::connect()?.apply(&Change::new(iprp_cmd::IPRP_CMD_ZERO_COUNTERS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Change> {
        super::super::testutil::run(parse, a)
    }

    fn usage(a: &[&str]) -> String {
        super::super::testutil::usage_of(a, p(a))
    }

    #[test]
    fn parses_parameters() {
        let c = p(&["tick", "250", "checking-timeout", "2s", "max-held", "0"]).unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_SET_PARAMS);
        assert_eq!(
            c.attrs,
            vec![
                Val::U32(a::TICK, 250),
                Val::U32(a::CHECKING_TIMEOUT, 2000),
                Val::U32(a::MAX_HELD, 0)
            ]
        );
        assert_eq!(
            p(&["max-held", "512"]).unwrap().attrs,
            vec![Val::U32(a::MAX_HELD, 512)]
        );
    }

    #[test]
    fn usage_errors() {
        assert!(usage(&[]).starts_with("set: nothing to set"));
        assert_eq!(usage(&["tick"]), "set: 'tick' needs a value");
        assert!(usage(&["tick", "fast"]).contains("invalid tick 'fast'"));
        assert!(usage(&["max-held", "-1"]).contains("invalid max-held '-1'"));
        assert_eq!(usage(&["speed", "1"]), "set: unexpected argument 'speed'");
        assert_eq!(
            usage(&["tick", "100", "tick", "200"]),
            "set: 'tick' given twice"
        );
    }
}
