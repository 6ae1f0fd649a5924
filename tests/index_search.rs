//! The index end to end through the library: event → document → hit for every field kind,
//! the query language on a small known set of events, counts, histograms, facets, time
//! windows, retention, idempotent re-indexing and the commit payload.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;

use lateral::event::{Event, Field, FieldKind};
use lateral::index::{Dedup, Index, IndexError, Query, TimeRange, WriterConfig};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_714_557_600 * SEC; // 2024-05-01T10:00:00Z

fn index_of(events: &[Event]) -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(&dir.path().join("index")).unwrap();
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for e in events {
        w.add(e.clone()).unwrap();
    }
    w.finish().unwrap();
    (dir, index)
}

fn ids(index: &Index, q: &str) -> BTreeSet<String> {
    let s = index.searcher(false).unwrap();
    let query = s.parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let hits = s.hits(&query, TimeRange::default(), 1000).unwrap();
    let count = s.count(&query, TimeRange::default()).unwrap();
    assert_eq!(count, hits.len() as u64, "count and hits disagree for {q}");
    hits.into_iter().map(|h| h.event.id).collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// A value for every field, by kind, distinct per field, and the query that finds it.
fn full_event() -> (Event, Vec<(Field, String)>) {
    let mut e = Event::new(T0 + 123_456_789);
    e.id = "00c0ffee00c0ffee-4096".into();
    let mut queries = Vec::new();
    for (i, &f) in Field::ALL.iter().enumerate() {
        let q = match f.kind() {
            FieldKind::Timestamp => format!("{}:\"2024-05-01T10:00:00.123456789Z\"", f.name()),
            FieldKind::Keyword if f == Field::EventId => format!("{}:\"{}\"", f.name(), e.id),
            FieldKind::Keyword => {
                e.set(f, format!("Val-{i}.X"));
                // Keywords match whatever the case.
                format!("{}:\"val-{i}.x\"", f.name())
            }
            FieldKind::Text => {
                e.set(f, format!("C:\\Tools\\Run{i}.exe /flag \"quoted {i}\""));
                format!("{}:\"run{i}.exe /flag\"", f.name())
            }
            FieldKind::Ip => {
                if f == Field::DestinationIp {
                    e.set(f, format!("fd00::{i:x}"));
                    format!("{}:\"fd00::{i:x}\"", f.name())
                } else {
                    e.set(f, format!("10.9.0.{i}"));
                    format!("{}:10.9.0.{i}", f.name())
                }
            }
            FieldKind::Integer => {
                e.set(f, 1000 + i as i64);
                format!("{}:{}", f.name(), 1000 + i)
            }
            FieldKind::Bool => {
                e.set(f, true);
                format!("{}:true", f.name())
            }
        };
        queries.push((f, q));
    }
    e.original
        .push(("TargetUserName".into(), serde_json::json!("Val-Original")));
    e.original
        .push(("Nested.List".into(), serde_json::json!([1, "two"])));
    (e, queries)
}

fn decoy(i: i64) -> Event {
    let mut e = Event::new(T0 + i * SEC);
    e.id = format!("decoy-{i}");
    e.set(Field::UserName, "someone");
    e.set(Field::SourceIp, "192.168.1.1");
    e.set(Field::DestinationPort, 80i64);
    e.set(Field::ProcessCommandLine, "bash -c true");
    e.set(Field::ProcessInteractive, false);
    e
}

#[test]
fn every_field_kind_round_trips_event_to_document_to_hit() {
    let (full, queries) = full_event();
    let mut raw_only = Event::new(T0 - SEC);
    raw_only.id = "raw-only-1".into();
    raw_only.set(Field::Message, "only raw kept");
    raw_only.set_raw("<13>May  1 09:59:59 host sshd[1]: only raw kept");
    let mut events = vec![full.clone(), raw_only.clone()];
    events.extend((0..5).map(decoy));
    let (_dir, index) = index_of(&events);
    let s = index.searcher(false).unwrap();
    for (field, q) in &queries {
        let query = s.parse(q).unwrap_or_else(|e| panic!("{field}: {q}: {e}"));
        let hits = s.hits(&query, TimeRange::default(), 10).unwrap();
        assert_eq!(hits.len(), 1, "{field}: {q} found {}", hits.len());
        assert_eq!(hits[0].event, full, "{field}: stored event differs");
    }
    // An event without originals keeps its raw record.
    let hits = s
        .hits(
            &s.parse("\"only raw kept\"").unwrap(),
            TimeRange::default(),
            10,
        )
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].event, raw_only);
}

fn logons() -> Vec<Event> {
    let rows: &[(&str, &str, &str, i64, &str, i64, &str)] = &[
        // id, user, code, logon type, source ip, dest port, command line
        ("e1", "pgustavo", "4624", 3, "10.0.1.4", 445, ""),
        ("e2", "PGustavo", "4625", 3, "10.0.1.4", 445, ""),
        ("e3", "mmurphy", "4624", 10, "10.0.2.9", 3389, ""),
        ("e4", "pgustavo", "4624", 2, "172.16.5.5", 0, ""),
        (
            "e5",
            "svc_backup",
            "4688",
            0,
            "",
            0,
            "C:\\Windows\\PSEXESVC.exe -accepteula",
        ),
        (
            "e6",
            "svc_backup",
            "4688",
            0,
            "",
            0,
            "cmd.exe /c whoami /all",
        ),
        (
            "e7",
            "admin",
            "4688",
            0,
            "",
            0,
            "powershell.exe -nop cmd.exe /c dir",
        ),
        ("e8", "pgustavo", "4624", 3, "fd00::17", 5985, ""),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (id, user, code, lt, ip, port, cmd))| {
            let mut e = Event::new(T0 + i as i64 * 60 * SEC);
            e.id = (*id).into();
            e.set(Field::UserName, *user);
            e.set(Field::EventCode, *code);
            e.set(Field::HostName, if i % 2 == 0 { "WS01" } else { "DC01" });
            if *lt != 0 {
                e.set(Field::LogonType, *lt);
            }
            e.set(Field::SourceIp, *ip);
            if *port != 0 {
                e.set(Field::DestinationPort, *port);
            }
            e.set(Field::ProcessCommandLine, *cmd);
            e
        })
        .collect()
}

#[test]
fn the_query_language_over_dotted_names() {
    let (_dir, index) = index_of(&logons());
    let cases: &[(&str, &[&str])] = &[
        ("source.ip:10.0.1.4", &["e1", "e2"]),
        (
            "user.name:pgustavo AND event.code:4624",
            &["e1", "e4", "e8"],
        ),
        ("user.name:pgustavo event.code:4624", &["e1", "e4", "e8"]),
        ("user.name:PGUSTAVO", &["e1", "e2", "e4", "e8"]),
        (
            "event.code:4624 OR event.code:4625",
            &["e1", "e2", "e3", "e4", "e8"],
        ),
        ("event.code:4624 AND NOT winlog.logon.type:3", &["e3", "e4"]),
        ("event.code:4624 -user.name:pgustavo", &["e3"]),
        ("NOT event.code:4688", &["e1", "e2", "e3", "e4", "e8"]),
        (
            "user.name:pgustavo (event.code:4625 OR winlog.logon.type:2)",
            &["e2", "e4"],
        ),
        ("event.code: IN [4625 4688]", &["e2", "e5", "e6", "e7"]),
        ("source.ip:10.0.0.0/8", &["e1", "e2", "e3"]),
        ("source.ip:10.0.1.*", &["e1", "e2"]),
        ("source.ip:172.16.0.0/12", &["e4"]),
        ("source.ip:\"fd00::17\"", &["e8"]),
        ("source.ip:\"fd00::/8\"", &["e8"]),
        ("source.ip:[10.0.1.0 TO 10.0.2.255]", &["e1", "e2", "e3"]),
        ("destination.port:[1000 TO 4000]", &["e3"]),
        ("destination.port:>=445", &["e1", "e2", "e3", "e8"]),
        ("destination.port:{445 TO *]", &["e3", "e8"]),
        ("winlog.logon.type:0x3", &["e1", "e2", "e8"]),
        ("process.command_line:\"cmd.exe /c\"", &["e6", "e7"]),
        ("process.command_line:\"exe /c whoami\"", &["e6"]),
        ("process.command_line:\"powershell.exe /c\"~3", &["e7"]),
        ("process.command_line:psexe*", &["e5"]),
        ("process.command_line:*accept*", &["e5"]),
        ("process.command_line:who?mi", &["e6"]),
        ("process.command_line:\"cmd.exe /c wh\"*", &["e6"]),
        ("user.name:svc_*", &["e5", "e6"]),
        ("user.name:/p.*o/", &["e1", "e2", "e4", "e8"]),
        ("process.command_line:*", &["e5", "e6", "e7"]),
        ("destination.port:*", &["e1", "e2", "e3", "e8"]),
        ("whoami", &["e6"]),
        ("pgustavo", &["e1", "e2", "e4", "e8"]),
        ("10.0.2.9", &["e3"]),
        ("3389", &["e3"]),
        (
            "@timestamp:[2024-05-01T10:01:00Z TO 2024-05-01T10:03:00Z]",
            &["e2", "e3", "e4"],
        ),
        (
            "@timestamp:2024-05-01",
            &["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"],
        ),
        ("@timestamp:2024-04-30", &[]),
        ("host.name:ws01 AND event.code:4688", &["e5", "e7"]),
        ("*", &["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]),
        ("", &["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]),
    ];
    for (q, want) in cases {
        assert_eq!(ids(&index, q), set(want), "query: {q}");
    }
}

#[test]
fn results_are_newest_first_and_windows_cut_by_event_time() {
    let (_dir, index) = index_of(&logons());
    let s = index.searcher(false).unwrap();
    let all = Query::all();
    let hits = s.hits(&all, TimeRange::default(), 3).unwrap();
    let got: Vec<_> = hits.iter().map(|h| h.event.id.as_str()).collect();
    assert_eq!(got, ["e8", "e7", "e6"]);
    assert_eq!(s.newest(), Some(T0 + 7 * 60 * SEC));
    let window = TimeRange {
        since: Some(T0 + 60 * SEC),
        until: Some(T0 + 3 * 60 * SEC),
    };
    assert_eq!(s.count(&all, window).unwrap(), 3);
    let q = s.parse("user.name:pgustavo").unwrap();
    assert_eq!(s.count(&q, window).unwrap(), 2);
}

#[test]
fn histograms_and_facets_count_the_matches() {
    let (_dir, index) = index_of(&logons());
    let s = index.searcher(false).unwrap();
    let q = s.parse("event.code:4624 OR event.code:4625").unwrap();
    // e1 e2 e3 e4 at minutes 0-3, e8 at minute 7: buckets of 2 minutes from 10:00 to 10:06.
    let h = s.histogram(&q, TimeRange::default(), 120 * SEC).unwrap();
    let counts: Vec<u64> = h.iter().map(|b| b.1).collect();
    assert_eq!(counts, [2, 2, 0, 1]);
    assert_eq!(h[0].0, T0);
    let f = s
        .facet(&Query::all(), TimeRange::default(), Field::UserName, 2)
        .unwrap();
    assert_eq!(
        f.values,
        [("pgustavo".to_string(), 3), ("svc_backup".to_string(), 2)]
    );
    assert_eq!((f.distinct, f.total, f.missing), (5, 8, 0));
    let ports = s
        .facet(&q, TimeRange::default(), Field::DestinationPort, 10)
        .unwrap();
    assert_eq!(ports.values[0], ("445".to_string(), 2));
    assert_eq!(ports.missing, 1);
    let ips = s
        .facet(&q, TimeRange::default(), Field::SourceIp, 10)
        .unwrap();
    assert!(ips.values.contains(&("fd00::17".to_string(), 1)), "{ips:?}");
    assert!(ips.values.contains(&("10.0.1.4".to_string(), 2)), "{ips:?}");
    let err = s
        .facet(&q, TimeRange::default(), Field::ProcessCommandLine, 10)
        .unwrap_err();
    assert!(matches!(err, IndexError::Unsupported(_)), "{err}");
}

#[test]
fn indexing_the_same_events_again_adds_nothing() {
    let events = logons();
    let (_dir, index) = index_of(&events);
    for dedup in [Dedup::Check, Dedup::Replace] {
        let mut w = index
            .writer(WriterConfig {
                dedup,
                ..WriterConfig::default()
            })
            .unwrap();
        // Twice within one session as well: the second copy is still uncommitted when the
        // third arrives.
        for e in events.iter().chain(events.iter()) {
            w.add(e.clone()).unwrap();
        }
        let stats = w.finish().unwrap();
        if dedup == Dedup::Check {
            assert_eq!((stats.added, stats.duplicates), (0, 16));
        }
        let s = index.searcher(false).unwrap();
        assert_eq!(s.num_docs(), 8, "{dedup:?}");
        assert_eq!(ids(&index, "*").len(), 8);
    }
    // A new event among old ones is added.
    let mut w = index.writer(WriterConfig::default()).unwrap();
    let mut fresh = decoy(99);
    fresh.id = "fresh-1".into();
    for e in events.iter().chain([&fresh]) {
        w.add(e.clone()).unwrap();
    }
    assert_eq!(w.finish().unwrap().added, 1);
}

#[test]
fn ids_of_a_source_new_to_the_index_are_still_deduplicated_within_a_run() {
    // Positions out of order and repeated: the writer must fall back to probing.
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for pos in [10, 20, 30, 20, 10, 40, 5, 5] {
        let mut e = decoy(pos);
        e.id = format!("00aa00aa00aa00aa-{pos}");
        w.add(e).unwrap();
    }
    w.commit().unwrap();
    // After a commit: earlier positions are found in the segments, new ones still added.
    for pos in [15, 10, 40, 15, 50] {
        let mut e = decoy(pos);
        e.id = format!("00aa00aa00aa00aa-{pos}");
        w.add(e).unwrap();
    }
    let stats = w.finish().unwrap();
    assert_eq!((stats.added, stats.duplicates), (7, 6));
    assert_eq!(index.searcher(false).unwrap().num_docs(), 7);
}

#[test]
fn retention_drops_events_older_than_the_window_before_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let day = 86_400 * SEC;
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for d in 0..20 {
        let mut e = decoy(0);
        e.timestamp = T0 + d * day;
        e.id = format!("old-{d}");
        w.add(e).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(index.searcher(false).unwrap().num_docs(), 20);
    let mut w = index
        .writer(WriterConfig {
            retain: Some(30 * day),
            ..WriterConfig::default()
        })
        .unwrap();
    for d in 20..45 {
        let mut e = decoy(0);
        e.timestamp = T0 + d * day;
        e.id = format!("new-{d}");
        w.add(e).unwrap();
    }
    // Arrives after the window moved past it: not added.
    let mut late = decoy(0);
    late.id = "late".into();
    w.add(late).unwrap();
    let stats = w.finish().unwrap();
    assert_eq!(stats.expired, 1);
    let s = index.searcher(false).unwrap();
    // Newest is day 44: days 14..=44 stay.
    assert_eq!(s.num_docs(), 31);
    let oldest = s
        .hits(&Query::all(), TimeRange::default(), 100)
        .unwrap()
        .into_iter()
        .map(|h| h.event.timestamp)
        .min();
    assert_eq!(oldest, Some(T0 + 14 * day));
}

#[test]
fn the_checkpoint_travels_with_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    assert_eq!(index.last_payload().unwrap(), None);
    let events = logons();
    // No timer commit during the test: commits happen when asked.
    let mut w = index
        .writer(WriterConfig {
            commit_interval: std::time::Duration::from_secs(3600),
            ..WriterConfig::default()
        })
        .unwrap();
    w.add(events[0].clone()).unwrap();
    let info = w.commit_with(b"offset=1").unwrap();
    assert_eq!(info.checkpoint.as_deref(), Some(&b"offset=1"[..]));
    assert_eq!(
        index.last_payload().unwrap().as_deref(),
        Some(&b"offset=1"[..])
    );
    // A checkpoint waits for the next commit, with the events before it.
    w.add(events[1].clone()).unwrap();
    w.checkpoint(b"offset=2\xff".to_vec()).unwrap();
    assert_eq!(
        index.last_payload().unwrap().as_deref(),
        Some(&b"offset=1"[..])
    );
    let info = w.commit().unwrap();
    assert_eq!(info.stats.added, 2);
    w.finish().unwrap();
    let reopened = Index::open(dir.path()).unwrap();
    assert_eq!(
        reopened.last_payload().unwrap().as_deref(),
        Some(&b"offset=2\xff"[..])
    );
    assert_eq!(reopened.searcher(false).unwrap().num_docs(), 2);
}

#[test]
fn one_writer_at_a_time_and_a_clear_error_for_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let w = index.writer(WriterConfig::default()).unwrap();
    let err = Index::open(dir.path())
        .unwrap()
        .writer(WriterConfig::default())
        .unwrap_err();
    assert!(matches!(err, IndexError::Locked { .. }), "{err}");
    drop(w);
    assert!(index.writer(WriterConfig::default()).is_ok());
}

#[test]
fn opening_a_missing_index_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = Index::open(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, IndexError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("lateral index"), "{err}");
}
