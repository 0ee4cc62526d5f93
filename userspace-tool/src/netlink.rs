// SPDX-License-Identifier: GPL-2.0

//! A small, hand-rolled netlink / generic-netlink client.
//!
//! * [`MsgBuilder`] builds one request: `nlmsghdr`, optional `genlmsghdr`,
//!   then attributes (4-byte aligned TLVs, nests flagged `NLA_F_NESTED`).
//! * [`messages`], [`Attrs`] and [`Attr`] parse received buffers without
//!   copying; every length is checked, nothing panics on bad input.
//! * [`Socket`] sends a request and collects the answer: a single reply
//!   plus ACK for "do" requests, or a multi-part dump ending in
//!   `NLMSG_DONE`. Kernel errors come back as [`Error::Kernel`] with the
//!   extended ACK (message, offending attribute offset, missing attribute)
//!   decoded.
//! * [`resolve_family`] asks `nlctrl` for a generic-netlink family's id.
//!
//! The standard netlink ABI constants come from the `libc` crate; the iprp
//! ones come from the UAPI header (see `uapi`).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Extack, KernelError, Result};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

// Extended-ACK attributes (enum nlmsgerr_attrs, linux/netlink.h); not in libc.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

const NLA_F_NESTED: u16 = libc::NLA_F_NESTED as u16;
const NLA_TYPE_MASK: u16 = libc::NLA_TYPE_MASK as u16;

/// Rounds `len` up to netlink's 4-byte alignment (`NLMSG_ALIGN`/`NLA_ALIGN`).
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn malformed(what: &str) -> Error {
    Error::Protocol(format!("malformed netlink message: {what}"))
}

// ---------------------------------------------------------------------------
// Building

/// Builds one netlink message. Lengths of the message and of open nests are
/// fixed up by [`MsgBuilder::nest_end`] and [`MsgBuilder::finish`].
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
    hdrlen: usize,
}

impl MsgBuilder {
    /// A bare netlink message of type `ty` with `flags` (`NLM_F_*`).
    pub fn new(ty: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_seq, set by finish
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: kernel fills
        MsgBuilder {
            buf,
            nests: Vec::new(),
            hdrlen: 0,
        }
    }

    /// A generic-netlink message for `family` carrying `cmd`/`version`.
    pub fn genl(family: u16, flags: u16, cmd: u8, version: u8) -> Self {
        let mut b = Self::new(family, flags);
        b.buf.extend_from_slice(&[cmd, version, 0, 0]);
        b.hdrlen = GENL_HDRLEN;
        b
    }

    /// Size of the family header after `nlmsghdr` (4 for generic netlink).
    pub fn family_hdrlen(&self) -> usize {
        self.hdrlen
    }

    /// Message flags (`NLM_F_*`).
    pub fn flags(&self) -> u16 {
        u16_at(&self.buf, 6)
    }

    /// Replaces the message flags.
    pub fn set_flags(&mut self, flags: u16) {
        self.buf[6..8].copy_from_slice(&flags.to_ne_bytes());
    }

    fn pad(&mut self) {
        self.buf.resize(align(self.buf.len()), 0);
    }

    /// Appends an attribute with a raw payload (padded to 4 bytes).
    pub fn put(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = NLA_HDRLEN + payload.len();
        assert!(len <= usize::from(u16::MAX), "netlink attribute too large");
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    pub fn put_flag(&mut self, ty: u16) -> &mut Self {
        self.put(ty, &[])
    }

    pub fn put_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.put(ty, &[v])
    }

    pub fn put_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    pub fn put_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// A u64 attribute. No pad attribute is needed for userspace-built
    /// messages: the kernel reads attributes with unaligned accessors.
    pub fn put_u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.put(ty, &v.to_ne_bytes())
    }

    /// A big-endian (network order) u16, e.g. a port.
    pub fn put_be16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }

    /// A big-endian (network order) u32, e.g. an IPv4 address.
    pub fn put_be32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put(ty, &v.to_be_bytes())
    }

    /// A NUL-terminated string attribute (`NLA_NUL_STRING`/`NLA_STRING`).
    pub fn put_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(ty, &v)
    }

    /// Opens a nested attribute; close it with [`MsgBuilder::nest_end`].
    pub fn nest_start(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost open nest.
    pub fn nest_end(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("nest_end without nest_start");
        let len = self.buf.len() - start;
        assert!(len <= usize::from(u16::MAX), "netlink nest too large");
        self.buf[start..start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
        self
    }

    /// Finalises the message with sequence number `seq`.
    pub fn finish(mut self, seq: u32) -> Vec<u8> {
        assert!(self.nests.is_empty(), "unterminated netlink nest");
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// One netlink message inside a received buffer.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    /// Everything after the `nlmsghdr`, up to `nlmsg_len`.
    pub payload: &'a [u8],
}

/// Iterates over the netlink messages packed in one datagram.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf }
}

pub struct Messages<'a> {
    buf: &'a [u8],
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Msg<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let b = self.buf;
        if b.len() < NLMSG_HDRLEN {
            self.buf = &[];
            return Some(Err(malformed("truncated nlmsghdr")));
        }
        let len = u32_at(b, 0) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            self.buf = &[];
            return Some(Err(malformed("bad nlmsg_len")));
        }
        let msg = Msg {
            ty: u16_at(b, 4),
            flags: u16_at(b, 6),
            seq: u32_at(b, 8),
            pid: u32_at(b, 12),
            payload: &b[NLMSG_HDRLEN..len],
        };
        self.buf = &b[align(len).min(b.len())..];
        Some(Ok(msg))
    }
}

/// A generic-netlink message: its header and its attributes.
#[derive(Debug, Clone, Copy)]
pub struct GenlMsg<'a> {
    pub cmd: u8,
    pub version: u8,
    pub attrs: Attrs<'a>,
}

impl<'a> GenlMsg<'a> {
    pub fn parse(msg: &Msg<'a>) -> Result<Self> {
        let p = msg.payload;
        if p.len() < GENL_HDRLEN {
            return Err(malformed("truncated genlmsghdr"));
        }
        Ok(GenlMsg {
            cmd: p[0],
            version: p[1],
            attrs: Attrs::new(&p[GENL_HDRLEN..]),
        })
    }
}

/// One attribute. `ty` has the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER` flags
/// masked off; `nested` tells whether `NLA_F_NESTED` was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub ty: u16,
    pub nested: bool,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn exact<const N: usize>(&self, what: &str) -> Result<[u8; N]> {
        self.payload.try_into().map_err(|_| {
            malformed(&format!(
                "attribute {} should be a {what} ({N} bytes) but has {} bytes",
                self.ty,
                self.payload.len()
            ))
        })
    }

    pub fn u8(&self) -> Result<u8> {
        Ok(self.exact::<1>("u8")?[0])
    }

    pub fn u16(&self) -> Result<u16> {
        Ok(u16::from_ne_bytes(self.exact("u16")?))
    }

    pub fn u32(&self) -> Result<u32> {
        Ok(u32::from_ne_bytes(self.exact("u32")?))
    }

    pub fn u64(&self) -> Result<u64> {
        Ok(u64::from_ne_bytes(self.exact("u64")?))
    }

    pub fn be16(&self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.exact("be16")?))
    }

    pub fn be32(&self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.exact("be32")?))
    }

    /// An unsigned integer of 1, 2, 4 or 8 bytes (like the kernel's
    /// `NLA_UINT`), so counters may be narrowed or widened without breaking.
    pub fn uint(&self) -> Result<u64> {
        match self.payload.len() {
            1 => self.u8().map(u64::from),
            2 => self.u16().map(u64::from),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            n => Err(malformed(&format!(
                "attribute {} should be an unsigned integer but has {n} bytes",
                self.ty
            ))),
        }
    }

    /// A string, with an optional trailing NUL (and anything after the first
    /// NUL) removed. Invalid UTF-8 is replaced, never rejected.
    pub fn str(&self) -> String {
        let p = self.payload;
        let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
        String::from_utf8_lossy(&p[..end]).into_owned()
    }

    /// The attributes nested inside this one.
    pub fn nested_attrs(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterates over a run of attributes. Yields an error (then stops) on a
/// malformed attribute header.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    buf: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs { buf }
    }

    /// The first attribute of type `ty`, if any.
    pub fn find(self, ty: u16) -> Result<Option<Attr<'a>>> {
        for a in self {
            let a = a?;
            if a.ty == ty {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Trailing bytes shorter than a header are padding (nla_for_each_attr
        // ignores them too).
        if self.buf.len() < NLA_HDRLEN {
            self.buf = &[];
            return None;
        }
        let b = self.buf;
        let len = usize::from(u16_at(b, 0));
        let raw_ty = u16_at(b, 2);
        if len < NLA_HDRLEN || len > b.len() {
            self.buf = &[];
            return Some(Err(malformed("bad nla_len")));
        }
        let attr = Attr {
            ty: raw_ty & NLA_TYPE_MASK,
            nested: raw_ty & NLA_F_NESTED != 0,
            payload: &b[NLA_HDRLEN..len],
        };
        self.buf = &b[align(len).min(b.len())..];
        Some(Ok(attr))
    }
}

/// Finds the attribute that starts at byte `offset` of a request built by
/// [`MsgBuilder`] (offsets count from the start of the `nlmsghdr`, as in
/// `NLMSGERR_ATTR_OFFS`), descending into nests. Returns the attribute
/// types from the outermost to the offending one.
pub fn attr_path_at(request: &[u8], hdrlen: usize, offset: usize) -> Option<Vec<u16>> {
    fn walk(buf: &[u8], base: usize, offset: usize, path: &mut Vec<u16>) -> bool {
        for a in Attrs::new(buf).map_while(|a| a.ok()) {
            // Attrs yields slices of `buf`: recover each attribute's offset.
            let start = base + (a.payload.as_ptr() as usize - buf.as_ptr() as usize) - NLA_HDRLEN;
            let end = start + NLA_HDRLEN + a.payload.len();
            if offset == start || (offset > start && offset < end) {
                path.push(a.ty);
                if offset != start && a.nested {
                    walk(a.payload, start + NLA_HDRLEN, offset, path);
                }
                return true;
            }
        }
        false
    }
    let first = NLMSG_HDRLEN + hdrlen;
    if offset < first || request.len() < first {
        return None;
    }
    let mut path = Vec::new();
    walk(&request[first..], first, offset, &mut path).then_some(path)
}

/// Decodes the payload of an `NLMSG_ERROR` message: the errno (0 for an
/// ACK, else negative) and the extended ACK TLVs, if any.
///
/// Layout: `int error; struct nlmsghdr msg;` then, unless `NLM_F_CAPPED` is
/// set in `flags`, the rest of the original request; then, if
/// `NLM_F_ACK_TLVS` is set, the `NLMSGERR_ATTR_*` attributes.
pub fn parse_error(flags: u16, payload: &[u8]) -> Result<(i32, Extack)> {
    if payload.len() < 4 + NLMSG_HDRLEN {
        return Err(malformed("truncated nlmsgerr"));
    }
    let error = u32_at(payload, 0) as i32;
    let orig_len = u32_at(payload, 4) as usize;
    let mut tlv_start = 4 + NLMSG_HDRLEN;
    if flags & libc::NLM_F_CAPPED as u16 == 0 {
        tlv_start = 4 + align(orig_len.max(NLMSG_HDRLEN));
    }
    let mut extack = Extack::default();
    if flags & libc::NLM_F_ACK_TLVS as u16 != 0 && tlv_start <= payload.len() {
        extack = parse_extack(&payload[tlv_start..])?;
    }
    Ok((error, extack))
}

/// Decodes the payload of an `NLMSG_DONE` message ending a dump: `int
/// error` followed, with `NLM_F_ACK_TLVS`, by extended ACK TLVs.
pub fn parse_done(flags: u16, payload: &[u8]) -> Result<(i32, Extack)> {
    if payload.len() < 4 {
        // Very old kernels sent an empty NLMSG_DONE.
        return Ok((0, Extack::default()));
    }
    let error = u32_at(payload, 0) as i32;
    let mut extack = Extack::default();
    if flags & libc::NLM_F_ACK_TLVS as u16 != 0 {
        extack = parse_extack(&payload[4..])?;
    }
    Ok((error, extack))
}

fn parse_extack(tlvs: &[u8]) -> Result<Extack> {
    let mut e = Extack::default();
    for a in Attrs::new(tlvs) {
        let a = a?;
        match a.ty {
            NLMSGERR_ATTR_MSG => e.msg = Some(a.str()),
            NLMSGERR_ATTR_OFFS => e.offset = a.u32().ok(),
            NLMSGERR_ATTR_MISS_TYPE => e.miss_type = a.u32().ok(),
            NLMSGERR_ATTR_MISS_NEST => e.miss_nest = a.u32().ok(),
            _ => {}
        }
    }
    Ok(e)
}

// ---------------------------------------------------------------------------
// Socket

/// A netlink socket bound to a kernel-assigned port id.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

fn sys(ret: libc::c_int, what: &str) -> Result<libc::c_int> {
    if ret < 0 {
        Err(Error::Io(what.to_string(), io::Error::last_os_error()))
    } else {
        Ok(ret)
    }
}

impl Socket {
    /// Opens a `NETLINK_GENERIC` socket with extended ACKs enabled.
    pub fn generic() -> Result<Self> {
        Self::open(libc::NETLINK_GENERIC)
    }

    /// Opens a netlink socket of `protocol`, asks for extended ACKs
    /// (`NETLINK_EXT_ACK`) and capped ACKs (`NETLINK_CAP_ACK`: errors do
    /// not echo the whole request back).
    pub fn open(protocol: libc::c_int) -> Result<Self> {
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = sys(
            unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    protocol,
                )
            },
            "socket(AF_NETLINK)",
        )?;
        // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sock = Socket {
            fd,
            seq: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as u32)
                .unwrap_or(1),
        };
        // Both options are best effort: kernels before 4.12 lack EXT_ACK and
        // the code below copes with uncapped, TLV-less errors.
        let _ = sock.set_opt(libc::NETLINK_EXT_ACK, 1);
        let _ = sock.set_opt(libc::NETLINK_CAP_ACK, 1);

        // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a valid sockaddr_nl and the length matches it.
        sys(
            unsafe {
                libc::bind(
                    sock.fd.as_raw_fd(),
                    &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            },
            "bind(AF_NETLINK)",
        )?;
        Ok(sock)
    }

    fn set_opt(&self, opt: libc::c_int, val: libc::c_int) -> Result<()> {
        self.set_level_opt(libc::SOL_NETLINK, opt, val)
    }

    /// Makes the receive buffer `bytes` large: beyond the system's limit
    /// (`SO_RCVBUFFORCE`) when the caller may, else up to it.
    pub fn set_rcvbuf(&self, bytes: libc::c_int) -> Result<()> {
        self.set_level_opt(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes)
            .or_else(|_| self.set_level_opt(libc::SOL_SOCKET, libc::SO_RCVBUF, bytes))
    }

    fn set_level_opt(&self, level: libc::c_int, opt: libc::c_int, val: libc::c_int) -> Result<()> {
        // SAFETY: `val` lives across the call and the length matches it.
        sys(
            unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    level,
                    opt,
                    &val as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            },
            "setsockopt(SOL_NETLINK)",
        )?;
        Ok(())
    }

    fn send(&self, msg: &[u8]) -> Result<()> {
        // SAFETY: sockaddr_nl is plain old data; all-zero addresses the kernel.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            // SAFETY: `msg` and `addr` are valid for the lengths passed.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    msg.as_ptr() as *const libc::c_void,
                    msg.len(),
                    0,
                    &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if n >= 0 {
                return if n as usize == msg.len() {
                    Ok(())
                } else {
                    Err(Error::Protocol("short netlink send".into()))
                };
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Error::Io("sendto(netlink)".into(), e));
            }
        }
    }

    /// Receives one datagram (which may hold several messages), sized with
    /// `MSG_PEEK | MSG_TRUNC` first so nothing is ever truncated.
    fn recv(&self, buf: &mut Vec<u8>) -> Result<()> {
        loop {
            // SAFETY: a zero-length peek writes nothing; MSG_TRUNC makes the
            // kernel return the datagram's real length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                    0,
                    libc::MSG_PEEK | libc::MSG_TRUNC,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Io("recv(netlink)".into(), e));
            }
            buf.clear();
            buf.resize((n as usize).max(NLMSG_HDRLEN), 0);
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Io("recv(netlink)".into(), e));
            }
            buf.truncate(n as usize);
            return Ok(());
        }
    }

    /// Joins multicast group `group` (`NETLINK_ADD_MEMBERSHIP`): its
    /// messages then come with [`Socket::listen`].
    pub fn join(&self, group: u32) -> Result<()> {
        let group = libc::c_int::try_from(group)
            .map_err(|_| Error::Protocol(format!("multicast group id {group} out of range")))?;
        self.set_opt(libc::NETLINK_ADD_MEMBERSHIP, group)
    }

    /// Receives messages of the groups joined, calling `on_msg` for each,
    /// until it fails or returns `false`. When the socket's buffer
    /// overflowed and the kernel dropped messages (`ENOBUFS`), `on_overrun`
    /// is called (and may stop listening the same way).
    pub fn listen(
        &self,
        mut on_msg: impl FnMut(&Msg<'_>) -> Result<bool>,
        mut on_overrun: impl FnMut() -> Result<bool>,
    ) -> Result<()> {
        let mut buf = Vec::new();
        loop {
            match self.recv(&mut buf) {
                Ok(()) => {}
                Err(Error::Io(_, ref e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    if !on_overrun()? {
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
            for m in messages(&buf) {
                let m = m?;
                match i32::from(m.ty) {
                    libc::NLMSG_NOOP | libc::NLMSG_DONE | libc::NLMSG_ERROR => {}
                    _ => {
                        if !on_msg(&m)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Sends a "do" request (`NLM_F_REQUEST | NLM_F_ACK` are added) and
    /// calls `on_reply` for each reply message until the kernel's ACK.
    pub fn request(
        &mut self,
        mut msg: MsgBuilder,
        on_reply: impl FnMut(&Msg<'_>) -> Result<()>,
    ) -> Result<()> {
        msg.set_flags(msg.flags() | (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16);
        self.transact(msg, on_reply)
    }

    /// Sends a dump request (`NLM_F_REQUEST | NLM_F_DUMP` are added) and
    /// calls `on_reply` for every message of the multi-part answer, up to
    /// `NLMSG_DONE`. A dump that the kernel flags as interrupted (the table
    /// changed meanwhile, `NLM_F_DUMP_INTR`) fails with
    /// [`Error::DumpInterrupted`] so that the caller may retry.
    pub fn dump(
        &mut self,
        mut msg: MsgBuilder,
        on_reply: impl FnMut(&Msg<'_>) -> Result<()>,
    ) -> Result<()> {
        msg.set_flags(msg.flags() | (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16);
        self.transact(msg, on_reply)
    }

    fn transact(
        &mut self,
        msg: MsgBuilder,
        mut on_reply: impl FnMut(&Msg<'_>) -> Result<()>,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let hdrlen = msg.family_hdrlen();
        let request = msg.finish(seq);
        self.send(&request)?;

        let kernel_error = |errno: i32, mut extack: Extack| {
            if let Some(off) = extack.offset {
                extack.attr_path = attr_path_at(&request, hdrlen, off as usize);
            }
            Error::Kernel(KernelError {
                errno: -errno,
                extack,
            })
        };

        let mut interrupted = false;
        let mut buf = Vec::new();
        loop {
            self.recv(&mut buf)?;
            for m in messages(&buf) {
                let m = m?;
                if m.seq != seq {
                    continue; // stale answer to an earlier request
                }
                match i32::from(m.ty) {
                    libc::NLMSG_ERROR => {
                        let (errno, extack) = parse_error(m.flags, m.payload)?;
                        if errno != 0 {
                            return Err(kernel_error(errno, extack));
                        }
                        return if interrupted {
                            Err(Error::DumpInterrupted)
                        } else {
                            Ok(())
                        };
                    }
                    libc::NLMSG_DONE => {
                        let (errno, extack) = parse_done(m.flags, m.payload)?;
                        if errno != 0 {
                            return Err(kernel_error(errno, extack));
                        }
                        return if interrupted || m.flags & libc::NLM_F_DUMP_INTR as u16 != 0 {
                            Err(Error::DumpInterrupted)
                        } else {
                            Ok(())
                        };
                    }
                    libc::NLMSG_NOOP => {}
                    libc::NLMSG_OVERRUN => return Err(Error::Protocol("netlink overrun".into())),
                    _ => {
                        if m.flags & libc::NLM_F_DUMP_INTR as u16 != 0 {
                            interrupted = true;
                        }
                        on_reply(&m)?;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Generic netlink controller

/// A generic-netlink family as reported by `nlctrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    pub name: String,
    pub id: u16,
    pub version: u32,
    pub hdrsize: u32,
    pub maxattr: u32,
    /// Its multicast groups: name and id.
    pub mcast_groups: Vec<(String, u32)>,
}

impl Family {
    /// The id of multicast group `name`, if the family has it.
    pub fn mcast_group(&self, name: &str) -> Option<u32> {
        self.mcast_groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
    }
}

/// The groups of a `CTRL_ATTR_MCAST_GROUPS` nest: one nest per group with
/// its name and id.
fn mcast_groups(nest: &Attr<'_>) -> Result<Vec<(String, u32)>> {
    let mut groups = Vec::new();
    for g in nest.nested_attrs() {
        let (mut name, mut id) = (None, None);
        for a in g?.nested_attrs() {
            let a = a?;
            match i32::from(a.ty) {
                libc::CTRL_ATTR_MCAST_GRP_NAME => name = Some(a.str()),
                libc::CTRL_ATTR_MCAST_GRP_ID => id = Some(a.u32()?),
                _ => {}
            }
        }
        if let (Some(name), Some(id)) = (name, id) {
            groups.push((name, id));
        }
    }
    Ok(groups)
}

/// Looks up generic-netlink family `name` through `nlctrl`
/// (`CTRL_CMD_GETFAMILY`). A family that is not registered gives
/// [`Error::FamilyNotFound`].
pub fn resolve_family(sock: &mut Socket, name: &str) -> Result<Family> {
    let mut req = MsgBuilder::genl(
        libc::GENL_ID_CTRL as u16,
        0,
        libc::CTRL_CMD_GETFAMILY as u8,
        1,
    );
    req.put_str(libc::CTRL_ATTR_FAMILY_NAME as u16, name);
    let mut family = None;
    let res = sock.request(req, |m| {
        let g = GenlMsg::parse(m)?;
        let mut f = Family {
            name: String::new(),
            id: 0,
            version: 0,
            hdrsize: 0,
            maxattr: 0,
            mcast_groups: Vec::new(),
        };
        for a in g.attrs {
            let a = a?;
            match i32::from(a.ty) {
                libc::CTRL_ATTR_FAMILY_ID => f.id = a.u16()?,
                libc::CTRL_ATTR_FAMILY_NAME => f.name = a.str(),
                libc::CTRL_ATTR_VERSION => f.version = a.u32()?,
                libc::CTRL_ATTR_HDRSIZE => f.hdrsize = a.u32()?,
                libc::CTRL_ATTR_MAXATTR => f.maxattr = a.u32()?,
                libc::CTRL_ATTR_MCAST_GROUPS => f.mcast_groups = mcast_groups(&a)?,
                _ => {}
            }
        }
        family = Some(f);
        Ok(())
    });
    match res {
        Err(Error::Kernel(ref k)) if k.errno == libc::ENOENT => {
            return Err(Error::FamilyNotFound(name.to_string()))
        }
        r => r?,
    }
    match family {
        Some(f) if f.id != 0 => Ok(f),
        _ => Err(Error::Protocol(format!(
            "nlctrl answered without a family id for \"{name}\""
        ))),
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(5), 8);
        assert_eq!(align(7), 8);
    }

    #[test]
    fn header_and_attributes_are_encoded_and_padded() {
        let mut b = MsgBuilder::genl(0x1234, 0x5, 7, 1);
        b.put_u8(1, 0xab).put_str(2, "iprp").put_u64(3, 42);
        let m = b.finish(99);
        // nlmsghdr
        assert_eq!(u32_at(&m, 0) as usize, m.len());
        assert_eq!(u16_at(&m, 4), 0x1234);
        assert_eq!(u16_at(&m, 6), 0x5);
        assert_eq!(u32_at(&m, 8), 99);
        // genlmsghdr
        assert_eq!(&m[16..20], &[7, 1, 0, 0]);
        // u8: len 5, padded to 8
        assert_eq!(u16_at(&m, 20), 5);
        assert_eq!(u16_at(&m, 22), 1);
        assert_eq!(&m[24..28], &[0xab, 0, 0, 0]);
        // string "iprp\0": len 9, padded to 12
        assert_eq!(u16_at(&m, 28), 9);
        assert_eq!(&m[32..40], b"iprp\0\0\0\0");
        // u64: len 12
        assert_eq!(u16_at(&m, 40), 12);
        assert_eq!(u64::from_ne_bytes(m[44..52].try_into().unwrap()), 42);
        assert_eq!(m.len(), 52);
        assert_eq!(m.len() % 4, 0);
    }

    #[test]
    fn round_trip_through_the_parser() {
        let mut b = MsgBuilder::genl(30, 0, 1, 1);
        b.put_u16(1, 0xbeef)
            .put_u32(2, 7)
            .put_be32(3, 0x0a000001)
            .put_be16(4, 80)
            .put_flag(5)
            .put_str(6, "héllo");
        let m = b.finish(1);
        let msgs: Vec<_> = messages(&m).collect::<Result<_>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty, 30);
        assert_eq!(msgs[0].seq, 1);
        let g = GenlMsg::parse(&msgs[0]).unwrap();
        assert_eq!((g.cmd, g.version), (1, 1));
        let attrs: Vec<_> = g.attrs.collect::<Result<_>>().unwrap();
        assert_eq!(attrs.len(), 6);
        assert_eq!(attrs[0].u16().unwrap(), 0xbeef);
        assert_eq!(attrs[1].u32().unwrap(), 7);
        assert_eq!(attrs[2].be32().unwrap(), 0x0a000001);
        assert_eq!(attrs[3].be16().unwrap(), 80);
        assert!(attrs[4].payload.is_empty());
        assert_eq!(attrs[5].str(), "héllo");
        // wrong sizes are errors, not panics
        assert!(attrs[0].u32().is_err());
        assert!(attrs[4].uint().is_err());
        assert_eq!(attrs[1].uint().unwrap(), 7);
    }

    #[test]
    fn nests() {
        let mut b = MsgBuilder::genl(30, 0, 1, 1);
        b.put_u32(1, 1)
            .nest_start(2)
            .put_u64(1, 10)
            .nest_start(3)
            .put_u8(9, 9)
            .nest_end()
            .put_u64(2, 20)
            .nest_end()
            .put_u32(3, 3);
        let m = b.finish(1);
        let msg = messages(&m).next().unwrap().unwrap();
        let g = GenlMsg::parse(&msg).unwrap();
        let nest = g.attrs.find(2).unwrap().unwrap();
        assert!(nest.nested);
        assert_eq!(nest.ty, 2, "NLA_F_NESTED is masked off the type");
        let inner: Vec<_> = nest.nested_attrs().collect::<Result<_>>().unwrap();
        assert_eq!(inner.len(), 3);
        assert_eq!(inner[0].u64().unwrap(), 10);
        assert!(inner[1].nested);
        assert_eq!(
            inner[1]
                .nested_attrs()
                .next()
                .unwrap()
                .unwrap()
                .u8()
                .unwrap(),
            9
        );
        assert_eq!(inner[2].u64().unwrap(), 20);
        assert_eq!(g.attrs.find(3).unwrap().unwrap().u32().unwrap(), 3);
        assert_eq!(g.attrs.find(4).unwrap(), None);
    }

    #[test]
    fn malformed_input_is_an_error() {
        // attribute claims more bytes than there are
        let buf = [8u8, 0, 1, 0, 0];
        let mut it = Attrs::new(&buf);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        // attribute length below the header size
        let buf = [2u8, 0, 1, 0];
        assert!(Attrs::new(&buf).next().unwrap().is_err());
        // nlmsg_len past the buffer
        let mut m = MsgBuilder::new(3, 0).finish(1);
        m[0] = 200;
        assert!(messages(&m).next().unwrap().is_err());
        // truncated header
        assert!(messages(&m[..10]).next().unwrap().is_err());
        // short trailing bytes are padding
        assert!(Attrs::new(&[0, 0]).next().is_none());
    }

    #[test]
    fn several_messages_in_one_datagram() {
        let mut a = MsgBuilder::genl(30, 0, 1, 1);
        a.put_u8(1, 1); // 25 bytes, padded
        let mut buf = a.finish(5);
        buf.resize(align(buf.len()), 0);
        buf.extend(MsgBuilder::new(libc::NLMSG_DONE as u16, 0).finish(5));
        let tys: Vec<u16> = messages(&buf).map(|m| m.unwrap().ty).collect();
        assert_eq!(tys, vec![30, libc::NLMSG_DONE as u16]);
    }

    /// Builds an NLMSG_ERROR payload as the kernel does.
    fn nlmsgerr(errno: i32, orig: &[u8], capped: bool, tlvs: &[u8]) -> (u16, Vec<u8>) {
        let mut p = Vec::new();
        p.extend_from_slice(&errno.to_ne_bytes());
        if capped {
            p.extend_from_slice(&orig[..NLMSG_HDRLEN]);
        } else {
            p.extend_from_slice(orig);
        }
        p.extend_from_slice(tlvs);
        let mut flags = 0;
        if capped {
            flags |= libc::NLM_F_CAPPED as u16;
        }
        if !tlvs.is_empty() {
            flags |= libc::NLM_F_ACK_TLVS as u16;
        }
        (flags, p)
    }

    fn extack_tlvs() -> Vec<u8> {
        let mut t = MsgBuilder::new(0, 0);
        t.put_str(NLMSGERR_ATTR_MSG, "Unknown service")
            .put_u32(NLMSGERR_ATTR_OFFS, 24)
            .put_u32(NLMSGERR_ATTR_MISS_TYPE, 5)
            .put_u32(NLMSGERR_ATTR_MISS_NEST, 28);
        t.finish(0)[NLMSG_HDRLEN..].to_vec()
    }

    #[test]
    fn extack_from_a_capped_error() {
        let mut req = MsgBuilder::genl(30, 0, 1, 1);
        req.put_u32(1, 1).nest_start(2).put_u32(5, 5).nest_end();
        let req = req.finish(3);
        let (flags, p) = nlmsgerr(-libc::ENOENT, &req, true, &extack_tlvs());
        let (errno, e) = parse_error(flags, &p).unwrap();
        assert_eq!(errno, -libc::ENOENT);
        assert_eq!(e.msg.as_deref(), Some("Unknown service"));
        assert_eq!(e.offset, Some(24));
        assert_eq!(e.miss_type, Some(5));
        assert_eq!(e.miss_nest, Some(28));
    }

    #[test]
    fn extack_from_an_uncapped_error() {
        let mut req = MsgBuilder::genl(30, 0, 1, 1);
        req.put_u8(1, 1); // odd length: checks the alignment of the echo
        let req = req.finish(3);
        let mut echoed = req.clone();
        echoed.resize(align(echoed.len()), 0);
        let (flags, p) = nlmsgerr(-libc::EINVAL, &echoed, false, &extack_tlvs());
        let (errno, e) = parse_error(flags, &p).unwrap();
        assert_eq!(errno, -libc::EINVAL);
        assert_eq!(e.msg.as_deref(), Some("Unknown service"));
        assert_eq!(e.offset, Some(24));
    }

    #[test]
    fn plain_ack_and_errors_without_tlvs() {
        let req = MsgBuilder::genl(30, 0, 1, 1).finish(3);
        let (flags, p) = nlmsgerr(0, &req, true, &[]);
        let (errno, e) = parse_error(flags, &p).unwrap();
        assert_eq!(errno, 0);
        assert_eq!(e, Extack::default());
        let (flags, p) = nlmsgerr(-libc::EPERM, &req, false, &[]);
        assert_eq!(parse_error(flags, &p).unwrap().0, -libc::EPERM);
        assert!(parse_error(0, &p[..10]).is_err());
    }

    #[test]
    fn done_with_error_and_extack() {
        let mut p = (-libc::EMSGSIZE).to_ne_bytes().to_vec();
        p.extend(extack_tlvs());
        let (errno, e) = parse_done(libc::NLM_F_ACK_TLVS as u16, &p).unwrap();
        assert_eq!(errno, -libc::EMSGSIZE);
        assert_eq!(e.msg.as_deref(), Some("Unknown service"));
        assert_eq!(parse_done(0, &0i32.to_ne_bytes()).unwrap().0, 0);
        assert_eq!(parse_done(0, &[]).unwrap().0, 0);
    }

    #[test]
    fn offsets_map_back_to_attributes() {
        let mut req = MsgBuilder::genl(30, 0, 1, 1);
        req.put_u32(1, 1) // at 20
            .nest_start(2) // at 28
            .put_u32(5, 5) // at 32
            .put_u64(6, 6) // at 40
            .nest_end()
            .put_u8(3, 3); // at 52
        let r = req.finish(1);
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 20), Some(vec![1]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 28), Some(vec![2]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 32), Some(vec![2, 5]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 40), Some(vec![2, 6]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 44), Some(vec![2, 6]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 52), Some(vec![3]));
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 4), None);
        assert_eq!(attr_path_at(&r, GENL_HDRLEN, 500), None);
    }
}
