//! Scenario tables for the correlator: events in, sessions out. Each attack-chain case gives
//! exactly its severity, each threshold detector fires at and not below its threshold, and
//! the same events in any order within the allowed lateness give identical sessions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use lateral::correlate::baseline::Baseline;
use lateral::correlate::{Case, ChangeKind, Engine, EngineConfig, Session, builtin};
use lateral::event::{Event, Field, Severity};

const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const T0: i64 = 1_717_200_000 * SEC;

fn engine() -> Engine {
    let (rules, errors) = builtin::rules();
    assert!(errors.is_empty());
    Engine::new(rules, EngineConfig::default(), Baseline::default())
}

/// An event at T0 + `secs` with the given fields; ids are unique per (secs, fields).
fn ev(secs: i64, fields: &[(Field, &str)]) -> Event {
    let mut e = Event::new(T0 + secs * SEC);
    for (f, v) in fields {
        e.set(*f, *v);
    }
    e.id = format!(
        "e-{secs}-{:x}",
        lateral::decode::fnv1a(format!("{fields:?}").as_bytes())
    );
    e
}

fn run(events: &[Event]) -> Vec<Session> {
    let mut e = engine();
    for x in events {
        e.observe(x);
    }
    e.advance(i64::MAX);
    e.sessions()
}

/// A process event in a pod (Tetragon).
fn pod_exec(secs: i64, pod: &str, exe: &str, cmd: &str, tty: bool) -> Event {
    let mut fields = vec![
        (Field::EventModule, "tetragon"),
        (Field::EventDataset, "tetragon.events"),
        (Field::EventAction, "process-started"),
        (Field::HostName, "node-1"),
        (Field::OrchestratorNamespace, "shop"),
        (Field::OrchestratorResourceName, pod),
        (Field::ProcessExecutable, exe),
        (Field::ProcessCommandLine, cmd),
    ];
    if tty {
        fields.push((Field::ProcessInteractive, "true"));
    }
    ev(secs, &fields)
}

fn remote_access(secs: i64, pod: &str, tty: bool) -> Event {
    pod_exec(secs, pod, "/usr/bin/ssh", "ssh admin@10.9.0.5", tty)
}
fn credentials(secs: i64, pod: &str) -> Event {
    pod_exec(
        secs,
        pod,
        "/bin/cat",
        "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
        false,
    )
}
fn recon(secs: i64, pod: &str) -> Event {
    pod_exec(secs, pod, "/usr/bin/nmap", "nmap -sS 10.9.0.0/24", false)
}
fn enumeration(secs: i64, pod: &str) -> Event {
    pod_exec(secs, pod, "/usr/bin/whoami", "whoami", false)
}

fn chain_session(sessions: &[Session]) -> Option<&Session> {
    sessions.iter().find(|s| s.case.is_some())
}

#[test]
fn each_chain_case_gives_exactly_its_severity() {
    type Build = fn(i64, &str) -> Event;
    let ra: Build = |s, p| remote_access(s, p, false);
    let ra_tty: Build = |s, p| remote_access(s, p, true);
    let table: &[(&str, &[Build], Option<Case>, Severity)] = &[
        (
            "all four groups",
            &[ra, credentials, recon, enumeration],
            Some(Case::Comprehensive),
            Severity::Critical,
        ),
        (
            "credentials + access, interactive",
            &[ra_tty, credentials],
            Some(Case::CredentialBasedInteractive),
            Severity::High,
        ),
        (
            "recon + access, interactive",
            &[recon, ra_tty],
            Some(Case::ReconnaissanceAndAccessInteractive),
            Severity::High,
        ),
        (
            "credentials + access",
            &[credentials, ra],
            Some(Case::CredentialBased),
            Severity::Medium,
        ),
        (
            "recon + access",
            &[ra, recon],
            Some(Case::ReconnaissanceAndAccess),
            Severity::Medium,
        ),
        (
            "enumeration + access",
            &[enumeration, ra],
            Some(Case::EnumerationWithAccess),
            Severity::Medium,
        ),
        (
            "enumeration + access, interactive",
            &[enumeration, ra_tty],
            Some(Case::EnumerationWithAccess),
            Severity::Medium,
        ),
        ("access alone", &[ra_tty], None, Severity::Info),
        ("enumeration alone", &[enumeration], None, Severity::Info),
        (
            "three groups without access",
            &[credentials, recon, enumeration],
            None,
            Severity::Medium,
        ),
    ];
    for (name, builders, case, severity) in table {
        let events: Vec<Event> = builders
            .iter()
            .enumerate()
            .map(|(i, b)| b(i as i64 * 30, "frontend-7d9f8b6c5d-abcde"))
            .collect();
        let sessions = run(&events);
        let chain = chain_session(&sessions);
        assert_eq!(chain.and_then(|s| s.case), *case, "{name}: {sessions:#?}");
        match case {
            Some(_) => {
                let s = chain.unwrap();
                assert_eq!(s.severity, *severity, "{name}");
                assert_eq!(s.rule_id, "lateral-movement-chain", "{name}");
                assert!(s.is_lateral_movement(), "{name}");
                assert_eq!(sessions.len(), 1, "{name}: one session per context");
            }
            None => {
                let top = sessions
                    .iter()
                    .map(|s| s.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                assert_eq!(top, *severity, "{name}: {sessions:#?}");
            }
        }
    }
}

#[test]
fn groups_outside_the_window_do_not_combine() {
    let sessions = run(&[
        credentials(0, "api-1"),
        remote_access(61 * 60, "api-1", true),
    ]);
    assert!(chain_session(&sessions).is_none(), "{sessions:#?}");
    // Different pods never combine either.
    let sessions = run(&[credentials(0, "api-1"), remote_access(10, "api-2", true)]);
    assert!(chain_session(&sessions).is_none());
}

#[test]
fn a_session_escalates_in_place() {
    let mut e = engine();
    let pod = "frontend-1";
    let mut kinds = Vec::new();
    let mut ids = Vec::new();
    for x in [
        enumeration(0, pod),
        remote_access(10, pod, false),
        credentials(20, pod),
        recon(30, pod),
    ] {
        // Live: the watermark follows each event (as when the tail goes idle).
        let mut changes = e.observe(&x);
        changes.extend(e.advance(x.timestamp));
        for c in changes {
            kinds.push(c.kind);
            ids.push(c.session.id.clone());
        }
    }
    for c in e.advance(i64::MAX) {
        kinds.push(c.kind);
        ids.push(c.session.id.clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one session id throughout: {kinds:?}");
    assert_eq!(kinds.first(), Some(&ChangeKind::Opened));
    assert!(kinds.contains(&ChangeKind::Escalated));
    assert_eq!(kinds.last(), Some(&ChangeKind::Closed));
    let s = &e.sessions()[0];
    assert_eq!(
        (s.case, s.severity),
        (Some(Case::Comprehensive), Severity::Critical)
    );
    assert_eq!(s.groups.len(), 4);
}

fn flow(secs: i64, src: &str, dst: &str, port: i64) -> Event {
    ev(
        secs,
        &[
            (Field::EventModule, "zeek"),
            (Field::EventDataset, "zeek.conn"),
            (Field::EventCategory, "network"),
            (Field::SourceIp, src),
            (Field::DestinationIp, dst),
            (Field::DestinationPort, &port.to_string()),
            (Field::NetworkDirection, "internal"),
        ],
    )
}

fn fired(sessions: &[Session], rule: &str) -> bool {
    sessions.iter().any(|s| s.rules.iter().any(|r| r == rule))
}

#[test]
fn port_scan_fires_above_ten_ports_in_five_minutes() {
    let scan = |n: i64, spacing: i64| -> Vec<Event> {
        (0..n)
            .map(|i| flow(i * spacing, "10.0.0.9", "10.0.0.20", 1000 + i))
            .collect()
    };
    assert!(!fired(&run(&scan(10, 1)), "ew-port-scan"), "10 ports: no");
    let s = run(&scan(11, 1));
    assert!(fired(&s, "ew-port-scan"), "11 ports: yes");
    assert!(s.iter().any(|s| s.context.key == "ip:10.0.0.9"));
    // 11 ports spread over more than 5 minutes never have 11 in one window.
    assert!(!fired(&run(&scan(11, 31)), "ew-port-scan"));
}

fn auth_failure(secs: i64, src: &str, host: &str, dataset: &str) -> Event {
    ev(
        secs,
        &[
            (Field::EventModule, "system"),
            (Field::EventDataset, dataset),
            (Field::EventCategory, "authentication"),
            (Field::EventOutcome, "failure"),
            (Field::SourceIp, src),
            (Field::HostName, host),
            (Field::UserName, "admin"),
        ],
    )
}

#[test]
fn auth_sweep_fires_at_three_services() {
    let two = [
        auth_failure(0, "10.1.1.1", "db1", "system.auth"),
        auth_failure(30, "10.1.1.1", "db2", "system.auth"),
    ];
    let s = run(&two);
    assert!(
        !fired(&s, "ew-auth-sweep") && !fired(&s, "auth-failures-multiple-hosts"),
        "2 targets: no"
    );
    let mut three = two.to_vec();
    three.push(auth_failure(60, "10.1.1.1", "db3", "system.auth"));
    let s = run(&three);
    assert!(fired(&s, "ew-auth-sweep"), "3 targets: yes");
    assert!(fired(&s, "auth-failures-multiple-hosts"));
    // The same host many times is one target (a brute force, not a sweep).
    let brute: Vec<Event> = (0..50)
        .map(|i| auth_failure(i, "203.0.113.7", "web1", "system.auth"))
        .collect();
    assert!(!fired(&run(&brute), "ew-auth-sweep"));
    // Outside 10 minutes the third target does not count.
    let slow = [
        auth_failure(0, "10.1.1.1", "db1", "system.auth"),
        auth_failure(300, "10.1.1.1", "db2", "system.auth"),
        auth_failure(700, "10.1.1.1", "db3", "system.auth"),
    ];
    assert!(!fired(&run(&slow), "ew-auth-sweep"));
}

fn network_logon(secs: i64, src: &str, host: &str, user: &str) -> Event {
    ev(
        secs,
        &[
            (Field::EventModule, "windows"),
            (Field::EventDataset, "windows.security"),
            (Field::EventCode, "4624"),
            (Field::EventCategory, "authentication"),
            (Field::EventOutcome, "success"),
            (Field::LogonType, "3"),
            (Field::SourceIp, src),
            (Field::HostName, host),
            (Field::UserName, user),
            (Field::LogonId, &format!("0x{:x}", 0x1000 + secs)),
        ],
    )
}

#[test]
fn logon_fan_out_fires_above_five_hosts() {
    let logons = |n: i64, user: &str| -> Vec<Event> {
        (0..n)
            .map(|i| network_logon(i * 60, "10.2.0.15", &format!("srv{i}"), user))
            .collect()
    };
    assert!(
        !fired(&run(&logons(5, "alice")), "win-logon-fanout"),
        "5 hosts: no"
    );
    let s = run(&logons(6, "alice"));
    assert!(fired(&s, "win-logon-fanout"), "6 hosts: yes");
    let session = s
        .iter()
        .find(|s| s.rules.iter().any(|r| r == "win-logon-fanout"))
        .unwrap();
    assert_eq!(session.context.source_ip.as_deref(), Some("10.2.0.15"));
    assert!(session.is_lateral_movement());
    // Machine accounts log on everywhere by design.
    assert!(!fired(&run(&logons(8, "WS01$")), "win-logon-fanout"));
}

#[test]
fn new_destination_and_sweep_confirm_lateral_movement() {
    let mut baseline = Baseline::new(10 * MIN);
    // Learn normal traffic for the learning period.
    baseline.observe("10.3.0.7", "10.3.0.8", 5432, T0);
    baseline.finish_learning();
    let (rules, _) = builtin::rules();
    let mut e = Engine::new(rules, EngineConfig::default(), baseline);
    let mut events = vec![
        flow(0, "10.3.0.7", "10.3.0.8", 5432),
        flow(10, "10.3.0.7", "10.3.0.99", 22),
    ];
    for (i, h) in ["db1", "db2", "db3"].iter().enumerate() {
        events.push(auth_failure(20 + i as i64, "10.3.0.7", h, "system.auth"));
    }
    for x in &events {
        e.observe(x);
    }
    e.advance(i64::MAX);
    let s = e.sessions();
    assert!(fired(&s, "ew-new-destination"));
    let top = &s[0];
    assert_eq!(top.severity, Severity::Critical, "{s:#?}");
    assert!(
        top.rules
            .iter()
            .any(|r| r == "ew-confirmed-lateral-movement")
    );
    // The known pair was not reported.
    assert!(!top.explanation.iter().any(|x| x.contains("10.3.0.8:5432")));
}

/// A mixed scenario used for ordering properties.
fn scenario() -> Vec<Event> {
    let mut v = Vec::new();
    for i in 0..4 {
        let pod = format!("web-{i}");
        v.push(enumeration(i * 7, &pod));
        v.push(remote_access(i * 7 + 3, &pod, i % 2 == 0));
        if i > 1 {
            v.push(credentials(i * 7 + 5, &pod));
            v.push(recon(i * 7 + 6, &pod));
        }
    }
    for i in 0..12 {
        v.push(flow(100 + i, "10.0.0.9", "10.0.0.20", 2000 + i));
    }
    for (i, h) in ["a", "b", "c", "d"].iter().enumerate() {
        v.push(auth_failure(
            200 + i as i64 * 20,
            "10.1.1.1",
            h,
            "system.auth",
        ));
        v.push(network_logon(210 + i as i64 * 20, "10.2.0.15", h, "bob"));
    }
    v.sort_by_key(|e| (e.timestamp, e.id.clone()));
    v
}

fn json(sessions: &[Session]) -> String {
    serde_json::to_string_pretty(sessions).unwrap()
}

#[test]
fn replay_is_deterministic_and_order_within_lateness_does_not_matter() {
    let events = scenario();
    let reference = json(&run(&events));
    assert!(reference.contains("Comprehensive Lateral Movement"));
    assert_eq!(reference, json(&run(&events)), "same input, same output");
    // Arrival order: each event is delayed by a random jitter below 100 s, less than the
    // 2-minute lateness, as a live tail of several files would deliver them.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..20 {
        let mut keyed: Vec<(i64, Event)> = events
            .iter()
            .map(|e| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (e.timestamp + (state % 100) as i64 * SEC, e.clone())
            })
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let shuffled: Vec<Event> = keyed.into_iter().map(|(_, e)| e).collect();
        assert_ne!(
            shuffled.iter().map(|e| &e.id).collect::<Vec<_>>(),
            events.iter().map(|e| &e.id).collect::<Vec<_>>()
        );
        assert_eq!(json(&run(&shuffled)), reference, "round {round}");
    }
}

#[test]
fn state_is_bounded_after_windows_expire() {
    let mut e = engine();
    for i in 0..2_000 {
        e.observe(&remote_access(i, &format!("pod-{i}"), false));
        e.observe(&credentials(i, &format!("pod-{i}")));
    }
    assert!(e.stats().open_contexts >= 1_000);
    // Five hours later everything before has closed.
    e.observe(&enumeration(5 * 3600, "late"));
    e.advance(T0 + 6 * 3600 * SEC);
    assert!(e.stats().open_contexts <= 1, "{:?}", e.stats());
    assert_eq!(e.sessions().len(), 2_000);
}

#[test]
fn near_miss_explains_what_is_missing() {
    let s = run(&[remote_access(0, "p", false), credentials(5, "p")]);
    let chain = chain_session(&s).unwrap();
    assert_eq!(chain.case, Some(Case::CredentialBased));
    let nm = &chain.near_miss;
    assert!(nm.next_case.is_some());
    assert!(nm.needs_interactive || !nm.missing_groups.is_empty());
    assert!(chain.explanation[0].contains("Remote Access Tools + Credential Harvesting"));
}
