// SPDX-License-Identifier: GPL-2.0

//! Benchmark support, active only when iprp is loaded with `bench=1`.
//!
//! The shim times each hook against an empty hook called the same way
//! (this file's [`iprp_rs_bench_empty`]); [`iprp_rs_bench_fill`] creates
//! client bindings through the real client state machine so lookups can be
//! measured with large tables (docs/results/README.md, figures 8-10).

use crate::hooks::Verdict;
use crate::nl::{self, NlResult, Request};
use crate::pernet::{ClientRole, KernelRng, NetState};
use crate::shim;
use crate::uapi::iprp_attr as a;
use iprp_core::client::ClientOutcome;
use iprp_core::wire::{ipv4, Ipv4, MsgType, Repr};
use iprp_core::Proto;
use kernel::bindings::sk_buff;
use kernel::prelude::*;

/// Synthetic peers come from 198.18.0.0/15 (RFC 2544 benchmarking): the
/// redirectors 198.18.x.y, the replicas 198.19.x.y (at most
/// [`FILL_MAX_REDIRECTORS`] of each), the local address 198.19.255.254.
/// With `n` redirectors, flow `i` uses client port 10000 + i % 50000 and
/// the ((i % 50000 + i / 50000) % n)-th redirector and replica: for one
/// client port, each of the (at most n) flows has another redirector, so
/// both its outgoing key and its incoming key (replica, port, client port)
/// are unique, and the client ports, which choose a binding's shard, stay
/// as varied as a busy client's.
const FILL_REDIRECTOR_BASE: Ipv4 = ipv4(198, 18, 0, 1);
const FILL_REPLICA_BASE: Ipv4 = ipv4(198, 19, 0, 1);
const FILL_LOCAL: Ipv4 = ipv4(198, 19, 255, 254);
/// Client ports per synthetic redirector and replica (10000..60000).
const FILL_PORTS: u32 = 50_000;
/// The spec's bound on `redirectors`: 198.18.0.1 + 32,767 and 198.19.0.1 +
/// 32,767 stay inside the /15 and below the local address.
const FILL_MAX_REDIRECTORS: u32 = 32_768;
const FILL_SERVICE_PORT: u16 = 80;

/// The empty hook body the shim times iprp's hooks against.
#[no_mangle]
pub(crate) extern "C" fn iprp_rs_bench_empty(
    _state: *mut c_void,
    _skb: *mut sk_buff,
    _head: *const u8,
    _headlen: u32,
) -> Verdict {
    Verdict::Accept
}

type FillResult = Result<(), (Error, &'static CStr)>;

/// One confirmed binding for flow number `i` of flows spread over
/// `redirectors` synthetic redirectors: REQ in, CHK out, CFM in.
fn fill_one(
    state: &NetState,
    client: &ClientRole,
    i: u32,
    redirectors: u32,
    now: u64,
) -> FillResult {
    // `fill` checked i < redirectors * 50,000: i / 50,000 < redirectors.
    let peer = (i % FILL_PORTS + i / FILL_PORTS) % redirectors;
    let redirector = Ipv4::from_bits(FILL_REDIRECTOR_BASE.to_bits() + peer);
    let cport = (10_000 + i % FILL_PORTS) as u16;
    let req = Repr {
        ty: MsgType::Req,
        proto: Proto::Tcp,
        cport,
        sport: FILL_SERVICE_PORT,
        replica: Ipv4::from_bits(FILL_REPLICA_BASE.to_bits() + peer),
        key: 0,
    };
    let shard = client.shard(&state.key, Proto::Tcp, cport, FILL_SERVICE_PORT);
    client.update(state, shard, |s| {
        let key = match s.on_msg(&req, redirector, FILL_LOCAL, now, &mut KernelRng) {
            ClientOutcome::Send(out) => out.msg.key,
            ClientOutcome::Drop(iprp_core::client::ClientDrop::TableFull) => {
                return Err((ENOSPC, c"the client table is full: set a larger capacity"))
            }
            _ => return Err((EINVAL, c"the client refused a synthetic binding")),
        };
        match s.on_msg(
            &req.answer(MsgType::Cfm, key),
            redirector,
            FILL_LOCAL,
            now,
            &mut KernelRng,
        ) {
            ClientOutcome::Confirmed { .. } => Ok(()),
            _ => Err((EINVAL, c"the client did not confirm a synthetic binding")),
        }
    })
}

/// Fills an empty client table with `count` bindings spread over
/// `redirectors` synthetic redirectors (by default one per 50,000
/// bindings), or leaves it empty.
fn fill(state: &NetState, count: u32, redirectors: Option<u32>) -> FillResult {
    let redirectors = redirectors.unwrap_or(count.div_ceil(FILL_PORTS).max(1));
    if redirectors == 0 || redirectors > FILL_MAX_REDIRECTORS {
        return Err((EINVAL, c"redirectors must be 1..32768"));
    }
    if u64::from(count) > u64::from(redirectors) * u64::from(FILL_PORTS) {
        return Err((EINVAL, c"more than 50,000 bindings per redirector"));
    }
    let tables = state
        .client()
        .ok_or((EINVAL, c"enable the client role first"))?;
    if tables.has_bindings() {
        return Err((EBUSY, c"the client table is not empty: flush it first"));
    }
    let now = shim::now_ms();
    for i in 0..count {
        if let Err(e) = fill_one(state, tables, i, redirectors, now) {
            // All or nothing: the table was empty before.
            state.flush_client();
            return Err(e);
        }
        if i % 1024 == 1023 {
            shim::cond_resched();
        }
    }
    state.kick_timer();
    Ok(())
}

/// BENCH_FILL: `count` confirmed client bindings to synthetic peers,
/// over `redirectors` redirector addresses if given.
fn bench_fill(req: &Request<'_>) -> NlResult {
    if !nl::bench_mode() {
        return Err((
            Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)),
            c"benchmark fill needs iprp loaded with bench=1",
        )
            .into());
    }
    req.require(&[a::IPRP_A_COUNT])?;
    let count = req.attrs().u32(a::IPRP_A_COUNT).unwrap_or(0);
    let redirectors = req.attrs().u32(a::IPRP_A_REDIRECTORS);
    Ok(fill(req.state(), count, redirectors)?)
}

nl::doit! {
    iprp_nl_bench_fill_doit => bench_fill;
}
