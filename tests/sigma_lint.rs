//! Bad Sigma input: every invalid document is reported with file, line and reason, the
//! others still load, unsupported log sources are listed (not dropped), and `lateral rules
//! lint` exits 1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;

use lateral::correlate::sigma::{self, LoadOptions, Mapping, State};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures-sigma/invalid");

fn files() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn errors_name_file_line_and_reason() {
    let set = sigma::load(
        &files(),
        &Mapping::builtin().unwrap(),
        &LoadOptions::default(),
    );
    let errors: Vec<String> = set.errors().iter().map(|e| e.to_string()).collect();
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("bad_modifier.yml:9: detection.selection.Image|endwith: unknown modifier `endwith`"),
        "{errors:#?}"
    );
    assert!(has(
        "unknown_field.yml:9: detection.selection.Imagee|endswith: unknown field `Imagee`"
    ));
    assert!(has("did you mean `Image`"));
    assert!(has(
        "bad_regex.yml:10: detection.selection.CommandLine|re: regular expression does not compile"
    ));
    assert!(has("cycle.yml:6: correlation cycle: ping -> pong -> ping"));
    assert!(has("several_documents.yml:12: invalid YAML"));
    assert!(has(
        "several_documents.yml:25: correlation.rules: unknown rule `no_such_rule`"
    ));
    assert!(has(
        "several_documents.yml:35: detection.condition: unknown search `filter`"
    ));
    assert_eq!(errors.len(), 8, "{errors:#?}");
    // A malformed document never stops the others.
    let loaded: Vec<&str> = set.rules.iter().map(|r| r.meta.id.as_str()).collect();
    assert_eq!(loaded, vec!["good-rule", "several-1", "several-3"]);
    // Log sources lateral cannot feed are listed with the reason, and so is what needs them.
    let why = |id: &str| {
        set.listed
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.state.clone())
            .unwrap()
    };
    assert!(
        matches!(why("unsupported-cloudtrail"), State::Unsupported(w) if w.contains("CloudTrail"))
    );
    assert!(
        matches!(why("unsupported-corr"), State::Unsupported(w) if w.contains("unsupported-cloudtrail"))
    );
}

#[test]
fn lint_command_exits_1_and_prints_every_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(["rules", "lint", DIR])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("error: ")).count(),
        8,
        "{stdout}"
    );
    assert!(stdout.contains(&format!(
        "{}:9: detection.selection.Image|endwith",
        Path::new(DIR).join("bad_modifier.yml").display()
    )));
    let good = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args([
            "rules",
            "lint",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures-sigma/lateral"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
}

#[test]
fn list_and_test_commands() {
    let lateral = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures-sigma/lateral");
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(["rules", "list", "--sigma", lateral, "--sigma", DIR])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("win-psexec "),
        "shipped rules are listed too"
    );
    assert!(stdout.contains("6c1f5a02-7c0e-4b64-9f0e-6d0a3d1f4b05"));
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("unsupported") && l.contains("CloudTrail"))
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("invalid") && l.contains("bad-modifier"))
    );

    // `rules test`: the matching event and why; a non-matching one of the same log source and
    // which search failed.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sysmon.json");
    std::fs::write(
        &log,
        concat!(
            r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1","UtcTime":"2024-06-01 10:00:00.000","Image":"C:\\Windows\\System32\\cmd.exe","ParentImage":"C:\\Windows\\System32\\services.exe","CommandLine":"cmd.exe /c whoami"}"#,
            "\n",
            r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1","UtcTime":"2024-06-01 10:00:01.000","Image":"C:\\Windows\\System32\\cmd.exe","ParentImage":"C:\\Windows\\explorer.exe","CommandLine":"cmd.exe"}"#,
            "\n"
        ),
    )
    .unwrap();
    let rule = Path::new(lateral).join("psexec.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(["rules", "test"])
        .arg(&rule)
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("MATCH"), "{stdout}");
    assert!(stdout.contains("✔ selection"), "{stdout}");
    assert!(
        stdout.contains(
            "ParentImage|endswith: \\services.exe failed (event: `C:\\Windows\\explorer.exe`)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "6c1f5a02-7c0e-4b64-9f0e-6d0a3d1f4a04: 1 of 2 event(s) of its log source matched"
        ),
        "{stdout}"
    );
}
