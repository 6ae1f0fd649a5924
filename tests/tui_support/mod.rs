//! Fixtures for the UI tests: sessions, events, stats and sources with fixed event times, and
//! helpers to drive the model and render it.

#![allow(dead_code)] // each test file uses a part

use lateral::correlate::session::{
    ContextInfo, Evidence, NearMiss, Session, SessionId, ThresholdProgress,
};
use lateral::correlate::{Case, Change, ChangeKind, Group};
use lateral::event::{Event, Field, Severity};
use lateral::tui::{
    KindStats, Model, ModelConfig, Msg, PipelineStats, SourceRow, SourceState, update, view,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// 2024-06-01 10:00:00 UTC.
pub const T0: i64 = 1_717_236_000 * SEC;
pub const SEC: i64 = 1_000_000_000;

pub fn at(secs: i64) -> i64 {
    T0 + secs * SEC
}

fn ev(id: &str, secs: i64, rule: &str, group: Option<Group>, summary: &str) -> Evidence {
    Evidence {
        event_id: id.to_string(),
        timestamp: at(secs),
        rule_id: rule.to_string(),
        group,
        summary: summary.to_string(),
    }
}

/// A session with sensible defaults; tests change what they need.
pub fn session(id: &str, severity: Severity, title: &str) -> Session {
    Session {
        id: SessionId(id.to_string()),
        rule_id: "lateral-movement-chain".into(),
        title: title.to_string(),
        severity,
        case: None,
        tactics: Vec::new(),
        techniques: Vec::new(),
        groups: Vec::new(),
        context: ContextInfo::default(),
        interactive: false,
        first_seen: at(0),
        last_seen: at(60),
        event_count: 1,
        evidence: Vec::new(),
        explanation: Vec::new(),
        near_miss: NearMiss::default(),
        rules: Vec::new(),
        closed: false,
    }
}

fn near(groups: &[Group], interactive: bool, case: Option<Case>) -> NearMiss {
    NearMiss::compute(&groups.iter().copied().collect(), interactive, case)
}

/// The Windows domain chain: all four groups on WS01, critical.
pub fn comprehensive() -> Session {
    let groups = Group::ALL.to_vec();
    let mut s = session(
        "9f3c2a71d04be812",
        Severity::Critical,
        Case::Comprehensive.title(),
    );
    s.case = Some(Case::Comprehensive);
    s.groups = groups.clone();
    s.tactics = vec![
        "lateral_movement".into(),
        "credential_access".into(),
        "discovery".into(),
        "execution".into(),
    ];
    s.techniques = vec![
        "T1003.001".into(),
        "T1021.002".into(),
        "T1046".into(),
        "T1082".into(),
        "T1569.002".into(),
    ];
    s.context = ContextInfo {
        key: "win:WS01:logon:0x3e7a1".into(),
        kind: "logon".into(),
        host: Some("WS01".into()),
        user: Some("alice".into()),
        source_ip: Some("10.0.1.23".into()),
        logon_id: Some("0x3e7a1".into()),
        targets: vec!["DC01".into(), "FS01".into(), "10.0.1.40".into()],
        ..ContextInfo::default()
    };
    s.interactive = true;
    s.first_seen = at(131);
    s.last_seen = at(2537);
    s.event_count = 41;
    s.evidence = vec![
        ev(
            "a1f0-1024",
            131,
            "win-admin-share",
            Some(Group::RemoteAccess),
            "windows.security 5140 share-accessed on DC01 user alice from 10.0.1.23 \\\\*\\ADMIN$",
        ),
        ev(
            "a1f0-2048",
            133,
            "win-psexec",
            Some(Group::RemoteAccess),
            "windows.system 7045 service-installed on DC01 PSEXESVC",
        ),
        ev(
            "b7c2-512",
            410,
            "ch-lsass-access",
            Some(Group::CredentialHarvesting),
            "windows.sysmon 10 process-accessed on WS01 user alice C:\\Windows\\System32\\lsass.exe",
        ),
        ev(
            "b7c2-1536",
            1260,
            "nr-scanner",
            Some(Group::NetworkRecon),
            "windows.sysmon 1 process-started on WS01 user alice nmap -sS -p 445,3389 10.0.1.0/24",
        ),
        ev(
            "b7c2-2560",
            1262,
            "se-discovery-commands",
            Some(Group::SystemEnumeration),
            "windows.sysmon 1 process-started on WS01 user alice whoami /all",
        ),
        ev(
            "b7c2-3072",
            1264,
            "se-discovery-commands",
            Some(Group::SystemEnumeration),
            "windows.sysmon 1 process-started on WS01 user alice net group \"domain admins\" /domain",
        ),
        ev(
            "a1f0-4096",
            2537,
            "win-remote-file-copy",
            Some(Group::RemoteAccess),
            "windows.security 5145 file-accessed on FS01 user alice \\\\FS01\\C$\\Windows\\Temp\\r.exe",
        ),
    ];
    s.explanation = vec![
        "Comprehensive Lateral Movement (critical): Remote Access Tools + Credential Harvesting + Network Reconnaissance + System Enumeration in one context, interactive".into(),
        "PsExec-style remote service execution (win-psexec): windows.system 7045 service-installed on DC01 PSEXESVC".into(),
        "LSASS memory accessed (ch-lsass-access): windows.sysmon 10 process-accessed on WS01".into(),
        "Discovery command (se-discovery-commands): whoami /all (x2)".into(),
    ];
    s.near_miss = near(&groups, true, Some(Case::Comprehensive));
    s.rules = vec![
        "win-admin-share".into(),
        "win-psexec".into(),
        "ch-lsass-access".into(),
        "nr-scanner".into(),
        "se-discovery-commands".into(),
        "win-remote-file-copy".into(),
    ];
    s
}

/// A pod that ran a shell and read a service account token: high, one step from critical.
pub fn pod_credentials() -> Session {
    let groups = vec![Group::RemoteAccess, Group::CredentialHarvesting];
    let case = Case::CredentialBasedInteractive;
    let mut s = session("41d07c9e55a2f013", case.severity(), case.title());
    s.case = Some(case);
    s.groups = groups.clone();
    s.interactive = true;
    s.tactics = vec!["lateral_movement".into(), "credential_access".into()];
    s.techniques = vec!["T1021.004".into(), "T1528".into(), "T1552.001".into()];
    s.context = ContextInfo {
        key: "pod:shop/api-7d9f8b6c5d-x2x9q".into(),
        kind: "pod".into(),
        namespace: Some("shop".into()),
        pod: Some("api-7d9f8b6c5d-x2x9q".into()),
        targets: vec!["10.2.0.14".into()],
        ..ContextInfo::default()
    };
    s.first_seen = at(300);
    s.last_seen = at(940);
    s.event_count = 12;
    s.evidence = vec![
        ev(
            "c4e1-77",
            300,
            "ra-ssh-outbound",
            Some(Group::RemoteAccess),
            "tetragon.events process-started ssh deploy@10.2.0.14",
        ),
        ev(
            "c4e1-91",
            612,
            "ch-k8s-service-account-token",
            Some(Group::CredentialHarvesting),
            "tetragon.events file-opened cat /var/run/secrets/kubernetes.io/serviceaccount/token",
        ),
    ];
    s.explanation = vec![
        "Credential-Based Lateral Movement (interactive) (high): Remote Access Tools + Credential Harvesting in one context, interactive".into(),
        "Kubernetes service account token read (ch-k8s-service-account-token): cat /var/run/secrets/kubernetes.io/serviceaccount/token".into(),
    ];
    let mut nm = near(&groups, true, Some(case));
    nm.thresholds = vec![ThresholdProgress {
        rule_id: "ew-port-scan".into(),
        count: 7,
        threshold: 10,
        window_left_secs: 192,
    }];
    s.near_miss = nm;
    s.rules = vec![
        "ra-ssh-outbound".into(),
        "ch-k8s-service-account-token".into(),
    ];
    s
}

/// Enumeration over SSH on a Linux web server (audit session), medium.
pub fn linux_enum() -> Session {
    let groups = vec![Group::RemoteAccess, Group::SystemEnumeration];
    let case = Case::EnumerationWithAccess;
    let mut s = session("0b8e44f2a9c31d60", case.severity(), case.title());
    s.case = Some(case);
    s.groups = groups.clone();
    s.tactics = vec!["lateral_movement".into(), "discovery".into()];
    s.techniques = vec!["T1021.004".into(), "T1033".into(), "T1082".into()];
    s.context = ContextInfo {
        key: "audit:web01:ses:42".into(),
        kind: "audit_session".into(),
        host: Some("web01".into()),
        user: Some("www-data".into()),
        source_ip: Some("203.0.113.9".into()),
        logon_id: Some("42".into()),
        ..ContextInfo::default()
    };
    s.first_seen = at(700);
    s.last_seen = at(1105);
    s.event_count = 6;
    s.evidence = vec![
        ev(
            "d9a0-10",
            700,
            "ra-ssh-accepted",
            Some(Group::RemoteAccess),
            "system.auth ssh-login on web01 user www-data from 203.0.113.9",
        ),
        ev(
            "d9a0-33",
            1105,
            "se-discovery-commands",
            Some(Group::SystemEnumeration),
            "auditd.log process-started on web01 uname -a",
        ),
    ];
    s.explanation = vec![
        "Enumeration with Access (medium): Remote Access Tools + System Enumeration in one context"
            .into(),
    ];
    s.near_miss = near(&groups, false, Some(case));
    s.rules = vec!["ra-ssh-accepted".into(), "se-discovery-commands".into()];
    s
}

/// A single high rule, no chain: pass-the-hash from a source address.
pub fn pass_the_hash() -> Session {
    let groups = vec![Group::RemoteAccess];
    let mut s = session("77aa01c3e9d4b5f2", Severity::High, "Pass-the-hash logon");
    s.rule_id = "win-pass-the-hash".into();
    s.groups = groups.clone();
    s.tactics = vec!["lateral_movement".into(), "defense_evasion".into()];
    s.techniques = vec!["T1550.002".into()];
    s.context = ContextInfo {
        key: "ip:10.0.1.77".into(),
        kind: "source_ip".into(),
        source_ip: Some("10.0.1.77".into()),
        user: Some("svc_backup".into()),
        targets: vec!["SQL02".into()],
        ..ContextInfo::default()
    };
    s.first_seen = at(1500);
    s.last_seen = at(1500);
    s.event_count = 1;
    s.evidence = vec![ev(
        "e2b1-4",
        1500,
        "win-pass-the-hash",
        Some(Group::RemoteAccess),
        "windows.security 4624 logged-in on SQL02 user svc_backup from 10.0.1.77 NTLM",
    )];
    s.explanation = vec![
        "Pass-the-hash logon (win-pass-the-hash): windows.security 4624 logged-in on SQL02 user svc_backup from 10.0.1.77".into(),
    ];
    s.near_miss = near(&groups, false, None);
    s.rules = vec!["win-pass-the-hash".into()];
    s
}

/// A closed, low east-west finding.
pub fn new_destination() -> Session {
    let mut s = session(
        "5c2f9e0d1a7b3348",
        Severity::Medium,
        "New network destination",
    );
    s.rule_id = "ew-new-destination".into();
    s.tactics = vec!["lateral_movement".into()];
    s.techniques = vec!["T1021".into()];
    s.context = ContextInfo {
        key: "pod:billing/worker-5f6d7c8b9-qq7rt".into(),
        kind: "pod".into(),
        namespace: Some("billing".into()),
        pod: Some("worker-5f6d7c8b9-qq7rt".into()),
        targets: vec!["10.3.0.8".into()],
        ..ContextInfo::default()
    };
    s.first_seen = at(50);
    s.last_seen = at(55);
    s.event_count = 3;
    s.closed = true;
    s.evidence = vec![ev(
        "f0f0-1",
        50,
        "ew-new-destination",
        None,
        "cilium.hubble flow 10.1.4.7 → 10.3.0.8:5432",
    )];
    s.explanation = vec![
        "New network destination (ew-new-destination): billing/worker → 10.3.0.8:5432 never seen in 7 days".into(),
    ];
    s.near_miss = near(&[], false, None);
    s.rules = vec!["ew-new-destination".into()];
    s
}

/// A session whose host and user are wide characters (alignment).
pub fn wide_names() -> Session {
    let groups = vec![Group::RemoteAccess];
    let mut s = session("aa11bb22cc33dd44", Severity::Low, "SSH login accepted");
    s.rule_id = "ra-ssh-accepted".into();
    s.groups = groups.clone();
    s.tactics = vec!["lateral_movement".into()];
    s.techniques = vec!["T1021.004".into()];
    s.context = ContextInfo {
        key: "user:東京サーバー01:田中".into(),
        kind: "user_on_host".into(),
        host: Some("東京サーバー01".into()),
        user: Some("田中".into()),
        ..ContextInfo::default()
    };
    s.first_seen = at(1800);
    s.last_seen = at(1830);
    s.event_count = 2;
    s.evidence = vec![ev(
        "aa11-1",
        1800,
        "ra-ssh-accepted",
        Some(Group::RemoteAccess),
        "system.auth ssh-login on 東京サーバー01 user 田中 🔑 publickey",
    )];
    s.explanation = vec!["SSH login accepted (ra-ssh-accepted): user 田中 🔑 publickey".into()];
    s.near_miss = near(&groups, false, None);
    s.rules = vec!["ra-ssh-accepted".into()];
    s
}

/// The fixture sessions in the order the correlator would open them.
pub fn sessions() -> Vec<Session> {
    let mut all = vec![
        new_destination(),
        comprehensive(),
        pod_credentials(),
        linux_enum(),
        pass_the_hash(),
        wide_names(),
    ];
    all.sort_by_key(|s| s.first_seen);
    all
}

pub fn opened(s: Session) -> Change {
    Change {
        kind: ChangeKind::Opened,
        session: s,
    }
}

pub fn stats() -> PipelineStats {
    let wave = |base: u64, n: usize| -> Vec<u64> {
        (0..n)
            .map(|i| base + (i as u64 * 37 % 11) * base / 10 + if i % 17 == 3 { base } else { 0 })
            .collect()
    };
    PipelineStats {
        events_total: 1_284_331,
        errors_total: 17,
        indexed_total: 1_280_000,
        kinds: vec![
            KindStats {
                kind: "windows".into(),
                events: 802_114,
                errors: 0,
                per_second: wave(900, 120),
            },
            KindStats {
                kind: "tetragon".into(),
                events: 351_002,
                errors: 0,
                per_second: wave(300, 120),
            },
            KindStats {
                kind: "zeek".into(),
                events: 130_880,
                errors: 17,
                per_second: wave(100, 120),
            },
            KindStats {
                kind: "syslog".into(),
                events: 335,
                errors: 0,
                per_second: vec![0, 0, 1, 0, 0, 0, 2, 0, 0, 1],
            },
        ],
        watermark: Some(at(2600)),
    }
}

pub fn sources() -> Vec<SourceRow> {
    vec![
        SourceRow {
            path: "/var/log/lateral/windows/ws01-security.evtx".into(),
            format: Some("evtx".into()),
            state: SourceState::Tailing,
            events: 512_004,
            errors: 0,
            last_error: None,
            lag_bytes: 0,
            last_event: Some(at(2598)),
            datasets: vec!["windows.security".into(), "windows.sysmon".into()],
        },
        SourceRow {
            path: "/var/log/lateral/windows/dc01-system.evtx".into(),
            format: Some("evtx".into()),
            state: SourceState::Idle,
            events: 290_110,
            errors: 0,
            last_error: None,
            lag_bytes: 0,
            last_event: Some(at(2400)),
            datasets: vec!["windows.system".into()],
        },
        SourceRow {
            path: "/var/log/lateral/k8s/tetragon.log".into(),
            format: Some("tetragon".into()),
            state: SourceState::Tailing,
            events: 351_002,
            errors: 0,
            last_error: None,
            lag_bytes: 3 * 1024 * 1024 / 2,
            last_event: Some(at(2600)),
            datasets: vec!["tetragon.events".into()],
        },
        SourceRow {
            path: "/var/log/lateral/zeek/conn.log".into(),
            format: Some("zeek-tsv".into()),
            state: SourceState::Rotated,
            events: 130_880,
            errors: 17,
            last_error: Some("offset 88213: line has 19 fields, the #fields header has 21".into()),
            lag_bytes: 0,
            last_event: Some(at(2590)),
            datasets: vec!["zeek.conn".into()],
        },
        SourceRow {
            path: "/var/log/auth.log".into(),
            format: Some("syslog".into()),
            state: SourceState::Error,
            events: 335,
            errors: 0,
            last_error: Some("permission denied (os error 13)".into()),
            lag_bytes: 0,
            last_event: Some(at(1800)),
            datasets: vec!["system.auth".into()],
        },
    ]
}

/// An event with many fields, as the index would return it.
pub fn event(id: &str, secs: i64) -> Event {
    let mut e = Event::new(at(secs) + 123_456_789);
    e.id = id.to_string();
    e.set(Field::EventModule, "windows");
    e.set(Field::EventDataset, "windows.security");
    e.set(Field::EventCode, "4624");
    e.set(Field::EventAction, "logged-in");
    e.set(Field::EventOutcome, "success");
    e.set(Field::HostName, "DC01");
    e.set(Field::SourceIp, "10.0.1.23");
    e.set(Field::UserName, "alice");
    e.set(Field::UserDomain, "ACME");
    e.set(Field::LogonType, 3i64);
    e.set(Field::AuthPackage, "NTLM");
    e.set(
        Field::LogFilePath,
        "/var/log/lateral/windows/dc01-security.evtx",
    );
    e.original
        .push(("TargetUserName".into(), serde_json::json!("alice")));
    e.original
        .push(("LogonType".into(), serde_json::json!("3")));
    e.set_raw("<Event><System><EventID>4624</EventID></System></Event>");
    e
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(ch).collect()
}

/// A model sized `w`×`h` with the fixture data loaded.
pub fn loaded(w: u16, h: u16) -> Model {
    let mut m = Model::new(ModelConfig::default());
    update(
        &mut m,
        Msg::Resize {
            width: w,
            height: h,
        },
    );
    update(&mut m, Msg::Stats(stats()));
    update(&mut m, Msg::Sources(sources()));
    // As the correlator reports them: each session opens at its first event, then grows; the
    // domain chain escalates to critical last.
    let first: Vec<Change> = sessions()
        .into_iter()
        .map(|mut s| {
            s.last_seen = s.first_seen;
            opened(s)
        })
        .collect();
    update(&mut m, Msg::Changes(first));
    let grown: Vec<Change> = sessions()
        .into_iter()
        .map(|s| Change {
            kind: if s.severity == Severity::Critical {
                ChangeKind::Escalated
            } else {
                ChangeKind::Updated
            },
            session: s,
        })
        .collect();
    update(&mut m, Msg::Changes(grown));
    m
}

/// Feed messages, ignoring the commands.
pub fn feed(m: &mut Model, msgs: impl IntoIterator<Item = Msg>) {
    for msg in msgs {
        update(m, msg);
    }
}

/// Render the model into a `w`×`h` test terminal and return the backend.
pub fn render(m: &Model, w: u16, h: u16) -> TestBackend {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    term.backend().clone()
}

/// The screen as text, one line per row, without the quotes TestBackend's Display adds.
pub fn screen_text(m: &Model, w: u16, h: u16) -> String {
    let b = render(m, w, h);
    let buf = b.buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0u16;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            if skip > 0 {
                skip -= 1;
                continue;
            }
            out.push_str(cell.symbol());
            let w = unicode_width_of(cell.symbol());
            skip = w.saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

fn unicode_width_of(s: &str) -> u16 {
    use ratatui::buffer::CellWidth;
    s.cell_width()
}

/// Two triage cases over the fixture sessions, checklists from the built-in rules; the first
/// has a step done and one skipped with a note.
pub fn cases() -> Vec<lateral::triage::store::Case> {
    use lateral::triage::checklist::{StepStatus, checklist_for};
    use lateral::triage::store::Case;
    let (rules, _) = lateral::correlate::builtin::rules();
    let make = |id: &str, sessions: Vec<Session>| {
        let first = &sessions[0];
        Case {
            id: id.into(),
            title: first.title.clone(),
            severity: first.severity,
            created_by: "alice".into(),
            created_at: at(600),
            steps: checklist_for(&sessions, &rules),
            sessions,
            notes: Vec::new(),
            revision: 1,
        }
    };
    let mut a = make("case-1", vec![comprehensive(), pass_the_hash()]);
    a.steps[0].status = StepStatus::Done;
    if let Some(s) = a.steps.get_mut(1) {
        s.status = StepStatus::Skipped;
        s.note = "host already reimaged".into();
    }
    let b = make("case-2", vec![linux_enum()]);
    vec![a, b]
}
