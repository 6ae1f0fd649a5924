//! `lateral simulate`: write a generated workload (or the bundled sample day) to disk.
//!
//! Layout of `--out DIR`: the logs under `DIR/logs/` (one directory per source family, see
//! [`crate::simulate::act`]) and `DIR/ground-truth.jsonl`, one line per planted chain, kept
//! beside the logs so `lateral hunt DIR/logs` never reads it as a log.
//!
//! Batch mode writes as fast as the disk takes it. Live mode (`--rate R`) stamps events with
//! the wall clock and appends them as their time comes, `R` events a second, for tail/watch
//! tests and latency benchmarks. Every write is whole records, and a chain's ground-truth
//! line is written once all its events are, so an interrupt (Ctrl-C) at any moment leaves
//! consistent files: no torn line, no truth about events that were never written.

// Live mode paces writes on the wall clock, and both modes report elapsed time.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use super::{SimulateArgs, UsageError};
use crate::event::Nanos;
use crate::simulate::{Files, Record, Truth, Workload, WorkloadConfig, scenario};

/// Run `lateral simulate`.
pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    if args.samples {
        let n = write_samples(&args.out)?;
        eprintln!(
            "wrote the sample day: {n} files under {}",
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let events = args
        .events
        .ok_or_else(|| UsageError("--events N is required (or --samples)".into()))?;
    if matches!(args.rate, Some(r) if !(r > 0.0 && r.is_finite())) {
        return Err(
            UsageError("--rate must be a positive number of events per second".into()).into(),
        );
    }
    let mut cfg = WorkloadConfig {
        events,
        hosts: args.hosts,
        attacks: args.attacks,
        seed: args.seed,
        rate: args.rate,
        ..WorkloadConfig::default()
    };
    if args.rate.is_some() {
        cfg.start = wall_nanos();
    }
    let started = Instant::now();
    let mut out = Output::create(&args.out)?;
    let mut workload = Workload::new(&cfg);
    let stats = match args.rate {
        None => out.write_batch(&mut workload)?,
        Some(_) => out.write_live(&mut workload, |_, _| {})?,
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} events ({:.1} MB) to {} files in {secs:.1} s ({:.0} events/s); {} chains in {}",
        stats.events,
        stats.bytes as f64 / 1e6,
        stats.files,
        stats.events as f64 / secs.max(1e-9),
        stats.chains,
        out.truth_path().display()
    );
    eprintln!("hunt them with: lateral hunt {}", out.logs_dir().display());
    Ok(ExitCode::SUCCESS)
}

/// Write `samples/` (the sample day and its baseline) under `out`. Returns the file count.
pub fn write_samples(out: &Path) -> anyhow::Result<usize> {
    let files = scenario::samples();
    for (path, content) in &files {
        let p = out.join(path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(files.len())
}

/// Nanoseconds since the Unix epoch, now.
pub fn wall_nanos() -> Nanos {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| Nanos::try_from(d.as_nanos()).unwrap_or(Nanos::MAX))
}

/// What a run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Events (decoded events, not lines).
    pub events: u64,
    /// Bytes of logs.
    pub bytes: u64,
    /// Log files.
    pub files: usize,
    /// Ground-truth lines written.
    pub chains: usize,
}

/// The files of one output directory, opened as records first name them.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    files: Vec<Option<File>>,
    pending: Vec<Vec<u8>>,
    truth: File,
    truth_written: usize,
    stats: WriteStats,
}

/// Bytes buffered per file before a write in batch mode.
const BATCH_BUFFER: usize = 256 * 1024;

impl Output {
    /// Create `dir/logs/` and an empty `dir/ground-truth.jsonl`.
    pub fn create(dir: &Path) -> anyhow::Result<Output> {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        let truth_path = dir.join("ground-truth.jsonl");
        let truth = File::create(&truth_path)
            .with_context(|| format!("creating {}", truth_path.display()))?;
        Ok(Output {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            pending: Vec::new(),
            truth,
            truth_written: 0,
            stats: WriteStats::default(),
        })
    }

    /// Where the logs go.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The ground-truth file.
    pub fn truth_path(&self) -> PathBuf {
        self.dir.join("ground-truth.jsonl")
    }

    /// Buffer one record, opening its file (and writing its header) on first use.
    fn push(&mut self, files: &Files, r: &Record, open: Nanos) -> anyhow::Result<()> {
        while self.files.len() <= r.file {
            self.files.push(None);
            self.pending.push(Vec::new());
        }
        if self.files[r.file].is_none() {
            let Some(spec) = files.list().get(r.file) else {
                anyhow::bail!("record names an unknown file {}", r.file);
            };
            let path = self.logs_dir().join(&spec.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            self.files[r.file] = Some(f);
            self.stats.files += 1;
            self.pending[r.file].extend_from_slice(spec.header(open).as_bytes());
        }
        self.pending[r.file].extend_from_slice(r.text.as_bytes());
        self.stats.events += u64::from(r.events);
        self.stats.bytes += r.text.len() as u64;
        Ok(())
    }

    /// Write the buffered records of every file (`min`: only buffers at least that big).
    fn flush(&mut self, min: usize) -> anyhow::Result<()> {
        for (f, buf) in self.files.iter_mut().zip(self.pending.iter_mut()) {
            if buf.len() < min.max(1) {
                continue;
            }
            if let Some(f) = f {
                // One write of whole records: an interrupt never leaves half a line.
                f.write_all(buf).context("writing logs")?;
            }
            buf.clear();
        }
        Ok(())
    }

    /// Append the truth lines of chains whose events have all been written by event time
    /// `upto`.
    fn write_truth(&mut self, truth: &[Truth], upto: Nanos) -> anyhow::Result<()> {
        let mut text = String::new();
        while let Some(t) = truth.get(self.truth_written)
            && t.last_seen <= upto
        {
            text.push_str(&serde_json::to_string(t)?);
            text.push('\n');
            self.truth_written += 1;
        }
        if !text.is_empty() {
            self.truth
                .write_all(text.as_bytes())
                .context("writing ground truth")?;
            self.stats.chains = self.truth_written;
        }
        Ok(())
    }

    /// Close every file with its footer (Zeek's `#close`).
    fn finish(&mut self, files: &Files, close: Nanos) -> anyhow::Result<()> {
        for (i, f) in self.files.iter().enumerate() {
            if f.is_some()
                && let Some(spec) = files.list().get(i)
            {
                self.pending[i].extend_from_slice(spec.footer(close).as_bytes());
            }
        }
        self.flush(1)
    }

    /// Write the whole workload as fast as possible.
    pub fn write_batch(&mut self, w: &mut Workload) -> anyhow::Result<WriteStats> {
        let open = w.start();
        let mut last = open;
        let mut n = 0u64;
        while let Some(r) = w.next_record() {
            last = last.max(r.ts);
            self.push(w.files(), &r, open)?;
            n += 1;
            if n.is_multiple_of(4096) {
                self.flush(BATCH_BUFFER)?;
            }
        }
        self.finish(w.files(), last)?;
        let truth = w.truth().to_vec();
        self.write_truth(&truth, Nanos::MAX)?;
        Ok(self.stats)
    }

    /// Append the workload live: each record when the wall clock reaches its event time
    /// (its events were stamped from the wall clock at start). `on_write` is called after
    /// every write with the records just written and the instant of the write.
    pub fn write_live(
        &mut self,
        w: &mut Workload,
        mut on_write: impl FnMut(&[Record], Instant),
    ) -> anyhow::Result<WriteStats> {
        let open = w.start();
        let t0 = Instant::now();
        let t0_event = w.start();
        let mut batch: Vec<Record> = Vec::new();
        let mut last = open;
        let truth = w.truth().to_vec();
        while let Some(r) = w.next_record() {
            let due = t0 + Duration::from_nanos(u64::try_from(r.ts - t0_event).unwrap_or(0));
            let now = Instant::now();
            // Sleep only for gaps worth a system call; records due within a millisecond go
            // out together.
            if due > now + Duration::from_millis(1) {
                // Everything due so far goes out before waiting.
                self.flush(1)?;
                if !batch.is_empty() {
                    on_write(&batch, Instant::now());
                    batch.clear();
                }
                self.write_truth(&truth, last)?;
                std::thread::sleep(due - now);
            }
            last = last.max(r.ts);
            self.push(w.files(), &r, open)?;
            batch.push(r);
        }
        self.finish(w.files(), last)?;
        if !batch.is_empty() {
            on_write(&batch, Instant::now());
        }
        self.write_truth(&truth, Nanos::MAX)?;
        Ok(self.stats)
    }
}
