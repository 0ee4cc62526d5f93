// SPDX-License-Identifier: GPL-2.0
//! Events: every change of a binding or flow entry is logged once, in
//! order, with its cause (docs/netlink.md, "Events").
mod common;
use common::*;
use iprp_core::*;

/// The kinds and causes the shard logged since the last call, in order.
fn taken(log: &mut EventLog) -> Vec<(EventKind, Cause)> {
    let (events, lost) = all(log);
    assert_eq!(lost, 0);
    events.iter().map(|e| (e.kind, e.cause)).collect()
}

/// Every event of the log, and how many were lost.
fn all(log: &mut EventLog) -> (Vec<Event>, u32) {
    let mut events = Vec::new();
    let lost = log.take(|e| events.push(*e));
    (events, lost)
}

#[test]
fn client_binding_lifecycle_is_logged_with_causes() {
    let mut c = client(16);
    c.on_msg(
        &msg(MsgType::Req, 1000, S1, 0),
        VIP,
        CLIENT,
        0,
        &mut SeqRng(vec![42], 0),
    );
    let (events, _) = all(&mut c.events);
    assert_eq!(
        events.as_slice(),
        &[Event {
            kind: EventKind::BindingNew,
            cause: Cause::None,
            proto: Proto::Tcp,
            peer: VIP,
            vip: VIP,
            port: PORT,
            cport: 1000,
            replica: S1,
        }]
    );
    // A duplicate REQ changes nothing: no event.
    c.on_msg(
        &msg(MsgType::Req, 1000, S1, 0),
        VIP,
        CLIENT,
        1,
        &mut TestRng(1),
    );
    assert!(c.events.is_empty());
    c.on_msg(
        &msg(MsgType::Cfm, 1000, S1, 42),
        VIP,
        CLIENT,
        2,
        &mut TestRng(0),
    );
    assert_eq!(
        taken(&mut c.events),
        [(EventKind::BindingConfirmed, Cause::None)]
    );
    // Idle past the timeout: expired.
    c.on_tick(10_000_000, |_| {});
    assert_eq!(
        taken(&mut c.events),
        [(EventKind::BindingDel, Cause::Expired)]
    );
}

#[test]
fn client_alarm_and_flush_are_causes() {
    let mut c = client(16);
    for (cport, key) in [(1, 7), (2, 8)] {
        c.on_msg(
            &msg(MsgType::Req, cport, S1, 0),
            VIP,
            CLIENT,
            0,
            &mut SeqRng(vec![key], 0),
        );
    }
    c.events.clear();
    c.on_msg(
        &msg(MsgType::Alm, 1, S1, 7),
        VIP,
        CLIENT,
        1,
        &mut TestRng(0),
    );
    assert_eq!(
        taken(&mut c.events),
        [(EventKind::BindingDel, Cause::Alarm)]
    );
    // A forged ALM (wrong key) changes nothing.
    c.on_msg(
        &msg(MsgType::Alm, 2, S1, 9),
        VIP,
        CLIENT,
        1,
        &mut TestRng(0),
    );
    assert!(c.events.is_empty());
    c.clear(|_| {});
    assert_eq!(
        taken(&mut c.events),
        [(EventKind::BindingDel, Cause::Flushed)]
    );
}

#[test]
fn client_granted_binding_is_logged_confirmed() {
    let mut c = client(16);
    assert!(c.bind_granted(VIP, S2, Proto::Udp, 5000, 53, CLIENT, 0));
    let (events, _) = all(&mut c.events);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind, events[0].replica, events[0].proto),
        (EventKind::BindingConfirmed, S2, Proto::Udp)
    );
}

#[test]
fn redirector_flow_lifecycle_is_logged_with_causes() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1)]);
    let mut r = redir(16);
    r.on_packet(&s, &syn(CLIENT, 9), 0);
    let (events, _) = all(&mut r.events);
    assert_eq!(
        events.as_slice(),
        &[Event {
            kind: EventKind::FlowNew,
            cause: Cause::None,
            proto: Proto::Tcp,
            peer: CLIENT,
            vip: VIP,
            port: PORT,
            cport: 9,
            replica: S1,
        }]
    );
    // A duplicate SYN re-sends the REQ: no change, no event.
    r.on_packet(&s, &syn(CLIENT, 9), 1);
    assert!(r.events.is_empty());
    r.on_chk(&s, &msg(MsgType::Chk, 9, S1, 5), CLIENT, VIP, 2)
        .unwrap();
    assert_eq!(
        taken(&mut r.events),
        [(EventKind::FlowConfirmed, Cause::None)]
    );
    r.on_tick(&s, 10_000_000);
    assert_eq!(taken(&mut r.events), [(EventKind::FlowDel, Cause::Expired)]);
}

#[test]
fn redirector_unanswered_and_legacy_flows_are_logged_local() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1)]);
    let mut r = redir(16);
    r.on_packet(&s, &syn(CLIENT, 9), 0);
    r.events.clear();
    // No CHK within the response timeout: served locally.
    r.on_tick(&s, 1000);
    let (events, _) = all(&mut r.events);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind, events[0].replica),
        (EventKind::FlowLocal, Ipv4::UNSPECIFIED)
    );
    // A legacy client's flow gets no entry, but the event says it is local.
    r.on_packet_with(&s, &syn(S3, 10), 2, |_| true);
    assert_eq!(taken(&mut r.events), [(EventKind::FlowLocal, Cause::None)]);
    r.clear(&s);
    assert_eq!(taken(&mut r.events), [(EventKind::FlowDel, Cause::Flushed)]);
}

#[test]
fn redirector_deleted_service_is_the_cause() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1)]);
    let mut r = redir(16);
    r.on_packet(&s, &syn(CLIENT, 9), 0);
    r.events.clear();
    let idx = s.find(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(r.remove_service(&s, idx), 1);
    assert_eq!(
        taken(&mut r.events),
        [(EventKind::FlowDel, Cause::ServiceDeleted)]
    );
}

#[test]
fn a_burst_beyond_the_log_is_counted_lost_not_kept() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1)]);
    let n = EVENT_LOG_LEN + 10;
    let mut r = redir(n);
    for cport in 0..n as u16 {
        r.on_packet(&s, &syn(CLIENT, cport), 0);
    }
    let (events, lost) = all(&mut r.events);
    assert_eq!((events.len(), lost), (EVENT_LOG_LEN, 10));
    assert!(r.events.is_empty());
}
