// SPDX-License-Identifier: GPL-2.0

//! `iprpctl replica add|set|del`: replicas of a service
//! (`IPRP_CMD_SET_REPLICA`, `IPRP_CMD_DEL_REPLICA`).

use super::{Change, Ctx, Iprp, ServiceKey, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::parse::{self, Toks};
use crate::uapi::{a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "replica",
    summary: "add, change or delete a replica of a service",
    usage: "replica add|set tcp|udp VIP:PORT ADDR [weight W] [up|down|drain]\n       \
            iprpctl replica del tcp|udp VIP:PORT ADDR",
    help: "Adds or changes (IPRP_CMD_SET_REPLICA) or deletes (IPRP_CMD_DEL_REPLICA)\n\
           replica ADDR (IPv4, numeric) of service tcp|udp VIP:PORT. `add` creates\n\
           the replica if needed; `set` (NLM_F_REPLACE) only changes an existing\n\
           one. The options given are applied; the others keep their value (or\n\
           the module's default for a new replica). ipvsadm's\n\
           `-t|-u VIP:PORT -r ADDR -w W` is accepted too.\n\
           \n\
           Options of `add` / `set`:\n  \
             weight W   0..65535 (also -w W); 0 takes no new flows\n  \
             up         the replica takes new flows\n  \
             down       the replica failed: no new flows, and the clients of\n             \
                        its confirmed flows are told to re-bind (a UDP flow\n             \
                        goes on to a live replica, a TCP connection is reset)\n  \
             drain      same as `weight 0`: existing flows stay\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n\
           \n\
           Examples:\n  \
             iprpctl replica add tcp 10.0.0.100:80 10.0.1.1 weight 3\n  \
             iprpctl replica set tcp 10.0.0.100:80 10.0.1.1 drain\n  \
             iprpctl replica del tcp 10.0.0.100:80 10.0.1.1\n",
    run,
};

pub fn parse(toks: &[String]) -> Result<Change> {
    let mut t = Toks::new(VERB.name, toks);
    let op = t
        .next()
        .ok_or_else(|| t.err("missing subcommand (add, set or del)"))?;
    let (cmd, modify) = match op {
        "add" | "set" => (iprp_cmd::IPRP_CMD_SET_REPLICA, true),
        "del" | "delete" => (iprp_cmd::IPRP_CMD_DEL_REPLICA, false),
        other => {
            return Err(t.err(format!(
                "unknown subcommand '{other}' (expected add, set or del)"
            )))
        }
    };
    t.verb = format!("replica {op}");
    let key = ServiceKey::parse(&mut t)?;
    let (mut addr, mut weight, mut up, mut drain) = (None, None, None, false);
    while let Some(tok) = t.next() {
        match tok {
            "-r" | "--real-server" if addr.is_none() => {
                let v = t.value(tok)?;
                addr = Some(parse::unicast(&t, "replica address", v)?);
            }
            "weight" | "-w" if modify => {
                let v = t.value(tok)?;
                weight = Some(parse::weight(&t, v)?);
            }
            "up" | "down" if modify => {
                let this = tok == "up";
                if up == Some(!this) {
                    return Err(t.err("'up' and 'down' cannot be combined"));
                }
                up = Some(this);
            }
            "drain" if modify => drain = true,
            _ if addr.is_none() && !tok.starts_with('-') => {
                addr = Some(parse::unicast(&t, "replica address", tok)?);
            }
            _ => return Err(t.unexpected(tok)),
        }
    }
    let addr = addr.ok_or_else(|| t.err("missing replica address (ADDR)"))?;
    if drain {
        if weight.is_some_and(|w| w != 0) {
            return Err(t.err("'drain' means weight 0 and cannot be combined with 'weight'"));
        }
        weight = Some(0);
    }
    let mut c = Change::new(cmd);
    if op == "set" {
        // Change only: a replica that does not exist is an error, not a
        // new one.
        c.flags = libc::NLM_F_REPLACE as u16;
    }
    key.push_to(&mut c);
    c.push(Val::InAddr(a::REPLICA_ADDR, addr));
    if let Some(w) = weight {
        c.push(Val::U32(a::WEIGHT, w));
    }
    if let Some(u) = up {
        c.push(Val::U8(a::UP, u8::from(u)));
    }
    Ok(c)
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

    fn key(proto: u8) -> Vec<Val> {
        vec![
            Val::U8(a::PROTO, proto),
            Val::InAddr(a::VIP, Ipv4Addr::new(10, 0, 0, 100)),
            Val::U16(a::PORT, 80),
        ]
    }

    const R: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);

    #[test]
    fn add_set_del() {
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "10.0.1.1",
            "weight",
            "3",
            "up",
        ])
        .unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_SET_REPLICA);
        assert_eq!(c.flags, 0);
        let mut want = key(6);
        want.extend([
            Val::InAddr(a::REPLICA_ADDR, R),
            Val::U32(a::WEIGHT, 3),
            Val::U8(a::UP, 1),
        ]);
        assert_eq!(c.attrs, want);

        let c = p(&["set", "udp", "10.0.0.100:80", "10.0.1.1", "down"]).unwrap();
        assert_eq!(c.flags, libc::NLM_F_REPLACE as u16);
        let mut want = key(17);
        want.extend([Val::InAddr(a::REPLICA_ADDR, R), Val::U8(a::UP, 0)]);
        assert_eq!(c.attrs, want);

        let c = p(&["set", "tcp", "10.0.0.100:80", "10.0.1.1", "drain"]).unwrap();
        let mut want = key(6);
        want.extend([Val::InAddr(a::REPLICA_ADDR, R), Val::U32(a::WEIGHT, 0)]);
        assert_eq!(c.attrs, want);

        // ipvsadm style
        let c = p(&[
            "add",
            "-t",
            "10.0.0.100:80",
            "-r",
            "10.0.1.1",
            "-w",
            "65535",
        ])
        .unwrap();
        let mut want = key(6);
        want.extend([Val::InAddr(a::REPLICA_ADDR, R), Val::U32(a::WEIGHT, 65535)]);
        assert_eq!(c.attrs, want);

        let c = p(&["del", "tcp", "10.0.0.100:80", "10.0.1.1"]).unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_DEL_REPLICA);
        let mut want = key(6);
        want.push(Val::InAddr(a::REPLICA_ADDR, R));
        assert_eq!(c.attrs, want);
    }

    #[test]
    fn exact_encoding_of_the_replica_attributes() {
        let c = p(&[
            "add",
            "tcp",
            "10.0.0.100:80",
            "10.0.1.1",
            "weight",
            "300",
            "up",
        ])
        .unwrap();
        let m = c.encode(0x1d).finish(1);
        assert_eq!(&m[16..20], &[iprp_cmd::IPRP_CMD_SET_REPLICA as u8, 1, 0, 0]);
        // after PROTO (8), VIP (8), PORT (8) bytes
        let rest = &m[20 + 24..];
        let ne16 = |v: u16| v.to_ne_bytes();
        let mut want = Vec::new();
        want.extend(ne16(8));
        want.extend(ne16(a::REPLICA_ADDR));
        want.extend([10, 0, 1, 1]);
        want.extend(ne16(8));
        want.extend(ne16(a::WEIGHT));
        want.extend(300u32.to_ne_bytes());
        want.extend(ne16(5));
        want.extend(ne16(a::UP));
        want.extend([1, 0, 0, 0]);
        assert_eq!(rest, &want[..]);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(usage(&[]), "replica: missing subcommand (add, set or del)");
        assert!(usage(&["edit"]).contains("unknown subcommand 'edit'"));
        assert!(usage(&["add", "tcp", "10.0.0.100:80"]).contains("missing replica address"));
        assert!(usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.x"])
            .contains("invalid replica address '10.0.1.x'"));
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.1", "weight", "70000"]),
            "replica add: weight '70000' out of range (0..65535)"
        );
        assert!(
            usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.1", "weight"])
                .contains("'weight' needs a value")
        );
        assert!(
            usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.1", "up", "down"])
                .contains("'up' and 'down'")
        );
        assert!(usage(&[
            "set",
            "tcp",
            "10.0.0.100:80",
            "10.0.1.1",
            "weight",
            "2",
            "drain"
        ])
        .contains("'drain'"));
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.1", "heavy"]),
            "replica add: unexpected argument 'heavy'"
        );
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.100:80", "10.0.1.1", "10.0.1.2"]),
            "replica add: unexpected argument '10.0.1.2'"
        );
        assert_eq!(
            usage(&["del", "tcp", "10.0.0.100:80", "10.0.1.1", "weight", "1"]),
            "replica del: unexpected argument 'weight'"
        );
        assert_eq!(
            usage(&["add", "tcp", "10.0.0.100:80", "-x"]),
            "replica add: unknown option '-x'"
        );
    }
}
