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

/// The index only narrows: on every corpus event, every rule that matches when evaluated
/// directly is among the index's candidates (shipped rules and our Sigma fixtures alike).
#[test]
fn index_never_hides_a_match() {
    use lateral::correlate::detection::FieldRef;
    use lateral::correlate::sigma::index::{Entry, Index};
    use lateral::correlate::sigma::mapping::Source;
    use lateral::event::Field;
    let Some(dir) = corpus_dir() else { return };
    let (rules, _) = lateral::correlate::builtin::rules();
    let sources: Vec<Vec<Source>> = rules
        .iter()
        .map(|r| {
            r.logsource
                .datasets
                .iter()
                .map(|d| Source {
                    dataset: Some(d.clone()),
                    module: None,
                    codes: Vec::new(),
                    conditions: Vec::new(),
                    profile: String::new(),
                })
                .collect()
        })
        .collect();
    let mut index = Index::build(
        rules
            .iter()
            .zip(&sources)
            .enumerate()
            .map(|(i, (r, s))| Entry {
                rule: i as u32,
                variant: 0,
                sources: s,
                detection: &r.detection,
                event_id_field: Some(FieldRef::Normalized(Field::EventCode)),
            }),
    )
    .unwrap();
    let mut texts: Vec<(String, String)> = RULES
        .iter()
        .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
        .collect();
    texts.push((
        "modifiers.yml".into(),
        include_str!("fixtures-sigma/modifiers/modifiers.yml").into(),
    ));
    let mut opts = LoadOptions::default();
    opts.placeholders
        .insert("Administrators".into(), vec!["CORP\\adm-*".into()]);
    let mut set = sigma::load(&texts, &Mapping::builtin().unwrap(), &opts);
    let (readers, _) = batch::open_paths(&[dir], &BatchOptions::default());
    let (mut events, mut checked) = (0u64, 0u64);
    for ev in Merge::new(readers) {
        events += 1;
        let cands: Vec<usize> = index
            .candidates(&ev)
            .iter()
            .map(|t| t.rule as usize)
            .collect();
        for (i, r) in rules.iter().enumerate() {
            if r.logsource.datasets.is_empty() || !r.admits(&ev) || !r.detection.matches(&ev) {
                continue;
            }
            checked += 1;
            assert!(
                cands.contains(&i),
                "{} matches {} but is not a candidate",
                r.id,
                ev.id
            );
        }
        let hits: Vec<usize> = set
            .observe(&ev)
            .map(|o| o.hits.iter().map(|h| h.rule).collect())
            .unwrap_or_default();
        for i in 0..set.rules.len() {
            // Rules that only feed correlations report no hits of their own.
            if set.rules[i].emit
                && let Some(v) = set.variant_for(i, &ev)
                && v.detection.matches(&ev)
            {
                checked += 1;
                assert!(
                    hits.contains(&i),
                    "{} matches {} but was not found",
                    set.rules[i].meta.id,
                    ev.id
                );
            }
        }
    }
    eprintln!("{events} corpus events, {checked} direct matches all found through the index");
    assert!(checked > 100);
}
