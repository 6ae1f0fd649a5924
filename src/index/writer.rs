//! The batched index writer on its own thread.
//!
//! Callers hand events to [`Writer::add`] (buffered and sent in batches over a bounded
//! channel, so a slow disk slows the reader down instead of filling memory). The thread owns
//! tantivy's `IndexWriter` and commits every [`WriterConfig::commit_interval`] (1 s) or every
//! [`WriterConfig::commit_docs`] (50k) documents, whichever comes first.
//!
//! **Checkpoints ride on the commit.** [`Writer::checkpoint`] hands the writer an opaque blob
//! (the ingest position: file offsets, fingerprints). It travels through the same channel as
//! the events, after the events it covers, so the blob attached to a commit describes exactly
//! the documents in that commit. It is stored as tantivy's commit payload inside `meta.json`,
//! which tantivy replaces atomically: after a crash, [`Index::last_payload`] and the
//! documents agree, and resuming from that checkpoint loses and duplicates nothing. A commit
//! holds everything added before it, so once a caller checkpoints, timer and size commits
//! wait for the next checkpoint (callers checkpoint every batch they read); a caller that
//! never checkpoints (a one-off `hunt`) gets plain timed commits. [`Writer::finish`] commits
//! whatever was added: checkpoint before finishing.
//!
//! **Identity is `event.id`.** With [`Dedup::Check`] (the default) an event whose id is
//! already indexed is skipped, so indexing the same file twice adds nothing. Looking every id
//! up would cost a term-dictionary probe per segment per event; instead the writer notes, per
//! source (the id's `fnv-` prefix), whether the index held any event of that source when it
//! first met it. Events of a source new to the index, arriving in increasing position (as a
//! reader produces them), cannot be duplicates and skip the probe (their positions since the
//! last commit are kept as sorted integers, not strings); everything else is probed against
//! the committed segments and the ids added since the last commit.
//!
//! [`Index::last_payload`]: super::Index::last_payload

// The commit timer is wall-clock by design (commit every second of real time); event time is
// untouched here.
#![allow(clippy::disallowed_methods)]

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::RangeQuery;
use tantivy::{
    DateTime, IndexReader, IndexWriter, InvertedIndexReader, ReloadPolicy, TantivyDocument, Term,
};

use super::{CommitPayload, Index, IndexError};
use crate::event::{Event, Field, Nanos};

/// Events sent to the writer thread at once.
const BATCH: usize = 1024;
/// Batches in flight between the caller and the writer thread.
const CHANNEL_BATCHES: usize = 8;
/// Version of the payload envelope in `meta.json`.
const PAYLOAD_VERSION: u64 = 1;
/// tantivy's bounds on one indexing thread's memory arena (15 MB, just under 4 GiB).
const MIN_HEAP_PER_THREAD: usize = 15_000_000;
const MAX_HEAP_PER_THREAD: usize = u32::MAX as usize - 1_000_000;

/// How duplicates (same `event.id`) are kept out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// Skip an event whose id is already indexed (default; see the module docs for the cost).
    Check,
    /// Delete any document with the id, then add: the newest copy wins. tantivy resolves the
    /// deletes at commit, probing every segment, and the deleted copies stay on disk until
    /// segments merge.
    Replace,
    /// Trust the caller: every event is new (a fresh index fed once).
    None,
}

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Commit at least this often while there is something to commit.
    pub commit_interval: Duration,
    /// Commit after this many documents.
    pub commit_docs: usize,
    /// tantivy indexing threads.
    pub threads: usize,
    /// Indexing memory shared by the threads, in bytes (at least 15 MB per thread).
    pub heap_bytes: usize,
    /// Keep events at most this much older than the newest indexed event (event time).
    pub retain: Option<Nanos>,
    /// Duplicate handling.
    pub dedup: Dedup,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            commit_interval: Duration::from_secs(1),
            commit_docs: 50_000,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 2),
            heap_bytes: 128 << 20,
            retain: None,
            dedup: Dedup::Check,
        }
    }
}

/// What a commit made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// tantivy's opstamp of the commit.
    pub opstamp: u64,
    /// The checkpoint stored with it.
    pub checkpoint: Option<Vec<u8>>,
    /// Totals of this writer so far.
    pub stats: WriterStats,
}

/// Counters of one writer session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Documents added.
    pub added: u64,
    /// Events skipped because their `event.id` was already indexed.
    pub duplicates: u64,
    /// Events skipped because retention had already dropped their time.
    pub expired: u64,
    /// Commits made.
    pub commits: u64,
    /// Times retention deleted older documents.
    pub retention_runs: u64,
}

/// An event turned into its document on the caller's thread (the caller made the event, so
/// its allocations are freed where they were made, and the writer thread stays light).
struct Prepared {
    id: String,
    timestamp: Nanos,
    doc: TantivyDocument,
}

enum Op {
    Events(Vec<Prepared>),
    Checkpoint(Vec<u8>),
    Commit {
        payload: Option<Vec<u8>>,
        reply: SyncSender<Result<CommitInfo, IndexError>>,
    },
}

/// Handle to the writer thread. Dropping it commits what was added and waits for the thread;
/// [`Writer::finish`] does the same and reports errors.
pub struct Writer {
    schema: super::Schema,
    tx: Option<SyncSender<Op>>,
    batch: Vec<Prepared>,
    thread: Option<JoinHandle<Result<WriterStats, IndexError>>>,
    commits: Option<Receiver<CommitInfo>>,
    path: std::path::PathBuf,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.path).finish()
    }
}

impl Writer {
    pub(super) fn start(index: Index, config: WriterConfig) -> Result<Writer, IndexError> {
        let path = index.path().to_path_buf();
        let schema = index.schema().clone();
        let threads = config.threads.max(1);
        let per_thread =
            (config.heap_bytes / threads).clamp(MIN_HEAP_PER_THREAD, MAX_HEAP_PER_THREAD);
        let options = IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(per_thread)
            // One merge at a time: merges compete with indexing for the same two cores.
            .num_merge_threads(1)
            .build();
        let writer: IndexWriter =
            index
                .tantivy()
                .writer_with_options(options)
                .map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => {
                        IndexError::Locked { path: path.clone() }
                    }
                    source => IndexError::Write {
                        path: path.clone(),
                        source,
                    },
                })?;
        let reader = index
            .tantivy()
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|source| IndexError::Open {
                path: path.clone(),
                source,
            })?;
        let (tx, rx) = mpsc::sync_channel(CHANNEL_BATCHES);
        let (commit_tx, commit_rx) = mpsc::sync_channel(64);
        let worker = Worker::new(index, writer, reader, config, commit_tx)?;
        let thread = std::thread::Builder::new()
            .name("lateral-index-writer".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| IndexError::Write {
                path: path.clone(),
                source: e.into(),
            })?;
        Ok(Writer {
            schema,
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            thread: Some(thread),
            commits: Some(commit_rx),
            path,
        })
    }

    /// Add an event (buffered; searchable after the next commit).
    pub fn add(&mut self, event: Event) -> Result<(), IndexError> {
        let doc = self.schema.document(&event);
        self.batch.push(Prepared {
            id: event.id,
            timestamp: event.timestamp,
            doc,
        });
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Attach `checkpoint` to the next commit: it describes everything added before this
    /// call. Opaque to the index; read it back with [`Index::last_payload`](super::Index::last_payload).
    pub fn checkpoint(&mut self, checkpoint: Vec<u8>) -> Result<(), IndexError> {
        self.flush()?;
        self.send(Op::Checkpoint(checkpoint))
    }

    /// Commit now with `payload` as the checkpoint, and wait until it is durable.
    pub fn commit_with(&mut self, payload: &[u8]) -> Result<CommitInfo, IndexError> {
        self.commit_now(Some(payload.to_vec()))
    }

    /// Commit now (with the latest checkpoint) and wait until it is durable.
    pub fn commit(&mut self) -> Result<CommitInfo, IndexError> {
        self.commit_now(None)
    }

    /// Commits as they happen (timer, size or explicit), for a pipeline that reports
    /// `Committed` or prunes its own state. Taken once; when nobody reads, the oldest
    /// notifications are dropped, never the commits.
    pub fn take_commits(&mut self) -> Option<Receiver<CommitInfo>> {
        self.commits.take()
    }

    /// Commit what is left, wait for merges, stop the thread.
    pub fn finish(mut self) -> Result<WriterStats, IndexError> {
        self.flush()?;
        self.tx = None;
        self.join()
    }

    fn commit_now(&mut self, payload: Option<Vec<u8>>) -> Result<CommitInfo, IndexError> {
        self.flush()?;
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Op::Commit { payload, reply })?;
        match answer.recv() {
            Ok(result) => result,
            Err(_) => Err(self.stopped()),
        }
    }

    fn flush(&mut self) -> Result<(), IndexError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send(Op::Events(batch))
    }

    fn send(&mut self, op: Op) -> Result<(), IndexError> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(op).is_ok());
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// The thread is gone: its own error says why.
    fn stopped(&mut self) -> IndexError {
        self.tx = None;
        match self.join() {
            Err(e) => e,
            Ok(_) => IndexError::WriterStopped {
                path: self.path.clone(),
                reason: "already finished".into(),
            },
        }
    }

    fn join(&mut self) -> Result<WriterStats, IndexError> {
        match self.thread.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(IndexError::WriterStopped {
                    path: self.path.clone(),
                    reason: "the writer thread panicked".into(),
                })
            }),
            None => Err(IndexError::WriterStopped {
                path: self.path.clone(),
                reason: "already finished".into(),
            }),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.flush();
            self.tx = None;
            let _ = self.join();
        }
    }
}

/// What the writer knows about a source (the `fnv-` prefix of its event ids).
enum SourceState {
    /// The index had events of this source when first met: probe every id.
    Known,
    /// New to the index: every event of it added so far had a position up to `max`; `recent`
    /// holds, sorted, the positions added since the last commit (not yet in the segments).
    New { max: Option<u64>, recent: Vec<u64> },
}

struct Worker {
    index: Index,
    writer: IndexWriter,
    reader: IndexReader,
    config: WriterConfig,
    /// Term dictionaries of `event.id` in the committed segments.
    id_dicts: Vec<Arc<InvertedIndexReader>>,
    sources: HashMap<String, SourceState>,
    /// Ids added since the last commit (not yet visible to `id_dicts`) whose source is not
    /// tracked as new (those keep positions in their `SourceState`).
    pending_ids: HashSet<String>,
    pending_docs: usize,
    /// Something (documents, a checkpoint) waits for a commit.
    dirty: bool,
    /// The caller hands in checkpoints: commit only where one covers every added document.
    checkpointing: bool,
    /// No document was added since the latest checkpoint.
    covered: bool,
    /// A commit is due and waits for the next checkpoint.
    due: bool,
    deadline: Option<Instant>,
    checkpoint: Option<Vec<u8>>,
    newest: Option<Nanos>,
    /// Cutoff of the last retention delete.
    retained_to: Option<Nanos>,
    stats: WriterStats,
    commits: SyncSender<CommitInfo>,
}

impl Worker {
    fn new(
        index: Index,
        writer: IndexWriter,
        reader: IndexReader,
        config: WriterConfig,
        commits: SyncSender<CommitInfo>,
    ) -> Result<Worker, IndexError> {
        let newest = super::search::newest_timestamp(&reader.searcher());
        let mut w = Worker {
            index,
            writer,
            reader,
            config,
            id_dicts: Vec::new(),
            sources: HashMap::new(),
            pending_ids: HashSet::new(),
            pending_docs: 0,
            dirty: false,
            checkpointing: false,
            covered: true,
            due: false,
            deadline: None,
            checkpoint: None,
            newest,
            retained_to: None,
            stats: WriterStats::default(),
            commits,
        };
        w.refresh_dicts()?;
        Ok(w)
    }

    fn write_err(&self, source: tantivy::TantivyError) -> IndexError {
        IndexError::Write {
            path: self.index.path().to_path_buf(),
            source,
        }
    }

    fn run(mut self, rx: Receiver<Op>) -> Result<WriterStats, IndexError> {
        loop {
            let op = match self.deadline {
                None => match rx.recv() {
                    Ok(op) => op,
                    Err(_) => break,
                },
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(op) => op,
                        Err(RecvTimeoutError::Timeout) => {
                            self.commit_when_covered()?;
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            match op {
                Op::Events(events) => {
                    let before = self.stats.added;
                    for ev in events {
                        self.add(ev)?;
                    }
                    if self.stats.added > before {
                        self.covered = false;
                    }
                    if self.pending_docs >= self.config.commit_docs {
                        self.commit_when_covered()?;
                    }
                }
                Op::Checkpoint(blob) => {
                    self.checkpoint = Some(blob);
                    self.checkpointing = true;
                    self.covered = true;
                    self.touch();
                    if self.due {
                        self.commit()?;
                    }
                }
                Op::Commit { payload, reply } => {
                    if let Some(p) = payload {
                        self.checkpoint = Some(p);
                    }
                    let result = self.commit();
                    let failed = result.is_err();
                    // Our caller waits on `reply`; if it gave up there is nobody to tell.
                    let _ = reply.send(result);
                    if failed {
                        return Err(IndexError::WriterStopped {
                            path: self.index.path().to_path_buf(),
                            reason: "a commit failed".into(),
                        });
                    }
                }
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.commit_when_covered()?;
            }
        }
        if self.dirty {
            self.commit()?;
        }
        let Worker {
            index,
            writer,
            stats,
            ..
        } = self;
        // Leave the index merged as far as the policy wants, so the next reader opens few
        // segments.
        writer
            .wait_merging_threads()
            .map_err(|source| IndexError::Write {
                path: index.path().to_path_buf(),
                source,
            })?;
        Ok(stats)
    }

    /// A commit is due (timer or size). Once the caller hands in checkpoints, a commit must
    /// hold exactly the events its checkpoint covers: if events arrived after the latest
    /// checkpoint, wait for the next one (the caller checkpoints often) and commit right
    /// after it.
    fn commit_when_covered(&mut self) -> Result<(), IndexError> {
        if !self.checkpointing || self.covered {
            self.commit()?;
        } else {
            self.due = true;
            self.deadline = None;
        }
        Ok(())
    }

    fn touch(&mut self) {
        self.dirty = true;
        if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + self.config.commit_interval);
        }
    }

    fn add(&mut self, ev: Prepared) -> Result<(), IndexError> {
        let newest = self.newest.map_or(ev.timestamp, |n| n.max(ev.timestamp));
        self.newest = Some(newest);
        if let Some(retain) = self.config.retain
            && ev.timestamp < newest.saturating_sub(retain)
        {
            self.stats.expired += 1;
            return Ok(());
        }
        match self.config.dedup {
            Dedup::Check => {
                if self.is_duplicate(&ev.id)? {
                    self.stats.duplicates += 1;
                    return Ok(());
                }
            }
            Dedup::Replace => {
                let id_field = self.index.schema().field(Field::EventId);
                self.writer
                    .delete_term(Term::from_field_text(id_field, &ev.id));
            }
            Dedup::None => {}
        }
        self.writer
            .add_document(ev.doc)
            .map_err(|e| self.write_err(e))?;
        self.stats.added += 1;
        self.pending_docs += 1;
        self.touch();
        Ok(())
    }

    /// Whether `id` is indexed already (committed or since); if not, it is noted as added.
    fn is_duplicate(&mut self, id: &str) -> Result<bool, IndexError> {
        let Some((prefix, position)) = split_id(id) else {
            return self.probe_and_note(id);
        };
        if !self.sources.contains_key(prefix) {
            let state = if self.has_prefix(prefix)? {
                SourceState::Known
            } else {
                SourceState::New {
                    max: None,
                    recent: Vec::new(),
                }
            };
            self.sources.insert(prefix.to_string(), state);
        }
        let Some(SourceState::New { max, recent }) = self.sources.get_mut(prefix) else {
            return self.probe_and_note(id);
        };
        // The common case: a reader's next event, past everything of its source so far.
        if max.is_none_or(|m| position > m) {
            *max = Some(position);
            recent.push(position);
            return Ok(false);
        }
        if recent.binary_search(&position).is_ok() {
            return Ok(true);
        }
        // Earlier than what was added: only an earlier commit can hold it.
        if self.in_segments(id)? {
            return Ok(true);
        }
        if let Some(SourceState::New { recent, .. }) = self.sources.get_mut(prefix) {
            let at = recent.partition_point(|&p| p < position);
            recent.insert(at, position);
        }
        Ok(false)
    }

    /// Duplicate check for ids without the per-source shortcut.
    fn probe_and_note(&mut self, id: &str) -> Result<bool, IndexError> {
        if self.pending_ids.contains(id) || self.in_segments(id)? {
            return Ok(true);
        }
        self.pending_ids.insert(id.to_string());
        Ok(false)
    }

    /// Whether a committed segment holds `id`.
    fn in_segments(&self, id: &str) -> Result<bool, IndexError> {
        for dict in &self.id_dicts {
            let found = dict
                .terms()
                .get(id.as_bytes())
                .map_err(|e| self.write_err(e.into()))?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether any committed document has an id starting with `prefix-`.
    fn has_prefix(&self, prefix: &str) -> Result<bool, IndexError> {
        // '.' follows '-' in ASCII: [prefix-, prefix.) is every id of the source.
        let lo = format!("{prefix}-");
        let hi = format!("{prefix}.");
        for dict in &self.id_dicts {
            let mut stream = dict
                .terms()
                .range()
                .ge(lo.as_bytes())
                .lt(hi.as_bytes())
                .into_stream()
                .map_err(|e| self.write_err(e.into()))?;
            if stream.advance() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn refresh_dicts(&mut self) -> Result<(), IndexError> {
        if self.config.dedup != Dedup::Check {
            return Ok(());
        }
        let id_field = self.index.schema().field(Field::EventId);
        let searcher = self.reader.searcher();
        let mut dicts = Vec::with_capacity(searcher.segment_readers().len());
        for seg in searcher.segment_readers() {
            dicts.push(
                seg.inverted_index(id_field)
                    .map_err(|e| self.write_err(e))?,
            );
        }
        self.id_dicts = dicts;
        Ok(())
    }

    /// Delete documents older than the retention window, when the cutoff has moved by at
    /// least 1% of the window (or a minute): a delete query is resolved at commit against
    /// every segment, too costly to repeat every second for no change.
    fn apply_retention(&mut self) -> Result<(), IndexError> {
        let (Some(retain), Some(newest)) = (self.config.retain, self.newest) else {
            return Ok(());
        };
        let cutoff = newest.saturating_sub(retain);
        let step = (retain / 100).max(60_000_000_000);
        if self
            .retained_to
            .is_some_and(|done| cutoff < done.saturating_add(step))
        {
            return Ok(());
        }
        let ts = self.index.schema().field(Field::Timestamp);
        let query = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_date(
                ts,
                DateTime::from_timestamp_nanos(cutoff),
            )),
        );
        self.writer
            .delete_query(Box::new(query))
            .map_err(|e| self.write_err(e))?;
        self.retained_to = Some(cutoff);
        self.stats.retention_runs += 1;
        Ok(())
    }

    fn commit(&mut self) -> Result<CommitInfo, IndexError> {
        self.apply_retention()?;
        let payload = encode_payload(self.checkpoint.as_deref(), self.stats.added);
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(|e| IndexError::Write {
                path: self.index.path().to_path_buf(),
                source: e,
            })?;
        prepared.set_payload(&payload);
        let opstamp = prepared.commit().map_err(|e| self.write_err(e))?;
        self.stats.commits += 1;
        self.reader.reload().map_err(|e| self.write_err(e))?;
        self.refresh_dicts()?;
        self.pending_ids.clear();
        for state in self.sources.values_mut() {
            if let SourceState::New { recent, .. } = state {
                recent.clear();
            }
        }
        self.pending_docs = 0;
        self.dirty = false;
        self.due = false;
        self.deadline = None;
        let info = CommitInfo {
            opstamp,
            checkpoint: self.checkpoint.clone(),
            stats: self.stats,
        };
        // Notifications are best effort: a full channel means nobody is listening.
        let _ = self.commits.try_send(info.clone());
        Ok(info)
    }
}

/// `fnv-position` → (`fnv`, position), for ids built by `decode::Context::event_id`.
fn split_id(id: &str) -> Option<(&str, u64)> {
    let (prefix, pos) = id.rsplit_once('-')?;
    if prefix.is_empty() || pos.is_empty() || !pos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((prefix, pos.parse().ok()?))
}

/// The commit payload: a small JSON envelope (tantivy's payload is a string) around the
/// caller's checkpoint, base64 encoded because it is opaque bytes.
fn encode_payload(checkpoint: Option<&[u8]>, added: u64) -> String {
    serde_json::json!({
        "lateral": PAYLOAD_VERSION,
        "added": added,
        "checkpoint": checkpoint.map(|c| base64::engine::general_purpose::STANDARD.encode(c)),
    })
    .to_string()
}

pub(super) fn decode_payload(text: &str) -> Result<CommitPayload, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let version = json.get("lateral").and_then(serde_json::Value::as_u64);
    if version != Some(PAYLOAD_VERSION) {
        return Err(format!("unknown payload version {version:?}"));
    }
    let checkpoint = match json.get("checkpoint") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("checkpoint is not base64: {e}"))?,
        ),
        Some(_) => return Err("checkpoint is not a string".into()),
    };
    Ok(CommitPayload {
        checkpoint,
        added: json
            .get("added")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_source_and_position() {
        assert_eq!(split_id("00ab-123"), Some(("00ab", 123)));
        assert_eq!(split_id("a-b-7"), Some(("a-b", 7)));
        assert_eq!(split_id("abc"), None);
        assert_eq!(split_id("abc-"), None);
        assert_eq!(split_id("-5"), None);
        assert_eq!(split_id("abc-x1"), None);
    }

    #[test]
    fn payload_round_trips_any_bytes() {
        let blob = vec![0u8, 255, 10, 13, b'"'];
        let text = encode_payload(Some(&blob), 42);
        let back = decode_payload(&text).unwrap();
        assert_eq!(back.checkpoint, Some(blob));
        assert_eq!(back.added, 42);
        assert_eq!(
            decode_payload(&encode_payload(None, 0)).unwrap().checkpoint,
            None
        );
        assert!(decode_payload("{\"lateral\":9}").is_err());
        assert!(decode_payload("nope").is_err());
    }
}
