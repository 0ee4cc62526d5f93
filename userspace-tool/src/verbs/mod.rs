// SPDX-License-Identifier: GPL-2.0

//! The verbs of iprpctl, one module each, and what they share: the run
//! context ([`Ctx`]) and the connection to the iprp family ([`Iprp`]).
//!
//! To add a verb: write `verbs/<name>.rs` with a `pub const VERB: Verb`
//! and list it in [`VERBS`].

use std::net::Ipv4Addr;

use crate::cli::Args;
use crate::error::{Error, Result};
use crate::json::Json;
use crate::netlink::{self, Attr, Attrs, Family, GenlMsg, Msg, MsgBuilder, Socket};
use crate::uapi::{self, a};

pub mod flush;
pub mod health;
pub mod legacy;
pub mod list;
pub mod monitor;
pub mod params;
pub mod replica;
pub mod role;
pub mod rows;
pub mod save;
pub mod service;
pub mod stats;
pub mod status;

/// Helpers shared by the verbs' parser tests.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::error::{Error, Result};
    use std::fmt::Debug;

    /// Runs a verb's `parse` on string literals.
    pub fn run<T>(parse: impl Fn(&[String]) -> Result<T>, a: &[&str]) -> Result<T> {
        let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        parse(&v)
    }

    /// The message of a parse that must fail with a usage error.
    pub fn usage_of<T: Debug>(a: &[&str], r: Result<T>) -> String {
        match r {
            Err(Error::Usage(m)) => m,
            r => panic!("{a:?}: expected a usage error, got {r:?}"),
        }
    }
}

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
pub static VERBS: &[Verb] = &[
    status::VERB,
    role::VERB,
    service::VERB,
    replica::VERB,
    health::VERB,
    list::VERB,
    rows::BINDINGS,
    rows::FLOWS,
    legacy::VERB,
    stats::VERB,
    monitor::VERB,
    params::ZERO,
    params::SET,
    flush::VERB,
    save::SAVE,
    save::RESTORE,
];

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
        request_msg(self.family.id, cmd)
    }

    /// Sends a configuration change and waits for the kernel's ACK.
    pub fn apply(&mut self, change: &Change) -> Result<()> {
        let msg = change.encode(self.family.id);
        self.request(msg, |_| Ok(()))
    }

    /// Dumps command `cmd`, decoding each message with `decode`. A dump
    /// interrupted by concurrent changes is retried a few times.
    pub fn dump_all<T>(
        &mut self,
        cmd: uapi::iprp_cmd::Type,
        decode: impl FnMut(Attrs<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.dump_filtered(cmd, &[], decode)
    }

    /// [`Iprp::dump_all`] with attributes in the request (the module's
    /// dump filters).
    pub fn dump_filtered<T>(
        &mut self,
        cmd: uapi::iprp_cmd::Type,
        filter: &[Val],
        mut decode: impl FnMut(Attrs<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        const TRIES: usize = 5;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut out = Vec::new();
            let msg = Change {
                cmd,
                flags: 0,
                attrs: filter.to_vec(),
            }
            .encode(self.family.id);
            let r = self.dump(msg, |m| {
                out.push(decode(GenlMsg::parse(m)?.attrs)?);
                Ok(())
            });
            match r {
                Ok(()) => return Ok(out),
                Err(Error::DumpInterrupted) if attempt < TRIES => {}
                Err(e) => return Err(e),
            }
        }
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

/// A request for iprp command `cmd` to family `family`.
pub fn request_msg(family: u16, cmd: uapi::iprp_cmd::Type) -> MsgBuilder {
    MsgBuilder::genl(family, 0, cmd as u8, uapi::IPRP_GENL_VERSION as u8)
}

/// One attribute of a configuration request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val {
    U8(u16, u8),
    /// Host byte order, like `nla_put_u16`.
    U16(u16, u16),
    U32(u16, u32),
    U64(u16, u64),
    /// An IPv4 address in network byte order (`nla_get_in_addr`).
    InAddr(u16, Ipv4Addr),
}

impl Val {
    /// The attribute type.
    pub fn ty(&self) -> u16 {
        match *self {
            Val::U8(t, _)
            | Val::U16(t, _)
            | Val::U32(t, _)
            | Val::U64(t, _)
            | Val::InAddr(t, _) => t,
        }
    }
}

/// A configuration request: the command, extra `NLM_F_*` flags (e.g.
/// `NLM_F_REPLACE` for `service edit`) and its attributes, in order.
/// Sent with `NLM_F_REQUEST | NLM_F_ACK`; success is silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub cmd: uapi::iprp_cmd::Type,
    pub flags: u16,
    pub attrs: Vec<Val>,
}

impl Change {
    pub fn new(cmd: uapi::iprp_cmd::Type) -> Self {
        Change {
            cmd,
            flags: 0,
            attrs: Vec::new(),
        }
    }

    /// The first attribute of type `ty`.
    pub fn attr(&self, ty: u16) -> Option<Val> {
        self.attrs.iter().copied().find(|v| v.ty() == ty)
    }

    /// The service key (`PROTO`, `VIP`, `PORT`) of a service or replica
    /// request, if it has one.
    pub fn service_key(&self) -> Option<ServiceKey> {
        match (self.attr(a::PROTO), self.attr(a::VIP), self.attr(a::PORT)) {
            (Some(Val::U8(_, proto)), Some(Val::InAddr(_, vip)), Some(Val::U16(_, port))) => {
                Some(ServiceKey { proto, vip, port })
            }
            _ => None,
        }
    }

    pub fn push(&mut self, v: Val) -> &mut Self {
        self.attrs.push(v);
        self
    }

    /// The request message for family id `family` (flags are added when
    /// it is sent).
    pub fn encode(&self, family: u16) -> MsgBuilder {
        let mut b = request_msg(family, self.cmd);
        b.set_flags(self.flags);
        for v in &self.attrs {
            match *v {
                Val::U8(t, x) => b.put_u8(t, x),
                Val::U16(t, x) => b.put_u16(t, x),
                Val::U32(t, x) => b.put_u32(t, x),
                Val::U64(t, x) => b.put_u64(t, x),
                Val::InAddr(t, x) => b.put(t, &x.octets()),
            };
        }
        b
    }
}

/// A service key: protocol, virtual address, port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub proto: u8,
    pub vip: Ipv4Addr,
    pub port: u16,
}

impl ServiceKey {
    /// Parses `tcp|udp VIP:PORT`, or ipvsadm's `-t VIP:PORT` / `-u VIP:PORT`.
    pub fn parse(t: &mut crate::parse::Toks<'_>) -> Result<Self> {
        use crate::parse;
        let first = t
            .next()
            .ok_or_else(|| t.err("missing protocol and service address (tcp|udp VIP:PORT)"))?;
        let proto = match first {
            "-t" | "--tcp-service" => libc::IPPROTO_TCP as u8,
            "-u" | "--udp-service" => libc::IPPROTO_UDP as u8,
            p => parse::proto(t, p)?,
        };
        let ep = if first.starts_with('-') {
            t.value(first)?
        } else {
            t.next()
                .ok_or_else(|| t.err("missing service address (VIP:PORT)"))?
        };
        let (vip, port) = parse::endpoint(t, ep)?;
        Ok(ServiceKey { proto, vip, port })
    }

    /// `IPRP_A_PROTO`, `IPRP_A_VIP`, `IPRP_A_PORT`.
    pub fn push_to(&self, c: &mut Change) {
        c.push(Val::U8(a::PROTO, self.proto))
            .push(Val::InAddr(a::VIP, self.vip))
            .push(Val::U16(a::PORT, self.port));
    }
}

impl std::fmt::Display for ServiceKey {
    /// `tcp 10.0.0.100:80`, the syntax the verbs take.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}:{}",
            uapi::proto_name(self.proto),
            self.vip,
            self.port
        )
    }
}

/// An IPv4 address attribute (network byte order).
pub fn in_addr(at: &Attr<'_>) -> Result<Ipv4Addr> {
    Ok(Ipv4Addr::from(at.be32()?))
}

/// A required attribute of a dump message.
pub fn required<T>(v: Option<T>, what: &str, attr: u16) -> Result<T> {
    v.ok_or_else(|| {
        Error::Protocol(format!(
            "{what} without {}",
            uapi::attr_name(attr).unwrap_or("an expected attribute")
        ))
    })
}

/// `Some(x)` as JSON, `None` as `null`.
pub fn opt<T: Into<Json>>(v: Option<T>) -> Json {
    v.map(Into::into).unwrap_or(Json::Null)
}

/// Milliseconds, exactly, for humans: `250ms`, `30s`.
pub fn fmt_ms(ms: u32) -> String {
    if ms != 0 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Prints `text`; a closed stdout is not an error.
pub fn print(text: &str) -> Result<()> {
    crate::output::print(text).map_err(|e| Error::Io("stdout".into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_is_listed_once_with_help() {
        let mut names: Vec<&str> = VERBS.iter().map(|v| v.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), VERBS.len());
        for v in VERBS {
            assert!(v.usage.starts_with(v.name), "{}", v.name);
            assert!(!v.help.is_empty() && !v.summary.is_empty(), "{}", v.name);
        }
    }

    #[test]
    fn ms_formatting() {
        assert_eq!(fmt_ms(0), "0ms");
        assert_eq!(fmt_ms(250), "250ms");
        assert_eq!(fmt_ms(1500), "1500ms");
        assert_eq!(fmt_ms(30000), "30s");
    }
}
