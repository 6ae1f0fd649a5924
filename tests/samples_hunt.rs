//! The golden test of the product's first minute: what `lateral events samples/` and
//! `lateral hunt samples/` must report on the bundled sample day (`samples/README.md` tells
//! the stories).
//!
//! - every sample file decodes with zero errors in its expected format;
//! - the hunt finds exactly the planted sessions, each with its context, case, severity and
//!   key rules, and nothing else above low (the low sessions are routine SSH and RDP logins);
//! - with `--baseline samples/baseline`, the intruder's never-seen flows are new destinations
//!   (and confirm the lateral movement) and no benign flow is;
//! - `samples/` is exactly what the generator writes (`lateral simulate --samples`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use lateral::correlate::baseline::Baseline;
use lateral::correlate::{Case, Engine, EngineConfig, Session, builtin};
use lateral::event::{Event, Severity};
use lateral::ingest::SourceReport;
use lateral::ingest::batch::{self, BatchOptions, BatchSink, Merge};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn learn(paths: &[PathBuf]) -> Baseline {
    let (readers, failed) = batch::open_paths(paths, &BatchOptions::default());
    assert!(failed.is_empty(), "{failed:?}");
    let mut learner = Engine::new(Vec::new(), EngineConfig::default(), Baseline::default());
    for ev in Merge::new(readers) {
        learner.observe(&ev);
    }
    learner.advance(i64::MAX);
    let mut b = learner.baseline().clone();
    b.finish_learning();
    b
}

/// What `lateral hunt PATHS [--baseline B]` computes.
fn hunt(paths: &[PathBuf], baseline: Option<&Path>) -> Vec<Session> {
    let (rules, errors) = builtin::rules();
    assert!(errors.is_empty());
    let b = baseline.map_or_else(Baseline::default, |p| learn(&[p.to_path_buf()]));
    let mut engine = Engine::new(rules, EngineConfig::default(), b);
    let (readers, failed) = batch::open_paths(paths, &BatchOptions::default());
    assert!(failed.is_empty(), "{failed:?}");
    for ev in Merge::new(readers) {
        engine.observe(&ev);
    }
    engine.advance(i64::MAX);
    engine.sessions()
}

struct Expect {
    story: &'static str,
    context: &'static str,
    case: Option<Case>,
    severity: Severity,
    rule_id: &'static str,
    rules: &'static [&'static str],
}

/// Every session at medium or above that `lateral hunt samples/` reports.
const EXPECTED: &[Expect] = &[
    Expect {
        story: "k8s: compromised frontend pod",
        context: "pod:shop/frontend-6d8f9b7c4d-k2x9p",
        case: Some(Case::Comprehensive),
        severity: Severity::Critical,
        rule_id: "lateral-movement-chain",
        rules: &[
            "web-server-spawns-shell",
            "se-discovery-commands",
            "nr-k8s-dns-enumeration",
            "ch-k8s-service-account-token",
            "ch-cloud-metadata",
            "ew-port-scan",
            "ew-auth-sweep",
            "auth-failures-multiple-hosts",
            "ra-ssh-outbound",
        ],
    },
    Expect {
        story: "windows: WS01's address on the wire (Zeek)",
        context: "host:ws01",
        case: None,
        severity: Severity::High,
        rule_id: "win-remote-service",
        rules: &[
            "win-admin-protocol-flow",
            "win-admin-share",
            "win-remote-file-copy",
            "win-remote-service",
        ],
    },
    Expect {
        story: "windows: jdoe's logon on WS01 (discovery, mimikatz), continued on FS01 and DC01 by the PsExec network logons",
        context: "win:ws01:logon:0x2a7f31",
        case: Some(Case::CredentialBased),
        severity: Severity::High,
        rule_id: "ch-credential-tools",
        rules: &[
            "ch-credential-tools",
            "ch-lsass-access",
            "se-discovery-commands",
            "win-admin-share",
            "win-pass-the-hash",
            "win-psexec",
            "win-remote-file-copy",
            "win-remote-service",
            "win-renamed-psexec-pipe",
        ],
    },
    Expect {
        story: "windows: the pass-the-hash NewCredentials logon on WS01",
        context: "win:ws01:logon:0x3b8e21",
        case: None,
        severity: Severity::High,
        rule_id: "win-pass-the-hash",
        rules: &["win-pass-the-hash"],
    },
    Expect {
        story: "windows: PSEXESVC and its shell on FS01",
        context: "host:fs01",
        case: Some(Case::EnumerationWithAccess),
        severity: Severity::High,
        rule_id: "win-psexec",
        rules: &["win-psexec", "se-discovery-commands"],
    },
    Expect {
        story: "windows: PSEXESVC and its shell on DC01",
        context: "host:dc01",
        case: Some(Case::EnumerationWithAccess),
        severity: Severity::High,
        rule_id: "win-psexec",
        rules: &["win-psexec", "se-discovery-commands"],
    },
    Expect {
        story: "linux: password guessing from build-7",
        context: "ip:10.30.2.7",
        case: None,
        severity: Severity::High,
        rule_id: "ew-auth-sweep",
        rules: &["ew-auth-sweep", "auth-failures-multiple-hosts"],
    },
    Expect {
        story: "linux: jenkins's interactive session on app-2 (sudo, root's key)",
        context: "linux:app-2:ses:57",
        case: Some(Case::CredentialBasedInteractive),
        severity: Severity::High,
        rule_id: "lateral-movement-chain",
        rules: &[
            "ra-ssh-accepted",
            "se-discovery-commands",
            "ch-ssh-private-key",
        ],
    },
];

fn check(sessions: &[Session], expected: &[Expect]) {
    let above_low: BTreeMap<&str, &Session> = sessions
        .iter()
        .filter(|s| s.severity >= Severity::Medium)
        .map(|s| (s.context.key.as_str(), s))
        .collect();
    let table: Vec<String> = above_low
        .values()
        .map(|s| {
            format!(
                "{} {:?} {} {} {:?}",
                s.severity, s.case, s.rule_id, s.context.key, s.rules
            )
        })
        .collect();
    assert_eq!(
        above_low.len(),
        expected.len(),
        "sessions at medium or above:\n{}",
        table.join("\n")
    );
    for e in expected {
        let s = above_low.get(e.context).unwrap_or_else(|| {
            panic!(
                "{}: no session in {}\n{}",
                e.story,
                e.context,
                table.join("\n")
            )
        });
        assert_eq!(s.case, e.case, "{}: case", e.story);
        assert_eq!(s.severity, e.severity, "{}: severity", e.story);
        assert_eq!(s.rule_id, e.rule_id, "{}: rule_id", e.story);
        for r in e.rules {
            assert!(
                s.rules.iter().any(|x| x == r),
                "{}: {r} missing from {:?}",
                e.story,
                s.rules
            );
        }
    }
    // Everything else is routine access: administrators' and deploys' SSH and RDP logins (an
    // RDP login continues the admin's context on the machine it came from, with the flow to
    // the RDP port that carried it).
    for s in sessions.iter().filter(|s| s.severity < Severity::Medium) {
        assert_eq!(s.severity, Severity::Low, "{s:#?}");
        let rdp = s.rules.iter().any(|r| r == "win-rdp-logon");
        assert!(
            s.rules.iter().all(|r| r == "ra-ssh-accepted"
                || r == "win-rdp-logon"
                || (rdp && r == "win-admin-protocol-flow")),
            "unexpected low session: {} {:?}",
            s.context.key,
            s.rules
        );
    }
}

#[test]
fn hunt_samples_finds_exactly_the_planted_stories() {
    let sessions = hunt(&[samples()], None);
    check(&sessions, EXPECTED);
    let critical: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.severity == Severity::Critical)
        .collect();
    assert_eq!(critical.len(), 1);
    assert_eq!(critical[0].title, "Comprehensive Lateral Movement");
    // The pod's session names the database node it reached.
    assert!(
        critical[0]
            .context
            .targets
            .iter()
            .any(|t| t == "10.20.12.7"),
        "{:?}",
        critical[0].context.targets
    );
}

#[test]
fn the_baseline_reveals_the_intruders_new_destinations() {
    let base = samples().join("baseline");
    // The cluster alone: Hubble's view of the pod's 20 never-seen internal pairs (the
    // Alpine mirror it downloaded sshpass from is external, so not lateral).
    let sessions = hunt(&[samples().join("k8s")], Some(&base));
    let above: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.severity >= Severity::Medium)
        .collect();
    assert_eq!(above.len(), 1, "{above:#?}");
    let pod = above[0];
    assert_eq!(pod.context.key, "pod:shop/frontend-6d8f9b7c4d-k2x9p");
    assert_eq!(pod.case, Some(Case::Comprehensive));
    for r in ["ew-new-destination", "ew-confirmed-lateral-movement"] {
        assert!(pod.rules.iter().any(|x| x == r), "{r}: {:?}", pod.rules);
    }
    let new_dest = pod
        .explanation
        .iter()
        .find(|e| e.contains("(ew-new-destination)"))
        .unwrap();
    assert!(new_dest.ends_with("(x20)"), "{new_dest}");
    // Everything: the same stories, the VPC flow logs adding the same connections by
    // address, and still no benign flow reported.
    let sessions = hunt(&[samples()], Some(&base));
    check(&sessions, EXPECTED);
    let pod = sessions
        .iter()
        .find(|s| s.context.key == "pod:shop/frontend-6d8f9b7c4d-k2x9p")
        .unwrap();
    let new_dest = pod
        .explanation
        .iter()
        .find(|e| e.contains("(ew-new-destination)"))
        .unwrap();
    assert!(new_dest.ends_with("(x37)"), "{new_dest}");
    for s in sessions.iter().filter(|s| s.context.key != pod.context.key) {
        assert!(
            !s.rules.iter().any(|r| r == "ew-new-destination"),
            "{:?}",
            s.context.key
        );
    }
}

struct Reports(Vec<SourceReport>, u64);

impl BatchSink for Reports {
    fn event(&mut self, _: Event) -> ControlFlow<()> {
        self.1 += 1;
        ControlFlow::Continue(())
    }
    fn source_done(&mut self, r: SourceReport) {
        self.0.push(r);
    }
}

#[test]
fn every_sample_file_decodes_without_errors() {
    let mut sink = Reports(Vec::new(), 0);
    let _ = batch::read_paths(
        &[samples()],
        &BatchOptions {
            strict: true,
            ..BatchOptions::default()
        },
        &mut sink,
    );
    let Reports(reports, events) = sink;
    assert!(reports.len() >= 40, "{} sources", reports.len());
    for r in &reports {
        assert!(r.readable(), "{r:?}");
        assert_eq!((r.errors, r.lossy), (0, 0), "{r:?}");
        assert!(r.events > 0, "{r:?}");
        let want = if r.path.contains("/hubble/") {
            "hubble"
        } else if r.path.contains("/tetragon/") {
            "tetragon"
        } else if r.path.contains("/falco/") {
            "falco"
        } else if r.path.contains("/windows/") {
            "windows-json"
        } else if r.path.contains("/corp-core/") {
            "zeek-tsv"
        } else if r.path.contains("/dc-segment/") {
            "zeek-json"
        } else if r.path.ends_with("auth.log") {
            "syslog"
        } else if r.path.ends_with("audit.log") {
            "auditd"
        } else if r.path.contains("vpcflowlogs") {
            "vpcflow"
        } else {
            panic!("unexpected sample file {}", r.path)
        };
        assert_eq!(r.format, Some(want), "{}", r.path);
    }
    // samples/README.md is documentation: a directory walk leaves it out.
    assert!(!reports.iter().any(|r| r.path.ends_with(".md")));
    assert!(events > 5000, "{events}");
}

#[test]
fn samples_are_what_the_generator_writes() {
    let dir = samples();
    let generated = lateral::simulate::scenario::samples();
    let mut on_disk = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none_or(|x| x != "md") {
                on_disk.push(
                    p.strip_prefix(&dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    on_disk.sort();
    let names: Vec<&str> = generated.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        on_disk, names,
        "regenerate with `lateral simulate --samples --out samples`"
    );
    for (path, content) in &generated {
        let disk = std::fs::read_to_string(dir.join(path)).unwrap();
        assert!(
            disk == *content,
            "{path} differs from the generator: regenerate with `lateral simulate --samples --out samples`"
        );
    }
}
