// SPDX-License-Identifier: GPL-2.0

//! The verbs of iprpctl, one module each, and what they share: the run
//! context ([`Ctx`]) and the connection to the iprp family ([`Iprp`]).
//!
//! To add a verb: write `verbs/<name>.rs` with a `pub const VERB: Verb`
//! and list it in [`VERBS`].

use crate::cli::Args;
use crate::error::Result;
use crate::netlink::{self, Family, Msg, MsgBuilder, Socket};
use crate::uapi;

pub mod status;

/// A verb: its name, help texts and entry point.
pub struct Verb {
    pub name: &'static str,
    /// One line, shown in the verb list.
    pub summary: &'static str,
    /// Synopsis after the program name, e.g. `status [-j]`.
    pub usage: &'static str,
    /// Details: options, output format.
    pub help: &'static str,
    pub run: fn(&mut Ctx, Args) -> Result<()>,
}

/// Every verb, in the order `--help` lists them.
pub static VERBS: &[Verb] = &[status::VERB];

pub fn find(name: &str) -> Option<&'static Verb> {
    VERBS.iter().find(|v| v.name == name)
}

/// Per-invocation settings.
#[derive(Debug, Default)]
pub struct Ctx {
    /// `-j`/`--json`: print one JSON object instead of human text.
    pub json: bool,
}

/// A netlink socket and the resolved iprp generic-netlink family.
pub struct Iprp {
    pub sock: Socket,
    pub family: Family,
}

impl Iprp {
    /// Opens a socket and resolves the family; [`crate::Error::FamilyNotFound`]
    /// if the module is not loaded.
    pub fn connect() -> Result<Self> {
        let mut sock = Socket::generic()?;
        let family = netlink::resolve_family(&mut sock, uapi::genl_name())?;
        Ok(Iprp { sock, family })
    }

    /// A request for iprp command `cmd` at the header's family version.
    pub fn msg(&self, cmd: uapi::iprp_cmd::Type) -> MsgBuilder {
        MsgBuilder::genl(self.family.id, 0, cmd as u8, uapi::IPRP_GENL_VERSION as u8)
    }

    /// Sends a "do" request; `on_reply` sees each reply.
    pub fn request(
        &mut self,
        msg: MsgBuilder,
        on_reply: impl FnMut(&Msg<'_>) -> Result<()>,
    ) -> Result<()> {
        self.sock.request(msg, on_reply)
    }

    /// Sends a dump request; `on_reply` sees each part.
    pub fn dump(
        &mut self,
        msg: MsgBuilder,
        on_reply: impl FnMut(&Msg<'_>) -> Result<()>,
    ) -> Result<()> {
        self.sock.dump(msg, on_reply)
    }
}
