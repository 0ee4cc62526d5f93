// SPDX-License-Identifier: GPL-2.0

//! `iprpctl flush [client] [redirector]`: empty tables (`IPRP_CMD_FLUSH`).

use super::{Change, Ctx, Iprp, Val, Verb};
use crate::cli::{self, Args};
use crate::error::Result;
use crate::parse::Toks;
use crate::uapi::{self, a, iprp_cmd};

pub const VERB: Verb = Verb {
    name: "flush",
    summary: "empty the tables (and, without a role, remove every service)",
    usage: "flush [client] [redirector]",
    help: "Sends IPRP_CMD_FLUSH for the network namespace iprpctl runs in.\n\
           \n\
           flush              every table of both roles (client bindings,\n                   \
                              redirection and accept tables) and every service\n                   \
                              with its replicas: iprp starts from scratch (the\n                   \
                              roles and table sizes stay)\n\
           flush client       the client's bindings only (IPRP_A_ROLE = client)\n\
           flush redirector   the redirection and accept tables only; services,\n                   \
                              replicas, the client cache and grants stay\n\
           flush client redirector   both roles' tables; services stay\n\
           \n\
           Live flows whose entries are flushed start over: a redirected flow's\n\
           next packet reaches the redirector again, which redirects it anew.\n\
           \n\
           Needs CAP_NET_ADMIN. Prints nothing on success.\n",
    run,
};

pub fn parse(toks: &[String]) -> Result<Change> {
    let mut t = Toks::new(VERB.name, toks);
    let mut bits = None;
    while let Some(tok) = t.next() {
        match uapi::role_by_name(tok) {
            Some(b) => bits = Some(bits.unwrap_or(0) | b),
            None => return Err(t.unexpected(tok)),
        }
    }
    let mut c = Change::new(iprp_cmd::IPRP_CMD_FLUSH);
    if let Some(b) = bits {
        c.push(Val::U32(a::ROLE, b));
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
    use crate::error::Error;
    use crate::uapi::iprp_role;

    fn p(a: &[&str]) -> Result<Change> {
        super::super::testutil::run(parse, a)
    }

    #[test]
    fn roles() {
        let c = p(&[]).unwrap();
        assert_eq!(c.cmd, iprp_cmd::IPRP_CMD_FLUSH);
        assert!(c.attrs.is_empty());
        assert_eq!(
            p(&["client"]).unwrap().attrs,
            vec![Val::U32(a::ROLE, iprp_role::IPRP_ROLE_CLIENT)]
        );
        assert_eq!(
            p(&["redirector", "client"]).unwrap().attrs,
            vec![Val::U32(
                a::ROLE,
                iprp_role::IPRP_ROLE_CLIENT | iprp_role::IPRP_ROLE_REDIRECTOR
            )]
        );
        match p(&["services"]) {
            Err(Error::Usage(m)) => assert_eq!(m, "flush: unexpected argument 'services'"),
            r => panic!("{r:?}"),
        }
    }
}
