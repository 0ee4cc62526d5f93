// SPDX-License-Identifier: GPL-2.0

//! `iprpctl service add|edit|del`: services of the redirector
//! (`IPRP_CMD_NEW_SERVICE`, the same with `NLM_F_REPLACE`,
//! `IPRP_CMD_DEL_SERVICE`).

use super::{Change, Ctx, Iprp, ServiceKey, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::parse::{self, Toks};
use crate::uapi::{a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "service",
    summary: "add, change or delete a redirected service",
    usage: "service add tcp|udp VIP:PORT [sched rr|wrr|lc|sh|mh] [response-timeout MS] [idle-timeout MS] [grant S]\n               \
            [unmarked local|redirect] [fleet SEED]\n       \
            iprpctl service edit tcp|udp VIP:PORT [sched NAME] [response-timeout MS] [idle-timeout MS] [grant S]\n               \
            [unmarked local|redirect] [fleet SEED]\n       \
            iprpctl service del tcp|udp VIP:PORT",
    help: "Adds (IPRP_CMD_NEW_SERVICE), changes (IPRP_CMD_NEW_SERVICE with\n\
           NLM_F_REPLACE) or deletes (IPRP_CMD_DEL_SERVICE) a service of the\n\
           redirector in this network namespace. A service is a protocol, a\n\
           virtual address (VIP, IPv4, numeric) and a port; ipvsadm's\n\
           `-t VIP:PORT` / `-u VIP:PORT` may be used instead of `tcp|udp VIP:PORT`.\n\
           \n\
           `add` fails if the service exists (EEXIST); `edit` fails if it does\n\
           not (ENOENT), needs at least one option, changes only the options\n\
           given and keeps the replicas (like ipvsadm -E).\n\
           \n\
           Options of `add` and `edit` (for `add`, the module's defaults apply\n\
           to those not given):\n  \
             sched NAME            scheduler: rr (round robin), wrr (weighted round\n                        \
                                   robin), lc (least connections), sh (source hash),\n                        \
                                   mh (Maglev hash); also -s NAME\n  \
             response-timeout MS   a client that has not answered a redirection\n                        \
                                   within MS is served by the redirector itself\n  \
             idle-timeout MS       idle entries expire after MS\n  \
             grant S               with each confirmation, let the client send its\n                        \
                                   new flows of the service straight to the same\n                        \
                                   replica for S seconds (0..86400; 0, the default:\n                        \
                                   never)\n  \
             unmarked local|redirect\n                        \
                                   a new TCP flow whose SYN lacks the capability\n                        \
                                   mark (iprpctl set mark-syns): local serves it\n                        \
                                   at once without a REQ, so a legacy client never\n                        \
                                   waits for the response timeout, but so is every\n                        \
                                   client that does not mark: only where the IPRP\n                        \
                                   clients mark; redirect (the default) sends a\n                        \
                                   REQ for every new flow (IPRP_A_UNMARKED_LOCAL)\n  \
             fleet SEED            the redirectors of a fleet share the service\n                        \
                                   address (ECMP, anycast) and each sets the same\n                        \
                                   SEED (1..2^64-1, decimal or 0x hex; 0, the\n                        \
                                   default: none): they pick the same replica for\n                        \
                                   a client, and each confirms a CHK for a flow\n                        \
                                   another one sent the REQ of; sched sh or mh\n                        \
                                   only (IPRP_A_FLEET_SEED)\n\
           Times are milliseconds: 500, 500ms or 2s.\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n\
           \n\
           Examples:\n  \
             iprpctl service add tcp 10.0.0.100:80 sched wrr response-timeout 200\n  \
             iprpctl service add -u 10.0.0.100:53\n  \
             iprpctl service edit tcp 10.0.0.100:80 sched rr\n  \
             iprpctl service edit tcp 10.0.0.100:80 unmarked local\n  \
             iprpctl service add tcp 10.0.0.100:443 sched mh fleet 0x6c1e2f0d9a3b5c47\n  \
             iprpctl service del tcp 10.0.0.100:80\n",
    run,
};

pub fn parse(toks: &[String]) -> Result<Change> {
    let mut t = Toks::new(VERB.name, toks);
    let op = t
        .next()
        .ok_or_else(|| t.err("missing subcommand (add, edit or del)"))?;
    match op {
        "add" | "edit" => {
            t.verb = format!("service {op}");
            let key = ServiceKey::parse(&mut t)?;
            let mut c = Change::new(iprp_cmd::IPRP_CMD_NEW_SERVICE);
            if op == "edit" {
                c.flags = libc::NLM_F_REPLACE as u16;
            }
            key.push_to(&mut c);
            let (mut sched, mut resp, mut idle, mut grant) = (None, None, None, None);
            let (mut unmarked_local, mut fleet_seed) = (None, None);
            while let Some(tok) = t.next() {
                match tok {
                    "sched" | "scheduler" | "-s" => {
                        let v = t.value(tok)?;
                        sched = Some(parse::sched(&t, v)?);
                    }
                    "response-timeout" => {
                        let v = t.value(tok)?;
                        resp = Some(parse::millis(&t, tok, v)?);
                    }
                    "idle-timeout" => {
                        let v = t.value(tok)?;
                        idle = Some(parse::millis(&t, tok, v)?);
                    }
                    "grant" => {
                        let v = t.value(tok)?;
                        grant = Some(parse::grant_seconds(&t, v)?);
                    }
                    "unmarked" => {
                        let v = t.value(tok)?;
                        unmarked_local = Some(parse::word(
                            &t,
                            tok,
                            v,
                            &[("local", true), ("redirect", false)],
                        )?);
                    }
                    "fleet" => {
                        let v = t.value(tok)?;
                        fleet_seed = Some(parse::seed(&t, tok, v)?);
                    }
                    _ => return Err(t.unexpected(tok)),
                }
            }
            if let Some(s) = sched {
                c.push(Val::U8(a::SCHED, s));
            }
            if let Some(ms) = resp {
                c.push(Val::U32(a::RESPONSE_TIMEOUT, ms));
            }
            if let Some(ms) = idle {
                c.push(Val::U32(a::IDLE_TIMEOUT, ms));
            }
            if let Some(s) = grant {
                c.push(Val::U32(a::GRANT, s));
            }
            if let Some(l) = unmarked_local {
                c.push(Val::U8(a::UNMARKED_LOCAL, u8::from(l)));
            }
            if let Some(s) = fleet_seed {
                c.push(Val::U64(a::FLEET_SEED, s));
            }
            if op == "edit" && c.attrs.len() == 3 {
                return Err(t.err(
                    "nothing to change (give sched, response-timeout, idle-timeout, grant, unmarked or fleet)",
                ));
            }
            Ok(c)
        }
        "del" | "delete" => {
            t.verb = "service del".into();
            let key = ServiceKey::parse(&mut t)?;
            t.end()?;
            let mut c = Change::new(iprp_cmd::IPRP_CMD_DEL_SERVICE);
            key.push_to(&mut c);
            Ok(c)
        }
        other => Err(t.err(format!(
            "unknown subcommand '{other}' (expected add, edit or del)"
        ))),
    }
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    let change = parse(&toks)?;
    Iprp::connect()?.apply(&change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn p(a: &[&str]) -> Result<Change> {
        super::super::testutil::run(parse, a)
    }

    fn usage(a: &[&str]) -> String {
        super::super::testutil::usage_of(a, p(a))
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

    #[test]
    fn add_with_options() {
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "sched",
            "wrr",
            "response-timeout",
            "200",
            "idle-timeout",
            "30s",
        ])
        .unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_NEW_SERVICE);
        assert_eq!(
            c.attrs,
            vec![
                Val::U8(a::PROTO, 6),
                Val::InAddr(a::VIP, VIP),
                Val::U16(a::PORT, 80),
                Val::U8(a::SCHED, 1),
                Val::U32(a::RESPONSE_TIMEOUT, 200),
                Val::U32(a::IDLE_TIMEOUT, 30000),
            ]
        );
        // ipvsadm-style key, options in any order, the same request.
        let c2 = p(&[
            "add",
            "-t",
            "10.0.0.100:80",
            "idle-timeout",
            "30000ms",
            "-s",
            "wrr",
            "response-timeout",
            "200",
        ])
        .unwrap();
        assert_eq!(c2.attrs.len(), c.attrs.len());
        for v in &c.attrs {
            assert!(c2.attrs.contains(v), "{v:?}");
        }
        let u = p(&["add", "-u", "10.0.0.100:53"]).unwrap();
        assert_eq!(
            u.attrs,
            vec![
                Val::U8(a::PROTO, 17),
                Val::InAddr(a::VIP, VIP),
                Val::U16(a::PORT, 53)
            ]
        );
    }

    #[test]
    fn edit_sets_replace() {
        let c = p(&["edit", "tcp", "10.0.0.100:80", "sched", "rr"]).unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_NEW_SERVICE);
        assert_eq!(c.flags, libc::NLM_F_REPLACE as u16);
        assert_eq!(
            c.attrs,
            vec![
                Val::U8(a::PROTO, 6),
                Val::InAddr(a::VIP, VIP),
                Val::U16(a::PORT, 80),
                Val::U8(a::SCHED, 0),
            ]
        );
        // The flag is in the message; NLM_F_REQUEST | NLM_F_ACK are added
        // when it is sent.
        let m = c.encode(0x1d).finish(1);
        assert_eq!(u16::from_ne_bytes([m[6], m[7]]), libc::NLM_F_REPLACE as u16);
        let add = p(&["add", "tcp", "10.0.0.100:80", "sched", "rr"]).unwrap();
        assert_eq!(add.flags, 0);
        assert_eq!(add.attrs, c.attrs);
    }

    #[test]
    fn fleet_seed() {
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "sched",
            "mh",
            "fleet",
            "0x5EED",
        ])
        .unwrap();
        assert_eq!(
            c.attrs[3..],
            [Val::U8(a::SCHED, 4), Val::U64(a::FLEET_SEED, 0x5eed)]
        );
        let c = p(&[
            "edit",
            "tcp",
            "10.0.0.100:80",
            "fleet",
            "18446744073709551615",
        ])
        .unwrap();
        assert_eq!(c.attrs[3..], [Val::U64(a::FLEET_SEED, u64::MAX)]);
        let c = p(&["edit", "tcp", "10.0.0.100:80", "fleet", "0"]).unwrap();
        assert_eq!(c.attrs[3..], [Val::U64(a::FLEET_SEED, 0)]);
        for bad in ["0x", "-1", "18446744073709551616", "0xg", "seed"] {
            assert_eq!(
                usage(&["add", "tcp", "10.0.0.1:80", "fleet", bad]),
                format!(
                    "service add: invalid fleet '{bad}' (expected 0..2^64-1, decimal or 0x hex)"
                )
            );
        }
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.1:80", "fleet"]),
            "service add: 'fleet' needs a value"
        );
    }

    #[test]
    fn unmarked() {
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "unmarked",
            "local",
            "grant",
            "60",
        ])
        .unwrap();
        assert_eq!(
            c.attrs[3..],
            [Val::U32(a::GRANT, 60), Val::U8(a::UNMARKED_LOCAL, 1)]
        );
        // edit: alone, and back to the default
        let c = p(&["edit", "-t", "10.0.0.100:80", "unmarked", "redirect"]).unwrap();
        assert_eq!(c.flags, libc::NLM_F_REPLACE as u16);
        assert_eq!(c.attrs[3..], [Val::U8(a::UNMARKED_LOCAL, 0)]);
        // The last one given wins, like the other options.
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "unmarked",
            "redirect",
            "unmarked",
            "local",
        ])
        .unwrap();
        assert_eq!(c.attrs[3..], [Val::U8(a::UNMARKED_LOCAL, 1)]);
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.1:80", "unmarked"]),
            "service add: 'unmarked' needs a value"
        );
        assert_eq!(
            usage(&["edit", "tcp", "10.0.0.1:80", "unmarked", "maybe"]),
            "service edit: invalid unmarked 'maybe' (expected local or redirect)"
        );
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.1:80", "unmarked", "1"]),
            "service add: invalid unmarked '1' (expected local or redirect)"
        );
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.1:80", "local"]),
            "service add: unexpected argument 'local'"
        );
    }

    #[test]
    fn del() {
        let c = p(&["del", "udp", "10.0.0.100:53"]).unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_DEL_SERVICE);
        assert_eq!(
            c.attrs,
            vec![
                Val::U8(a::PROTO, 17),
                Val::InAddr(a::VIP, VIP),
                Val::U16(a::PORT, 53)
            ]
        );
    }

    /// The exact bytes of `service add tcp 10.0.0.100:80 sched wrr`.
    #[test]
    fn exact_encoding() {
        let c = p(&["add", "tcp", "10.0.0.100:80", "sched", "wrr"]).unwrap();
        let m = c.encode(0x1d).finish(7);
        let ne16 = |v: u16| v.to_ne_bytes();
        // nlmsghdr: len, type = family id, flags (set when sent), seq
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(&m[4..6], &ne16(0x1d));
        // genlmsghdr: cmd, version
        assert_eq!(&m[16..20], &[iprp_cmd::IPRP_CMD_NEW_SERVICE as u8, 1, 0, 0]);
        let mut want = Vec::new();
        // IPRP_A_PROTO u8 = 6, padded
        want.extend(ne16(5));
        want.extend(ne16(a::PROTO));
        want.extend([6, 0, 0, 0]);
        // IPRP_A_VIP: the four octets in order (network byte order)
        want.extend(ne16(8));
        want.extend(ne16(a::VIP));
        want.extend([10, 0, 0, 100]);
        // IPRP_A_PORT u16 host order = 80, padded
        want.extend(ne16(6));
        want.extend(ne16(a::PORT));
        want.extend(ne16(80));
        want.extend([0, 0]);
        // IPRP_A_SCHED u8 = IPRP_SCHED_WRR
        want.extend(ne16(5));
        want.extend(ne16(a::SCHED));
        want.extend([crate::uapi::iprp_sched::IPRP_SCHED_WRR as u8, 0, 0, 0]);
        assert_eq!(&m[20..], &want[..]);
    }

    /// The same, as literal bytes on a little-endian host (docs/cli.md
    /// shows them).
    #[test]
    #[cfg(target_endian = "little")]
    fn exact_encoding_literal() {
        let c = p(&["add", "tcp", "10.0.0.100:80", "sched", "wrr"]).unwrap();
        let m = c.encode(0x1d).finish(7);
        assert_eq!(
            &m[16..],
            &[
                3, 1, 0, 0, // genlmsghdr: IPRP_CMD_NEW_SERVICE, version 1
                5, 0, 5, 0, 6, 0, 0, 0, // IPRP_A_PROTO = 6
                8, 0, 6, 0, 10, 0, 0, 100, // IPRP_A_VIP = 10.0.0.100
                6, 0, 7, 0, 80, 0, 0, 0, // IPRP_A_PORT = 80
                5, 0, 8, 0, 1, 0, 0, 0, // IPRP_A_SCHED = IPRP_SCHED_WRR
            ]
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(usage(&[]), "service: missing subcommand (add, edit or del)");
        assert!(usage(&["change"]).contains("unknown subcommand 'change'"));
        assert_eq!(
            usage(&["edit", "tcp", "10.0.0.1:80"]),
            "service edit: nothing to change (give sched, response-timeout, idle-timeout, grant, unmarked or fleet)"
        );
        assert!(usage(&["edit", "tcp", "10.0.0.1:80", "weight", "1"])
            .contains("service edit: unexpected argument 'weight'"));
        assert!(usage(&["add"]).contains("missing protocol"));
        assert!(usage(&["add", "tcp"]).contains("missing service address"));
        assert!(usage(&["add", "-t"]).contains("'-t' needs a value"));
        assert!(usage(&["add", "icmp", "10.0.0.1:80"]).contains("unknown protocol 'icmp'"));
        assert!(usage(&["add", "tcp", "10.0.0.256:80"]).contains("'10.0.0.256'"));
        assert!(usage(&["add", "tcp", "10.0.0.1:0"]).contains("invalid port '0'"));
        assert!(usage(&["add", "tcp", "10.0.0.1:80", "sched", "fifo"])
            .contains("unknown scheduler 'fifo'"));
        assert!(usage(&["add", "tcp", "10.0.0.1:80", "sched"]).contains("'sched' needs a value"));
        assert!(usage(&["add", "tcp", "10.0.0.1:80", "idle-timeout", "x"])
            .contains("invalid idle-timeout 'x'"));
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.1:80", "persistent"]),
            "service add: unexpected argument 'persistent'"
        );
        assert_eq!(
            usage(&["del", "tcp", "10.0.0.1:80", "sched", "rr"]),
            "service del: unexpected argument 'sched'"
        );
    }
}
