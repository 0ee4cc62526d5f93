// SPDX-License-Identifier: GPL-2.0

//! docs/cli.md and the iprpctl(8) man page agree with the verb table the
//! `--help` texts come from (`iprpctl::verbs::VERBS`): every verb has its
//! section in docs/cli.md, and every keyword and option of its synopsis
//! appears there; docs/iprpctl.8 is exactly what `iprpctl::man::page()`
//! generates from the same table (regenerate it with
//! `cargo run -p iprpctl -- --man > docs/iprpctl.8`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use iprpctl::verbs::VERBS;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `### \`VERB ...\`` section of docs/cli.md for `verb`, up to the next
/// heading of that level or above.
fn section<'a>(doc: &'a str, verb: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\n### `{verb}"))? + 1;
    let rest = &doc[start..];
    let end = rest[4..]
        .find("\n### ")
        .into_iter()
        .chain(rest[4..].find("\n## "))
        .min()
        .map_or(rest.len(), |e| e + 4);
    Some(&rest[..end])
}

/// The words a synopsis asks the user to type: keywords and options, not
/// the placeholders in capitals.
fn keywords(usage: &str) -> BTreeSet<String> {
    usage
        .split(|c: char| c.is_whitespace() || "[]|".contains(c))
        .filter(|w| !w.is_empty() && w.chars().any(|c| c.is_ascii_lowercase()))
        .filter(|w| *w != "iprpctl")
        .map(str::to_string)
        .collect()
}

#[test]
fn cli_md_documents_every_verb_and_every_keyword_of_its_synopsis() {
    let doc = std::fs::read_to_string(repo().join("docs/cli.md")).unwrap();
    let mut missing = Vec::new();
    for v in VERBS {
        let Some(sec) = section(&doc, v.name) else {
            missing.push(format!("{}: no section in docs/cli.md", v.name));
            continue;
        };
        for w in keywords(v.usage) {
            if !sec.contains(&w) {
                missing.push(format!(
                    "{}: `{w}` of its synopsis is not in its section",
                    v.name
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/cli.md vs --help:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_man_page_is_generated_from_the_verb_table() {
    let committed = std::fs::read_to_string(repo().join("docs/iprpctl.8")).unwrap();
    assert_eq!(
        committed,
        iprpctl::man::page(),
        "docs/iprpctl.8 is stale: cargo run -p iprpctl -- --man > docs/iprpctl.8"
    );
}

#[test]
fn the_check_can_fail() {
    // A keyword a section lacks is found.
    let doc = "x\n### `zero`\n\nzero the counters\n## next\n";
    let sec = section(doc, "zero").unwrap();
    assert!(sec.contains("zero the counters"));
    assert!(!sec.contains("next"));
    assert!(keywords("flows [service tcp|udp VIP:PORT] [-j|--json]").contains("--json"));
    assert!(!keywords("flows [service tcp|udp VIP:PORT]").contains("VIP:PORT"));
}

/// The backticked names of docs/netlink.md: `NAME`, and each name of a
/// comma-separated list inside one pair of backticks.
fn netlink_md_names() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(repo().join("docs/netlink.md")).unwrap();
    doc.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|s| s.split(',').map(|w| w.trim().to_string()))
        .collect()
}

#[test]
fn netlink_md_documents_every_command_and_attribute_of_the_header() {
    use iprpctl::uapi::names;
    let documented = netlink_md_names();
    let mut missing = Vec::new();
    for (table, prefix) in [
        (names::iprp_cmd, "IPRP_CMD_"),
        (names::iprp_attr, "IPRP_A_"),
    ] {
        for (_, n) in table {
            let Some(short) = n.strip_prefix(prefix) else {
                continue;
            };
            if n.starts_with("__") || short == "UNSPEC" || short == "MAX" {
                continue;
            }
            if !documented.contains(short) {
                missing.push(format!("{n}: `{short}` is not in docs/netlink.md"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The gauges `iprpctl stats --prometheus` types as gauges are the ones the
/// module writes as gauges: the `("group", "name", 0)` entries of
/// `put_stats` in src/dump.rs.
#[test]
fn prometheus_gauges_are_the_modules_gauges() {
    let src = std::fs::read_to_string(repo().join("src/dump.rs")).unwrap();
    let start = src
        .find("let mut gauges")
        .expect("put_stats's gauges in src/dump.rs");
    let end = start + src[start..].find("];").unwrap();
    let module: Vec<String> = src[start..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("(\"")?;
            let mut parts = l.split('"');
            let group = parts.next()?;
            let name = parts.nth(1)?;
            Some(format!("{group}.{name}"))
        })
        .collect();
    assert_eq!(module, iprpctl::verbs::stats::GAUGES);
}
