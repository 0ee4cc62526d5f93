// SPDX-License-Identifier: GPL-2.0

//! Configuration commands from generic netlink: the doits of the
//! generated ops table, reading the request's attributes through
//! [`crate::nl::Attrs`].
//!
//! Every command validates first and changes state only when it cannot
//! fail any more, so an error never leaves a partial configuration. The
//! family has no parallel ops: the genl mutex serialises these calls.

use crate::nl::{self, Attrs, NlResult, Request};
use crate::notify::{self, Change};
use crate::pernet::{NetState, ROLE_CLIENT, ROLE_REDIRECTOR};
use crate::shim;
use crate::uapi::iprp_attr as a;
use heapless::Vec as HVec;
use iprp_core::sched::{
    ConfigError, ReplicaSpec, SchedKind, Service, ServiceSpec, DEFAULT_IDLE_TIMEOUT_MS,
    DEFAULT_RESPONSE_TIMEOUT_MS, MAX_REPLICAS,
};
use iprp_core::{Ipv4, Proto};
use kernel::prelude::*;

type CfgResult = Result<(), (Error, &'static CStr)>;

fn config_error(e: ConfigError) -> (Error, &'static CStr) {
    match e {
        ConfigError::TooManyReplicas => (ENOSPC, c"a service has at most 16 replicas"),
        ConfigError::DuplicateReplica => (EEXIST, c"the replica is already in the service"),
        ConfigError::BadReplica => (EINVAL, c"invalid replica address"),
        ConfigError::BadService => (EINVAL, c"invalid service address or port"),
        ConfigError::BadTimeout => (EINVAL, c"invalid timeout"),
        ConfigError::BadGrant => (ERANGE, c"wildcard grant longer than a day"),
        ConfigError::FleetNeedsHash => (
            EINVAL,
            c"a fleet service needs a consistent scheduler (sh or mh)",
        ),
        ConfigError::Exists => (EEXIST, c"the service already exists"),
        ConfigError::NoService => (ENOENT, c"no such service"),
        ConfigError::NoReplica => (ENOENT, c"no such replica in the service"),
        ConfigError::Full => (ENOSPC, c"the service table is full"),
    }
}

/// A service's key: protocol, address and port.
struct SvcKey {
    proto: Proto,
    vip: Ipv4,
    port: u16,
}

/// The service key every service command has (checked by [`SVC_ATTRS`]).
fn svc_key(attrs: &Attrs<'_>) -> Result<SvcKey, (Error, &'static CStr)> {
    let proto = attrs.u8(a::IPRP_A_PROTO).and_then(Proto::from_u8);
    match (proto, attrs.ipv4(a::IPRP_A_VIP), attrs.u16(a::IPRP_A_PORT)) {
        (Some(proto), Some(vip), Some(port)) => Ok(SvcKey { proto, vip, port }),
        _ => Err((EINVAL, c"protocol must be TCP (6) or UDP (17)")),
    }
}

/// The attributes naming a service.
const SVC_ATTRS: [u32; 3] = [a::IPRP_A_PROTO, a::IPRP_A_VIP, a::IPRP_A_PORT];

fn set_role(state: &NetState, attrs: &Attrs<'_>) -> CfgResult {
    let role = attrs.u32(a::IPRP_A_ROLE).unwrap_or(0);
    if role & !(ROLE_CLIENT | ROLE_REDIRECTOR) != 0 {
        return Err((EINVAL, c"unknown role bits"));
    }
    // A per-role capacity overrides IPRP_A_CAPACITY for that role.
    let capacity = attrs.u32(a::IPRP_A_CAPACITY);
    state.set_roles(
        role,
        attrs.u32(a::IPRP_A_CLIENT_CAPACITY).or(capacity),
        attrs.u32(a::IPRP_A_REDIR_CAPACITY).or(capacity),
        attrs.u32(a::IPRP_A_LEGACY_CAPACITY),
    )?;
    // The client's idle timeout (for TCP and UDP bindings) rides on SET_ROLE:
    // a client has no per-service configuration.
    if let Some(idle) = attrs.u32(a::IPRP_A_IDLE_TIMEOUT) {
        if let Some(client) = state.client_tables() {
            for shard in client.shards.iter() {
                let mut s = shard.lock();
                let mut c = *s.config();
                c.idle_tcp_ms = idle;
                c.idle_udp_ms = idle;
                s.set_config(c);
            }
        }
    }
    Ok(())
}

/// A service's replicas as specs, to rebuild it with one `update`.
fn replica_specs(svc: &Service) -> HVec<ReplicaSpec, MAX_REPLICAS> {
    let mut list = HVec::new();
    for r in svc.replicas() {
        // At most MAX_REPLICAS replicas exist, so this always fits.
        let _ = list.push(ReplicaSpec {
            addr: r.addr(),
            weight: r.weight(),
            up: r.up(),
        });
    }
    list
}

/// NEW_SERVICE: adds a service, or with NLM_F_REPLACE edits one (the
/// attributes given replace the current values; replicas stay).
fn new_service(state: &NetState, attrs: &Attrs<'_>, replace: bool) -> CfgResult {
    let SvcKey { proto, vip, port } = svc_key(attrs)?;
    let given_sched = attrs.u8(a::IPRP_A_SCHED);
    if given_sched.is_some_and(|s| SchedKind::from_u8(s).is_none()) {
        return Err((EINVAL, c"unknown scheduler"));
    }
    let redir = state
        .redirector_tables()
        .ok_or((EINVAL, c"enable the redirector role first"))?;
    {
        let g = redir.tables.lock_all();
        let current = g.shared.lookup(proto, vip, port);
        let (sched, resp, idle, grant, unmarked, seed, replicas) = match (replace, current) {
            (true, None) => return Err((ENOENT, c"no such service to edit")),
            (true, Some(svc)) => (
                svc.sched() as u8,
                svc.response_timeout_ms(),
                svc.idle_timeout_ms(),
                svc.grant_s(),
                svc.unmarked_local(),
                svc.fleet_seed(),
                replica_specs(svc),
            ),
            (false, _) => (
                SchedKind::RoundRobin as u8,
                DEFAULT_RESPONSE_TIMEOUT_MS,
                DEFAULT_IDLE_TIMEOUT_MS,
                0,
                false,
                0,
                HVec::new(),
            ),
        };
        let sched = SchedKind::from_u8(given_sched.unwrap_or(sched))
            .ok_or((EINVAL, c"unknown scheduler"))?;
        let spec = ServiceSpec {
            proto,
            vip,
            port,
            sched,
            response_timeout_ms: attrs.u32(a::IPRP_A_RESPONSE_TIMEOUT).unwrap_or(resp),
            idle_timeout_ms: attrs.u32(a::IPRP_A_IDLE_TIMEOUT).unwrap_or(idle),
            grant_s: attrs.u32(a::IPRP_A_GRANT).unwrap_or(grant),
            unmarked_local: attrs
                .u8(a::IPRP_A_UNMARKED_LOCAL)
                .map_or(unmarked, |u| u != 0),
            fleet_seed: attrs.u64(a::IPRP_A_FLEET_SEED).unwrap_or(seed),
            replicas: &replicas,
        };
        if replace {
            g.shared.update(&spec).map_err(config_error)?;
            drop(g);
            if grant > 0 && spec.grant_s == 0 {
                // Grants turned off: the clients' grants stop now too.
                redir.revoke_grants(state, vip, proto, port, None);
            }
            notify::service(state, Change::Set, proto, vip, port);
        } else {
            g.shared.add(&spec).map_err(config_error)?;
            redir.vips.add(vip);
            drop(g);
            notify::service(state, Change::New, proto, vip, port);
        }
        Ok(())
    }
}

/// FLUSH: empties the tables of the roles named (all of them and every
/// service when no role is named). Held packets are freed.
fn flush(state: &NetState, attrs: &Attrs<'_>) -> CfgResult {
    let role = attrs.u32(a::IPRP_A_ROLE);
    let all = role.is_none();
    let role = role.unwrap_or(0);
    if role & !(ROLE_CLIENT | ROLE_REDIRECTOR) != 0 {
        return Err((EINVAL, c"unknown role bits"));
    }
    if all || role & ROLE_CLIENT != 0 {
        state.flush_client();
    }
    if all || role & ROLE_REDIRECTOR != 0 {
        state.flush_redirector(all);
    }
    Ok(())
}

/// DEL_SERVICE: removes the service and, first, its entries at the
/// redirector (their flows were no longer matched anyway; a service added
/// again with the same address and port starts clean).
fn del_service(state: &NetState, attrs: &Attrs<'_>) -> CfgResult {
    let SvcKey { proto, vip, port } = svc_key(attrs)?;
    let redir = state
        .redirector_tables()
        .ok_or((ENOENT, c"no such service"))?;
    let mut guard = redir.tables.lock_all();
    let g = &mut guard;
    let idx = g
        .shared
        .find(proto, vip, port)
        .ok_or_else(|| config_error(ConfigError::NoService))?;
    for shard in g.shards.iter_mut() {
        shard.remove_service(g.shared, idx);
        notify::flush(state, &mut shard.events);
    }
    g.shared.del(proto, vip, port).map_err(config_error)?;
    redir.vips.remove(vip);
    drop(guard);
    redir.revoke_grants(state, vip, proto, port, None);
    notify::service(state, Change::Del, proto, vip, port);
    Ok(())
}

/// Adds or changes (`remove == false`; with NLM_F_REPLACE only changes) or
/// removes a replica by rebuilding the service's replica list and applying
/// it in one `update`.
fn change_replica(state: &NetState, attrs: &Attrs<'_>, replace: bool, remove: bool) -> CfgResult {
    let SvcKey { proto, vip, port } = svc_key(attrs)?;
    let addr = attrs
        .ipv4(a::IPRP_A_REPLICA_ADDR)
        .ok_or((EINVAL, c"invalid replica address"))?;
    // The policy keeps the weight within 0..=65535.
    let weight = attrs.u32(a::IPRP_A_WEIGHT).map(|w| w as u16);
    let up = attrs.u8(a::IPRP_A_UP).map(|u| u != 0);
    let redir = state
        .redirector_tables()
        .ok_or((ENOENT, c"no such service"))?;
    // Whether the replica still takes new flows after the change.
    let mut eligible = false;
    // The replica's weight and state after the change (before, if removed).
    let mut after = (weight.unwrap_or(1), up.unwrap_or(true));
    let mut found = false;
    {
        let mut guard = redir.tables.lock_all();
        let g = &mut guard;
        let svc = g
            .shared
            .lookup(proto, vip, port)
            .ok_or((ENOENT, c"no such service"))?;
        let mut list: HVec<ReplicaSpec, MAX_REPLICAS> = HVec::new();
        for r in svc.replicas() {
            if r.addr() == addr {
                found = true;
                after = (r.weight(), r.up());
                if remove {
                    continue;
                }
                let spec = ReplicaSpec {
                    addr,
                    weight: weight.unwrap_or(r.weight()),
                    up: up.unwrap_or(r.up()),
                };
                after = (spec.weight, spec.up);
                eligible = spec.weight > 0 && spec.up;
                let _ = list.push(spec);
            } else {
                let _ = list.push(ReplicaSpec {
                    addr: r.addr(),
                    weight: r.weight(),
                    up: r.up(),
                });
            }
        }
        // NLM_F_REPLACE (`replica set`, the health checker) changes a
        // replica but never creates one: a replica deleted meanwhile stays
        // deleted.
        let must_exist = remove || replace;
        if must_exist && !found {
            return Err((ENOENT, c"no such replica in the service"));
        }
        if !remove && !found {
            let spec = ReplicaSpec {
                addr,
                weight: weight.unwrap_or(1),
                up: up.unwrap_or(true),
            };
            eligible = spec.weight > 0 && spec.up;
            list.push(spec)
                .map_err(|_| config_error(ConfigError::TooManyReplicas))?;
        }
        let spec = ServiceSpec {
            proto,
            vip,
            port,
            sched: svc.sched(),
            response_timeout_ms: svc.response_timeout_ms(),
            idle_timeout_ms: svc.idle_timeout_ms(),
            grant_s: svc.grant_s(),
            unmarked_local: svc.unmarked_local(),
            fleet_seed: svc.fleet_seed(),
            replicas: &list,
        };
        let idx = g.shared.update(&spec).map_err(config_error)?;
        // R28: a replica marked down or removed has failed: its flows are
        // told to re-bind. A drained one (weight 0) keeps its flows.
        if remove || !after.1 {
            for shard in g.shards.iter_mut() {
                shard.fail_replica(g.shared, idx, addr);
                notify::flush(state, &mut shard.events);
            }
            drop(guard);
            state.kick_timer();
        }
    }
    // A replica drained, marked down or removed takes no new flows, also
    // not through the grants naming it.
    if !eligible {
        redir.revoke_grants(state, vip, proto, port, Some(addr));
    }
    let change = match (remove, found) {
        (true, _) => Change::Del,
        (false, true) => Change::Set,
        (false, false) => Change::New,
    };
    notify::replica(state, change, proto, vip, port, addr, after.0, after.1);
    Ok(())
}

/// DEL_LEGACY: forgets one client of the redirector's client cache, or
/// every client.
fn del_legacy(state: &NetState, attrs: &Attrs<'_>) -> CfgResult {
    let redir = state
        .redirector_tables()
        .ok_or((ENOENT, c"the redirector role has no tables"))?;
    let now = shim::now_ms();
    let mut legacy = redir.legacy.lock();
    match attrs.ipv4(a::IPRP_A_PEER) {
        Some(client) if !legacy.forget(client, now) => {
            Err((ENOENT, c"client not in the legacy cache"))
        }
        Some(_) => Ok(()),
        None => {
            legacy.clear(now);
            Ok(())
        }
    }
}

/// SET_ROLE. The hooks a new role needs are registered before the role is
/// on, and those no role needs any more are removed after; if either step
/// fails, the hooks match the roles still in force.
fn set_role_doit(req: &Request<'_>) -> NlResult {
    req.require(&[a::IPRP_A_ROLE])?;
    let roles = req.attrs().u32(a::IPRP_A_ROLE).unwrap_or(0);
    let res = req
        .hooks_add(roles)
        .map_err(nl::NlError::from)
        .and_then(|()| set_role(req.state(), req.attrs()).map_err(nl::NlError::from));
    req.hooks_sync(req.state().roles());
    res
}

/// SET_PARAMS: any subset of the slow timer period, the client's CHECKING
/// lifetime and the held-packet limit (ranges checked by the policy).
fn set_params_doit(req: &Request<'_>) -> NlResult {
    let attrs = req.attrs();
    let params = ParamsUpdate {
        tick_ms: attrs.u32(a::IPRP_A_TICK),
        checking_timeout_ms: attrs.u32(a::IPRP_A_CHECKING_TIMEOUT),
        max_held: attrs.u32(a::IPRP_A_MAX_HELD),
        legacy_ttl_ms: attrs.u32(a::IPRP_A_LEGACY_TTL),
        mark_syns: attrs.u8(a::IPRP_A_MARK_SYNS).map(|m| m != 0),
        event_rate: attrs.u32(a::IPRP_A_EVENT_RATE),
    };
    if params == ParamsUpdate::default() {
        return Err((
            EINVAL,
            c"no parameter given (TICK, CHECKING_TIMEOUT, MAX_HELD, LEGACY_TTL, MARK_SYNS, EVENT_RATE)",
        )
            .into());
    }
    req.state().set_params(&params);
    Ok(())
}

/// What SET_PARAMS changes: the parameters given.
#[derive(Default, PartialEq, Eq)]
pub(crate) struct ParamsUpdate {
    pub(crate) tick_ms: Option<u32>,
    pub(crate) checking_timeout_ms: Option<u32>,
    pub(crate) max_held: Option<u32>,
    pub(crate) legacy_ttl_ms: Option<u32>,
    pub(crate) mark_syns: Option<bool>,
    pub(crate) event_rate: Option<u32>,
}

nl::doit! {
    iprp_nl_set_role_doit => set_role_doit;
    iprp_nl_new_service_doit => |req: &Request<'_>| -> NlResult {
        req.require(&SVC_ATTRS)?;
        Ok(new_service(req.state(), req.attrs(), req.replace())?)
    };
    iprp_nl_del_service_doit => |req: &Request<'_>| -> NlResult {
        req.require(&SVC_ATTRS)?;
        Ok(del_service(req.state(), req.attrs())?)
    };
    iprp_nl_set_replica_doit => |req: &Request<'_>| -> NlResult {
        req.require(&SVC_ATTRS)?;
        req.require(&[a::IPRP_A_REPLICA_ADDR])?;
        Ok(change_replica(req.state(), req.attrs(), req.replace(), false)?)
    };
    iprp_nl_del_replica_doit => |req: &Request<'_>| -> NlResult {
        req.require(&SVC_ATTRS)?;
        req.require(&[a::IPRP_A_REPLICA_ADDR])?;
        Ok(change_replica(req.state(), req.attrs(), false, true)?)
    };
    iprp_nl_flush_doit => |req: &Request<'_>| -> NlResult {
        Ok(flush(req.state(), req.attrs())?)
    };
    iprp_nl_set_params_doit => set_params_doit;
    iprp_nl_del_legacy_doit => |req: &Request<'_>| -> NlResult {
        Ok(del_legacy(req.state(), req.attrs())?)
    };
}

/// The global parameters in force (GET_STATUS); a table's capacity once
/// its tables exist, the client's idle timeout once SET_ROLE set it.
pub(crate) struct Params {
    pub(crate) tick_ms: u32,
    pub(crate) checking_timeout_ms: u32,
    pub(crate) max_held: u32,
    pub(crate) client_capacity: Option<u32>,
    pub(crate) redir_capacity: Option<u32>,
    pub(crate) legacy_capacity: Option<u32>,
    pub(crate) legacy_ttl_ms: u32,
    pub(crate) mark_syns: bool,
    pub(crate) event_rate: u32,
    pub(crate) client_idle_ms: Option<u32>,
}
