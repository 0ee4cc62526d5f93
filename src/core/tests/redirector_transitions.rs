// SPDX-License-Identifier: GPL-2.0
//! One test per redirector transition (docs/protocol.md, table R).
mod common;
use common::*;
use iprp_core::*;

fn one_replica() -> Svcs {
    services(SchedKind::RoundRobin, &[rep(S1, 1)])
}

fn sent(r: &mut Redir, s: &Svcs, cport: u16, now: u64) -> PacketOutcome {
    r.on_packet(s, &syn(CLIENT, cport), now)
}

fn confirmed(r: &mut Redir, s: &Svcs, cport: u16, key: u32) {
    sent(r, s, cport, 0);
    let o = r
        .on_chk(s, &msg(MsgType::Chk, cport, S1, key), CLIENT, VIP, 10)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Cfm);
}

#[test]
fn r01_none_initial_packet_creates_sent_forwards_and_sends_req() {
    let s = one_replica();
    let mut r = redir(16);
    let o = sent(&mut r, &s, 1234, 5);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    let req = o.send.unwrap();
    assert_eq!((req.from, req.to), (VIP, CLIENT));
    assert_eq!(req.msg, msg(MsgType::Req, 1234, S1, 0));
    let e = r.lookup(&fkey(CLIENT, 1234)).unwrap();
    assert_eq!(e.state, RState::Sent);
    assert_eq!((e.last_activity, e.last_response), (5, 5));
    assert_eq!(r.counters.flow_new, 1);
    assert_eq!(r.counters.req_sent, 1);
}

#[test]
fn r02_none_midflow_packet_is_local_without_entry() {
    let s = one_replica();
    let mut r = redir(16);
    let mut p = syn(CLIENT, 1);
    p.initial = false;
    let o = r.on_packet(&s, &p, 0);
    assert_eq!(o.verdict, Verdict::Local);
    assert_eq!(o.send, None);
    assert!(r.is_empty());
    assert_eq!(r.counters.local_midflow, 1);
}

#[test]
fn r03_none_no_eligible_replica_is_local() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 0)]);
    let mut r = redir(16);
    let o = sent(&mut r, &s, 1, 0);
    assert_eq!(o.verdict, Verdict::Local);
    assert!(r.is_empty());
    assert_eq!(r.counters.local_no_replica, 1);
}

#[test]
fn r04_none_table_full_serves_locally_and_counts() {
    let s = one_replica();
    let mut r = redir(2);
    sent(&mut r, &s, 1, 0);
    sent(&mut r, &s, 2, 0);
    let o = sent(&mut r, &s, 3, 0);
    assert_eq!(o.verdict, Verdict::Local);
    assert_eq!(o.send, None);
    assert_eq!(r.counters.local_table_full, 1);
    assert!(r.lookup(&fkey(CLIENT, 3)).is_none());
    assert!(r.lookup(&fkey(CLIENT, 1)).is_some());
    assert!(r.lookup(&fkey(CLIENT, 2)).is_some());
}

#[test]
fn r05_sent_packet_forwards_and_duplicates_req() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    let o = sent(&mut r, &s, 9, 300);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Req, 9, S1, 0));
    assert_eq!(r.counters.req_dup, 1);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().last_activity, 300);
    assert_eq!(r.len(), 1);
}

#[test]
fn r06_sent_chk_same_replica_confirms_and_sends_cfm() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 0xabcd), CLIENT, VIP, 40)
        .unwrap();
    assert_eq!((o.from, o.to), (VIP, CLIENT));
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, S1, 0xabcd));
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(e.state, RState::Confirmed);
    assert_eq!(e.key, 0xabcd);
    assert_eq!(e.last_response, 40);
    assert_eq!(
        e.last_activity, 40,
        "the idle timeout restarts at confirmation"
    );
    assert_eq!(r.counters.cfm_sent, 1);
}

#[test]
fn r07_sent_chk_other_replica_alarms_and_stays_sent() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S2, 77), CLIENT, VIP, 40)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Alm, 9, S2, 77));
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(e.state, RState::Sent);
    assert_eq!(e.key, 0);
    assert_eq!(e.last_response, 0, "a bad CHK is no response");
    assert_eq!(r.counters.chk_wrong_replica, 1);
    assert_eq!(r.counters.alm_sent, 1);
}

#[test]
fn r08_confirmed_packet_forwards_and_duplicates_cfm() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 55);
    let o = sent(&mut r, &s, 9, 100);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Cfm, 9, S1, 55));
    assert_eq!(r.counters.cfm_dup_packet, 1);
}

#[test]
fn r09_confirmed_repeated_chk_same_key_gets_same_cfm() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 55);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 55), CLIENT, VIP, 20)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, S1, 55));
    assert_eq!(r.counters.cfm_dup_chk, 1);
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(
        e.last_activity, 10,
        "a repeated (or replayed) CHK does not keep the entry alive"
    );
}

#[test]
fn r10_confirmed_chk_other_key_alarms_and_keeps_key() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 55);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 56), CLIENT, VIP, 20)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Alm, 9, S1, 56));
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!((e.state, e.key), (RState::Confirmed, 55));
    assert_eq!(r.counters.chk_wrong_key, 1);
}

#[test]
fn r11_confirmed_chk_other_replica_alarms() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 55);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S2, 55), CLIENT, VIP, 20)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().replica, S1);
}

#[test]
fn r12_none_chk_alarms() {
    let s = one_replica();
    let mut r = redir(16);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), CLIENT, VIP, 0)
        .unwrap();
    assert_eq!((o.from, o.to), (VIP, CLIENT));
    assert_eq!(o.msg, msg(MsgType::Alm, 9, S1, 3));
    assert!(r.is_empty());
    assert_eq!(r.counters.chk_no_entry, 1);
}

#[test]
fn r13_sent_response_timeout_moves_to_accept() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    r.on_tick(&s, 999);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Sent);
    r.on_tick(&s, 1000);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Accept);
    assert_eq!(r.counters.to_accept, 1);
}

#[test]
fn r14_accept_packet_is_local() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    r.on_tick(&s, 1000);
    let o = sent(&mut r, &s, 9, 1100);
    assert_eq!(o.verdict, Verdict::Local);
    assert_eq!(o.send, None);
    assert_eq!(r.counters.local_accept, 1);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().last_activity, 1100);
}

#[test]
fn r15_accept_chk_alarms_once_r_served_the_flow() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    r.on_tick(&s, 1000);
    // The client's SYN retransmission: R serves the flow itself (R9).
    assert_eq!(sent(&mut r, &s, 9, 1000).verdict, Verdict::Local);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), CLIENT, VIP, 1001)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Accept);
    assert_eq!(r.counters.chk_in_accept, 1);
}

#[test]
fn r15a_late_chk_confirms_a_flow_r_served_nothing_of() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    r.on_tick(&s, 1000);
    let rep0 = |s: &Svcs| s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns();
    assert_eq!(rep0(&s), 0);
    // Another replica: still an ALM, nothing changes.
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S2, 3), CLIENT, VIP, 1001)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    // The flow's replica: R has served nothing, the replica has the SYN.
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), CLIENT, VIP, 1002)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, S1, 3));
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(
        (e.state, e.key, e.last_activity),
        (RState::Confirmed, 3, 1002)
    );
    assert_eq!(r.counters.chk_late_confirmed, 1);
    assert_eq!(rep0(&s), 1);
    // It is counted again and released like any confirmed entry.
    r.on_tick(&s, 1002 + 60_000);
    assert!(r.is_empty());
    assert_eq!(rep0(&s), 0);
}

#[test]
fn r15b_late_chk_after_protocol_unreachable_alarms() {
    // The client said it has no IPRP: a CHK can only be forged.
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    assert!(r.on_unreachable(&s, &fkey(CLIENT, 9)));
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), CLIENT, VIP, 10)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(r.counters.chk_late_confirmed, 0);
}

#[test]
fn r16_confirmed_never_moves_to_accept() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 1);
    r.on_tick(&s, 5000);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Confirmed);
}

#[test]
fn r17_idle_expiry_deletes_every_state() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0); // will go to accept
    confirmed(&mut r, &s, 2, 7);
    r.on_tick(&s, 1000);
    sent(&mut r, &s, 3, 59_000); // fresh SENT
    r.on_tick(&s, 59_999);
    assert_eq!(r.len(), 3);
    r.on_tick(&s, 60_000);
    assert_eq!(r.len(), 2, "the accept entry idle since 0");
    r.on_tick(&s, 60_010);
    assert_eq!(r.len(), 1, "the confirmed entry idle since its CHK at 10");
    assert_eq!(r.counters.expired_idle, 2);
    r.on_tick(&s, 59_000 + 60_000);
    assert!(r.is_empty());
}

#[test]
fn r18_activity_defers_idle_expiry() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 2, 7);
    sent(&mut r, &s, 2, 50_000);
    r.on_tick(&s, 100_000);
    assert_eq!(r.len(), 1);
    r.on_tick(&s, 110_000);
    assert!(r.is_empty());
}

#[test]
fn r19_packet_not_for_a_service_passes() {
    let s = one_replica();
    let mut r = redir(16);
    let mut p = syn(CLIENT, 1);
    p.dport = 81;
    assert_eq!(r.on_packet(&s, &p, 0).verdict, Verdict::Pass);
    p.dport = PORT;
    p.dst = VIP2;
    assert_eq!(r.on_packet(&s, &p, 0).verdict, Verdict::Pass);
    p.dst = VIP;
    p.proto = Proto::Udp;
    assert_eq!(r.on_packet(&s, &p, 0).verdict, Verdict::Pass);
    assert!(r.is_empty());
    assert_eq!(r.counters.packets, 0);
}

#[test]
fn r20_chk_to_non_service_dropped_without_answer() {
    let s = one_replica();
    let mut r = redir(16);
    let e = r.on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), CLIENT, VIP2, 0);
    assert_eq!(e, Err(DropReason::NotService));
    assert_eq!(r.counters.chk_not_service, 1);
}

#[test]
fn r21_non_chk_messages_dropped() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    for ty in [MsgType::Req, MsgType::Cfm, MsgType::Alm] {
        let e = r.on_chk(&s, &msg(ty, 9, S1, 0), CLIENT, VIP, 0);
        assert_eq!(e, Err(DropReason::NotChk));
    }
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Sent);
    assert_eq!(r.counters.msg_not_chk, 3);
}

#[test]
fn r22_chk_from_another_client_does_not_touch_entry() {
    let s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    let other = wire::ipv4(198, 51, 100, 8);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 3), other, VIP, 0)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(o.to, other);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Sent);
}

#[test]
fn r23_least_conn_counts_follow_entries() {
    let s = services(SchedKind::LeastConn, &[rep(S1, 1), rep(S2, 1)]);
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0);
    sent(&mut r, &s, 2, 0);
    let svc = s.lookup(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(svc.replicas()[0].conns() + svc.replicas()[1].conns(), 2);
    assert_eq!(svc.replicas()[0].conns(), 1);
    r.on_chk(
        &s,
        &msg(
            MsgType::Chk,
            1,
            r.lookup(&fkey(CLIENT, 1)).unwrap().replica,
            5,
        ),
        CLIENT,
        VIP,
        1,
    )
    .unwrap();
    r.on_tick(&s, 1000); // port 2 -> accept: uncounted
    let total: u32 = svc.replicas().iter().map(|x| x.conns()).sum();
    assert_eq!(total, 1);
    r.on_tick(&s, 100_000); // all idle
    let total: u32 = svc.replicas().iter().map(|x| x.conns()).sum();
    assert_eq!(total, 0);
}

#[test]
fn r24_deleted_service_passes_packets_of_old_entries() {
    let mut s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    s.del(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(sent(&mut r, &s, 9, 1).verdict, Verdict::Pass);
    r.on_tick(&s, 100_000);
    assert!(r.is_empty());
}

#[test]
fn r25_two_vips_same_ports_are_two_flows() {
    let mut s = one_replica();
    let mut sp = spec(SchedKind::RoundRobin, &[]);
    let reps = [rep(S2, 1)];
    sp.vip = VIP2;
    sp.replicas = &reps;
    s.add(&sp).unwrap();
    let mut r = redir(16);
    sent(&mut r, &s, 9, 0);
    let mut p = syn(CLIENT, 9);
    p.dst = VIP2;
    let o = r.on_packet(&s, &p, 0);
    assert_eq!(o.verdict, Verdict::Forward { replica: S2 });
    assert_eq!(o.send.unwrap().from, VIP2);
    assert_eq!(r.len(), 2);
}

#[test]
fn r26_udp_flows_start_on_any_packet() {
    let mut s = one_replica();
    let reps = [rep(S1, 1)];
    let mut sp = spec(SchedKind::RoundRobin, &reps);
    sp.proto = Proto::Udp;
    s.add(&sp).unwrap();
    let mut r = redir(16);
    let p = PacketInfo {
        src: CLIENT,
        dst: VIP,
        proto: Proto::Udp,
        sport: 5000,
        dport: PORT,
        initial: true,
        mark: Mark::Unknown,
    };
    assert_eq!(
        r.on_packet(&s, &p, 0).verdict,
        Verdict::Forward { replica: S1 }
    );
    assert_eq!(
        r.lookup(&fkey(CLIENT, 5000)),
        None,
        "TCP key is another flow"
    );
}

#[test]
fn r27_full_table_still_serves_existing_flows() {
    let s = one_replica();
    let mut r = redir(1);
    sent(&mut r, &s, 1, 0);
    assert_eq!(sent(&mut r, &s, 2, 0).verdict, Verdict::Local);
    assert_eq!(
        sent(&mut r, &s, 1, 0).verdict,
        Verdict::Forward { replica: S1 }
    );
    r.on_tick(&s, 1000);
    assert_eq!(sent(&mut r, &s, 1, 0).verdict, Verdict::Local);
    assert!(r.check_invariants());
}

#[test]
fn r28_zero_capacity_shard_refuses_everything_cleanly() {
    let s = one_replica();
    let mut r = redir(0);
    assert_eq!(sent(&mut r, &s, 1, 0).verdict, Verdict::Local);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 1, S1, 1), CLIENT, VIP, 0)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    r.on_tick(&s, 10);
}

#[test]
fn r29_confirmed_initial_packet_after_response_timeout_redoes_the_handshake() {
    let s = services(SchedKind::LeastConn, &[rep(S1, 1)]);
    let mut r = redir(16);
    confirmed(&mut r, &s, 9, 55); // CHK at 10
    let mut p = syn(CLIENT, 9);
    p.initial = false;
    assert_eq!(
        r.on_packet(&s, &p, 5000).verdict,
        Verdict::Forward { replica: S1 }
    );
    let o = sent(&mut r, &s, 9, 1009);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Cfm, 9, S1, 55));
    // A response timeout after the CHK: the client has no binding (or
    // reused the port), so the flow gets a new handshake.
    let o = sent(&mut r, &s, 9, 1010);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Req, 9, S1, 0));
    let e = r.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(e.state, RState::Sent);
    assert_eq!((e.key, e.last_response, e.last_activity), (0, 1010, 1010));
    assert_eq!(r.counters.confirmed_rebound, 1);
    assert_eq!(r.counters.flow_new, 2);
    assert_eq!(r.len(), 1);
    let rep0 = &s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0];
    assert_eq!((rep0.conns(), rep0.assigned()), (1, 2));
    // The new handshake completes with a new key.
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 9, S1, 66), CLIENT, VIP, 1020)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, S1, 66));
    // Unanswered, it falls back to the accept table like any new flow.
    sent(&mut r, &s, 9, 2030);
    assert_eq!(r.counters.confirmed_rebound, 2);
    r.on_tick(&s, 3030);
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Accept);
    assert_eq!(rep0.conns(), 0);
    assert!(r.check_invariants());
}

#[test]
fn r_connection_counts_survive_service_edits() {
    // Entries created before an edit of the service (another scheduler, a
    // replica added, a replica's weight changed) are uncounted when they
    // leave; entries of a replica that was removed and added again do not
    // uncount the new replica's entries. Once every entry is gone, every
    // count is 0.
    let mut s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 1)]);
    let mut r = redir(64);
    for p in 0..8 {
        sent(&mut r, &s, 100 + p, 0);
    }
    let counts = |s: &Svcs| -> Vec<u32> {
        s.lookup(Proto::Tcp, VIP, PORT)
            .unwrap()
            .replicas()
            .iter()
            .map(|x| x.conns())
            .collect()
    };
    assert_eq!(counts(&s), vec![4, 4]);
    let three = [rep(S1, 3), rep(S2, 1), rep(S3, 1)];
    let mut sp = spec(SchedKind::LeastConn, &three);
    s.update(&sp).unwrap();
    assert_eq!(counts(&s), vec![4, 4, 0]);
    for p in 0..3 {
        sent(&mut r, &s, 200 + p, 100);
    }
    // S2 removed and added again: its 4 old entries belong to the old S2.
    let without = [rep(S1, 3), rep(S3, 1)];
    sp.replicas = &without;
    s.update(&sp).unwrap();
    let again = [rep(S1, 3), rep(S3, 1), rep(S2, 1)];
    sp.replicas = &again;
    s.update(&sp).unwrap();
    let before_new = counts(&s);
    assert_eq!(before_new[2], 0);
    sent(&mut r, &s, 300, 59_500);
    sent(&mut r, &s, 301, 59_500);
    let total: u32 = counts(&s).iter().sum();
    assert_eq!(total, before_new.iter().sum::<u32>() + 2);
    // The old entries expire first: the new ones stay counted.
    r.on_tick(&s, 60_150);
    assert_eq!(r.len(), 2);
    assert_eq!(counts(&s).iter().sum::<u32>(), 2);
    r.on_tick(&s, 120_000);
    assert!(r.is_empty());
    assert_eq!(counts(&s), vec![0, 0, 0]);
    assert!(r.check_invariants());
}

#[test]
fn r_entries_of_a_deleted_service_never_touch_a_new_one() {
    // A service deleted and added again (same or another slot) starts with
    // zero counts, and the old entries leaving do not change them.
    let mut s = one_replica();
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0);
    confirmed(&mut r, &s, 2, 7);
    s.del(Proto::Tcp, VIP, PORT).unwrap();
    let one = [rep(S1, 1)];
    s.add(&spec(SchedKind::RoundRobin, &one)).unwrap();
    let rep0 = |s: &Svcs| s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns();
    assert_eq!(rep0(&s), 0);
    sent(&mut r, &s, 3, 59_500);
    assert_eq!(rep0(&s), 1);
    r.on_tick(&s, 60_020);
    assert_eq!(r.len(), 1);
    assert_eq!(rep0(&s), 1);
    r.on_tick(&s, 120_000);
    assert!(r.is_empty());
    assert_eq!(rep0(&s), 0);
}

#[test]
fn r_clear_removes_every_entry_and_releases_connection_counts() {
    let s = one_replica();
    let mut r = redir(16);
    confirmed(&mut r, &s, 1000, 1);
    sent(&mut r, &s, 1001, 0);
    assert_eq!(
        s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns(),
        2
    );
    r.clear(&s);
    assert_eq!(r.len(), 0);
    assert_eq!(
        s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns(),
        0
    );
    assert_eq!(r.counters.expired_idle, 0);
    assert!(r.check_invariants());
}

#[test]
fn r_tick_is_bounded_and_sweeps_every_slot_within_a_round() {
    // A shard larger than one sweep window: each tick visits at most
    // SWEEP_SLOTS slots, all of them are visited within
    // ceil(capacity / SWEEP_SLOTS) ticks.
    use iprp_core::table::SWEEP_SLOTS;
    let cap = 2 * SWEEP_SLOTS + 100;
    let s = one_replica();
    let mut r = redir(cap);
    for i in 0..cap as u32 {
        let p = syn(
            Ipv4::from_bits(CLIENT.to_bits() + i / 60_000),
            (1024 + i % 60_000) as u16,
        );
        assert!(matches!(
            r.on_packet(&s, &p, 0).verdict,
            Verdict::Forward { .. }
        ));
    }
    assert_eq!(r.len(), cap);
    // Past the idle timeout: one tick expires one window only.
    r.on_tick(&s, 60_000);
    assert_eq!(r.len(), cap - SWEEP_SLOTS);
    r.on_tick(&s, 60_500);
    assert_eq!(r.len(), cap - 2 * SWEEP_SLOTS);
    r.on_tick(&s, 61_000);
    assert!(r.is_empty());
    assert_eq!(r.counters.expired_idle, cap as u64);
    assert_eq!(
        s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns(),
        0
    );
    assert!(r.check_invariants());
}

/// Per-service and per-replica counters: every outcome of a flow counted
/// once on the service it belongs to, summed over shards.
#[test]
fn service_and_replica_counters() {
    let s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 1)]);
    let (mut a, mut b) = (redir(2), redir(16));
    let svc = |s: &Svcs| s.lookup(Proto::Tcp, VIP, PORT).unwrap().counters();
    // two new flows in two shards, one per replica (round robin)
    sent(&mut a, &s, 1, 0);
    sent(&mut b, &s, 2, 0);
    let c = svc(&s);
    assert_eq!((c.packets, c.flows_new, c.forwarded), (2, 2, 2));
    let v = s.lookup(Proto::Tcp, VIP, PORT).unwrap();
    let assigned: Vec<u64> = v.replicas().iter().map(|r| r.assigned()).collect();
    assert_eq!(assigned, [1, 1]);
    // the client confirms flow 1 (round robin gave it S1): redirected
    let o = a
        .on_chk(&s, &msg(MsgType::Chk, 1, S1, 7), CLIENT, VIP, 5)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Cfm);
    assert_eq!(svc(&s).flows_redirected, 1);
    // a mid-flow packet without entry is local
    let mut p = syn(CLIENT, 9);
    p.initial = false;
    b.on_packet(&s, &p, 6);
    assert_eq!(svc(&s).local, 1);
    // the shard of capacity 2 is full at its third flow: served locally
    sent(&mut a, &s, 3, 0);
    sent(&mut a, &s, 4, 0);
    assert_eq!(svc(&s).local_table_full, 1);
    // flow 2 never answers: served locally after the response timeout
    b.on_tick(&s, 1000);
    assert_eq!(svc(&s).flows_local, 1);
    let c = svc(&s);
    assert_eq!((c.packets, c.flows_new, c.forwarded), (5, 3, 3), "{c:?}");
    // an edit keeps the counters; zeroing clears them (not conns)
    let mut s = s;
    let conns_before = s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0].conns();
    s.update(&spec(SchedKind::LeastConn, &[rep(S1, 1), rep(S2, 1)]))
        .unwrap();
    let v = s.lookup(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(v.counters(), c);
    assert_eq!(v.replicas()[0].assigned(), 2);
    v.zero_counters();
    assert_eq!(v.counters(), ServiceCounters::ZERO);
    assert_eq!(v.replicas()[0].assigned(), 0);
    assert_eq!(v.replicas()[0].conns(), conns_before);
    // a service added again starts from zero
    sent(&mut b, &s, 20, 2000);
    assert_ne!(svc(&s), ServiceCounters::ZERO);
    s.del(Proto::Tcp, VIP, PORT).unwrap();
    s.add(&spec(SchedKind::RoundRobin, &[rep(S1, 1)])).unwrap();
    assert_eq!(svc(&s), ServiceCounters::ZERO);
}

#[test]
fn r30_sent_tick_resends_req_until_response_timeout() {
    let s = one_replica();
    let mut r = redir(16);
    let req = sent(&mut r, &s, 9, 0).send.unwrap();
    assert!(r.on_tick(&s, RESEND_AFTER_MS - 1).is_empty());
    assert_eq!(r.on_tick(&s, RESEND_AFTER_MS).as_slice(), &[req]);
    assert!(r.on_tick(&s, RESEND_AFTER_MS + 1).is_empty());
    // A packet's duplicate REQ counts as sent.
    sent(&mut r, &s, 9, 700);
    assert!(r.on_tick(&s, 999).is_empty());
    // At the response timeout: ACCEPT, no REQ.
    assert!(r.on_tick(&s, 1000).is_empty());
    assert_eq!(r.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Accept);
    assert!(r.on_tick(&s, 2000).is_empty());
    assert_eq!(r.counters.req_timer_resent, 1);
}

#[test]
fn r31_confirmed_and_accept_entries_resend_nothing_budget_bounds_the_rest() {
    let s = one_replica();
    let mut r = redir(256);
    confirmed(&mut r, &s, 1, 5);
    assert!(r.on_tick(&s, 500).is_empty());
    for p in 0..(RESEND_PER_TICK as u16 + 3) {
        sent(&mut r, &s, 100 + p, 500);
    }
    assert_eq!(r.on_tick(&s, 900).len(), RESEND_PER_TICK);
    assert_eq!(r.on_tick(&s, 950).len(), 3);
}

#[test]
fn r32_protocol_unreachable_moves_only_a_sent_entry_to_accept() {
    let s = services(SchedKind::LeastConn, &[rep(S1, 1)]);
    let mut r = redir(16);
    // No entry: ignored.
    assert!(!r.on_unreachable(&s, &fkey(CLIENT, 1)));
    assert_eq!(r.counters.unreach_no_flow, 1);
    // SENT: to the accept table at once, the replica's count released.
    sent(&mut r, &s, 1, 0);
    assert!(r.on_unreachable(&s, &fkey(CLIENT, 1)));
    assert_eq!(r.lookup(&fkey(CLIENT, 1)).unwrap().state, RState::Accept);
    assert_eq!(r.counters.unreach_to_accept, 1);
    let replica = &s.lookup(Proto::Tcp, VIP, PORT).unwrap().replicas()[0];
    assert_eq!(replica.conns(), 0);
    // The SYN retransmission is served locally, well before the timeout.
    let o = sent(&mut r, &s, 1, 100);
    assert_eq!((o.verdict, o.send), (Verdict::Local, None));
    // Accept or CONFIRMED: a late or forged ICMP error changes nothing.
    assert!(!r.on_unreachable(&s, &fkey(CLIENT, 1)));
    confirmed(&mut r, &s, 2, 7);
    assert!(!r.on_unreachable(&s, &fkey(CLIENT, 2)));
    assert_eq!(r.lookup(&fkey(CLIENT, 2)).unwrap().state, RState::Confirmed);
    assert_eq!(r.counters.unreach_no_flow, 3);
    assert!(r.check_invariants());
}

#[test]
fn r33_known_legacy_client_is_served_at_once_without_req() {
    let s = one_replica();
    let mut r = redir(16);
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    legacy.remember(CLIENT, 1000);
    let o = r.on_packet_with(&s, &syn(CLIENT, 5), 2000, |c| legacy.is_legacy(c, 2000));
    assert_eq!((o.verdict, o.send), (Verdict::Local, None));
    assert!(r.is_empty(), "no entry for a legacy client's flow");
    assert_eq!(r.counters.local_legacy, 1);
    // Another client is redirected as usual.
    let other = Ipv4::from_bits(CLIENT.to_bits() + 1);
    let o = r.on_packet_with(&s, &syn(other, 5), 2000, |c| legacy.is_legacy(c, 2000));
    assert!(matches!(o.verdict, Verdict::Forward { .. }));
    assert!(o.send.is_some());
    // After the TTL the client gets a REQ again.
    let later = 1000 + LEGACY_TTL_MS;
    assert!(!legacy.is_legacy(CLIENT, later));
    let o = r.on_packet_with(&s, &syn(CLIENT, 6), later, |c| legacy.is_legacy(c, later));
    assert!(o.send.is_some());
}

#[test]
fn r34_legacy_cache_is_bounded_and_evicts_the_soonest_to_lapse() {
    let mut legacy = legacy_cache(HashKey::new(3, 4));
    for c in 0..10_000u32 {
        legacy.remember(Ipv4::from_bits(0x0a00_0000 + c), 5);
    }
    let n = legacy.count(5);
    assert!(n <= LEGACY_SLOTS && n > LEGACY_SLOTS * 95 / 100, "{n}");
    // Every client that did not find a free slot evicted exactly one.
    assert_eq!(legacy.counters.legacy_evicted, 10_000 - n as u64);
    // The last one is always there.
    assert!(legacy.is_legacy(Ipv4::from_bits(0x0a00_0000 + 9_999), 5));
    let kept = (0..10_000u32)
        .filter(|c| legacy.is_legacy(Ipv4::from_bits(0x0a00_0000 + c), 5))
        .count();
    assert_eq!(kept, n);
    // The entry that lapses first goes: a newcomer evicts one learned
    // at 5 while its bucket holds any, never the one learned at 10 (500
    // newcomers over 1,024 buckets leave every bucket an entry of 5).
    let late = Ipv4::from_bits(0x0b00_0000);
    legacy.remember(late, 10);
    for c in 1..500u32 {
        legacy.remember(Ipv4::from_bits(0x0b00_0000 + c), 10);
        assert!(legacy.is_legacy(late, 10), "evicted after {c}");
    }
    let before = legacy.count(10);
    assert!(before >= n, "{before}");
    assert_eq!(legacy.clear(10), before);
    assert_eq!(legacy.count(10), 0);
    assert!(
        !legacy.is_legacy(Ipv4::UNSPECIFIED, 10),
        "an empty slot matches no address"
    );
}

#[test]
fn r_remove_service_removes_only_its_entries() {
    let mut s = one_replica();
    let other = [rep(S2, 1)];
    let mut sp = spec(SchedKind::RoundRobin, &other);
    sp.port = PORT + 1;
    s.add(&sp).unwrap();
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0);
    confirmed(&mut r, &s, 2, 7);
    let mut p = syn(CLIENT, 3);
    p.dport = PORT + 1;
    r.on_packet(&s, &p, 0);
    let idx = s.find(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(r.remove_service(&s, idx), 2);
    assert_eq!(r.counters.deleted_with_service, 2);
    assert_eq!(r.len(), 1);
    assert_eq!(s.get(idx).unwrap().replicas()[0].conns(), 0);
    let kept = s.lookup(Proto::Tcp, VIP, PORT + 1).unwrap();
    assert_eq!(kept.replicas()[0].conns(), 1);
    s.del(Proto::Tcp, VIP, PORT).unwrap();
    // The same service added again finds no entry of the old one: its
    // first packet starts a new handshake.
    let one = [rep(S1, 1)];
    s.add(&spec(SchedKind::RoundRobin, &one)).unwrap();
    let o = sent(&mut r, &s, 2, 100);
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Req, 2, S1, 0));
    assert!(r.check_invariants());
}

#[test]
fn r35_a_client_silent_for_the_response_timeout_is_remembered_as_legacy() {
    let s = one_replica();
    let mut r = redir(16);
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    sent(&mut r, &s, 1, 0);
    // Before the response timeout (1000 ms): nobody is silent yet.
    let mut silent = Vec::new();
    r.on_tick_with(&s, 500, |c| silent.push(c));
    assert!(silent.is_empty());
    r.on_tick_with(&s, 1000, |c| silent.push(c));
    assert_eq!(silent, [CLIENT]);
    assert!(silent.iter().all(|&c| legacy.remember_silent(c, 1000)));
    // Its next flow is served at once, without a REQ (R24).
    let o = r.on_packet_with(&s, &syn(CLIENT, 2), 1500, |c| legacy.is_legacy(c, 1500));
    assert_eq!((o.verdict, o.send), (Verdict::Local, None));
    assert_eq!(legacy.count(1500), 1);
    // The flow already in the accept table is not reported again.
    r.on_tick_with(&s, 2500, |c| silent.push(c));
    assert_eq!(silent.len(), 1);
}

#[test]
fn r36_a_client_that_confirmed_a_flow_is_not_made_legacy_by_a_lost_req() {
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    legacy.remember_capable(CLIENT, 0);
    assert_eq!(legacy.count_capable(0), 1);
    // A REQ of it went unanswered (lost): still redirected.
    assert!(!legacy.remember_silent(CLIENT, 5000));
    assert!(!legacy.is_legacy(CLIENT, 5000));
    // An explicit protocol unreachable outweighs it (IPRP was unloaded).
    legacy.remember(CLIENT, 6000);
    assert!(legacy.is_legacy(CLIENT, 6000));
    // Confirming a flow again makes it capable again.
    legacy.remember_capable(CLIENT, 7000);
    assert!(!legacy.is_legacy(CLIENT, 7000));
    // The capable mark lasts CAPABLE_TTL_MS; after it, silence counts.
    let later = 7000 + CAPABLE_TTL_MS;
    assert!(legacy.remember_silent(CLIENT, later));
    assert!(legacy.is_legacy(CLIENT, later));
    assert_eq!(legacy.count_capable(later), 0);
}

#[test]
fn r37_every_cfm_of_a_granting_service_carries_its_grant() {
    let reps = [rep(S1, 1)];
    let mut s = ServiceTable::new_in(svc_storage(8), HashKey::new(11, 12));
    s.add(&ServiceSpec {
        grant_s: 120,
        ..spec(SchedKind::RoundRobin, &reps)
    })
    .unwrap();
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0);
    let chk = msg(MsgType::Chk, 1, S1, 7);
    let o = r.on_chk(&s, &chk, CLIENT, VIP, 10).unwrap();
    assert_eq!((o.msg.ty, o.ext), (MsgType::Cfm, Ext::offer(120)));
    // The duplicate CFM for a repeated CHK, and the one a packet of the
    // confirmed flow draws (R7), carry it too; an ALM does not.
    let o = r.on_chk(&s, &chk, CLIENT, VIP, 20).unwrap();
    assert_eq!((o.msg.ty, o.ext), (MsgType::Cfm, Ext::offer(120)));
    let o = r.on_packet(&s, &syn(CLIENT, 1), 30).send.unwrap();
    assert_eq!((o.msg.ty, o.ext), (MsgType::Cfm, Ext::offer(120)));
    let bad = msg(MsgType::Chk, 1, S1, 8);
    let o = r.on_chk(&s, &bad, CLIENT, VIP, 40).unwrap();
    assert_eq!((o.msg.ty, o.ext), (MsgType::Alm, Ext::NONE));
    // A service without a grant sends none; a grant over a day is refused.
    let plain = one_replica();
    let mut r = redir(16);
    sent(&mut r, &plain, 1, 0);
    let o = r.on_chk(&plain, &chk, CLIENT, VIP, 10).unwrap();
    assert_eq!(o.ext, Ext::NONE);
    let too_long = ServiceSpec {
        grant_s: MAX_GRANT_S + 1,
        port: PORT + 1,
        ..spec(SchedKind::RoundRobin, &reps)
    };
    assert_eq!(s.add(&too_long), Err(ConfigError::BadGrant));
}

#[test]
fn r38_legacy_time_to_live_is_configurable_and_zero_learns_nothing() {
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    legacy.set_ttl_ms(5_000);
    legacy.remember(CLIENT, 1_000);
    assert!(legacy.is_legacy(CLIENT, 5_999));
    assert!(!legacy.is_legacy(CLIENT, 6_000));
    assert!(legacy.remember_silent(CLIENT, 7_000));
    assert!(legacy.is_legacy(CLIENT, 11_999));
    assert_eq!(
        (
            legacy.counters.legacy_learned_unreach,
            legacy.counters.legacy_learned_silent
        ),
        (1, 1)
    );
    // Off: nobody is remembered, so every flow sends its REQ (the paper).
    legacy.set_ttl_ms(0);
    let other = Ipv4::from_bits(CLIENT.to_bits() + 1);
    legacy.remember(other, 8_000);
    assert!(!legacy.remember_silent(other, 8_000));
    assert!(!legacy.is_legacy(other, 8_000));
    // Capped at a day.
    legacy.set_ttl_ms(u64::MAX);
    assert_eq!(legacy.ttl_ms(), MAX_LEGACY_TTL_MS);
}

#[test]
fn r39_legacy_cache_lists_forgets_and_learns_capable_both_ways() {
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    let clients: Vec<Ipv4> = (0..300u32)
        .map(|c| Ipv4::from_bits(0x0a00_0000 + c))
        .collect();
    for (i, &c) in clients.iter().enumerate() {
        if i % 3 == 0 {
            legacy.remember_capable(c, 100);
        } else {
            legacy.remember(c, 100);
        }
    }
    // A dump in chunks of 7 lists every client once, with what R knows.
    let mut seen = Vec::new();
    let mut pos = Some(0);
    while let Some(from) = pos {
        let mut n = 0;
        pos = legacy.dump_from(from, 1000, 200, |row| {
            if n == 7 {
                return false;
            }
            n += 1;
            seen.push(*row);
            true
        });
    }
    seen.sort_by_key(|r| r.client.to_bits());
    assert_eq!(seen.len(), 300);
    for (i, row) in seen.iter().enumerate() {
        assert_eq!(row.client, clients[i]);
        let (what, ttl) = if i % 3 == 0 {
            (Known::Capable, CAPABLE_TTL_MS)
        } else {
            (Known::Legacy, LEGACY_TTL_MS)
        };
        assert_eq!((row.what, row.remaining_ms), (what, ttl - 100));
    }
    // A legacy client that confirms a flow is capable from then on.
    legacy.remember_capable(clients[1], 300);
    assert!(!legacy.is_legacy(clients[1], 300));
    assert_eq!(legacy.counters.legacy_forgotten_capable, 1);
    // The operator forgets one client: its next flow sends a REQ.
    assert!(legacy.forget(clients[2], 300));
    assert!(!legacy.forget(clients[2], 300));
    assert!(!legacy.is_legacy(clients[2], 300));
    assert_eq!(legacy.count(300), 200 - 2);
    assert_eq!(legacy.counters.legacy_flushed, 1);
}

#[test]
fn r40_a_cache_too_small_for_one_bucket_remembers_nobody() {
    let mut legacy =
        LegacyClients::new_in(vec![LegacySlot::EMPTY; LEGACY_WAYS - 1], HashKey::new(1, 2));
    assert_eq!(legacy.capacity(), 0);
    legacy.remember(CLIENT, 0);
    assert!(!legacy.is_legacy(CLIENT, 0));
    assert_eq!(legacy.dump_from(0, usize::MAX, 0, |_| true), None);
}

fn marked(client: Ipv4, cport: u16, mark: Mark) -> PacketInfo {
    PacketInfo {
        mark,
        ..syn(client, cport)
    }
}

#[test]
fn r41_a_marked_syn_gets_a_req_even_from_a_client_remembered_as_legacy() {
    let s = one_replica();
    let mut r = redir(16);
    let mut legacy = legacy_cache(HashKey::new(1, 2));
    legacy.remember(CLIENT, 0);
    // Unmarked (or unknown): the legacy client is served at once (R24).
    let o = r.on_packet_with(&s, &marked(CLIENT, 1, Mark::Unmarked), 10, |c| {
        legacy.is_legacy(c, 10)
    });
    assert_eq!((o.verdict, o.send), (Verdict::Local, None));
    // Marked: the client says it speaks IPRP now (it loaded the module).
    let o = r.on_packet_with(&s, &marked(CLIENT, 2, Mark::Marked), 10, |_| {
        panic!("a marked flow does not ask the legacy cache")
    });
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    assert_eq!(o.send.unwrap().msg, msg(MsgType::Req, 2, S1, 0));
    assert_eq!(r.counters.flow_marked, 1);
    assert_eq!(r.counters.local_legacy, 1);
    // The kernel tells the cache, which forgets the client as legacy.
    assert!(legacy.marked(CLIENT, 10));
    assert!(!legacy.is_legacy(CLIENT, 10));
    assert!(!legacy.marked(CLIENT, 10));
    assert_eq!(legacy.counters.legacy_forgotten_marked, 1);
    // A capable client stays capable.
    legacy.remember_capable(CLIENT, 20);
    assert!(!legacy.marked(CLIENT, 20));
    assert_eq!(legacy.count_capable(20), 1);
}

#[test]
fn r42_a_service_may_serve_unmarked_syns_at_once() {
    let reps = [rep(S1, 1)];
    let mut s = ServiceTable::new_in(svc_storage(8), HashKey::new(11, 12));
    s.add(&ServiceSpec {
        unmarked_local: true,
        fleet_seed: 0,
        ..spec(SchedKind::RoundRobin, &reps)
    })
    .unwrap();
    let mut r = redir(16);
    // No mark: served locally, no REQ, no entry, no response timeout.
    let o = r.on_packet(&s, &marked(CLIENT, 1, Mark::Unmarked), 0);
    assert_eq!((o.verdict, o.send), (Verdict::Local, None));
    assert!(r.is_empty());
    assert_eq!(r.counters.local_unmarked, 1);
    let c = s.lookup(Proto::Tcp, VIP, PORT).unwrap().counters();
    assert_eq!((c.local, c.flows_local, c.flows_new), (1, 1, 0));
    // Marked: redirected as usual.
    let o = r.on_packet(&s, &marked(CLIENT, 2, Mark::Marked), 0);
    assert_eq!(o.verdict, Verdict::Forward { replica: S1 });
    // UDP (no mark to read) and a SYN whose options were not read keep
    // the paper's handshake.
    let o = r.on_packet(&s, &marked(CLIENT, 3, Mark::Unknown), 0);
    assert_eq!(o.send.unwrap().msg.ty, MsgType::Req);
    // The next packets of the local flow stay local (no entry, not initial).
    let mut ack = marked(CLIENT, 1, Mark::Unknown);
    ack.initial = false;
    assert_eq!(r.on_packet(&s, &ack, 5).verdict, Verdict::Local);
    // Without the option the service keeps the paper's behaviour.
    let s2 = one_replica();
    let o = r.on_packet(&s2, &marked(CLIENT, 4, Mark::Unmarked), 0);
    assert_eq!(o.send.unwrap().msg.ty, MsgType::Req);
}

fn grants_table() -> Grants<Vec<GrantSlot>> {
    Grants::new_in(vec![GrantSlot::EMPTY; GRANT_SLOTS], HashKey::new(3, 4))
}

fn offered_cfm(client: Ipv4, cport: u16, replica: Ipv4, key: u32, lifetime_s: u32) -> Outgoing {
    Outgoing {
        from: VIP,
        to: client,
        msg: msg(MsgType::Cfm, cport, replica, key),
        ext: Ext::offer(lifetime_s),
    }
}

#[test]
fn r43_r_remembers_each_grant_under_a_token_and_renews_it() {
    let mut g = grants_table();
    let mut rng = TestRng(9);
    let mut a = offered_cfm(CLIENT, 1, S1, 7, 60);
    g.attach(&mut a, 0, &mut rng);
    let token = a.ext.grant.unwrap().token;
    assert_ne!(token, 0);
    assert_eq!(a.ext.grant.unwrap().lifetime_s, 60);
    // A later CFM of another flow to the same service renews it, same
    // token, now for the replica that flow was confirmed to.
    let mut b = offered_cfm(CLIENT, 2, S2, 8, 60);
    g.attach(&mut b, 1_000, &mut rng);
    assert_eq!(b.ext.grant.unwrap().token, token);
    assert_eq!(g.count(1_000), 1);
    // Another client gets its own token.
    let other = Ipv4::from_bits(CLIENT.to_bits() + 1);
    let mut c = offered_cfm(other, 1, S1, 9, 60);
    g.attach(&mut c, 1_000, &mut rng);
    assert_ne!(c.ext.grant.unwrap().token, token);
    assert_eq!((g.counters.grants_given, g.counters.grants_renewed), (2, 1));
    // A CFM that offers nothing, or an ALM, is left without a grant.
    let mut plain = offered_cfm(CLIENT, 3, S1, 7, 0);
    g.attach(&mut plain, 1_000, &mut rng);
    assert_eq!(plain.ext, Ext::NONE);
    // It lapses: lifetime plus the margin after the last renewal.
    let end = 1_000 + 60_000 + GRANT_MARGIN_MS;
    assert_eq!(g.count(end - 1), 2);
    assert_eq!(g.count(end), 0);
    assert!(g.on_tick(end).is_empty());
    assert!(g.is_empty());
}

#[test]
fn r44_a_full_bucket_takes_the_offer_out_of_the_cfm() {
    let mut g = Grants::new_in(vec![GrantSlot::EMPTY; GRANT_WAYS], HashKey::new(3, 4));
    let mut rng = TestRng(9);
    for c in 0..GRANT_WAYS as u32 {
        let mut o = offered_cfm(Ipv4::from_bits(0x0a00_0100 + c), 1, S1, 7, 60);
        g.attach(&mut o, 0, &mut rng);
        assert!(o.ext.grant.is_some());
    }
    let mut o = offered_cfm(Ipv4::from_bits(0x0a00_0200), 1, S1, 7, 60);
    g.attach(&mut o, 0, &mut rng);
    assert_eq!(o.ext, Ext::NONE, "R never grants what it could not revoke");
    assert_eq!(g.counters.grant_table_full, 1);
    // Once the others lapse, there is room again.
    let mut o = offered_cfm(Ipv4::from_bits(0x0a00_0200), 1, S1, 7, 60);
    g.attach(&mut o, 60_000 + GRANT_MARGIN_MS, &mut rng);
    assert!(o.ext.grant.is_some());
}

#[test]
fn r45_revoking_a_replica_sends_each_grant_naming_it_a_revocation_three_times() {
    let mut g = grants_table();
    let mut rng = TestRng(9);
    let clients: Vec<Ipv4> = (0..40u32)
        .map(|c| Ipv4::from_bits(0x0a00_0100 + c))
        .collect();
    let mut tokens = Vec::new();
    for (i, &c) in clients.iter().enumerate() {
        let replica = if i % 2 == 0 { S1 } else { S2 };
        let mut o = offered_cfm(c, 1000 + i as u16, replica, 70 + i as u32, 60);
        g.attach(&mut o, 0, &mut rng);
        tokens.push(o.ext.grant.unwrap().token);
    }
    // S1 drained: the 20 grants naming it, not those naming S2.
    assert_eq!(g.revoke(VIP, Proto::Tcp, PORT, Some(S1), 100), 20);
    assert_eq!(
        g.revoke(VIP, Proto::Tcp, PORT, Some(S1), 100),
        0,
        "already revoked"
    );
    assert_eq!(g.count(100), 20);
    // The grants in force, by service (what the service dump counts).
    let mut live = Vec::new();
    g.for_each_live(100, |vip, proto, port| live.push((vip, proto, port)));
    assert_eq!(live, vec![(VIP, Proto::Tcp, PORT); 20]);
    let mut sent = Vec::new();
    for tick in 0..4u64 {
        let out = g.on_tick(200 + tick * 500);
        sent.push(out.len());
        for r in &out {
            let i = clients.iter().position(|&c| c == r.to).unwrap();
            assert_eq!(i % 2, 0);
            assert_eq!(r.from, VIP);
            assert_eq!(r.msg, msg(MsgType::Cfm, 1000 + i as u16, S1, 70 + i as u32));
            assert_eq!(
                r.ext.grant,
                Some(GrantExt {
                    lifetime_s: 0,
                    token: tokens[i]
                })
            );
        }
    }
    // At most 32 per tick: 20, 20, 20 over three ticks, then none.
    assert_eq!(sent, [20, 20, 20, 0]);
    assert_eq!(g.counters.revocations_sent, 60);
    // The whole service (deleted): the rest.
    assert_eq!(g.revoke(VIP, Proto::Tcp, PORT, None, 300), 20);
    assert_eq!(g.count(300), 0);
    // A revoked client that confirms a flow again gets a new token.
    let mut o = offered_cfm(clients[0], 5, S2, 1, 60);
    g.attach(&mut o, 2_000, &mut rng);
    assert_ne!(o.ext.grant.unwrap().token, tokens[0]);
}

/// A fleet service (sched `sched`, seed `seed`) on VIP:80 in a table of
/// its own, with the table's own random key `k`.
fn fleet(sched: SchedKind, seed: u64, replicas: &[ReplicaSpec], k: u64) -> Svcs {
    let mut t = ServiceTable::new_in(svc_storage(8), HashKey::new(k, k + 1));
    t.add(&ServiceSpec {
        fleet_seed: seed,
        ..spec(sched, replicas)
    })
    .unwrap();
    t
}

#[test]
fn r46_fleet_members_with_one_seed_pick_the_same_replica_for_every_client() {
    let reps = [rep(S1, 1), rep(S2, 1), rep(S3, 2)];
    let rev = [rep(S3, 2), rep(S1, 1), rep(S2, 1)];
    for sched in [SchedKind::Maglev, SchedKind::SourceHash] {
        // Two members: their own random keys, the replicas listed in
        // another order; one seed.
        let a = fleet(sched, 0x5eed, &reps, 100);
        let b = fleet(sched, 0x5eed, &rev, 200);
        let (sa, sb) = (
            a.lookup(Proto::Tcp, VIP, PORT).unwrap(),
            b.lookup(Proto::Tcp, VIP, PORT).unwrap(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for c in 0..2000u32 {
            let client = Ipv4::from_bits(0x0a00_0000 + c);
            let (pa, pb) = (sa.pick(client).unwrap().1, sb.pick(client).unwrap().1);
            assert_eq!(pa, pb, "{sched:?}: members disagree on {client:?}");
            seen.insert(pa);
        }
        assert_eq!(seen.len(), 3, "{sched:?}: every replica gets clients");
        // Without the seed, each member hashes with its own key.
        let a0 = fleet(sched, 0, &reps, 100);
        let b0 = fleet(sched, 0, &reps, 200);
        let (sa0, sb0) = (
            a0.lookup(Proto::Tcp, VIP, PORT).unwrap(),
            b0.lookup(Proto::Tcp, VIP, PORT).unwrap(),
        );
        let differ = (0..2000u32)
            .map(|c| Ipv4::from_bits(0x0a00_0000 + c))
            .filter(|&c| sa0.pick(c) != sb0.pick(c))
            .count();
        assert!(
            differ > 500,
            "{sched:?}: without a seed the members agree by chance only ({differ})"
        );
    }
}

#[test]
fn r47_a_fleet_seed_needs_a_consistent_scheduler() {
    let reps = [rep(S1, 1), rep(S2, 1)];
    for sched in [
        SchedKind::RoundRobin,
        SchedKind::WeightedRoundRobin,
        SchedKind::LeastConn,
    ] {
        let mut t = ServiceTable::new_in(svc_storage(8), HashKey::new(1, 2));
        let spec = ServiceSpec {
            fleet_seed: 7,
            ..spec(sched, &reps)
        };
        assert_eq!(t.add(&spec), Err(ConfigError::FleetNeedsHash));
        assert!(t.is_empty(), "nothing added");
    }
}

#[test]
fn r48_a_member_confirms_a_chk_for_a_flow_another_member_sent_the_req_of() {
    let reps = [rep(S1, 1), rep(S2, 1), rep(S3, 1)];
    let a = fleet(SchedKind::Maglev, 0x5eed, &reps, 100);
    let b = fleet(SchedKind::Maglev, 0x5eed, &reps, 200);
    let (mut ra, mut rb) = (redir(16), redir(16));
    // Member a sees the SYN and sends the REQ ...
    let out = ra.on_packet(&a, &syn(CLIENT, 9), 0);
    let req = out.send.unwrap();
    let replica = req.msg.replica;
    // ... the client's CHK reaches member b, which never saw the flow.
    let o = rb
        .on_chk(&b, &msg(MsgType::Chk, 9, replica, 0xabcd), CLIENT, VIP, 40)
        .unwrap();
    assert_eq!((o.from, o.to), (VIP, CLIENT));
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, replica, 0xabcd));
    let e = rb.lookup(&fkey(CLIENT, 9)).unwrap();
    assert_eq!(
        (e.state, e.key, e.replica),
        (RState::Confirmed, 0xabcd, replica)
    );
    assert_eq!(rb.counters.chk_fleet_confirmed, 1);
    assert_eq!(rb.counters.chk_no_entry, 0);
    let svc = b.lookup(Proto::Tcp, VIP, PORT).unwrap();
    let conns: u32 = svc.replicas().iter().map(|r| r.conns()).sum();
    assert_eq!(conns, 1, "the entry is counted on its replica");
    // A repeated CHK (its CFM lost) gets the same CFM, as R9.
    let o = rb
        .on_chk(&b, &msg(MsgType::Chk, 9, replica, 0xabcd), CLIENT, VIP, 50)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, replica, 0xabcd));
    assert_eq!(rb.counters.cfm_dup_chk, 1);
}

#[test]
fn r49_a_fleet_member_alarms_a_chk_naming_another_replica_than_its_pick() {
    let reps = [rep(S1, 1), rep(S2, 1), rep(S3, 1)];
    let b = fleet(SchedKind::Maglev, 0x5eed, &reps, 200);
    let mut rb = redir(16);
    let pick = b
        .lookup(Proto::Tcp, VIP, PORT)
        .unwrap()
        .pick(CLIENT)
        .unwrap()
        .1;
    // A forged REQ named another replica: the client's CHK names it, and
    // the member answers ALM as the paper's R3 would with an entry.
    let other = [S1, S2, S3].into_iter().find(|&s| s != pick).unwrap();
    let o = rb
        .on_chk(&b, &msg(MsgType::Chk, 9, other, 5), CLIENT, VIP, 0)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Alm, 9, other, 5));
    assert!(rb.is_empty(), "no entry for a CHK it does not confirm");
    assert_eq!(rb.counters.chk_no_entry, 1);
    // Not a fleet service: the paper's R12, whatever the replica.
    let s = fleet(SchedKind::Maglev, 0, &reps, 200);
    let pick = s
        .lookup(Proto::Tcp, VIP, PORT)
        .unwrap()
        .pick(CLIENT)
        .unwrap()
        .1;
    let o = rb
        .on_chk(&s, &msg(MsgType::Chk, 10, pick, 5), CLIENT, VIP, 0)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(rb.counters.chk_fleet_confirmed, 0);
}

#[test]
fn r50_a_full_fleet_member_still_confirms_without_an_entry() {
    let reps = [rep(S1, 1), rep(S2, 1)];
    let b = fleet(SchedKind::SourceHash, 0x5eed, &reps, 200);
    let mut rb = redir(0);
    let pick = b
        .lookup(Proto::Tcp, VIP, PORT)
        .unwrap()
        .pick(CLIENT)
        .unwrap()
        .1;
    let o = rb
        .on_chk(&b, &msg(MsgType::Chk, 9, pick, 5), CLIENT, VIP, 0)
        .unwrap();
    assert_eq!(o.msg, msg(MsgType::Cfm, 9, pick, 5));
    assert!(rb.is_empty());
    assert_eq!(rb.counters.chk_fleet_unstored, 1);
}

#[test]
fn r51_a_fleet_member_learns_no_legacy_client_from_a_silence() {
    let reps = [rep(S1, 1), rep(S2, 1)];
    for (seed, learned) in [(0x5eed, 0), (0, 1)] {
        let a = fleet(SchedKind::Maglev, seed, &reps, 100);
        let mut ra = redir(16);
        ra.on_packet(&a, &syn(CLIENT, 9), 0);
        // The CHK went to the other member: a's REQ stays unanswered.
        let mut silent = Vec::new();
        ra.on_tick_with(&a, 1000, |c| silent.push(c));
        assert_eq!(ra.lookup(&fkey(CLIENT, 9)).unwrap().state, RState::Accept);
        assert_eq!(silent.len(), learned, "seed {seed:#x}");
        assert_eq!(ra.counters.fleet_silence_unlearned, 1 - learned as u64);
    }
}

/// R28: S1 goes down: its confirmed flow stops counting on it, the next
/// three ticks send the client a CFM with the REBIND item (the flow's key
/// and S1, so the client can tell it from a forgery), then the entry goes.
#[test]
fn r52_failed_replica_rebinds_its_confirmed_flows_then_forgets_them() {
    let mut s = services(SchedKind::RoundRobin, &[rep(S1, 1), rep(S2, 1)]);
    let mut r = redir(16);
    // Port 9 goes to S1 (round robin starts there), port 10 to S2.
    sent(&mut r, &s, 9, 0);
    r.on_chk(&s, &msg(MsgType::Chk, 9, S1, 0x99), CLIENT, VIP, 10)
        .unwrap();
    sent(&mut r, &s, 10, 0);
    r.on_chk(&s, &msg(MsgType::Chk, 10, S2, 0x10), CLIENT, VIP, 10)
        .unwrap();
    s.set_replica(Proto::Tcp, VIP, PORT, S1, 1, false).unwrap();
    let idx = s.find(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(r.fail_replica(&s, idx, S1), 1);
    assert_eq!(s.get(idx).unwrap().replicas()[0].conns(), 0);
    assert_eq!(s.get(idx).unwrap().replicas()[1].conns(), 1);
    // Failing it again changes nothing: the entry is already marked.
    assert_eq!(r.fail_replica(&s, idx, S1), 0);
    for tick in 1..=u64::from(REBIND_SENDS) {
        let out = r.on_tick(&s, 100 * tick);
        assert_eq!(out.len(), 1, "tick {tick}");
        assert_eq!((out[0].from, out[0].to), (VIP, CLIENT));
        assert_eq!(out[0].msg, msg(MsgType::Cfm, 9, S1, 0x99));
        assert_eq!(out[0].ext, Ext::REBIND);
    }
    assert!(
        r.lookup(&fkey(CLIENT, 9)).is_none(),
        "gone after the last REBIND"
    );
    assert!(
        r.lookup(&fkey(CLIENT, 10)).is_some(),
        "S2's flow is untouched"
    );
    assert!(r.on_tick(&s, 1000).is_empty());
    assert_eq!(
        (r.counters.rebind_marked, r.counters.rebind_sent),
        (1, u64::from(REBIND_SENDS))
    );
    // What an operator graphs: each replica's confirmed and re-bound
    // flows, and the service's re-bound flows.
    let svc = s.get(idx).unwrap();
    let per_replica: Vec<_> = svc
        .replicas()
        .iter()
        .map(|x| (x.addr(), x.confirmed(), x.rebound()))
        .collect();
    assert_eq!(per_replica, vec![(S1, 1, 1), (S2, 1, 0)]);
    assert_eq!(svc.counters().flows_rebound, 1);
    assert_eq!(svc.counters().flows_redirected, 2);
    // An edit of the service keeps them; zeroing clears them.
    s.set_replica(Proto::Tcp, VIP, PORT, S1, 2, false).unwrap();
    let svc = s.get(idx).unwrap();
    assert_eq!(
        (svc.replicas()[0].confirmed(), svc.replicas()[0].rebound()),
        (1, 1)
    );
    svc.zero_counters();
    assert_eq!(
        (svc.replicas()[0].confirmed(), svc.replicas()[0].rebound()),
        (0, 0)
    );
    assert_eq!(svc.counters().flows_rebound, 0);
    assert!(r.check_invariants());
}

/// R28: a packet of a flow whose replica failed is one of a flow without
/// an entry: a UDP datagram gets a live replica and a new REQ at once.
#[test]
fn r53_next_packet_of_a_failed_flow_gets_a_live_replica() {
    let mut p = syn(CLIENT, 9);
    p.proto = Proto::Udp;
    let mut chk = msg(MsgType::Chk, 9, S1, 7);
    chk.proto = Proto::Udp;
    let mut s = {
        let mut t = ServiceTable::new_in(svc_storage(4), HashKey::new(3, 4));
        let replicas = [rep(S1, 1), rep(S2, 1)];
        let mut sp = spec(SchedKind::RoundRobin, &replicas);
        sp.proto = Proto::Udp;
        t.add(&sp).unwrap();
        t
    };
    let mut r = redir(16);
    r.on_packet(&s, &p, 0);
    r.on_chk(&s, &chk, CLIENT, VIP, 1).unwrap();
    s.set_replica(Proto::Udp, VIP, PORT, S1, 1, false).unwrap();
    let idx = s.find(Proto::Udp, VIP, PORT).unwrap();
    assert_eq!(r.fail_replica(&s, idx, S1), 1);
    let o = r.on_packet(&s, &p, 2);
    assert_eq!(o.verdict, Verdict::Forward { replica: S2 });
    let req = o.send.unwrap();
    assert_eq!(
        (req.msg.ty, req.msg.replica, req.ext),
        (MsgType::Req, S2, Ext::NONE)
    );
    let mut k = fkey(CLIENT, 9);
    k.proto = Proto::Udp;
    let e = r.lookup(&k).unwrap();
    assert_eq!((e.state, e.replica), (RState::Sent, S2));
    assert!(
        r.on_tick(&s, 100).iter().all(|o| o.ext == Ext::NONE),
        "no REBIND any more"
    );
}

/// R28: a SENT entry of the failed replica goes at once (the client's CHK
/// then gets an ALM, R15); an accept-table entry stays.
#[test]
fn r54_failed_replica_removes_sent_and_keeps_accept_entries() {
    let mut s = services(SchedKind::RoundRobin, &[rep(S1, 1)]);
    let mut r = redir(16);
    sent(&mut r, &s, 1, 0);
    r.on_tick(&s, 1000); // response timeout: port 1 goes to the accept table
    sent(&mut r, &s, 2, 1000);
    s.set_replica(Proto::Tcp, VIP, PORT, S1, 1, false).unwrap();
    let idx = s.find(Proto::Tcp, VIP, PORT).unwrap();
    assert_eq!(r.fail_replica(&s, idx, S1), 1);
    assert!(r.lookup(&fkey(CLIENT, 2)).is_none());
    assert_eq!(r.lookup(&fkey(CLIENT, 1)).unwrap().state, RState::Accept);
    let o = r
        .on_chk(&s, &msg(MsgType::Chk, 2, S1, 5), CLIENT, VIP, 1001)
        .unwrap();
    assert_eq!(o.msg.ty, MsgType::Alm);
    assert_eq!(r.counters.failed_sent_removed, 1);
}
