// SPDX-License-Identifier: GPL-2.0

//! The YNL spec include/uapi/linux/iprp.yaml, the contract of the family:
//! valid against the kernel's schema (Documentation/netlink/<protocol>.yaml,
//! checked by the kernel's own YNL library with python3-jsonschema); the
//! files generated from it (the UAPI header and src/netlink-gen.[ch], make
//! ynl-gen) are what it generates now (scripts/ynl-gen.sh --check, also run
//! by make lint); and every constant it defines equals the header's as
//! bindgen read them for iprpctl.
//!
//! Needs the kernel source that scripts/build-kernel.sh unpacks
//! ($IPRP_CACHE, default /var/cache/iprp, linux-source-*) and a python3
//! with PyYAML and jsonschema. Without them the test is skipped with a
//! message, unless IPRP_REQUIRE_YNL=1 makes that a failure.
//!
//! Every attribute of the main set must be carried by some operation or
//! nest (the spec is complete). The VM test (vm-tests/tests/30-cli.sh)
//! drives the kernel's ynl CLI with the same spec; vm-tests/run.sh shares
//! the kernel source with the guest read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use iprpctl::uapi::{self, names};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The newest unpacked kernel source with the YNL library.
fn linux_source() -> Option<PathBuf> {
    let cache = std::env::var_os("IPRP_CACHE").unwrap_or_else(|| "/var/cache/iprp".into());
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cache)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-source-"))
                && p.join("tools/net/ynl/pyynl/lib/nlspec.py").is_file()
                && p.join("Documentation/netlink/genetlink-legacy.yaml")
                    .is_file()
        })
        .collect();
    found.sort();
    found.pop()
}

/// A python3 that has PyYAML and jsonschema (the distribution's first:
/// the project's venv, first in make's PATH, has neither).
fn python() -> Option<String> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import yaml, jsonschema"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

fn skip(why: &str) {
    if std::env::var_os("IPRP_REQUIRE_YNL").is_some_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
}

/// `group -> name -> value` from the spec, through the YNL library.
fn spec_constants(py: &str, linux: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let spec = manifest().join("../include/uapi/linux/iprp.yaml");
    let out = Command::new(py)
        .arg(manifest().join("tests/ynl_spec.py"))
        .arg(linux)
        .arg(&spec)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("ok\n"),
        "the YNL spec does not load:\n{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in stdout.lines().filter(|l| *l != "ok") {
        let mut w = line.splitn(3, ' ');
        let (g, n, v) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        let prev = m
            .entry(g.to_string())
            .or_default()
            .insert(n.to_string(), v.to_string());
        assert!(prev.is_none(), "{n} defined twice in the spec");
    }
    m
}

fn header_enum(table: &[(u32, &str)]) -> BTreeMap<String, String> {
    table
        .iter()
        .filter(|(_, n)| !n.starts_with("__"))
        .map(|(v, n)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn ynl_spec_is_valid_and_matches_the_header() {
    let Some(linux) = linux_source() else {
        return skip("no unpacked kernel source with tools/net/ynl (scripts/build-kernel.sh)");
    };
    let Some(py) = python() else {
        return skip("no python3 with PyYAML and jsonschema (python3-yaml, python3-jsonschema)");
    };
    let mut spec = spec_constants(&py, &linux);
    assert_eq!(
        spec.remove("unused-attr"),
        None,
        "attributes of the spec that no operation or nest carries"
    );

    let defines = spec.remove("define").expect("defines");
    assert_eq!(
        defines["IPRP_GENL_NAME"],
        format!("\"{}\"", uapi::genl_name())
    );
    assert_eq!(defines["IPRP_IPPROTO"], uapi::IPRP_IPPROTO.to_string());
    assert_eq!(defines["IPRP_MSG_LEN"], uapi::IPRP_MSG_LEN.to_string());

    let mut header: BTreeMap<&str, BTreeMap<String, String>> = [
        ("iprp_msg_type", header_enum(names::iprp_msg_type)),
        ("iprp_role", header_enum(names::iprp_role)),
        ("iprp_sched", header_enum(names::iprp_sched)),
        ("iprp_state", header_enum(names::iprp_state)),
        ("iprp_known", header_enum(names::iprp_known)),
        ("iprp_event", header_enum(names::iprp_event)),
        ("iprp_cause", header_enum(names::iprp_cause)),
        ("iprp_attr", header_enum(names::iprp_attr)),
        ("iprp_counter", header_enum(names::iprp_counter)),
        ("iprp_cmd", header_enum(names::iprp_cmd)),
    ]
    .into_iter()
    .collect();
    // Operations start at 1 in the spec; the header names the unused 0.
    header
        .get_mut("iprp_cmd")
        .unwrap()
        .remove("IPRP_CMD_UNSPEC");

    let groups: Vec<String> = spec.keys().cloned().collect();
    assert_eq!(
        groups,
        header.keys().map(|s| s.to_string()).collect::<Vec<_>>(),
        "the spec and the header define different enums"
    );
    for (g, want) in &header {
        assert_eq!(&spec[*g], want, "enum {g}: spec vs header");
    }
}

#[test]
fn generated_files_match_the_spec() {
    let Some(linux) = linux_source() else {
        return skip("no unpacked kernel source with tools/net/ynl (scripts/build-kernel.sh)");
    };
    if python().is_none() {
        return skip("no python3 with PyYAML and jsonschema (python3-yaml, python3-jsonschema)");
    }
    let out = Command::new(manifest().join("../scripts/ynl-gen.sh"))
        .arg("--check")
        .arg(&linux)
        .output()
        .expect("run scripts/ynl-gen.sh");
    assert!(
        out.status.success(),
        "the generated netlink files differ from the spec; run make ynl-gen:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
