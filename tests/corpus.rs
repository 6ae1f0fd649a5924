//! The shared corpus of real public logs (`$LATERAL_CORPUS`, default `../shared/corpus`):
//! every data file in `manifest-public.json` must be detected without `--format` as the right
//! format and decode to exactly the manifest's event count with zero errors.
//!
//! Without the corpus the tests print that they were skipped (CI sets the variable and fails
//! when it is missing).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::corpus_dir;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

use lateral::event::{Event, Field};
use lateral::ingest::SourceReport;
use lateral::ingest::batch::{self, BatchOptions, BatchSink};

struct Entry {
    path: PathBuf,
    rel: String,
    format: String,
    label: String,
    events: u64,
}

fn entries(dir: &std::path::Path) -> Vec<Entry> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest-public.json")).unwrap()).unwrap();
    manifest
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["label"] != "META")
        .map(|r| {
            let dest = r["dest"].as_str().unwrap();
            let rel = dest.strip_prefix("public/").unwrap_or(dest).to_string();
            Entry {
                path: dir.join(&rel),
                rel,
                format: r["format"].as_str().unwrap().to_string(),
                label: r["label"].as_str().unwrap().to_string(),
                events: r["stats"]["events"].as_u64().unwrap(),
            }
        })
        .collect()
}

/// Our format name for the manifest's format description.
fn expected_format(manifest_format: &str) -> &'static str {
    let f = manifest_format.to_ascii_lowercase();
    if f.starts_with("evtx") {
        "evtx"
    } else if f.contains("windows events") {
        "windows-json"
    } else if f.starts_with("zeek json") {
        "zeek-json"
    } else if f.starts_with("zeek tsv") {
        "zeek-tsv"
    } else if f.starts_with("syslog") {
        "syslog"
    } else if f.starts_with("hubble") {
        "hubble"
    } else if f.starts_with("tetragon") {
        "tetragon"
    } else if f.starts_with("falco") {
        "falco"
    } else if f.starts_with("aws vpc") {
        "vpcflow"
    } else {
        panic!("no expected format for manifest format {manifest_format:?}")
    }
}

#[derive(Default)]
struct Read {
    events: Vec<Event>,
    reports: Vec<SourceReport>,
}

impl BatchSink for Read {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        self.events.push(event);
        ControlFlow::Continue(())
    }
    fn source_done(&mut self, report: SourceReport) {
        self.reports.push(report);
    }
}

fn read(path: &std::path::Path) -> Read {
    let mut r = Read::default();
    let _ = batch::read_paths(&[path.to_path_buf()], &BatchOptions::default(), &mut r);
    r
}

#[test]
fn every_corpus_file_decodes_to_the_manifest_count() {
    let Some(dir) = corpus_dir() else { return };
    let mut failures = Vec::new();
    let mut by_format: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for e in entries(&dir) {
        let want_format = expected_format(&e.format);
        let r = read(&e.path);
        let events: u64 = r.reports.iter().map(|r| r.events).sum();
        let errors: u64 = r.reports.iter().map(|r| r.errors).sum();
        let formats: Vec<_> = r.reports.iter().map(|r| r.format).collect();
        let slot = by_format.entry(want_format).or_default();
        slot.0 += 1;
        let ok = events == e.events
            && errors == 0
            && formats.iter().all(|f| *f == Some(want_format))
            && r.reports.iter().all(SourceReport::readable);
        if ok {
            slot.1 += 1;
        } else {
            let first = r
                .reports
                .iter()
                .find_map(|r| r.failure.clone().or(r.first_error.clone()));
            failures.push(format!(
                "{} [{}]: want {want_format} x{}, got {formats:?} x{events} with {errors} errors; {first:?}",
                e.rel, e.label, e.events
            ));
        }
    }
    eprintln!("corpus decode scorecard (format: files ok / files):");
    for (f, (n, ok)) in &by_format {
        eprintln!("  {f:14} {ok}/{n}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn find(dir: &std::path::Path, rel: &str) -> Read {
    read(&dir.join(rel))
}

#[test]
fn windows_logons_carry_logon_type_and_source_ip() {
    let Some(dir) = corpus_dir() else { return };
    let r = find(
        &dir,
        "evtx-attack-samples/Lateral Movement/LM_WMI_4624_4688_TargetHost.evtx",
    );
    let logons: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.str(Field::EventCode) == Some("4624"))
        .collect();
    assert!(!logons.is_empty());
    for l in logons {
        assert!(
            l.int(Field::LogonType).is_some(),
            "4624 without logon type: {:?}",
            l.to_json()
        );
        assert!(l.str(Field::HostName).is_some());
    }
    assert!(
        r.events
            .iter()
            .any(|e| e.int(Field::LogonType) == Some(3) && e.ip(Field::SourceIp).is_some()),
        "a network logon with its source address"
    );
}

#[test]
fn zeek_records_carry_both_endpoints() {
    let Some(dir) = corpus_dir() else { return };
    for rel in [
        "otrf-security-datasets/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_smb_mapping.log",
        "zed-sample-data-wrccdc2018/zeek-default/dce_rpc.log.gz",
    ] {
        let r = find(&dir, rel);
        assert!(!r.events.is_empty(), "{rel}");
        for e in &r.events {
            assert!(
                e.ip(Field::SourceIp).is_some() && e.ip(Field::DestinationIp).is_some(),
                "{rel}: {:?}",
                e.to_json()
            );
            assert!(e.int(Field::DestinationPort).is_some(), "{rel}");
        }
    }
}

#[test]
fn hubble_flows_name_their_pods() {
    let Some(dir) = corpus_dir() else { return };
    let r = find(&dir, "hubble-otel/testdata/basic-sample-400-tcp-flows.json");
    assert!(
        r.events
            .iter()
            .any(|e| e.str(Field::OrchestratorResourceName).is_some())
    );
    assert!(r.events.iter().all(|e| e.ip(Field::SourceIp).is_some()));
}
