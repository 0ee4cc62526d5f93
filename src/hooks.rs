// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks at PRE_ROUTING and LOCAL_OUT, registered by the shim in a
//! namespace only while a role needs them (PRE_ROUTING: any role; LOCAL_OUT:
//! the client role).
//!
//! PRE_ROUTING: the client translates packets of bound flows coming from a
//! replica (source replica -> redirector) or holds them while the binding is
//! CHECKING; the redirector starts redirections and forwards first packets.
//! LOCAL_OUT: the client sends packets of confirmed flows to the replica.
//! At both, ICMP errors about translated flows are translated too (rules
//! C27, C28 in docs/protocol.md).

use crate::notify;
use crate::pernet::{self, ClientRole, ClientTable, NetState, RedirRole};
use crate::route::Route;
use crate::shim::{self, IcmpRewrite, Pkt, SkbRef, SocketQuery};
use crate::sync::BhLock;
use crate::uapi::iprp_counter as ctr;
use iprp_core::client::InVerdict;
use iprp_core::mark::{tcp_header_mark, Mark, MARK_OPTION};
use iprp_core::readidx::{ports_hash, Key, Read};
use iprp_core::redirector::{PacketInfo, Verdict as RVerdict};
use iprp_core::{Ipv4, Proto};
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// What a hook tells the shim to do with the packet; the shim maps it to
/// the netfilter verdict (keeps `NF_*` constants on the C side).
#[repr(u32)]
pub(crate) enum Verdict {
    /// Let the packet continue (`NF_ACCEPT`).
    Accept = 0,
    /// Drop it (`NF_DROP`).
    Drop = 1,
    /// We kept it (`NF_STOLEN`): it is held until the binding is confirmed.
    Stolen = 2,
    /// Its destination changed: re-route, then accept (LOCAL_OUT only).
    Reroute = 3,
    /// [`Verdict::Accept`] for a packet translated by a lock-free lookup
    /// (PRE_ROUTING): the shim counts it per CPU as `client.translated_in`.
    AcceptTranslated = 4,
    /// [`Verdict::Reroute`] for a packet translated by a lock-free lookup
    /// (LOCAL_OUT): the shim counts it per CPU as `client.translated_out`
    /// and routes it with its binding's cached route if that is valid
    /// (src/route.c).
    RerouteTranslated = 5,
}

/// IP protocol numbers.
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// The IPv4 header fields the prefilters need, read from the linear data.
struct Ip {
    saddr: Ipv4,
    daddr: Ipv4,
    proto: u8,
    /// Header length in bytes.
    ihl: usize,
}

impl Ip {
    /// From the IPv4 header at the start of `head` (the stack has pulled
    /// it into the linear data at both hooks).
    #[inline]
    fn of(head: &[u8]) -> Option<Self> {
        let word = |at: usize| {
            head.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(Ipv4::from_octets)
        };
        Some(Self {
            saddr: word(12)?,
            daddr: word(16)?,
            proto: *head.get(9)?,
            ihl: usize::from(*head.first()? & 0xf) * 4,
        })
    }

    /// False only for a TCP segment whose flags, in the linear data, say it
    /// is not a SYN without ACK (the SYN marking wants nothing else).
    #[inline]
    fn may_be_syn(&self, head: &[u8]) -> bool {
        head.get(self.ihl + 13)
            .is_none_or(|&flags| flags & 0x12 == 0x02)
    }

    /// False only for a TCP segment whose flags, in the linear data, say it
    /// is not a SYN-ACK (the orphan check wants nothing else).
    #[inline]
    fn may_be_syn_ack(&self, head: &[u8]) -> bool {
        head.get(self.ihl + 13)
            .is_none_or(|&flags| flags & 0x12 == 0x12)
    }
}

/// A TCP/UDP packet in host byte order.
struct Flow {
    proto: Proto,
    saddr: Ipv4,
    daddr: Ipv4,
    sport: u16,
    dport: u16,
    initial: bool,
    /// TCP SYN-ACK: a replica's answer may overtake its REQ.
    syn_ack: bool,
}

impl Flow {
    /// The TCP/UDP flow of the packet, or `None` for other protocols and
    /// later fragments. Reads the linear headers the hook got; a transport
    /// header outside them goes through the shim.
    fn of_skb(skb: &SkbRef<'_>) -> Option<Self> {
        let b = skb.head();
        let (Some(&vihl), Some(frag), Some(&proto)) = (b.first(), b.get(6..8), b.get(9)) else {
            return skb.parse().as_ref().and_then(Flow::of);
        };
        if u16::from_be_bytes([frag[0], frag[1]]) & 0x1fff != 0 {
            return None;
        }
        let th = b.get(usize::from(vihl & 0xf) * 4..).unwrap_or(&[]);
        let need = match proto {
            IPPROTO_TCP => 14,
            IPPROTO_UDP => 4,
            _ => return None,
        };
        if th.len() < need {
            return skb.parse().as_ref().and_then(Flow::of);
        }
        let (syn, ack) = match proto {
            IPPROTO_TCP => (th[13] & 0x02 != 0, th[13] & 0x10 != 0),
            _ => (false, false),
        };
        let ip = Ip::of(b)?;
        Self::new(
            proto,
            ip.saddr,
            ip.daddr,
            u16::from_be_bytes([th[0], th[1]]),
            u16::from_be_bytes([th[2], th[3]]),
            syn,
            ack,
        )
    }

    /// From a packet the shim parsed (network order).
    fn of(pkt: &Pkt) -> Option<Self> {
        if pkt.ports == 0 {
            return None;
        }
        Self::new(
            pkt.proto,
            Ipv4::from_be(pkt.saddr),
            Ipv4::from_be(pkt.daddr),
            u16::from_be(pkt.sport),
            u16::from_be(pkt.dport),
            pkt.syn != 0,
            pkt.ack != 0,
        )
    }

    fn new(
        proto: u8,
        saddr: Ipv4,
        daddr: Ipv4,
        sport: u16,
        dport: u16,
        syn: bool,
        ack: bool,
    ) -> Option<Self> {
        let proto = Proto::from_u8(proto)?;
        Some(Self {
            proto,
            saddr,
            daddr,
            sport,
            dport,
            // A TCP SYN without ACK may start a flow; so may any UDP datagram.
            initial: proto == Proto::Udp || (syn && !ack),
            syn_ack: proto == Proto::Tcp && syn && ack,
        })
    }
}

/// Rewrites an address, counting and dropping the packet if that fails.
fn rewrite(state: &NetState, skb: &mut SkbRef<'_>, dst: bool, addr: Ipv4, ok: Verdict) -> Verdict {
    if skb.set_addr(dst, addr) {
        ok
    } else {
        state.counters.inc(ctr::IPRP_CTR_XLAT_ERR);
        Verdict::Drop
    }
}

/// Rewrites an ICMP error's quoted address (see
/// [`SkbRef::icmp_error_set_addr`]): `ok` when done; a corrupt error is left
/// to the stack; a packet that cannot be written is counted and dropped.
fn rewrite_icmp_error(
    state: &NetState,
    skb: &mut SkbRef<'_>,
    quoted_dst: bool,
    addr: Ipv4,
    ok: Verdict,
) -> Verdict {
    match skb.icmp_error_set_addr(quoted_dst, addr) {
        IcmpRewrite::Done => ok,
        IcmpRewrite::BadChecksum => Verdict::Accept,
        IcmpRewrite::NoMemory => {
            state.counters.inc(ctr::IPRP_CTR_XLAT_ERR);
            Verdict::Drop
        }
    }
}

/// An ICMP error quoting a packet this host sent to a replica (rule C27):
/// its quote names the redirector instead, so the stack finds the flow's
/// socket (connected to the redirector) and acts on it (path MTU, refused
/// port, unreachable host).
fn client_icmp_error_in(
    state: &NetState,
    client: &ClientRole,
    skb: &mut SkbRef<'_>,
) -> Option<Verdict> {
    // The quoted packet went from us (source) to the replica.
    let q = Flow::of(&skb.parse_icmp_error()?)?;
    if !client.filter.replicas.may_contain(q.daddr) {
        return None;
    }
    let shard = client.shard(&state.key, q.proto, q.sport, q.dport);
    let redirector = client.update(state, shard, |s| {
        s.icmp_error_in(q.daddr, q.proto, q.dport, q.sport)
    })?;
    Some(rewrite_icmp_error(
        state,
        skb,
        true,
        redirector,
        Verdict::Accept,
    ))
}

/// An ICMP error this host sends about a packet it received translated
/// (rule C28): it goes to the replica and quotes it.
fn client_icmp_error_out(
    state: &NetState,
    client: &ClientRole,
    skb: &mut SkbRef<'_>,
) -> Option<Verdict> {
    // The quoted packet came from the redirector (source) to us.
    let q = Flow::of(&skb.parse_icmp_error()?)?;
    if !client.filter.redirectors.may_contain(q.saddr) {
        return None;
    }
    let shard = client.shard(&state.key, q.proto, q.dport, q.sport);
    let replica = client.update(state, shard, |s| {
        s.icmp_error_out(q.saddr, q.proto, q.dport, q.sport)
    })?;
    Some(rewrite_icmp_error(
        state,
        skb,
        false,
        replica,
        Verdict::Reroute,
    ))
}

/// A packet from a replica's address (the caller checked the filter).
fn client_in(
    state: &NetState,
    client: &ClientRole,
    skb: &mut SkbRef<'_>,
    f: &Flow,
) -> Option<Verdict> {
    // From the replica: the client port is the destination port.
    let hp = ports_hash(&state.key, f.proto, f.dport, f.sport);
    let (_, shard, index) = client.shard_of_hash(hp);
    match index.read(hp, &Key::from_replica(f.saddr, f.proto, f.dport, f.sport)) {
        Read::Absent => return None,
        Read::Confirmed(redirector) => {
            return Some(rewrite(
                state,
                skb,
                false,
                redirector,
                Verdict::AcceptTranslated,
            ));
        }
        // CHECKING (the packet may be held) or a writer was busy: ask the
        // shard under its lock.
        Read::Checking | Read::Busy => {}
    }
    let now = shim::now_ms();
    let v = client.update(state, shard, |s| {
        // SAFETY: the core takes the packet only when it answers `Hold`,
        // and then the skb is not touched again and the hook returns
        // NF_STOLEN.
        let hold = || unsafe { skb.steal() };
        s.lookup_in(f.saddr, f.proto, f.sport, f.dport, now, hold)
    });
    match v {
        InVerdict::None => None,
        InVerdict::Translate { redirector } => {
            Some(rewrite(state, skb, false, redirector, Verdict::Accept))
        }
        // The shard owns the packet now.
        InVerdict::Hold => Some(Verdict::Stolen),
        InVerdict::Drop(_) => Some(Verdict::Drop),
    }
}

/// A SYN-ACK without binding that no local socket takes (the stack would
/// answer RST and so abort the replica's half-open connection): if a REQ
/// naming its source follows, it is the replica's answer to our SYN that
/// overtook the REQ, so keep it a moment as an orphan (see
/// `ClientShard::hold_orphan`).
fn client_orphan(
    state: &NetState,
    client: &ClientRole,
    skb: &SkbRef<'_>,
    f: &Flow,
) -> Option<Verdict> {
    // SAFETY: `state.net` is the namespace the packet is in.
    let claimed = unsafe {
        skb.has_socket(
            state.net,
            f.proto,
            (f.saddr, f.sport),
            (f.daddr, f.dport),
            SocketQuery::Takes,
        )
    };
    if claimed {
        return None;
    }
    let shard = client.shard(&state.key, f.proto, f.dport, f.sport);
    let now = shim::now_ms();
    // SAFETY: the skb is not touched again and the hook returns NF_STOLEN.
    let orphan = unsafe { skb.steal() };
    let evicted = client.update(state, shard, |s| {
        s.hold_orphan(f.saddr, f.proto, f.sport, f.dport, now, orphan)
    });
    if let Some(skb) = evicted {
        drop(skb);
        state.counters.inc(ctr::IPRP_CTR_HELD_FREED);
    }
    // The timer frees it if no REQ comes.
    state.kick_timer();
    Some(Verdict::Stolen)
}

/// The redirector's part of PRE_ROUTING, for a packet whose destination
/// passed the service-address filter (`redir.vips`).
fn redirector_in(state: &NetState, redir: &RedirRole, skb: &mut SkbRef<'_>, f: &Flow) -> Verdict {
    let now = shim::now_ms();
    let mark = if f.proto == Proto::Tcp && f.initial {
        syn_mark(skb)
    } else {
        Mark::Unknown
    };
    if mark == Mark::Marked {
        // The client speaks IPRP now: it is no longer legacy.
        redir.legacy.lock().marked(f.saddr, now);
    }
    let info = PacketInfo {
        src: f.saddr,
        dst: f.daddr,
        proto: f.proto,
        sport: f.sport,
        dport: f.dport,
        initial: f.initial,
        mark,
    };
    let outcome = {
        let mut g = redir.shard(&state.key, f.proto, f.sport, f.dport);
        let outcome = g
            .shard
            .on_packet_with(g.shared, &info, now, |c| redir.is_legacy(c, now));
        notify::flush(state, &mut g.shard.events);
        outcome
    };
    if let Some(out) = outcome.send {
        redir.send(state, out, now);
        state.kick_timer();
    }
    match outcome.verdict {
        RVerdict::Pass | RVerdict::Local => Verdict::Accept,
        // Routing after PRE_ROUTING forwards it to the replica, untracked:
        // the replica answers the client directly.
        RVerdict::Forward { replica } => {
            let v = rewrite(state, skb, true, replica, Verdict::Accept);
            skb.untrack();
            v
        }
        RVerdict::Drop(_) => Verdict::Drop,
    }
}

/// The capability mark of a TCP SYN: read from its TCP header in the
/// linear data when the whole header is there, else copied through the
/// shim.
fn syn_mark(skb: &SkbRef<'_>) -> Mark {
    let head = skb.head();
    if let Some(&vihl) = head.first() {
        let th = head.get(usize::from(vihl & 0xf) * 4..).unwrap_or(&[]);
        let mark = tcp_header_mark(th);
        if mark != Mark::Unknown {
            return mark;
        }
    }
    // IP and TCP headers of at most 60 bytes each.
    let mut buf = [0u8; 120];
    let n = skb.len().min(buf.len());
    let Some(b) = buf.get_mut(..n).filter(|b| !b.is_empty()) else {
        return Mark::Unknown;
    };
    if !skb.copy_bits(0, b) {
        return Mark::Unknown;
    }
    let ihl = usize::from(b[0] & 0xf) * 4;
    b.get(ihl..).map_or(Mark::Unknown, tcp_header_mark)
}

/// A TCP SYN the client sends untranslated: with marking on, it gets the
/// capability mark (docs/protocol.md, "Capability mark"), counted either
/// way. The destination is unchanged: no re-route.
fn mark_syn(state: &NetState, skb: &mut SkbRef<'_>, f: &Flow) -> Verdict {
    if f.proto == Proto::Tcp && f.initial && state.mark_syns() {
        match skb.tcp_insert_option(MARK_OPTION) {
            Ok(()) => state.counters.inc(ctr::IPRP_CTR_SYN_MARKED),
            Err(_) => state.counters.inc(ctr::IPRP_CTR_SYN_MARK_SKIPPED),
        }
    }
    Verdict::Accept
}

/// PRE_ROUTING: client translation of replica packets, redirector ingress.
///
/// A packet that no role can concern is done after a few loads from its
/// IP header: no call out, no clock read, no hash, no lock.
///
/// # Safety
///
/// Called by the shim's netfilter hook with the namespace's live state, a
/// valid skb whose data starts at the IPv4 header, and that linear data
/// (`head`, `headlen` bytes).
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_pre_routing(
    state: *mut c_void,
    skb: *mut sk_buff,
    head: *const u8,
    headlen: u32,
) -> Verdict {
    // SAFETY: by the function's contract.
    let (state, skb) = unsafe { (pernet::state(state), SkbRef::with_head(skb, head, headlen)) };
    let Some(ip) = Ip::of(skb.head()) else {
        return Verdict::Accept;
    };
    // The prefilter: loads only, so that this function stays small for the
    // packets it lets through untouched.
    let client = state.client().is_some_and(|c| {
        (c.has_bindings() && (ip.proto == IPPROTO_ICMP || c.filter.replicas.may_contain(ip.saddr)))
            || (ip.proto == IPPROTO_TCP && ip.may_be_syn_ack(skb.head()))
    });
    let redirector = state
        .redirector()
        .is_some_and(|r| r.vips.may_contain(ip.daddr));
    if !client && !redirector {
        return Verdict::Accept;
    }
    pre_routing(state, skb, &ip)
}

/// PRE_ROUTING for a packet the prefilter let through.
#[inline(never)]
fn pre_routing(state: &NetState, mut skb: SkbRef<'_>, ip: &Ip) -> Verdict {
    if let Some(client) = state.client() {
        if let Some(v) = client_pre_routing(state, client, &mut skb, ip) {
            return v;
        }
    }
    match state.redirector() {
        Some(redir) if redir.vips.may_contain(ip.daddr) => match Flow::of_skb(&skb) {
            Some(f) => redirector_in(state, redir, &mut skb, &f),
            None => Verdict::Accept,
        },
        _ => Verdict::Accept,
    }
}

/// The client's part of PRE_ROUTING; `None` leaves the packet to the
/// redirector role.
fn client_pre_routing(
    state: &NetState,
    client: &ClientRole,
    skb: &mut SkbRef<'_>,
    ip: &Ip,
) -> Option<Verdict> {
    if client.has_bindings() {
        if ip.proto == IPPROTO_ICMP {
            // An ICMP error may come from any router on the way.
            return client_icmp_error_in(state, client, skb);
        }
        if client.filter.replicas.may_contain(ip.saddr) {
            if let Some(f) = Flow::of_skb(skb) {
                if let Some(v) = client_in(state, client, skb, &f) {
                    return Some(v);
                }
            }
        }
    }
    if ip.proto != IPPROTO_TCP {
        return None;
    }
    match Flow::of_skb(skb) {
        Some(f) if f.syn_ack => client_orphan(state, client, skb, &f),
        _ => None,
    }
}

/// LOCAL_OUT: client translation of outgoing packets of bound flows. For
/// [`Verdict::RerouteTranslated`] it sets `*route` to the binding's route
/// cache slot (src/route.c).
///
/// # Safety
///
/// As for [`iprp_rs_pre_routing`]; `route` is valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_local_out(
    state: *mut c_void,
    skb: *mut sk_buff,
    head: *const u8,
    headlen: u32,
    route: *mut *mut *mut Route,
) -> Verdict {
    // SAFETY: by the function's contract.
    let (state, skb) = unsafe { (pernet::state(state), SkbRef::with_head(skb, head, headlen)) };
    // SAFETY: by the function's contract.
    let Some(route) = (unsafe { route.as_mut() }) else {
        return Verdict::Accept;
    };
    let mark = state.mark_syns();
    let Some(client) = state
        .client()
        .filter(|c| mark || c.has_bindings() || c.has_grants())
    else {
        return Verdict::Accept;
    };
    let Some(ip) = Ip::of(skb.head()) else {
        return Verdict::Accept;
    };
    let wanted = ip.proto == IPPROTO_ICMP
        || client.filter.redirectors.may_contain(ip.daddr)
        || client.granted.may_contain(ip.daddr)
        || (mark && ip.proto == IPPROTO_TCP && ip.may_be_syn(skb.head()));
    if !wanted {
        return Verdict::Accept;
    }
    local_out(state, client, skb, &ip, route)
}

/// The first packet of a flow with no binding, to a service for which the
/// client holds a live wildcard grant: binds the flow to the grant's
/// replica at once (CONFIRMED, no handshake) and translates the packet, so
/// the redirector never sees the flow. Not when another local socket
/// already uses the translated 4-tuple (the REQ's aliasing rule).
fn client_granted(
    state: &NetState,
    client: &ClientRole,
    shard: &BhLock<ClientTable>,
    skb: &mut SkbRef<'_>,
    f: &Flow,
) -> Option<Verdict> {
    if !f.initial || !client.granted.may_contain(f.daddr) {
        return None;
    }
    let now = shim::now_ms();
    let replica = client.granted_replica(f.daddr, f.proto, f.dport, now)?;
    // SAFETY: `state.net` is the namespace the packet is in.
    let aliased = unsafe {
        skb.has_socket(
            state.net,
            f.proto,
            (replica, f.dport),
            (f.saddr, f.sport),
            SocketQuery::Uses,
        )
    };
    if aliased {
        return None;
    }
    let bound = client.update(state, shard, |s| {
        s.bind_granted(f.daddr, replica, f.proto, f.sport, f.dport, f.saddr, now)
    });
    bound.then(|| rewrite(state, skb, true, replica, Verdict::Reroute))
}

/// LOCAL_OUT for a packet the prefilter let through.
#[inline(never)]
fn local_out(
    state: &NetState,
    client: &ClientRole,
    mut skb: SkbRef<'_>,
    ip: &Ip,
    route: &mut *mut *mut Route,
) -> Verdict {
    if ip.proto == IPPROTO_ICMP {
        return client_icmp_error_out(state, client, &mut skb).unwrap_or(Verdict::Accept);
    }
    let Some(f) = Flow::of_skb(&skb) else {
        return Verdict::Accept;
    };
    let hp = ports_hash(&state.key, f.proto, f.sport, f.dport);
    let (number, shard, index) = client.shard_of_hash(hp);
    match index.read_at(hp, &Key::out(f.daddr, f.proto, f.sport, f.dport)) {
        (Read::Absent, _) => {
            return match client_granted(state, client, shard, &mut skb, &f) {
                Some(v) => v,
                None => mark_syn(state, &mut skb, &f),
            };
        }
        (Read::Confirmed(replica), entry) => {
            *route = client.route_slot(number, entry);
            return rewrite(state, &mut skb, true, replica, Verdict::RerouteTranslated);
        }
        // CHECKING (its activity keeps it alive) or a writer was busy.
        (Read::Checking | Read::Busy, _) => {}
    }
    let now = shim::now_ms();
    let replica = client.update(state, shard, |s| {
        s.lookup_out(f.daddr, f.proto, f.sport, f.dport, now)
    });
    match replica {
        Some(replica) => rewrite(state, &mut skb, true, replica, Verdict::Reroute),
        None => mark_syn(state, &mut skb, &f),
    }
}
