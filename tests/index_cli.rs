//! `lateral index` and `lateral search` as a user runs them, readers next to a writer, and
//! `lateral hunt --workspace` feeding the index.

// Test code: a panic is a failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Deadlines bound the waits on other threads and processes; results never depend on the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lateral::event::{Event, Field};
use lateral::index::{Index, Query, TimeRange, WriterConfig};

fn lateral(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(args)
        .output()
        .expect("run lateral")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixtures(format: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format)
}

fn count(ws: &str, query: &str) -> u64 {
    let out = lateral(&["search", query, "--workspace", ws, "--count"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().parse().unwrap()
}

#[test]
fn index_then_search_every_way() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    let zeek = fixtures("zeek-tsv");
    let falco = fixtures("falco");
    let inputs = [zeek.to_str().unwrap(), falco.to_str().unwrap()];

    let out = lateral(&["index", inputs[0], inputs[1], "--workspace", ws]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stderr);
    assert!(summary.contains(" added, 0 already indexed"), "{summary}");
    assert!(summary.contains("bytes/event"), "{summary}");
    let all = count(ws, "*");
    assert!(all > 20, "{all}");

    // The same files again: nothing new.
    let again = lateral(&["index", inputs[0], inputs[1], "--workspace", ws]);
    assert!(again.status.success());
    assert!(
        text(&again.stderr).contains(&format!(": 0 added, {all} already indexed")),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(count(ws, "*"), all);

    // Table: the header and one row per event, newest first.
    let out = lateral(&[
        "search",
        "event.dataset:zeek.conn",
        "--workspace",
        ws,
        "--limit",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("TIME "), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    let times: Vec<&str> = table.lines().skip(1).map(|l| &l[..24]).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "not newest first");

    // JSON lines: the events as `lateral events` prints them.
    let out = lateral(&[
        "search",
        "destination.port:445",
        "--workspace",
        ws,
        "--output",
        "jsonl",
    ]);
    let lines = text(&out.stdout);
    assert!(!lines.is_empty());
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["destination"]["port"], 445, "{l}");
        assert!(v["original"].is_object(), "{l}");
    }
    assert_eq!(
        lines.lines().count() as u64,
        count(ws, "destination.port:445")
    );

    // CSV: one column per field.
    let out = lateral(&[
        "search",
        "*",
        "--workspace",
        ws,
        "--output",
        "csv",
        "--limit",
        "2",
    ]);
    let csv = text(&out.stdout);
    assert!(
        csv.starts_with("@timestamp,event.id,event.module,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);

    // Histogram and facets.
    let out = lateral(&[
        "search",
        "*",
        "--workspace",
        ws,
        "--histogram",
        "1d",
        "--output",
        "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let total: u64 = text(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, all);
    let out = lateral(&[
        "search",
        "*",
        "--workspace",
        ws,
        "--facet",
        "event.module",
        "--output",
        "jsonl",
    ]);
    let facet = text(&out.stdout);
    assert!(facet.contains("\"value\":\"zeek\""), "{facet}");
    assert!(facet.contains("\"value\":\"falco\""), "{facet}");

    // Relative time counts back from the newest event, not from today.
    let recent = count_with(ws, &["--since", "1h"]);
    assert!(recent > 0 && recent < all, "{recent} of {all}");
    let none_before = count_with(ws, &["--until", "1990-01-01"]);
    assert_eq!(none_before, 0);

    // Mistakes: exit 2 and a pointer to them.
    let out = lateral(&["search", "user.name:(pgustavo", "--workspace", ws]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("syntax error at column") && err.contains('^'),
        "{err}"
    );
    let out = lateral(&["search", "destination.prot:445", "--workspace", ws]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `destination.port`"));
    let out = lateral(&["search", "*", "--workspace", ws, "--facet", "host.nmae"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `host.name`"));
    let out = lateral(&[
        "search",
        "*",
        "--workspace",
        ws,
        "--facet",
        "process.command_line",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = lateral(&["search", "*", "--workspace", ws, "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = lateral(&[
        "search",
        "*",
        "--workspace",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no index"));
}

fn count_with(ws: &str, extra: &[&str]) -> u64 {
    let mut args = vec!["search", "*", "--workspace", ws, "--count"];
    args.extend_from_slice(extra);
    let out = lateral(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().parse().unwrap()
}

fn event(i: u64) -> Event {
    let mut e = Event::new(1_714_557_600_000_000_000 + i as i64 * 1_000_000);
    e.id = format!("0123456789abcdef-{i}");
    e.set(Field::UserName, format!("user{}", i % 7));
    e.set(Field::SourceIp, format!("10.0.{}.{}", i % 200, i % 250));
    e.set(Field::ProcessCommandLine, format!("cmd.exe /c echo {i}"));
    e.original.push(("Seq".into(), serde_json::json!(i)));
    e
}

#[test]
fn search_works_while_another_process_holds_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().to_str().unwrap();
    let index = Index::open_or_create(&dir.path().join("index")).unwrap();
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for i in 0..300 {
        w.add(event(i)).unwrap();
    }
    w.commit().unwrap();
    for i in 300..400 {
        w.add(event(i)).unwrap();
    }
    // The writer holds the lock with 100 uncommitted events: a search from another process
    // reads the last commit.
    assert_eq!(count(ws, "*"), 300);
    assert_eq!(count(ws, "user.name:user3"), 43);
    let out = lateral(&["index", ws, "--workspace", ws]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a second writer must be refused"
    );
    assert!(text(&out.stderr).contains("being written by another process"));
    w.finish().unwrap();
    assert_eq!(count(ws, "*"), 400);
}

#[test]
fn readers_beside_a_writer_see_whole_commits_only() {
    const BATCH: u64 = 700;
    const COMMITS: u64 = 12;
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let reader_index = index.clone();
    let reader = std::thread::spawn(move || {
        let s = reader_index.searcher(false).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        let mut last = 0;
        while last < BATCH * COMMITS {
            assert!(
                Instant::now() < deadline,
                "reader never saw the last commit"
            );
            s.reload().unwrap();
            let n = s.num_docs();
            assert!(n >= last, "count went back from {last} to {n}");
            assert_eq!(n % BATCH, 0, "saw a partial commit: {n}");
            if n != last {
                // Every stored event of the commit reads back.
                let hits = s.hits(&Query::all(), TimeRange::default(), 50).unwrap();
                assert_eq!(hits.len() as u64, n.min(50));
                assert_eq!(hits[0].event, event(n - 1));
                seen.push(n);
                last = n;
            }
            std::thread::yield_now();
        }
        seen
    });
    let mut w = index
        .writer(WriterConfig {
            commit_interval: Duration::from_secs(3600),
            commit_docs: usize::MAX,
            ..WriterConfig::default()
        })
        .unwrap();
    for c in 0..COMMITS {
        for i in c * BATCH..(c + 1) * BATCH {
            w.add(event(i)).unwrap();
        }
        let info = w.commit_with(&(c + 1).to_le_bytes()).unwrap();
        assert_eq!(info.stats.added, (c + 1) * BATCH);
    }
    w.finish().unwrap();
    let seen = reader.join().unwrap();
    assert_eq!(seen.last(), Some(&(BATCH * COMMITS)));
    assert_eq!(
        index.last_payload().unwrap(),
        Some(COMMITS.to_le_bytes().to_vec())
    );
}

#[test]
fn a_live_searcher_follows_commits_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open_or_create(dir.path()).unwrap();
    let live = index.searcher(true).unwrap();
    assert_eq!(live.num_docs(), 0);
    let mut w = index.writer(WriterConfig::default()).unwrap();
    for i in 0..10 {
        w.add(event(i)).unwrap();
    }
    w.commit().unwrap();
    // The reader watches meta.json and reloads on its own; wait for that, with a bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    while live.num_docs() != 10 {
        assert!(Instant::now() < deadline, "live searcher did not reload");
        std::thread::sleep(Duration::from_millis(10));
    }
    w.finish().unwrap();
}

#[test]
fn hunt_with_a_workspace_indexes_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    let input = fixtures("zeek-tsv");
    let out = lateral(&["hunt", input.to_str().unwrap(), "--workspace", ws, "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = lateral(&["events", input.to_str().unwrap(), "-q"]);
    let read = text(&events.stdout).lines().count() as u64;
    assert!(read > 0);
    assert_eq!(count(ws, "*"), read);
    assert!(dir.path().join("ws/sessions.jsonl").exists());
}
