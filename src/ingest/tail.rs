//! Live tailing: follow every log file under some directories, across rotation, and hand out
//! normalized events in batches that carry the checkpoint to store once they are delivered.
//!
//! # Files and streams
//!
//! A *file* is what is open: device + inode, with a handle kept open so that a rename or a
//! delete does not lose what was not read yet. A *stream* is the content of one log, which may
//! move between files: `app.log` renamed to `app.log.1`, copied by copytruncate, compressed to
//! `app.log.1.gz`. Text streams are identified by a fingerprint of their first bytes
//! ([`StreamKey::Content`]): the first complete line(s) covering at least 256 bytes (at most
//! 1 KiB). A new file is fingerprinted once that much is there, or, for small files, once it
//! has complete lines and has waited [`TailOptions::fingerprint_wait`]; a file that is renamed
//! or deleted is fingerprinted on what it has. A file whose first bytes match a known stream is
//! that stream (a copy, a compressed copy, the same file after a restart) and is read from the
//! stream's offset, so nothing is read twice. Event ids are built from the fingerprint, not the
//! path, so a line read from `app.log` or later from `app.log.1.gz` gets the same `event.id`.
//!
//! Two different logs whose first ≥ 256 bytes (whole lines) are identical would be taken for one
//! stream; the 256-byte minimum makes that unlikely for real logs (headers are followed by
//! timestamped records), and the inode and head are re-checked as the file grows.
//!
//! Whole-file formats (EVTX) are identified by their path ([`StreamKey::Path`]): a re-exported
//! file is decoded again and only records with an id above the highest one handled are emitted.
//!
//! # Rotation
//!
//! - rename: the old file is drained to its end (its handle stays open), then its last partial
//!   line, if any, is flushed; the new file at the path is a new stream.
//! - copytruncate: the file shrinking below the read position (or its first bytes changing)
//!   ends its stream there; the copy, if it is in view, continues that stream from the offset.
//! - delete: the open handle is drained, then closed.
//! - compressed copies: a `.gz` whose decompressed first bytes match a stream continues it from
//!   the stream's offset (usually: nothing left to read), and is remembered once finished.
//!
//! # Delivery
//!
//! [`Tailer::poll_once`] does one step (rescan if due, read what is new, decode) and returns a
//! [`Batch`]: events, and when any position changed, the [`Checkpoints`] as of the end of that
//! batch. A consumer that stores that checkpoint after delivering the batch gets at-least-once
//! delivery with duplicates limited to the last batch it did not confirm; one that stores it
//! with its own commit (the index) gets exactly-once. A new stream is announced (its
//! fingerprint in the checkpoint) one batch before its first events, so event ids never depend
//! on a fingerprint that was not stored. [`spawn`] runs the tailer on a thread with `notify`
//! wake-ups, a periodic rescan and a bounded channel: a slow consumer slows the tailer.

// The tailer paces itself by the wall clock and stamps checkpoints with it; decoders never see it.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::batch::HEAD_LEN;
use super::checkpoint::{Checkpoints, FinishedFile, StreamCheckpoint, StreamKey};
use super::watch::{self, Filter, Waker, Watcher};
use crate::decode::frame::{Frame, Framer, MAX_RECORD};
use crate::decode::{self, Context, DecodeError, Decoder, Format, Framing, Sink, fnv1a};
use crate::event::{Event, Field, Nanos, Networks};

/// A fingerprint covers whole lines up to at least this many bytes...
pub const FINGERPRINT_MIN: usize = 256;
/// ...and at most this many.
pub const FINGERPRINT_MAX: usize = 1024;
/// Read size.
const CHUNK: usize = 256 * 1024;
/// Stream entries with no file for this long are dropped from the checkpoints.
const RETAIN_SECS: i64 = 7 * 24 * 3600;
/// At most this many stream entries without a file are kept.
const RETAIN_MAX: usize = 10_000;

/// How to tail.
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// Directories (or files) to watch.
    pub roots: Vec<PathBuf>,
    /// Which files under them.
    pub filter: Filter,
    /// Force a format instead of detecting one per file.
    pub format: Option<&'static Format>,
    /// Internal networks for `network.direction`.
    pub networks: Networks,
    /// Read files that have no checkpoint from their start (default: files present at the
    /// first start are read from their end).
    pub from_start: bool,
    /// Rescan the directories at least this often (fallback for missed notifications).
    pub rescan_interval: Duration,
    /// Look at open files at least this often when no notification arrives.
    pub poll_interval: Duration,
    /// How long a small file (under 256 bytes) waits for more bytes before it is fingerprinted
    /// on its complete lines.
    pub fingerprint_wait: Duration,
    /// A stream with no new data for this long is `idle`.
    pub idle_after: Duration,
    /// Bytes read per poll, over all files.
    pub poll_budget: usize,
    /// Bytes read per poll from one stream (fairness between files).
    pub stream_budget: usize,
}

impl TailOptions {
    /// Defaults for watching `roots`.
    pub fn new(roots: Vec<PathBuf>) -> TailOptions {
        TailOptions {
            roots,
            filter: Filter::default(),
            format: None,
            networks: Networks::default(),
            from_start: false,
            rescan_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(250),
            fingerprint_wait: Duration::from_millis(500),
            idle_after: Duration::from_secs(10),
            poll_budget: 8 << 20,
            stream_budget: 1 << 20,
        }
    }
}

/// Device and inode: which file is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileKey {
    fn of(m: &fs::Metadata) -> FileKey {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileKey {
                dev: m.dev(),
                ino: m.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            FileKey { dev: 0, ino: 0 }
        }
    }
}

/// What one poll produced.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events, in file order per stream.
    pub events: Vec<Event>,
    /// Positions after this batch, when any changed since the previous batch. Store it once
    /// the events are delivered.
    pub checkpoint: Option<Checkpoints>,
    /// Bytes read.
    pub bytes: u64,
}

impl Batch {
    /// Nothing to deliver and nothing to store.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.checkpoint.is_none()
    }
}

/// State of one source, as the Sources screen and `--stats` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// New data arrived recently.
    Tailing,
    /// Followed, nothing new for a while.
    Idle,
    /// Rotated away (renamed, truncated, a copy): drained, then done.
    Rotated,
    /// Deleted: the open handle is drained, then closed.
    Gone,
    /// Cannot be read (permissions, unknown format, I/O error).
    Error,
}

impl std::fmt::Display for SourceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceState::Tailing => "tailing",
            SourceState::Idle => "idle",
            SourceState::Rotated => "rotated",
            SourceState::Gone => "gone",
            SourceState::Error => "error",
        })
    }
}

/// Health of one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceHealth {
    /// The file (the one last read, for a stream that moved).
    pub path: String,
    /// Detected or forced format.
    pub format: Option<&'static str>,
    /// State.
    pub state: SourceState,
    /// Bytes read (this run).
    pub bytes_read: u64,
    /// Bytes in the file not read yet.
    pub lag: u64,
    /// Events emitted (this run).
    pub events: u64,
    /// Records that failed to decode, lines over the limit, read errors (this run).
    pub errors: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Timestamp of the last event emitted.
    pub last_event: Option<Nanos>,
}

#[derive(Debug, Default)]
struct Health {
    bytes: u64,
    events: u64,
    errors: u64,
    last_error: Option<String>,
    last_event: Option<Nanos>,
    last_data: Option<Instant>,
    failure: Option<String>,
}

impl Health {
    fn error(&mut self, e: String) {
        self.errors += 1;
        self.last_error = Some(e);
    }
}

struct GzState {
    reader: Option<flate2::read::MultiGzDecoder<ReadAt>>,
    /// Decompressed bytes consumed from `reader`.
    pos: u64,
    /// Read to its end.
    complete: bool,
}

/// One open file.
struct Tracked {
    key: FileKey,
    path: PathBuf,
    file: File,
    compressed: bool,
    stream: Option<u64>,
    /// No longer at any path in view.
    gone: bool,
    /// Seen at another path than first.
    renamed: bool,
    first_seen: Instant,
    /// Existing content is skipped (present at the first start, no `--from-start`).
    live_start: bool,
    /// For a live start: the end of the last complete line when the file was first seen
    /// (lines written while it waits to be fingerprinted are still read).
    start_at: u64,
    size: u64,
    mtime: Nanos,
    /// Size and mtime when the head was last verified.
    verified: (u64, Nanos),
    /// After truncation: the stream this file left, never to be joined again.
    not_key: Option<StreamKey>,
    gz: GzState,
    /// Why the file cannot be used now, and the (size, mtime) it was decided at.
    failure: Option<(String, (u64, Nanos))>,
}

/// One log's content, possibly spread over several files.
struct Stream {
    key: StreamKey,
    identity: String,
    format: &'static Format,
    ctx: Context,
    decoder: Box<dyn Decoder>,
    framer: Option<Framer>,
    /// Next byte to read (text).
    read_pos: u64,
    /// Highest record id handled (whole-file formats).
    watermark: u64,
    members: Vec<FileKey>,
    /// The file the writer writes (not a copy).
    primary: Option<FileKey>,
    rotated: bool,
    flushed: bool,
    /// Created this poll: announced in this batch's checkpoint, read from the next.
    fresh: bool,
    /// Whole-file live start: the first decode only sets the watermark.
    skip_existing: bool,
    /// Resumed past the start: the decoder is primed with the head first (Zeek headers).
    needs_prime: bool,
    /// (file, size, mtime) last decoded (whole-file formats).
    whole_sig: Option<(FileKey, u64, Nanos)>,
    read_this_poll: bool,
    /// Path, device and inode of the file last read.
    path: String,
    last_key: FileKey,
    health: Health,
}

/// The tailer. Drive it with [`Tailer::poll_once`] (tests, benchmarks) or [`spawn`].
pub struct Tailer {
    opts: TailOptions,
    files: BTreeMap<FileKey, Tracked>,
    streams: BTreeMap<u64, Stream>,
    next_stream: u64,
    /// Streams known from checkpoints that have no file open now.
    known: HashMap<StreamKey, StreamCheckpoint>,
    finished: HashSet<FinishedFile>,
    first_start: bool,
    scanned_once: bool,
    last_scan: Option<Instant>,
    rescan: bool,
    /// Paths that could not be walked or opened at the last scan, with why.
    problems: BTreeMap<PathBuf, String>,
    /// Directories that cannot be watched for changes.
    watch_problems: BTreeMap<PathBuf, String>,
    last_entries: Option<(Vec<StreamCheckpoint>, Vec<FinishedFile>)>,
    more: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Tailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tailer")
            .field("files", &self.files.len())
            .field("streams", &self.streams.len())
            .finish()
    }
}

enum Lineage {
    Live(u64),
    Known(StreamKey),
}

impl Tailer {
    /// A tailer resuming from `checkpoints` (`None`: first start).
    pub fn new(opts: TailOptions, checkpoints: Option<Checkpoints>) -> Tailer {
        let first_start = checkpoints.is_none();
        let cp = checkpoints.unwrap_or_default();
        Tailer {
            opts,
            files: BTreeMap::new(),
            streams: BTreeMap::new(),
            next_stream: 0,
            known: cp.streams.into_iter().map(|s| (s.key.clone(), s)).collect(),
            finished: cp.finished.into_iter().collect(),
            first_start,
            scanned_once: false,
            last_scan: None,
            rescan: true,
            problems: BTreeMap::new(),
            watch_problems: BTreeMap::new(),
            last_entries: None,
            more: false,
            buf: vec![0; CHUNK],
        }
    }

    /// The options.
    pub fn options(&self) -> &TailOptions {
        &self.opts
    }

    /// Ask for a directory rescan at the next poll.
    pub fn request_rescan(&mut self) {
        self.rescan = true;
    }

    /// Whether the last poll left work (budget exhausted, new streams to read): poll again
    /// without waiting.
    pub fn has_more(&self) -> bool {
        self.more
    }

    /// Record a problem that is not about one file's content (a directory that cannot be
    /// watched); shown in [`Tailer::health`].
    pub fn note_problem(&mut self, path: PathBuf, why: String) {
        self.watch_problems.insert(path, why);
    }

    /// The identity of the stream the content of the file now at `path` belongs to, if the
    /// tailer has it open and fingerprinted (a new file waits for enough bytes; a file
    /// rewritten since the last poll has not been fingerprinted again yet).
    pub fn stream_of(&self, path: &Path) -> Option<String> {
        let key = FileKey::of(&fs::metadata(path).ok()?);
        let t = self.files.get(&key)?;
        let s = self.streams.get(&t.stream?)?;
        head_matches(&t.file, &s.key).then(|| s.identity.clone())
    }

    /// One step: rescan if due, read what is new in every file, decode it.
    pub fn poll_once(&mut self, now: Instant) -> Batch {
        let mut batch = Batch::default();
        let due = self
            .last_scan
            .is_none_or(|t| now.saturating_duration_since(t) >= self.opts.rescan_interval);
        if self.rescan || due {
            self.scan(now);
        }
        self.refresh(now);
        self.attach_all(now);
        let mut budget = self.opts.poll_budget;
        let ids: Vec<u64> = self.streams.keys().copied().collect();
        for id in &ids {
            self.read_stream(*id, &mut budget, &mut batch, now);
        }
        let mut fresh = false;
        for id in &ids {
            fresh |= self.settle(*id, &mut batch, now);
        }
        self.more = budget == 0 || fresh;
        batch.checkpoint = self.checkpoint_if_changed();
        batch
    }

    /// Every stream's position now (what the last batch's checkpoint said, or newer).
    pub fn checkpoints(&self) -> Checkpoints {
        let (streams, finished) = self.entries();
        Checkpoints {
            version: super::checkpoint::VERSION,
            streams,
            finished,
        }
    }

    fn scan(&mut self, now: Instant) {
        self.rescan = false;
        self.last_scan = Some(now);
        let listing = watch::scan(&self.opts.roots, &self.opts.filter);
        self.problems.clear();
        for (p, why) in listing.failures {
            self.problems.insert(p, why);
        }
        let mut seen = HashSet::new();
        for path in listing.files {
            let meta = match fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => continue,
                Err(e) => {
                    self.problems.insert(path, e.to_string());
                    continue;
                }
            };
            let key = FileKey::of(&meta);
            if !seen.insert(key) {
                continue; // another name (hard link, symlink) of a file already listed
            }
            if let Some(t) = self.files.get_mut(&key) {
                if t.path != path {
                    t.renamed = true;
                    t.path = path;
                }
                t.gone = false;
                continue;
            }
            let fin = FinishedFile {
                dev: key.dev,
                ino: key.ino,
                size: meta.len(),
                mtime: mtime_nanos(&meta),
            };
            if self.finished.contains(&fin) {
                continue;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    self.problems
                        .insert(path.clone(), format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let Ok(meta) = file.metadata() else { continue };
            let key = FileKey::of(&meta);
            seen.insert(key);
            if self.files.contains_key(&key) {
                continue;
            }
            let mut magic = [0u8; 2];
            let compressed =
                pread(&file, &mut magic, 0).is_ok_and(|n| n == 2) && magic == [0x1f, 0x8b];
            let live_start = self.first_start && !self.scanned_once && !self.opts.from_start;
            let start_at = if live_start && !compressed {
                last_line_end(&file, meta.len())
            } else {
                0
            };
            self.files.insert(
                key,
                Tracked {
                    key,
                    path,
                    file,
                    compressed,
                    stream: None,
                    gone: false,
                    renamed: false,
                    first_seen: now,
                    live_start,
                    start_at,
                    size: meta.len(),
                    mtime: mtime_nanos(&meta),
                    verified: (u64::MAX, 0),
                    not_key: None,
                    gz: GzState {
                        reader: None,
                        pos: 0,
                        complete: false,
                    },
                    failure: None,
                },
            );
        }
        for t in self.files.values_mut() {
            if !seen.contains(&t.key) {
                t.gone = true;
            }
        }
        self.finished.retain(|f| {
            seen.contains(&FileKey {
                dev: f.dev,
                ino: f.ino,
            })
        });
        self.scanned_once = true;
    }

    /// Phase 1: stat every open file; a primary that shrank below the read position was
    /// truncated (copytruncate) and leaves its stream.
    fn refresh(&mut self, now: Instant) {
        let Tailer { files, streams, .. } = self;
        for t in files.values_mut() {
            let shrank;
            match t.file.metadata() {
                Ok(m) => {
                    let (size, mtime) = (m.len(), mtime_nanos(&m));
                    if t.compressed && (size, mtime) != (t.size, t.mtime) && !t.gz.complete {
                        // A .gz still being written: decompress again from the start.
                        t.gz.reader = None;
                        t.gz.pos = 0;
                    }
                    if t.failure.as_ref().is_some_and(|f| f.1 != (size, mtime)) {
                        t.failure = None; // changed since it failed: try again
                    }
                    shrank = size < t.size;
                    t.size = size;
                    t.mtime = mtime;
                }
                Err(e) => {
                    t.failure = Some((format!("{}: {e}", t.path.display()), (t.size, t.mtime)));
                    continue;
                }
            }
            let Some(sid) = t.stream else { continue };
            let Some(s) = streams.get_mut(&sid) else {
                t.stream = None;
                continue;
            };
            // A file that shrank no longer holds the stream's content (copytruncate); nor does
            // a primary below the read position (truncated while we were not looking).
            if s.format.framing != Framing::Whole
                && !t.compressed
                && (shrank || (s.primary == Some(t.key) && t.size < s.read_pos))
            {
                detach(t, s, now);
            }
        }
    }

    /// Phase 2: give every file without a stream its stream, once it can be fingerprinted.
    fn attach_all(&mut self, now: Instant) {
        let mut pending: Vec<(PathBuf, FileKey)> = self
            .files
            .values()
            .filter(|t| t.stream.is_none())
            .map(|t| (t.path.clone(), t.key))
            .collect();
        pending.sort();
        for (_, key) in pending {
            self.attach(key, now);
        }
        // A deleted file that could not be given a stream (empty, unreadable) is closed.
        self.files.retain(|_, t| !(t.gone && t.stream.is_none()));
    }

    fn attach(&mut self, key: FileKey, now: Instant) {
        let Some(t) = self.files.get_mut(&key) else {
            return;
        };
        if t.gz.complete {
            return;
        }
        if let Some((_, sig)) = &t.failure
            && *sig == (t.size, t.mtime)
        {
            return; // nothing changed since it failed
        }
        t.failure = None;
        let name = t
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (head, head_err) = if t.compressed {
            match gz_head(&t.file) {
                Ok(h) => h,
                Err(e) => {
                    t.failure = Some((format!("{}: {e}", t.path.display()), (t.size, t.mtime)));
                    return;
                }
            }
        } else {
            if t.size == 0 {
                return;
            }
            let mut head = vec![0u8; HEAD_LEN.min(usize::try_from(t.size).unwrap_or(HEAD_LEN))];
            match read_full_at(&t.file, &mut head, 0) {
                Ok(n) => head.truncate(n),
                Err(e) => {
                    t.failure = Some((format!("{}: {e}", t.path.display()), (t.size, t.mtime)));
                    return;
                }
            }
            (head, None)
        };
        if head.is_empty() {
            if let Some(e) = head_err {
                t.failure = Some((e, (t.size, t.mtime)));
            }
            return;
        }
        let detect_name = if t.compressed {
            name.strip_suffix(".gz")
                .or_else(|| name.strip_suffix(".GZ"))
                .unwrap_or(&name)
                .to_string()
        } else {
            name
        };
        let Some(format) = self
            .opts
            .format
            .or_else(|| decode::detect(&detect_name, &head))
        else {
            if head.len() < HEAD_LEN && !t.gone && !t.compressed {
                // Maybe too little to tell yet: retried when the file grows.
                t.failure = Some((
                    format!(
                        "{}: unknown log format so far (first bytes: \"{}\")",
                        t.path.display(),
                        escape_head(&head)
                    ),
                    (t.size, t.mtime),
                ));
            } else {
                t.failure = Some((
                    format!(
                        "{}: unknown log format (first bytes: \"{}\"); pass --format to choose one",
                        t.path.display(),
                        escape_head(&head)
                    ),
                    (t.size, t.mtime),
                ));
            }
            return;
        };
        if format.framing == Framing::Whole {
            if t.compressed {
                t.failure = Some((
                    format!(
                        "{}: compressed {} files are not tailed; use `lateral events`",
                        t.path.display(),
                        format.name
                    ),
                    (t.size, t.mtime),
                ));
                return;
            }
            let canonical = fs::canonicalize(&t.path).unwrap_or_else(|_| t.path.clone());
            let skey = StreamKey::Path {
                path: canonical.display().to_string(),
            };
            let live = self
                .streams
                .iter()
                .find(|(_, s)| s.key == skey)
                .map(|(id, _)| *id);
            match live {
                Some(id) => self.join(id, key, true),
                None => {
                    let skip = t.live_start && !self.known.contains_key(&skey);
                    self.create(skey, format, key, skip, now);
                }
            }
            return;
        }
        if t.compressed && head_err.is_some() {
            // Compressed copy still being written (or corrupt): wait for it to change.
            t.failure = Some((head_err.unwrap_or_default(), (t.size, t.mtime)));
            return;
        }
        let not_key = t.not_key.clone();
        match self.find_lineage(&head, not_key.as_ref()) {
            Some(Lineage::Live(id)) => {
                self.join(id, key, false);
                return;
            }
            Some(Lineage::Known(skey)) => {
                self.create(skey, format, key, false, now);
                return;
            }
            None => {}
        }
        let Some(t) = self.files.get(&key) else {
            return;
        };
        let waited = now.saturating_duration_since(t.first_seen) >= self.opts.fingerprint_wait;
        let ended = t.gone || t.renamed || t.compressed;
        let Some(len) = fingerprint_len(&head, waited, ended) else {
            return; // wait for more bytes
        };
        let skey = StreamKey::Content {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            hash: fnv1a(&head[..len]),
        };
        // Same first bytes as the stream this file was truncated out of: the content was
        // rewritten identically; it replaces that stream.
        self.known.remove(&skey);
        self.streams
            .retain(|_, s| s.key != skey || !s.members.is_empty());
        if t.compressed && t.live_start {
            // Present at the first start: already "read".
            let fin = FinishedFile {
                dev: key.dev,
                ino: key.ino,
                size: t.size,
                mtime: t.mtime,
            };
            self.finished.insert(fin);
            self.files.remove(&key);
            return;
        }
        let live_start = t.live_start;
        self.create(skey, format, key, live_start, now);
    }

    fn find_lineage(&self, head: &[u8], not_key: Option<&StreamKey>) -> Option<Lineage> {
        let matches = |k: &StreamKey| match k {
            StreamKey::Content { len, hash } => {
                let len = *len as usize;
                Some(k) != not_key
                    && len <= head.len()
                    && fnv1a(&head[..len]) == *hash
                    // A short fingerprint of a partial line (a tiny file rotated away) only
                    // matches the same bytes whole, not every file that starts with them.
                    && (len >= FINGERPRINT_MIN || head[len - 1] == b'\n' || head.len() == len)
            }
            StreamKey::Path { .. } => false,
        };
        if let Some((id, _)) = self.streams.iter().find(|(_, s)| matches(&s.key)) {
            return Some(Lineage::Live(*id));
        }
        self.known
            .values()
            .filter(|e| matches(&e.key))
            .max_by_key(|e| e.offset)
            .map(|e| Lineage::Known(e.key.clone()))
    }

    /// Add a file to a live stream (a copy, a compressed copy, a re-exported whole file).
    fn join(&mut self, id: u64, key: FileKey, becomes_primary: bool) {
        let (Some(s), Some(t)) = (self.streams.get_mut(&id), self.files.get_mut(&key)) else {
            return;
        };
        t.stream = Some(id);
        if !s.members.contains(&key) {
            s.members.push(key);
        }
        if becomes_primary {
            s.primary = Some(key);
            s.rotated = false;
        }
    }

    /// Start a stream for `key`'s file: from its checkpoint when the stream is known, else
    /// new (from the start, or from the end of the last complete line for a live start).
    fn create(
        &mut self,
        skey: StreamKey,
        format: &'static Format,
        key: FileKey,
        live_start: bool,
        now: Instant,
    ) {
        let Some(t) = self.files.get_mut(&key) else {
            return;
        };
        let known = self.known.remove(&skey);
        let whole = format.framing == Framing::Whole;
        let (offset, rotated, fresh) = match &known {
            Some(e) => (
                e.offset,
                e.rotated || t.compressed || (!whole && Path::new(&e.path) != t.path) || t.gone,
                false,
            ),
            None if live_start && !whole => {
                // Shrank since first seen: its content was replaced, read it all.
                let at = if t.start_at <= t.size { t.start_at } else { 0 };
                (at, false, true)
            }
            None => (0, t.compressed || t.gone || t.renamed, true),
        };
        let identity = skey.identity();
        let path = t.path.display().to_string();
        let ctx = Context::new(
            identity.clone(),
            path.clone(),
            self.opts.networks.clone(),
            t.mtime,
        );
        let id = self.next_stream;
        self.next_stream += 1;
        t.stream = Some(id);
        let (framer, read_pos, watermark) = if whole {
            (None, 0, offset)
        } else {
            (
                Some(Framer::new(format.framing, MAX_RECORD).starting_at(offset)),
                offset,
                0,
            )
        };
        self.streams.insert(
            id,
            Stream {
                key: skey,
                identity,
                format,
                ctx,
                decoder: (format.decoder)(),
                framer,
                read_pos,
                watermark,
                members: vec![key],
                primary: (!t.compressed).then_some(key),
                rotated,
                flushed: false,
                fresh,
                skip_existing: whole && live_start,
                needs_prime: !whole && offset > 0,
                whole_sig: None,
                read_this_poll: false,
                path,
                last_key: key,
                health: Health {
                    last_data: Some(now),
                    ..Health::default()
                },
            },
        );
    }

    /// Phase 3: read what is new for one stream.
    fn read_stream(&mut self, id: u64, budget: &mut usize, batch: &mut Batch, now: Instant) {
        let Tailer {
            files,
            streams,
            buf,
            opts,
            finished,
            ..
        } = self;
        let Some(s) = streams.get_mut(&id) else {
            return;
        };
        s.read_this_poll = false;
        if s.fresh || *budget == 0 {
            return;
        }
        if s.format.framing == Framing::Whole {
            read_whole(s, files, opts, batch, now);
            return;
        }
        let mut sink = Sink::default();
        let limit = opts.stream_budget.min(*budget);
        let mut taken = 0usize;
        loop {
            // The largest plain member with bytes past the read position supplies them: all
            // members hold the same content up to their size.
            let reader = s
                .members
                .iter()
                .filter_map(|k| files.get(k))
                .filter(|t| !t.compressed && t.failure.is_none() && t.size > s.read_pos)
                .max_by_key(|t| (t.size, Some(t.key) == s.primary))
                .map(|t| t.key);
            if let Some(k) = reader {
                let Some(t) = files.get_mut(&k) else { break };
                if t.verified != (t.size, t.mtime) {
                    if !head_matches(&t.file, &s.key) {
                        detach(t, s, now);
                        continue;
                    }
                    t.verified = (t.size, t.mtime);
                }
                set_reader(s, t, opts);
                if s.needs_prime {
                    s.needs_prime = false;
                    let n = usize::try_from(s.read_pos)
                        .unwrap_or(HEAD_LEN)
                        .min(HEAD_LEN);
                    let mut head = vec![0u8; n];
                    if let Ok(n) = read_full_at(&t.file, &mut head, 0) {
                        head.truncate(n);
                        prime(s, &head);
                    }
                }
                while taken < limit {
                    let want = CHUNK.min(limit - taken);
                    match pread(&t.file, &mut buf[..want], s.read_pos) {
                        Ok(0) => break,
                        Ok(n) => {
                            feed(s, &buf[..n], &mut sink);
                            s.read_pos += n as u64;
                            taken += n;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let msg = format!("{}: {e}", t.path.display());
                            s.health.error(msg.clone());
                            t.failure = Some((msg, (t.size, t.mtime)));
                            break;
                        }
                    }
                }
                break;
            }
            // No plain file has more: a compressed copy may (a rotated file compressed before
            // it was drained).
            let gz = s
                .members
                .iter()
                .filter_map(|k| files.get(k))
                .find(|t| t.compressed && !t.gz.complete && t.failure.is_none())
                .map(|t| t.key);
            if let Some(k) = gz
                && let Some(t) = files.get_mut(&k)
            {
                set_reader(s, t, opts);
                taken += read_gz(s, t, buf, limit - taken, &mut sink, finished);
            }
            break;
        }
        *budget -= taken.min(*budget);
        if taken > 0 {
            s.read_this_poll = true;
            s.flushed = false;
            s.health.bytes += taken as u64;
            s.health.last_data = Some(now);
            batch.bytes += taken as u64;
        }
        collect(s, &mut sink, batch);
    }

    /// Phase 4: flush rotated streams that stopped growing, close drained files, retire
    /// streams without files. Returns whether the stream was fresh (poll again soon).
    fn settle(&mut self, id: u64, batch: &mut Batch, now: Instant) -> bool {
        let Tailer {
            files,
            streams,
            known,
            finished,
            ..
        } = self;
        let Some(s) = streams.get_mut(&id) else {
            return false;
        };
        let was_fresh = std::mem::replace(&mut s.fresh, false);
        match s.primary.and_then(|p| files.get(&p)) {
            Some(p) if p.gone || p.renamed => s.rotated = true,
            None if s.format.framing != Framing::Whole => s.rotated = true,
            _ => {}
        }
        let whole = s.format.framing == Framing::Whole;
        let can_grow = s.members.iter().filter_map(|k| files.get(k)).any(|t| {
            t.failure.is_none()
                && if t.compressed {
                    !t.gz.complete
                } else {
                    t.size > s.read_pos
                }
        });
        if !was_fresh && s.rotated && !whole && !s.read_this_poll && !can_grow {
            if !s.flushed {
                s.flushed = true;
                let mut sink = Sink::default();
                let Stream {
                    framer,
                    decoder,
                    ctx,
                    ..
                } = s;
                if let Some(f) = framer {
                    f.finish(&mut |frame| feed_frame(frame, decoder.as_mut(), ctx, &mut sink));
                    s.read_pos = f.committed_offset();
                }
                s.decoder.finish(&s.ctx, &mut sink);
                collect(s, &mut sink, batch);
            }
            // Done with deleted files and finished compressed copies.
            s.members.retain(|k| {
                let Some(t) = files.get(k) else { return false };
                let done = t.gone || (t.compressed && t.gz.complete);
                if done {
                    if t.compressed && t.gz.complete && !t.gone {
                        finished.insert(FinishedFile {
                            dev: k.dev,
                            ino: k.ino,
                            size: t.size,
                            mtime: t.mtime,
                        });
                    }
                    files.remove(k);
                }
                !done
            });
        }
        if whole {
            s.members.retain(|k| match files.get(k) {
                Some(t) if t.gone => {
                    files.remove(k);
                    false
                }
                Some(_) => true,
                None => false,
            });
        }
        if s.members.is_empty() {
            let entry = stream_entry(s, now_unix());
            known.insert(entry.key.clone(), entry);
            streams.remove(&id);
        }
        let _ = now;
        was_fresh
    }

    fn entries(&self) -> (Vec<StreamCheckpoint>, Vec<FinishedFile>) {
        let now = now_unix();
        let mut streams: Vec<StreamCheckpoint> = self
            .streams
            .values()
            .map(|s| stream_entry(s, now))
            .collect();
        let mut old: Vec<&StreamCheckpoint> = self
            .known
            .values()
            .filter(|e| now - e.seen < RETAIN_SECS)
            .collect();
        old.sort_by_key(|e| std::cmp::Reverse(e.seen));
        streams.extend(old.into_iter().take(RETAIN_MAX).cloned());
        streams.sort_by(|a, b| a.key.cmp(&b.key));
        streams.dedup_by(|a, b| a.key == b.key);
        let mut finished: Vec<FinishedFile> = self.finished.iter().cloned().collect();
        finished.sort_by_key(|f| (f.dev, f.ino, f.size, f.mtime));
        (streams, finished)
    }

    fn checkpoint_if_changed(&mut self) -> Option<Checkpoints> {
        let (streams, finished) = self.entries();
        let same = self.last_entries.as_ref().is_some_and(|(s, f)| {
            *f == finished
                && s.len() == streams.len()
                && s.iter().zip(&streams).all(|(a, b)| {
                    (&a.key, a.offset, a.dev, a.ino, &a.path, a.rotated)
                        == (&b.key, b.offset, b.dev, b.ino, &b.path, b.rotated)
                })
        });
        if same {
            return None;
        }
        self.last_entries = Some((streams.clone(), finished.clone()));
        Some(Checkpoints {
            version: super::checkpoint::VERSION,
            streams,
            finished,
        })
    }

    /// Health of every source: streams, files waiting to be recognised, paths in error.
    pub fn health(&self, now: Instant) -> Vec<SourceHealth> {
        let mut out = Vec::new();
        for s in self.streams.values() {
            let members: Vec<&Tracked> =
                s.members.iter().filter_map(|k| self.files.get(k)).collect();
            let failure = members
                .iter()
                .find_map(|t| t.failure.as_ref().map(|f| f.0.clone()))
                .or_else(|| s.health.failure.clone());
            let state = if failure.is_some() {
                SourceState::Error
            } else if !members.is_empty() && members.iter().all(|t| t.gone) {
                SourceState::Gone
            } else if s.rotated {
                SourceState::Rotated
            } else if s
                .health
                .last_data
                .is_some_and(|t| now.saturating_duration_since(t) < self.opts.idle_after)
            {
                SourceState::Tailing
            } else {
                SourceState::Idle
            };
            let lag = if s.format.framing == Framing::Whole {
                0
            } else {
                members
                    .iter()
                    .filter(|t| !t.compressed)
                    .map(|t| t.size.saturating_sub(s.read_pos))
                    .max()
                    .unwrap_or(0)
            };
            out.push(SourceHealth {
                path: s.path.clone(),
                format: Some(s.format.name),
                state,
                bytes_read: s.health.bytes,
                lag,
                events: s.health.events,
                errors: s.health.errors,
                last_error: failure.or_else(|| s.health.last_error.clone()),
                last_event: s.health.last_event,
            });
        }
        for t in self.files.values().filter(|t| t.stream.is_none()) {
            if t.gz.complete {
                continue;
            }
            out.push(SourceHealth {
                path: t.path.display().to_string(),
                format: None,
                state: if t.failure.is_some() {
                    SourceState::Error
                } else {
                    SourceState::Idle
                },
                bytes_read: 0,
                lag: t.size,
                events: 0,
                errors: 0,
                last_error: t.failure.as_ref().map(|f| f.0.clone()),
                last_event: None,
            });
        }
        for (p, why) in self.problems.iter().chain(&self.watch_problems) {
            out.push(SourceHealth {
                path: p.display().to_string(),
                format: None,
                state: SourceState::Error,
                bytes_read: 0,
                lag: 0,
                events: 0,
                errors: 1,
                last_error: Some(why.clone()),
                last_event: None,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }
}

fn stream_entry(s: &Stream, seen: i64) -> StreamCheckpoint {
    StreamCheckpoint {
        key: s.key.clone(),
        offset: match &s.framer {
            Some(f) => f.committed_offset(),
            None => s.watermark,
        },
        dev: s.last_key.dev,
        ino: s.last_key.ino,
        path: s.path.clone(),
        rotated: s.rotated,
        seen,
    }
}

/// A file leaves its stream (truncated, or its first bytes changed): it will be
/// fingerprinted again as a new stream.
fn detach(t: &mut Tracked, s: &mut Stream, now: Instant) {
    t.stream = None;
    t.not_key = Some(s.key.clone());
    t.live_start = false;
    t.first_seen = now;
    t.verified = (u64::MAX, 0);
    s.members.retain(|k| *k != t.key);
    if s.primary == Some(t.key) {
        s.primary = None;
        s.rotated = true;
    }
}

/// Point the stream's context at the file being read (its path goes into `log.file.path`).
fn set_reader(s: &mut Stream, t: &Tracked, opts: &TailOptions) {
    let path = t.path.display().to_string();
    if s.path != path || s.ctx.path != path {
        s.ctx = Context::new(
            s.identity.clone(),
            path.clone(),
            opts.networks.clone(),
            t.mtime,
        );
        s.path = path;
    }
    s.last_key = t.key;
}

fn read_whole(
    s: &mut Stream,
    files: &mut BTreeMap<FileKey, Tracked>,
    opts: &TailOptions,
    batch: &mut Batch,
    now: Instant,
) {
    let Some(t) = s
        .members
        .iter()
        .rev()
        .filter_map(|k| files.get(k))
        .find(|t| !t.gone && t.failure.is_none())
    else {
        return;
    };
    let sig = (t.key, t.size, t.mtime);
    if s.whole_sig == Some(sig) || t.size == 0 {
        return;
    }
    let mut all = vec![0u8; usize::try_from(t.size).unwrap_or(0)];
    let n = match read_full_at(&t.file, &mut all, 0) {
        Ok(n) => n,
        Err(e) => {
            s.health.error(format!("{}: {e}", t.path.display()));
            s.whole_sig = Some(sig);
            return;
        }
    };
    all.truncate(n);
    set_reader(s, t, opts);
    s.whole_sig = Some(sig);
    let mut decoder = (s.format.decoder)();
    let mut sink = Sink::default();
    decoder.decode(&all, 0, &s.ctx, &mut sink);
    decoder.finish(&s.ctx, &mut sink);
    let pos = |e: &Event| e.int(Field::LogOffset).and_then(|p| u64::try_from(p).ok());
    let max = sink.events.iter().filter_map(pos).max().unwrap_or(0);
    s.health.bytes += n as u64;
    if s.skip_existing {
        s.skip_existing = false;
        s.watermark = s.watermark.max(max);
        return;
    }
    if max < s.watermark {
        // Record ids went back: the log was cleared and started again.
        s.watermark = 0;
    }
    let from = s.watermark;
    sink.events.retain(|e| pos(e).is_some_and(|p| p > from));
    sink.events.sort_by_key(|e| pos(e).unwrap_or(0));
    sink.errors.retain(|e| e.offset() > from);
    s.watermark = s.watermark.max(max);
    if !sink.events.is_empty() {
        s.read_this_poll = true;
        s.health.last_data = Some(now);
    }
    batch.bytes += n as u64;
    collect(s, &mut sink, batch);
}

/// Read from a compressed copy: decompress from the start, skip what the stream already has,
/// feed the rest. Returns decompressed bytes fed.
fn read_gz(
    s: &mut Stream,
    t: &mut Tracked,
    buf: &mut [u8],
    limit: usize,
    sink: &mut Sink,
    finished: &mut HashSet<FinishedFile>,
) -> usize {
    if t.gz.reader.is_none() {
        match t.file.try_clone() {
            Ok(f) => {
                t.gz.reader = Some(flate2::read::MultiGzDecoder::new(ReadAt {
                    file: f,
                    pos: 0,
                }));
                t.gz.pos = 0;
            }
            Err(e) => {
                t.failure = Some((format!("{}: {e}", t.path.display()), (t.size, t.mtime)));
                return 0;
            }
        }
    }
    let Some(reader) = t.gz.reader.as_mut() else {
        return 0;
    };
    let mut fed = 0usize;
    let mut prime_buf = Vec::new();
    // Skipping costs decompression only; allow more of it per poll than reading.
    let mut skip_budget = 64usize << 20;
    while fed < limit {
        let n = match reader.read(buf) {
            Ok(0) => {
                t.gz.complete = true;
                t.gz.reader = None;
                finished.insert(FinishedFile {
                    dev: t.key.dev,
                    ino: t.key.ino,
                    size: t.size,
                    mtime: t.mtime,
                });
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let msg = format!(
                    "{}: compressed data is corrupt or truncated after {} bytes: {e}",
                    t.path.display(),
                    t.gz.pos
                );
                s.health.error(msg.clone());
                t.failure = Some((msg, (t.size, t.mtime)));
                t.gz.reader = None;
                break;
            }
        };
        let start = t.gz.pos;
        let end = start + n as u64;
        t.gz.pos = end;
        if end <= s.read_pos {
            if s.needs_prime && prime_buf.len() < HEAD_LEN {
                let take = n.min(HEAD_LEN - prime_buf.len());
                prime_buf.extend_from_slice(&buf[..take]);
            }
            skip_budget = skip_budget.saturating_sub(n);
            if skip_budget == 0 {
                break;
            }
            continue;
        }
        let from = usize::try_from(s.read_pos.saturating_sub(start)).unwrap_or(0);
        if s.needs_prime {
            s.needs_prime = false;
            if prime_buf.len() < HEAD_LEN {
                let take = from.min(HEAD_LEN - prime_buf.len());
                prime_buf.extend_from_slice(&buf[..take]);
            }
            prime(s, &prime_buf);
        }
        feed(s, &buf[from..n], sink);
        s.read_pos = end;
        fed += n - from;
    }
    fed
}

/// Feed bytes at the start of the stream to the decoder and throw the events away, so a
/// decoder resumed mid-file has its per-file state (Zeek `#fields` headers).
fn prime(s: &mut Stream, head: &[u8]) {
    let mut framer = Framer::new(s.format.framing, MAX_RECORD);
    let mut sink = Sink::default();
    let limit = s.read_pos;
    let Stream { decoder, ctx, .. } = s;
    framer.push(head, &mut |frame| {
        if let Frame::Record { offset, bytes } = frame
            && offset + (bytes.len() as u64) < limit
        {
            decoder.decode(bytes, offset, ctx, &mut sink);
        }
    });
}

fn feed(s: &mut Stream, chunk: &[u8], sink: &mut Sink) {
    let Stream {
        framer,
        decoder,
        ctx,
        ..
    } = s;
    if let Some(f) = framer {
        f.push(chunk, &mut |frame| {
            feed_frame(frame, decoder.as_mut(), ctx, sink)
        });
    }
}

fn feed_frame(frame: Frame<'_>, decoder: &mut dyn Decoder, ctx: &Context, sink: &mut Sink) {
    match frame {
        Frame::Record { offset, bytes } => decoder.decode(bytes, offset, ctx, sink),
        Frame::TooLong { offset, len } => sink.errors.push(DecodeError::LineTooLong {
            offset,
            len,
            limit: MAX_RECORD,
        }),
    }
}

fn collect(s: &mut Stream, sink: &mut Sink, batch: &mut Batch) {
    for e in sink.errors.drain(..) {
        s.health.error(e.to_string());
    }
    if sink.lossy > 0 {
        s.health.errors += std::mem::take(&mut sink.lossy);
        s.health.last_error = Some(format!("{}: invalid UTF-8 decoded lossily", s.path));
    }
    if let Some(last) = sink.events.last() {
        s.health.last_event = Some(last.timestamp);
    }
    s.health.events += sink.events.len() as u64;
    batch.events.append(&mut sink.events);
}

/// How many leading bytes to fingerprint: whole lines covering at least
/// [`FINGERPRINT_MIN`] bytes (at most [`FINGERPRINT_MAX`]). With `waited` (a small file that
/// waited), the complete lines there are; with `ended` (a file rotated away, which will not
/// grow), the bytes there are. A partial first line alone is never fingerprinted while the
/// file may still grow: a few bytes would match too many other files.
fn fingerprint_len(head: &[u8], waited: bool, ended: bool) -> Option<usize> {
    let window = &head[..head.len().min(FINGERPRINT_MAX)];
    if window.len() >= FINGERPRINT_MIN
        && let Some(p) = memchr::memchr(b'\n', &window[FINGERPRINT_MIN - 1..])
    {
        return Some(FINGERPRINT_MIN + p);
    }
    if window.len() >= FINGERPRINT_MAX {
        return Some(FINGERPRINT_MAX);
    }
    if (waited || ended)
        && let Some(p) = memchr::memrchr(b'\n', window)
    {
        return Some(p + 1);
    }
    (ended && !window.is_empty()).then_some(window.len())
}

fn head_matches(file: &File, key: &StreamKey) -> bool {
    match key {
        StreamKey::Content { len, hash } => {
            let mut head = vec![0u8; *len as usize];
            matches!(read_full_at(file, &mut head, 0), Ok(n) if n == head.len())
                && fnv1a(&head) == *hash
        }
        StreamKey::Path { .. } => true,
    }
}

/// Offset just after the last `\n` (looking back at most 1 MiB), where a live start begins so
/// that a line being written is read whole.
fn last_line_end(file: &File, size: u64) -> u64 {
    let mut end = size;
    let floor = size.saturating_sub(MAX_RECORD as u64);
    let mut buf = vec![0u8; 64 * 1024];
    while end > floor {
        let start = end.saturating_sub(buf.len() as u64).max(floor);
        let n = usize::try_from(end - start).unwrap_or(0);
        match read_full_at(file, &mut buf[..n], start) {
            Ok(got) if got == n => {}
            _ => return size,
        }
        if let Some(p) = memchr::memrchr(b'\n', &buf[..n]) {
            return start + p as u64 + 1;
        }
        end = start;
    }
    size
}

/// Decompressed first bytes of a gzip file, and the error that cut them short, if any.
fn gz_head(file: &File) -> io::Result<(Vec<u8>, Option<String>)> {
    let f = file.try_clone()?;
    let mut dec = flate2::read::MultiGzDecoder::new(ReadAt { file: f, pos: 0 });
    let mut head = vec![0u8; HEAD_LEN];
    let mut n = 0;
    let mut err = None;
    while n < head.len() {
        match dec.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                err = Some(format!("compressed data is incomplete or corrupt: {e}"));
                break;
            }
        }
    }
    head.truncate(n);
    Ok((head, err))
}

/// A `Read` over a file at an explicit position (shares no seek offset with other handles).
struct ReadAt {
    file: File,
    pos: u64,
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = pread(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn pread(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, pos)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, pos)
    }
}

fn read_full_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match pread(file, &mut buf[n..], pos + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn mtime_nanos(m: &fs::Metadata) -> Nanos {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn escape_head(head: &[u8]) -> String {
    head[..head.len().min(24)].escape_ascii().to_string()
}

/// What the tailer thread sends.
#[derive(Debug)]
pub enum TailMsg {
    /// Events and the checkpoint to store once they are delivered.
    Batch(Batch),
    /// Health of every source (every [`RunOptions::health_every`]).
    Health(Vec<SourceHealth>),
}

/// How [`spawn`] runs the tailer.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Batches in flight between the tailer and the consumer (backpressure beyond that).
    pub capacity: usize,
    /// Send [`TailMsg::Health`] this often (`None`: never).
    pub health_every: Option<Duration>,
    /// Watch with `notify` (the periodic rescan and polling work without it).
    pub notify: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            capacity: 2,
            health_every: None,
            notify: true,
        }
    }
}

/// Stops a running tailer (cloneable; usable from a signal thread).
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Ask the tailer to stop after the batch in hand; its channel then closes.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Whether a stop was asked for.
    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// A tailer running on its own thread.
#[derive(Debug)]
pub struct Running {
    /// Batches and health, in order. Closed when the tailer stops.
    pub messages: Receiver<TailMsg>,
    stopper: Stopper,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// A handle that stops the tailer.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Stop and wait for the thread.
    pub fn join(mut self) {
        self.stopper.stop();
        // Unblock a tailer waiting for room in the channel.
        while self.messages.try_recv().is_ok() {}
        let (_tx, rx) = mpsc::sync_channel(0);
        let old = std::mem::replace(&mut self.messages, rx);
        drop(old);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Run `tailer` on a thread: poll when `notify` reports a change, at least every
/// `poll_interval`, and rescan every `rescan_interval`. Batches go through a bounded channel,
/// so a slow consumer slows the tailer and nothing is dropped.
pub fn spawn(mut tailer: Tailer, run: RunOptions) -> io::Result<Running> {
    let (tx, rx): (SyncSender<TailMsg>, Receiver<TailMsg>) =
        mpsc::sync_channel(run.capacity.max(1));
    let waker = Arc::new(Waker::default());
    let stopper = Stopper {
        flag: Arc::new(AtomicBool::new(false)),
        waker: waker.clone(),
    };
    let stop = stopper.clone();
    let thread = std::thread::Builder::new()
        .name("lateral-tail".into())
        .spawn(move || {
            let _watcher = if run.notify {
                let (w, failures) = Watcher::new(&tailer.options().roots.clone(), waker.clone());
                for (p, why) in failures {
                    tailer.note_problem(p, why);
                }
                Some(w)
            } else {
                None
            };
            let mut next_health = run.health_every.map(|d| Instant::now() + d);
            let poll_interval = tailer.options().poll_interval;
            while !stop.stopped() {
                if waker.take_rescan() {
                    tailer.request_rescan();
                }
                let batch = tailer.poll_once(Instant::now());
                if !batch.is_empty() && tx.send(TailMsg::Batch(batch)).is_err() {
                    return;
                }
                let now = Instant::now();
                if let (Some(at), Some(every)) = (next_health, run.health_every)
                    && now >= at
                {
                    next_health = Some(now + every);
                    if tx.send(TailMsg::Health(tailer.health(now))).is_err() {
                        return;
                    }
                }
                if !tailer.has_more() && !stop.stopped() {
                    waker.wait(poll_interval);
                }
            }
        })?;
    Ok(Running {
        messages: rx,
        stopper,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Each line is an event whose message is the line.
    struct Lines;
    impl Decoder for Lines {
        fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
            let text = decode::text(record, out).into_owned();
            if text.starts_with("BAD") {
                out.errors.push(DecodeError::malformed(offset, "bad line"));
                return;
            }
            let mut ev = Event::new(0);
            ev.set(Field::Message, text.as_str());
            ctx.stamp(&mut ev, offset);
            out.events.push(ev);
        }
    }
    static LINES: Format = Format {
        name: "test-lines",
        description: "test",
        framing: Framing::Lines,
        detect: |_, _| 100,
        decoder: || Box::new(Lines),
    };

    /// A whole-file format: each line `id text` is a record with that id.
    struct Whole;
    impl Decoder for Whole {
        fn decode(&mut self, record: &[u8], _offset: u64, ctx: &Context, out: &mut Sink) {
            for line in String::from_utf8_lossy(record).lines() {
                let Some((id, text)) = line.split_once(' ') else {
                    continue;
                };
                let Ok(id) = id.parse::<u64>() else { continue };
                let mut ev = Event::new(0);
                ev.set(Field::Message, text);
                ctx.stamp(&mut ev, id);
                out.events.push(ev);
            }
        }
    }
    static WHOLE: Format = Format {
        name: "test-whole",
        description: "test",
        framing: Framing::Whole,
        detect: |_, _| 100,
        decoder: || Box::new(Whole),
    };

    struct Harness {
        dir: tempfile::TempDir,
        tailer: Tailer,
        now: Instant,
        out: Vec<Event>,
        checkpoint: Option<Checkpoints>,
    }

    impl Harness {
        fn new(format: &'static Format, from_start: bool) -> Harness {
            let dir = tempfile::tempdir().unwrap();
            let tailer = Tailer::new(Self::opts(dir.path(), format, from_start), None);
            Harness {
                dir,
                tailer,
                now: Instant::now(),
                out: Vec::new(),
                checkpoint: None,
            }
        }
        fn opts(dir: &Path, format: &'static Format, from_start: bool) -> TailOptions {
            let mut o = TailOptions::new(vec![dir.to_path_buf()]);
            o.format = Some(format);
            o.from_start = from_start;
            o.rescan_interval = Duration::ZERO;
            o
        }
        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }
        fn append(&self, name: &str, text: &str) {
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(name))
                .unwrap();
            f.write_all(text.as_bytes()).unwrap();
        }
        /// Poll until nothing changes twice in a row (time moves 1 s per poll).
        fn settle(&mut self) -> Vec<String> {
            let start = self.out.len();
            let mut quiet = 0;
            for _ in 0..200 {
                self.now += Duration::from_secs(1);
                let b = self.tailer.poll_once(self.now);
                if b.is_empty() && !self.tailer.has_more() {
                    quiet += 1;
                    if quiet == 2 {
                        return self.out[start..]
                            .iter()
                            .map(|e| e.str(Field::Message).unwrap().to_string())
                            .collect();
                    }
                } else {
                    quiet = 0;
                }
                self.out.extend(b.events);
                if let Some(c) = b.checkpoint {
                    self.checkpoint = Some(c);
                }
            }
            panic!("tailer did not settle within 200 polls");
        }
        fn restart(&mut self, format: &'static Format) {
            self.tailer = Tailer::new(
                Self::opts(self.dir.path(), format, false),
                Some(self.checkpoint.clone().unwrap_or_default()),
            );
        }
    }

    fn lines(prefix: &str, n: usize) -> String {
        (0..n)
            .map(|i| format!("{prefix}-{i:04} padding padding padding\n"))
            .collect()
    }

    #[test]
    fn fingerprint_lengths() {
        let long: Vec<u8> = lines("x", 20).into_bytes();
        let n = fingerprint_len(&long, false, false).unwrap();
        assert!(n >= FINGERPRINT_MIN && long[n - 1] == b'\n');
        assert_eq!(fingerprint_len(b"short\n", false, false), None);
        assert_eq!(fingerprint_len(b"short\npart", true, false), Some(6));
        assert_eq!(fingerprint_len(b"part", true, false), None);
        assert_eq!(fingerprint_len(b"part", true, true), Some(4));
        assert_eq!(
            fingerprint_len(&[b'x'; 5000], false, false),
            Some(FINGERPRINT_MAX)
        );
    }

    #[test]
    fn live_start_skips_existing_content_then_follows() {
        let mut h = Harness::new(&LINES, false);
        h.append("a.log", &lines("old", 20));
        h.append("a.log", "partial-");
        assert!(h.settle().is_empty());
        h.append("a.log", "done\n");
        h.append("a.log", "new-1\n");
        assert_eq!(h.settle(), vec!["partial-done", "new-1"]);
        // A file created after the start is read from its beginning.
        h.append("b.log", "b-1\nb-2\n");
        assert_eq!(h.settle(), vec!["b-1", "b-2"]);
    }

    #[test]
    fn live_start_of_a_small_file_keeps_lines_written_while_it_waits() {
        let mut h = Harness::new(&LINES, false);
        h.append("small.log", "old\n");
        h.now += Duration::from_millis(1);
        assert!(
            h.tailer.poll_once(h.now).events.is_empty(),
            "not fingerprinted yet"
        );
        h.append("small.log", "new\n");
        assert_eq!(h.settle(), vec!["new"]);
    }

    #[test]
    fn rename_rotation_drains_flushes_partial_and_keeps_ids() {
        let mut h = Harness::new(&LINES, true);
        h.append("app.log", &lines("one", 10));
        let first = h.settle();
        assert_eq!(first.len(), 10);
        let ids: Vec<String> = h.out.iter().map(|e| e.id.clone()).collect();
        h.append("app.log", "tail-1\npartial");
        fs::rename(h.path("app.log"), h.path("app.log.1")).unwrap();
        h.append("app.log", &lines("two", 3));
        let got = h.settle();
        assert_eq!(got[..2], ["tail-1".to_string(), "partial".to_string()]);
        assert_eq!(got.len(), 5, "{got:?}");
        // A compressed copy of the rotated file is not read again.
        let content = fs::read(h.path("app.log.1")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&content).unwrap();
        fs::write(h.path("app.log.1.gz"), gz.finish().unwrap()).unwrap();
        fs::remove_file(h.path("app.log.1")).unwrap();
        assert!(h.settle().is_empty());
        // Re-reading the .gz from scratch in a fresh workspace gives the same ids.
        let mut fresh = Harness::new(&LINES, true);
        fs::copy(h.path("app.log.1.gz"), fresh.path("x.gz")).unwrap();
        let again = fresh.settle();
        assert_eq!(again.len(), 12);
        let again_ids: Vec<String> = fresh.out.iter().map(|e| e.id.clone()).collect();
        assert_eq!(again_ids[..10], ids[..]);
    }

    #[test]
    fn copytruncate_continues_from_the_copy() {
        let mut h = Harness::new(&LINES, true);
        h.append("app.log", &lines("one", 10));
        assert_eq!(h.settle().len(), 10);
        h.append("app.log", "unread-1\nunread-2\n");
        fs::copy(h.path("app.log"), h.path("app.log.1")).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(h.path("app.log"))
            .unwrap()
            .set_len(0)
            .unwrap();
        h.append("app.log", &lines("two", 12));
        let got = h.settle();
        assert_eq!(got[..2], ["unread-1".to_string(), "unread-2".to_string()]);
        assert_eq!(got.len(), 14, "{got:?}");
    }

    #[test]
    fn deleted_file_is_drained_and_recreated_one_is_new() {
        let mut h = Harness::new(&LINES, true);
        h.append("app.log", &lines("one", 10));
        assert_eq!(h.settle().len(), 10);
        h.append("app.log", "last\n");
        fs::remove_file(h.path("app.log")).unwrap();
        h.append("app.log", "new\n");
        assert_eq!(h.settle(), vec!["last", "new"]);
        assert!(h.tailer.files.len() == 1, "the deleted file is closed");
    }

    #[test]
    fn restart_resumes_from_checkpoint() {
        let mut h = Harness::new(&LINES, true);
        h.append("a.log", &lines("one", 10));
        h.append("a.log", "held");
        assert_eq!(h.settle().len(), 10);
        h.restart(&LINES);
        h.append("a.log", "-line\n");
        h.append("b.log", "b\n");
        assert_eq!(h.settle(), vec!["held-line", "b"]);
    }

    #[test]
    fn partial_line_of_a_deleted_file_is_flushed_after_a_restart() {
        let mut h = Harness::new(&LINES, true);
        h.append("a.log", "one-line-long-enough\n");
        assert_eq!(h.settle().len(), 1);
        h.restart(&LINES);
        assert!(h.settle().is_empty());
        h.append("a.log", "half");
        fs::remove_file(h.path("a.log")).unwrap();
        assert_eq!(h.settle(), vec!["half"]);
    }

    #[test]
    fn bad_input_is_counted_not_fatal() {
        let mut h = Harness::new(&LINES, true);
        let mut text = lines("ok", 10);
        text.push_str("BAD one\n");
        text.push_str(&"x".repeat(3 * MAX_RECORD));
        text.push_str("\nafter\n");
        h.append("a.log", &text);
        let got = h.settle();
        assert_eq!(got.len(), 11);
        assert_eq!(got.last().unwrap(), "after");
        let health = h.tailer.health(h.now);
        let a = health.iter().find(|s| s.path.ends_with("a.log")).unwrap();
        assert_eq!((a.events, a.errors), (11, 2), "{a:?}");
        assert!(a.last_error.as_deref().unwrap().contains("exceeds"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            h.append("secret.log", "x\n");
            fs::set_permissions(h.path("secret.log"), fs::Permissions::from_mode(0o000)).unwrap();
            h.settle();
            let health = h.tailer.health(h.now);
            let s = health
                .iter()
                .find(|s| s.path.contains("secret.log"))
                .unwrap();
            // Root can read anything; otherwise the error is reported.
            if fs::File::open(h.path("secret.log")).is_err() {
                assert_eq!(s.state, SourceState::Error, "{s:?}");
            }
        }
    }

    #[test]
    fn unknown_format_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("junk.bin"), [0u8, 1, 2, 3, 255, 254]).unwrap();
        let mut o = TailOptions::new(vec![dir.path().to_path_buf()]);
        o.from_start = true;
        let mut t = Tailer::new(o, None);
        let b = t.poll_once(Instant::now());
        assert!(b.events.is_empty());
        let h = t.health(Instant::now());
        assert_eq!(h[0].state, SourceState::Error);
        assert!(
            h[0].last_error
                .as_deref()
                .unwrap()
                .contains("unknown log format")
        );
    }

    #[test]
    fn whole_files_emit_only_new_records() {
        let mut h = Harness::new(&WHOLE, true);
        h.append("sec.evtx", "1 a\n2 b\n");
        assert_eq!(h.settle(), vec!["a", "b"]);
        // Re-exported: replaced with more records.
        fs::write(h.path("tmp"), "1 a\n2 b\n3 c\n").unwrap();
        fs::rename(h.path("tmp"), h.path("sec.evtx")).unwrap();
        assert_eq!(h.settle(), vec!["c"]);
        h.append("sec.evtx", "4 d\n");
        assert_eq!(h.settle(), vec!["d"]);
        h.restart(&WHOLE);
        h.append("sec.evtx", "5 e\n");
        assert_eq!(h.settle(), vec!["e"]);
    }

    #[test]
    fn new_streams_are_announced_before_their_events() {
        let mut h = Harness::new(&LINES, true);
        h.append("a.log", &lines("x", 20));
        let b = h.tailer.poll_once(h.now);
        assert!(b.events.is_empty());
        let cp = b.checkpoint.expect("the new stream is announced");
        assert_eq!(cp.streams.len(), 1);
        assert!(h.tailer.has_more());
        let b = h.tailer.poll_once(h.now);
        assert_eq!(b.events.len(), 20);
    }

    #[test]
    fn spawned_tailer_delivers_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = TailOptions::new(vec![dir.path().to_path_buf()]);
        o.format = Some(&LINES);
        o.from_start = true;
        let running = spawn(Tailer::new(o, None), RunOptions::default()).unwrap();
        fs::write(dir.path().join("a.log"), "one\ntwo\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no events within 30 s; got {got:?}");
            if let Ok(TailMsg::Batch(b)) = running.messages.recv_timeout(left) {
                got.extend(
                    b.events
                        .into_iter()
                        .map(|e| e.str(Field::Message).unwrap().to_string()),
                );
            }
        }
        assert_eq!(got, vec!["one", "two"]);
        running.join();
    }
}
