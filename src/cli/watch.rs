//! `lateral watch`: tail directories, correlate live, and show sessions — full screen, or as
//! JSON lines with `--headless` (one `Change` per line, for other tools).

// The runtime measures wall time (ticks, idle flushes); the correlator never does.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::pipeline::{PipeOut, Pipeline};
use super::workspace::{Workspace, WorkspaceLock};
use super::{InputArgs, UsageError, WatchArgs};
use crate::correlate::baseline::Baseline;
use crate::correlate::{Engine, EngineConfig};
use crate::ingest::checkpoint;
use crate::ingest::tail::{self, RunOptions, Running, Stopper, TailOptions};
use crate::ingest::watch::Filter;

/// File name of the tail checkpoints in the workspace (shared with `lateral tail`).
pub const CHECKPOINTS: &str = super::tail::CHECKPOINTS;

/// A started live input: the tailer thread, the workspace (locked) and where to keep
/// checkpoints.
pub struct Live {
    /// The tailer.
    pub running: Running,
    /// Its stopper (for signals and quit).
    pub stopper: Stopper,
    /// The workspace.
    pub workspace: Workspace,
    /// Held for the lifetime of the run.
    pub lock: WorkspaceLock,
    /// Checkpoint file.
    pub checkpoints: PathBuf,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("workspace", &self.workspace.dir())
            .finish()
    }
}

/// What a live input needs, from `lateral tail` or `lateral watch` arguments.
#[derive(Debug, Clone)]
pub struct LiveInput {
    /// Directories or files to follow.
    pub paths: Vec<PathBuf>,
    /// `--format`.
    pub format: String,
    /// `--internal`.
    pub internal: Vec<crate::event::Cidr>,
    /// `--include` globs.
    pub include: Vec<String>,
    /// `--exclude` globs.
    pub exclude: Vec<String>,
    /// `--workspace` (default: the XDG data dir).
    pub workspace: Option<PathBuf>,
    /// `--from-start`.
    pub from_start: bool,
    /// Resume from the positions stored in the workspace index's last commit when there is
    /// one (`watch`, which writes the index; `tail` keeps its own checkpoint file).
    pub index_checkpoints: bool,
    /// Batches in flight between the tailer and its consumer.
    pub capacity: usize,
}

/// Open (and lock) the workspace, load checkpoints and start tailing `args.paths`.
pub fn start_live(args: &WatchArgs) -> anyhow::Result<Live> {
    start(&LiveInput {
        paths: args.paths.clone(),
        format: args.format.clone(),
        internal: args.internal.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        workspace: args.workspace.clone(),
        from_start: args.from_start,
        index_checkpoints: true,
        capacity: 4,
    })
}

/// Open (and lock) the workspace, load checkpoints and start the tailer thread.
pub fn start(input: &LiveInput) -> anyhow::Result<Live> {
    let batch_opts = InputArgs {
        paths: input.paths.clone(),
        format: input.format.clone(),
        internal: input.internal.clone(),
        strict: false,
    }
    .batch_options()?;
    let filter = Filter::new(&input.include, &input.exclude).map_err(UsageError)?;
    let dir = match &input.workspace {
        Some(d) => d.clone(),
        None => Workspace::default_dir().ok_or_else(|| {
            UsageError("no --workspace given and neither $XDG_DATA_HOME nor $HOME is set".into())
        })?,
    };
    let workspace = Workspace::open(&dir)?;
    let lock = workspace.lock()?;
    let cp_path = workspace.path(CHECKPOINTS);
    let mut loaded = checkpoint::load(&cp_path, super::case::now() / 1_000_000_000)?;
    if let Some(e) = &loaded.set_aside {
        eprintln!(
            "lateral: {e}; starting without checkpoints (files present now are followed from \
             their end{})",
            if input.from_start {
                ", or read whole with --from-start"
            } else {
                ""
            }
        );
    }
    // With a search index, the positions stored with its last commit are the truth: they name
    // exactly the events the index holds.
    if input.index_checkpoints
        && let Some(cp) = crate::index::Index::open(&super::index::index_dir(&workspace))
            .ok()
            .and_then(|i| i.last_payload().ok().flatten())
            .and_then(|b| checkpoint::Checkpoints::from_bytes(&b).ok())
    {
        loaded.checkpoints = Some(cp);
    }
    for p in &input.paths {
        if std::fs::metadata(p).is_err() {
            eprintln!(
                "lateral: {} does not exist (yet); watching for it",
                p.display()
            );
        }
    }
    // Absolute paths, so checkpoints mean the same files whatever directory lateral starts in.
    let roots = input
        .paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let mut opts = TailOptions::new(roots);
    opts.filter = filter;
    opts.format = batch_opts.format;
    opts.networks = batch_opts.networks;
    opts.from_start = input.from_start;
    let tailer = tail::Tailer::new(opts, loaded.checkpoints);
    let running = tail::spawn(
        tailer,
        RunOptions {
            capacity: input.capacity,
            health_every: Some(Duration::from_secs(1)),
            notify: true,
        },
    )
    .context("starting the tailer thread")?;
    let stopper = running.stopper();
    Ok(Live {
        running,
        stopper,
        workspace,
        lock,
        checkpoints: cp_path,
    })
}

/// The correlator for a live run: shipped rules plus `--rules`, the workspace's baseline.
pub fn engine_for(args: &WatchArgs, workspace: &Workspace) -> anyhow::Result<Engine> {
    engine_with(&args.rules, &args.window, &args.lateness, workspace)
}

/// The correlator for `rules`, `window` and `lateness` (as given on the command line) with
/// the workspace's baseline.
pub fn engine_with(
    rules: &[PathBuf],
    window: &str,
    lateness: &str,
    workspace: &Workspace,
) -> anyhow::Result<Engine> {
    let (rules, errors) = super::hunt::load_rules(rules);
    for e in &errors {
        eprintln!("rule not loaded: {e}");
    }
    let config = EngineConfig {
        window: super::hunt::parse_duration(window)?,
        lateness: super::hunt::parse_duration(lateness)?,
        ..EngineConfig::default()
    };
    let baseline = workspace.load_baseline()?.unwrap_or_else(Baseline::default);
    Ok(Engine::new(rules, config, baseline))
}

/// The workspace's index writer for a live run, or `None` with a note (correlation goes on
/// without search).
pub fn open_index(workspace: &Workspace) -> Option<crate::index::Writer> {
    match super::index::open_writer(workspace, crate::index::WriterConfig::default()) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("lateral: search index not available: {e}");
            None
        }
    }
}

/// Stop the tailer on SIGINT/SIGTERM (a second signal exits at once).
pub fn stop_on_signals(stopper: Stopper) -> anyhow::Result<signal_hook::iterator::Handle> {
    on_signals(move || stopper.stop(), "exiting without saving checkpoints")
}

/// Call `first` on the first SIGINT/SIGTERM (from a signal thread); a second one exits at
/// once with 130, saying `then` what that means.
pub fn on_signals(
    first: impl Fn() + Send + 'static,
    then: &'static str,
) -> anyhow::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .context("installing signal handlers")?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("lateral-signals".into())
        .spawn(move || {
            let mut count = 0;
            for _ in signals.forever() {
                count += 1;
                if count == 1 {
                    first();
                } else {
                    eprintln!("lateral: interrupted again; {then}");
                    std::process::exit(130);
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(handle)
}

/// Run `lateral watch`.
pub fn run(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    if args.nats.nats.is_some() {
        return super::remote::run(args);
    }
    if args.headless {
        return headless(args);
    }
    // The Search screen reads the workspace's index (written by `lateral index`, `hunt
    // --workspace`, or the live pipeline).
    let searcher = args
        .workspace
        .clone()
        .or_else(Workspace::default_dir)
        .map(|dir| {
            std::sync::Arc::new(super::search::IndexSearch::new(&dir))
                as std::sync::Arc<dyn super::screen::Searcher>
        });
    super::screen::run(args, searcher)
}

/// `--headless`: session changes as JSON lines on stdout, problems on stderr.
fn headless(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let live = start_live(args)?;
    let engine = engine_for(args, &live.workspace)?;
    let signals = stop_on_signals(live.stopper.clone())?;
    let index = open_index(&live.workspace);
    let pipeline = Pipeline {
        engine,
        workspace: live.workspace.clone(),
        checkpoints: live.checkpoints.clone(),
        index,
    };
    let stopper = live.stopper.clone();
    let stdout = std::io::stdout();
    let min = args.min_severity;
    let _lock = live.lock;
    pipeline.run(live.running, |out| match out {
        PipeOut::Changes(changes) => {
            let mut o = stdout.lock();
            for c in changes.iter().filter(|c| c.session.severity >= min) {
                let ok = serde_json::to_writer(&mut o, c).is_ok() && o.write_all(b"\n").is_ok();
                if !ok {
                    stopper.stop();
                    return false;
                }
            }
            if o.flush().is_err() {
                stopper.stop();
                return false;
            }
            true
        }
        PipeOut::Problem(p) => {
            eprintln!("lateral: {}", crate::event::sanitize(&p, 400));
            true
        }
        PipeOut::Stats(_) | PipeOut::Sources(..) => true,
    });
    signals.close();
    Ok(ExitCode::SUCCESS)
}
