//! Plain Sigma rules (ours, `tests/fixtures-sigma/lateral/`) for PsExec, remote WMI, WinRM and
//! pass-the-hash, run by the engine alone (no shipped rules) on the corpus EVTX files
//! (`$LATERAL_CORPUS/manifest-public.json`): every file whose ground truth names the technique
//! yields a session with it, and the NEG/BEN EVTX files yield none at medium or above.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::PathBuf;

use lateral::correlate::baseline::Baseline;
use lateral::correlate::sigma::{self, LoadOptions, Mapping};
use lateral::correlate::{Engine, EngineConfig, Session};
use lateral::event::Severity;
use lateral::ingest::batch::{self, BatchOptions, Merge};

const RULES: &[(&str, &str)] = &[
    (
        "psexec.yml",
        include_str!("fixtures-sigma/lateral/psexec.yml"),
    ),
    ("wmi.yml", include_str!("fixtures-sigma/lateral/wmi.yml")),
    (
        "winrm.yml",
        include_str!("fixtures-sigma/lateral/winrm.yml"),
    ),
    (
        "pass_the_hash.yml",
        include_str!("fixtures-sigma/lateral/pass_the_hash.yml"),
    ),
];

/// Technique in the ground truth → technique our rules for it carry.
const FAMILIES: &[(&str, &str)] = &[
    ("T1569.002", "T1569.002"),
    ("T1047", "T1047"),
    ("T1021.006", "T1021.006"),
    ("T1550.002", "T1550.002"),
];

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest-public.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "sigma corpus test skipped: no corpus at {} (set LATERAL_CORPUS)",
            dir.display()
        );
        None
    }
}

fn hunt(path: PathBuf) -> Vec<Session> {
    let files: Vec<(String, String)> = RULES
        .iter()
        .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
        .collect();
    let set = sigma::load(
        &files,
        &Mapping::builtin().unwrap(),
        &LoadOptions::default(),
    );
    assert!(set.errors().is_empty(), "{:?}", set.errors());
    let mut engine =
        Engine::new(Vec::new(), EngineConfig::default(), Baseline::default()).with_sigma(set);
    let (readers, _) = batch::open_paths(&[path], &BatchOptions::default());
    for ev in Merge::new(readers) {
        engine.observe(&ev);
    }
    engine.advance(i64::MAX);
    engine.sessions()
}

#[test]
fn plain_sigma_rules_find_lateral_movement_on_the_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest-public.json")).unwrap()).unwrap();
    let mut checked = 0;
    let mut missed = Vec::new();
    let mut false_positives = Vec::new();
    for r in manifest.as_array().unwrap() {
        let dest = r["dest"].as_str().unwrap();
        if !dest.to_ascii_lowercase().ends_with(".evtx") {
            continue;
        }
        let rel = dest.strip_prefix("public/").unwrap_or(dest);
        let label = r["label"].as_str().unwrap_or("");
        let truth = r["ground_truth"].as_str().unwrap_or("");
        let wanted: Vec<&str> = FAMILIES
            .iter()
            .filter(|(t, _)| label == "LM+" && truth.contains(t))
            .map(|(_, ours)| *ours)
            .collect();
        if wanted.is_empty() && label != "NEG" && label != "BEN" {
            continue;
        }
        let sessions = hunt(dir.join(rel));
        for technique in &wanted {
            checked += 1;
            let found = sessions
                .iter()
                .any(|s| s.techniques.iter().any(|t| t == technique));
            eprintln!("{} {technique:<10} {rel}", if found { "✔" } else { "·" });
            if !found {
                missed.push(format!("{rel}: {technique}"));
            }
        }
        if label == "NEG" || label == "BEN" {
            for s in sessions.iter().filter(|s| s.severity >= Severity::Medium) {
                false_positives.push(format!("{rel}: {} ({})", s.title, s.rule_id));
            }
        }
    }
    assert!(
        checked >= 14,
        "only {checked} ground-truth techniques found in the manifest"
    );
    assert!(missed.is_empty(), "missed: {missed:#?}");
    assert!(
        false_positives.is_empty(),
        "false positives: {false_positives:#?}"
    );
}
