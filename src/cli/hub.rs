//! `lateral hub`: consume every agent's events from JetStream, index and correlate them
//! across hosts, publish session changes and answer analysts.
//!
//! **Exactly once, in stream order.** The hub reads through one durable pull consumer
//! (acknowledge-all) and processes messages in stream-sequence order on a correlator thread
//! that owns the engine and the index writer. Every batch hands the writer the stream
//! sequence it ends at; the sequence travels in the index commit (the same mechanism that
//! keeps `watch`'s file positions), and the consumer is acknowledged up to a sequence only
//! after the commit holding it is durable. So after a crash the index and the stream agree on
//! a sequence `S`, and the consumer's acknowledged floor is at most `S`.
//!
//! **Restart.** The correlator's state is a function of the events it saw, in order: the
//! hub rebuilds it by replaying the stream up to `max(S, ack floor)` through a fresh engine
//! (an ordered consumer; the index is not written again), re-creates the durable consumer at
//! the next sequence, and goes on. Session ids are derived from their first event, so the
//! rebuilt sessions have the ids the analysts already saw: none lost, none doubled.
//!
//! **Duplicates.** Agents publish with `Nats-Msg-Id` = `event.id`, so the stream drops the
//! copies a restarted agent republishes inside its duplicate window; the hub also remembers
//! the ids it processed (a 64-bit hash each) and drops any later copy, and the index refuses
//! ids it holds.

// Ticks, idle flushes and wall-clock idle times of sources; event time stays event time.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::nats::{self, HubStats, NatsArgs, SourceStat, StreamSettings};
use super::workspace::Workspace;
use crate::correlate::{Change, Engine, Session};
use crate::event::{Field, Nanos};
use crate::tui::msg::{Msg, SearchRequest};

/// `lateral hub`.
#[derive(Debug, Clone, clap::Args)]
pub struct HubArgs {
    /// Connection.
    #[command(flatten)]
    pub conn: NatsArgs,
    /// Workspace: index, sessions, triage state, correlator checkpoints.
    #[arg(long, value_name = "DIR")]
    pub workspace: PathBuf,
    /// Only these sites (comma separated; default every site).
    #[arg(long, value_delimiter = ',', value_name = "SITE")]
    pub sites: Vec<String>,
    /// Durable consumer name (a standby hub uses the same name and workspace).
    #[arg(long, default_value = "lateral-hub", value_name = "NAME")]
    pub name: String,
    /// Replicas of the stream if the hub creates it.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub replicas: usize,
    /// More rule files (YAML); searched recursively. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Attack-chain window (event time).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub window: String,
    /// Allowed lateness of out-of-order events (event time).
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub lateness: String,
    /// Also print session changes as JSON lines on stdout (as `watch --headless` does).
    #[arg(long)]
    pub print: bool,
}

/// What the index commit carries for the hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct HubCheckpoint {
    /// Format version.
    v: u32,
    /// Stream sequence of the last message whose event is in the commit.
    seq: u64,
}

impl HubCheckpoint {
    fn to_bytes(self) -> Vec<u8> {
        serde_json::to_vec(&self).unwrap_or_default()
    }
    fn from_bytes(b: &[u8]) -> Option<HubCheckpoint> {
        serde_json::from_slice::<HubCheckpoint>(b)
            .ok()
            .filter(|c| c.v == 1)
    }
}

/// One message for the correlator thread.
struct Item {
    seq: u64,
    subject: async_nats::Subject,
    payload: bytes::Bytes,
}

enum In {
    /// Messages in stream order; `replay` ones rebuild state and are not indexed again.
    Batch { items: Vec<Item>, replay: bool },
    /// Replay done: from here on, changes are published.
    Live,
}

enum Out {
    Changes(Vec<Change>),
    /// Everything up to this stream sequence is durable in the index.
    Durable(u64),
    Stats(Box<HubStats>),
    Problem(String),
}

/// How long the input must be quiet before the reorder buffer is flushed. Shorter than a
/// local `watch`'s second: agents batch already, and analysts wait on the hub.
const IDLE_FLUSH: Duration = Duration::from_millis(300);

/// Sessions the API answers from (written by the correlator thread).
type Shared = Arc<RwLock<HashMap<String, Session>>>;

/// Every session the hub knows, in [`Session::rank`] order.
fn ranked(shared: &Shared) -> Vec<Session> {
    let mut all: Vec<Session> = shared
        .read()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    all.sort_by(Session::rank);
    all
}

/// Run `lateral hub`.
pub fn run(args: &HubArgs) -> anyhow::Result<ExitCode> {
    args.conn.url("lateral hub")?;
    let workspace = Workspace::open(&args.workspace)?;
    let lock = workspace.lock()?;
    let index = crate::index::Index::open_or_create(&super::index::index_dir(&workspace))
        .context("opening the workspace index")?;
    let saved = index
        .last_payload()
        .ok()
        .flatten()
        .and_then(|b| HubCheckpoint::from_bytes(&b))
        .unwrap_or_default();
    let writer = index
        .writer(crate::index::WriterConfig::default())
        .context("opening the index for writing")?;
    let engine = super::watch::engine_with(&args.rules, &args.window, &args.lateness, &workspace)?;
    let stop = Arc::new(AtomicBool::new(false));
    let signals = {
        let stop = stop.clone();
        super::watch::on_signals(
            move || stop.store(true, Ordering::SeqCst),
            "exiting at once",
        )?
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // Sessions of earlier runs stay visible; the replay below refreshes the ones it rebuilds.
    let shared: Shared = Arc::new(RwLock::new(
        workspace
            .load_sessions()
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id.0.clone(), s))
            .collect(),
    ));
    let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<In>(8);
    let (out_tx, out_rx) = tokio::sync::mpsc::channel::<Out>(256);
    let correlator = {
        let shared = shared.clone();
        let workspace = workspace.clone();
        std::thread::Builder::new()
            .name("lateral-hub-correlator".into())
            .spawn(move || {
                Correlator {
                    engine,
                    writer: Some(writer),
                    workspace,
                    shared,
                    indexed_through: saved.seq,
                    seen: HashSet::new(),
                    stats: HubStats::default(),
                    sources: BTreeMap::new(),
                    kinds: BTreeMap::new(),
                    live: false,
                }
                .run(&in_rx, &out_tx)
            })
            .context("starting the correlator thread")?
    };
    let result = runtime.block_on(main_loop(
        args,
        saved.seq,
        in_tx,
        out_rx,
        shared,
        workspace.clone(),
        stop,
    ));
    let joined = correlator.join();
    signals.close();
    drop(lock);
    if let Err(e) = result {
        return Err(anyhow::anyhow!("{}", args.conn.redact(&format!("{e:#}"))));
    }
    match joined {
        Ok(Ok(stats)) => {
            eprintln!(
                "lateral hub: {} events correlated, {} sessions, {} malformed, {} duplicates",
                stats.events, stats.sessions, stats.malformed, stats.duplicates
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow::anyhow!("the correlator thread panicked")),
    }
}

fn filters(sites: &[String]) -> Vec<String> {
    if sites.is_empty() {
        vec![format!("{}.>", nats::EVENTS)]
    } else {
        sites
            .iter()
            .map(|s| format!("{}.{}.>", nats::EVENTS, nats::token(s)))
            .collect()
    }
}

async fn main_loop(
    args: &HubArgs,
    indexed: u64,
    in_tx: SyncSender<In>,
    mut out_rx: tokio::sync::mpsc::Receiver<Out>,
    shared: Shared,
    workspace: Workspace,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let client = args.conn.connect("lateral hub", "lateral-hub").await?;
    let js = async_nats::jetstream::new(client.clone());
    let stream = loop {
        match nats::ensure_stream(
            &js,
            StreamSettings {
                replicas: args.replicas,
                duplicate_window: Duration::from_secs(600),
                max_age: Duration::from_secs(7 * 86_400),
            },
        )
        .await
        {
            Ok(s) => break s,
            Err(e) if stop.load(Ordering::SeqCst) => return Err(e),
            Err(e) => {
                eprintln!(
                    "lateral hub: {}; retrying",
                    args.conn.redact(&e.to_string())
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let filter_subjects = filters(&args.sites);
    // Where the consumer stands (its acknowledged floor, whether it holds unacknowledged
    // messages of an earlier run, and what it filters).
    let existing = match stream
        .get_consumer::<consumer::pull::Config>(&args.name)
        .await
    {
        Ok(mut c) => {
            let state = c.info().await.ok().map(|i| {
                (
                    i.ack_floor.stream_sequence,
                    i.num_ack_pending,
                    i.config.filter_subjects.clone(),
                )
            });
            Some((c, state))
        }
        Err(_) => None,
    };
    let ack_floor = existing
        .as_ref()
        .and_then(|(_, state)| state.as_ref())
        .map_or(0, |(floor, _, _)| *floor);
    let resume = ack_floor.max(indexed);
    // 1. Rebuild the correlator from the stream up to `resume`.
    let started = Instant::now();
    let replayed = replay(&stream, &filter_subjects, resume, &in_tx).await?;
    if replayed > 0 {
        eprintln!(
            "lateral hub: correlator rebuilt from {replayed} events (stream up to #{resume}) in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    send_in(&in_tx, In::Live).await?;
    // 2. The durable consumer, positioned right after `resume` (re-created when it stands
    // elsewhere or holds unacknowledged messages of the previous run).
    let config = consumer::pull::Config {
        durable_name: Some(args.name.clone()),
        ack_policy: AckPolicy::All,
        ack_wait: Duration::from_secs(60),
        max_ack_pending: 500_000,
        filter_subjects: filter_subjects.clone(),
        deliver_policy: if resume == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: resume + 1,
            }
        },
        ..Default::default()
    };
    let clean = existing
        .as_ref()
        .and_then(|(_, state)| state.as_ref())
        .is_some_and(|(floor, pending, filters)| {
            *floor == resume && *pending == 0 && *filters == filter_subjects
        });
    let consumer = match existing {
        Some((c, _)) if clean => c,
        stale => {
            if stale.is_some() {
                let _ = stream.delete_consumer(&args.name).await;
            }
            stream
                .create_consumer(config)
                .await
                .map_err(|e| anyhow::anyhow!("creating consumer {}: {e}", args.name))?
        }
    };
    eprintln!(
        "lateral hub: consuming {} on {} from #{} as {}",
        filter_subjects.join(","),
        args.conn.shown_url(),
        resume + 1,
        args.name
    );
    // 3. Answer analysts.
    let api = spawn_api(client.clone(), shared.clone(), workspace.clone()).await?;
    // 4. Consume.
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(2000)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("consumer {}: {e}", args.name))?;
    // Newest message of every batch handed over, to acknowledge once durable.
    let mut to_ack: VecDeque<(u64, async_nats::jetstream::Message)> = VecDeque::new();
    let mut batch: Vec<Item> = Vec::new();
    let mut last: Option<async_nats::jetstream::Message> = None;
    let mut flush = tokio::time::interval(Duration::from_millis(50));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out_open = true;
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        tokio::select! {
            m = messages.next() => match m {
                Some(Ok(msg)) => {
                    let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
                    batch.push(Item {
                        seq,
                        subject: msg.subject.clone(),
                        payload: msg.payload.clone(),
                    });
                    last = Some(msg);
                    if batch.len() >= 2000 {
                        hand_over(&in_tx, &mut batch, &mut last, &mut to_ack).await?;
                    }
                }
                Some(Err(e)) => {
                    eprintln!("lateral hub: consumer: {}", args.conn.redact(&e.to_string()));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                None => break,
            },
            _ = flush.tick() => {
                if !batch.is_empty() {
                    hand_over(&in_tx, &mut batch, &mut last, &mut to_ack).await?;
                }
            }
            out = out_rx.recv(), if out_open => match out {
                Some(o) => handle_out(&client, o, &mut to_ack, args.print).await,
                None => out_open = false,
            },
        }
    }
    if !batch.is_empty() {
        hand_over(&in_tx, &mut batch, &mut last, &mut to_ack).await?;
    }
    // Closing the input makes the correlator commit and exit; then acknowledge what the
    // final commit made durable.
    drop(in_tx);
    while let Some(o) = out_rx.recv().await {
        handle_out(&client, o, &mut to_ack, args.print).await;
    }
    api.abort();
    let _ = client.flush().await;
    Ok(())
}

async fn send_in(tx: &SyncSender<In>, msg: In) -> anyhow::Result<()> {
    // A full channel is the correlator's backpressure: wait for it without stalling the
    // runtime's other tasks (acks, API answers) on this worker.
    tokio::task::block_in_place(|| tx.send(msg))
        .map_err(|_| anyhow::anyhow!("the correlator thread stopped"))
}

async fn hand_over(
    tx: &SyncSender<In>,
    batch: &mut Vec<Item>,
    last: &mut Option<async_nats::jetstream::Message>,
    to_ack: &mut VecDeque<(u64, async_nats::jetstream::Message)>,
) -> anyhow::Result<()> {
    let items = std::mem::take(batch);
    if let Some(m) = last.take() {
        let seq = items.last().map_or(0, |i| i.seq);
        to_ack.push_back((seq, m));
    }
    send_in(
        tx,
        In::Batch {
            items,
            replay: false,
        },
    )
    .await
}

async fn handle_out(
    client: &async_nats::Client,
    out: Out,
    to_ack: &mut VecDeque<(u64, async_nats::jetstream::Message)>,
    print: bool,
) {
    match out {
        Out::Changes(changes) => {
            for c in changes {
                let subject = format!(
                    "{}.{}.{}",
                    nats::SESSIONS,
                    c.session.severity.to_string().to_ascii_lowercase(),
                    nats::token(&c.session.id.0)
                );
                if let Ok(body) = serde_json::to_vec(&c) {
                    if print {
                        println!("{}", String::from_utf8_lossy(&body));
                    }
                    let _ = client.publish(subject, body.into()).await;
                }
            }
        }
        Out::Durable(seq) => {
            // Acknowledge-all: the newest handed-over message at or before `seq` covers
            // every earlier one.
            let mut newest = None;
            while to_ack.front().is_some_and(|(s, _)| *s <= seq) {
                newest = to_ack.pop_front();
            }
            if let Some((_, m)) = newest
                && let Err(e) = m.double_ack().await
            {
                eprintln!("lateral hub: acknowledging #{seq}: {e}");
            }
        }
        Out::Stats(s) => {
            if let Ok(body) = serde_json::to_vec(&*s) {
                let _ = client.publish(nats::STATS, body.into()).await;
            }
        }
        Out::Problem(p) => eprintln!("lateral hub: {}", crate::event::sanitize(&p, 400)),
    }
}

/// Replay the stream up to `through` into the correlator (state only). Returns messages read.
async fn replay(
    stream: &async_nats::jetstream::stream::Stream,
    filter_subjects: &[String],
    through: u64,
    in_tx: &SyncSender<In>,
) -> anyhow::Result<u64> {
    if through == 0 {
        return Ok(0);
    }
    let ordered = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subjects: filter_subjects.to_vec(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("replay consumer: {e}"))?;
    let mut messages = ordered
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("replay consumer: {e}"))?;
    let mut count = 0u64;
    let mut items = Vec::new();
    loop {
        // The stream may hold fewer messages up to `through` than the sequence suggests
        // (other sites, expired events): a quiet second ends the replay.
        let next = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
        let msg = match next {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                eprintln!("lateral hub: replay: {e}");
                continue;
            }
            Ok(None) | Err(_) => break,
        };
        let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
        if seq > through {
            break;
        }
        count += 1;
        items.push(Item {
            seq,
            subject: msg.subject.clone(),
            payload: msg.payload.clone(),
        });
        if items.len() >= 2000 {
            send_in(
                in_tx,
                In::Batch {
                    items: std::mem::take(&mut items),
                    replay: true,
                },
            )
            .await?;
        }
        if seq == through {
            break;
        }
    }
    if !items.is_empty() {
        send_in(
            in_tx,
            In::Batch {
                items,
                replay: true,
            },
        )
        .await?;
    }
    Ok(count)
}

/// The request/reply subjects: sessions, search, events, triage.
async fn spawn_api(
    client: async_nats::Client,
    shared: Shared,
    workspace: Workspace,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut subs = Vec::new();
    for subject in [
        nats::API_SESSIONS,
        nats::API_SEARCH,
        nats::API_EVENT,
        nats::API_TRIAGE,
        nats::API_CASES,
    ] {
        let sub = client
            .subscribe(subject)
            .await
            .map_err(|e| anyhow::anyhow!("subscribing to {subject}: {e}"))?;
        subs.push(sub);
    }
    let searcher = Arc::new(super::search::IndexSearch::new(workspace.dir()));
    let mut all = futures_util::stream::select_all(subs);
    Ok(tokio::spawn(async move {
        while let Some(req) = all.next().await {
            let Some(reply) = req.reply.clone() else {
                continue;
            };
            let client = client.clone();
            let shared = shared.clone();
            let workspace = workspace.clone();
            let searcher = searcher.clone();
            tokio::spawn(async move {
                let subject = req.subject.to_string();
                let payload = req.payload.clone();
                let answer = tokio::task::spawn_blocking(move || {
                    answer(&subject, &payload, &shared, &workspace, &searcher)
                })
                .await
                .unwrap_or_default();
                let _ = client.publish(reply, answer.body.into()).await;
                if let Some(cases) = answer.broadcast {
                    let _ = client.publish(nats::CASES, cases.into()).await;
                }
            });
        }
    }))
}

#[derive(Default)]
struct Answer {
    body: Vec<u8>,
    /// Cases to broadcast to every analyst (after a triage change).
    broadcast: Option<Vec<u8>>,
}

fn error_body(e: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": e })).unwrap_or_default()
}

/// One API answer (blocking: index reads, triage store).
fn answer(
    subject: &str,
    payload: &[u8],
    shared: &Shared,
    workspace: &Workspace,
    searcher: &super::search::IndexSearch,
) -> Answer {
    use super::screen::Searcher as _;
    match subject {
        nats::API_SESSIONS => {
            let offset = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v.get("offset").and_then(serde_json::Value::as_u64))
                .unwrap_or(0) as usize;
            let all = ranked(shared);
            let mut page = nats::SessionsPage::default();
            let mut size = 0;
            for (i, s) in all.iter().enumerate().skip(offset) {
                let n = serde_json::to_vec(s).map_or(0, |b| b.len());
                if size + n > nats::MAX_REPLY && !page.sessions.is_empty() {
                    page.next = Some(i);
                    break;
                }
                size += n;
                page.sessions.push(s.clone());
            }
            Answer {
                body: serde_json::to_vec(&page).unwrap_or_default(),
                broadcast: None,
            }
        }
        nats::API_SEARCH => {
            let Ok(req) = serde_json::from_slice::<nats::SearchReq>(payload) else {
                return Answer {
                    body: error_body("malformed search request"),
                    broadcast: None,
                };
            };
            let request = SearchRequest {
                generation: 0,
                query: req.query,
                since: req.since,
                until: req.until,
                offset: req.offset,
                limit: req.limit.min(500),
            };
            let resp = match searcher.search(&request) {
                Msg::SearchResults(r) => {
                    let mut resp = nats::SearchResp {
                        error: None,
                        position: None,
                        total: r.total,
                        offset: r.offset,
                        took_ms: r.took_ms,
                        hits: Vec::new(),
                        histogram: r.histogram.iter().map(|b| (b.start, b.count)).collect(),
                        facets: r
                            .facets
                            .iter()
                            .map(|f| (f.field.name().to_string(), f.values.clone()))
                            .collect(),
                    };
                    let mut size = 0;
                    for ev in &r.hits {
                        let bytes = nats::encode_event(ev);
                        size += bytes.len();
                        if size > nats::MAX_REPLY - 64 * 1024 {
                            break;
                        }
                        if let Some(raw) = String::from_utf8(bytes)
                            .ok()
                            .and_then(|t| serde_json::value::RawValue::from_string(t).ok())
                        {
                            resp.hits.push(raw);
                        }
                    }
                    resp
                }
                Msg::SearchFailed {
                    message, position, ..
                } => nats::SearchResp {
                    error: Some(message),
                    position,
                    ..Default::default()
                },
                _ => nats::SearchResp {
                    error: Some("search failed".into()),
                    ..Default::default()
                },
            };
            Answer {
                body: serde_json::to_vec(&resp).unwrap_or_default(),
                broadcast: None,
            }
        }
        nats::API_EVENT => {
            let id = String::from_utf8_lossy(payload).trim().to_string();
            let body = match searcher.load(&id) {
                Msg::EventLoaded(ev) => nats::encode_event(&ev),
                _ => error_body("not found"),
            };
            Answer {
                body,
                broadcast: None,
            }
        }
        nats::API_TRIAGE => {
            let result = serde_json::from_slice::<nats::TriageReq>(payload)
                .map_err(|e| anyhow::anyhow!("malformed triage request: {e}"))
                .and_then(|req| {
                    let sessions = shared.read().map(|m| m.clone()).unwrap_or_default();
                    super::screen::triage(req.action, workspace, &sessions, &req.analyst)
                });
            let mut resp = cases(workspace);
            if let Err(e) = result {
                resp.error = Some(e.to_string());
            }
            let body = serde_json::to_vec(&resp).unwrap_or_default();
            Answer {
                broadcast: Some(body.clone()),
                body,
            }
        }
        nats::API_CASES => Answer {
            body: serde_json::to_vec(&cases(workspace)).unwrap_or_default(),
            broadcast: None,
        },
        _ => Answer {
            body: error_body("unknown request"),
            broadcast: None,
        },
    }
}

fn cases(workspace: &Workspace) -> nats::CasesResp {
    match crate::triage::store::Store::new(workspace.dir()).load() {
        Ok(t) => nats::CasesResp {
            error: None,
            cases: t.cases,
        },
        Err(e) => nats::CasesResp {
            error: Some(e.to_string()),
            cases: Vec::new(),
        },
    }
}

/// The correlator thread's state.
struct Correlator {
    engine: Engine,
    writer: Option<crate::index::Writer>,
    workspace: Workspace,
    shared: Shared,
    /// The index holds every event up to this stream sequence.
    indexed_through: u64,
    /// Hashes of the ids processed (duplicates republished by agents are dropped).
    seen: HashSet<u64>,
    stats: HubStats,
    sources: BTreeMap<String, (SourceStat, Instant)>,
    kinds: BTreeMap<String, (u64, VecDeque<u64>, u64)>,
    /// Replay is over: changes are published.
    live: bool,
}

impl Correlator {
    fn run(
        mut self,
        input: &Receiver<In>,
        out: &tokio::sync::mpsc::Sender<Out>,
    ) -> anyhow::Result<HubStats> {
        let commits = self
            .writer
            .as_mut()
            .and_then(crate::index::Writer::take_commits);
        let mut last_input = Instant::now();
        let mut flushed = true;
        let mut second = Instant::now();
        let mut last_save = Instant::now();
        let mut dirty = false;
        let mut problems = 0u64;
        loop {
            let mut changes = Vec::new();
            match input.recv_timeout(Duration::from_millis(100)) {
                Ok(In::Live) => self.live = true,
                Ok(In::Batch { items, replay }) => {
                    last_input = Instant::now();
                    flushed = false;
                    let last_seq = items.last().map(|i| i.seq);
                    let now = Instant::now();
                    for item in items {
                        if let Err(why) = self.one(item, replay, now, &mut changes)
                            && !replay
                        {
                            problems += 1;
                            // A flood of junk must not flood the log: the first ten, then
                            // one in a thousand (all are counted in the stats).
                            if (problems <= 10 || problems.is_multiple_of(1000))
                                && out.blocking_send(Out::Problem(why)).is_err()
                            {
                                break;
                            }
                        }
                    }
                    if let Some(seq) = last_seq {
                        self.stats.stream_seq = seq;
                        if !replay && let Some(w) = self.writer.as_mut() {
                            w.checkpoint(HubCheckpoint { v: 1, seq }.to_bytes())
                                .map_err(|e| anyhow::anyhow!("search index: {e}"))?;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.live && !flushed && last_input.elapsed() >= IDLE_FLUSH {
                changes.extend(self.engine.flush_buffer());
                flushed = true;
            }
            if !changes.is_empty() {
                dirty = true;
                self.apply(&changes);
                if self.live && out.blocking_send(Out::Changes(changes)).is_err() {
                    break;
                }
            }
            if let Some(rx) = &commits {
                while let Ok(info) = rx.try_recv() {
                    self.stats.indexed = info.stats.added + info.stats.duplicates;
                    if let Some(cp) = info
                        .checkpoint
                        .as_deref()
                        .and_then(HubCheckpoint::from_bytes)
                    {
                        self.indexed_through = cp.seq;
                        let _ = out.blocking_send(Out::Durable(cp.seq));
                    }
                }
            }
            if second.elapsed() >= Duration::from_secs(1) {
                second = Instant::now();
                let stats = self.snapshot();
                if out.blocking_send(Out::Stats(Box::new(stats))).is_err() {
                    break;
                }
            }
            if dirty && last_save.elapsed() >= Duration::from_secs(2) {
                dirty = false;
                last_save = Instant::now();
                self.save();
            }
        }
        // Final commit (with the last checkpoint), then acknowledge it.
        if let Some(w) = self.writer.take() {
            match w.finish() {
                Ok(s) => self.stats.indexed = s.added + s.duplicates,
                Err(e) => {
                    let _ = out.blocking_send(Out::Problem(format!("search index: {e}")));
                }
            }
            if self.stats.stream_seq > 0 {
                let _ = out.blocking_send(Out::Durable(self.stats.stream_seq));
            }
        }
        let final_changes = self.engine.flush_buffer();
        self.apply(&final_changes);
        let _ = out.blocking_send(Out::Changes(final_changes));
        self.save();
        Ok(self.snapshot())
    }

    /// Process one message. Errors are malformed messages (counted).
    fn one(
        &mut self,
        item: Item,
        replay: bool,
        now: Instant,
        changes: &mut Vec<Change>,
    ) -> Result<(), String> {
        // Keyed by subject as received: no allocation per message once a source is known.
        if !self.sources.contains_key(item.subject.as_str()) {
            let name = item
                .subject
                .strip_prefix(nats::EVENTS)
                .and_then(|s| s.strip_prefix('.'))
                .unwrap_or(&item.subject)
                .replace('.', "/");
            let stat = SourceStat {
                name,
                ..SourceStat::default()
            };
            self.sources.insert(item.subject.to_string(), (stat, now));
        }
        let Some(entry) = self.sources.get_mut(item.subject.as_str()) else {
            return Ok(());
        };
        entry.1 = now;
        let ev = match nats::decode_event(&item.payload) {
            Ok(ev) => ev,
            Err(why) => {
                entry.0.errors += 1;
                self.stats.malformed += 1;
                return Err(format!(
                    "{} #{}: not an event ({why}); skipped",
                    item.subject, item.seq
                ));
            }
        };
        if !self.seen.insert(crate::event::fnv1a(ev.id.as_bytes())) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        entry.0.events += 1;
        entry.0.last_event = Some(
            entry
                .0
                .last_event
                .map_or(ev.timestamp, |t| t.max(ev.timestamp)),
        );
        self.stats.events += 1;
        let kind = ev.str(Field::EventModule).unwrap_or("other");
        if !self.kinds.contains_key(kind) {
            self.kinds.insert(kind.to_string(), Default::default());
        }
        if let Some(k) = self.kinds.get_mut(kind) {
            k.0 += 1;
            k.2 += 1;
        }
        changes.extend(self.engine.observe(&ev));
        if (!replay || item.seq > self.indexed_through)
            && let Some(w) = self.writer.as_mut()
            && let Err(e) = w.add(ev)
        {
            self.writer = None;
            return Err(format!("search index disabled: {e}"));
        }
        Ok(())
    }

    fn apply(&mut self, changes: &[Change]) {
        if let Ok(mut m) = self.shared.write() {
            for c in changes {
                m.insert(c.session.id.0.clone(), c.session.clone());
            }
            self.stats.sessions = m.len() as u64;
        }
    }

    fn snapshot(&mut self) -> HubStats {
        for (_, (_, hist, this_second)) in self.kinds.iter_mut() {
            hist.push_back(std::mem::take(this_second));
            while hist.len() > 120 {
                hist.pop_front();
            }
        }
        let mut s = self.stats.clone();
        s.watermark = Some(self.engine.watermark()).filter(|w| *w > Nanos::MIN);
        s.kinds = self
            .kinds
            .iter()
            .map(|(k, (total, hist, _))| (k.clone(), *total, hist.iter().copied().collect()))
            .collect();
        s.sources = self
            .sources
            .values()
            .map(|(stat, at)| SourceStat {
                idle_secs: at.elapsed().as_secs(),
                ..stat.clone()
            })
            .collect();
        s
    }

    fn save(&self) {
        let _ = self.workspace.save_sessions(&ranked(&self.shared));
    }
}
