// SPDX-License-Identifier: GPL-2.0

//! Runs the real iprpctl binary and the netlink layer against the host
//! kernel, where the iprp module is not loaded.

use std::process::{Command, Output};

use iprpctl::netlink::{resolve_family, MsgBuilder, Socket};
use iprpctl::Error;

fn iprpctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iprpctl"))
        .args(args)
        .output()
        .expect("run iprpctl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn module_loaded() -> bool {
    let mut sock = Socket::generic().expect("netlink socket");
    !matches!(
        resolve_family(&mut sock, "iprp"),
        Err(Error::FamilyNotFound(_))
    )
}

#[test]
fn status_without_the_module_exits_2() {
    if module_loaded() {
        eprintln!("skipped: the iprp module is loaded on this machine");
        return;
    }
    for args in [&["status"][..], &["status", "-j"], &["--json", "status"]] {
        let out = iprpctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            "iprpctl: the iprp module is not loaded (generic netlink family \"iprp\" not found)\n"
        );
        assert!(out.stdout.is_empty());
    }
}

/// A valid invocation of every verb.
const EVERY_VERB: &[&[&str]] = &[
    &["status"],
    &["status", "-j"],
    &["--json", "status"],
    &["role"],
    &["role", "-j"],
    &["role", "client", "redirector", "capacity", "4096"],
    &["role", "none"],
    &[
        "role",
        "client",
        "client-capacity",
        "1024",
        "redirector-capacity",
        "2048",
    ],
    &["set", "tick", "250", "max-held", "0"],
    &["set", "legacy-ttl", "10s"],
    &["set", "mark-syns", "on"],
    &["set", "mark-syns", "off", "tick", "500"],
    &[
        "service",
        "edit",
        "tcp",
        "10.0.0.100:80",
        "unmarked",
        "local",
    ],
    &[
        "service",
        "add",
        "-t",
        "10.0.0.100:81",
        "unmarked",
        "redirect",
    ],
    &["role", "redirector", "legacy-capacity", "1024"],
    &["legacy"],
    &["legacy", "list", "-j"],
    &["legacy", "list", "client", "10.0.0.21"],
    &["legacy", "forget", "10.0.0.21"],
    &["legacy", "flush"],
    &["zero"],
    &[
        "flows",
        "service",
        "tcp",
        "10.0.0.100:80",
        "client",
        "10.0.0.1",
    ],
    &[
        "bindings",
        "-u",
        "10.0.0.100:53",
        "redirector",
        "10.0.0.100",
    ],
    &["list", "--stats"],
    &["service", "add", "tcp", "10.0.0.100:80", "sched", "wrr"],
    &[
        "service",
        "add",
        "-u",
        "10.0.0.100:53",
        "idle-timeout",
        "30s",
    ],
    &["service", "del", "tcp", "10.0.0.100:80"],
    &[
        "replica",
        "add",
        "tcp",
        "10.0.0.100:80",
        "10.0.1.1",
        "weight",
        "3",
    ],
    &[
        "replica",
        "set",
        "tcp",
        "10.0.0.100:80",
        "10.0.1.1",
        "drain",
    ],
    &["replica", "del", "tcp", "10.0.0.100:80", "10.0.1.1"],
    &["list"],
    &["list", "-j"],
    &["bindings"],
    &["bindings", "-k", "-j"],
    &["flows"],
    &["-j", "flows"],
    &["stats"],
    &["stats", "--json"],
    &["service", "edit", "tcp", "10.0.0.100:80", "sched", "rr"],
    &["flush"],
    &["flush", "client", "redirector"],
    &["save"],
    &["restore"],
];

#[test]
fn every_verb_without_the_module_exits_2() {
    if module_loaded() {
        eprintln!("skipped: the iprp module is loaded on this machine");
        return;
    }
    for args in EVERY_VERB {
        let out = iprpctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            "iprpctl: the iprp module is not loaded (generic netlink family \"iprp\" not found)\n",
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn bad_verb_arguments_exit_64_before_any_netlink() {
    for (args, bad) in [
        (
            &["role", "master"][..],
            "role: unexpected argument 'master'",
        ),
        (&["role", "none", "client"], "'none' cannot be combined"),
        (&["role", "client", "capacity"], "'capacity' needs a value"),
        (&["set"], "set: nothing to set"),
        (&["set", "tick", "soon"], "set: invalid tick 'soon'"),
        (&["set", "speed", "1"], "set: unexpected argument 'speed'"),
        (&["set", "legacy-ttl", "1m"], "set: invalid legacy-ttl '1m'"),
        (
            &["set", "mark-syns", "2"],
            "set: invalid mark-syns '2' (expected on or off)",
        ),
        (&["set", "mark-syns"], "set: 'mark-syns' needs a value"),
        (
            &["service", "add", "tcp", "10.0.0.1:80", "unmarked", "maybe"],
            "service add: invalid unmarked 'maybe' (expected local or redirect)",
        ),
        (
            &["service", "edit", "tcp", "10.0.0.1:80", "unmarked"],
            "service edit: 'unmarked' needs a value",
        ),
        (
            &["role", "redirector", "legacy-capacity"],
            "role: 'legacy-capacity' needs a value",
        ),
        (&["legacy", "drop"], "legacy: unknown subcommand 'drop'"),
        (
            &["legacy", "forget"],
            "legacy forget: missing client address (ADDR)",
        ),
        (
            &["legacy", "forget", "10.0.0.300"],
            "legacy forget: invalid client address '10.0.0.300'",
        ),
        (
            &["legacy", "flush", "all"],
            "legacy flush: unexpected argument 'all'",
        ),
        (
            &["legacy", "list", "client", "0.0.0.0"],
            "legacy list: invalid client address '0.0.0.0' (not a unicast address)",
        ),
        (&["zero", "all"], "zero: unexpected argument 'all'"),
        (
            &["flows", "client", "10.0.0.300"],
            "flows: invalid client address '10.0.0.300'",
        ),
        (
            &["bindings", "service", "tcp", "10.0.0.1"],
            "invalid service address '10.0.0.1'",
        ),
        (&["list", "-x"], "list: unknown option '-x'"),
        (&["service"], "service: missing subcommand"),
        (
            &["service", "add", "sctp", "10.0.0.1:80"],
            "unknown protocol 'sctp'",
        ),
        (
            &["service", "add", "tcp", "10.0.0.1"],
            "invalid service address '10.0.0.1'",
        ),
        (
            &["service", "add", "tcp", "10.1.1:80"],
            "invalid service address '10.1.1'",
        ),
        (
            &["service", "add", "tcp", "10.0.0.1:99999"],
            "invalid port '99999'",
        ),
        (
            &["service", "add", "tcp", "10.0.0.1:80", "sched", "fifo"],
            "unknown scheduler 'fifo'",
        ),
        (
            &["service", "add", "tcp", "10.0.0.1:80", "bogus"],
            "service add: unexpected argument 'bogus'",
        ),
        (
            &[
                "replica",
                "add",
                "tcp",
                "10.0.0.1:80",
                "10.0.1.1",
                "weight",
                "65536",
            ],
            "replica add: weight '65536' out of range (0..65535)",
        ),
        (
            &["replica", "add", "tcp", "10.0.0.1:80", "10.0.1.999"],
            "invalid replica address '10.0.1.999'",
        ),
        (
            &["replica", "del", "tcp", "10.0.0.1:80"],
            "missing replica address",
        ),
        (&["list", "extra"], "list: unexpected argument 'extra'"),
        (&["bindings", "--frob"], "bindings: unknown option '--frob'"),
        (&["flows", "x"], "flows: unexpected argument 'x'"),
        (&["stats", "x"], "stats: unexpected argument 'x'"),
        (&["flush", "all"], "flush: unexpected argument 'all'"),
        (&["save", "x"], "save: unexpected argument 'x'"),
        (&["restore", "a", "b"], "restore: unexpected argument 'b'"),
        (
            &["service", "edit", "tcp", "10.0.0.1:80"],
            "service edit: nothing to change",
        ),
    ] {
        let out = iprpctl(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("iprpctl: "), "{args:?}: {err}");
        assert!(err.contains(bad), "{args:?}: {err}");
        assert!(
            err.contains(&format!("Try 'iprpctl {} --help'", args[0])),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn every_verb_has_help() {
    for v in [
        "status", "role", "service", "replica", "list", "bindings", "flows", "legacy", "stats",
        "zero", "set", "flush", "save", "restore",
    ] {
        for args in [&[v, "--help"][..], &["help", v], &[v, "add", "-h"]] {
            let out = iprpctl(args);
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            assert!(
                text(&out.stdout).starts_with(&format!("Usage: iprpctl {v}")),
                "{args:?}"
            );
        }
        let out = iprpctl(&["--help"]);
        assert!(text(&out.stdout).contains(&format!("\n  {v} ")), "{v}");
    }
}

#[test]
fn unknown_verb_is_a_usage_error() {
    let out = iprpctl(&["bogus"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("unknown verb 'bogus'"));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_options_are_usage_errors() {
    for (args, bad) in [
        (&["--frob"][..], "'--frob'"),
        (&["status", "--frob"], "status: unknown option '--frob'"),
        (&["status", "extra"], "status: unexpected argument 'extra'"),
        (&[], "missing verb"),
    ] {
        let out = iprpctl(args);
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        assert!(
            text(&out.stderr).contains(bad),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn help_and_version() {
    let out = iprpctl(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("status"));
    for args in [
        &["status", "--help"][..],
        &["status", "-h"],
        &["help", "status"],
    ] {
        let out = iprpctl(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(text(&out.stdout).starts_with("Usage: iprpctl status"));
    }
    let out = iprpctl(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with(&format!("iprpctl {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn resolves_the_real_nlctrl_family() {
    let mut sock = Socket::generic().expect("netlink socket");
    let f = resolve_family(&mut sock, "nlctrl").expect("resolve nlctrl");
    assert_eq!(f.id, libc::GENL_ID_CTRL as u16);
    assert_eq!(f.name, "nlctrl");
    assert!(f.version >= 1);
    // The same socket keeps working for further requests.
    let again = resolve_family(&mut sock, "nlctrl").expect("resolve nlctrl again");
    assert_eq!(again, f);
}

#[test]
fn unknown_family_is_not_found() {
    let mut sock = Socket::generic().expect("netlink socket");
    match resolve_family(&mut sock, "iprp-no-such") {
        Err(Error::FamilyNotFound(n)) => assert_eq!(n, "iprp-no-such"),
        r => panic!("expected FamilyNotFound, got {r:?}"),
    }
}

#[test]
fn real_kernel_extack_names_the_bad_attribute() {
    // nlctrl's policy caps CTRL_ATTR_FAMILY_NAME at GENL_NAMSIZ - 1 bytes
    // plus NUL: a longer name fails policy validation with an extack
    // pointing at the attribute.
    let mut sock = Socket::generic().expect("netlink socket");
    let mut req = MsgBuilder::genl(
        libc::GENL_ID_CTRL as u16,
        0,
        libc::CTRL_CMD_GETFAMILY as u8,
        1,
    );
    req.put_str(libc::CTRL_ATTR_FAMILY_NAME as u16, &"x".repeat(40));
    match sock.request(req, |_| Ok(())) {
        Err(Error::Kernel(k)) => {
            assert_eq!(k.errno, libc::EINVAL, "{k}");
            assert!(k.extack.msg.is_some(), "no extack message: {k:?}");
            assert_eq!(k.extack.offset, Some(20), "{k:?}");
            assert_eq!(
                k.extack.attr_path,
                Some(vec![libc::CTRL_ATTR_FAMILY_NAME as u16])
            );
        }
        r => panic!("expected a kernel error, got {r:?}"),
    }
}

#[test]
fn dump_of_all_families_ends_with_done() {
    let mut sock = Socket::generic().expect("netlink socket");
    let req = MsgBuilder::genl(
        libc::GENL_ID_CTRL as u16,
        0,
        libc::CTRL_CMD_GETFAMILY as u8,
        1,
    );
    let mut names = Vec::new();
    sock.dump(req, |m| {
        let g = iprpctl::netlink::GenlMsg::parse(m)?;
        if let Some(a) = g.attrs.find(libc::CTRL_ATTR_FAMILY_NAME as u16)? {
            names.push(a.str());
        }
        Ok(())
    })
    .expect("dump families");
    assert!(names.iter().any(|n| n == "nlctrl"), "{names:?}");
    // The socket is usable after a dump.
    resolve_family(&mut sock, "nlctrl").expect("resolve after dump");
}

/// A restore file with a bad line is refused before any netlink, whether
/// or not the module is loaded: exit 64, the line named, nothing sent.
#[test]
fn restore_checks_the_whole_file_first() {
    use std::io::Write;
    use std::process::Stdio;
    let file = "role client redirector\n\
                service add tcp 10.0.0.100:80 sched rr\n\
                replica add tcp 10.0.0.100:80 10.0.0.11 weight 1 up\n\
                replica add tcp 10.0.0.100:80 10.0.0.12 weight 99999\n\
                service add udp 10.0.0.100:53\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_iprpctl"))
        .arg("restore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iprpctl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(file.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        text(&out.stderr),
        "iprpctl: restore: line 4: replica add: weight '99999' out of range (0..65535)\n\
         Try 'iprpctl restore --help' for more information.\n"
    );
    let dir = std::env::temp_dir().join(format!("iprpctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.conf");
    std::fs::write(&path, "# comment\nservice del tcp 10.0.0.1:80\n").unwrap();
    let out = iprpctl(&["restore", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("restore: line 2: 'service del' cannot appear"),
        "{}",
        text(&out.stderr)
    );
    let out = iprpctl(&["restore", "/nonexistent/iprp.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("iprpctl: restore: /nonexistent/iprp.conf: "));
    std::fs::remove_dir_all(&dir).ok();
}
