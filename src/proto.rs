// SPDX-License-Identifier: GPL-2.0

//! The IP protocol 99 handler: redirection messages.

use crate::notify;
use crate::pernet::{self, KernelRng, NetState};
use crate::shim::{self, OwnedSkb};
use crate::uapi::iprp_counter as ctr;
use iprp_core::client::{ClientOutcome, LocalFlow};
use iprp_core::redirector::FlowKey;
use iprp_core::wire::{self, Ext, Ipv4, MsgType, Outgoing, ParseError, Proto, Quoted, Repr};
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// Sends a protocol message and counts the result.
pub(crate) fn send(state: &NetState, out: &Outgoing) {
    // SAFETY: `state.net` is the live namespace that owns `state`.
    let sent = unsafe { shim::send(state.net, out) };
    state.counters.inc(if sent {
        ctr::IPRP_CTR_MSG_TX
    } else {
        ctr::IPRP_CTR_MSG_TX_ERR
    });
}

/// Most bytes after the 16 of a message that are read for extensions.
const EXT_READ: usize = 64;

/// The message and its extensions (the bytes after the 16, at most
/// [`EXT_READ`] of them).
fn parse(skb: &OwnedSkb) -> Result<(Repr, Ext), ParseError> {
    let skb = skb.as_ref();
    let mut buf = [0u8; wire::MSG_LEN + EXT_READ];
    let len = skb.len().min(buf.len());
    let copied = buf.get_mut(..len).is_some_and(|b| skb.copy_bits(0, b));
    match buf.get(..len) {
        Some(b) if copied => {
            let msg = Repr::parse(b)?;
            Ok((msg, Ext::parse(b.get(wire::MSG_LEN..).unwrap_or(&[]))))
        }
        _ => Err(ParseError::Short),
    }
}

/// A CHK for the redirector role: answer with CFM or ALM.
fn redirector_msg(state: &NetState, msg: &Repr, src: Ipv4, dst: Ipv4) {
    let Some(redir) = state.redirector() else {
        return;
    };
    let now = shim::now_ms();
    let answer = {
        let mut g = redir.shard(&state.key, msg.proto, msg.cport, msg.sport);
        let answer = g.shard.on_chk(g.shared, msg, src, dst, now).ok();
        notify::flush(state, &mut g.shard.events);
        answer
    };
    if let Some(out) = answer {
        if out.msg.ty == MsgType::Cfm {
            // It speaks IPRP: a REQ of it that goes unanswered later was
            // lost, and does not make it legacy.
            redir.legacy.lock().remember_capable(src, now);
        }
        redir.send(state, out, now);
    }
}

/// REQ, CFM or ALM for the client role.
fn client_msg(state: &NetState, skb: &OwnedSkb, msg: &Repr, ext: &Ext, src: Ipv4, dst: Ipv4) {
    let Some(client) = state.client() else {
        return;
    };
    let now = shim::now_ms();
    let shard = client.shard(&state.key, msg.proto, msg.cport, msg.sport);
    // A REQ binds only a flow this host is opening: a TCP socket still
    // connecting (its SYN-ACK is held or not yet here) or a UDP socket,
    // from our port to the redirector's (the REQ's source); and only if no
    // other socket already talks to the replica from that port.
    let local_flow = || {
        use shim::SocketQuery::{Connecting, Uses};
        let sk = skb.as_ref();
        let ours = (dst, msg.cport);
        // SAFETY: `state.net` is the namespace the message arrived in.
        let opening =
            unsafe { sk.has_socket(state.net, msg.proto, (src, msg.sport), ours, Connecting) };
        if !opening {
            return LocalFlow::Absent;
        }
        // SAFETY: as above.
        if unsafe { sk.has_socket(state.net, msg.proto, (msg.replica, msg.sport), ours, Uses) } {
            return LocalFlow::Aliased;
        }
        LocalFlow::Opening
    };
    let outcome = client.update(state, shard, |s| {
        s.on_msg_ext(msg, ext, src, dst, now, &mut KernelRng, local_flow)
    });
    // Held packets are delivered after the lock is dropped: delivery may
    // re-enter our hooks.
    match outcome {
        ClientOutcome::Send(out) => {
            send(state, &out);
            state.kick_timer();
        }
        ClientOutcome::Confirmed {
            released, grant, ..
        } => {
            if let Some(g) = grant {
                client.install_grant(&g, now);
            }
            for skb in released {
                skb.reinject();
                state.counters.inc(ctr::IPRP_CTR_HELD_REINJECTED);
            }
        }
        ClientOutcome::Granted(g) => client.install_grant(&g, now),
        ClientOutcome::Revoke {
            redirector,
            proto,
            sport,
            token,
        } => state.counters.inc(
            if client.revoke_grant(redirector, proto, sport, token, now) {
                ctr::IPRP_CTR_GRANT_REVOKED
            } else {
                ctr::IPRP_CTR_REVOKE_REJECTED
            },
        ),
        ClientOutcome::Rebound {
            proto,
            local,
            cport,
            redirector,
            sport,
        } => {
            // C29: the replica failed. A UDP flow's next datagram goes to
            // the redirector and is bound again; a TCP connection cannot
            // move, so its application is told at once.
            if proto == Proto::Tcp {
                // SAFETY: `state.net` is the namespace the message arrived in.
                let queued =
                    unsafe { shim::reset_tcp(state.net, (local, cport), (redirector, sport)) };
                state.counters.inc(if queued {
                    ctr::IPRP_CTR_REBIND_RESET
                } else {
                    ctr::IPRP_CTR_REBIND_RESET_SKIPPED
                });
            }
        }
        ClientOutcome::Alarmed { dropped } => {
            for skb in dropped {
                drop(skb);
                state.counters.inc(ctr::IPRP_CTR_HELD_FREED);
            }
        }
        ClientOutcome::Ignored | ClientOutcome::Drop(_) => {}
    }
}

/// An ICMP protocol unreachable quoting a protocol-99 packet from `saddr`
/// to `daddr` (network order) whose first 8 bytes are at `quoted`. If it
/// quotes a REQ still unanswered, the client has no IPRP: its flow is served
/// here at once and its next flows for a while too (see
/// `RedirShard::on_unreachable`).
///
/// # Safety
///
/// Called by the shim's ICMP error handler with the namespace's live state
/// and 8 readable bytes at `quoted`.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_proto_unreach(
    state: *mut c_void,
    saddr: u32,
    daddr: u32,
    quoted: *const u8,
) {
    // SAFETY: by the function's contract.
    let (state, q) = unsafe {
        (
            pernet::state(state),
            core::slice::from_raw_parts(quoted, wire::QUOTED_LEN),
        )
    };
    let Some(redir) = state.redirector() else {
        return;
    };
    // Only our REQs go to clients from a service address.
    let Ok(q) = Quoted::parse(q) else {
        return;
    };
    if q.ty != MsgType::Req {
        return;
    }
    let k = FlowKey {
        client: Ipv4::from_be(daddr),
        vip: Ipv4::from_be(saddr),
        proto: q.proto,
        cport: q.cport,
        sport: q.sport,
    };
    let now = shim::now_ms();
    let legacy = {
        let mut g = redir.shard(&state.key, k.proto, k.cport, k.sport);
        let legacy = g.shard.on_unreachable(g.shared, &k);
        notify::flush(state, &mut g.shard.events);
        legacy
    };
    if legacy {
        redir.legacy.lock().remember(k.client, now);
    }
}

/// Receives one protocol-99 packet; `skb->data` is at the IPRP message.
///
/// # Safety
///
/// Called by the shim's `net_protocol` handler with the namespace's live
/// state and an skb whose ownership passes to us.
#[no_mangle]
pub(crate) unsafe extern "C" fn iprp_rs_proto_rcv(state: *mut c_void, skb: *mut sk_buff) -> i32 {
    // SAFETY: by the function's contract.
    let (state, skb) = unsafe { (pernet::state(state), OwnedSkb::from_raw(skb)) };
    let counters = &state.counters;
    counters.inc(ctr::IPRP_CTR_PROTO_RX);
    let (msg, ext) = match parse(&skb) {
        Ok(parsed) => parsed,
        Err(e) => {
            counters.inc(match e {
                ParseError::Short => ctr::IPRP_CTR_DROP_SHORT,
                ParseError::BadType => ctr::IPRP_CTR_DROP_BAD_TYPE,
                ParseError::BadProto => ctr::IPRP_CTR_DROP_BAD_PROTO,
            });
            drop(skb);
            return 0;
        }
    };
    counters.inc(ctr::IPRP_CTR_PROTO_VALID);
    let (src, dst) = skb.as_ref().addrs();
    match msg.ty {
        MsgType::Chk => redirector_msg(state, &msg, src, dst),
        MsgType::Req | MsgType::Cfm | MsgType::Alm => client_msg(state, &skb, &msg, &ext, src, dst),
    }
    skb.consume();
    0
}
