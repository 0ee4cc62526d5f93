// SPDX-License-Identifier: GPL-2.0

//! Errors and the exit codes they map to (documented in docs/cli.md).

use std::fmt;
use std::io;

/// Success.
pub const EXIT_OK: i32 = 0;
/// The kernel refused the request (errno, with the extack message if any),
/// or any other runtime failure (socket errors, malformed replies).
pub const EXIT_KERNEL: i32 = 1;
/// The iprp generic-netlink family is not registered: module not loaded.
pub const EXIT_NOT_LOADED: i32 = 2;
/// Bad command line (BSD `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The extended ACK attached to a netlink error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extack {
    /// `NLMSGERR_ATTR_MSG`: the kernel's human-readable message.
    pub msg: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`: byte offset of the offending attribute in
    /// the request.
    pub offset: Option<u32>,
    /// The offending attribute's type path (outermost first), resolved from
    /// `offset` against the request that was sent.
    pub attr_path: Option<Vec<u16>>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: type of a missing required attribute.
    pub miss_type: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest it was missing from.
    pub miss_nest: Option<u32>,
}

/// A negative answer from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno value.
    pub errno: i32,
    pub extack: Extack,
}

#[derive(Debug)]
pub enum Error {
    /// Bad command line; the message names the bad argument.
    Usage(String),
    /// The generic-netlink family (named here) is not registered.
    FamilyNotFound(String),
    /// The kernel answered with an error.
    Kernel(KernelError),
    /// A system call failed (context, error).
    Io(String, io::Error),
    /// The kernel's answer could not be understood.
    Protocol(String),
    /// A dump was interrupted by concurrent changes (`NLM_F_DUMP_INTR`).
    DumpInterrupted,
    /// Another error, with context in front (`restore: line 3: ...`);
    /// the exit code is the inner error's.
    Context(String, Box<Error>),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::FamilyNotFound(_) => EXIT_NOT_LOADED,
            Error::Kernel(_) | Error::Io(..) | Error::Protocol(_) | Error::DumpInterrupted => {
                EXIT_KERNEL
            }
            Error::Context(_, e) => e.exit_code(),
        }
    }

    /// This error with `ctx` in front of its message.
    pub fn context(self, ctx: impl Into<String>) -> Error {
        Error::Context(ctx.into(), Box::new(self))
    }
}

/// `strerror` text without std's " (os error N)" suffix.
pub fn errno_text(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn attr_label(ty: u16, top_level: bool) -> String {
    match crate::uapi::attr_name(ty) {
        Some(n) if top_level => n.to_string(),
        _ => format!("attribute {ty}"),
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.extack;
        match &e.msg {
            Some(m) if !m.is_empty() => write!(f, "{m} ({})", errno_text(self.errno))?,
            _ => write!(f, "{}", errno_text(self.errno))?,
        }
        if let Some(path) = e.attr_path.as_ref().filter(|p| !p.is_empty()) {
            let names: Vec<String> = path
                .iter()
                .enumerate()
                .map(|(i, &t)| attr_label(t, i == 0))
                .collect();
            write!(f, " [bad attribute: {}]", names.join(" > "))?;
        } else if let Some(off) = e.offset {
            write!(f, " [bad attribute at offset {off}]")?;
        }
        if let Some(t) = e.miss_type {
            let t = u16::try_from(t).unwrap_or(u16::MAX);
            // Missing from the top level unless a nest is named.
            write!(f, " [missing {}]", attr_label(t, e.miss_nest.is_none()))?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::FamilyNotFound(name) => write!(
                f,
                "the iprp module is not loaded (generic netlink family \"{name}\" not found)"
            ),
            Error::Kernel(k) => write!(f, "{k}"),
            Error::Io(what, e) => write!(f, "{what}: {e}"),
            Error::Protocol(m) => write!(f, "{m}"),
            Error::DumpInterrupted => write!(
                f,
                "the dump was interrupted by concurrent changes; try again"
            ),
            Error::Context(c, e) => write!(f, "{c}: {e}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::iprp_attr;

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 64);
        assert_eq!(Error::FamilyNotFound("iprp".into()).exit_code(), 2);
        let k = KernelError {
            errno: libc::EPERM,
            extack: Extack::default(),
        };
        assert_eq!(Error::Kernel(k).exit_code(), 1);
    }

    #[test]
    fn not_loaded_message() {
        assert_eq!(
            Error::FamilyNotFound("iprp".into()).to_string(),
            "the iprp module is not loaded (generic netlink family \"iprp\" not found)"
        );
    }

    #[test]
    fn kernel_error_text() {
        let k = KernelError {
            errno: libc::EINVAL,
            extack: Extack {
                msg: Some("weight out of range".into()),
                attr_path: Some(vec![iprp_attr::IPRP_A_COUNTERS as u16, 7]),
                offset: Some(24),
                ..Default::default()
            },
        };
        assert_eq!(
            k.to_string(),
            "weight out of range (Invalid argument) [bad attribute: IPRP_A_COUNTERS > attribute 7]"
        );
        let k = KernelError {
            errno: libc::EPERM,
            extack: Extack::default(),
        };
        assert_eq!(k.to_string(), "Operation not permitted");
        let k = KernelError {
            errno: libc::EINVAL,
            extack: Extack {
                miss_type: Some(iprp_attr::IPRP_A_VERSION),
                offset: Some(40),
                ..Default::default()
            },
        };
        assert_eq!(
            k.to_string(),
            "Invalid argument [bad attribute at offset 40] [missing IPRP_A_VERSION]"
        );
    }
}
