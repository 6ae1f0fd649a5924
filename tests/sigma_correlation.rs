//! Sigma v2 correlation conformance, run through the engine (events in, sessions out): the
//! specification's examples (failed logins counted per host, distinct users per source and
//! workstation, recon commands in any order, failed logins followed by a success, aliases that
//! swap source and destination addresses, value metrics) rewritten for our tests, plus the edge
//! cases engines get wrong: temporal_ordered order and self-chaining, AND-ed group-by, events
//! missing a group-by field, windows that slide on event time across clock boundaries, and
//! order-independence within the allowed lateness.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use lateral::correlate::baseline::Baseline;
use lateral::correlate::sigma::{self, LoadOptions, Mapping, State};
use lateral::correlate::{Engine, EngineConfig, Session};
use lateral::event::{Event, Field, Severity};

const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
/// 2024-06-01T09:55:00Z: windows cross the 10:00 boundary in some tests.
const T0: i64 = 1_717_235_700 * SEC;

/// Base rules shared by the tests (our own, SigmaHQ style).
const BASE: &str = r#"
title: Failed logon
id: base-failed
name: failed_logon
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4625}
  condition: selection
level: low
---
title: Successful logon
id: base-success
name: successful_logon
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4624}
  condition: selection
level: low
---
title: whoami
id: base-recon-a
name: recon_a
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\whoami.exe'}
  condition: selection
level: low
---
title: net group
id: base-recon-b
name: recon_b
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\net.exe'}
  condition: selection
level: low
---
title: nltest
id: base-recon-c
name: recon_c
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\nltest.exe'}
  condition: selection
level: low
"#;

fn engine(corr: &str) -> Engine {
    let text = format!("{BASE}\n---\n{corr}");
    let set = sigma::load(
        &[("corr.yml".to_string(), text)],
        &Mapping::builtin().unwrap(),
        &LoadOptions::default(),
    );
    for l in &set.listed {
        assert!(
            matches!(l.state, State::Loaded(_)),
            "{}: {:?}",
            l.id,
            l.state
        );
    }
    Engine::new(Vec::new(), EngineConfig::default(), Baseline::default()).with_sigma(set)
}

fn logon(secs: i64, code: i64, host: &str, user: &str, ws: &str) -> Event {
    let mut e = Event::new(T0 + secs * SEC);
    e.id = format!("l-{secs}-{code}-{host}-{user}-{ws}");
    e.set(Field::EventModule, "windows");
    e.set(Field::EventDataset, "windows.security");
    e.set(Field::EventCode, code);
    e.set(Field::HostName, host);
    for (k, v) in [
        ("EventID", serde_json::json!(code)),
        ("Computer", serde_json::json!(host)),
        ("TargetUserName", serde_json::json!(user)),
        ("WorkstationName", serde_json::json!(ws)),
    ] {
        if v != serde_json::json!("") {
            e.original.push((k.to_string(), v));
        }
    }
    e
}

fn exec(secs: i64, host: &str, user: &str, image: &str) -> Event {
    let mut e = Event::new(T0 + secs * SEC);
    e.id = format!("p-{secs}-{host}-{user}-{image}");
    e.set(Field::EventModule, "windows");
    e.set(Field::EventDataset, "windows.sysmon");
    e.set(Field::EventCode, 1i64);
    e.set(Field::HostName, host);
    for (k, v) in [
        ("EventID", serde_json::json!(1)),
        ("Computer", serde_json::json!(host)),
        ("User", serde_json::json!(user)),
        ("Image", serde_json::json!(image)),
    ] {
        e.original.push((k.to_string(), v));
    }
    e
}

fn run(engine: &mut Engine, events: &[Event]) -> Vec<Session> {
    for e in events {
        engine.observe(e);
    }
    engine.advance(i64::MAX);
    engine.sessions()
}

fn fired<'a>(sessions: &'a [Session], id: &str) -> Vec<&'a Session> {
    sessions
        .iter()
        .filter(|s| s.rules.iter().any(|r| r == id))
        .collect()
}

const EVENT_COUNT: &str = r#"
title: Many failed logons on one host
id: corr-count
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 5}
level: high
tags: [attack.credential_access, attack.t1110]
"#;

#[test]
fn event_count_per_group_slides_across_clock_boundaries() {
    // Five failures on WS1 from 09:58 to 10:02: one 10-minute window holds them although
    // they straddle the hour.
    let events: Vec<Event> = (0..5)
        .map(|i| logon(180 + i * 60, 4625, "WS1", &format!("u{i}"), "X"))
        .collect();
    let s = run(&mut engine(EVENT_COUNT), &events);
    let hits = fired(&s, "corr-count");
    assert_eq!(hits.len(), 1, "{s:#?}");
    let h = hits[0];
    assert_eq!(h.severity, Severity::High);
    assert_eq!(h.context.key, "group:Computer=WS1");
    assert_eq!(h.context.host.as_deref(), Some("ws1"));
    assert!(h.techniques.contains(&"T1110".to_string()));
    assert!(h.evidence.len() >= 5, "earlier events are evidence: {h:#?}");
    assert!(
        h.explanation.iter().any(|e| e.contains("5 events")),
        "{h:#?}"
    );
    // The same five spread over 20 minutes never fill one window.
    let sparse: Vec<Event> = (0..5)
        .map(|i| logon(i * 5 * 60, 4625, "WS1", "u", "X"))
        .collect();
    assert!(fired(&run(&mut engine(EVENT_COUNT), &sparse), "corr-count").is_empty());
    // Four on WS1 and one on WS2: groups are separate.
    let mut split: Vec<Event> = (0..4).map(|i| logon(i, 4625, "WS1", "u", "X")).collect();
    split.push(logon(5, 4625, "WS2", "u", "X"));
    assert!(fired(&run(&mut engine(EVENT_COUNT), &split), "corr-count").is_empty());
}

#[test]
fn value_count_and_and_ed_group_by() {
    let corr = r#"
title: Password spray from one workstation
id: corr-values
correlation:
  type: value_count
  rules: [failed_logon]
  group-by: [Computer, WorkstationName]
  timespan: 1d
  condition: {field: TargetUserName, gte: 3}
level: high
"#;
    // Three users from KALI against DC1: fires. The same users split across two
    // workstations: the group-by fields are AND-ed, so no group holds three.
    let spray = [
        logon(0, 4625, "DC1", "alice", "KALI"),
        logon(1, 4625, "DC1", "bob", "KALI"),
        logon(2, 4625, "DC1", "alice", "KALI"),
        logon(3, 4625, "DC1", "carol", "KALI"),
    ];
    let s = run(&mut engine(corr), &spray);
    let h = fired(&s, "corr-values");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].context.key, "group:Computer=DC1,WorkstationName=KALI");
    let split = [
        logon(0, 4625, "DC1", "alice", "KALI"),
        logon(1, 4625, "DC1", "bob", "KALI"),
        logon(2, 4625, "DC1", "carol", "PARROT"),
    ];
    assert!(fired(&run(&mut engine(corr), &split), "corr-values").is_empty());
    // Events without a group-by field take no part (here: no WorkstationName).
    let missing = [
        logon(0, 4625, "DC1", "alice", "KALI"),
        logon(1, 4625, "DC1", "bob", "KALI"),
        logon(2, 4625, "DC1", "carol", ""),
    ];
    assert!(fired(&run(&mut engine(corr), &missing), "corr-values").is_empty());
}

const TEMPORAL: &str = r#"
title: Recon burst
id: corr-recon
correlation:
  type: temporal
  rules: [recon_a, recon_b, recon_c]
  group-by: [Computer, User]
  timespan: 5m
level: medium
"#;

#[test]
fn temporal_any_order_within_the_timespan() {
    let a = |t, img: &str| {
        exec(
            t,
            "WS1",
            "CORP\\bob",
            &format!("C:\\Windows\\System32\\{img}"),
        )
    };
    let s = run(
        &mut engine(TEMPORAL),
        &[a(0, "nltest.exe"), a(60, "whoami.exe"), a(120, "net.exe")],
    );
    assert_eq!(fired(&s, "corr-recon").len(), 1);
    // Spread over more than five minutes.
    let s = run(
        &mut engine(TEMPORAL),
        &[a(0, "nltest.exe"), a(200, "whoami.exe"), a(400, "net.exe")],
    );
    assert!(fired(&s, "corr-recon").is_empty());
    // Another user ran one of them.
    let s = run(
        &mut engine(TEMPORAL),
        &[
            a(0, "nltest.exe"),
            a(60, "whoami.exe"),
            exec(90, "WS1", "CORP\\eve", "C:\\Windows\\System32\\net.exe"),
        ],
    );
    assert!(fired(&s, "corr-recon").is_empty());
    // A count condition and a boolean expression.
    let two = TEMPORAL.replace("timespan: 5m", "timespan: 5m\n  condition: {gte: 2}");
    let s = run(
        &mut engine(&two),
        &[a(0, "nltest.exe"), a(60, "whoami.exe")],
    );
    assert_eq!(fired(&s, "corr-recon").len(), 1);
    let expr = TEMPORAL.replace(
        "timespan: 5m",
        "timespan: 5m\n  condition: recon_a and not recon_b",
    );
    let s = run(
        &mut engine(&expr),
        &[a(0, "whoami.exe"), a(10, "nltest.exe")],
    );
    assert_eq!(fired(&s, "corr-recon").len(), 1);
    let s = run(&mut engine(&expr), &[a(0, "net.exe"), a(10, "whoami.exe")]);
    assert!(fired(&s, "corr-recon").is_empty());
}

const CHAIN: &str = r#"
title: Failed logons followed by a success
id: corr-bruteforce
correlation:
  type: temporal_ordered
  rules:
    - many_failed
    - successful_logon
  group-by: [TargetUserName]
  timespan: 10m
level: critical
tags: [attack.credential_access, attack.t1110.001]
---
title: Several failed logons
id: corr-many-failed
name: many_failed
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 10m
  condition: {gte: 3}
"#;

#[test]
fn temporal_ordered_chains_correlations_in_order() {
    let f = |t| logon(t, 4625, "DC1", "alice", "KALI");
    let ok = |t| logon(t, 4624, "DC1", "alice", "KALI");
    let s = run(&mut engine(CHAIN), &[f(0), f(10), f(20), ok(30)]);
    let h = fired(&s, "corr-bruteforce");
    assert_eq!(h.len(), 1, "{s:#?}");
    assert_eq!(h[0].severity, Severity::Critical);
    assert_eq!(h[0].context.user.as_deref(), Some("alice"));
    // The inner correlation only feeds the outer one: no session of its own.
    assert!(fired(&s, "corr-many-failed").is_empty());
    assert!(fired(&s, "base-failed").is_empty());
    // Success first, then the failures: wrong order.
    let s = run(&mut engine(CHAIN), &[ok(0), f(10), f(20), f(30)]);
    assert!(fired(&s, "corr-bruteforce").is_empty());
    // Two failures, a success, a third failure: the inner correlation completes after the
    // success.
    let s = run(&mut engine(CHAIN), &[f(0), f(10), ok(15), f(20)]);
    assert!(fired(&s, "corr-bruteforce").is_empty());
    // Another user's success does not complete alice's chain.
    let s = run(
        &mut engine(CHAIN),
        &[f(0), f(10), f(20), logon(30, 4624, "DC1", "bob", "KALI")],
    );
    assert!(fired(&s, "corr-bruteforce").is_empty());
    // The success eleven minutes after the first failure but within ten of the last one
    // still closes a chain whose steps all lie in one window (the latest start counts).
    let s = run(&mut engine(CHAIN), &[f(0), f(400), f(500), f(600), ok(660)]);
    assert_eq!(fired(&s, "corr-bruteforce").len(), 1);
}

#[test]
fn temporal_ordered_never_chains_an_event_with_itself() {
    let corr = r#"
title: Logon then logon
id: corr-self
correlation:
  type: temporal_ordered
  rules: [any_logon, successful_logon]
  group-by: [TargetUserName]
  timespan: 10m
level: high
---
title: Any logon
id: base-any
name: any_logon
logsource: {product: windows, service: security}
detection:
  selection: {EventID: [4624, 4625]}
  condition: selection
level: low
"#;
    // One 4624 matches both steps; alone it is not a sequence.
    let s = run(&mut engine(corr), &[logon(0, 4624, "DC1", "alice", "X")]);
    assert!(fired(&s, "corr-self").is_empty(), "{s:#?}");
    let s = run(
        &mut engine(corr),
        &[
            logon(0, 4625, "DC1", "alice", "X"),
            logon(5, 4624, "DC1", "alice", "X"),
        ],
    );
    assert_eq!(fired(&s, "corr-self").len(), 1);
}

#[test]
fn aliases_swap_fields_between_rules() {
    let corr = r#"
title: Server error
id: base-error
name: internal_error
logsource: {product: zeek, service: http}
detection:
  selection: {status_code: 500}
  condition: selection
level: informational
---
title: New connection
id: base-conn
name: new_network_connection
logsource: {product: windows, category: network_connection}
detection:
  selection: {Initiated: 'true'}
  condition: selection
level: informational
---
title: Server error then a connection from the server back to the client
id: corr-alias
correlation:
  type: temporal
  rules: [internal_error, new_network_connection]
  group-by: [internal_ip, remote_ip]
  timespan: 10s
  aliases:
    internal_ip:
      internal_error: id.resp_h
      new_network_connection: SourceIp
    remote_ip:
      internal_error: id.orig_h
      new_network_connection: DestinationIp
level: high
"#;
    let http = |t: i64, orig: &str, resp: &str| {
        let mut e = Event::new(T0 + t * SEC);
        e.id = format!("h-{t}-{orig}-{resp}");
        e.set(Field::EventModule, "zeek");
        e.set(Field::EventDataset, "zeek.http");
        for (k, v) in [
            ("status_code", serde_json::json!(500)),
            ("id.orig_h", serde_json::json!(orig)),
            ("id.resp_h", serde_json::json!(resp)),
        ] {
            e.original.push((k.to_string(), v));
        }
        e
    };
    let conn = |t: i64, src: &str, dst: &str| {
        let mut e = exec(t, "WEB1", "x", "C:\\w3wp.exe");
        e.id = format!("c-{t}-{src}-{dst}");
        e.set(Field::EventCode, 3i64);
        e.original = vec![
            ("EventID".into(), serde_json::json!(3)),
            ("Initiated".into(), serde_json::json!(true)),
            ("SourceIp".into(), serde_json::json!(src)),
            ("DestinationIp".into(), serde_json::json!(dst)),
        ];
        e
    };
    let s = run(
        &mut engine(corr),
        &[
            http(0, "10.0.0.9", "10.0.0.5"),
            conn(3, "10.0.0.5", "10.0.0.9"),
        ],
    );
    let h = fired(&s, "corr-alias");
    assert_eq!(h.len(), 1, "{s:#?}");
    assert_eq!(
        h[0].context.key,
        "group:internal_ip=10.0.0.5,remote_ip=10.0.0.9"
    );
    // The connection going elsewhere is another group.
    let s = run(
        &mut engine(corr),
        &[
            http(0, "10.0.0.9", "10.0.0.5"),
            conn(3, "10.0.0.5", "10.0.0.77"),
        ],
    );
    assert!(fired(&s, "corr-alias").is_empty());
}

#[test]
fn value_metrics() {
    let rule = r#"
title: Connection
id: base-flow
name: flow
logsource: {product: zeek, service: conn}
detection:
  selection: {proto: tcp}
  condition: selection
level: informational
"#;
    let flow = |t: i64, src: &str, bytes: &str| {
        let mut e = Event::new(T0 + t * SEC);
        e.id = format!("f-{t}-{src}-{bytes}");
        e.set(Field::EventModule, "zeek");
        e.set(Field::EventDataset, "zeek.conn");
        for (k, v) in [
            ("proto", serde_json::json!("tcp")),
            ("id.orig_h", serde_json::json!(src)),
            (
                "orig_bytes",
                serde_json::json!(bytes.parse::<i64>().unwrap_or(0)),
            ),
        ] {
            e.original.push((k.to_string(), v));
        }
        e
    };
    let corr = |kind: &str, cond: &str| {
        format!(
            "{rule}\n---\ntitle: Metric\nid: corr-metric\ncorrelation:\n  type: {kind}\n  rules: [flow]\n  group-by: [id.orig_h]\n  timespan: 1h\n  condition: {{field: orig_bytes, {cond}}}\nlevel: medium\n"
        )
    };
    let load = |text: String| {
        let set = sigma::load(
            &[("m.yml".to_string(), text)],
            &Mapping::builtin().unwrap(),
            &LoadOptions::default(),
        );
        assert!(set.errors().is_empty(), "{:?}", set.errors());
        Engine::new(Vec::new(), EngineConfig::default(), Baseline::default()).with_sigma(set)
    };
    let flows = [
        flow(0, "10.0.0.4", "100"),
        flow(10, "10.0.0.4", "300"),
        flow(20, "10.0.0.4", "800"),
    ];
    // Sum 1200, average 400.
    assert_eq!(
        fired(
            &run(&mut load(corr("value_sum", "gt: 1000")), &flows),
            "corr-metric"
        )
        .len(),
        1
    );
    assert!(
        fired(
            &run(&mut load(corr("value_sum", "gt: 1500")), &flows),
            "corr-metric"
        )
        .is_empty()
    );
    assert_eq!(
        fired(
            &run(&mut load(corr("value_avg", "gte: 400, lt: 401")), &flows),
            "corr-metric"
        )
        .len(),
        1
    );
    assert!(
        fired(
            &run(&mut load(corr("value_avg", "gt: 500")), &flows),
            "corr-metric"
        )
        .is_empty()
    );
    // 90th percentile of (100, 300, 800) is 800.
    assert_eq!(
        fired(
            &run(
                &mut load(corr("value_percentile", "percentile: 90, gte: 800")),
                &flows
            ),
            "corr-metric"
        )
        .len(),
        1
    );
    // Share of the current value: one "800" among ten flows is 10%.
    let mut many: Vec<Event> = (0..9).map(|i| flow(i, "10.0.0.4", "100")).collect();
    many.push(flow(30, "10.0.0.4", "800"));
    let s = run(&mut load(corr("value_percentile", "lte: 10")), &many);
    let h = fired(&s, "corr-metric");
    assert_eq!(h.len(), 1, "{s:#?}");
    assert!(
        h[0].explanation
            .iter()
            .any(|e| e.contains("orig_bytes=800")),
        "{h:#?}"
    );
    // Ranges combine with AND; eq and neq.
    assert_eq!(
        fired(
            &run(&mut load(corr("value_count", "eq: 3")), &flows),
            "corr-metric"
        )
        .len(),
        1
    );
    assert!(
        fired(
            &run(&mut load(corr("value_count", "gt: 1, neq: 3")), &flows[..3]),
            "corr-metric"
        )
        .len()
            == 1
    );
}

#[test]
fn generate_keeps_the_referenced_rules_reporting() {
    let with = EVENT_COUNT.replace(
        "  condition: {gte: 5}",
        "  condition: {gte: 5}\n  generate: true",
    );
    let events: Vec<Event> = (0..5).map(|i| logon(i, 4625, "WS1", "u", "X")).collect();
    let s = run(&mut engine(&with), &events);
    assert!(!fired(&s, "base-failed").is_empty());
    let s = run(&mut engine(EVENT_COUNT), &events);
    assert!(fired(&s, "base-failed").is_empty());
}

#[test]
fn no_group_by_means_one_group() {
    let corr = EVENT_COUNT.replace("  group-by: [Computer]\n", "");
    let events: Vec<Event> = (0..5)
        .map(|i| logon(i, 4625, &format!("WS{i}"), "u", "X"))
        .collect();
    assert_eq!(
        fired(&run(&mut engine(&corr), &events), "corr-count").len(),
        1
    );
}

/// Shuffling events within the allowed lateness gives the same sessions, correlations
/// included.
#[test]
fn order_independent_within_lateness() {
    let corr = format!("{CHAIN}\n---\n{EVENT_COUNT}\n---\n{TEMPORAL}");
    let mut events: Vec<Event> = Vec::new();
    for i in 0..6 {
        events.push(logon(i * 7, 4625, "DC1", "alice", "KALI"));
        events.push(logon(
            i * 7 + 1,
            4625,
            &format!("WS{}", i % 2),
            "bob",
            "KALI",
        ));
    }
    events.push(logon(50, 4624, "DC1", "alice", "KALI"));
    for (i, img) in ["whoami.exe", "net.exe", "nltest.exe"].iter().enumerate() {
        events.push(exec(
            60 + i as i64 * 10,
            "WS1",
            "CORP\\bob",
            &format!("C:\\x\\{img}"),
        ));
    }
    let render = |mut ev: Vec<Event>, seed: u64| {
        // Deterministic shuffle that keeps every event within 60 s of its place (lateness is
        // two minutes).
        let mut x = seed;
        for i in (1..ev.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let j = i.saturating_sub((x >> 33) as usize % 4);
            if (ev[i].timestamp - ev[j].timestamp).abs() < 60 * SEC {
                ev.swap(i, j);
            }
        }
        let s = run(&mut engine(&corr), &ev);
        serde_json::to_string(&s).unwrap()
    };
    let base = render(events.clone(), 0);
    assert!(
        base.contains("corr-bruteforce") && base.contains("corr-recon"),
        "{base}"
    );
    for seed in 1..6 {
        assert_eq!(render(events.clone(), seed), base, "seed {seed}");
    }
}

#[test]
fn state_is_dropped_after_the_window() {
    let mut e = engine(EVENT_COUNT);
    for i in 0..200 {
        e.observe(&logon(i, 4625, &format!("H{i}"), "u", "X"));
    }
    e.advance(T0 + 3 * 60 * MIN);
    e.observe(&logon(4 * 3600, 4625, "LAST", "u", "X"));
    e.advance(T0 + 5 * 60 * MIN);
    assert!(e.stats().open_contexts <= 1, "{:?}", e.stats());
}
