//! Triage from the command line: a case opened from hunted sessions, its report (golden
//! snapshot), artifacts written as private files, and state that survives kill -9 in the middle
//! of writes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // kills at random wall-clock moments

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn lateral(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(args)
        .env("LATERAL_ANALYST", "ana")
        .output()
        .expect("running lateral")
}

fn samples(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(rel)
        .display()
        .to_string()
}

/// A workspace with the Linux story of the sample day hunted into it and case-1 opened on its
/// most severe session.
fn workspace_with_case(dir: &Path) -> String {
    let ws = dir.join("ws").display().to_string();
    let out = lateral(&[
        "hunt",
        &samples("linux"),
        "--workspace",
        &ws,
        "--output",
        "jsonl",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let id = first["id"].as_str().unwrap().to_string();
    let out = lateral(&["case", "open", &id, "--workspace", &ws]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "case-1");
    ws
}

#[test]
fn report_of_a_worked_case() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace_with_case(dir.path());
    assert!(
        lateral(&[
            "case",
            "step",
            "case-1",
            "isolate-source",
            "--status",
            "done",
            "--workspace",
            &ws
        ])
        .status
        .success()
    );
    let refused = lateral(&[
        "case",
        "step",
        "case-1",
        "reset-credentials",
        "--status",
        "skipped",
        "--workspace",
        &ws,
    ]);
    assert!(
        !refused.status.success(),
        "skipping without a note is refused"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs a note"));
    assert!(
        lateral(&[
            "case",
            "step",
            "case-1",
            "reset-credentials",
            "--status",
            "skipped",
            "--note",
            "key-only account",
            "--workspace",
            &ws
        ])
        .status
        .success()
    );
    let artifacts = dir.path().join("artifacts");
    let out = lateral(&[
        "report",
        "--case",
        "case-1",
        "--workspace",
        &ws,
        "--artifacts",
        &artifacts.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    insta::with_settings!({
        filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z\)", "[when])"),
            (r"generated \d{4}-\d\d-\d\dT[0-9:.]+Z", "generated [now]"),
            // Event ids hash the checkout's absolute path of the sample file.
            (r"\b[0-9a-f]{16}-\d+\b", "[event-id]"),
            // Artifact names carry the session id, which follows from the first event's id.
            (r"-[0-9a-f]{8}\.(sh|ps1|yaml)", "-[session].$1"),
            (r"lateral-quarantine-[0-9a-f]{8}", "lateral-quarantine-[session]"),
        ],
    }, {
        insta::assert_snapshot!("case_report", md);
    });
    // Every artifact is a private file; none of them ran.
    let files: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    #[cfg(unix)]
    for f in &files {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
}

#[test]
fn triage_state_survives_kill_9_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace_with_case(dir.path());
    let mut completed = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lateral"))
            .args([
                "case",
                "note",
                "case-1",
                &format!("note-{i}"),
                "--workspace",
                &ws,
            ])
            .spawn()
            .unwrap();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_millis(state % 40));
        let _ = child.kill();
        if child.wait().unwrap().success() {
            completed.push(format!("note-{i}"));
        }
    }
    let text = std::fs::read_to_string(Path::new(&ws).join("triage.json")).unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&text).expect("triage.json is whole after kill -9");
    let notes: Vec<String> = state["cases"][0]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect();
    for c in &completed {
        assert!(notes.contains(c), "a completed note was lost: {c}");
    }
    for n in &notes {
        assert!(n.starts_with("note-"), "unexpected note {n}");
    }
    // The case and its checklist are intact.
    let out = lateral(&["case", "show", "case-1", "--workspace", &ws]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("isolate-source"));
}
