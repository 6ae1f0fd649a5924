//! Live tailing end to end, through the real binary: `cargo bench --bench tail`.
//!
//! A writer appends AWS VPC flow records (each carries its write time in its interface id) to
//! one file or spread over 100 files, a child `lateral tail --output jsonl` follows the
//! directory, and a reader takes the events off its stdout. Reports:
//! - latency from append to the event on stdout, p50/p99, at 1k, 10k and 50k lines/s;
//! - the maximum sustained rate: lines appended as fast as possible, divided by the time
//!   until the last one is out;
//! - tail + decode alone, in process (`Tailer::poll_once`, no printing): Zeek JSON conn lines
//!   and VPC flow lines read from 1 file and from 100 files.
//!
//! Checkpoints are written (fsync + rename) after every delivered batch, as in production.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn line(out: &mut Vec<u8>, t_ns: u64, i: u64) {
    writeln!(
        out,
        "2 123456789012 eni-{t_ns} 10.0.{}.{} 10.0.0.2 {} 445 6 3 180 {} {} ACCEPT OK",
        i % 200,
        i % 250,
        1024 + i % 60000,
        1_700_000_000 + i % 100_000,
        1_700_000_060 + i % 100_000
    )
    .unwrap();
}

struct Setup {
    _tmp: tempfile::TempDir,
    files: Vec<PathBuf>,
    child: Child,
    /// Write times (ns since `epoch`) of the events printed, as they come out.
    rx: mpsc::Receiver<(u64, Instant)>,
    epoch: Instant,
}

/// The binary under test (`LATERAL_BIN` overrides the one cargo built).
fn binary() -> PathBuf {
    std::env::var_os("LATERAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lateral")))
}

fn setup(n_files: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    let epoch = Instant::now();
    let files: Vec<PathBuf> = (0..n_files)
        .map(|i| logs.join(format!("flows-{i:03}.log")))
        .collect();
    // Enough bytes to be fingerprinted at once, and different in every file (files whose
    // first bytes are identical are taken for copies of one another).
    for (n, f) in files.iter().enumerate() {
        let mut buf = Vec::new();
        for i in 0..4 {
            line(&mut buf, 0, n as u64 * 7 + i);
        }
        fs::write(f, buf).unwrap();
    }
    let mut child = Command::new(binary())
        .arg("tail")
        .arg(&logs)
        .args(["--from-start", "--format", "vpcflow", "--workspace"])
        .arg(tmp.path().join("ws"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start lateral tail (build it with cargo build --release)");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::with_capacity(1 << 20, stdout);
        let mut buf = Vec::new();
        const KEY: &[u8] = b"\"host\":{\"name\":\"eni-";
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let now = Instant::now();
            let Some(at) = memchr::memmem::find(&buf, KEY) else {
                continue;
            };
            let digits = &buf[at + KEY.len()..];
            let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
            let t: u64 = std::str::from_utf8(&digits[..end])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if tx.send((t, now)).is_err() {
                return;
            }
        }
    });
    let s = Setup {
        _tmp: tmp,
        files,
        child,
        rx,
        epoch,
    };
    // Warm-up: the pre-written lines are out.
    drain(&s, 4 * n_files, Duration::from_secs(60));
    s
}

fn drain(s: &Setup, n: usize, limit: Duration) -> Vec<(u64, Instant)> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match s.rx.recv_timeout(left) {
            Ok(x) => got.push(x),
            Err(_) => panic!("only {} of {n} events within {limit:?}", got.len()),
        }
    }
    got
}

fn stop(mut s: Setup) {
    let _ = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status();
    let _ = s.child.wait();
}

impl Drop for Setup {
    fn drop(&mut self) {
        // A panicking run must not leave its child behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Append at `rate` lines/s for `secs`, round-robin over the files, in 1 ms ticks.
fn latency(n_files: usize, rate: u64, secs: u64) -> (Duration, Duration, usize) {
    let s = setup(n_files);
    let total = rate * secs;
    let mut handles: Vec<fs::File> = s
        .files
        .iter()
        .map(|p| fs::OpenOptions::new().append(true).open(p).unwrap())
        .collect();
    let start = Instant::now();
    let mut written = 0u64;
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); n_files];
    while written < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        if due > written {
            let t = s.epoch.elapsed().as_nanos() as u64;
            for i in written..due {
                line(&mut bufs[(i as usize) % n_files], t, i);
            }
            for (f, b) in handles.iter_mut().zip(bufs.iter_mut()) {
                if !b.is_empty() {
                    f.write_all(b).unwrap();
                    b.clear();
                }
            }
            written = due;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let got = drain(&s, total as usize, Duration::from_secs(120));
    let mut lat: Vec<Duration> = got
        .iter()
        .map(|(t, at)| at.duration_since(s.epoch + Duration::from_nanos(*t)))
        .collect();
    lat.sort();
    stop(s);
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    (p(0.5), p(0.99), lat.len())
}

/// Append `total` lines as fast as possible; lines/s from the first write to the last event.
fn max_rate(n_files: usize, total: u64) -> f64 {
    let s = setup(n_files);
    let mut handles: Vec<fs::File> = s
        .files
        .iter()
        .map(|p| fs::OpenOptions::new().append(true).open(p).unwrap())
        .collect();
    let (done_tx, done_rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let chunk = 2000u64;
            let mut i = 0;
            let mut buf = Vec::with_capacity(1 << 20);
            while i < total {
                let f = (i / chunk) as usize % n_files;
                buf.clear();
                for j in i..(i + chunk).min(total) {
                    line(&mut buf, 0, j);
                }
                handles[f].write_all(&buf).unwrap();
                i += chunk;
            }
            done_tx.send(start.elapsed()).unwrap();
        });
    });
    let written_in = done_rx.recv().unwrap();
    drain(&s, total as usize, Duration::from_secs(300));
    let elapsed = start.elapsed();
    stop(s);
    eprintln!("    ({total} lines written in {written_in:.2?}, all out after {elapsed:.2?})");
    total as f64 / elapsed.as_secs_f64()
}

fn zeek_json(out: &mut Vec<u8>, i: u64) {
    writeln!(
        out,
        "{{\"ts\":{}.{:06},\"uid\":\"C{i:017}\",\"id.orig_h\":\"10.20.{}.{}\",\"id.orig_p\":{},\"id.resp_h\":\"10.20.1.10\",\"id.resp_p\":445,\"proto\":\"tcp\",\"service\":\"smb\",\"duration\":1.5,\"orig_bytes\":4812,\"resp_bytes\":2977,\"conn_state\":\"SF\",\"local_orig\":true,\"local_resp\":true,\"missed_bytes\":0,\"history\":\"ShADdaFf\",\"orig_pkts\":15,\"orig_ip_bytes\":5424,\"resp_pkts\":13,\"resp_ip_bytes\":3505}}",
        1_709_630_401 + i / 1000,
        i % 1_000_000,
        (i / 250) % 250,
        i % 250,
        1024 + i % 60000
    )
    .unwrap();
}

/// Tail + decode in process: `total` lines already written over `n_files`, read from the
/// start by `poll_once` until every event is out.
fn in_process(format: &str, n_files: usize, total: u64) -> f64 {
    use lateral::ingest::tail::{TailOptions, Tailer};
    let tmp = tempfile::tempdir().unwrap();
    let per_file = total / n_files as u64;
    for f in 0..n_files {
        let mut buf = Vec::with_capacity(per_file as usize * 400);
        for j in 0..per_file {
            let i = f as u64 * per_file + j;
            if format == "zeek-json" {
                zeek_json(&mut buf, i);
            } else {
                line(&mut buf, i, i);
            }
        }
        fs::write(tmp.path().join(format!("{f:03}.log")), buf).unwrap();
    }
    let mut opts = TailOptions::new(vec![tmp.path().to_path_buf()]);
    opts.from_start = true;
    opts.format = lateral::decode::format_by_name(format);
    let mut tailer = Tailer::new(opts, None);
    let start = Instant::now();
    let mut events = 0u64;
    while events < per_file * n_files as u64 {
        let b = tailer.poll_once(Instant::now());
        events += b.events.len() as u64;
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "stuck at {events} events"
        );
    }
    events as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if !Path::new(&binary()).exists() {
        eprintln!("build the binary first: cargo build --release");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let secs = if quick { 1 } else { 5 };
    println!("append → stdout latency (lateral tail, jsonl, checkpoint per batch)");
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>8}",
        "files", "lines/s", "p50", "p99", "events"
    );
    for files in [1usize, 100] {
        for rate in [1_000u64, 10_000, 50_000] {
            let (p50, p99, n) = latency(files, rate, secs);
            println!(
                "{files:<8} {rate:>10} {:>10} {:>10} {n:>8}",
                format!("{:.1?}", p50),
                format!("{:.1?}", p99)
            );
        }
    }
    println!("\nmaximum sustained rate (append as fast as possible until the last event is out)");
    let total = if quick { 200_000 } else { 2_000_000 };
    for files in [1usize, 100] {
        let rate = max_rate(files, total);
        println!("{files:<8} {:>10.0} lines/s", rate);
    }
    println!("\ntail + decode in process (poll_once, one thread, no output)");
    let total = if quick { 200_000 } else { 1_000_000 };
    for format in ["zeek-json", "vpcflow"] {
        for files in [1usize, 100] {
            let rate = in_process(format, files, total);
            println!("{format:<10} {files:>4} files {:>10.0} lines/s", rate);
        }
    }
}
