//! `lateral index`: read files and index every event into the workspace's index.
//!
//! Files are read one after another (a file, a `.gz`, each member of a `.zip`), so only one
//! is open at a time however many are given. After every 1024 events and at the end of each
//! source the writer is handed a checkpoint — how many sources are done and how far into the
//! current one — which the next commit stores with the documents: after a crash the index
//! says exactly what it holds. Indexing the same files again adds nothing (ids are stable).

// Progress (events/s, ETA) is wall-clock; event time is untouched here.
#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::hunt::parse_duration;
use super::output::summary_line;
use super::workspace::Workspace;
use super::{InputArgs, UsageError};
use crate::index::{Index, IndexError, Writer, WriterConfig};
use crate::ingest::SourceReport;
use crate::ingest::batch;

/// `lateral index`.
#[derive(Debug, Clone, clap::Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Workspace directory; the index is kept in DIR/index.
    #[arg(long, value_name = "DIR")]
    pub workspace: PathBuf,
    /// Drop events older than this before the newest indexed event (event time), e.g. 30d.
    #[arg(long, value_name = "DURATION")]
    pub retain: Option<String>,
    /// Commit (make searchable, store the checkpoint) at least this often.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub commit_interval: String,
    /// Commit after this many events.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub commit_docs: usize,
    /// Indexing threads (besides the one reading and decoding).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threads: usize,
    /// No progress or summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The index directory of a workspace.
pub fn index_dir(ws: &Workspace) -> PathBuf {
    ws.dir().join("index")
}

/// What `lateral index` stores as its checkpoint with every commit (JSON). The sources are
/// read in a fixed order (paths as given, directories sorted), so `sources_done` and
/// `current_events` name exactly the events the commit holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchCheckpoint {
    /// Sources read to the end.
    pub sources_done: u64,
    /// The source being read, if any.
    pub current: Option<String>,
    /// Events read from it so far.
    pub current_events: u64,
    /// Events read in total (each one added, or already in the index).
    pub events: u64,
}

/// Settings from the command line for a writer.
fn writer_config(args: &IndexArgs) -> Result<WriterConfig, UsageError> {
    let retain = args.retain.as_deref().map(parse_duration).transpose()?;
    let interval = parse_duration(&args.commit_interval)?;
    if args.commit_docs == 0 || args.threads == 0 || interval <= 0 {
        return Err(UsageError(
            "--commit-docs, --threads and --commit-interval must be more than zero".into(),
        ));
    }
    Ok(WriterConfig {
        commit_interval: Duration::from_nanos(u64::try_from(interval).unwrap_or(u64::MAX)),
        commit_docs: args.commit_docs,
        threads: args.threads,
        retain,
        ..WriterConfig::default()
    })
}

/// Open the workspace's index for writing.
pub fn open_writer(ws: &Workspace, config: WriterConfig) -> Result<Writer, IndexError> {
    Index::open_or_create(&index_dir(ws))?.writer(config)
}

/// Run `lateral index`.
pub fn run(args: &IndexArgs) -> anyhow::Result<ExitCode> {
    let opts = args.input.batch_options()?;
    let config = writer_config(args)?;
    let ws = Workspace::open(&args.workspace)?;
    let index = Index::open_or_create(&index_dir(&ws))?;
    let mut writer = index.writer(config)?;

    let mut files = Vec::new();
    let mut reports: Vec<SourceReport> = Vec::new();
    let mut seen = HashSet::new();
    for path in &args.input.paths {
        let mut failures = Vec::new();
        batch::collect_files(path, &mut seen, &mut files, &mut failures);
        reports.extend(failures.into_iter().map(|(p, e)| SourceReport {
            path: p.display().to_string(),
            failure: Some(e.to_string()),
            ..SourceReport::default()
        }));
    }
    let sizes: Vec<u64> = files.iter().map(|f| file_size(f)).collect();
    let mut progress = Progress::new(
        !args.quiet && std::io::stderr().is_terminal(),
        sizes.iter().sum(),
    );

    let mut cp = BatchCheckpoint::default();
    let mut stopped = false;
    'files: for (file, size) in files.iter().zip(&sizes) {
        for opened in batch::open(file, &opts) {
            let mut reader = match opened {
                Ok(r) => r,
                Err(report) => {
                    reports.push(report);
                    continue;
                }
            };
            cp.current = Some(reader.display().to_string());
            cp.current_events = 0;
            while let Some(ev) = reader.next_event() {
                writer.add(ev)?;
                cp.events += 1;
                cp.current_events += 1;
                if cp.events.is_multiple_of(1024) {
                    writer.checkpoint(serde_json::to_vec(&cp)?)?;
                    progress.tick(cp.events, reader.report().bytes.min(*size));
                }
            }
            stopped = reader.stopped_strict();
            reports.push(reader.into_report());
            cp.sources_done += 1;
            cp.current = None;
            cp.current_events = 0;
            writer.checkpoint(serde_json::to_vec(&cp)?)?;
            if stopped {
                break 'files;
            }
        }
        progress.file_done(*size);
    }
    let stats = writer.finish()?;
    progress.finish();

    let unreadable = reports.iter().filter(|r| !r.readable()).count();
    if !args.quiet {
        for r in reports
            .iter()
            .filter(|r| !r.readable() || r.errors > 0 || r.events == 0)
        {
            eprintln!("{}", summary_line(r));
        }
        let secs = progress.started.elapsed().as_secs_f64().max(0.001);
        let searcher = index.searcher(false)?;
        let docs = searcher.num_docs();
        let bytes = index.disk_bytes();
        eprintln!(
            "{} source(s), {} event(s) in {secs:.1}s ({:.0} events/s): {} added, {} already indexed{}",
            reports.len(),
            cp.events,
            cp.events as f64 / secs,
            stats.added,
            stats.duplicates,
            if stats.expired > 0 {
                format!(", {} older than --retain", stats.expired)
            } else {
                String::new()
            },
        );
        eprintln!(
            "index {}: {docs} event(s), {:.1} MiB{}",
            index.path().display(),
            bytes as f64 / f64::from(1 << 20),
            bytes
                .checked_div(docs)
                .map(|b| format!(" ({b} bytes/event)"))
                .unwrap_or_default()
        );
    }
    Ok(if unreadable > 0 || stopped {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// The progress line on stderr (only on a terminal): events, events/s, share of the input
/// bytes read and an ETA from that share.
struct Progress {
    enabled: bool,
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(enabled: bool, total: u64) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            total,
            done: 0,
            started: now,
            last: now,
        }
    }

    fn file_done(&mut self, size: u64) {
        self.done += size;
    }

    fn tick(&mut self, events: u64, current: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let read = (self.done + current).min(self.total);
        let share = if self.total > 0 {
            read as f64 / self.total as f64
        } else {
            0.0
        };
        let eta = if share > 0.01 {
            let left = secs * (1.0 - share) / share;
            format!("ETA {}:{:02}", (left / 60.0) as u64, (left % 60.0) as u64)
        } else {
            "ETA --:--".to_string()
        };
        eprint!(
            "\rindexing: {events} events, {:.0} events/s, {:.0}% of {:.1} MiB, {eta}   ",
            events as f64 / secs,
            share * 100.0,
            self.total as f64 / f64::from(1 << 20),
        );
    }

    fn finish(&self) {
        if self.enabled && self.started.elapsed() > Duration::from_millis(250) {
            eprintln!();
        }
    }
}
