//! `lateral bench`: generate a workload and measure every stage of the pipeline in one run.
//!
//! Stages, in order (each reported with what exactly was timed):
//!
//! 1. **generate**: `lateral simulate`'s batch writer into a scratch directory.
//! 2. **decode, per format**: each file read in the 256 KiB chunks `lateral hunt` reads, the
//!    framing and decoding of every chunk timed (normalization included; reading is not).
//! 3. **correlate**: the `lateral hunt` loop over the scratch directory (read, decode, merge by
//!    event time, `Engine::observe`); `Engine::observe` is timed on its own, and the whole
//!    loop end to end. The sessions are scored against the ground truth.
//! 4. **index** and **search**: measured by [`index_stage`] once the index module is in the
//!    build; until then the report says so instead of showing a number.
//! 5. **live latency**: the live writer appends at a fixed rate while an in-process follower
//!    polls the files every [`POLL`], decodes what was appended and feeds
//!    `Engine::observe` (allowed lateness 0, see below); the latency of a chain is from the
//!    write of the event that completes it ([`Truth::fires_at`]) to the first session change
//!    that shows it at its expected severity.
//! 6. **peak RSS**: the process's high-water mark (`VmHWM` in `/proc/self/status`).
//!
//! The engine's allowed lateness (2 minutes by default) delays every session change by that
//! much event time in a live pipeline: events are reordered within it before processing. The
//! live stage runs with lateness 0 so the number is the pipeline's own latency; a live hunt
//! with the default setting adds the lateness on top.

// Benchmarks measure wall-clock time.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use super::simulate::{Output, wall_nanos};
use super::{BenchArgs, BenchOutput};
use crate::correlate::baseline::Baseline;
use crate::correlate::{Engine, EngineConfig, builtin};
use crate::decode::frame::{Frame, Framer, MAX_RECORD};
use crate::decode::{self, Context, Decoder, Sink};
use crate::event::{Nanos, Networks};
use crate::ingest::batch::{self, BatchOptions, Merge};
use crate::simulate::truth::score;
use crate::simulate::{Truth, Workload, WorkloadConfig};

/// How often the live follower looks for appended bytes.
pub const POLL: Duration = Duration::from_millis(5);

/// One measured stage.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Name.
    pub stage: String,
    /// Events processed.
    pub events: u64,
    /// Bytes processed.
    pub bytes: u64,
    /// Seconds timed.
    pub seconds: f64,
    /// Events per second.
    pub events_per_sec: f64,
    /// Megabytes (10^6) per second.
    pub mb_per_sec: f64,
    /// What was timed.
    pub note: String,
}

impl Stage {
    fn new(stage: &str, events: u64, bytes: u64, seconds: f64, note: impl Into<String>) -> Stage {
        let s = seconds.max(1e-9);
        Stage {
            stage: stage.to_string(),
            events,
            bytes,
            seconds,
            events_per_sec: events as f64 / s,
            mb_per_sec: bytes as f64 / 1e6 / s,
            note: note.into(),
        }
    }
}

/// Index throughput and search latency, when the index module is in the build.
#[derive(Debug, Clone, Serialize)]
pub struct IndexResult {
    /// Indexing.
    pub index: Stage,
    /// Median search latency, milliseconds.
    pub search_p50_ms: f64,
    /// 99th percentile search latency, milliseconds.
    pub search_p99_ms: f64,
}

/// The live stage's result.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    /// Append rate (events per second).
    pub rate: f64,
    /// Events appended.
    pub events: u64,
    /// Chains planted.
    pub chains: usize,
    /// Chains whose session was seen at its severity.
    pub measured: usize,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Largest latency, milliseconds.
    pub max_ms: f64,
    /// What was measured.
    pub note: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Build profile.
    pub build: &'static str,
    /// Logical CPUs.
    pub cpus: usize,
    /// Workload size.
    pub events: u64,
    /// Hosts in the simulated world.
    pub hosts: usize,
    /// Chains planted in the batch workload.
    pub chains: usize,
    /// Generation.
    pub generate: Stage,
    /// Decode per format.
    pub decode: Vec<Stage>,
    /// Decode, all formats.
    pub decode_total: Stage,
    /// `Engine::observe` alone.
    pub correlate: Stage,
    /// The hunt loop end to end (read, decode, merge, observe).
    pub hunt: Stage,
    /// Chains found with their case and severity.
    pub chains_found: usize,
    /// Sessions at medium or above matching no chain.
    pub false_positives: usize,
    /// Index and search (null: not in this build).
    pub index: Option<IndexResult>,
    /// Why index is null.
    pub index_note: Option<String>,
    /// Live latency.
    pub live: Live,
    /// Peak resident set size, bytes (VmHWM).
    pub peak_rss_bytes: Option<u64>,
}

/// Run `lateral bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let scratch = std::env::temp_dir().join(format!("lateral-bench-{}", std::process::id()));
    let result = bench(args, &scratch);
    // The scratch directory is ours alone (named after this process).
    let _ = std::fs::remove_dir_all(&scratch);
    let report = result?;
    match args.output {
        BenchOutput::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        BenchOutput::Table => print_table(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(args: &BenchArgs, scratch: &Path) -> anyhow::Result<Report> {
    let cfg = WorkloadConfig {
        events: args.events,
        hosts: args.hosts,
        attacks: 9,
        seed: args.seed,
        ..WorkloadConfig::default()
    };
    eprintln!("bench: generating {} events...", cfg.events);
    let batch_dir = scratch.join("batch");
    let t = Instant::now();
    let mut out = Output::create(&batch_dir)?;
    let mut workload = Workload::new(&cfg);
    let written = out.write_batch(&mut workload)?;
    let generate = Stage::new(
        "generate",
        written.events,
        written.bytes,
        t.elapsed().as_secs_f64(),
        format!(
            "lateral simulate batch writer, {} files on disk",
            written.files
        ),
    );
    let truth = workload.truth().to_vec();
    let logs = out.logs_dir();

    eprintln!("bench: decoding per format...");
    let (decode, decode_total) = decode_stage(&logs)?;
    eprintln!("bench: correlating...");
    let (correlate, hunt, found, false_positives) = correlate_stage(&logs, &truth);
    let (index, index_note) = match index_stage(&logs) {
        Some(r) => (Some(r), None),
        None => (
            None,
            Some("not available in this build: the index module is not on this branch yet (wire it in cli::bench::index_stage)".to_string()),
        ),
    };
    eprintln!(
        "bench: live latency at {} events/s for {} s...",
        args.rate, args.seconds
    );
    let live = live_stage(args, &scratch.join("live"))?;
    Ok(Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        events: cfg.events,
        hosts: cfg.hosts,
        chains: truth.len(),
        generate,
        decode,
        decode_total,
        correlate,
        hunt,
        chains_found: found,
        false_positives,
        index,
        index_note,
        live,
        peak_rss_bytes: peak_rss(),
    })
}

fn decode_stage(logs: &Path) -> anyhow::Result<(Vec<Stage>, Stage)> {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    batch::collect_files(logs, &mut Default::default(), &mut files, &mut failures);
    let mut per: HashMap<&'static str, (u64, u64, Duration)> = HashMap::new();
    let mut chunk = vec![0u8; CHUNK];
    for f in files {
        let mut file = File::open(&f).with_context(|| format!("opening {}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = read_full(&mut file, &mut chunk)?;
        let head = &chunk[..n.min(batch::HEAD_LEN)];
        let Some(format) = decode::detect(&name, head) else {
            anyhow::bail!("{}: format not detected", f.display());
        };
        let ctx = Context::new(
            f.display().to_string(),
            f.display().to_string(),
            Networks::default(),
            0,
        );
        let mut decoder = (format.decoder)();
        let mut framer = Framer::new(format.framing, MAX_RECORD);
        let mut sink = Sink::default();
        let (mut events, mut bytes, mut spent) = (0u64, 0u64, Duration::ZERO);
        let mut len = n;
        // Chunks of the size `lateral hunt` reads; only framing and decoding are timed.
        while len > 0 {
            let t = Instant::now();
            framer.push(&chunk[..len], &mut |frame| {
                feed(frame, decoder.as_mut(), &ctx, &mut sink)
            });
            spent += t.elapsed();
            bytes += len as u64;
            events += sink.events.len() as u64;
            if let Some(e) = sink.errors.first() {
                anyhow::bail!("{}: decode error: {e}", f.display());
            }
            sink = Sink::default();
            len = read_full(&mut file, &mut chunk)?;
        }
        let t = Instant::now();
        framer.finish(&mut |frame| feed(frame, decoder.as_mut(), &ctx, &mut sink));
        decoder.finish(&ctx, &mut sink);
        spent += t.elapsed();
        events += sink.events.len() as u64;
        let e = per.entry(format.name).or_default();
        e.0 += events;
        e.1 += bytes;
        e.2 += spent;
    }
    let mut stages: Vec<Stage> = per
        .into_iter()
        .map(|(name, (ev, b, d))| {
            Stage::new(
                &format!("decode {name}"),
                ev,
                b,
                d.as_secs_f64(),
                "framing + decoding of 256 KiB chunks, one core",
            )
        })
        .collect();
    stages.sort_by(|a, b| a.stage.cmp(&b.stage));
    let (ev, b, s) = stages.iter().fold((0, 0, 0.0), |acc, st| {
        (acc.0 + st.events, acc.1 + st.bytes, acc.2 + st.seconds)
    });
    Ok((
        stages,
        Stage::new(
            "decode (all formats)",
            ev,
            b,
            s,
            "sum of the per-format times, one core",
        ),
    ))
}

/// Bytes read at a time, as `lateral hunt` reads.
const CHUNK: usize = 256 * 1024;

fn feed(frame: Frame<'_>, decoder: &mut dyn Decoder, ctx: &Context, sink: &mut Sink) {
    if let Frame::Record { offset, bytes } = frame {
        decoder.decode(bytes, offset, ctx, sink);
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> anyhow::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

fn correlate_stage(logs: &Path, truth: &[Truth]) -> (Stage, Stage, usize, usize) {
    let (rules, _) = builtin::rules();
    let mut engine = Engine::new(rules, EngineConfig::default(), Baseline::default());
    let (readers, _) = batch::open_paths(&[logs.to_path_buf()], &BatchOptions::default());
    let mut merge = Merge::new(readers);
    let start = Instant::now();
    let mut observe = Duration::ZERO;
    let mut n = 0u64;
    let mut bytes = 0u64;
    for ev in merge.by_ref() {
        n += 1;
        bytes += ev.raw.as_ref().map_or(0, |r| r.len() as u64 + 1);
        let t = Instant::now();
        engine.observe(&ev);
        observe += t.elapsed();
    }
    let t = Instant::now();
    engine.advance(i64::MAX);
    observe += t.elapsed();
    let total = start.elapsed().as_secs_f64();
    let sessions = engine.sessions();
    let s = score(&sessions, truth);
    (
        Stage::new(
            "correlate",
            n,
            bytes,
            observe.as_secs_f64(),
            "Engine::observe + the final advance, timed alone",
        ),
        Stage::new(
            "hunt end to end",
            n,
            bytes,
            total,
            "read files, decode, merge by event time, observe (lateral hunt's loop)",
        ),
        s.found,
        s.false_positives.len(),
    )
}

/// Index the workload into a scratch index (the writer `lateral index` and the live pipeline
/// use, two threads, commit every 50k events) and time a fixed set of queries over it: term,
/// boolean, CIDR, time window + term, phrase, 20 runs each after one warm-up. `None` when the
/// index cannot be created (reported, not fatal to the other stages).
pub fn index_stage(logs: &Path) -> Option<IndexResult> {
    let dir = logs.parent().unwrap_or(logs).join("bench-index");
    let _ = std::fs::remove_dir_all(&dir);
    let index = crate::index::Index::open_or_create(&dir).ok()?;
    let mut writer = index.writer(crate::index::WriterConfig::default()).ok()?;
    let (readers, _) = batch::open_paths(&[logs.to_path_buf()], &BatchOptions::default());
    let started = Instant::now();
    let mut events = 0u64;
    let mut bytes = 0u64;
    for mut reader in readers {
        while let Some(ev) = reader.next_event() {
            events += 1;
            writer.add(ev).ok()?;
        }
        bytes += reader.report().bytes;
    }
    writer.finish().ok()?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let searcher = index.searcher(false).ok()?;
    let newest = searcher.newest().unwrap_or(0);
    let queries = [
        ("user.name:admin", crate::index::TimeRange::default()),
        (
            "event.code:4624 AND winlog.logon.type:3",
            crate::index::TimeRange::default(),
        ),
        (
            "source.ip:10.0.0.0/8 AND destination.port:445",
            crate::index::TimeRange::default(),
        ),
        (
            "event.dataset:zeek.conn",
            crate::index::TimeRange {
                since: Some(newest - 3_600_000_000_000),
                until: None,
            },
        ),
        (
            "process.command_line:\"service account\"",
            crate::index::TimeRange::default(),
        ),
    ];
    let mut times: Vec<f64> = Vec::new();
    for (text, range) in queries {
        let Ok(q) = searcher.parse(text) else {
            continue;
        };
        let _ = searcher.hits(&q, range, 100);
        for _ in 0..20 {
            let t = Instant::now();
            let _ = searcher.hits(&q, range, 100);
            let _ = searcher.count(&q, range);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let _ = std::fs::remove_dir_all(&dir);
    Some(IndexResult {
        index: Stage {
            stage: "index (tantivy, 2 writer threads)".into(),
            events,
            bytes,
            seconds,
            events_per_sec: events as f64 / seconds,
            mb_per_sec: bytes as f64 / seconds / 1e6,
            note: "read, decode and add every event; commit every 50k; finish".into(),
        },
        search_p50_ms: pick(0.5),
        search_p99_ms: pick(0.99),
    })
}

/// One file the follower tails.
struct Tail {
    file: File,
    offset: u64,
    framer: Option<Framer>,
    decoder: Option<Box<dyn Decoder>>,
    ctx: Context,
    head: Vec<u8>,
}

fn live_stage(args: &BenchArgs, dir: &Path) -> anyhow::Result<Live> {
    let events = (args.rate * args.seconds).round().max(100.0) as u64;
    let cfg = WorkloadConfig {
        events,
        hosts: args.hosts,
        attacks: 27,
        seed: args.seed,
        rate: Some(args.rate),
        start: wall_nanos(),
    };
    let mut out = Output::create(dir)?;
    let logs = out.logs_dir();
    let mut workload = Workload::new(&cfg);
    let truth = workload.truth().to_vec();
    // Writer thread: (largest event time written, when) after every write.
    let (tx, rx) = mpsc::channel::<(Nanos, Instant)>();
    let writer = std::thread::spawn(move || {
        out.write_live(&mut workload, |recs, at| {
            let max = recs.iter().map(|r| r.ts).max().unwrap_or(0);
            let _ = tx.send((max, at));
        })
    });
    let (rules, _) = builtin::rules();
    let config = EngineConfig {
        lateness: 0,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(rules, config, Baseline::default());
    let by_context: HashMap<&str, usize> = truth
        .iter()
        .enumerate()
        .map(|(i, t)| (t.context.as_str(), i))
        .collect();
    let mut seen: Vec<Option<Instant>> = vec![None; truth.len()];
    let mut written_at: Vec<Option<Instant>> = vec![None; truth.len()];
    let mut tails: HashMap<PathBuf, Tail> = HashMap::new();
    let mut writer_done_at: Option<Instant> = None;
    let mut buf = Vec::new();
    loop {
        let poll_start = Instant::now();
        while let Ok((max_ts, at)) = rx.try_recv() {
            for (i, t) in truth.iter().enumerate() {
                if written_at[i].is_none() && t.fires_at <= max_ts {
                    written_at[i] = Some(at);
                }
            }
        }
        // Newly created files, then appended bytes of every file.
        let mut files = Vec::new();
        batch::collect_files(&logs, &mut Default::default(), &mut files, &mut Vec::new());
        for f in files {
            if !tails.contains_key(&f)
                && let Ok(file) = File::open(&f)
            {
                let ctx = Context::new(
                    f.display().to_string(),
                    f.display().to_string(),
                    Networks::default(),
                    wall_nanos(),
                );
                tails.insert(
                    f.clone(),
                    Tail {
                        file,
                        offset: 0,
                        framer: None,
                        decoder: None,
                        ctx,
                        head: Vec::new(),
                    },
                );
            }
        }
        let mut keys: Vec<PathBuf> = tails.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let Some(tail) = tails.get_mut(&k) else {
                continue;
            };
            buf.clear();
            if tail.file.seek(SeekFrom::Start(tail.offset)).is_err()
                || tail.file.read_to_end(&mut buf).is_err()
            {
                continue;
            }
            if buf.is_empty() {
                continue;
            }
            tail.offset += buf.len() as u64;
            let mut sink = Sink::default();
            if tail.decoder.is_none() {
                tail.head.extend_from_slice(&buf);
                let name = k
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let Some(format) = decode::detect(&name, &tail.head) else {
                    continue;
                };
                tail.decoder = Some((format.decoder)());
                tail.framer = Some(Framer::new(format.framing, MAX_RECORD));
                buf = std::mem::take(&mut tail.head);
            }
            if let (Some(framer), Some(decoder)) = (tail.framer.as_mut(), tail.decoder.as_mut()) {
                let ctx = &tail.ctx;
                framer.push(&buf, &mut |frame| {
                    if let Frame::Record { offset, bytes } = frame {
                        decoder.decode(bytes, offset, ctx, &mut sink);
                    }
                });
            }
            for ev in sink.events {
                for change in engine.observe(&ev) {
                    if let Some(&i) = by_context.get(change.session.context.key.as_str())
                        && seen[i].is_none()
                        && change.session.severity >= truth[i].severity
                    {
                        seen[i] = Some(Instant::now());
                    }
                }
            }
        }
        if writer_done_at.is_none() && writer.is_finished() {
            writer_done_at = Some(Instant::now());
        }
        if let Some(done) = writer_done_at
            && (seen.iter().all(Option::is_some) || done.elapsed() > Duration::from_secs(3))
        {
            break;
        }
        if let Some(rest) = POLL.checked_sub(poll_start.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    let stats = match writer.join() {
        Ok(r) => r?,
        Err(_) => anyhow::bail!("the live writer panicked"),
    };
    while let Ok((max_ts, at)) = rx.try_recv() {
        for (i, t) in truth.iter().enumerate() {
            if written_at[i].is_none() && t.fires_at <= max_ts {
                written_at[i] = Some(at);
            }
        }
    }
    let mut lat: Vec<f64> = seen
        .iter()
        .zip(&written_at)
        .filter_map(|(s, w)| match (s, w) {
            (Some(s), Some(w)) => Some(s.saturating_duration_since(*w).as_secs_f64() * 1e3),
            _ => None,
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i]
    };
    Ok(Live {
        rate: args.rate,
        events: stats.events,
        chains: truth.len(),
        measured: lat.len(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        note: format!(
            "append of the completing event -> follower poll ({} ms) -> decode -> Engine::observe (lateness 0) -> first session change at the chain's severity",
            POLL.as_millis()
        ),
    })
}

/// `VmHWM` of this process, in bytes (Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn print_table(r: &Report) {
    println!(
        "lateral bench: {} events, {} hosts, {} chains ({} build, {} CPUs)",
        r.events, r.hosts, r.chains, r.build, r.cpus
    );
    println!(
        "{:<28} {:>10} {:>9} {:>12} {:>8}  note",
        "stage", "events", "seconds", "events/s", "MB/s"
    );
    let row = |s: &Stage| {
        println!(
            "{:<28} {:>10} {:>9.2} {:>12.0} {:>8.1}  {}",
            s.stage, s.events, s.seconds, s.events_per_sec, s.mb_per_sec, s.note
        );
    };
    row(&r.generate);
    for s in &r.decode {
        row(s);
    }
    row(&r.decode_total);
    row(&r.correlate);
    row(&r.hunt);
    println!(
        "{:<28} {} of {} chains found with their case and severity, {} false positives at medium or above",
        "hunt result", r.chains_found, r.chains, r.false_positives
    );
    match (&r.index, &r.index_note) {
        (Some(i), _) => {
            row(&i.index);
            println!(
                "{:<28} p50 {:.2} ms, p99 {:.2} ms",
                "search", i.search_p50_ms, i.search_p99_ms
            );
        }
        (None, note) => {
            println!(
                "{:<28} {}",
                "index",
                note.as_deref().unwrap_or("not available")
            );
            println!(
                "{:<28} not available in this build (needs the index)",
                "search p50 / p99"
            );
        }
    }
    println!(
        "{:<28} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} of {} chains at {:.0} events/s ({} events)",
        "live latency",
        r.live.p50_ms,
        r.live.p99_ms,
        r.live.max_ms,
        r.live.measured,
        r.live.chains,
        r.live.rate,
        r.live.events
    );
    println!("{:<28} {}", "", r.live.note);
    match r.peak_rss_bytes {
        Some(b) => println!("{:<28} {:.0} MB (VmHWM)", "peak RSS", b as f64 / 1e6),
        None => println!("{:<28} not available on this platform", "peak RSS"),
    }
}
