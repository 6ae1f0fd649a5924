//! UI cost with a large session table: `cargo bench --bench tui`.
//!
//! 100k sessions go into the model (one bulk batch, then single live changes); then frames of
//! each screen are drawn into a `TestBackend`, moving the selection between frames so every
//! frame really draws. Reports per-frame times (mean, p50, p99, max) against the 10 ms budget.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use lateral::correlate::session::{ContextInfo, Evidence, NearMiss, Session, SessionId};
use lateral::correlate::{Case, Change, ChangeKind, Group};
use lateral::event::Severity;
use lateral::tui::{Model, ModelConfig, Msg, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_717_200_000 * SEC;
const SESSIONS: usize = 100_000;

fn session(i: usize) -> Session {
    let groups: Vec<Group> = Group::ALL
        .iter()
        .copied()
        .filter(|g| (i >> (*g as usize)) & 1 == 1 || *g == Group::RemoteAccess)
        .collect();
    let set = groups.iter().copied().collect();
    let case = Case::classify(&set, i.is_multiple_of(5));
    let severity = case.map_or(
        [Severity::Low, Severity::Medium, Severity::High][i % 3],
        |c| c.severity(),
    );
    let host = format!("ws{:04}", i % 4000);
    let user = format!("user{:05}", i % 20_000);
    let evidence = groups
        .iter()
        .enumerate()
        .map(|(k, g)| Evidence {
            event_id: format!("{i:x}-{k}"),
            timestamp: T0 + (i as i64 + k as i64) * SEC,
            rule_id: match g {
                Group::RemoteAccess => "win-psexec",
                Group::CredentialHarvesting => "ch-lsass-access",
                Group::NetworkRecon => "nr-scanner",
                Group::SystemEnumeration => "se-discovery-commands",
            }
            .into(),
            group: Some(*g),
            summary: format!("windows.security 4624 logged-in on {host} user {user}"),
        })
        .collect();
    Session {
        id: SessionId(format!("{i:016x}")),
        rule_id: "lateral-movement-chain".into(),
        title: case.map_or("PsExec-style remote service execution".into(), |c| {
            c.title().into()
        }),
        severity,
        case,
        tactics: vec!["lateral_movement".into(), "credential_access".into()],
        techniques: vec!["T1021.002".into(), "T1003.001".into()],
        groups: groups.clone(),
        context: ContextInfo {
            key: format!("win:{host}:logon:0x{i:x}"),
            kind: "logon".into(),
            host: Some(host),
            user: Some(user),
            source_ip: Some(format!("10.{}.{}.{}", i % 200, (i / 200) % 250, i % 250)),
            targets: vec![format!("srv{:03}", i % 300)],
            ..ContextInfo::default()
        },
        interactive: i.is_multiple_of(5),
        first_seen: T0 + i as i64 * SEC,
        last_seen: T0 + i as i64 * SEC + 600 * SEC,
        event_count: (i % 97) as u64 + 1,
        evidence,
        explanation: vec!["Remote Access Tools + Credential Harvesting in one context".into()],
        near_miss: NearMiss::compute(&set, i.is_multiple_of(5), case),
        rules: vec!["win-psexec".into()],
        closed: i.is_multiple_of(7),
    }
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn stats(mut times: Vec<Duration>) -> String {
    times.sort();
    let n = times.len();
    let mean = times.iter().sum::<Duration>() / n as u32;
    let p = |q: f64| times[((n as f64 * q) as usize).min(n - 1)];
    format!(
        "mean {:>7.3} ms  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        mean.as_secs_f64() * 1e3,
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        times[n - 1].as_secs_f64() * 1e3
    )
}

/// CPU time this thread has run, from the scheduler (Linux): wall-clock tails on a shared
/// 2-core machine are mostly other processes' time slices, CPU time is what a frame costs.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn frames(m: &mut Model, w: u16, h: u16, step: &[Msg], n: usize) -> Vec<Duration> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    update(
        m,
        Msg::Resize {
            width: w,
            height: h,
        },
    );
    let mut out = Vec::with_capacity(n);
    let mut cpu = Duration::ZERO;
    for i in 0..n {
        update(m, step[i % step.len()].clone());
        let c0 = thread_cpu();
        let t = Instant::now();
        term.draw(|f| view(m, f)).expect("draw");
        out.push(t.elapsed());
        if let (Some(a), Some(b)) = (c0, thread_cpu()) {
            cpu += b.saturating_sub(a);
        }
        m.mark_drawn();
    }
    print!(
        "cpu/frame {:>6.3} ms · ",
        cpu.as_secs_f64() * 1e3 / n as f64
    );
    out
}

fn main() {
    let sessions: Vec<Change> = (0..SESSIONS)
        .map(|i| Change {
            kind: ChangeKind::Opened,
            session: session(i),
        })
        .collect();
    let mut m = Model::new(ModelConfig::default());
    let t = Instant::now();
    update(&mut m, Msg::Changes(sessions));
    println!(
        "apply {SESSIONS} opened sessions (one batch): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Live updates: one session changes at a time, as the correlator reports them.
    let mut live = Vec::new();
    for k in 0..2000 {
        let mut s = session((k * 7919) % SESSIONS);
        s.last_seen += 3600 * SEC;
        s.event_count += 1;
        let t = Instant::now();
        update(
            &mut m,
            Msg::Changes(vec![Change {
                kind: ChangeKind::Updated,
                session: s,
            }]),
        );
        live.push(t.elapsed());
    }
    println!("one live change with 100k sessions:  {}", stats(live));

    update(&mut m, key(KeyCode::Char('2')));
    let t = Instant::now();
    update(&mut m, key(KeyCode::Char('s')));
    println!(
        "re-sort 100k (s):                     {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    update(&mut m, key(KeyCode::Char('s')));
    let down = [key(KeyCode::Char('j'))];
    let page = [key(KeyCode::PageDown), key(KeyCode::Char('j'))];
    for (w, h) in [(120, 40), (200, 60)] {
        let f = frames(&mut m, w, h, &page, 500);
        println!(
            "frame sessions   {w:>3}x{h:<3} ({SESSIONS} sessions): {}",
            stats(f)
        );
    }
    update(&mut m, key(KeyCode::Char('1')));
    let f = frames(&mut m, 120, 40, &down, 300);
    println!("frame overview   120x40: {}", stats(f));
    update(&mut m, key(KeyCode::Char('4')));
    let f = frames(&mut m, 120, 40, &page, 300);
    println!("frame coverage   120x40: {}", stats(f));
    update(&mut m, key(KeyCode::Char('t')));
    let f = frames(&mut m, 120, 40, &page, 300);
    println!("frame tactics    120x40: {}", stats(f));
    update(&mut m, key(KeyCode::Char('2')));
    update(&mut m, key(KeyCode::Enter));
    let f = frames(&mut m, 120, 40, &down, 300);
    println!("frame detail     120x40: {}", stats(f));

    // Filtering 100k applies after a typing pause; measure one application.
    update(&mut m, key(KeyCode::Char('2')));
    let t = Instant::now();
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE)),
    );
    for c in "filter ws0042".chars() {
        update(&mut m, key(KeyCode::Char(c)));
    }
    update(&mut m, key(KeyCode::Enter));
    println!(
        "filter 100k (:filter ws0042 → {} shown): {:.1} ms",
        m.store().len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
