//! The full-screen runtime of `lateral watch` and `lateral demo`.
//!
//! One tokio task owns the terminal and the [`Model`]: it `select!`s over the messages of the
//! pipeline thread and of a terminal-input thread and over a tick, feeds them to
//! [`update`], executes the [`Command`]s that come back (searches and event lookups on
//! blocking worker threads, exports, OSC 52 clipboard, themes) and draws at most ~30 times a
//! second, only when the model changed. The terminal is restored on every exit path,
//! including panics (ratatui's init installs the panic hook).

// The runtime measures wall time for ticks and frame pacing.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ratatui::crossterm::event::{self as term, Event as TermEvent};
use ratatui::crossterm::execute;

use super::WatchArgs;
use super::pipeline::{Counters, PipeOut, Pipeline};
use super::watch::{engine_for, start_live};
use super::workspace::Workspace;
use crate::correlate::Session;
use crate::ingest::tail::{SourceHealth, SourceState as TailState};
use crate::tui::catalog::RuleInfo;
use crate::tui::model::{Model, ModelConfig};
use crate::tui::msg::{
    Command, ExportRequest, ExportWhat, KindStats, Msg, Notice, PipelineStats, SearchRequest,
    SourceRow, SourceState, TriageAction,
};
use crate::tui::theme::Theme;
use crate::tui::{update, view};

/// What reaches the UI task.
pub enum AppEvent {
    /// From the pipeline.
    Pipe(PipeOut),
    /// From the terminal.
    Term(TermEvent),
    /// An answer to a command (or any message for the model).
    Reply(Msg),
}

/// Answers searches and event lookups for the UI (the index, when the workspace has one).
pub trait Searcher: Send + Sync {
    /// Run a search.
    fn search(&self, req: &SearchRequest) -> Msg;
    /// Load one event by id.
    fn load(&self, event_id: &str) -> Msg;
}

/// Where triage state and exports live: this machine's workspace, or a hub over NATS.
#[derive(Clone)]
pub enum Backend {
    /// `lateral watch` / `demo`: the local workspace.
    Local(Workspace),
    /// `lateral watch --nats`: the hub keeps triage state; exports go to `exports`.
    Remote {
        /// The hub connection.
        hub: Arc<super::remote::Remote>,
        /// Local folder for exports.
        exports: std::path::PathBuf,
    },
}

impl Backend {
    fn export_dir(&self) -> std::path::PathBuf {
        match self {
            Backend::Local(ws) => ws.dir().join("exports"),
            Backend::Remote { exports, .. } => exports.clone(),
        }
    }
}

/// Frame budget: at most ~30 frames a second.
const FRAME: Duration = Duration::from_millis(33);

/// Run the full-screen view over a live pipeline.
pub fn run(args: &WatchArgs, searcher: Option<Arc<dyn Searcher>>) -> anyhow::Result<ExitCode> {
    let live = start_live(args)?;
    let engine = engine_for(args, &live.workspace)?;
    let rules: Vec<RuleInfo> = engine.rules().iter().map(RuleInfo::from).collect();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = resolve_theme(&args.theme).unwrap_or_else(Theme::dark);
    let config = ModelConfig {
        theme,
        no_color,
        rules,
        ..ModelConfig::default()
    };
    let workspace = live.workspace.clone();
    let stopper = live.stopper.clone();
    let signals = super::watch::stop_on_signals(stopper.clone())?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the runtime")?;
    let (tx, rx) = tokio::sync::mpsc::channel::<AppEvent>(1024);

    let index = super::watch::open_index(&live.workspace);
    let searcher: Option<Arc<dyn Searcher>> = searcher.or_else(|| {
        Some(Arc::new(super::search::IndexSearch::new(live.workspace.dir())) as Arc<dyn Searcher>)
    });
    let pipeline = Pipeline {
        engine,
        workspace: live.workspace.clone(),
        checkpoints: live.checkpoints.clone(),
        index,
    };
    let pipe_tx = tx.clone();
    let running = live.running;
    let pipe_thread = std::thread::Builder::new()
        .name("lateral-pipeline".into())
        .spawn(move || {
            pipeline.run(running, |out| {
                pipe_tx.blocking_send(AppEvent::Pipe(out)).is_ok()
            })
        })
        .context("starting the pipeline thread")?;

    let quit = Arc::new(AtomicBool::new(false));
    let input_thread = input_thread(tx.clone(), quit.clone())?;

    let result = drive(
        &runtime,
        Model::new(config),
        rx,
        tx,
        searcher,
        Backend::Local(workspace),
    );
    quit.store(true, Ordering::SeqCst);
    stopper.stop();
    let _ = input_thread.join();
    let _ = pipe_thread.join();
    signals.close();
    drop(live.lock);
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Take the terminal, run the UI loop until quit, give the terminal back.
pub fn drive(
    runtime: &tokio::runtime::Runtime,
    model: Model,
    rx: tokio::sync::mpsc::Receiver<AppEvent>,
    tx: tokio::sync::mpsc::Sender<AppEvent>,
    searcher: Option<Arc<dyn Searcher>>,
    backend: Backend,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let _ = execute!(
        std::io::stdout(),
        term::EnableMouseCapture,
        term::EnableBracketedPaste
    );
    let result = runtime.block_on(ui_loop(&mut terminal, model, rx, tx, searcher, backend));
    let _ = execute!(
        std::io::stdout(),
        term::DisableBracketedPaste,
        term::DisableMouseCapture
    );
    ratatui::restore();
    result
}

/// Read terminal input on its own thread until `quit` (crossterm's reads block).
pub fn input_thread(
    tx: tokio::sync::mpsc::Sender<AppEvent>,
    quit: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("lateral-input".into())
        .spawn(move || {
            while !quit.load(Ordering::SeqCst) {
                match term::poll(Duration::from_millis(100)) {
                    Ok(true) => match term::read() {
                        Ok(ev) => {
                            if tx.blocking_send(AppEvent::Term(ev)).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    },
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        })
        .context("starting the input thread")
}

async fn ui_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut model: Model,
    mut rx: tokio::sync::mpsc::Receiver<AppEvent>,
    tx: tokio::sync::mpsc::Sender<AppEvent>,
    searcher: Option<Arc<dyn Searcher>>,
    backend: Backend,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let size = terminal.size().context("reading the terminal size")?;
    let _ = update(
        &mut model,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let mut sessions: HashMap<String, Session> = HashMap::new();
    match &backend {
        Backend::Local(ws) => {
            if let Some(m) = cases_msg(ws) {
                let _ = update(&mut model, m);
            }
        }
        Backend::Remote { hub, .. } => {
            let hub = hub.clone();
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.blocking_send(AppEvent::Reply(hub.cases_msg()));
            });
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let msg = tokio::select! {
            ev = rx.recv() => match ev {
                Some(AppEvent::Term(TermEvent::Key(k))) => Some(Msg::Key(k)),
                Some(AppEvent::Term(TermEvent::Mouse(m))) => Some(Msg::Mouse(m)),
                Some(AppEvent::Term(TermEvent::Resize(w, h))) => Some(Msg::Resize { width: w, height: h }),
                Some(AppEvent::Term(TermEvent::Paste(text))) => Some(Msg::Paste(text)),
                Some(AppEvent::Term(_)) => None,
                Some(AppEvent::Pipe(out)) => Some(pipe_msg(out, &mut sessions)),
                Some(AppEvent::Reply(m)) => Some(m),
                // Every sender is gone: the pipeline stopped and input closed.
                None => break,
            },
            _ = tick.tick() => Some(Msg::Tick { now_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX) }),
            _ = frame.tick() => {
                if model.needs_redraw() {
                    terminal.draw(|f| view(&model, f)).context("drawing")?;
                    model.mark_drawn();
                }
                None
            }
        };
        let Some(msg) = msg else { continue };
        for command in update(&mut model, msg) {
            if matches!(command, Command::Quit) {
                return Ok(());
            }
            execute_command(command, &tx, searcher.as_ref(), &backend, &sessions);
        }
        if model.should_quit() {
            return Ok(());
        }
    }
    Ok(())
}

fn execute_command(
    command: Command,
    tx: &tokio::sync::mpsc::Sender<AppEvent>,
    searcher: Option<&Arc<dyn Searcher>>,
    backend: &Backend,
    sessions: &HashMap<String, Session>,
) {
    let reply = |m: Msg| {
        let _ = tx.try_send(AppEvent::Reply(m));
    };
    match command {
        Command::Search(req) => match searcher {
            Some(s) => {
                let s = s.clone();
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.blocking_send(AppEvent::Reply(s.search(&req)));
                });
            }
            None => reply(Msg::SearchFailed {
                generation: req.generation,
                message: "no search index in this workspace".into(),
                position: None,
            }),
        },
        Command::LoadEvent { event_id } => match searcher {
            Some(s) => {
                let s = s.clone();
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.blocking_send(AppEvent::Reply(s.load(&event_id)));
                });
            }
            None => reply(Msg::EventNotFound { event_id }),
        },
        Command::Export(req) => reply(Msg::Notice(export(&req, &backend.export_dir(), sessions))),
        Command::CopyToClipboard(text) => {
            // OSC 52: the terminal puts base64 text on the clipboard; the text may come from a
            // log, and base64 is what keeps it from being read as terminal commands.
            let seq = format!(
                "\x1b]52;c;{}\x07",
                crate::correlate::detection::base64(text.as_bytes())
            );
            let mut out = std::io::stdout();
            let ok = out
                .write_all(seq.as_bytes())
                .and_then(|()| out.flush())
                .is_ok();
            reply(Msg::Notice(if ok {
                Notice::info("copied to the clipboard (OSC 52)")
            } else {
                Notice::error("clipboard: cannot write to the terminal")
            }));
        }
        Command::SetTheme { name } => match user_theme(&name) {
            Some(Ok(t)) => reply(Msg::Theme(Box::new(t))),
            Some(Err(e)) => reply(Msg::Notice(Notice::error(format!("theme {name}: {e}")))),
            None => {
                if Theme::builtin(&name).is_none() {
                    reply(Msg::Notice(Notice::error(format!(
                        "no theme `{name}` (dark, light, high-contrast, colorblind, or ~/.config/lateral/themes/{name}.toml)"
                    ))));
                }
            }
        },
        Command::Triage(action) => match backend {
            Backend::Local(workspace) => {
                // Persisted at once (the store locks and writes atomically); the UI gets the
                // refreshed cases, or why the change was refused.
                let who = super::case::analyst(None);
                if let Err(e) = triage(action, workspace, sessions, &who) {
                    reply(Msg::Notice(Notice::error(format!("triage: {e}"))));
                }
                if let Some(m) = cases_msg(workspace) {
                    reply(m);
                }
            }
            Backend::Remote { hub, .. } => {
                // The hub keeps the state (and tells every attached analyst).
                let hub = hub.clone();
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || {
                    for m in hub.triage(action) {
                        let _ = tx.blocking_send(AppEvent::Reply(m));
                    }
                });
            }
        },
        Command::Quit => {}
    }
}

/// The workspace's cases for the UI, or a notice when they cannot be read.
fn cases_msg(workspace: &Workspace) -> Option<Msg> {
    match crate::triage::store::Store::new(workspace.dir()).load() {
        Ok(t) => Some(Msg::Cases(t.cases)),
        Err(e) => Some(Msg::Notice(Notice::error(format!("triage: {e}")))),
    }
}

/// Execute one triage change as `who`, at the wall clock's time (also what the hub runs for
/// attached analysts).
pub fn triage(
    action: TriageAction,
    workspace: &Workspace,
    sessions: &HashMap<String, Session>,
    who: &str,
) -> anyhow::Result<()> {
    let store = crate::triage::store::Store::new(workspace.dir());
    let who = who.to_string();
    let now = super::case::now();
    match action {
        TriageAction::OpenCase {
            sessions: ids,
            into,
        } => {
            // Live sessions first; the saved ones cover a session from an earlier run.
            let saved = workspace.load_sessions().unwrap_or_default();
            let chosen: Vec<Session> = ids
                .iter()
                .filter_map(|id| {
                    sessions
                        .get(&id.0)
                        .cloned()
                        .or_else(|| saved.iter().find(|s| s.id == *id).cloned())
                })
                .collect();
            if chosen.is_empty() {
                anyhow::bail!("the session is not known to this workspace");
            }
            let (rules, _) = super::hunt::load_rules(&[]);
            store.open_case(&chosen, into.as_deref(), &rules, &who, now)?;
        }
        TriageAction::SetStep {
            case,
            step,
            status,
            note,
        } => store.set_step(&case, &step, status, note.as_deref(), &who, now)?,
        TriageAction::Note { case, text } => store.note(&case, &text, &who, now)?,
        TriageAction::Attach {
            case,
            step,
            event_id,
        } => store.attach(&case, &step, &event_id)?,
    }
    Ok(())
}

/// Write an export into `dir` (the workspace's `exports/` folder) or the path given.
fn export(
    req: &ExportRequest,
    dir: &std::path::Path,
    sessions: &HashMap<String, Session>,
) -> Notice {
    let stamp = super::case::now();
    let (default_name, body) = match &req.what {
        ExportWhat::Sessions { ids } => {
            let mut out = Vec::new();
            for id in ids {
                if let Some(s) = sessions.get(&id.0)
                    && serde_json::to_writer(&mut out, s).is_ok()
                {
                    out.push(b'\n');
                }
            }
            (format!("sessions-{stamp}.jsonl"), out)
        }
        ExportWhat::Session { id } => match sessions.get(&id.0) {
            Some(s) => {
                let (rules, _) = super::hunt::load_rules(&[]);
                let report = crate::triage::report::session_report(s, &rules);
                (
                    format!("session-{}.md", id.0),
                    crate::triage::report::markdown(&report, stamp).into_bytes(),
                )
            }
            None => return Notice::error(format!("session {} is no longer known", id.0)),
        },
        ExportWhat::Search { query, .. } => {
            return Notice::error(format!(
                "export of search `{query}`: use `lateral search --output jsonl` on this workspace"
            ));
        }
    };
    let path = match &req.path {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return Notice::error(format!("export: {}: {e}", dir.display()));
            }
            dir.join(default_name)
        }
    };
    match crate::ingest::checkpoint::write_atomic(&path, &body) {
        Ok(()) => Notice::info(format!("exported to {}", path.display())),
        Err(e) => Notice::error(format!("export to {}: {e}", path.display())),
    }
}

/// A shipped theme, or a user theme from `~/.config/lateral/themes/NAME.toml` (which wins).
pub fn resolve_theme(name: &str) -> Option<Theme> {
    match user_theme(name) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            eprintln!("lateral: theme {name}: {e}; using a shipped theme");
            Theme::builtin(name)
        }
        None => Theme::builtin(name),
    }
}

fn user_theme(name: &str) -> Option<Result<Theme, String>> {
    if name.contains(['/', '\\']) || name.contains("..") {
        return None;
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    let path = base
        .join("lateral")
        .join("themes")
        .join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).ok()?;
    Some(Theme::from_toml(&text).map_err(|e| e.to_string()))
}

/// Translate a pipeline message for the UI (and keep the runtime's copy of sessions for
/// exports).
fn pipe_msg(out: PipeOut, sessions: &mut HashMap<String, Session>) -> Msg {
    match out {
        PipeOut::Changes(changes) => {
            for c in &changes {
                sessions.insert(c.session.id.0.clone(), c.session.clone());
            }
            Msg::Changes(changes)
        }
        PipeOut::Stats(c) => Msg::Stats(stats(&c)),
        PipeOut::Sources(health, datasets) => {
            Msg::Sources(health.iter().map(|h| row(h, &datasets)).collect())
        }
        PipeOut::Problem(p) => Msg::Notice(Notice::error(p)),
    }
}

fn stats(c: &Counters) -> PipelineStats {
    PipelineStats {
        events_total: c.events,
        errors_total: c.errors,
        indexed_total: c.indexed,
        kinds: c
            .kinds
            .iter()
            .map(|(k, (total, hist))| KindStats {
                kind: k.clone(),
                events: *total,
                errors: 0,
                per_second: hist.iter().copied().collect(),
            })
            .collect(),
        watermark: c.watermark,
    }
}

fn row(h: &SourceHealth, datasets: &std::collections::BTreeMap<String, Vec<String>>) -> SourceRow {
    SourceRow {
        path: h.path.clone(),
        format: h.format.map(str::to_string),
        state: match h.state {
            TailState::Tailing => SourceState::Tailing,
            TailState::Idle => SourceState::Idle,
            TailState::Rotated => SourceState::Rotated,
            TailState::Gone => SourceState::Gone,
            TailState::Error => SourceState::Error,
        },
        events: h.events,
        errors: h.errors,
        last_error: h.last_error.clone(),
        lag_bytes: h.lag,
        last_event: h.last_event,
        datasets: datasets.get(&h.path).cloned().unwrap_or_default(),
    }
}
