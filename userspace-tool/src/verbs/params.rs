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
    summary: "set global parameters (timers, held-packet limit, legacy TTL, SYN mark, event rate)",
    usage: "set [tick MS] [checking-timeout MS] [max-held N] [legacy-ttl MS]\n            \
            [mark-syns on|off] [event-rate N]",
    help: "Sets global parameters of this network namespace\n\
           (IPRP_CMD_SET_PARAMS); the parameters not named keep their values.\n  \
             tick MS               period of the slow timer that expires entries\n                        \
                                   (IPRP_A_TICK, 50..10000; the paper's 500 ms)\n  \
             checking-timeout MS   how long a client's binding may wait for the\n                        \
                                   redirector's confirmation before it is dropped\n                        \
                                   (IPRP_A_CHECKING_TIMEOUT, 100..60000)\n  \
             max-held N            packets a client holds per shard while bindings\n                        \
                                   wait for confirmation; 0 holds none\n                        \
                                   (IPRP_A_MAX_HELD, 0..1048576)\n  \
             legacy-ttl MS         how long a redirector serves a client it learned\n                        \
                                   as legacy (no IPRP) locally without a REQ;\n                        \
                                   0 remembers none (IPRP_A_LEGACY_TTL,\n                        \
                                   0..86400000, default 60000; iprpctl legacy)\n  \
             mark-syns on|off      on: the client puts the capability mark (TCP\n                        \
                                   option 253, ExID 0x4950, RFC 6994) in every SYN\n                        \
                                   it sends untranslated, so that a redirector\n                        \
                                   knows it from a legacy client (IPRP_A_MARK_SYNS;\n                        \
                                   off, the default: RFC 3692 keeps experimental\n                        \
                                   options off unless configured)\n  \
             event-rate N          events per second sent at most to `iprpctl\n                        \
                                   monitor` listeners, in bursts of up to 256 more;\n                        \
                                   0 sends none; the rest are counted as\n                        \
                                   event_dropped (IPRP_A_EVENT_RATE, 0..1000000,\n                        \
                                   default 10000)\n\
           Times are milliseconds: 500, 500ms or 2s. The module checks the\n\
           ranges and names the attribute it refuses. `iprpctl status` shows\n\
           the values in force.\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n\
           \n\
           Examples:\n  \
             iprpctl set tick 250 checking-timeout 2s max-held 512\n  \
             iprpctl set legacy-ttl 10s\n  \
             iprpctl set mark-syns on\n",
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
        let val = match tok {
            "tick" => {
                let v = t.value(tok)?;
                Val::U32(a::TICK, parse::millis(&t, tok, v)?)
            }
            "checking-timeout" => {
                let v = t.value(tok)?;
                Val::U32(a::CHECKING_TIMEOUT, parse::millis(&t, tok, v)?)
            }
            "max-held" => {
                let v = t.value(tok)?;
                Val::U32(a::MAX_HELD, parse::u32_value(&t, tok, v)?)
            }
            "legacy-ttl" => {
                let v = t.value(tok)?;
                Val::U32(a::LEGACY_TTL, parse::millis(&t, tok, v)?)
            }
            "mark-syns" => {
                let v = t.value(tok)?;
                Val::U8(a::MARK_SYNS, u8::from(parse::on_off(&t, tok, v)?))
            }
            "event-rate" => {
                let v = t.value(tok)?;
                Val::U32(a::EVENT_RATE, parse::u32_value(&t, tok, v)?)
            }
            _ => return Err(t.unexpected(tok)),
        };
        if c.attr(val.ty()).is_some() {
            return Err(t.err(format!("'{tok}' given twice")));
        }
        c.push(val);
    }
    if c.attrs.is_empty() {
        return Err(t.err(
            "nothing to set (tick, checking-timeout, max-held, legacy-ttl, mark-syns or event-rate); `iprpctl status` shows them",
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
        assert_eq!(
            p(&["legacy-ttl", "10s", "tick", "500"]).unwrap().attrs,
            vec![Val::U32(a::LEGACY_TTL, 10000), Val::U32(a::TICK, 500)]
        );
        // 0 remembers no legacy client; the range is the module's policy.
        assert_eq!(
            p(&["legacy-ttl", "0"]).unwrap().attrs,
            vec![Val::U32(a::LEGACY_TTL, 0)]
        );
        assert_eq!(
            p(&["legacy-ttl", "86400001"]).unwrap().attrs,
            vec![Val::U32(a::LEGACY_TTL, 86_400_001)]
        );
        // mark-syns: a u8 switch, 1 on, 0 off
        assert_eq!(
            p(&["mark-syns", "on", "tick", "500"]).unwrap().attrs,
            vec![Val::U8(a::MARK_SYNS, 1), Val::U32(a::TICK, 500)]
        );
        assert_eq!(
            p(&["mark-syns", "off"]).unwrap().attrs,
            vec![Val::U8(a::MARK_SYNS, 0)]
        );
        // event-rate: a plain count; 0 sends none.
        assert_eq!(
            p(&["event-rate", "0"]).unwrap().attrs,
            vec![Val::U32(a::EVENT_RATE, 0)]
        );
    }

    #[test]
    fn usage_errors() {
        assert!(usage(&[]).starts_with("set: nothing to set"));
        assert_eq!(usage(&["tick"]), "set: 'tick' needs a value");
        assert!(usage(&["tick", "fast"]).contains("invalid tick 'fast'"));
        assert!(usage(&["max-held", "-1"]).contains("invalid max-held '-1'"));
        assert_eq!(usage(&["legacy-ttl"]), "set: 'legacy-ttl' needs a value");
        assert_eq!(
            usage(&["legacy-ttl", "1m"]),
            "set: invalid legacy-ttl '1m' (expected milliseconds, e.g. 500, 500ms or 2s)"
        );
        assert_eq!(
            usage(&["legacy-ttl", "1s", "legacy-ttl", "2s"]),
            "set: 'legacy-ttl' given twice"
        );
        assert_eq!(usage(&["mark-syns"]), "set: 'mark-syns' needs a value");
        assert_eq!(
            usage(&["mark-syns", "2"]),
            "set: invalid mark-syns '2' (expected on or off)"
        );
        assert_eq!(
            usage(&["mark-syns", "yes"]),
            "set: invalid mark-syns 'yes' (expected on or off)"
        );
        assert_eq!(
            usage(&["mark-syns", "on", "mark-syns", "off"]),
            "set: 'mark-syns' given twice"
        );
        assert!(usage(&["event-rate", "fast"]).contains("invalid event-rate 'fast'"));
        assert_eq!(usage(&["speed", "1"]), "set: unexpected argument 'speed'");
        assert_eq!(
            usage(&["tick", "100", "tick", "200"]),
            "set: 'tick' given twice"
        );
    }
}
