// SPDX-License-Identifier: GPL-2.0

//! `iprpctl save` and `iprpctl restore`: the configuration of a namespace
//! (roles with their table capacities and the client's idle timeout,
//! global parameters, services, replicas) as text, and back.
//!
//! The format is one iprpctl command line per line, without the program
//! name (`role ...`, `set ...`, `service add ...`, `replica add ...`); `#`
//! starts a comment. `restore` parses and checks the whole file before it sends
//! anything, then replaces the services with the file's; if the kernel
//! refuses a line it puts the configuration it found back.

use std::collections::HashMap;
use std::io::Read;
use std::net::Ipv4Addr;

use super::list::{self, Service};
use super::role::{self, Role};
use super::status::{Params, LEGACY_CAPACITY_DEFAULT};
use super::{params, replica, service, status, Change, Ctx, Iprp, ServiceKey, Val, Verb};
use crate::cli::{self, Args};
use crate::error::{Error, Result};
use crate::parse::Toks;
use crate::uapi::{self, a, iprp_cmd};

pub const SAVE: Verb = Verb {
    name: "save",
    summary: "print the configuration (roles, parameters, services, replicas) for restore",
    usage: "save",
    help: "Prints the configuration of this network namespace as lines that\n\
           `iprpctl restore` reads back: the roles with their tables'\n\
           capacities and the client's idle timeout, the global parameters,\n\
           then each service with its replicas, every option explicit.\n\
           \n\
           # iprp configuration (iprpctl save)\n\
           role client redirector client-capacity 16384 redirector-capacity 16384\n\
           set tick 500 checking-timeout 3000 max-held 2048\n\
           service add tcp 10.0.0.100:80 sched rr response-timeout 1000 idle-timeout 60000\n\
           replica add tcp 10.0.0.100:80 10.0.0.11 weight 1 up\n\
           \n\
           Each line is an iprpctl command without the program name. The\n\
           client's idle timeout (idle-timeout on the role line) is saved once\n\
           `role ... idle-timeout` set it; before, the module's per-protocol\n\
           defaults apply and the line has none. The redirector's\n\
           legacy-capacity (role line) and legacy-ttl (set line) are saved\n\
           only when they are not the module's defaults (4096, 60000),\n\
           mark-syns (set line) and a service's `unmarked local` only when\n\
           on, a service's grant and fleet seed only when not 0. See\n\
           docs/cli.md.\n",
    run: run_save,
};

pub const RESTORE: Verb = Verb {
    name: "restore",
    summary: "replace the configuration with a saved one, all or nothing",
    usage: "restore [FILE]",
    help: "Reads a configuration in the format of `iprpctl save` from FILE (or\n\
           standard input; `-` is standard input too) and makes it the\n\
           configuration of this network namespace.\n\
           \n\
           Lines: `role ...` and `set ...` (at most one each), `service add\n\
           ...`, `replica add|set ...` (after the `service add` of its\n\
           service), blank lines and `#` comments. Options are those of the\n\
           verbs.\n\
           \n\
           1. Every line is parsed and checked first. A bad line is a usage\n   \
              error (exit 64) naming its number, and nothing is sent.\n\
           2. The current roles, parameters and services are read (the\n   \
              snapshot).\n\
           3. Every current service is deleted, then the lines are applied in\n   \
              order (the role and set lines change the roles and parameters;\n   \
              without them they stay).\n\
           4. If the kernel refuses a line, the services are deleted again and\n   \
              the snapshot is applied: the configuration is what it was, and\n   \
              iprpctl exits 1 naming the line and the kernel's error.\n\
           \n\
           Entries of the flushed services' flows are dropped with them. Needs\n\
           CAP_NET_ADMIN.\n",
    run: run_restore,
};

/// One line of a configuration file that carries a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    /// The line as written, comment removed, trimmed.
    pub text: String,
    pub change: Change,
}

/// The configuration of a namespace as `save` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Role bit set; `None` if the module did not report it.
    pub role: Option<u32>,
    /// Table capacities of the roles whose tables exist.
    pub client_capacity: Option<u32>,
    pub redir_capacity: Option<u32>,
    /// The client's idle timeout, if set (else the module's defaults).
    pub client_idle_ms: Option<u32>,
    /// Slots of the redirector's legacy cache, once its tables exist.
    pub legacy_capacity: Option<u32>,
    pub params: Params,
    pub services: Vec<Service>,
}

/// The arguments of `role` that reproduce the roles of `s`: the roles,
/// the capacity of each role that is on (the redirector's legacy cache's
/// only if not the default, unless `defaults`), the client's idle timeout.
fn role_args(s: &Snapshot, role: u32, defaults: bool) -> String {
    use crate::uapi::iprp_role::{IPRP_ROLE_CLIENT, IPRP_ROLE_REDIRECTOR};
    let mut l = status::role_text(role);
    let client = role & IPRP_ROLE_CLIENT != 0;
    if let (true, Some(n)) = (client, s.client_capacity) {
        l.push_str(&format!(" client-capacity {n}"));
    }
    let redir = role & IPRP_ROLE_REDIRECTOR != 0;
    if let (true, Some(n)) = (redir, s.redir_capacity) {
        l.push_str(&format!(" redirector-capacity {n}"));
    }
    if let (true, Some(n)) = (redir, s.legacy_capacity) {
        if defaults || n != LEGACY_CAPACITY_DEFAULT {
            l.push_str(&format!(" legacy-capacity {n}"));
        }
    }
    if let (true, Some(ms)) = (client, s.client_idle_ms) {
        l.push_str(&format!(" idle-timeout {ms}"));
    }
    l
}

const HEADER: &str = "# iprp configuration (iprpctl save); iprpctl restore reads it back\n";

/// The `save` text of a snapshot. The legacy cache's capacity and time
/// to live are left out when they are the module's defaults, SYN marking
/// and a service's `unmarked local` when off.
pub fn render(s: &Snapshot) -> String {
    render_with(s, false)
}

/// [`render`], with `defaults`: every value named, defaults included, so
/// that applying it returns every value (restore's rollback).
fn render_with(s: &Snapshot, defaults: bool) -> String {
    let mut out = String::from(HEADER);
    if let Some(r) = s.role {
        out.push_str(&format!("role {}\n", role_args(s, r, defaults)));
    }
    let set = s.params.set_args(defaults);
    if !set.is_empty() {
        out.push_str(&format!("set {set}\n"));
    }
    for svc in &s.services {
        let key = ServiceKey {
            proto: svc.proto,
            vip: svc.vip,
            port: svc.port,
        };
        let mut l = format!("service add {key}");
        if let Some(v) = svc.sched {
            l.push_str(&format!(" sched {}", uapi::sched_name(v)));
        }
        if let Some(ms) = svc.response_timeout_ms {
            l.push_str(&format!(" response-timeout {ms}"));
        }
        if let Some(ms) = svc.idle_timeout_ms {
            l.push_str(&format!(" idle-timeout {ms}"));
        }
        if let Some(s) = svc.grant_s.filter(|&s| s != 0) {
            l.push_str(&format!(" grant {s}"));
        }
        if let Some(local) = svc.unmarked_local.filter(|&l| l || defaults) {
            l.push_str(&format!(" unmarked {}", list::unmarked_name(local)));
        }
        if let Some(seed) = svc.fleet_seed.filter(|&s| s != 0 || defaults) {
            l.push_str(&format!(" fleet {seed:#x}"));
        }
        out.push_str(&l);
        out.push('\n');
        for r in &svc.replicas {
            let mut l = format!("replica add {key} {}", r.addr);
            if let Some(w) = r.weight {
                l.push_str(&format!(" weight {w}"));
            }
            if let Some(up) = r.up {
                l.push_str(if up { " up" } else { " down" });
            }
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Parses and checks a whole configuration file. The first bad line is a
/// usage error `line N: ...`.
pub fn parse_file(text: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut role_line: Option<usize> = None;
    let mut set_line: Option<usize> = None;
    let mut services: HashMap<ServiceKey, usize> = HashMap::new();
    let mut replicas: HashMap<(ServiceKey, Ipv4Addr), usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let body = raw.split('#').next().unwrap_or("").trim();
        let toks: Vec<String> = body.split_whitespace().map(String::from).collect();
        let Some(verb) = toks.first() else {
            continue;
        };
        let at = |e: Error| e.context(format!("line {n}"));
        let bad = |m: String| Error::Usage(format!("line {n}: {m}"));
        let sub = toks.get(1).map(String::as_str);
        let change = match verb.as_str() {
            "role" => {
                let c = match role::parse(&toks[1..]).map_err(at)? {
                    Role::Set(c) => c,
                    Role::Show => return Err(bad("'role' needs the roles to set".into())),
                };
                if let Some(m) = role_line {
                    return Err(bad(format!("a second role line (the first is line {m})")));
                }
                role_line = Some(n);
                c
            }
            "set" => {
                let c = params::parse(&toks[1..]).map_err(at)?;
                if let Some(m) = set_line {
                    return Err(bad(format!("a second set line (the first is line {m})")));
                }
                set_line = Some(n);
                c
            }
            "service" => {
                if sub != Some("add") {
                    return Err(bad(format!(
                        "'service {}' cannot appear in a configuration (only 'service add')",
                        sub.unwrap_or("")
                    )));
                }
                let c = service::parse(&toks[1..]).map_err(at)?;
                let key = c.service_key().expect("service add has a key");
                if let Some(m) = services.insert(key, n) {
                    return Err(bad(format!("service {key} is already added on line {m}")));
                }
                c
            }
            "replica" => {
                if !matches!(sub, Some("add" | "set")) {
                    return Err(bad(format!(
                        "'replica {}' cannot appear in a configuration (only 'replica add' or 'replica set')",
                        sub.unwrap_or("")
                    )));
                }
                let mut c = replica::parse(&toks[1..]).map_err(at)?;
                // A configuration states what should exist: `set` creates
                // the replica here too (its service is checked below).
                c.flags = 0;
                let key = c.service_key().expect("replica add has a key");
                let Some(Val::InAddr(_, addr)) = c.attr(a::REPLICA_ADDR) else {
                    unreachable!("replica add has an address")
                };
                if !services.contains_key(&key) {
                    return Err(bad(format!(
                        "replica {addr} of service {key}, which no earlier line adds"
                    )));
                }
                if let Some(m) = replicas.insert((key, addr), n) {
                    return Err(bad(format!(
                        "replica {addr} of service {key} is already added on line {m}"
                    )));
                }
                c
            }
            other => {
                return Err(bad(format!(
                    "unknown command '{other}' (expected role, set, service add or replica add)"
                )))
            }
        };
        out.push(Entry {
            line: n,
            text: body.to_string(),
            change,
        });
    }
    Ok(out)
}

/// Reads the roles and services of this namespace.
pub fn snapshot(iprp: &mut Iprp) -> Result<Snapshot> {
    let st = status::fetch(iprp)?;
    let mut services = iprp.dump_all(iprp_cmd::IPRP_CMD_GET_SERVICE, list::parse)?;
    list::sort(&mut services);
    Ok(Snapshot {
        role: st.role,
        client_capacity: st.client_capacity,
        redir_capacity: st.redir_capacity,
        client_idle_ms: st.client_idle_ms,
        legacy_capacity: st.legacy_capacity,
        params: st.params,
        services,
    })
}

fn run_save(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &SAVE)? else {
        return Ok(());
    };
    Toks::new(SAVE.name, &toks).end()?;
    let snap = snapshot(&mut Iprp::connect()?)?;
    super::print(&render(&snap))
}

fn read_input(path: Option<&str>) -> Result<String> {
    let mut text = String::new();
    match path {
        None | Some("-") => std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Io("restore: standard input".into(), e))?,
        Some(p) => std::fs::File::open(p)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| Error::Io(format!("restore: {p}"), e))?,
    };
    Ok(text)
}

/// A key-only `DEL_SERVICE` request.
fn del_service(key: ServiceKey) -> Change {
    let mut c = Change::new(iprp_cmd::IPRP_CMD_DEL_SERVICE);
    key.push_to(&mut c);
    c
}

fn key_of(s: &Service) -> ServiceKey {
    ServiceKey {
        proto: s.proto,
        vip: s.vip,
        port: s.port,
    }
}

/// Deletes every service there is now; `done` counts the deletions.
fn delete_all(iprp: &mut Iprp, done: &mut usize) -> Result<()> {
    let services = iprp.dump_all(iprp_cmd::IPRP_CMD_GET_SERVICE, list::parse)?;
    for s in &services {
        let key = key_of(s);
        iprp.apply(&del_service(key))
            .map_err(|e| e.context(format!("deleting service {key}")))?;
        *done += 1;
    }
    Ok(())
}

/// Why [`replace`] stopped.
struct Failed {
    /// The entry that failed (`None`: deleting the services).
    at: Option<usize>,
    err: Error,
    /// Whether any request had succeeded before (if not, nothing changed).
    changed: bool,
}

/// Deletes the services, then applies `entries` in order.
fn replace(iprp: &mut Iprp, entries: &[Entry]) -> Result<(), Failed> {
    let mut done = 0;
    delete_all(iprp, &mut done).map_err(|err| Failed {
        at: None,
        err,
        changed: done > 0,
    })?;
    for (i, e) in entries.iter().enumerate() {
        iprp.apply(&e.change).map_err(|err| Failed {
            at: Some(i),
            err,
            changed: done > 0 || i > 0,
        })?;
    }
    Ok(())
}

fn run_restore(ctx: &mut Ctx, args: Args) -> Result<()> {
    let Some(toks) = cli::verb_tokens(ctx, args, &RESTORE)? else {
        return Ok(());
    };
    let mut t = Toks::new(RESTORE.name, &toks);
    let path = t.next();
    t.end()?;
    let text = read_input(path)?;
    let entries = parse_file(&text).map_err(|e| e.context("restore"))?;
    let mut iprp = Iprp::connect()?;
    let snap = snapshot(&mut iprp)?;
    // Every value named: a legacy TTL the file changes from the default
    // is set back too.
    let back = parse_file(&render_with(&snap, true)).map_err(|e| {
        Error::Protocol(format!(
            "restore: the running configuration cannot be saved, nothing changed: {e}"
        ))
    })?;
    let Err(f) = replace(&mut iprp, &entries) else {
        return Ok(());
    };
    let what = match f.at {
        Some(i) => format!(
            "restore: line {} ({}) failed",
            entries[i].line, entries[i].text
        ),
        None => "restore: removing the current services failed".to_string(),
    };
    if !f.changed {
        return Err(f.err.context(format!("{what}; nothing was changed")));
    }
    match replace(&mut iprp, &back) {
        Ok(()) => Err(f.err.context(format!(
            "{what}; the previous configuration is back in place"
        ))),
        Err(b) => {
            let line =
                b.at.map(|i| back[i].text.as_str())
                    .unwrap_or("deleting services");
            Err(Error::Protocol(format!(
                "{what}: {}; putting the previous configuration back failed too at '{line}': {}\n\
                 the previous configuration was:\n{}",
                f.err,
                b.err,
                render_with(&snap, true)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verbs::list::Replica;

    fn snap() -> Snapshot {
        Snapshot {
            role: Some(3),
            client_capacity: Some(1024),
            redir_capacity: Some(65536),
            client_idle_ms: Some(30000),
            // the module's defaults: not saved
            legacy_capacity: Some(4096),
            params: Params {
                tick_ms: Some(250),
                checking_timeout_ms: Some(3000),
                max_held: Some(0),
                legacy_ttl_ms: Some(60000),
                mark_syns: Some(false),
                event_rate: Some(10000),
            },
            services: vec![
                Service {
                    proto: 6,
                    vip: Ipv4Addr::new(10, 0, 0, 100),
                    port: 80,
                    sched: Some(0),
                    response_timeout_ms: Some(1000),
                    idle_timeout_ms: Some(60000),
                    grant_s: Some(0),
                    unmarked_local: Some(false),
                    fleet_seed: None,
                    granted: None,
                    replicas: vec![
                        Replica {
                            addr: Ipv4Addr::new(10, 0, 0, 11),
                            weight: Some(1),
                            up: Some(true),
                            conns: Some(7),
                            assigned: Some(70),
                            confirmed: Some(60),
                            rebound: Some(2),
                        },
                        Replica {
                            addr: Ipv4Addr::new(10, 0, 0, 12),
                            weight: Some(0),
                            up: Some(false),
                            conns: None,
                            assigned: None,
                            confirmed: None,
                            rebound: None,
                        },
                    ],
                    stats: Some(vec![("packets".into(), 5)]),
                },
                Service {
                    proto: 17,
                    vip: Ipv4Addr::new(10, 0, 0, 100),
                    port: 53,
                    sched: Some(4),
                    response_timeout_ms: None,
                    idle_timeout_ms: Some(3000),
                    grant_s: Some(120),
                    unmarked_local: None,
                    fleet_seed: None,
                    granted: None,
                    replicas: vec![],
                    stats: None,
                },
            ],
        }
    }

    const TEXT: &str = "# iprp configuration (iprpctl save); iprpctl restore reads it back\n\
        role client redirector client-capacity 1024 redirector-capacity 65536 idle-timeout 30000\n\
        set tick 250 checking-timeout 3000 max-held 0\n\
        service add tcp 10.0.0.100:80 sched rr response-timeout 1000 idle-timeout 60000\n\
        replica add tcp 10.0.0.100:80 10.0.0.11 weight 1 up\n\
        replica add tcp 10.0.0.100:80 10.0.0.12 weight 0 down\n\
        service add udp 10.0.0.100:53 sched mh idle-timeout 3000 grant 120\n";

    #[test]
    fn save_format() {
        assert_eq!(render(&snap()), TEXT);
        let empty = Snapshot {
            role: Some(0),
            client_capacity: Some(4096),
            client_idle_ms: Some(1000),
            ..Default::default()
        };
        assert_eq!(render(&empty), format!("{HEADER}role none\n"));
        // capacities and the idle timeout only of the roles that are on
        let redir = Snapshot {
            role: Some(2),
            client_capacity: Some(4096),
            redir_capacity: Some(512),
            client_idle_ms: Some(1000),
            ..Default::default()
        };
        assert_eq!(
            render(&redir),
            format!("{HEADER}role redirector redirector-capacity 512\n")
        );
    }

    #[test]
    fn legacy_capacity_and_ttl_are_saved_unless_default() {
        let mut s = snap();
        s.services.clear();
        s.legacy_capacity = Some(1024);
        s.params.legacy_ttl_ms = Some(5000);
        let text = format!(
            "{HEADER}role client redirector client-capacity 1024 redirector-capacity 65536 legacy-capacity 1024 idle-timeout 30000\n\
             set tick 250 checking-timeout 3000 max-held 0 legacy-ttl 5000\n"
        );
        assert_eq!(render(&s), text);
        let e = parse_file(&text).unwrap();
        assert_eq!(
            e[0].change.attrs,
            vec![
                Val::U32(a::ROLE, 3),
                Val::U32(a::CLIENT_CAPACITY, 1024),
                Val::U32(a::REDIR_CAPACITY, 65536),
                Val::U32(a::LEGACY_CAPACITY, 1024),
                Val::U32(a::IDLE_TIMEOUT, 30000),
            ]
        );
        assert_eq!(
            e[1].change.attrs,
            vec![
                Val::U32(a::TICK, 250),
                Val::U32(a::CHECKING_TIMEOUT, 3000),
                Val::U32(a::MAX_HELD, 0),
                Val::U32(a::LEGACY_TTL, 5000),
            ]
        );
        // The rollback names the defaults too, so that it sets a TTL the
        // file changed back to the default.
        let mut d = snap();
        d.services.clear();
        assert_eq!(
            render_with(&d, true),
            format!(
                "{HEADER}role client redirector client-capacity 1024 redirector-capacity 65536 legacy-capacity 4096 idle-timeout 30000\n\
                 set tick 250 checking-timeout 3000 max-held 0 legacy-ttl 60000 mark-syns off event-rate 10000\n"
            )
        );
        assert!(parse_file(&render_with(&d, true)).is_ok());
        // The legacy cache only with the redirector on; a set line only
        // if there is something to set.
        let client = Snapshot {
            role: Some(1),
            redir_capacity: Some(4096),
            legacy_capacity: Some(1024),
            params: Params {
                legacy_ttl_ms: Some(60000),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(render(&client), format!("{HEADER}role client\n"));
        assert_eq!(
            render_with(&client, true),
            format!("{HEADER}role client\nset legacy-ttl 60000\n")
        );
    }

    #[test]
    fn mark_syns_and_unmarked_local_are_saved_when_on() {
        let mut s = snap();
        s.params.mark_syns = Some(true);
        s.services[0].unmarked_local = Some(true);
        s.services[1].unmarked_local = Some(false);
        let text = render(&s);
        assert_eq!(
            text.lines().collect::<Vec<_>>()[2..5],
            [
                "set tick 250 checking-timeout 3000 max-held 0 mark-syns on",
                "service add tcp 10.0.0.100:80 sched rr response-timeout 1000 idle-timeout 60000 unmarked local",
                "replica add tcp 10.0.0.100:80 10.0.0.11 weight 1 up",
            ]
        );
        assert!(
            text.ends_with("service add udp 10.0.0.100:53 sched mh idle-timeout 3000 grant 120\n")
        );
        let e = parse_file(&text).unwrap();
        assert_eq!(e[1].change.attrs[3..], [Val::U8(a::MARK_SYNS, 1)]);
        assert_eq!(e[2].change.attrs[6..], [Val::U8(a::UNMARKED_LOCAL, 1)]);
        assert_eq!(e[5].change.attr(a::UNMARKED_LOCAL), None);
        // The rollback names them off too, so that it turns off what the
        // file turned on.
        let d = snap();
        let back = render_with(&d, true);
        assert!(back.contains(
            "\nset tick 250 checking-timeout 3000 max-held 0 legacy-ttl 60000 mark-syns off event-rate 10000\n"
        ));
        assert!(back.contains(
            "\nservice add tcp 10.0.0.100:80 sched rr response-timeout 1000 idle-timeout 60000 unmarked redirect\n"
        ));
        // not sent by the module: not named
        assert!(
            back.contains("\nservice add udp 10.0.0.100:53 sched mh idle-timeout 3000 grant 120\n")
        );
        let e = parse_file(&back).unwrap();
        assert_eq!(
            e[1].change.attr(a::MARK_SYNS),
            Some(Val::U8(a::MARK_SYNS, 0))
        );
        assert_eq!(
            e[2].change.attr(a::UNMARKED_LOCAL),
            Some(Val::U8(a::UNMARKED_LOCAL, 0))
        );
        // Bad values in a file are usage errors naming the line.
        assert_eq!(
            usage("set mark-syns 2\n"),
            "line 1: set: invalid mark-syns '2' (expected on or off)"
        );
        assert_eq!(
            usage("service add tcp 10.0.0.1:80 unmarked maybe\n"),
            "line 1: service add: invalid unmarked 'maybe' (expected local or redirect)"
        );
    }

    fn usage(text: &str) -> String {
        match parse_file(text) {
            Err(e @ Error::Context(..)) | Err(e @ Error::Usage(_)) => {
                assert_eq!(e.exit_code(), 64, "{e}");
                e.to_string()
            }
            r => panic!("expected a usage error, got {r:?}"),
        }
    }

    #[test]
    fn round_trip() {
        let entries = parse_file(TEXT).unwrap();
        let lines: Vec<usize> = entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        // The same requests as the verbs make.
        let verb = |words: &str| {
            let v: Vec<String> = words.split(' ').map(String::from).collect();
            match v[0].as_str() {
                "role" => match role::parse(&v[1..]).unwrap() {
                    Role::Set(c) => c,
                    Role::Show => unreachable!(),
                },
                "service" => service::parse(&v[1..]).unwrap(),
                "set" => params::parse(&v[1..]).unwrap(),
                _ => replica::parse(&v[1..]).unwrap(),
            }
        };
        for e in &entries {
            assert_eq!(e.change, verb(&e.text), "{}", e.text);
        }
        assert_eq!(
            entries[0].change.attrs,
            vec![
                Val::U32(a::ROLE, 3),
                Val::U32(a::CLIENT_CAPACITY, 1024),
                Val::U32(a::REDIR_CAPACITY, 65536),
                Val::U32(a::IDLE_TIMEOUT, 30000),
            ]
        );
        assert_eq!(entries[1].change.cmd, iprp_cmd::IPRP_CMD_SET_PARAMS);
        assert_eq!(
            entries[2].change.attrs,
            vec![
                Val::U8(a::PROTO, 6),
                Val::InAddr(a::VIP, Ipv4Addr::new(10, 0, 0, 100)),
                Val::U16(a::PORT, 80),
                Val::U8(a::SCHED, 0),
                Val::U32(a::RESPONSE_TIMEOUT, 1000),
                Val::U32(a::IDLE_TIMEOUT, 60000),
            ]
        );
        assert_eq!(
            entries[4].change.attrs[3..],
            [
                Val::InAddr(a::REPLICA_ADDR, Ipv4Addr::new(10, 0, 0, 12)),
                Val::U32(a::WEIGHT, 0),
                Val::U8(a::UP, 0),
            ]
        );
    }

    #[test]
    fn comments_blank_lines_and_spacing() {
        let e = parse_file(
            "\n  # nothing\n\trole   redirector  # trailing\n\nservice add -t 10.0.0.1:80\n",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].text, "role   redirector");
        assert_eq!(e[1].line, 5);
        assert!(parse_file("").unwrap().is_empty());
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            usage("role client\nservice add tcp 10.0.0.300:80\n"),
            "line 2: service add: invalid service address '10.0.0.300' (expected an IPv4 address)"
        );
        assert_eq!(
            usage(
                "service add tcp 10.0.0.1:80\nreplica add tcp 10.0.0.1:80 10.0.0.2 weight 70000\n"
            ),
            "line 2: replica add: weight '70000' out of range (0..65535)"
        );
        assert_eq!(
            usage("service add tcp 10.0.0.1:80\nservice add tcp 10.0.0.1:80 sched rr\n"),
            "line 2: service tcp 10.0.0.1:80 is already added on line 1"
        );
        assert_eq!(
            usage("service add tcp 10.0.0.1:80\nreplica add udp 10.0.0.1:80 10.0.0.2\n"),
            "line 2: replica 10.0.0.2 of service udp 10.0.0.1:80, which no earlier line adds"
        );
        assert_eq!(
            usage("service add tcp 10.0.0.1:80\nreplica add tcp 10.0.0.1:80 10.0.0.2\nreplica set tcp 10.0.0.1:80 10.0.0.2 down\n"),
            "line 3: replica 10.0.0.2 of service tcp 10.0.0.1:80 is already added on line 2"
        );
        assert_eq!(
            usage("role client\n\nrole redirector\n"),
            "line 3: a second role line (the first is line 1)"
        );
        assert_eq!(usage("role\n"), "line 1: 'role' needs the roles to set");
        assert_eq!(
            usage("role master\n"),
            "line 1: role: unexpected argument 'master'"
        );
        assert!(usage("service del tcp 10.0.0.1:80\n").starts_with("line 1: 'service del' cannot"));
        assert!(usage("service\n").starts_with("line 1: 'service ' cannot"));
        assert!(
            usage("replica del tcp 10.0.0.1:80 10.0.0.2\n").starts_with("line 1: 'replica del'")
        );
        assert_eq!(
            usage("flush\n"),
            "line 1: unknown command 'flush' (expected role, set, service add or replica add)"
        );
        assert_eq!(
            usage("service add tcp 10.0.0.1:80 persistent\n"),
            "line 1: service add: unexpected argument 'persistent'"
        );
    }

    #[test]
    fn restore_errors_are_usage_errors_naming_restore() {
        let e = parse_file("bogus\n").unwrap_err().context("restore");
        assert_eq!(e.exit_code(), 64);
        assert_eq!(
            e.to_string(),
            "restore: line 1: unknown command 'bogus' (expected role, set, service add or replica add)"
        );
    }
}
