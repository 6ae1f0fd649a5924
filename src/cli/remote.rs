//! `lateral watch --nats URL`: the full-screen view (or `--headless` JSON lines) attached to
//! a hub. Sessions come from the hub's snapshot and then its `lateral.sessions.>` changes;
//! searches, event lookups and triage are requests to the hub, so several analysts share one
//! index and one triage state while each has their own screens, filters and selection.

// Request timeouts and the UI runtime use the wall clock.
#![allow(clippy::disallowed_methods)]

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use futures_util::StreamExt as _;

use super::WatchArgs;
use super::nats::{self, CasesResp, HubStats, SearchReq, SearchResp, SessionsPage};
use super::pipeline::PipeOut;
use super::screen::{AppEvent, Backend, Searcher};
use crate::correlate::{Change, ChangeKind, Session};
use crate::tui::catalog::RuleInfo;
use crate::tui::model::{Model, ModelConfig};
use crate::tui::msg::{
    Bucket, Facet, KindStats, Msg, Notice, PipelineStats, SearchRequest, SearchResults, SourceRow,
    SourceState, TriageAction,
};

/// A connection to a hub, usable from blocking threads.
pub struct Remote {
    client: async_nats::Client,
    handle: tokio::runtime::Handle,
    conn: super::nats::NatsArgs,
    analyst: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.conn.shown_url())
            .finish()
    }
}

impl Remote {
    fn request(&self, subject: &'static str, body: Vec<u8>) -> Result<bytes::Bytes, String> {
        let client = self.client.clone();
        self.handle
            .block_on(async move {
                tokio::time::timeout(
                    Duration::from_secs(15),
                    client.request(subject, body.into()),
                )
                .await
            })
            .map_err(|_| "the hub did not answer in 15 s".to_string())?
            .map(|m| m.payload)
            .map_err(|e| self.conn.redact(&format!("hub request: {e}")))
    }

    /// Every session the hub knows (paged requests).
    pub fn sessions(&self) -> Result<Vec<Session>, String> {
        let mut all = Vec::new();
        let mut offset = 0usize;
        loop {
            let body = serde_json::to_vec(&serde_json::json!({ "offset": offset }))
                .map_err(|e| e.to_string())?;
            let reply = self.request(nats::API_SESSIONS, body)?;
            let page: SessionsPage =
                serde_json::from_slice(&reply).map_err(|e| format!("hub sessions: {e}"))?;
            all.extend(page.sessions);
            match page.next {
                Some(n) if n > offset => offset = n,
                _ => return Ok(all),
            }
        }
    }

    /// The hub's cases, as a message for the model.
    pub fn cases_msg(&self) -> Msg {
        match self
            .request(nats::API_CASES, b"{}".to_vec())
            .and_then(|b| serde_json::from_slice::<CasesResp>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => match r.error {
                Some(e) => Msg::Notice(Notice::error(format!("triage: {e}"))),
                None => Msg::Cases(r.cases),
            },
            Err(e) => Msg::Notice(Notice::error(format!("triage: {e}"))),
        }
    }

    /// Ask the hub to change triage state; the messages for the model.
    pub fn triage(&self, action: TriageAction) -> Vec<Msg> {
        let req = nats::TriageReq {
            analyst: self.analyst.clone(),
            action,
        };
        let Ok(body) = serde_json::to_vec(&req) else {
            return vec![Msg::Notice(Notice::error("triage: cannot encode"))];
        };
        match self
            .request(nats::API_TRIAGE, body)
            .and_then(|b| serde_json::from_slice::<CasesResp>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => {
                let mut out = Vec::new();
                if let Some(e) = r.error {
                    out.push(Msg::Notice(Notice::error(format!("triage: {e}"))));
                }
                out.push(Msg::Cases(r.cases));
                out
            }
            Err(e) => vec![Msg::Notice(Notice::error(format!("triage: {e}")))],
        }
    }
}

impl Searcher for Remote {
    fn search(&self, req: &SearchRequest) -> Msg {
        let wire = SearchReq {
            query: req.query.clone(),
            since: req.since,
            until: req.until,
            offset: req.offset,
            limit: req.limit,
        };
        let answer = serde_json::to_vec(&wire)
            .map_err(|e| e.to_string())
            .and_then(|b| self.request(nats::API_SEARCH, b))
            .and_then(|b| serde_json::from_slice::<SearchResp>(&b).map_err(|e| e.to_string()));
        match answer {
            Ok(r) => match r.error {
                Some(message) => Msg::SearchFailed {
                    generation: req.generation,
                    message,
                    position: r.position,
                },
                None => Msg::SearchResults(SearchResults {
                    generation: req.generation,
                    query: req.query.clone(),
                    offset: r.offset,
                    total: r.total,
                    hits: r
                        .hits
                        .iter()
                        .filter_map(|raw| nats::decode_event(raw.get().as_bytes()).ok())
                        .collect(),
                    histogram: r
                        .histogram
                        .iter()
                        .map(|(start, count)| Bucket {
                            start: *start,
                            count: *count,
                        })
                        .collect(),
                    facets: r
                        .facets
                        .into_iter()
                        .filter_map(|(name, values)| {
                            crate::event::Field::from_name(&name)
                                .map(|field| Facet { field, values })
                        })
                        .collect(),
                    took_ms: r.took_ms,
                }),
            },
            Err(message) => Msg::SearchFailed {
                generation: req.generation,
                message,
                position: None,
            },
        }
    }

    fn load(&self, event_id: &str) -> Msg {
        match self
            .request(nats::API_EVENT, event_id.as_bytes().to_vec())
            .ok()
            .and_then(|b| nats::decode_event(&b).ok())
        {
            Some(ev) => Msg::EventLoaded(Box::new(ev)),
            None => Msg::EventNotFound {
                event_id: event_id.to_string(),
            },
        }
    }
}

/// The hub's counters as the Overview and Sources screens show them.
fn stats_msgs(s: &HubStats) -> [Msg; 2] {
    let stats = PipelineStats {
        events_total: s.events,
        errors_total: s.malformed,
        indexed_total: s.indexed,
        kinds: s
            .kinds
            .iter()
            .map(|(kind, events, hist)| KindStats {
                kind: kind.clone(),
                events: *events,
                errors: 0,
                per_second: hist.clone(),
            })
            .collect(),
        watermark: s.watermark,
    };
    let rows = s
        .sources
        .iter()
        .map(|src| SourceRow {
            path: format!("nats:{}", src.name),
            format: Some("lateral".into()),
            state: if src.idle_secs < 10 {
                SourceState::Tailing
            } else {
                SourceState::Idle
            },
            events: src.events,
            errors: src.errors,
            last_error: (src.errors > 0)
                .then(|| format!("{} malformed messages skipped", src.errors)),
            lag_bytes: 0,
            last_event: src.last_event,
            datasets: src
                .name
                .rsplit('/')
                .next()
                .map(|d| vec![d.replacen('_', ".", 1)])
                .unwrap_or_default(),
        })
        .collect();
    [Msg::Stats(stats), Msg::Sources(rows)]
}

/// Connect to the hub named by `args.nats` on `runtime`.
fn connect(args: &WatchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Arc<Remote>> {
    let conn = args.nats.clone();
    let client = runtime
        .block_on(conn.connect("lateral watch --nats", "lateral-watch"))
        .map_err(|e| anyhow::anyhow!("{}", conn.redact(&format!("{e:#}"))))?;
    Ok(Arc::new(Remote {
        client,
        handle: runtime.handle().clone(),
        conn,
        analyst: super::case::analyst(None),
    }))
}

/// Subscribe first, then fetch the snapshot, so no change falls between the two; changes
/// older than the snapshot's copy are harmless (the session is replaced by id).
async fn feed(remote: Arc<Remote>, tx: tokio::sync::mpsc::Sender<AppEvent>) -> anyhow::Result<()> {
    let client = remote.client.clone();
    let sessions_sub = client
        .subscribe(format!("{}.>", nats::SESSIONS))
        .await
        .map_err(|e| anyhow::anyhow!("subscribing to sessions: {e}"))?;
    let stats_sub = client
        .subscribe(nats::STATS)
        .await
        .map_err(|e| anyhow::anyhow!("subscribing to stats: {e}"))?;
    let cases_sub = client
        .subscribe(nats::CASES)
        .await
        .map_err(|e| anyhow::anyhow!("subscribing to cases: {e}"))?;
    let r = remote.clone();
    let snapshot = tokio::task::spawn_blocking(move || r.sessions())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match snapshot {
        Ok(all) if !all.is_empty() => {
            let changes = all
                .into_iter()
                .map(|session| Change {
                    kind: if session.closed {
                        ChangeKind::Closed
                    } else {
                        ChangeKind::Updated
                    },
                    session,
                })
                .collect();
            let _ = tx.send(AppEvent::Pipe(PipeOut::Changes(changes))).await;
        }
        Ok(_) => {}
        Err(e) => {
            let _ = tx
                .send(AppEvent::Reply(Msg::Notice(Notice::error(format!(
                    "hub: {e} (live changes still arrive)"
                )))))
                .await;
        }
    }
    enum In {
        Session(async_nats::Message),
        Stats(async_nats::Message),
        Cases(async_nats::Message),
    }
    let mut all = futures_util::stream::select_all([
        sessions_sub.map(In::Session).boxed(),
        stats_sub.map(In::Stats).boxed(),
        cases_sub.map(In::Cases).boxed(),
    ]);
    while let Some(m) = all.next().await {
        let sent = match m {
            In::Session(m) => match serde_json::from_slice::<Change>(&m.payload) {
                Ok(c) => tx.send(AppEvent::Pipe(PipeOut::Changes(vec![c]))).await,
                Err(_) => Ok(()),
            },
            In::Stats(m) => match serde_json::from_slice::<HubStats>(&m.payload) {
                Ok(s) => {
                    let [a, b] = stats_msgs(&s);
                    let _ = tx.send(AppEvent::Reply(a)).await;
                    tx.send(AppEvent::Reply(b)).await
                }
                Err(_) => Ok(()),
            },
            In::Cases(m) => match serde_json::from_slice::<CasesResp>(&m.payload) {
                Ok(r) => tx.send(AppEvent::Reply(Msg::Cases(r.cases))).await,
                Err(_) => Ok(()),
            },
        };
        if sent.is_err() {
            break;
        }
    }
    Ok(())
}

/// Run `lateral watch --nats`.
pub fn run(args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let remote = connect(args, &runtime)?;
    if args.headless {
        return headless(args, &runtime, &remote);
    }
    let (rules, _) = super::hunt::load_rules(&args.rules);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme =
        super::screen::resolve_theme(&args.theme).unwrap_or_else(crate::tui::theme::Theme::dark);
    let config = ModelConfig {
        theme,
        no_color,
        rules: rules.iter().map(RuleInfo::from).collect(),
        ..ModelConfig::default()
    };
    let exports = args
        .workspace
        .clone()
        .or_else(super::workspace::Workspace::default_dir)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
        .join("exports");
    let (tx, rx) = tokio::sync::mpsc::channel::<AppEvent>(1024);
    let feeder = runtime.spawn({
        let remote = remote.clone();
        let tx = tx.clone();
        async move {
            if let Err(e) = feed(remote, tx.clone()).await {
                let _ = tx
                    .send(AppEvent::Reply(Msg::Notice(Notice::error(format!(
                        "hub: {e}"
                    )))))
                    .await;
            }
        }
    });
    let quit = Arc::new(AtomicBool::new(false));
    let input = super::screen::input_thread(tx.clone(), quit.clone())?;
    let result = super::screen::drive(
        &runtime,
        Model::new(config),
        rx,
        tx,
        Some(remote.clone() as Arc<dyn Searcher>),
        Backend::Remote {
            hub: remote,
            exports,
        },
    );
    quit.store(true, Ordering::SeqCst);
    feeder.abort();
    let _ = input.join();
    runtime.shutdown_timeout(Duration::from_secs(1));
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `watch --nats --headless`: the hub's sessions, then their changes, as JSON lines.
fn headless(
    args: &WatchArgs,
    runtime: &tokio::runtime::Runtime,
    remote: &Arc<Remote>,
) -> anyhow::Result<ExitCode> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<AppEvent>(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let stop = stop.clone();
        super::watch::on_signals(
            move || stop.store(true, Ordering::SeqCst),
            "exiting at once",
        )?
    };
    let feeder = runtime.spawn(feed(remote.clone(), tx));
    let min = args.min_severity;
    runtime.block_on(async {
        let stdout = std::io::stdout();
        while !stop.load(Ordering::SeqCst) {
            let Ok(next) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await else {
                continue;
            };
            let Some(ev) = next else { break };
            match ev {
                AppEvent::Pipe(PipeOut::Changes(changes)) => {
                    let mut o = stdout.lock();
                    for c in changes.iter().filter(|c| c.session.severity >= min) {
                        if serde_json::to_writer(&mut o, c).is_err() || o.write_all(b"\n").is_err()
                        {
                            return;
                        }
                    }
                    if o.flush().is_err() {
                        return;
                    }
                }
                AppEvent::Reply(Msg::Notice(n)) => {
                    eprintln!("lateral: {}", crate::event::sanitize(&n.text, 400));
                }
                _ => {}
            }
        }
    });
    feeder.abort();
    handle.close();
    Ok(ExitCode::SUCCESS)
}
