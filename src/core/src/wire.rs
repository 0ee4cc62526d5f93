// SPDX-License-Identifier: GPL-2.0
//! IPRP wire format: the 16-byte message of the paper's Figure 3.
//!
//! ```text
//!  0               15 16              31
//! +------------------+------------------+
//! |       Type       | Protocol (6/17)  |
//! +------------------+------------------+
//! |   Client port    |   Server port    |
//! +------------------+------------------+
//! |   Replicated server IPv4 address    |
//! +-------------------------------------+
//! |                 Key                 |
//! +-------------------------------------+
//! ```
//!
//! All fields are in network byte order on the wire. [`Header`] is the
//! zerocopy view of those bytes; [`Repr`] is the validated, host-order
//! representation that the state machines consume and produce. IPv4
//! addresses are [`Ipv4`] values everywhere in this crate: a newtype over
//! the host-order `u32` (`10.0.0.1` is `Ipv4::from_bits(0x0a00_0001)`).

use zerocopy::network_endian::{U16, U32};
use zerocopy::{FromBytes, IntoBytes};
// The derives come from zerocopy-derive directly: the kernel builds zerocopy
// without its "derive" feature and links zerocopy_derive beside it.
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// IP protocol number of IPRP (`IPPROTO_REDR` in the paper).
pub const IPPROTO_REDR: u8 = 99;

/// Length of an IPRP message on the wire. Bytes after these are ignored.
pub const MSG_LEN: usize = 16;

/// An IPv4 address in host byte order (`10.0.0.1` is `Ipv4(0x0a00_0001)`).
///
/// `Debug` and `Display` print the dotted quad. Hashes and orderings use
/// the host-order bits, so a table keyed by `Ipv4` behaves exactly as one
/// keyed by the bare `u32` did.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Ipv4(u32);

impl Ipv4 {
    /// `0.0.0.0`: no address.
    pub const UNSPECIFIED: Self = Self(0);

    /// Builds an address from its four dotted-quad octets.
    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Self {
        Self(u32::from_be_bytes([a, b, c, d]))
    }

    /// The address whose host-order value is `bits`.
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// The host-order value (`10.0.0.1` is `0x0a00_0001`).
    pub const fn to_bits(self) -> u32 {
        self.0
    }

    /// The address whose network-order (big-endian) value is `be`, as a
    /// `__be32` field holds it read as a native `u32`.
    pub const fn from_be(be: u32) -> Self {
        Self(u32::from_be(be))
    }

    /// The network-order value, for a `__be32` field.
    pub const fn to_be(self) -> u32 {
        self.0.to_be()
    }

    /// The address from its four octets in wire order.
    pub const fn from_octets(octets: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(octets))
    }

    /// The four octets in wire order (`10.0.0.1` is `[10, 0, 0, 1]`).
    pub const fn octets(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// True for `0.0.0.0`.
    pub const fn is_unspecified(self) -> bool {
        self.0 == 0
    }
}

impl From<[u8; 4]> for Ipv4 {
    fn from(octets: [u8; 4]) -> Self {
        Self::from_octets(octets)
    }
}

impl From<Ipv4> for [u8; 4] {
    fn from(addr: Ipv4) -> Self {
        addr.octets()
    }
}

impl core::fmt::Display for Ipv4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.octets();
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

impl core::fmt::Debug for Ipv4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// Builds an [`Ipv4`] from its four dotted-quad octets (short for
/// [`Ipv4::new`]).
pub const fn ipv4(a: u8, b: u8, c: u8, d: u8) -> Ipv4 {
    Ipv4::new(a, b, c, d)
}

/// Message type (first 16-bit field).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u16)]
pub enum MsgType {
    /// Redirection request, redirector to client.
    Req = 1,
    /// Check, client to redirector, carries the client's key.
    Chk = 2,
    /// Confirm, redirector to client, echoes the key.
    Cfm = 3,
    /// Alarm, redirector to client, echoes the key of the CHK it answers.
    Alm = 4,
}

impl MsgType {
    /// Decodes a type number; `None` for anything but 1..=4.
    pub const fn from_u16(v: u16) -> Option<Self> {
        match v {
            1 => Some(Self::Req),
            2 => Some(Self::Chk),
            3 => Some(Self::Cfm),
            4 => Some(Self::Alm),
            _ => None,
        }
    }
}

/// Transport protocol of the redirected flow (second 16-bit field).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Proto {
    /// TCP, IP protocol 6.
    Tcp = 6,
    /// UDP, IP protocol 17.
    Udp = 17,
}

impl Proto {
    /// Decodes an IP protocol number; `None` for anything but 6 and 17.
    pub const fn from_u16(v: u16) -> Option<Self> {
        match v {
            6 => Some(Self::Tcp),
            17 => Some(Self::Udp),
            _ => None,
        }
    }

    /// Decodes an IP protocol number from the IP header's 8-bit field.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Self::from_u16(v as u16)
    }

    /// The IP protocol number.
    pub const fn number(self) -> u8 {
        self as u8
    }
}

/// The raw 16 bytes as they sit in the packet (zerocopy view, any alignment).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub struct Header {
    /// Message type.
    pub ty: U16,
    /// Transport protocol number of the flow.
    pub proto: U16,
    /// Client port of the flow.
    pub cport: U16,
    /// Server (service) port of the flow.
    pub sport: U16,
    /// Replicated server address.
    pub replica: U32,
    /// Key.
    pub key: U32,
}

const _: () = assert!(core::mem::size_of::<Header>() == MSG_LEN);

/// Bytes of a message that an ICMP error is sure to quote: RFC 792 quotes
/// the IP header plus the first 64 bits of the datagram.
pub const QUOTED_LEN: usize = 8;

/// The first [`QUOTED_LEN`] bytes of [`Header`]: the flow without replica
/// and key.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct FlowPrefix {
    ty: U16,
    proto: U16,
    cport: U16,
    sport: U16,
}

const _: () = assert!(core::mem::size_of::<FlowPrefix>() == QUOTED_LEN);
const _: () =
    assert!(core::mem::offset_of!(Header, sport) == core::mem::offset_of!(FlowPrefix, sport));
const _: () = assert!(core::mem::offset_of!(Header, replica) == QUOTED_LEN);

/// The part of a message that an ICMP error quotes back to its sender.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Quoted {
    /// Message type.
    pub ty: MsgType,
    /// Transport protocol of the flow.
    pub proto: Proto,
    /// Client port of the flow.
    pub cport: u16,
    /// Server (service) port of the flow.
    pub sport: u16,
}

impl Quoted {
    /// Parses the first [`QUOTED_LEN`] bytes of `buf`, with [`Repr::parse`]'s
    /// checks.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let (p, _rest) = FlowPrefix::ref_from_prefix(buf).map_err(|_| ParseError::Short)?;
        Ok(Self {
            ty: MsgType::from_u16(p.ty.get()).ok_or(ParseError::BadType)?,
            proto: Proto::from_u16(p.proto.get()).ok_or(ParseError::BadProto)?,
            cport: p.cport.get(),
            sport: p.sport.get(),
        })
    }
}

/// Why a message was rejected. Each reason has its own counter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParseError {
    /// Fewer than [`MSG_LEN`] bytes.
    Short,
    /// Type not in 1..=4.
    BadType,
    /// Protocol neither TCP (6) nor UDP (17).
    BadProto,
}

/// A validated IPRP message in host order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Repr {
    /// Message type.
    pub ty: MsgType,
    /// Transport protocol of the flow.
    pub proto: Proto,
    /// Client port of the flow, as seen at the client.
    pub cport: u16,
    /// Server (service) port of the flow.
    pub sport: u16,
    /// Replica chosen for the flow.
    pub replica: Ipv4,
    /// Key: 0 in REQ; the client's key in CHK; echoed in CFM and ALM.
    pub key: u32,
}

impl Repr {
    /// Parses the first [`MSG_LEN`] bytes of `buf`; trailing bytes are ignored.
    ///
    /// Checks, in order: length, type, protocol.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let (hdr, _rest) = Header::ref_from_prefix(buf).map_err(|_| ParseError::Short)?;
        let q = Quoted::parse(buf)?;
        Ok(Self {
            ty: q.ty,
            proto: q.proto,
            cport: q.cport,
            sport: q.sport,
            replica: Ipv4::from_bits(hdr.replica.get()),
            key: hdr.key.get(),
        })
    }

    /// The zerocopy header for this message.
    pub fn to_header(&self) -> Header {
        Header {
            ty: U16::new(self.ty as u16),
            proto: U16::new(self.proto as u16),
            cport: U16::new(self.cport),
            sport: U16::new(self.sport),
            replica: U32::new(self.replica.to_bits()),
            key: U32::new(self.key),
        }
    }

    /// Writes the message in network byte order.
    pub fn emit(&self, out: &mut [u8; MSG_LEN]) {
        let hdr = self.to_header();
        out.copy_from_slice(hdr.as_bytes());
    }

    /// The message as a fresh 16-byte array.
    pub fn to_bytes(&self) -> [u8; MSG_LEN] {
        let mut out = [0u8; MSG_LEN];
        self.emit(&mut out);
        out
    }

    /// Same flow and replica, other type and key (used to build answers).
    pub const fn answer(&self, ty: MsgType, key: u32) -> Self {
        Self {
            ty,
            proto: self.proto,
            cport: self.cport,
            sport: self.sport,
            replica: self.replica,
            key,
        }
    }
}

/// Parses `buf` (free-function form of [`Repr::parse`]).
pub fn parse(buf: &[u8]) -> Result<Repr, ParseError> {
    Repr::parse(buf)
}

/// Emits `repr` into `out` (free-function form of [`Repr::emit`]).
pub fn emit(repr: &Repr, out: &mut [u8; MSG_LEN]) {
    repr.emit(out)
}

/// Most bytes of extensions ([`Ext`]) a message carries after its
/// [`MSG_LEN`] bytes: a GRANT item and a REBIND item.
pub const EXT_MAX_LEN: usize = 12;

/// Extension type: a wildcard grant or its revocation, in a CFM (see
/// [`GrantExt`]).
pub const EXT_GRANT: u8 = 1;

/// Length of a GRANT item's value.
pub const EXT_GRANT_LEN: u8 = 8;

/// Extension type: the flow's replica failed, in a CFM (docs/protocol.md,
/// "Re-binding"); its value is empty.
pub const EXT_REBIND: u8 = 2;

/// The GRANT item of a CFM (docs/protocol.md, "Wildcard grants"): 4
/// bytes of lifetime, 4 bytes of token, both big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct GrantExt {
    /// Seconds the client may send its new flows to the same service
    /// address, protocol and server port straight to the CFM's replica,
    /// without a handshake; 0 revokes the grant whose token is `token`.
    pub lifetime_s: u32,
    /// The redirector's random name for its grant to this client and
    /// service: the same in every renewal, and the only credential of a
    /// revocation (it travels only in CFMs that the flow key
    /// authenticates). 0 in a grant the shard offers before the
    /// redirector's grant table gives it a token.
    pub token: u32,
}

/// Extensions after the 16 bytes of a message (docs/protocol.md,
/// "Extensions"): type-length-value items, each a type byte, a length
/// byte (of the value) and the value. A peer that knows only the paper
/// ignores the bytes after the 16; a receiver skips items of types it does
/// not know and stops at an item that does not fit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ext {
    /// In a CFM: a wildcard grant, or the revocation of one.
    pub grant: Option<GrantExt>,
    /// In a CFM: the flow's replica failed; the client drops the binding
    /// (and resets a TCP connection), so the flow's next packet opens it
    /// again through the redirector.
    pub rebind: bool,
}

impl Ext {
    /// No extension.
    pub const NONE: Self = Self {
        grant: None,
        rebind: false,
    };

    /// The REBIND item alone.
    pub const REBIND: Self = Self {
        grant: None,
        rebind: true,
    };

    /// A grant of `lifetime_s` seconds offered by a service (none if 0),
    /// its token still to be given.
    pub const fn offer(lifetime_s: u32) -> Self {
        if lifetime_s == 0 {
            return Self::NONE;
        }
        Self {
            grant: Some(GrantExt {
                lifetime_s,
                token: 0,
            }),
            rebind: false,
        }
    }

    /// Parses the bytes that follow a message's first [`MSG_LEN`].
    pub fn parse(mut rest: &[u8]) -> Self {
        let mut ext = Self::NONE;
        while let [ty, len, tail @ ..] = rest {
            let Some((value, next)) = tail.split_at_checked(usize::from(*len)) else {
                break;
            };
            match (*ty, value.len()) {
                (EXT_GRANT, 8) => {
                    if let Ok([a, b, c, d, e, f, g, h]) = <[u8; 8]>::try_from(value) {
                        ext.grant = Some(GrantExt {
                            lifetime_s: u32::from_be_bytes([a, b, c, d]),
                            token: u32::from_be_bytes([e, f, g, h]),
                        });
                    }
                }
                (EXT_REBIND, 0) => ext.rebind = true,
                _ => {}
            }
            rest = next;
        }
        ext
    }

    /// Writes the extensions into `out`; returns the bytes written (0 for
    /// none).
    pub fn emit(&self, out: &mut [u8; EXT_MAX_LEN]) -> usize {
        let mut n = 0;
        if let Some(g) = self.grant {
            let [a, b, c, d] = g.lifetime_s.to_be_bytes();
            let [e, f, h, i] = g.token.to_be_bytes();
            let item = [EXT_GRANT, EXT_GRANT_LEN, a, b, c, d, e, f, h, i];
            out[..item.len()].copy_from_slice(&item);
            n = item.len();
        }
        if self.rebind {
            out[n..n + 2].copy_from_slice(&[EXT_REBIND, 0]);
            n += 2;
        }
        n
    }
}

/// A message together with the IP addresses it is to be sent from and to.
///
/// `from` is always an address of the sending host: for REQ/CFM/ALM the
/// service address (VIP) the client contacted, for CHK the client address
/// the REQ arrived at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Outgoing {
    /// IPv4 source address for the protocol-99 packet.
    pub from: Ipv4,
    /// IPv4 destination address.
    pub to: Ipv4,
    /// The message.
    pub msg: Repr,
    /// Its extensions.
    pub ext: Ext,
}

/// Most messages one shard re-sends per timer tick (REQ at the redirector,
/// CHK at the client): bounds the tick's work and its burst on the wire.
pub const RESEND_PER_TICK: usize = 32;

/// A message is re-sent on the timer when nothing was sent for it for this
/// long (ms): with the paper's 500 ms tick, once per tick.
pub const RESEND_AFTER_MS: u64 = 400;

/// Messages an `on_tick` call asks the caller to send (after it releases
/// the shard's lock).
pub type Resends = heapless::Vec<Outgoing, RESEND_PER_TICK>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_round_trip_and_tolerant_parse() {
        let mut out = [0u8; EXT_MAX_LEN];
        assert_eq!(Ext::NONE.emit(&mut out), 0);
        assert_eq!(Ext::offer(0), Ext::NONE);
        let g = Ext {
            grant: Some(GrantExt {
                lifetime_s: 300,
                token: 0x0102_0304,
            }),
            rebind: false,
        };
        let n = g.emit(&mut out);
        assert_eq!(&out[..n], &[1, 8, 0, 0, 1, 44, 1, 2, 3, 4]);
        assert_eq!(Ext::parse(&out[..n]), g);
        // A revocation: lifetime 0, the token.
        let r = Ext {
            grant: Some(GrantExt {
                lifetime_s: 0,
                token: 7,
            }),
            rebind: false,
        };
        let n = r.emit(&mut out);
        assert_eq!(Ext::parse(&out[..n]), r);
        // Nothing, an unknown item before it, a truncated item, a grant of
        // the wrong length: each parses without error.
        assert_eq!(Ext::parse(&[]), Ext::NONE);
        assert_eq!(
            Ext::parse(&[9, 2, 0xff, 0xff, 1, 8, 0, 0, 0, 5, 0, 0, 0, 9]),
            Ext {
                grant: Some(GrantExt {
                    lifetime_s: 5,
                    token: 9
                }),
                rebind: false,
            }
        );
        assert_eq!(Ext::parse(&[1, 8, 0, 0]), Ext::NONE);
        assert_eq!(Ext::parse(&[1, 4, 0, 0, 0, 5]), Ext::NONE);
        assert_eq!(Ext::parse(&[1]), Ext::NONE);
    }

    #[test]
    fn rebind_item_alone_and_after_a_grant() {
        let mut out = [0u8; EXT_MAX_LEN];
        let n = Ext::REBIND.emit(&mut out);
        assert_eq!(&out[..n], &[2, 0]);
        assert_eq!(Ext::parse(&out[..n]), Ext::REBIND);
        let both = Ext {
            rebind: true,
            ..Ext::offer(60)
        };
        let n = both.emit(&mut out);
        assert_eq!(n, EXT_MAX_LEN);
        assert_eq!(&out[n - 2..n], &[2, 0]);
        assert_eq!(Ext::parse(&out[..n]), both);
        // A REBIND item with a value is not one: skipped like an unknown type.
        assert_eq!(Ext::parse(&[2, 1, 0]), Ext::NONE);
        assert_eq!(Ext::parse(&[9, 0, 2, 0]), Ext::REBIND);
    }

    // REQ, TCP, client port 40000 (0x9c40), server port 80, replica 10.0.2.7, key 0.
    const REQ_BYTES: [u8; 16] = [
        0x00, 0x01, 0x00, 0x06, 0x9c, 0x40, 0x00, 0x50, 10, 0, 2, 7, 0, 0, 0, 0,
    ];
    // CHK, UDP, 5353 -> 53, replica 192.168.1.2, key 0xdeadbeef.
    const CHK_BYTES: [u8; 16] = [
        0x00, 0x02, 0x00, 0x11, 0x14, 0xe9, 0x00, 0x35, 192, 168, 1, 2, 0xde, 0xad, 0xbe, 0xef,
    ];

    fn req() -> Repr {
        Repr {
            ty: MsgType::Req,
            proto: Proto::Tcp,
            cport: 40000,
            sport: 80,
            replica: ipv4(10, 0, 2, 7),
            key: 0,
        }
    }

    #[test]
    fn header_is_16_bytes_unaligned() {
        assert_eq!(core::mem::size_of::<Header>(), 16);
        assert_eq!(core::mem::align_of::<Header>(), 1);
    }

    #[test]
    fn parse_req_vector() {
        assert_eq!(Repr::parse(&REQ_BYTES), Ok(req()));
    }

    #[test]
    fn emit_req_vector() {
        assert_eq!(req().to_bytes(), REQ_BYTES);
    }

    #[test]
    fn parse_emit_chk_vector() {
        let r = Repr::parse(&CHK_BYTES).unwrap();
        assert_eq!(r.ty, MsgType::Chk);
        assert_eq!(r.proto, Proto::Udp);
        assert_eq!(r.cport, 5353);
        assert_eq!(r.sport, 53);
        assert_eq!(r.replica, ipv4(192, 168, 1, 2));
        assert_eq!(r.key, 0xdead_beef);
        let mut out = [0u8; 16];
        emit(&r, &mut out);
        assert_eq!(out, CHK_BYTES);
    }

    #[test]
    fn all_types_roundtrip() {
        for (n, t) in [
            (1u8, MsgType::Req),
            (2, MsgType::Chk),
            (3, MsgType::Cfm),
            (4, MsgType::Alm),
        ] {
            let mut b = REQ_BYTES;
            b[1] = n;
            let r = parse(&b).unwrap();
            assert_eq!(r.ty, t);
            assert_eq!(r.to_bytes(), b);
        }
    }

    #[test]
    fn short_buffers_rejected() {
        for len in 0..16 {
            assert_eq!(
                parse(&REQ_BYTES[..len]),
                Err(ParseError::Short),
                "len {len}"
            );
        }
    }

    #[test]
    fn quoted_prefix_is_the_flow() {
        let q = Quoted::parse(&REQ_BYTES[..QUOTED_LEN]).unwrap();
        let r = req();
        assert_eq!(
            (q.ty, q.proto, q.cport, q.sport),
            (r.ty, r.proto, r.cport, r.sport)
        );
        assert_eq!(
            Quoted::parse(&REQ_BYTES[..QUOTED_LEN - 1]),
            Err(ParseError::Short)
        );
        let mut b = REQ_BYTES;
        b[1] = 9;
        assert_eq!(Quoted::parse(&b), Err(ParseError::BadType));
        b = REQ_BYTES;
        b[3] = 1;
        assert_eq!(Quoted::parse(&b), Err(ParseError::BadProto));
    }

    #[test]
    fn trailing_bytes_ignored() {
        let mut long = [0xffu8; 40];
        long[..16].copy_from_slice(&REQ_BYTES);
        assert_eq!(parse(&long), Ok(req()));
    }

    #[test]
    fn unaligned_input_accepted() {
        let mut buf = [0u8; 17];
        buf[1..].copy_from_slice(&CHK_BYTES);
        assert_eq!(parse(&buf[1..]).unwrap().key, 0xdead_beef);
    }

    #[test]
    fn bad_types_rejected() {
        for t in [0u16, 5, 6, 0x0100, 0xffff] {
            let mut b = REQ_BYTES;
            b[..2].copy_from_slice(&t.to_be_bytes());
            assert_eq!(parse(&b), Err(ParseError::BadType), "type {t}");
        }
    }

    #[test]
    fn bad_protocols_rejected() {
        for p in [0u16, 1, 17 << 8, 6 << 8, 132, 0xffff] {
            let mut b = REQ_BYTES;
            b[2..4].copy_from_slice(&p.to_be_bytes());
            assert_eq!(parse(&b), Err(ParseError::BadProto), "proto {p}");
        }
    }

    #[test]
    fn type_checked_before_proto() {
        let mut b = REQ_BYTES;
        b[1] = 9;
        b[3] = 1;
        assert_eq!(parse(&b), Err(ParseError::BadType));
        assert_eq!(parse(&b[..3]), Err(ParseError::Short));
    }

    #[test]
    fn answer_keeps_flow() {
        let a = req().answer(MsgType::Cfm, 7);
        assert_eq!(a.ty, MsgType::Cfm);
        assert_eq!(a.key, 7);
        assert_eq!(
            (a.cport, a.sport, a.replica),
            (40000, 80, ipv4(10, 0, 2, 7))
        );
    }

    #[test]
    fn ipv4_helper_host_order() {
        assert_eq!(ipv4(10, 0, 0, 1).to_bits(), 0x0a00_0001);
        assert_eq!(ipv4(10, 0, 0, 1), Ipv4::from_bits(0x0a00_0001));
        assert_eq!(Proto::from_u8(6), Some(Proto::Tcp));
        assert_eq!(Proto::from_u8(17), Some(Proto::Udp));
        assert_eq!(Proto::from_u8(1), None);
        assert_eq!(Proto::Udp.number(), 17);
    }

    #[test]
    fn ipv4_conversions() {
        let a = Ipv4::new(192, 168, 1, 2);
        assert_eq!(a.octets(), [192, 168, 1, 2]);
        assert_eq!(Ipv4::from([192, 168, 1, 2]), a);
        assert_eq!(<[u8; 4]>::from(a), [192, 168, 1, 2]);
        assert_eq!(Ipv4::from_be(u32::from_ne_bytes([192, 168, 1, 2])), a);
        assert_eq!(a.to_be(), u32::from_ne_bytes([192, 168, 1, 2]));
        assert!(Ipv4::UNSPECIFIED.is_unspecified());
        assert!(!a.is_unspecified());
        assert_eq!(Ipv4::default(), Ipv4::UNSPECIFIED);
        assert!(ipv4(10, 0, 0, 1) < ipv4(10, 0, 0, 2));
    }

    #[test]
    fn ipv4_prints_dotted_quad() {
        use std::format;
        let a = ipv4(10, 0, 2, 7);
        assert_eq!(format!("{a}"), "10.0.2.7");
        assert_eq!(format!("{a:?}"), "10.0.2.7");
        assert_eq!(format!("{}", Ipv4::UNSPECIFIED), "0.0.0.0");
        assert_eq!(format!("{}", ipv4(255, 255, 255, 255)), "255.255.255.255");
    }
}
