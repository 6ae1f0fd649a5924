//! Crash test of the real binary: a child `lateral tail` is killed with SIGKILL at 20 random
//! moments while a writer appends and rotates (rename) a log, and restarted each time on the
//! same workspace. The union of everything the children printed holds every line written;
//! a final SIGTERM exits 0.
//!
//! No sleeps are used to synchronise: the test waits (bounded, with a clear message) for the
//! children's output files to reach what it needs. `LATERAL_TAIL_KILL_SEED` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
// Bounded waits measure wall-clock time.
#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

struct Writer {
    dir: PathBuf,
    next: u64,
    rotations: u32,
    since_rotation: u64,
}

impl Writer {
    /// Append `n` flow records, rotating (rename) every few hundred.
    fn write(&mut self, n: u64, rng: &mut Rng) {
        let path = self.dir.join("flows.log");
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for _ in 0..n {
            let i = self.next;
            self.next += 1;
            writeln!(
                f,
                "2 123456789012 eni-{i} 10.0.{}.{} 10.0.0.2 {} 445 6 3 180 {} {} ACCEPT OK",
                i % 200,
                i % 250,
                1024 + i % 60000,
                1_700_000_000 + i,
                1_700_000_060 + i
            )
            .unwrap();
            self.since_rotation += 1;
            if self.since_rotation >= 150 + rng.below(300) {
                drop(f);
                self.rotations += 1;
                fs::rename(
                    &path,
                    self.dir.join(format!("flows.log.{}", self.rotations)),
                )
                .unwrap();
                self.since_rotation = 0;
                f = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap();
            }
        }
    }
}

fn spawn(logs: &Path, ws: &Path, out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lateral"))
        .arg("tail")
        .arg(logs)
        .args(["--from-start", "--format", "vpcflow", "--workspace"])
        .arg(ws)
        .stdin(Stdio::null())
        .stdout(fs::File::create(out).unwrap())
        .stderr(fs::File::create(out.with_extension("err")).unwrap())
        .spawn()
        .expect("start lateral tail")
}

/// Interface ids (`eni-N`) of the complete JSON lines in `out` (a SIGKILL may cut the last one).
fn seen_in(out: &Path, into: &mut HashSet<u64>) -> usize {
    let text = fs::read_to_string(out).unwrap_or_default();
    let mut lines = 0;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(n) = v["host"]["name"]
            .as_str()
            .and_then(|h| h.strip_prefix("eni-"))
            .and_then(|n| n.parse().ok())
        {
            into.insert(n);
            lines += 1;
        }
    }
    lines
}

/// Wait until `out` holds at least `lines` events, or `limit` passes.
fn wait_for_output(out: &Path, lines: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if seen_in(out, &mut HashSet::new()) >= lines {
            return true;
        }
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(5));
    }
    false
}

#[test]
fn killed_twenty_times_loses_no_line() {
    let seed = std::env::var("LATERAL_TAIL_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x4b11_1e55);
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let ws = tmp.path().join("ws");
    fs::create_dir_all(&logs).unwrap();
    let mut writer = Writer {
        dir: logs.clone(),
        next: 0,
        rotations: 0,
        since_rotation: 0,
    };
    let mut outputs = Vec::new();
    writer.write(100, &mut rng);
    for round in 0..20 {
        let out = tmp.path().join(format!("out-{round}.jsonl"));
        let mut child = spawn(&logs, &ws, &out);
        outputs.push(out.clone());
        // A random moment: right away, after a burst of writes, or once some output is out.
        match rng.below(3) {
            0 => {}
            1 => writer.write(1 + rng.below(400), &mut rng),
            _ => {
                writer.write(50 + rng.below(400), &mut rng);
                let want = 1 + rng.below(50) as usize;
                wait_for_output(&out, want, Duration::from_secs(20));
                writer.write(rng.below(100), &mut rng);
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    writer.write(200, &mut rng);

    // Final run: every line must come out, then SIGTERM stops it cleanly.
    let out = tmp.path().join("out-final.jsonl");
    let mut child = spawn(&logs, &ws, &out);
    outputs.push(out.clone());
    let total = writer.next;
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let mut seen = HashSet::new();
        for o in &outputs {
            seen_in(o, &mut seen);
        }
        let missing: Vec<u64> = (0..total).filter(|i| !seen.contains(i)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        std::thread::park_timeout(Duration::from_millis(20));
    };
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("lateral tail did not exit within 30 s of SIGTERM");
        }
        std::thread::park_timeout(Duration::from_millis(10));
    };
    let stderr = fs::read_to_string(out.with_extension("err")).unwrap_or_default();
    assert!(
        missing.is_empty(),
        "seed {seed}: {} of {total} lines never printed within 60 s (first: {:?}); stderr of the last run:\n{stderr}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        code.success(),
        "SIGTERM exit status {code:?}; stderr:\n{stderr}"
    );
    assert!(
        ws.join("checkpoints.json").exists(),
        "checkpoints saved in the workspace"
    );
}
