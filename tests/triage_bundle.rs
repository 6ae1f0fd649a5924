//! Case bundles: `lateral case export` writes the case and its events, and `lateral hunt` of
//! the bundle reproduces the case's sessions (same ids, severity and attack-chain case).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lateral(args: &[&str]) -> Output {
    // LATERAL_TEST_BIN overrides the binary: with a target directory shared by several
    // checkouts, the uplifted `target/debug/lateral` may be another checkout's build.
    let bin = std::env::var("LATERAL_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lateral").to_string());
    Command::new(bin)
        .args(args)
        .env("LATERAL_ANALYST", "tester")
        .output()
        .expect("run lateral")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// (id, severity, case) of every session in `jsonl` output.
fn sessions(jsonl: &str) -> BTreeSet<(String, String, String)> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["severity"].to_string(),
                v["case"].to_string(),
            )
        })
        .collect()
}

#[test]
fn exported_bundle_hunts_into_the_same_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    let syslog = fixture("syslog");
    let windows = fixture("windows-json/otrf-psexec-target.json");
    let inputs = [syslog.to_str().unwrap(), windows.to_str().unwrap()];

    let hunt = lateral(&[
        "hunt",
        inputs[0],
        inputs[1],
        "--workspace",
        ws,
        "-o",
        "jsonl",
    ]);
    assert!(hunt.status.success(), "{}", text(&hunt.stderr));
    let original = sessions(&text(&hunt.stdout));
    assert!(original.len() >= 2, "{original:?}");

    let mut open = vec!["case", "open", "--workspace", ws];
    let ids: Vec<String> = original.iter().map(|s| s.0.clone()).collect();
    open.extend(ids.iter().map(String::as_str));
    let opened = lateral(&open);
    assert!(opened.status.success(), "{}", text(&opened.stderr));
    let case = text(&opened.stdout).trim().to_string();

    let bundle = dir.path().join("case.jsonl");
    let export = lateral(&[
        "case",
        "export",
        &case,
        "--out",
        bundle.to_str().unwrap(),
        "--workspace",
        ws,
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));

    // The header carries the case and the rules that fired; every other line is an event.
    let body = std::fs::read_to_string(&bundle).unwrap();
    let mut lines = body.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["lateral_bundle"], 1);
    assert_eq!(header["case"]["id"], case.as_str());
    assert_eq!(
        header["case"]["sessions"].as_array().unwrap().len(),
        original.len()
    );
    assert!(!header["rules"].as_array().unwrap().is_empty());
    assert_eq!(header["events"].as_u64().unwrap() as usize, lines.count());

    // Hunting the bundle alone (no workspace) yields the case's sessions again.
    let again = lateral(&["hunt", bundle.to_str().unwrap(), "-o", "jsonl"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let reproduced = sessions(&text(&again.stdout));
    assert_eq!(reproduced, original);

    // A damaged line is a per-record error: the rest of the bundle still hunts.
    let damaged = dir.path().join("damaged.jsonl");
    let mut lines: Vec<&str> = body.lines().collect();
    lines.insert(2, "{not json");
    std::fs::write(&damaged, lines.join("\n")).unwrap();
    let partial = lateral(&["hunt", damaged.to_str().unwrap(), "-o", "jsonl"]);
    assert!(
        text(&partial.stderr).contains("malformed"),
        "{}",
        text(&partial.stderr)
    );
    assert_eq!(sessions(&text(&partial.stdout)), original);
}

#[test]
fn export_without_an_index_or_case_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    let out = dir.path().join("b.jsonl");
    let r = lateral(&[
        "case",
        "export",
        "case-9",
        "--out",
        out.to_str().unwrap(),
        "--workspace",
        ws,
    ]);
    assert!(!r.status.success());
    assert!(text(&r.stderr).contains("no case"), "{}", text(&r.stderr));
    assert!(!out.exists());
}
