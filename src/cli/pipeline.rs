//! The live pipeline shared by `lateral watch` (TUI and headless) and `lateral demo`:
//! tailer → correlator (and search index) → sessions, health and counters for a sink.
//!
//! It runs on its own thread and talks to its sink through [`PipeOut`] messages. Checkpoints
//! are stored only after the batch that produced them went through the correlator, so a crash
//! repeats at most the last batch (with the same `event.id`s) and loses nothing.

// Idle detection and per-second counters use the wall clock; the correlator never does.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::correlate::{Change, Engine, Session};
use crate::event::{Event, Field, Nanos};
use crate::ingest::checkpoint;
use crate::ingest::tail::{Running, SourceHealth, TailMsg};

use super::workspace::Workspace;

/// What the pipeline reports.
#[derive(Debug)]
pub enum PipeOut {
    /// Session deltas, in order.
    Changes(Vec<Change>),
    /// Counters (about once a second).
    Stats(Counters),
    /// Health of every source (about once a second).
    Sources(Vec<SourceHealth>, BTreeMap<String, Vec<String>>),
    /// A problem worth showing once.
    Problem(String),
}

/// Pipeline counters.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Events through the correlator.
    pub events: u64,
    /// Decode errors reported by the tailer.
    pub errors: u64,
    /// Events per `event.module`: (total, per-second history, newest last).
    pub kinds: BTreeMap<String, (u64, VecDeque<u64>)>,
    /// The correlator's watermark.
    pub watermark: Option<Nanos>,
    /// Sessions reported.
    pub sessions: u64,
    /// Events committed to the search index.
    pub indexed: u64,
}

/// How long the input must be quiet before the reorder buffer is flushed, so the last events
/// of a burst show up without waiting for newer ones.
pub const IDLE_FLUSH: Duration = Duration::from_secs(1);
/// Per-second history kept for sparklines.
const HISTORY: usize = 120;

/// Everything the pipeline thread owns.
pub struct Pipeline {
    /// The correlator.
    pub engine: Engine,
    /// Workspace for checkpoints, sessions and the baseline.
    pub workspace: Workspace,
    /// Where checkpoints are stored when there is no index (with an index they travel in its
    /// commits, so the index and the checkpoints always agree after a crash).
    pub checkpoints: PathBuf,
    /// The workspace's search index, when it could be opened for writing.
    pub index: Option<crate::index::Writer>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("engine", &self.engine)
            .finish()
    }
}

impl Pipeline {
    /// Run until the tailer's channel closes (it was stopped) or `send` returns false (the
    /// sink is gone). Returns the final sessions.
    pub fn run(mut self, tail: Running, mut send: impl FnMut(PipeOut) -> bool) -> Vec<Session> {
        let mut counters = Counters::default();
        let mut sessions: HashMap<String, Session> = HashMap::new();
        let mut dirty = false;
        let mut last_event = Instant::now();
        let mut flushed = true;
        let mut second = Instant::now();
        let mut this_second: BTreeMap<String, u64> = BTreeMap::new();
        let mut last_save = Instant::now();
        let mut datasets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut save_failed = false;
        let commits = self
            .index
            .as_mut()
            .and_then(crate::index::Writer::take_commits);
        loop {
            let msg = tail.messages.recv_timeout(Duration::from_millis(200));
            let mut changes = Vec::new();
            match msg {
                Ok(TailMsg::Batch(batch)) => {
                    if !batch.events.is_empty() {
                        last_event = Instant::now();
                        flushed = false;
                    }
                    for ev in batch.events {
                        counters.events += 1;
                        let kind = ev.str(Field::EventModule).unwrap_or("other").to_string();
                        *this_second.entry(kind.clone()).or_insert(0) += 1;
                        counters.kinds.entry(kind).or_default().0 += 1;
                        note_dataset(&mut datasets, &ev);
                        changes.extend(self.engine.observe(&ev));
                        if let Some(w) = self.index.as_mut()
                            && let Err(e) = w.add(ev)
                        {
                            // The index stopped taking events: keep correlating without it.
                            self.index = None;
                            if !send(PipeOut::Problem(format!("search index disabled: {e}"))) {
                                break;
                            }
                        }
                    }
                    if let (Some(cp), Some(w)) = (&batch.checkpoint, self.index.as_mut()) {
                        // The next index commit carries the position: one atomic record of
                        // "these events are in, resume after them".
                        let _ = w.checkpoint(cp.to_bytes());
                    } else if let Some(cp) = &batch.checkpoint {
                        match checkpoint::save(&self.checkpoints, cp) {
                            Ok(()) => save_failed = false,
                            Err(e) if !save_failed => {
                                save_failed = true;
                                if !send(PipeOut::Problem(format!("cannot save checkpoints: {e}")))
                                {
                                    break;
                                }
                            }
                            Err(_) => {}
                        }
                    }
                }
                Ok(TailMsg::Health(h)) => {
                    counters.errors = h.iter().map(|s| s.errors).sum();
                    if !send(PipeOut::Sources(h, datasets.clone())) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if !flushed && last_event.elapsed() >= IDLE_FLUSH {
                changes.extend(self.engine.flush_buffer());
                flushed = true;
            }
            if !changes.is_empty() {
                for c in &changes {
                    sessions.insert(c.session.id.0.clone(), c.session.clone());
                }
                counters.sessions = sessions.len() as u64;
                dirty = true;
                if !send(PipeOut::Changes(changes)) {
                    break;
                }
            }
            if let Some(rx) = &commits {
                while let Ok(info) = rx.try_recv() {
                    counters.indexed = info.stats.added + info.stats.duplicates;
                }
            }
            if second.elapsed() >= Duration::from_secs(1) {
                second = Instant::now();
                for (kind, (_, hist)) in counters.kinds.iter_mut() {
                    hist.push_back(this_second.remove(kind).unwrap_or(0));
                    while hist.len() > HISTORY {
                        hist.pop_front();
                    }
                }
                this_second.clear();
                counters.watermark = Some(self.engine.watermark()).filter(|w| *w > Nanos::MIN);
                if !send(PipeOut::Stats(counters.clone())) {
                    break;
                }
            }
            if dirty && last_save.elapsed() >= Duration::from_secs(2) {
                dirty = false;
                last_save = Instant::now();
                self.save(&sessions);
            }
        }
        if let Some(w) = self.index.take()
            && let Err(e) = w.finish()
        {
            let _ = send(PipeOut::Problem(format!("search index: {e}")));
        }
        let final_changes = self.engine.flush_buffer();
        for c in &final_changes {
            sessions.insert(c.session.id.0.clone(), c.session.clone());
        }
        let _ = send(PipeOut::Changes(final_changes));
        self.save(&sessions);
        tail.join();
        let mut all: Vec<Session> = sessions.into_values().collect();
        all.sort_by(Session::rank);
        all
    }

    fn save(&self, sessions: &HashMap<String, Session>) {
        let mut all: Vec<Session> = sessions.values().cloned().collect();
        all.sort_by(Session::rank);
        let _ = self.workspace.save_sessions(&all);
        let _ = self.workspace.save_baseline(self.engine.baseline());
    }
}

/// Remember which datasets each source produced (what makes a group visible).
fn note_dataset(map: &mut BTreeMap<String, Vec<String>>, ev: &Event) {
    let (Some(path), Some(ds)) = (ev.str(Field::LogFilePath), ev.str(Field::EventDataset)) else {
        return;
    };
    let list = map.entry(path.to_string()).or_default();
    if !list.iter().any(|d| d == ds) && list.len() < 16 {
        list.push(ds.to_string());
    }
}
