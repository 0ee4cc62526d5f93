// SPDX-License-Identifier: GPL-2.0
//! One test per client transition (docs/protocol.md, table C).
mod common;
use common::*;
use iprp_core::*;

const R: Ipv4 = VIP;
const ME: Ipv4 = CLIENT;

fn req(cport: u16, replica: Ipv4) -> Repr {
    msg(MsgType::Req, cport, replica, 0)
}

/// Creates a CHECKING binding with key `key`; returns the CHK.
fn checking(c: &mut Client, cport: u16, key: u32) -> Outgoing {
    match c.on_msg(&req(cport, S1), R, ME, 0, &mut SeqRng(vec![key], 0)) {
        ClientOutcome::Send(o) => o,
        o => panic!("expected CHK, got {o:?}"),
    }
}

fn confirmed(c: &mut Client, cport: u16, key: u32) {
    checking(c, cport, key);
    let o = c.on_msg(
        &msg(MsgType::Cfm, cport, S1, key),
        R,
        ME,
        10,
        &mut TestRng(0),
    );
    assert!(matches!(o, ClientOutcome::Confirmed { .. }));
}

fn state(c: &Client, cport: u16) -> Option<CState> {
    c.get(R, Proto::Tcp, cport, PORT).map(|b| b.state)
}

#[test]
fn c01_none_req_creates_checking_and_sends_chk_with_key() {
    let mut c = client(16);
    let o = checking(&mut c, 1000, 0x1234_5678);
    assert_eq!((o.from, o.to), (ME, R));
    assert_eq!(o.msg, msg(MsgType::Chk, 1000, S1, 0x1234_5678));
    let b = c.get(R, Proto::Tcp, 1000, PORT).unwrap();
    assert_eq!(
        (b.state, b.key, b.replica, b.local),
        (CState::Checking, 0x1234_5678, S1, ME)
    );
    assert_eq!(c.checking(), 1);
    assert_eq!(c.counters.chk_sent, 1);
}

#[test]
fn c02_checking_duplicate_req_resends_same_chk() {
    let mut c = client(16);
    let first = checking(&mut c, 1000, 42);
    let o = c.on_msg(&req(1000, S1), R, ME, 5, &mut SeqRng(vec![99], 0));
    match o {
        ClientOutcome::Send(again) => assert_eq!(again, first),
        o => panic!("{o:?}"),
    }
    assert_eq!(c.get(R, Proto::Tcp, 1000, PORT).unwrap().key, 42);
    assert_eq!(c.counters.chk_resent, 1);
    assert_eq!(c.len(), 1);
}

#[test]
fn c03_checking_req_other_replica_ignored() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    let o = c.on_msg(&req(1000, S2), R, ME, 5, &mut TestRng(1));
    assert!(matches!(o, ClientOutcome::Ignored));
    assert_eq!(c.get(R, Proto::Tcp, 1000, PORT).unwrap().replica, S1);
    assert_eq!(c.counters.req_ignored_other_replica, 1);
}

#[test]
fn c04_confirmed_req_never_changes_binding() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    for rep in [S1, S2] {
        let o = c.on_msg(&req(1000, rep), R, ME, 5, &mut TestRng(1));
        assert!(matches!(o, ClientOutcome::Ignored));
    }
    let b = c.get(R, Proto::Tcp, 1000, PORT).unwrap();
    assert_eq!((b.state, b.key, b.replica), (CState::Confirmed, 42, S1));
    assert_eq!(c.counters.req_ignored_confirmed, 2);
}

#[test]
fn c05_checking_cfm_right_key_confirms_and_releases_in_order() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    for h in [10u64, 11, 12] {
        assert_eq!(
            c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || h),
            InVerdict::Hold
        );
    }
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
    match o {
        ClientOutcome::Confirmed {
            redirector,
            replica,
            released,
            grant,
        } => {
            assert_eq!((redirector, replica, grant), (R, S1, None));
            assert_eq!(
                released.iter().copied().collect::<Vec<_>>(),
                vec![10, 11, 12]
            );
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
    assert_eq!((c.checking(), c.held_total()), (0, 0));
    assert_eq!(c.counters.held_released, 3);
    assert!(c.check_invariants());
}

#[test]
fn c06_checking_cfm_wrong_key_changes_nothing() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 7);
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S1, 43), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
    assert_eq!(state(&c, 1000), Some(CState::Checking));
    assert_eq!(c.held_total(), 1);
    assert_eq!(c.counters.cfm_bad_key, 1);
}

#[test]
fn c07_checking_cfm_wrong_replica_changes_nothing() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S2, 42), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
    assert_eq!(state(&c, 1000), Some(CState::Checking));
}

#[test]
fn c08_cfm_from_other_address_finds_no_binding() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    let o = c.on_msg(
        &msg(MsgType::Cfm, 1000, S1, 42),
        VIP2,
        ME,
        20,
        &mut TestRng(0),
    );
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::NoBinding)));
    assert_eq!(state(&c, 1000), Some(CState::Checking));
}

#[test]
fn c09_confirmed_duplicate_cfm_ignored() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Ignored));
    assert_eq!(c.counters.cfm_dup, 1);
}

#[test]
fn c10_confirmed_cfm_wrong_key_dropped() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S1, 1), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
}

#[test]
fn c11_checking_alm_right_key_deletes_and_returns_held() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 70);
    c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 71);
    let o = c.on_msg(&msg(MsgType::Alm, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
    match o {
        ClientOutcome::Alarmed { dropped } => {
            assert_eq!(dropped.iter().copied().collect::<Vec<_>>(), vec![70, 71])
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(state(&c, 1000), None);
    assert_eq!((c.checking(), c.held_total(), c.len()), (0, 0, 0));
    assert_eq!(c.counters.alarmed, 1);
    assert_eq!(c.counters.held_dropped, 2);
}

#[test]
fn c12_checking_alm_wrong_key_changes_nothing() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Alm, 1000, S1, 41), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
    assert_eq!(state(&c, 1000), Some(CState::Checking));
    assert_eq!(c.counters.alm_bad_key, 1);
}

#[test]
fn c13_confirmed_alm_right_key_is_ignored() {
    // A replayed CHK reaching the redirector after its entry expired
    // draws a real ALM with the right key; the live flow must keep going.
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Alm, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Ignored));
    assert_eq!(c.counters.alm_ignored_confirmed, 1);
    assert_eq!(c.counters.alarmed, 0);
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 21), Some(S1));
}

#[test]
fn c14_confirmed_alm_wrong_key_changes_nothing() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    let o = c.on_msg(&msg(MsgType::Alm, 1000, S1, 0), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadKey)));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 21), Some(S1));
}

#[test]
fn c15_none_cfm_and_alm_dropped() {
    let mut c = client(16);
    for ty in [MsgType::Cfm, MsgType::Alm] {
        let o = c.on_msg(&msg(ty, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
        assert!(matches!(o, ClientOutcome::Drop(ClientDrop::NoBinding)));
    }
    assert_eq!(
        (c.counters.cfm_no_binding, c.counters.alm_no_binding),
        (1, 1)
    );
    assert!(c.is_empty());
}

#[test]
fn c16_chk_is_not_for_the_client() {
    let mut c = client(16);
    let o = c.on_msg(&msg(MsgType::Chk, 1000, S1, 42), R, ME, 20, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::NotForClient)));
    assert!(c.is_empty());
}

#[test]
fn c17_output_lookup_only_when_confirmed() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 1), None);
    c.on_msg(&msg(MsgType::Cfm, 1000, S1, 42), R, ME, 2, &mut TestRng(0));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 3), Some(S1));
    assert_eq!(c.lookup_out(R, Proto::Udp, 1000, PORT, 3), None);
    assert_eq!(c.lookup_out(R, Proto::Tcp, PORT, 1000, 3), None);
    assert_eq!(c.lookup_out(S1, Proto::Tcp, 1000, PORT, 3), None);
    assert_eq!(c.counters.translated_out, 1);
}

#[test]
fn c18_input_lookup_translates_when_confirmed() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 3, || 0),
        InVerdict::Translate { redirector: R }
    );
    // Ports are (source = server port, destination = client port).
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, 1000, PORT, 3, || 0),
        InVerdict::None
    );
    assert_eq!(
        c.lookup_in(R, Proto::Tcp, PORT, 1000, 3, || 0),
        InVerdict::None
    );
    assert_eq!(c.counters.translated_in, 1);
}

#[test]
fn c19_hold_queue_bounded_per_binding() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    for h in 0..HOLD_PER_BINDING as u64 {
        assert_eq!(
            c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || h),
            InVerdict::Hold
        );
    }
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 99),
        InVerdict::Drop(ClientDrop::HoldFullBinding)
    );
    assert_eq!(c.held_total(), HOLD_PER_BINDING as u32);
    assert_eq!(c.counters.hold_full_binding, 1);
}

#[test]
fn c20_hold_queue_bounded_in_total() {
    let mut c = client(16);
    let mut cfg = *c.config();
    cfg.max_held = 3;
    c.set_config(cfg);
    checking(&mut c, 1000, 42);
    checking(&mut c, 1001, 43);
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 1),
        InVerdict::Hold
    );
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 2),
        InVerdict::Hold
    );
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1001, 1, || 3),
        InVerdict::Hold
    );
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1001, 1, || 4),
        InVerdict::Drop(ClientDrop::HoldFullTotal)
    );
    assert_eq!(c.counters.hold_full_total, 1);
}

#[test]
fn c21_checking_timeout_deletes_and_frees_held() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, || 5);
    let mut freed = vec![];
    c.on_tick(2999, |h| freed.push(h));
    assert_eq!(state(&c, 1000), Some(CState::Checking));
    c.on_tick(3000, |h| freed.push(h));
    assert_eq!(state(&c, 1000), None);
    assert_eq!(freed, vec![5]);
    assert_eq!(c.counters.expired_checking, 1);
    assert!(c.check_invariants());
}

#[test]
fn c22_confirmed_idle_expiry_per_protocol() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42); // TCP, confirmed at 10
    let m = Repr {
        proto: Proto::Udp,
        ..req(2000, S1)
    };
    c.on_msg(&m, R, ME, 0, &mut SeqRng(vec![9], 0));
    let cfm = Repr {
        ty: MsgType::Cfm,
        key: 9,
        ..m
    };
    c.on_msg(&cfm, R, ME, 10, &mut TestRng(0));
    let udp = c.config().idle_udp_ms as u64;
    let tcp = c.config().idle_tcp_ms as u64;
    c.on_tick(10 + udp, |_| {});
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(R, Proto::Udp, 2000, PORT).map(|b| b.state), None);
    c.on_tick(10 + tcp - 1, |_| {});
    assert_eq!(c.len(), 1);
    c.on_tick(10 + tcp, |_| {});
    assert!(c.is_empty());
    assert_eq!(c.counters.expired_idle, 2);
}

#[test]
fn c23_translation_keeps_binding_alive() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    let tcp = c.config().idle_tcp_ms as u64;
    c.lookup_out(R, Proto::Tcp, 1000, PORT, tcp);
    c.on_tick(tcp + 10, |_| {});
    assert_eq!(c.len(), 1);
    c.lookup_in(S1, Proto::Tcp, PORT, 1000, 2 * tcp, || 0);
    c.on_tick(2 * tcp + 10, |_| {});
    assert_eq!(c.len(), 1);
    c.on_tick(3 * tcp, |_| {});
    assert!(c.is_empty());
}

#[test]
fn c24_checking_limit_refuses_new_req() {
    let mut c = client(16);
    let mut cfg = *c.config();
    cfg.max_checking = 2;
    c.set_config(cfg);
    checking(&mut c, 1, 1);
    checking(&mut c, 2, 2);
    let o = c.on_msg(&req(3, S1), R, ME, 0, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::CheckingLimit)));
    // Confirming one frees a CHECKING place.
    c.on_msg(&msg(MsgType::Cfm, 1, S1, 1), R, ME, 0, &mut TestRng(0));
    assert!(matches!(
        c.on_msg(&req(3, S1), R, ME, 0, &mut TestRng(0)),
        ClientOutcome::Send(_)
    ));
    assert_eq!(c.counters.req_checking_limit, 1);
}

#[test]
fn c25_table_full_refuses_new_req_keeps_others() {
    let mut c = client(2);
    let mut cfg = *c.config();
    cfg.max_checking = 10;
    c.set_config(cfg);
    confirmed(&mut c, 1, 1);
    checking(&mut c, 2, 2);
    let o = c.on_msg(&req(3, S1), R, ME, 0, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::TableFull)));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1, PORT, 0), Some(S1));
    assert_eq!(c.counters.req_table_full, 1);
}

#[test]
fn c26_req_aliasing_another_bindings_input_key_refused() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    // Another redirector asks to map the same replica and ports.
    let o = c.on_msg(&req(1000, S1), VIP2, ME, 0, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::Conflict)));
    assert_eq!(c.len(), 1);
}

#[test]
fn c27_req_with_zero_replica_refused() {
    let mut c = client(16);
    let o = c.on_msg(&req(1000, Ipv4::UNSPECIFIED), R, ME, 0, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::BadReplica)));
    assert!(c.is_empty());
}

#[test]
fn c28_key_is_never_zero() {
    let mut c = client(16);
    let o = c.on_msg(&req(1, S1), R, ME, 0, &mut SeqRng(vec![0, 0], 0));
    match o {
        ClientOutcome::Send(o) => assert_ne!(o.msg.key, 0),
        o => panic!("{o:?}"),
    }
    let o = c.on_msg(&req(2, S1), R, ME, 0, &mut SeqRng(vec![0, 5], 0));
    match o {
        ClientOutcome::Send(o) => assert_eq!(o.msg.key, 5),
        o => panic!("{o:?}"),
    }
}

#[test]
fn c29_after_alarm_a_new_req_starts_over_with_new_key() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    c.on_msg(&msg(MsgType::Alm, 1000, S1, 42), R, ME, 1, &mut TestRng(0));
    let o = checking(&mut c, 1000, 43);
    assert_eq!(o.msg.key, 43);
}

#[test]
fn c30_lookup_in_unknown_never_holds() {
    let mut c = client(16);
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 0, || 1),
        InVerdict::None
    );
    assert_eq!(c.held_total(), 0);
}

#[test]
fn c31_zero_capacity_client_refuses_cleanly() {
    let mut c = client(0);
    let o = c.on_msg(&req(1, S1), R, ME, 0, &mut TestRng(0));
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::TableFull)));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1, PORT, 0), None);
    c.on_tick(100, |_| {});
}

#[test]
fn c32_outgoing_packets_keep_checking_binding_alive() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 2500), None);
    c.on_tick(5000, |_| {});
    assert_eq!(state(&c, 1000), Some(CState::Checking));
    c.on_tick(5500, |_| {});
    assert_eq!(state(&c, 1000), None);
}

#[test]
fn c_clear_removes_every_binding_and_frees_held_packets() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 1);
    checking(&mut c, 1001, 2);
    c.lookup_in(S1, Proto::Tcp, PORT, 1001, 1, || 77);
    let mut freed = vec![];
    c.clear(|h| freed.push(h));
    assert_eq!(freed, vec![77]);
    assert_eq!((c.len(), c.checking(), c.held_total()), (0, 0, 0));
    assert_eq!(c.counters.expired_idle + c.counters.expired_checking, 0);
    assert!(c.check_invariants());
    // The table is usable again after a flush.
    confirmed(&mut c, 1000, 3);
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
}

#[test]
fn c_tick_is_bounded_and_sweeps_every_slot_within_a_round() {
    use iprp_core::table::SWEEP_SLOTS;
    let cap = SWEEP_SLOTS + 10;
    let mut c = ClientShard::new_in(
        vec![ClientSlot::<u64>::EMPTY; cap],
        HashKey::new(5, 6),
        ClientConfig {
            max_checking: u32::MAX,
            ..ClientConfig::for_capacity(cap)
        },
    );
    let mut rng = TestRng(1);
    for i in 0..cap as u32 {
        let m = msg(
            MsgType::Req,
            (1024 + i % 60_000) as u16,
            Ipv4::from_bits(S1.to_bits() + i / 60_000),
            0,
        );
        assert!(matches!(
            c.on_msg(&m, R, ME, 0, &mut rng),
            ClientOutcome::Send(_)
        ));
    }
    assert_eq!(c.checking() as usize, cap);
    // Past the checking timeout: the first tick expires one window, the
    // second the rest.
    c.on_tick(3000, |_| {});
    assert_eq!(c.len(), cap - SWEEP_SLOTS);
    c.on_tick(3500, |_| {});
    assert!(c.is_empty());
    assert_eq!(c.counters.expired_checking, cap as u64);
    assert!(c.check_invariants());
}

#[test]
fn c33_req_without_local_flow_creates_nothing() {
    let mut c = client(16);
    let mut asked = 0;
    let o = c.on_msg_with(&req(1000, S1), R, ME, 0, &mut TestRng(1), || {
        asked += 1;
        LocalFlow::Absent
    });
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::NoLocalFlow)));
    assert_eq!(asked, 1);
    assert!(c.is_empty());
    assert_eq!((c.checking(), c.counters.req_no_local_flow), (0, 1));
    // With the flow: a binding; a duplicate REQ does not ask again.
    let o = c.on_msg_with(&req(1000, S1), R, ME, 0, &mut TestRng(1), || {
        LocalFlow::Opening
    });
    assert!(matches!(o, ClientOutcome::Send(_)));
    let o = c.on_msg_with(&req(1000, S1), R, ME, 1, &mut TestRng(1), || {
        panic!("asked for an existing binding")
    });
    assert!(matches!(o, ClientOutcome::Send(_)));
    assert!(c.check_invariants());
}

#[test]
fn c34_checking_tick_resends_chk_once_per_interval() {
    let mut c = client(16);
    let chk = checking(&mut c, 1000, 42);
    assert!(c.on_tick(RESEND_AFTER_MS - 1, |_| {}).is_empty());
    let r = c.on_tick(RESEND_AFTER_MS, |_| {});
    assert_eq!(r.as_slice(), &[chk]);
    // Not again until another interval has passed.
    assert!(c.on_tick(RESEND_AFTER_MS + 100, |_| {}).is_empty());
    assert_eq!(c.on_tick(2 * RESEND_AFTER_MS, |_| {}).len(), 1);
    assert_eq!(c.counters.chk_timer_resent, 2);
    // A duplicate REQ's CHK counts as sent too.
    c.on_msg(
        &req(1000, S1),
        R,
        ME,
        2 * RESEND_AFTER_MS + 50,
        &mut TestRng(0),
    );
    assert!(c.on_tick(3 * RESEND_AFTER_MS, |_| {}).is_empty());
    // CONFIRMED bindings re-send nothing.
    c.on_msg(
        &msg(MsgType::Cfm, 1000, S1, 42),
        R,
        ME,
        2000,
        &mut TestRng(0),
    );
    assert!(c.on_tick(2900, |_| {}).is_empty());
}

#[test]
fn c35_tick_resends_at_most_the_budget() {
    let mut c = client(256);
    for p in 0..(RESEND_PER_TICK as u16 + 10) {
        checking(&mut c, 1000 + p, 7 + u32::from(p));
    }
    assert_eq!(c.on_tick(500, |_| {}).len(), RESEND_PER_TICK);
    // The rest go out on the next tick.
    assert_eq!(c.on_tick(600, |_| {}).len(), 10);
}

#[test]
fn c36_orphan_synack_joins_the_binding_its_req_creates() {
    let mut c = client(16);
    // The replica's SYN-ACK overtakes the REQ: no binding yet.
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 1000, 0, || 7),
        InVerdict::None
    );
    assert_eq!(c.hold_orphan(S1, Proto::Tcp, PORT, 1000, 0, 7), None);
    // An orphan of another flow stays an orphan.
    assert_eq!(c.hold_orphan(S2, Proto::Tcp, PORT, 1000, 0, 8), None);
    checking(&mut c, 1000, 42);
    assert_eq!((c.orphans(), c.held_total()), (1, 1));
    let o = c.on_msg(&msg(MsgType::Cfm, 1000, S1, 42), R, ME, 10, &mut TestRng(0));
    match o {
        ClientOutcome::Confirmed { released, .. } => {
            assert_eq!(released.iter().copied().collect::<Vec<_>>(), vec![7])
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(c.counters.orphan_adopted, 1);
    // The other one expires.
    let mut freed = vec![];
    c.on_tick(ORPHAN_HOLD_MS - 1, |h| freed.push(h));
    assert!(freed.is_empty());
    c.on_tick(ORPHAN_HOLD_MS, |h| freed.push(h));
    assert_eq!((freed, c.orphans()), (vec![8], 0));
    assert_eq!(c.counters.orphan_expired, 1);
    assert!(c.check_invariants());
}

#[test]
fn c37_orphans_are_bounded_oldest_evicted_and_flushed() {
    let mut c = client(16);
    for h in 0..ORPHANS_PER_SHARD as u64 {
        assert_eq!(
            c.hold_orphan(S1, Proto::Tcp, PORT, 2000 + h as u16, h, h),
            None
        );
    }
    assert_eq!(c.hold_orphan(S1, Proto::Tcp, PORT, 3000, 9, 100), Some(0));
    assert_eq!(
        (c.orphans(), c.counters.orphan_evicted),
        (ORPHANS_PER_SHARD, 1)
    );
    let mut freed = vec![];
    c.clear(|h| freed.push(h));
    freed.sort();
    assert_eq!(freed.len(), ORPHANS_PER_SHARD);
    assert_eq!(freed[0], 1);
    assert_eq!(c.orphans(), 0);
}

#[test]
fn c38_req_aliasing_another_connection_creates_nothing() {
    let mut c = client(16);
    let o = c.on_msg_with(&req(1000, S1), R, ME, 0, &mut TestRng(1), || {
        LocalFlow::Aliased
    });
    assert!(matches!(o, ClientOutcome::Drop(ClientDrop::Aliased)));
    assert!(c.is_empty());
    assert_eq!((c.checking(), c.counters.req_aliased), (0, 1));
    assert_eq!(c.counters.req_no_local_flow, 0);
    // The redirector's re-sent REQ is asked again: the other connection
    // may have closed meanwhile.
    let o = c.on_msg_with(&req(1000, S1), R, ME, 1, &mut TestRng(1), || {
        LocalFlow::Opening
    });
    assert!(matches!(o, ClientOutcome::Send(_)));
    assert_eq!(c.checking(), 1);
    assert!(c.check_invariants());
}

#[test]
fn c39_icmp_error_quoting_a_packet_to_the_replica_names_the_redirector() {
    let mut c = client(16);
    // No binding: untouched.
    assert_eq!(c.icmp_error_in(S1, Proto::Tcp, PORT, 1000), None);
    checking(&mut c, 1000, 5);
    // CHECKING: the flow's first packets went through R to S1; an error
    // about them is the flow's too.
    assert_eq!(c.icmp_error_in(S1, Proto::Tcp, PORT, 1000), Some(R));
    confirmed(&mut c, 1001, 6);
    let before = c.get(R, Proto::Tcp, 1001, PORT).unwrap().last_activity;
    assert_eq!(c.icmp_error_in(S1, Proto::Tcp, PORT, 1001), Some(R));
    // Another port, replica or protocol: no binding.
    assert_eq!(c.icmp_error_in(S2, Proto::Tcp, PORT, 1001), None);
    assert_eq!(c.icmp_error_in(S1, Proto::Udp, PORT, 1001), None);
    assert_eq!(c.icmp_error_in(S1, Proto::Tcp, PORT + 1, 1001), None);
    assert_eq!(c.counters.icmp_error_in, 2);
    // An error is no sign of life: the binding still expires on time.
    assert_eq!(
        c.get(R, Proto::Tcp, 1001, PORT).unwrap().last_activity,
        before
    );
    assert!(c.check_invariants());
}

#[test]
fn c40_icmp_error_about_a_translated_packet_goes_to_the_replica() {
    let mut c = client(16);
    checking(&mut c, 1000, 5);
    // Nothing was translated while CHECKING: the error is about a packet
    // from R itself.
    assert_eq!(c.icmp_error_out(R, Proto::Tcp, 1000, PORT), None);
    confirmed(&mut c, 1001, 6);
    assert_eq!(c.icmp_error_out(R, Proto::Tcp, 1001, PORT), Some(S1));
    assert_eq!(c.icmp_error_out(VIP2, Proto::Tcp, 1001, PORT), None);
    assert_eq!(c.icmp_error_out(R, Proto::Udp, 1001, PORT), None);
    assert_eq!(c.counters.icmp_error_out, 1);
}

/// The lock-free read side (`readidx`) answers as the locked lookups do:
/// absent without binding, "ask the shard" while CHECKING, the address to
/// translate to once CONFIRMED; packets translated only through it keep
/// the binding alive (counted at the timer's next visit), and without them
/// it expires at its idle timeout.
#[test]
fn c41_lock_free_reads_answer_as_the_shard_and_keep_bindings_alive() {
    let mut c = client(16);
    let hp = ports_hash(&HashKey::new(5, 6), Proto::Tcp, 1000, PORT);
    let out = |c: &Client| c.index().read(hp, &Key::out(R, Proto::Tcp, 1000, PORT));
    let inn = |c: &Client| {
        let k = Key::from_replica(S1, Proto::Tcp, 1000, PORT);
        c.index().read(hp, &k)
    };
    assert_eq!(out(&c), Read::Absent);
    checking(&mut c, 1000, 42);
    assert_eq!((out(&c), inn(&c)), (Read::Checking, Read::Checking));
    confirmed(&mut c, 1000, 42);
    assert_eq!(out(&c), Read::Confirmed(S1));
    assert_eq!(inn(&c), Read::Confirmed(R));
    // Idle TCP timeout 15 min: a packet at 14 min, read lock-free only, is
    // counted at the next visit of the timer (at 14.5 min) and carries the
    // binding past 15 min.
    let idle = u64::from(c.config().idle_tcp_ms);
    assert_eq!(inn(&c), Read::Confirmed(R));
    c.on_tick(idle - 30_000, |_| {});
    c.on_tick(idle + 10, |_| {});
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
    // No packet since: alive just before 14.5 + 15 min, gone at it, from
    // the index too.
    c.on_tick(2 * idle - 30_001, |_| {});
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
    c.on_tick(2 * idle - 30_000, |_| {});
    assert_eq!(state(&c, 1000), None);
    assert_eq!(out(&c), Read::Absent);
    assert!(c.check_invariants());
}

/// A held packet the test can count: alive while a clone of the root is.
#[derive(Clone, Debug)]
struct Tracked {
    _alive: std::rc::Rc<()>,
}

#[test]
fn c42_the_shard_owns_held_packets_and_hands_each_back_once() {
    let root = std::rc::Rc::new(());
    let pkt = || Tracked {
        _alive: root.clone(),
    };
    // Packets alive outside `root`: held by the shard or in our hands.
    let alive = || std::rc::Rc::strong_count(&root) - 1;
    let mut c: ClientShard<Vec<ClientSlot<Tracked>>, filter::OwnedFilter, NoIndex, Tracked> =
        ClientShard::new_in(
            vec![ClientSlot::<Tracked>::EMPTY; 16],
            HashKey::new(5, 6),
            ClientConfig::for_capacity(16),
        );
    let on =
        |c: &mut ClientShard<_, filter::OwnedFilter, NoIndex, Tracked>, ty, cport, key, now| {
            c.on_msg(
                &msg(ty, cport, S1, key),
                R,
                ME,
                now,
                &mut SeqRng(vec![key], 0),
            )
        };
    // CHECKING: three packets held, given back in order on CFM.
    assert!(matches!(
        on(&mut c, MsgType::Req, 1000, 42, 0),
        ClientOutcome::Send(_)
    ));
    for _ in 0..3 {
        let v = c.lookup_in(S1, Proto::Tcp, PORT, 1000, 1, pkt);
        assert_eq!(v, InVerdict::Hold);
    }
    assert_eq!((alive(), c.held_total()), (3, 3));
    match on(&mut c, MsgType::Cfm, 1000, 42, 2) {
        ClientOutcome::Confirmed { released, .. } => assert_eq!(released.len(), 3),
        o => panic!("{o:?}"),
    }
    assert_eq!((alive(), c.held_total()), (0, 0));
    // A translated packet is never taken.
    let v = c.lookup_in(S1, Proto::Tcp, PORT, 1000, 3, || -> Tracked {
        panic!("taken")
    });
    assert!(matches!(v, InVerdict::Translate { .. }));
    // ALM: the held packets come back to be freed.
    on(&mut c, MsgType::Req, 1001, 7, 4);
    c.lookup_in(S1, Proto::Tcp, PORT, 1001, 5, pkt);
    c.lookup_in(S1, Proto::Tcp, PORT, 1001, 5, pkt);
    assert_eq!(alive(), 2);
    match on(&mut c, MsgType::Alm, 1001, 7, 6) {
        ClientOutcome::Alarmed { dropped } => assert_eq!(dropped.len(), 2),
        o => panic!("{o:?}"),
    }
    assert_eq!(alive(), 0);
    // Expiry: `free` gets each held packet once.
    on(&mut c, MsgType::Req, 1002, 8, 10);
    c.lookup_in(S1, Proto::Tcp, PORT, 1002, 11, pkt);
    let mut freed = 0;
    c.on_tick(10 + u64::from(c.config().checking_timeout_ms), |_| {
        freed += 1
    });
    assert_eq!((freed, alive(), c.len()), (1, 0, 1));
    // Orphans: the ninth evicts the oldest; a REQ adopts its own; the
    // rest expire or go with a flush.
    let mut evicted = Vec::new();
    for i in 0..(ORPHANS_PER_SHARD as u16 + 1) {
        evicted.extend(c.hold_orphan(S1, Proto::Tcp, PORT, 2000 + i, 20, pkt()));
    }
    assert_eq!((evicted.len(), alive()), (1, ORPHANS_PER_SHARD + 1));
    drop(evicted);
    on(&mut c, MsgType::Req, 2003, 9, 21);
    assert_eq!((c.held_total(), c.orphans()), (1, ORPHANS_PER_SHARD - 1));
    let mut freed = 0;
    c.clear(|_| freed += 1);
    assert_eq!((freed, alive(), c.len()), (ORPHANS_PER_SHARD, 0, 0));
    assert!(c.check_invariants());
}

/// A CFM with the right key carrying a grant: the outcome names it, capped
/// at the client's maximum; a forged CFM carries none; a duplicate CFM
/// renews it; a client with `max_grant_s` 0 accepts none.
#[test]
fn c43_a_confirming_cfm_may_carry_a_wildcard_grant() {
    let mut c = client(16);
    checking(&mut c, 1000, 42);
    let cfm = |key| msg(MsgType::Cfm, 1000, S1, key);
    let long = Ext {
        rebind: false,
        grant: Some(GrantExt {
            lifetime_s: DEFAULT_MAX_GRANT_S + 100,
            token: 77,
        }),
    };
    let ext_cfm = |c: &mut Client, key, ext: &Ext| {
        c.on_msg_ext(&cfm(key), ext, R, ME, 5, &mut TestRng(0), || {
            LocalFlow::Opening
        })
    };
    assert!(matches!(
        ext_cfm(&mut c, 41, &long),
        ClientOutcome::Drop(ClientDrop::BadKey)
    ));
    let want = Grant {
        redirector: R,
        proto: Proto::Tcp,
        sport: PORT,
        replica: S1,
        lifetime_s: DEFAULT_MAX_GRANT_S,
        token: 77,
    };
    match ext_cfm(&mut c, 42, &long) {
        ClientOutcome::Confirmed { grant, .. } => assert_eq!(grant, Some(want)),
        o => panic!("{o:?}"),
    }
    match ext_cfm(&mut c, 42, &Ext::offer(30)) {
        ClientOutcome::Granted(g) => assert_eq!(g.lifetime_s, 30),
        o => panic!("{o:?}"),
    }
    assert!(matches!(
        ext_cfm(&mut c, 42, &Ext::NONE),
        ClientOutcome::Ignored
    ));
    assert_eq!(c.counters.grant_rx, 2);
    let mut strict = client(16);
    strict.set_config(ClientConfig {
        max_grant_s: 0,
        ..*strict.config()
    });
    checking(&mut strict, 1000, 42);
    match ext_cfm(&mut strict, 42, &long) {
        ClientOutcome::Confirmed { grant, .. } => assert_eq!(grant, None),
        o => panic!("{o:?}"),
    }
}

/// A grant lets a new flow bind CONFIRMED at once, with both keys in the
/// read index; never over an existing binding or a conflicting one.
#[test]
fn c44_a_granted_flow_binds_confirmed_without_a_handshake() {
    let mut w = Wildcards::new_in(
        vec![WildcardSlot::EMPTY; WILDCARD_SLOTS],
        HashKey::new(7, 8),
    );
    let g = Grant {
        redirector: R,
        proto: Proto::Tcp,
        sport: PORT,
        replica: S1,
        lifetime_s: 60,
        token: 5,
    };
    assert_eq!(w.lookup(R, Proto::Tcp, PORT, 0), None);
    assert_eq!(w.install(&g, 1000), None, "an empty slot");
    assert_eq!(w.install(&g, 1000), Some(R), "a renewal replaces itself");
    assert_eq!(w.lookup(R, Proto::Tcp, PORT, 1000), Some(S1));
    assert_eq!(w.lookup(R, Proto::Udp, PORT, 1000), None);
    assert_eq!(w.lookup(R, Proto::Tcp, PORT + 1, 1000), None);
    assert_eq!(w.lookup(R, Proto::Tcp, PORT, 61_000), None, "expired");
    assert_eq!(w.count(1000), 1);
    let mut c = client(16);
    assert!(c.bind_granted(R, S1, Proto::Tcp, 2000, PORT, ME, 1000));
    let b = c.get(R, Proto::Tcp, 2000, PORT).unwrap();
    assert_eq!((b.state, b.replica, b.key), (CState::Confirmed, S1, 0));
    assert_eq!(c.lookup_out(R, Proto::Tcp, 2000, PORT, 1001), Some(S1));
    assert_eq!(
        c.lookup_in(S1, Proto::Tcp, PORT, 2000, 1001, || 0),
        InVerdict::Translate { redirector: R }
    );
    // Not twice, and not over a flow the handshake bound.
    assert!(!c.bind_granted(R, S1, Proto::Tcp, 2000, PORT, ME, 1002));
    confirmed(&mut c, 1000, 42);
    assert!(!c.bind_granted(R, S2, Proto::Tcp, 1000, PORT, ME, 1002));
    assert_eq!(c.counters.granted_bound, 1);
    assert!(c.check_invariants());
    let mut removed = Vec::new();
    w.clear(|a| removed.push(a));
    assert_eq!((removed, w.count(1000)), (vec![R], 0));
}

/// A CFM whose GRANT item has lifetime 0 revokes the grant whose token it
/// carries, whether or not the flow it names still has a binding; a
/// wrong token (a forger's guess) changes nothing.
#[test]
fn c45_a_revocation_with_the_grant_token_drops_the_grant() {
    let mut c = client(16);
    let revoke = |c: &mut Client, token| {
        c.on_msg_ext(
            &msg(MsgType::Cfm, 999, S1, 0),
            &Ext {
                rebind: false,
                grant: Some(GrantExt {
                    lifetime_s: 0,
                    token,
                }),
            },
            R,
            ME,
            5,
            &mut TestRng(0),
            || LocalFlow::Absent,
        )
    };
    match revoke(&mut c, 77) {
        ClientOutcome::Revoke {
            redirector,
            proto,
            sport,
            token,
        } => assert_eq!((redirector, proto, sport, token), (R, Proto::Tcp, PORT, 77)),
        o => panic!("{o:?}"),
    }
    assert_eq!(c.counters.revoke_rx, 1);
    let mut w = Wildcards::new_in(
        vec![WildcardSlot::EMPTY; WILDCARD_SLOTS],
        HashKey::new(7, 8),
    );
    let g = Grant {
        redirector: R,
        proto: Proto::Tcp,
        sport: PORT,
        replica: S1,
        lifetime_s: 60,
        token: 77,
    };
    w.install(&g, 0);
    assert!(!w.revoke(R, Proto::Tcp, PORT, 78, 10), "wrong token");
    assert!(!w.revoke(R, Proto::Tcp, PORT + 1, 77, 10), "other service");
    assert_eq!(w.lookup(R, Proto::Tcp, PORT, 10), Some(S1));
    assert!(w.revoke(R, Proto::Tcp, PORT, 77, 10));
    assert_eq!(w.lookup(R, Proto::Tcp, PORT, 10), None);
    assert!(!w.revoke(R, Proto::Tcp, PORT, 77, 10), "already gone");
    // A renewal keeps working after a revocation of an older grant fails.
    w.install(&g, 20);
    assert!(!w.revoke(R, Proto::Tcp, PORT, 77, 60_020), "lapsed");
}

fn rebind(c: &mut Client, cport: u16, replica: Ipv4, key: u32) -> ClientOutcome {
    c.on_msg_ext(
        &msg(MsgType::Cfm, cport, replica, key),
        &Ext::REBIND,
        R,
        ME,
        50,
        &mut TestRng(0),
        || LocalFlow::Absent,
    )
}

/// C29: a CFM with the REBIND item, the binding's key and replica, drops a
/// CONFIRMED binding and tells the caller which flow to reset; the flow's
/// packets are then untranslated (they go to the redirector).
#[test]
fn c46_rebind_drops_a_confirmed_binding() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    match rebind(&mut c, 1000, S1, 42) {
        ClientOutcome::Rebound {
            proto,
            local,
            cport,
            redirector,
            sport,
        } => assert_eq!(
            (proto, local, cport, redirector, sport),
            (Proto::Tcp, ME, 1000, R, PORT)
        ),
        o => panic!("{o:?}"),
    }
    assert_eq!(state(&c, 1000), None);
    assert_eq!(c.lookup_out(R, Proto::Tcp, 1000, PORT, 60), None);
    assert_eq!(c.counters.rebind_rx, 1);
    // Sent again (R sends it on three ticks): no binding any more.
    assert!(matches!(
        rebind(&mut c, 1000, S1, 42),
        ClientOutcome::Drop(ClientDrop::NoBinding)
    ));
    assert!(c.check_invariants());
}

/// C29: a REBIND with another key or replica is a forgery: dropped, the
/// binding keeps running; a CHECKING binding ignores one and is not
/// confirmed by it.
#[test]
fn c47_rebind_is_authenticated_and_never_confirms() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    for (replica, key) in [(S1, 41), (S2, 42)] {
        assert!(matches!(
            rebind(&mut c, 1000, replica, key),
            ClientOutcome::Drop(ClientDrop::BadKey)
        ));
    }
    assert_eq!(state(&c, 1000), Some(CState::Confirmed));
    assert_eq!(c.counters.rebind_bad_key, 2);
    checking(&mut c, 2000, 7);
    assert!(matches!(
        rebind(&mut c, 2000, S1, 7),
        ClientOutcome::Ignored
    ));
    assert_eq!(state(&c, 2000), Some(CState::Checking));
    assert_eq!(c.counters.rebind_ignored, 1);
}

/// C30: when the client role stops, the connections to reset are those of
/// the CONFIRMED TCP bindings, each named by its local and redirector ends;
/// not a CHECKING binding's, not a UDP flow's.
#[test]
fn c48_role_stop_resets_confirmed_tcp_connections_only() {
    let mut c = client(16);
    confirmed(&mut c, 1000, 42);
    confirmed(&mut c, 1001, 43);
    checking(&mut c, 2000, 7);
    let udp = Repr {
        proto: Proto::Udp,
        ..req(3000, S1)
    };
    let key = match c.on_msg(&udp, R, ME, 0, &mut SeqRng(vec![9], 0)) {
        ClientOutcome::Send(o) => o.msg.key,
        o => panic!("expected CHK, got {o:?}"),
    };
    let cfm = Repr {
        ty: MsgType::Cfm,
        key,
        ..udp
    };
    assert!(matches!(
        c.on_msg(&cfm, R, ME, 10, &mut TestRng(0)),
        ClientOutcome::Confirmed { .. }
    ));
    let mut reset = Vec::new();
    c.for_each_confirmed_tcp(|local, cport, redirector, sport| {
        reset.push((local, cport, redirector, sport))
    });
    reset.sort();
    assert_eq!(reset, vec![(ME, 1000, R, PORT), (ME, 1001, R, PORT)]);
}
