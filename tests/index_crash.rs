//! `kill -9` of the real `lateral index` at random moments: after each kill the index holds
//! exactly the events its last commit's checkpoint says were read — no event lost, none twice —
//! and running the same command again completes the index.

// Test code: a panic is a failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Deadlines bound the waits on the child process; the kill moment is random on purpose.
#![allow(clippy::disallowed_methods)]

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lateral::cli::index::BatchCheckpoint;
use lateral::index::{Index, Query, TimeRange};
use lateral::ingest::batch::{self, BatchOptions};

const FILES: usize = 3;
const LINES: usize = 12_000;

/// Zeek conn logs with distinct, plausible lines.
fn write_inputs(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for f in 0..FILES {
        let mut s = String::from(
            "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n",
        );
        for i in 0..LINES {
            let _ = writeln!(
                s,
                "{}.{:06}\tC{f}x{i:08}\t10.{f}.{}.{}\t{}\t10.9.{}.{}\t445\ttcp\tsmb\t0.{i:06}\t{}\t{}\tSF",
                1_714_557_600 + i,
                i % 999_999,
                i % 250,
                (i * 7) % 250,
                1024 + i % 60_000,
                i % 16,
                (i * 3) % 250,
                i * 3,
                i * 5,
            );
        }
        let p = dir.join(format!("conn-{f}.log"));
        std::fs::write(&p, s).unwrap();
        paths.push(p);
    }
    paths
}

/// Event ids in the order `lateral index` reads them.
fn ids_in_reading_order(paths: &[PathBuf]) -> Vec<String> {
    let opts = BatchOptions::default();
    let mut ids = Vec::new();
    for p in paths {
        for reader in batch::open(p, &opts) {
            let mut reader = reader.unwrap();
            while let Some(ev) = reader.next_event() {
                ids.push(ev.id);
            }
        }
    }
    ids
}

struct State {
    docs: u64,
    checkpoint: Option<BatchCheckpoint>,
}

fn state(index_dir: &Path) -> Option<State> {
    let index = Index::open(index_dir).ok()?;
    let commit = index.last_commit().ok()??;
    let checkpoint = commit
        .checkpoint
        .map(|c| serde_json::from_slice(&c).unwrap());
    let docs = index.searcher(false).ok()?.num_docs();
    Some(State { docs, checkpoint })
}

/// Exactly the first `n` ids are indexed, each once.
fn assert_holds_prefix(index_dir: &Path, ids: &[String], n: usize) {
    let index = Index::open(index_dir).unwrap();
    let s = index.searcher(false).unwrap();
    assert_eq!(s.num_docs(), n as u64);
    let schema = index.schema();
    let present = s
        .count(&Query::ids(schema, &ids[..n]), TimeRange::default())
        .unwrap();
    assert_eq!(present, n as u64, "events of the checkpoint missing");
    let absent = s
        .count(&Query::ids(schema, &ids[n..]), TimeRange::default())
        .unwrap();
    assert_eq!(absent, 0, "events past the checkpoint indexed");
}

#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = write_inputs(dir.path());
    let ids = ids_in_reading_order(&inputs);
    assert_eq!(ids.len(), FILES * LINES);
    let ws = dir.path().join("ws");
    let index_dir = ws.join("index");
    // A private copy of the binary: the test runs it for seconds, and a shared build
    // directory may be rebuilt underneath it meanwhile.
    let bin = dir.path().join("lateral");
    std::fs::copy(env!("CARGO_BIN_EXE_lateral"), &bin).unwrap();
    let help = Command::new(&bin)
        .args(["index", "--help"])
        .output()
        .unwrap();
    assert!(
        help.status.success(),
        "{} has no `index` command: was the shared build directory rebuilt by another branch?",
        env!("CARGO_BIN_EXE_lateral")
    );
    let mut rng = RandomState::new().build_hasher().finish() | 1;
    println!("seed {rng:#x}");
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let run = || {
        let mut cmd = Command::new(&bin);
        cmd.arg("index")
            .args(&inputs)
            .arg("--workspace")
            .arg(&ws)
            .args([
                "--commit-docs",
                "1500",
                "--commit-interval",
                "20ms",
                "--threads",
                "1",
                "-q",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };

    let mut docs = 0u64;
    let mut kills = 0;
    for round in 0..5 {
        let mut child = run().spawn().unwrap();
        // Let this run get somewhere: past what the index already holds, plus a random
        // number of events (it re-reads from the start; known events are skipped).
        let goal = docs + 1 + next(8_000);
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut exited = false;
        loop {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            if state(&index_dir)
                .and_then(|s| s.checkpoint)
                .is_some_and(|c| c.events >= goal)
            {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        if !exited {
            // A random moment within a commit cycle (commits every 20 ms or 1500 events).
            std::thread::sleep(Duration::from_millis(next(25)));
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let st = state(&index_dir).expect("a commit exists");
        let cp = st.checkpoint.expect("commit carries a checkpoint");
        // Every run reads the same files in the same order, so the index holds the longest
        // prefix any run committed: this run's checkpoint, or an earlier run's.
        assert_eq!(
            st.docs,
            docs.max(cp.events),
            "round {round}: index and checkpoint disagree ({cp:?})"
        );
        assert_eq!(
            cp.sources_done * LINES as u64 + cp.current_events,
            cp.events,
            "{cp:?}"
        );
        docs = st.docs;
        assert_holds_prefix(&index_dir, &ids, docs as usize);
        println!(
            "round {round}: killed={} docs={docs} checkpoint={cp:?}",
            !exited
        );
    }
    assert!(kills > 0, "the runs finished before any kill");

    // Run to the end: the index is complete.
    let out = run().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = state(&index_dir).unwrap();
    assert_eq!(st.docs, ids.len() as u64);
    let cp = st.checkpoint.unwrap();
    assert_eq!(cp.events, ids.len() as u64);
    assert_eq!(cp.sources_done, FILES as u64);
    assert_holds_prefix(&index_dir, &ids, ids.len());
}
