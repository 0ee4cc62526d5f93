// SPDX-License-Identifier: GPL-2.0

//! GET_STATUS and ZERO_COUNTERS: the namespace's version, roles,
//! parameters, counters and statistics, and zeroing them.

use crate::nl::{self, Msg, NlResult, Request};
use crate::uapi::iprp_attr as a;
use crate::uapi::iprp_cmd as cmd;
use crate::uapi::iprp_counter as ctr;
use kernel::prelude::*;

/// The `IPRP_A_COUNTERS` nest: one u64 per counter id, padded with
/// `IPRP_CTR_UNSPEC`.
fn put_counters(req: &Request<'_>, m: &mut Msg<'_>) -> Result {
    let mut values = [0u64; ctr::__IPRP_CTR_MAX as usize];
    req.state().counters.snapshot(&mut values);
    let hook = req.hook_pkts();
    values[ctr::IPRP_CTR_PRE_ROUTING_PKTS as usize] += hook.pre_routing;
    values[ctr::IPRP_CTR_LOCAL_OUT_PKTS as usize] += hook.local_out;
    m.nest(a::IPRP_A_COUNTERS, |m| {
        for (id, &v) in values.iter().enumerate().skip(1) {
            m.put_u64(id as u32, v, ctr::IPRP_CTR_UNSPEC)?;
        }
        Ok(())
    })
}

fn get_status(req: &Request<'_>) -> NlResult {
    let state = req.state();
    req.reply(cmd::IPRP_CMD_GET_STATUS, |m| {
        let p = state.params();
        m.put(a::IPRP_A_VERSION, crate::VERSION.to_bytes_with_nul())?;
        m.put_u32(a::IPRP_A_ROLE, state.roles())?;
        m.put_u32(a::IPRP_A_TICK, p.tick_ms)?;
        m.put_u32(a::IPRP_A_CHECKING_TIMEOUT, p.checking_timeout_ms)?;
        m.put_u32(a::IPRP_A_MAX_HELD, p.max_held)?;
        m.put_u32(a::IPRP_A_LEGACY_TTL, p.legacy_ttl_ms)?;
        m.put_u8(a::IPRP_A_MARK_SYNS, u8::from(p.mark_syns))?;
        m.put_u32(a::IPRP_A_EVENT_RATE, p.event_rate)?;
        let known = [
            (a::IPRP_A_CLIENT_CAPACITY, p.client_capacity),
            (a::IPRP_A_REDIR_CAPACITY, p.redir_capacity),
            (a::IPRP_A_IDLE_TIMEOUT, p.client_idle_ms),
            (a::IPRP_A_LEGACY_CAPACITY, p.legacy_capacity),
        ];
        for (ty, v) in known {
            if let Some(v) = v {
                m.put_u32(ty, v)?;
            }
        }
        put_counters(req, m)?;
        m.nest(a::IPRP_A_STATS, |m| {
            crate::dump::put_stats(state, &req.hook_pkts(), m)?;
            req.put_bench_stats(m)
        })
    })
}

fn zero_counters(req: &Request<'_>) -> NlResult {
    req.state().zero_counters();
    req.zero_c_counters();
    Ok(())
}

nl::doit! {
    iprp_nl_get_status_doit => get_status;
    iprp_nl_zero_counters_doit => zero_counters;
}
