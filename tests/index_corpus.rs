//! CIDR, time-range and Windows logon queries on the public corpus (`$LATERAL_CORPUS`, default
//! `../shared/corpus`), each checked against a brute-force filter over the same decoded
//! events. Skipped, with a message, when the corpus is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use lateral::event::{Cidr, Event, Field};
use lateral::index::{Index, Searcher, TimeRange, WriterConfig};
use lateral::ingest::batch::{self, BatchOptions};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    dir.join("manifest-public.json").is_file().then_some(dir)
}

fn read(paths: &[PathBuf]) -> Vec<Event> {
    let (readers, _failed) = batch::open_paths(paths, &BatchOptions::default());
    let mut events = Vec::new();
    for mut r in readers {
        while let Some(ev) = r.next_event() {
            events.push(ev);
        }
    }
    events
}

fn indexed(events: &[Event]) -> (tempfile::TempDir, Searcher) {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for e in events {
        w.add(e.clone()).unwrap();
    }
    w.finish().unwrap();
    let s = index.searcher(false).unwrap();
    (dir, s)
}

fn in_cidr(e: &Event, field: Field, cidr: &str) -> bool {
    let c: Cidr = cidr.parse().unwrap();
    e.ip(field).is_some_and(|ip: IpAddr| c.contains(ip))
}

fn check(
    s: &Searcher,
    q: &str,
    range: TimeRange,
    events: &[Event],
    want: impl Fn(&Event) -> bool,
) -> u64 {
    let expected = events
        .iter()
        .filter(|e| {
            range.since.is_none_or(|t| e.timestamp >= t)
                && range.until.is_none_or(|t| e.timestamp <= t)
                && want(e)
        })
        .count() as u64;
    let query = s.parse(q).unwrap();
    assert_eq!(s.count(&query, range).unwrap(), expected, "{q} {range:?}");
    let hits = s.hits(&query, range, 20).unwrap();
    assert_eq!(hits.len() as u64, expected.min(20), "{q}");
    for h in &hits {
        assert!(want(&h.event), "{q}: hit {} does not match", h.event.id);
    }
    expected
}

#[test]
fn cidr_and_time_range_queries_match_a_brute_force_filter() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (set LATERAL_CORPUS); skipped");
        return;
    };
    let paths: Vec<PathBuf> = [
        "zed-sample-data-wrccdc2018",
        "otrf-security-datasets/datasets/compound/apt29/day1/zeek",
        "hubble-otel",
        "tetragon",
        "elastic-integrations/packages/aws",
    ]
    .iter()
    .map(|p| corpus.join(p))
    .filter(|p| p.exists())
    .collect();
    let events = read(&paths);
    if events.len() < 100 {
        println!(
            "only {} corpus events decode on this branch; skipped",
            events.len()
        );
        return;
    }
    let (_dir, s) = indexed(&events);
    assert_eq!(s.num_docs(), events.len() as u64);
    let all = TimeRange::default();
    let ten = check(&s, "source.ip:10.0.0.0/8", all, &events, |e| {
        in_cidr(e, Field::SourceIp, "10.0.0.0/8")
    });
    assert!(ten > 0, "no 10/8 sources in the corpus sample");
    check(
        &s,
        "destination.ip:192.168.0.0/16 OR destination.ip:172.16.0.0/12",
        all,
        &events,
        |e| {
            in_cidr(e, Field::DestinationIp, "192.168.0.0/16")
                || in_cidr(e, Field::DestinationIp, "172.16.0.0/12")
        },
    );
    check(
        &s,
        "source.ip:10.0.0.0/8 AND destination.port:445",
        all,
        &events,
        |e| in_cidr(e, Field::SourceIp, "10.0.0.0/8") && e.int(Field::DestinationPort) == Some(445),
    );
    // The middle half of the corpus's time span, overall and for one protocol.
    let mut times: Vec<i64> = events.iter().map(|e| e.timestamp).collect();
    times.sort_unstable();
    let range = TimeRange {
        since: Some(times[times.len() / 4]),
        until: Some(times[times.len() * 3 / 4]),
    };
    let mid = check(&s, "*", range, &events, |_| true);
    assert!(mid >= events.len() as u64 / 2, "{mid}");
    check(&s, "network.transport:tcp", range, &events, |e| {
        e.str(Field::NetworkTransport) == Some("tcp")
    });
    // A histogram's buckets add up to the count.
    let q = s.parse("source.ip:10.0.0.0/8").unwrap();
    let h = s.histogram(&q, all, 3_600_000_000_000).unwrap();
    assert_eq!(h.iter().map(|b| b.1).sum::<u64>(), ten);
    println!(
        "{} corpus events: {ten} from 10/8, {mid} in the middle half of the time span",
        events.len()
    );
}

#[test]
fn network_logons_in_the_otrf_windows_files() {
    let Some(corpus) = corpus() else {
        println!("corpus not found (set LATERAL_CORPUS); skipped");
        return;
    };
    let events = read(&[corpus.join("otrf-security-datasets/datasets/atomic/windows")]);
    if !events
        .iter()
        .any(|e| e.str(Field::EventModule) == Some("windows"))
    {
        println!("no Windows events decode on this branch (Windows decoders not merged); skipped");
        return;
    }
    let (_dir, s) = indexed(&events);
    let n = check(
        &s,
        "event.code:4624 AND winlog.logon.type:3",
        TimeRange::default(),
        &events,
        |e| e.str(Field::EventCode) == Some("4624") && e.int(Field::LogonType) == Some(3),
    );
    assert!(n > 0, "no network logons in the OTRF files");
    println!("{n} network logons (4624, logon type 3) in the OTRF files");
}
