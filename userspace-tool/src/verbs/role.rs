// SPDX-License-Identifier: GPL-2.0

//! `iprpctl role`: show or set the roles of this network namespace
//! (`IPRP_CMD_SET_ROLE`).

use super::{status, Change, Ctx, Iprp, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::json::Json;
use crate::parse::{self, Toks};
use crate::uapi::{self, a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "role",
    summary: "show or set the roles of this network namespace",
    usage: "role [client] [redirector] [none] [capacity N] [client-capacity N]\n            \
            [redirector-capacity N] [legacy-capacity N] [idle-timeout MS] [-j]",
    help: "Without arguments, shows the roles of the network namespace iprpctl\n\
           runs in (from IPRP_CMD_GET_STATUS); -j prints {\"role\": [\"client\", ...]}.\n\
           \n\
           With arguments, sets them (IPRP_CMD_SET_ROLE). The namespace gets\n\
           exactly the roles named, so `role client` turns the redirector off.\n  \
             client       keep bindings and translate bound flows\n  \
             redirector   redirect new flows of the configured services\n  \
             none         no role: iprp is off in this namespace\n  \
             capacity N   table size in entries of each role created now\n               \
                          (IPRP_A_CAPACITY, 16..4194304); fixed once a role's\n               \
                          tables exist: naming another size is refused\n  \
             client-capacity N, redirector-capacity N\n               \
                          the same for one role (IPRP_A_CLIENT_CAPACITY,\n               \
                          IPRP_A_REDIR_CAPACITY), overriding capacity\n  \
             legacy-capacity N\n               \
                          slots of the redirector's legacy cache, the clients\n               \
                          it knows with or without IPRP (iprpctl legacy;\n               \
                          IPRP_A_LEGACY_CAPACITY, 4..65536, default 4096);\n               \
                          fixed like the redirector's table\n  \
             idle-timeout MS   the client's idle timeout for its bindings\n                   \
                          (TCP and UDP; IPRP_A_IDLE_TIMEOUT)\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n\
           \n\
           Examples:\n  \
             iprpctl role client redirector capacity 65536\n  \
             iprpctl role none\n",
    run,
};

/// What `role` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Show,
    Set(Change),
}

pub fn parse(toks: &[String]) -> Result<Role> {
    let mut t = Toks::new(VERB.name, toks);
    if toks.is_empty() {
        return Ok(Role::Show);
    }
    let (mut bits, mut none, mut capacity, mut idle) = (0u32, false, None, None);
    let (mut client_cap, mut redir_cap, mut legacy_cap) = (None, None, None);
    while let Some(tok) = t.next() {
        match tok {
            "none" => none = true,
            "capacity" => {
                let v = t.value(tok)?;
                capacity = Some(parse::u32_value(&t, tok, v)?);
            }
            "client-capacity" => {
                let v = t.value(tok)?;
                client_cap = Some(parse::u32_value(&t, tok, v)?);
            }
            "redirector-capacity" => {
                let v = t.value(tok)?;
                redir_cap = Some(parse::u32_value(&t, tok, v)?);
            }
            "legacy-capacity" => {
                let v = t.value(tok)?;
                legacy_cap = Some(parse::u32_value(&t, tok, v)?);
            }
            "idle-timeout" => {
                let v = t.value(tok)?;
                idle = Some(parse::millis(&t, tok, v)?);
            }
            r => match uapi::role_by_name(r) {
                Some(b) => bits |= b,
                None => return Err(t.unexpected(r)),
            },
        }
    }
    if none && bits != 0 {
        return Err(t.err("'none' cannot be combined with a role"));
    }
    if !none && bits == 0 {
        return Err(
            t.err("missing role (client, redirector or none); the roles are always set together")
        );
    }
    let mut c = Change::new(iprp_cmd::IPRP_CMD_SET_ROLE);
    c.push(Val::U32(a::ROLE, bits));
    if let Some(n) = capacity {
        c.push(Val::U32(a::CAPACITY, n));
    }
    if let Some(n) = client_cap {
        c.push(Val::U32(a::CLIENT_CAPACITY, n));
    }
    if let Some(n) = redir_cap {
        c.push(Val::U32(a::REDIR_CAPACITY, n));
    }
    if let Some(n) = legacy_cap {
        c.push(Val::U32(a::LEGACY_CAPACITY, n));
    }
    if let Some(ms) = idle {
        c.push(Val::U32(a::IDLE_TIMEOUT, ms));
    }
    Ok(Role::Set(c))
}

fn run(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &VERB)? else {
        return Ok(());
    };
    let role = parse(&toks)?;
    let mut iprp = Iprp::connect()?;
    match role {
        Role::Set(c) => iprp.apply(&c),
        Role::Show => {
            let s = status::fetch(&mut iprp)?;
            let role = s.role.unwrap_or(0);
            let text = if ctx.json {
                let mut o = Json::object();
                o.insert("role", status::role_json(role));
                format!("{o}\n")
            } else {
                format!("{}\n", status::role_text(role))
            };
            super::print(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::iprp_role;

    fn p(a: &[&str]) -> Result<Role> {
        super::super::testutil::run(parse, a)
    }

    fn set(attrs: &[Val]) -> Role {
        Role::Set(Change {
            cmd: iprp_cmd::IPRP_CMD_SET_ROLE,
            flags: 0,
            attrs: attrs.to_vec(),
        })
    }

    fn usage(a: &[&str]) -> String {
        super::super::testutil::usage_of(a, p(a))
    }

    #[test]
    fn parses_roles() {
        assert_eq!(p(&[]).unwrap(), Role::Show);
        assert_eq!(
            p(&["client"]).unwrap(),
            set(&[Val::U32(a::ROLE, iprp_role::IPRP_ROLE_CLIENT)])
        );
        assert_eq!(
            p(&["redirector", "client", "capacity", "4096"]).unwrap(),
            set(&[Val::U32(a::ROLE, 3), Val::U32(a::CAPACITY, 4096)])
        );
        assert_eq!(p(&["none"]).unwrap(), set(&[Val::U32(a::ROLE, 0)]));
        assert_eq!(
            p(&[
                "client",
                "redirector",
                "client-capacity",
                "1024",
                "redirector-capacity",
                "65536",
                "idle-timeout",
                "30s"
            ])
            .unwrap(),
            set(&[
                Val::U32(a::ROLE, 3),
                Val::U32(a::CLIENT_CAPACITY, 1024),
                Val::U32(a::REDIR_CAPACITY, 65536),
                Val::U32(a::IDLE_TIMEOUT, 30000)
            ])
        );
        // The range (4..65536) is the module's policy, as for the others.
        assert_eq!(
            p(&["redirector", "legacy-capacity", "1024"]).unwrap(),
            set(&[Val::U32(a::ROLE, 2), Val::U32(a::LEGACY_CAPACITY, 1024)])
        );
        assert_eq!(
            p(&["redirector", "legacy-capacity", "3"]).unwrap(),
            set(&[Val::U32(a::ROLE, 2), Val::U32(a::LEGACY_CAPACITY, 3)])
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(usage(&["bogus"]), "role: unexpected argument 'bogus'");
        assert!(usage(&["none", "client"]).contains("'none'"));
        assert!(usage(&["capacity", "10"]).contains("missing role"));
        assert_eq!(
            usage(&["client", "capacity"]),
            "role: 'capacity' needs a value"
        );
        assert!(usage(&["client", "capacity", "x"]).contains("invalid capacity 'x'"));
        assert_eq!(
            usage(&["redirector", "legacy-capacity"]),
            "role: 'legacy-capacity' needs a value"
        );
        assert_eq!(
            usage(&["redirector", "legacy-capacity", "-1"]),
            "role: invalid legacy-capacity '-1' (expected 0..4294967295)"
        );
    }

    #[test]
    fn encoding() {
        let Role::Set(c) = p(&["client", "redirector", "capacity", "65536"]).unwrap() else {
            panic!()
        };
        let m = c.encode(0x20).finish(1);
        assert_eq!(&m[16..20], &[iprp_cmd::IPRP_CMD_SET_ROLE as u8, 1, 0, 0]);
        let mut want = Vec::new();
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&a::ROLE.to_ne_bytes());
        want.extend_from_slice(&3u32.to_ne_bytes());
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&a::CAPACITY.to_ne_bytes());
        want.extend_from_slice(&65536u32.to_ne_bytes());
        assert_eq!(&m[20..], &want[..]);
    }
}
