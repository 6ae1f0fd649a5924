//! `lateral agent`: tail and decode on this host, publish normalized events to JetStream.
//!
//! The tailer runs as in `lateral tail`; every batch it delivers is published (the event id
//! as `Nats-Msg-Id`), and only when the server has acknowledged every event of the batch
//! are the batch's checkpoints stored. So:
//! - NATS unreachable: the publish is retried with backoff and the agent stops taking
//!   batches; the tailer's bounded channel fills and it stops reading. Nothing is lost, and
//!   the files are read on from where they were once the server is back.
//! - killed between publish and checkpoint: the batch is published again after the restart,
//!   with the same ids; the stream drops the copies inside its duplicate window and the hub
//!   drops any it still sees.

// Backoff and progress lines use the wall clock; events keep their own time.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::message::PublishMessage;

use super::nats::{self, NatsArgs, StreamSettings};
use super::watch::{self, LiveInput};
use crate::event::{Cidr, Event};
use crate::ingest::checkpoint;
use crate::ingest::tail::TailMsg;

/// `lateral agent`.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// Directories (watched recursively) or files to follow.
    #[arg(value_name = "DIR", required = true)]
    pub paths: Vec<PathBuf>,
    /// Connection.
    #[command(flatten)]
    pub conn: NatsArgs,
    /// Site name: the first subject token after `lateral.events` (a datacentre, a VPC).
    #[arg(long, default_value = "default", value_name = "NAME")]
    pub site: String,
    /// Host token for events that name no host [default: this machine's name].
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Replicas of the stream when the agent creates it (1 for one server, 3 for a cluster).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub replicas: usize,
    /// How long the stream remembers event ids to drop republished copies.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub duplicate_window: String,
    /// How long the stream keeps events when the agent creates it.
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub max_age: String,
    /// Workspace for the agent's checkpoints [default: $XDG_DATA_HOME/lateral/default].
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Read files that have no checkpoint from their start (default: from their end).
    #[arg(long)]
    pub from_start: bool,
    /// Only follow files matching this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Format of every file (`auto` detects per file).
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,
    /// Internal networks for `network.direction` (comma separated CIDRs).
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    pub internal: Vec<Cidr>,
}

/// Publishes awaited together (one round trip of acknowledgements).
const WINDOW: usize = 1024;

/// Run `lateral agent`.
pub fn run(args: &AgentArgs) -> anyhow::Result<ExitCode> {
    args.conn.url("lateral agent")?;
    let settings = StreamSettings {
        replicas: args.replicas,
        duplicate_window: duration(&args.duplicate_window)?,
        max_age: duration(&args.max_age)?,
    };
    let live = watch::start(&LiveInput {
        paths: args.paths.clone(),
        format: args.format.clone(),
        internal: args.internal.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        workspace: args.workspace.clone(),
        from_start: args.from_start,
        index_checkpoints: false,
        capacity: 4,
    })?;
    let signals = watch::stop_on_signals(live.stopper.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // The tailer delivers on a std channel; a bridge thread hands its messages to the
    // runtime, so waiting for the next batch never blocks the NATS connection's tasks.
    let (tx, rx) = tokio::sync::mpsc::channel::<TailMsg>(2);
    let running = live.running;
    let bridge = std::thread::Builder::new()
        .name("lateral-agent-bridge".into())
        .spawn(move || {
            while let Ok(m) = running.messages.recv() {
                if tx.blocking_send(m).is_err() {
                    break;
                }
            }
            running.join();
        })
        .context("starting the bridge thread")?;
    let host = args.host.clone().unwrap_or_else(nats::hostname);
    let result = runtime.block_on(publish_loop(
        args,
        settings,
        &host,
        rx,
        &live.checkpoints,
        &live.stopper,
    ));
    live.stopper.stop();
    let _ = bridge.join();
    signals.close();
    drop(live.lock);
    match result {
        Ok(s) => {
            eprintln!(
                "lateral agent: {} events published ({} already in the stream), {} batches",
                s.published, s.duplicates, s.batches
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(anyhow::anyhow!("{}", args.conn.redact(&format!("{e:#}")))),
    }
}

#[derive(Debug, Default)]
struct Totals {
    published: u64,
    duplicates: u64,
    batches: u64,
}

async fn publish_loop(
    args: &AgentArgs,
    settings: StreamSettings,
    host: &str,
    mut rx: tokio::sync::mpsc::Receiver<TailMsg>,
    checkpoints: &std::path::Path,
    stopper: &crate::ingest::tail::Stopper,
) -> anyhow::Result<Totals> {
    let client = args.conn.connect("lateral agent", "lateral-agent").await?;
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .max_ack_inflight(WINDOW * 4)
        .backpressure_on_inflight(true)
        .build(client);
    // The stream may not be creatable yet (cluster forming): keep trying until stopped.
    let mut delay = Duration::from_millis(200);
    loop {
        match nats::ensure_stream(&js, settings).await {
            Ok(_) => break,
            Err(e) if stopper.stopped() => return Err(e),
            Err(e) => {
                eprintln!(
                    "lateral agent: {}; retrying",
                    args.conn.redact(&e.to_string())
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    eprintln!(
        "lateral agent: publishing to {} on {} as site {}",
        nats::STREAM,
        args.conn.shown_url(),
        nats::token(&args.site)
    );
    let mut totals = Totals::default();
    let mut save_failed = false;
    while let Some(msg) = rx.recv().await {
        let TailMsg::Batch(batch) = msg else {
            continue;
        };
        if !batch.events.is_empty() {
            let published = publish_all(&js, args, host, &batch.events, stopper).await?;
            totals.published += published.0;
            totals.duplicates += published.1;
            totals.batches += 1;
        }
        if let Some(cp) = &batch.checkpoint {
            match checkpoint::save(checkpoints, cp) {
                Ok(()) => save_failed = false,
                Err(e) if !save_failed => {
                    save_failed = true;
                    eprintln!("lateral agent: cannot save checkpoints: {e}");
                }
                Err(_) => {}
            }
        }
    }
    Ok(totals)
}

/// Publish `events` until every one is acknowledged (or the agent is stopped, which is an
/// error: the batch's checkpoint must then not be stored). Returns (stored, duplicates).
async fn publish_all(
    js: &async_nats::jetstream::Context,
    args: &AgentArgs,
    host: &str,
    events: &[Event],
    stopper: &crate::ingest::tail::Stopper,
) -> anyhow::Result<(u64, u64)> {
    let mut stored = 0u64;
    let mut duplicates = 0u64;
    let mut pending: Vec<usize> = (0..events.len()).collect();
    let mut delay = Duration::from_millis(100);
    let mut paused_since: Option<Instant> = None;
    while !pending.is_empty() {
        let mut failed: Vec<usize> = Vec::new();
        let mut last_error = String::new();
        for window in pending.chunks(WINDOW) {
            let mut acks = Vec::with_capacity(window.len());
            for &i in window {
                let Some(ev) = events.get(i) else { continue };
                let subject = nats::event_subject(&args.site, host, ev);
                let publish = PublishMessage::build()
                    .payload(nats::encode_event(ev).into())
                    .message_id(&ev.id);
                match js.send_publish(subject, publish).await {
                    Ok(ack) => acks.push((i, Some(ack))),
                    Err(e) => {
                        last_error = e.to_string();
                        acks.push((i, None));
                    }
                }
            }
            for (i, ack) in acks {
                match ack {
                    Some(fut) => match fut.await {
                        Ok(a) if a.duplicate => duplicates += 1,
                        Ok(_) => stored += 1,
                        Err(e) => {
                            last_error = e.to_string();
                            failed.push(i);
                        }
                    },
                    None => failed.push(i),
                }
            }
        }
        if failed.is_empty() {
            if let Some(t) = paused_since {
                eprintln!(
                    "lateral agent: NATS reachable again after {:.1}s; reading on",
                    t.elapsed().as_secs_f64()
                );
            }
            break;
        }
        if stopper.stopped() {
            anyhow::bail!(
                "stopped with {} events not acknowledged (their checkpoint was not stored; \
                 they are published again on the next start)",
                failed.len()
            );
        }
        if paused_since.is_none() {
            paused_since = Some(Instant::now());
            eprintln!(
                "lateral agent: publishing failed ({}); reading paused, {} events waiting",
                args.conn.redact(&last_error),
                failed.len()
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        pending = failed;
    }
    Ok((stored, duplicates))
}

/// `10m`, `7d`, `30s` (event-time parser shared with `hunt`).
fn duration(text: &str) -> anyhow::Result<Duration> {
    let ns = super::hunt::parse_duration(text)?;
    Ok(Duration::from_nanos(u64::try_from(ns).unwrap_or(0)))
}
