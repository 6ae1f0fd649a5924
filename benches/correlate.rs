//! Correlator throughput and memory: `cargo bench --bench correlate`.
//!
//! A synthetic stream shaped like a busy cluster and domain (process events in pods, east-west
//! flows, logons and failures, a chain every few thousand events) goes through the engine with
//! the shipped rules; then 100k contexts are opened at once to measure memory per context.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use lateral::correlate::baseline::Baseline;
use lateral::correlate::{Engine, EngineConfig, builtin};
use lateral::event::{Event, Field};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_717_200_000 * SEC;

fn rss_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn make(i: u64) -> Event {
    let ts = T0 + (i as i64) * SEC / 2000; // 2000 events per second of event time
    let mut e = Event::new(ts);
    e.id = format!("bench-{i}");
    let pod = format!("svc-{}-7d9f8b6c5d-ab{:03}", i % 40, i % 500);
    match i % 10 {
        0..=3 => {
            e.set(Field::EventModule, "tetragon");
            e.set(Field::EventDataset, "tetragon.events");
            e.set(Field::EventAction, "process-started");
            e.set(Field::OrchestratorNamespace, "shop");
            e.set(Field::OrchestratorResourceName, pod.as_str());
            let (exe, cmd) = match i % 97 {
                0 => ("/usr/bin/whoami", "whoami"),
                1 => ("/usr/bin/ssh", "ssh db"),
                _ => ("/usr/local/bin/python3", "python3 worker.py --queue orders"),
            };
            e.set(Field::ProcessExecutable, exe);
            e.set(Field::ProcessCommandLine, cmd);
            e.set(Field::ProcessEntityId, format!("x{i}"));
        }
        4..=7 => {
            e.set(Field::EventModule, "cilium");
            e.set(Field::EventDataset, "cilium.hubble");
            e.set(Field::EventAction, "flow");
            e.set(Field::EventCategory, "network");
            e.set(Field::OrchestratorNamespace, "shop");
            e.set(Field::OrchestratorResourceName, pod.as_str());
            e.set(Field::SourceIp, format!("10.1.{}.{}", i % 40, i % 250));
            e.set(Field::DestinationIp, format!("10.2.0.{}", i % 30));
            e.set(
                Field::DestinationPort,
                [443i64, 5432, 6379, 8080][(i % 4) as usize],
            );
            e.set(Field::NetworkDirection, "internal");
        }
        _ => {
            e.set(Field::EventModule, "windows");
            e.set(Field::EventDataset, "windows.security");
            e.set(
                Field::EventCode,
                if i.is_multiple_of(7) { "4625" } else { "4624" },
            );
            e.set(Field::EventCategory, "authentication");
            e.set(
                Field::EventOutcome,
                if i.is_multiple_of(7) {
                    "failure"
                } else {
                    "success"
                },
            );
            e.set(Field::LogonType, 3i64);
            e.set(Field::HostName, format!("srv{}", i % 60));
            e.set(Field::UserName, format!("user{}", i % 300));
            e.set(Field::SourceIp, format!("10.3.0.{}", i % 200));
            e.set(Field::LogonId, format!("0x{:x}", 0x10000 + i % 5000));
        }
    }
    e
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // Memory at 100k open contexts: every context holds a session (remote access + enumeration).
    let before = rss_kib("VmRSS:");
    let (rules, _) = builtin::rules();
    // Contexts 1 s apart with a window longer than the run: all stay open, while the reorder
    // buffer only ever holds the last 2 minutes.
    let config = EngineConfig {
        window: 3 * 24 * 3600 * SEC,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(rules, config, Baseline::default());
    for i in 0..100_000u64 {
        for (k, (exe, cmd)) in [("/usr/bin/ssh", "ssh db"), ("/usr/bin/whoami", "whoami")]
            .iter()
            .enumerate()
        {
            let mut e = Event::new(T0 + i as i64 * SEC + k as i64);
            e.id = format!("ctx-{i}-{k}");
            e.set(Field::EventModule, "tetragon");
            e.set(Field::EventDataset, "tetragon.events");
            e.set(Field::OrchestratorNamespace, "load");
            e.set(Field::OrchestratorResourceName, format!("pod-{i}"));
            e.set(Field::ProcessExecutable, *exe);
            e.set(Field::ProcessCommandLine, *cmd);
            engine.observe(&e);
        }
    }
    engine.advance(T0 + 100_000 * SEC + 10);
    let after = rss_kib("VmRSS:");
    println!(
        "memory: {} open contexts, RSS +{} MiB ({} bytes per context); peak RSS {} MiB",
        engine.stats().open_contexts,
        (after.saturating_sub(before)) / 1024,
        (after.saturating_sub(before)) * 1024 / engine.stats().open_contexts.max(1),
        rss_kib("VmHWM:") / 1024
    );

    let (rules, _) = builtin::rules();
    let rule_count = rules.len();
    let events: Vec<Event> = (0..n).map(make).collect();
    let mut engine = Engine::new(rules, EngineConfig::default(), Baseline::default());
    let t = Instant::now();
    let mut changes = 0usize;
    for e in &events {
        changes += engine.observe(e).len();
    }
    changes += engine.advance(i64::MAX).len();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "engine: {n} events, {rule_count} rules: {:.0} events/s ({:.3}s), {} sessions, {changes} changes",
        n as f64 / secs,
        secs,
        engine.sessions().len()
    );
}
