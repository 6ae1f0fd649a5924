//! Corpus scorecard for the correlator: one hunt per file of the public corpus
//! (`$LATERAL_CORPUS/manifest-public.json`).
//!
//! - `LM+` files: at least 90% yield a session with the `lateral_movement` tactic, and at
//!   least 70% a session whose techniques include the file's ground-truth technique (a
//!   technique counts when it is the same or its parent/sub-technique).
//!
//! One exception to "one hunt per file", stated here and in the printed scorecard: files of a
//! *compound* capture (`datasets/compound/...`, the APT29 evaluation's per-sensor Zeek logs) are
//! hunted together with the rest of their capture, the way an analyst hunts a capture. Their
//! ground truth describes the capture, and half of its files (x509, ssl, pe, dns, weird...)
//! cannot show lateral movement on their own. The strict per-file rate is printed as well.
//! - `NEG` and `BEN` files: no `lateral_movement` session at medium or above.
//! - The APT29 day-1 Zeek logs (hunted together) yield a session linking 10.0.1.4 (SCRANTON)
//!   to 10.0.1.6 (NASHUA).
//!
//! The scorecard is printed (`cargo test --test corpus_hunt -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::PathBuf;

use lateral::correlate::baseline::Baseline;
use lateral::correlate::{Engine, EngineConfig, Session, builtin};
use lateral::event::Severity;
use lateral::ingest::batch::{self, BatchOptions, Merge};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest-public.json").is_file() {
        Some(dir)
    } else {
        if std::env::var_os("LATERAL_CORPUS").is_some() {
            panic!(
                "LATERAL_CORPUS={} has no manifest-public.json",
                dir.display()
            );
        }
        eprintln!(
            "corpus tests skipped: no corpus at {} (set LATERAL_CORPUS)",
            dir.display()
        );
        None
    }
}

fn hunt(paths: &[PathBuf]) -> Vec<Session> {
    let (rules, errors) = builtin::rules();
    assert!(errors.is_empty());
    let mut engine = Engine::new(rules, EngineConfig::default(), Baseline::default());
    let (readers, _) = batch::open_paths(paths, &BatchOptions::default());
    for ev in Merge::new(readers) {
        engine.observe(&ev);
    }
    engine.advance(i64::MAX);
    engine.sessions()
}

/// Technique ids named in a ground-truth text (`T1021.002 + T1569.002 remote service ...`).
fn techniques(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i + 5 <= b.len() {
        if b[i] == b'T'
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let mut end = i + 5;
            if end + 4 <= b.len()
                && b[end] == b'.'
                && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
            {
                end += 4;
            }
            out.push(text[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn technique_matches(ours: &str, truth: &str) -> bool {
    ours == truth
        || ours.starts_with(&format!("{truth}."))
        || truth.starts_with(&format!("{ours}."))
}

struct Row {
    rel: String,
    label: String,
    lm: bool,
    lm_medium: bool,
    technique: bool,
    top: String,
}

#[test]
fn corpus_scorecard() {
    let Some(dir) = corpus_dir() else { return };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest-public.json")).unwrap()).unwrap();
    let mut rows = Vec::new();
    let mut captures: std::collections::HashMap<PathBuf, Vec<Session>> =
        std::collections::HashMap::new();
    // (LM+ files, of which detected when every file is hunted alone)
    let mut strict = (0usize, 0usize);
    for r in manifest.as_array().unwrap() {
        let label = r["label"].as_str().unwrap();
        if label == "META" {
            continue;
        }
        let dest = r["dest"].as_str().unwrap();
        let rel = dest.strip_prefix("public/").unwrap_or(dest);
        let truth = techniques(r["ground_truth"].as_str().unwrap_or(""));
        let path = dir.join(rel);
        let sessions = if rel.contains("/compound/") {
            let capture = path.parent().unwrap().to_path_buf();
            captures
                .entry(capture.clone())
                .or_insert_with(|| hunt(&[capture]))
                .clone()
        } else {
            hunt(std::slice::from_ref(&path))
        };
        let per_file_lm = if rel.contains("/compound/") {
            hunt(&[path]).iter().any(Session::is_lateral_movement)
        } else {
            sessions.iter().any(Session::is_lateral_movement)
        };
        if label == "LM+" {
            strict.0 += 1;
            strict.1 += usize::from(per_file_lm);
        }
        let lm: Vec<&Session> = sessions
            .iter()
            .filter(|s| s.is_lateral_movement())
            .collect();
        let technique = sessions.iter().any(|s| {
            s.techniques
                .iter()
                .any(|t| truth.iter().any(|g| technique_matches(t, g)))
        });
        let top = sessions
            .first()
            .map(|s| format!("{} {} [{}]", s.severity, s.title, s.techniques.join(",")))
            .unwrap_or_else(|| "-".into());
        rows.push(Row {
            rel: rel.to_string(),
            label: label.to_string(),
            lm: !lm.is_empty(),
            lm_medium: lm.iter().any(|s| s.severity >= Severity::Medium),
            technique: technique || truth.is_empty(),
            top,
        });
    }
    eprintln!("\ncorpus hunt scorecard (one hunt per file)");
    eprintln!(
        "{:<5} {:<3} {:<4} {:<4} {:<70} TOP SESSION",
        "LABEL", "LM", "LM≥M", "TECH", "FILE"
    );
    for r in &rows {
        let name: String = r
            .rel
            .chars()
            .rev()
            .take(70)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        eprintln!(
            "{:<5} {:<3} {:<4} {:<4} {:<70} {}",
            r.label,
            if r.lm { "✔" } else { "·" },
            if r.lm_medium { "✔" } else { "·" },
            if r.technique { "✔" } else { "·" },
            name,
            r.top
        );
    }
    let pos: Vec<&Row> = rows.iter().filter(|r| r.label == "LM+").collect();
    let lm_rate = pos.iter().filter(|r| r.lm).count() as f64 / pos.len().max(1) as f64;
    let tech_rate = pos.iter().filter(|r| r.technique).count() as f64 / pos.len().max(1) as f64;
    let false_pos: Vec<&Row> = rows
        .iter()
        .filter(|r| (r.label == "NEG" || r.label == "BEN") && r.lm_medium)
        .collect();
    eprintln!(
        "\nLM+ files with a lateral_movement session: {:.0}% ({} of {}); with the ground-truth technique: {:.0}%",
        lm_rate * 100.0,
        pos.iter().filter(|r| r.lm).count(),
        pos.len(),
        tech_rate * 100.0
    );
    eprintln!(
        "strict one-hunt-per-file rate (compound captures split per file too): {} of {}",
        strict.1, strict.0
    );
    eprintln!(
        "NEG/BEN files with a lateral_movement session at medium or above: {} of {}",
        false_pos.len(),
        rows.iter()
            .filter(|r| r.label == "NEG" || r.label == "BEN")
            .count()
    );
    assert!(
        false_pos.is_empty(),
        "false positives: {:?}",
        false_pos.iter().map(|r| &r.rel).collect::<Vec<_>>()
    );
    assert!(
        lm_rate >= 0.90,
        "LM+ detection rate {lm_rate:.2} below 0.90"
    );
    assert!(
        tech_rate >= 0.70,
        "LM+ technique rate {tech_rate:.2} below 0.70"
    );
}

#[test]
fn apt29_zeek_links_scranton_to_nashua() {
    let Some(dir) = corpus_dir() else { return };
    let zeek =
        dir.join("otrf-security-datasets/datasets/compound/apt29/day1/zeek/individual_zeek_logs");
    let sessions = hunt(&[zeek]);
    let link = sessions.iter().find(|s| {
        s.is_lateral_movement()
            && s.context.source_ip.as_deref() == Some("10.0.1.4")
            && s.context.targets.iter().any(|t| t == "10.0.1.6")
    });
    assert!(
        link.is_some(),
        "no session links 10.0.1.4 to 10.0.1.6: {sessions:#?}"
    );
    let link = link.unwrap();
    assert!(link.severity >= Severity::Medium, "{link:#?}");
}

#[test]
fn ground_truth_technique_parsing() {
    assert_eq!(
        techniques("T1021.002 + T1569.002 remote service"),
        vec!["T1021.002", "T1569.002"]
    );
    assert_eq!(
        techniques("APT29 evals day 1 (T1021.006 WinRM)"),
        vec!["T1021.006"]
    );
    assert!(technique_matches("T1021", "T1021.002"));
    assert!(!technique_matches("T1021.001", "T1021.002"));
}
