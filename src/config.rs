// SPDX-License-Identifier: GPL-2.0

//! Configuration commands from generic netlink (decoded by the shim).
//!
//! Every command validates first and changes state only when it cannot
//! fail any more, so an error never leaves a partial configuration. The
//! family has no parallel ops: the genl mutex serialises these calls.

use crate::pernet::{self, NetState, ROLE_CLIENT, ROLE_REDIRECTOR};
use crate::shim::{Cfg, CFG_HAS_ROLE, CFG_REPLACE};
use heapless::Vec as HVec;
use iprp_core::sched::{
    ConfigError, ReplicaSpec, SchedKind, Service, ServiceSpec, DEFAULT_IDLE_TIMEOUT_MS,
    DEFAULT_RESPONSE_TIMEOUT_MS, MAX_REPLICAS,
};
use iprp_core::Proto;
use kernel::prelude::*;

type CfgResult = Result<(), (Error, &'static CStr)>;

fn config_error(e: ConfigError) -> (Error, &'static CStr) {
    match e {
        ConfigError::TooManyReplicas => (ENOSPC, c"a service has at most 16 replicas"),
        ConfigError::DuplicateReplica => (EEXIST, c"the replica is already in the service"),
        ConfigError::BadReplica => (EINVAL, c"invalid replica address"),
        ConfigError::BadService => (EINVAL, c"invalid service address or port"),
        ConfigError::BadTimeout => (EINVAL, c"invalid timeout"),
        ConfigError::Exists => (EEXIST, c"the service already exists"),
        ConfigError::NoService => (ENOENT, c"no such service"),
        ConfigError::NoReplica => (ENOENT, c"no such replica in the service"),
        ConfigError::Full => (ENOSPC, c"the service table is full"),
    }
}

fn proto_of(cfg: &Cfg) -> Result<Proto, (Error, &'static CStr)> {
    Proto::from_u8(cfg.proto).ok_or((EINVAL, c"protocol must be TCP (6) or UDP (17)"))
}

fn set_role(state: &NetState, cfg: &Cfg) -> CfgResult {
    if cfg.role & !(ROLE_CLIENT | ROLE_REDIRECTOR) != 0 {
        return Err((EINVAL, c"unknown role bits"));
    }
    // A per-role capacity overrides IPRP_A_CAPACITY for that role.
    let cap = |own: u32| [own, cfg.capacity].into_iter().find(|&c| c != 0);
    state.set_roles(cfg.role, cap(cfg.client_capacity), cap(cfg.redir_capacity))?;
    // The client's idle timeout (for TCP and UDP bindings) rides on SET_ROLE:
    // a client has no per-service configuration.
    if cfg.has_idle_timeout != 0 {
        if let Some(client) = state.client_tables() {
            for shard in client.shards.iter() {
                let mut s = shard.lock();
                let mut c = *s.config();
                c.idle_tcp_ms = cfg.idle_timeout_ms;
                c.idle_udp_ms = cfg.idle_timeout_ms;
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
fn new_service(state: &NetState, cfg: &Cfg) -> CfgResult {
    let proto = proto_of(cfg)?;
    if cfg.has_sched != 0 && SchedKind::from_u8(cfg.sched).is_none() {
        return Err((EINVAL, c"unknown scheduler"));
    }
    let redir = state
        .redirector_tables()
        .ok_or((EINVAL, c"enable the redirector role first"))?;
    let vip = u32::from_be(cfg.vip);
    let pick = |given: u8, value: u32, current: u32| if given != 0 { value } else { current };
    {
        let g = redir.tables.lock_all();
        let current = g.shared.lookup(proto, vip, cfg.port);
        let replace = cfg.flags & CFG_REPLACE != 0;
        let (sched, resp, idle, replicas) = match (replace, current) {
            (true, None) => return Err((ENOENT, c"no such service to edit")),
            (true, Some(svc)) => (
                svc.sched() as u8,
                svc.response_timeout_ms(),
                svc.idle_timeout_ms(),
                replica_specs(svc),
            ),
            (false, _) => (
                SchedKind::RoundRobin as u8,
                DEFAULT_RESPONSE_TIMEOUT_MS,
                DEFAULT_IDLE_TIMEOUT_MS,
                HVec::new(),
            ),
        };
        let sched = SchedKind::from_u8(if cfg.has_sched != 0 { cfg.sched } else { sched })
            .ok_or((EINVAL, c"unknown scheduler"))?;
        let spec = ServiceSpec {
            proto,
            vip,
            port: cfg.port,
            sched,
            response_timeout_ms: pick(cfg.has_response_timeout, cfg.response_timeout_ms, resp),
            idle_timeout_ms: pick(cfg.has_idle_timeout, cfg.idle_timeout_ms, idle),
            replicas: &replicas,
        };
        if replace {
            g.shared.update(&spec).map_err(config_error)?;
        } else {
            g.shared.add(&spec).map_err(config_error)?;
            redir.vips.add(vip);
        }
        Ok(())
    }
}

/// FLUSH: empties the tables of the roles named (all of them and every
/// service when no role is named). Held packets are freed.
fn flush(state: &NetState, cfg: &Cfg) -> CfgResult {
    let all = cfg.flags & CFG_HAS_ROLE == 0;
    if !all && cfg.role & !(ROLE_CLIENT | ROLE_REDIRECTOR) != 0 {
        return Err((EINVAL, c"unknown role bits"));
    }
    if all || cfg.role & ROLE_CLIENT != 0 {
        state.flush_client();
    }
    if all || cfg.role & ROLE_REDIRECTOR != 0 {
        state.flush_redirector(all);
    }
    Ok(())
}

/// DEL_SERVICE: removes the service and, first, its entries at the
/// redirector (their flows were no longer matched anyway; a service added
/// again with the same address and port starts clean).
fn del_service(state: &NetState, cfg: &Cfg) -> CfgResult {
    let proto = proto_of(cfg)?;
    let redir = state
        .redirector_tables()
        .ok_or((ENOENT, c"no such service"))?;
    let (vip, port) = (u32::from_be(cfg.vip), cfg.port);
    let mut guard = redir.tables.lock_all();
    let g = &mut guard;
    let idx = g
        .shared
        .find(proto, vip, port)
        .ok_or_else(|| config_error(ConfigError::NoService))?;
    for shard in g.shards.iter_mut() {
        shard.remove_service(g.shared, idx);
    }
    g.shared.del(proto, vip, port).map_err(config_error)?;
    redir.vips.remove(vip);
    Ok(())
}

/// Adds or changes (`remove == false`; with NLM_F_REPLACE only changes) or
/// removes a replica by rebuilding the service's replica list and applying
/// it in one `update`.
fn change_replica(state: &NetState, cfg: &Cfg, remove: bool) -> CfgResult {
    let proto = proto_of(cfg)?;
    let redir = state
        .redirector_tables()
        .ok_or((ENOENT, c"no such service"))?;
    let (vip, addr) = (u32::from_be(cfg.vip), u32::from_be(cfg.replica));
    {
        let g = redir.tables.lock_all();
        let svc = g
            .shared
            .lookup(proto, vip, cfg.port)
            .ok_or((ENOENT, c"no such service"))?;
        let mut list: HVec<ReplicaSpec, MAX_REPLICAS> = HVec::new();
        let mut found = false;
        for r in svc.replicas() {
            if r.addr() == addr {
                found = true;
                if remove {
                    continue;
                }
                let spec = ReplicaSpec {
                    addr,
                    weight: if cfg.has_weight != 0 {
                        cfg.weight as u16
                    } else {
                        r.weight()
                    },
                    up: if cfg.has_up != 0 { cfg.up != 0 } else { r.up() },
                };
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
        let must_exist = remove || cfg.flags & CFG_REPLACE != 0;
        if must_exist && !found {
            return Err((ENOENT, c"no such replica in the service"));
        }
        if !remove && !found {
            let spec = ReplicaSpec {
                addr,
                weight: if cfg.has_weight != 0 {
                    cfg.weight as u16
                } else {
                    1
                },
                up: cfg.has_up == 0 || cfg.up != 0,
            };
            list.push(spec)
                .map_err(|_| config_error(ConfigError::TooManyReplicas))?;
        }
        let spec = ServiceSpec {
            proto,
            vip,
            port: cfg.port,
            sched: svc.sched(),
            response_timeout_ms: svc.response_timeout_ms(),
            idle_timeout_ms: svc.idle_timeout_ms(),
            replicas: &list,
        };
        g.shared.update(&spec).map(|_| ()).map_err(config_error)
    }
}

/// Runs a configuration function for the shim; on error stores a static
/// message for extack.
///
/// # Safety
///
/// `state` is a live state, `cfg` a valid `struct iprp_cfg` and `msg` a
/// writable pointer.
unsafe fn call(
    state: *mut c_void,
    cfg: *const Cfg,
    msg: *mut *const kernel::ffi::c_char,
    f: fn(&NetState, &Cfg) -> CfgResult,
) -> i32 {
    // SAFETY: by the function's contract.
    let (state, cfg) = unsafe { (pernet::state(state), &*cfg) };
    match f(state, cfg) {
        Ok(()) => 0,
        Err((err, text)) => {
            // SAFETY: `msg` is writable by the function's contract; the
            // message is a static string.
            unsafe { *msg = text.as_char_ptr() };
            err.to_errno()
        }
    }
}

macro_rules! config_entry {
    ($($name:ident => $f:expr;)*) => {$(
        /// Configuration entry point called by the shim's genl handler.
        ///
        /// # Safety
        ///
        /// See [`call`].
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name(
            state: *mut c_void,
            cfg: *const Cfg,
            msg: *mut *const kernel::ffi::c_char,
        ) -> i32 {
            // SAFETY: forwarded from our caller.
            unsafe { call(state, cfg, msg, $f) }
        }
    )*};
}

config_entry! {
    iprp_rs_set_role => set_role;
    iprp_rs_new_service => new_service;
    iprp_rs_del_service => del_service;
    iprp_rs_set_replica => |s, c| change_replica(s, c, false);
    iprp_rs_del_replica => |s, c| change_replica(s, c, true);
    iprp_rs_flush => flush;
}
