//! `lateral demo`: replay the bundled samples into a temporary directory at a realistic pace
//! and watch it, so a new user sees sessions appear and escalate within seconds.
//!
//! Every sample file is decoded once to learn when each of its records happened; records are
//! then appended to a copy of the file in a temporary directory at a wall-clock moment
//! proportional to their event time (the whole scenario takes about two minutes, `--speed`
//! scales it). Within a file, bytes are written in file order, so headers, multi-line records
//! and joined records (auditd) arrive as the real writer would write them.

// The replay is paced by the wall clock by design.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{DemoArgs, UsageError, WatchArgs};
use crate::decode::{self, Context};
use crate::event::{Nanos, Networks};

/// One write: `bytes` appended to `file` at `at` after the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write1 {
    /// Relative path of the file.
    pub file: PathBuf,
    /// When, after the start.
    pub at: Duration,
    /// What.
    pub bytes: Vec<u8>,
}

/// Where the samples are: `--samples`, else `./samples`, else the samples beside the sources
/// this binary was built from.
fn samples_dir(arg: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = arg {
        return Ok(p.to_path_buf());
    }
    for c in [
        PathBuf::from("samples"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"),
    ] {
        if c.join("README.md").is_file() || c.is_dir() {
            return Ok(c);
        }
    }
    Err(UsageError("no samples directory found; pass --samples DIR".into()).into())
}

/// A sample file: relative path, (event time, start offset) of each record, and its bytes.
type SampleFile = (PathBuf, Vec<(Nanos, usize)>, Vec<u8>);

/// Plan the replay of every text file under `dir` over `duration`.
pub fn plan(dir: &Path, duration: Duration) -> anyhow::Result<Vec<Write1>> {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    crate::ingest::batch::collect_files(dir, &mut Default::default(), &mut files, &mut failures);
    let mut per_file: Vec<SampleFile> = Vec::new();
    for path in files {
        let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Documentation and baselines are not part of the live scenario.
        if name == "README.md" || rel.starts_with("baseline") {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let head = &bytes[..bytes.len().min(64 * 1024)];
        let Some(format) = decode::detect(&name, head) else {
            continue;
        };
        if format.framing == decode::Framing::Whole {
            // Binary formats (EVTX) are not appended record by record; copy them at the end.
            per_file.push((rel, vec![(Nanos::MAX, 0)], bytes));
            continue;
        }
        let ctx = Context::new(
            rel.display().to_string(),
            rel.display().to_string(),
            Networks::default(),
            0,
        );
        let sink = decode::decode_all(format, &bytes, &ctx);
        let mut marks: Vec<(Nanos, usize)> = sink
            .events
            .iter()
            .filter_map(|e| {
                e.int(crate::event::Field::LogOffset)
                    .map(|o| (e.timestamp, usize::try_from(o).unwrap_or(0)))
            })
            .collect();
        marks.sort_by_key(|(_, o)| *o);
        marks.dedup_by_key(|(_, o)| *o);
        per_file.push((rel, marks, bytes));
    }
    let times: Vec<Nanos> = per_file
        .iter()
        .flat_map(|(_, m, _)| m.iter().map(|(t, _)| *t))
        .filter(|t| *t != Nanos::MAX)
        .collect();
    let (Some(&t0), Some(&t1)) = (times.iter().min(), times.iter().max()) else {
        return Ok(Vec::new());
    };
    let span = (t1 - t0).max(1) as f64;
    let total = duration.as_secs_f64();
    let at = |t: Nanos| {
        if t == Nanos::MAX {
            duration
        } else {
            Duration::from_secs_f64(((t - t0) as f64 / span) * total)
        }
    };
    let mut writes = Vec::new();
    for (rel, marks, bytes) in per_file {
        let mut latest = Duration::ZERO;
        let first = marks.first().map_or(bytes.len(), |(_, o)| *o);
        if first > 0 {
            writes.push(Write1 {
                file: rel.clone(),
                at: Duration::ZERO,
                bytes: bytes[..first].to_vec(),
            });
        }
        for (i, (t, start)) in marks.iter().enumerate() {
            let end = marks.get(i + 1).map_or(bytes.len(), |(_, o)| *o);
            // File order is kept: a record never overtakes the one before it.
            latest = latest.max(at(*t));
            if let Some(chunk) = bytes.get(*start..end) {
                writes.push(Write1 {
                    file: rel.clone(),
                    at: latest,
                    bytes: chunk.to_vec(),
                });
            }
        }
    }
    writes.sort_by_key(|w| w.at);
    Ok(writes)
}

/// Append the planned writes under `out` on schedule, until done or `stop` is set.
pub fn replay(out: &Path, writes: Vec<Write1>, stop: &AtomicBool) -> std::io::Result<()> {
    let start = Instant::now();
    let mut open: BTreeMap<PathBuf, std::fs::File> = BTreeMap::new();
    for w in writes {
        while start.elapsed() < w.at {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            std::thread::sleep(
                w.at.saturating_sub(start.elapsed())
                    .min(Duration::from_millis(50)),
            );
        }
        let path = out.join(&w.file);
        let file = match open.get_mut(&path) {
            Some(f) => f,
            None => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?;
                open.entry(path.clone()).or_insert(f)
            }
        };
        file.write_all(&w.bytes)?;
        file.flush()?;
    }
    Ok(())
}

/// Run `lateral demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(UsageError("--speed must be a positive number".into()).into());
    }
    let samples = samples_dir(args.samples.as_deref())?;
    let writes = plan(&samples, Duration::from_secs_f64(120.0 / args.speed))?;
    if writes.is_empty() {
        return Err(UsageError(format!("no sample logs found under {}", samples.display())).into());
    }
    let tmp = tempdir()?;
    let logs = tmp.join("logs");
    let ws = tmp.join("workspace");
    std::fs::create_dir_all(&logs)?;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let logs = logs.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("lateral-demo-writer".into())
            .spawn(move || {
                if let Err(e) = replay(&logs, writes, &stop) {
                    eprintln!("lateral demo: writing samples: {e}");
                }
            })?
    };
    if args.headless {
        eprintln!(
            "lateral demo: replaying {} into {} (about {:.0} s)",
            samples.display(),
            logs.display(),
            120.0 / args.speed
        );
    }
    let watch = WatchArgs {
        paths: vec![logs.clone()],
        workspace: Some(ws),
        rules: Vec::new(),
        from_start: true,
        headless: args.headless,
        min_severity: crate::event::Severity::Low,
        theme: args.theme.clone(),
        include: Vec::new(),
        exclude: Vec::new(),
        format: "auto".into(),
        internal: Vec::new(),
        window: "1h".into(),
        lateness: "2m".into(),
        nats: super::nats::NatsArgs::default(),
    };
    let result = super::watch::run(&watch);
    stop.store(true, Ordering::SeqCst);
    let _ = writer.join();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// A private temporary directory (0700) for the demo's logs and workspace.
fn tempdir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let nanos = super::case::now();
        let p = base.join(format!(
            "lateral-demo-{}-{}",
            std::process::id(),
            nanos.wrapping_add(i64::from(i))
        ));
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        if b.create(&p).is_ok() {
            return Ok(p);
        }
    }
    anyhow::bail!(
        "cannot create a temporary directory under {}",
        base.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_keeps_file_order_and_spreads_by_event_time() {
        let dir = tempfile::tempdir().unwrap();
        let vpc = "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 100 160 ACCEPT OK\n\
                   2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 200 260 ACCEPT OK\n\
                   2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 150 260 ACCEPT OK\n";
        std::fs::write(dir.path().join("flows.log"), vpc).unwrap();
        let w = plan(dir.path(), Duration::from_millis(200)).unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].at, Duration::ZERO);
        assert_eq!(w[1].at, Duration::from_millis(200));
        // The third record is earlier in event time but comes after the second in the file.
        assert_eq!(w[2].at, Duration::from_millis(200));
        let joined: Vec<u8> = w.iter().flat_map(|x| x.bytes.clone()).collect();
        assert_eq!(joined, vpc.as_bytes());
        let out = tempfile::tempdir().unwrap();
        replay(out.path(), w, &AtomicBool::new(false)).unwrap();
        assert_eq!(
            std::fs::read(out.path().join("flows.log")).unwrap(),
            vpc.as_bytes()
        );
    }
}
