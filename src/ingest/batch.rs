//! Read paths once, start to end: files, directories (recursively, sorted), gzip files and
//! zip members. Each source is detected, framed and decoded in a streaming fashion (EVTX,
//! which is parsed whole, is the exception) and reported in a [`SourceReport`].

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::{IngestError, SourceReport};
use crate::decode::frame::{Frame, Framer, MAX_RECORD};
use crate::decode::{self, Context, DecodeError, Format, Framing, Sink};
use crate::event::{Event, Nanos, Networks};

/// Bytes looked at for format detection.
pub const HEAD_LEN: usize = 64 * 1024;
const CHUNK: usize = 256 * 1024;

/// How to read.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Force a format instead of detecting one per file.
    pub format: Option<&'static Format>,
    /// Internal networks for `network.direction`.
    pub networks: Networks,
    /// Stop at the first record error.
    pub strict: bool,
}

/// Receives what reading produces.
pub trait BatchSink {
    /// One decoded event. Return `Break` to stop reading (e.g. `--limit` reached).
    fn event(&mut self, event: Event) -> ControlFlow<()>;
    /// One source finished (or failed).
    fn source_done(&mut self, report: SourceReport);
}

/// Read every file under `paths`, one source after another. Returns `Break` if the sink or
/// `--strict` stopped early.
pub fn read_paths(
    paths: &[PathBuf],
    opts: &BatchOptions,
    sink: &mut dyn BatchSink,
) -> ControlFlow<()> {
    for path in paths {
        for file in expand(path, sink) {
            for opened in open(&file, opts) {
                let mut reader = match opened {
                    Ok(r) => r,
                    Err(report) => {
                        sink.source_done(report);
                        continue;
                    }
                };
                let mut flow = ControlFlow::Continue(());
                while let Some(ev) = reader.next_event() {
                    flow = sink.event(ev);
                    if flow.is_break() {
                        break;
                    }
                }
                let stopped = reader.stopped_strict();
                sink.source_done(reader.into_report());
                if flow.is_break() || stopped {
                    return ControlFlow::Break(());
                }
            }
        }
    }
    ControlFlow::Continue(())
}

/// Files under `path` (reports failures to walk it to `sink`).
fn expand(path: &Path, sink: &mut dyn BatchSink) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    collect_files(path, &mut HashSet::new(), &mut files, &mut failures);
    for (p, err) in failures {
        sink.source_done(SourceReport {
            path: p.display().to_string(),
            failure: Some(err.to_string()),
            ..SourceReport::default()
        });
    }
    files
}

/// Every source under `paths`, opened and detected, ready to be read in any order (a zip
/// archive gives one source per member). Sources that cannot be opened come back as reports.
pub fn open_paths(
    paths: &[PathBuf],
    opts: &BatchOptions,
) -> (Vec<SourceReader>, Vec<SourceReport>) {
    let mut readers = Vec::new();
    let mut failed = Vec::new();
    for path in paths {
        let mut files = Vec::new();
        let mut failures = Vec::new();
        collect_files(path, &mut HashSet::new(), &mut files, &mut failures);
        for (p, err) in failures {
            failed.push(SourceReport {
                path: p.display().to_string(),
                failure: Some(err.to_string()),
                ..SourceReport::default()
            });
        }
        for f in files {
            for opened in open(&f, opts) {
                match opened {
                    Ok(r) => readers.push(r),
                    Err(report) => failed.push(report),
                }
            }
        }
    }
    (readers, failed)
}

/// Expand a path into the regular files below it, sorted, following symlinks once
/// (directories already visited are skipped, which breaks symlink loops). Markdown files
/// found while walking a directory (a `README.md` next to the logs it describes) are
/// documentation, not logs, and are left out; a Markdown file named on the command line is
/// still read.
pub fn collect_files(
    path: &Path,
    seen_dirs: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    failures: &mut Vec<(PathBuf, IngestError)>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(source) => {
            failures.push((
                path.to_path_buf(),
                IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            ));
            return;
        }
    };
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !seen_dirs.insert(canonical) {
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(source) => {
            failures.push((
                path.to_path_buf(),
                IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            ));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        if child
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"))
            && child.is_file()
        {
            continue;
        }
        collect_files(&child, seen_dirs, files, failures);
    }
}

/// Open one file (plain, gzip or zip) as one or more sources.
pub fn open(path: &Path, opts: &BatchOptions) -> Vec<Result<SourceReader, SourceReport>> {
    let display = path.display().to_string();
    let fail = |err: IngestError| {
        vec![Err(SourceReport {
            path: display.clone(),
            failure: Some(err.to_string()),
            ..SourceReport::default()
        })]
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(source) => {
            return fail(IngestError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut magic = [0u8; 4];
    let n = match read_full(&mut file, &mut magic) {
        Ok(n) => n,
        Err(source) => {
            return fail(IngestError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let reference_time = modified_nanos(path);
    let identity =
        std::fs::canonicalize(path).map_or_else(|_| display.clone(), |p| p.display().to_string());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if n == 4 && magic == *b"PK\x03\x04" {
        return open_zip(path, file, &identity, reference_time, opts);
    }
    let prefix = magic[..n].to_vec();
    let reader = io::Cursor::new(prefix).chain(file);
    if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        let inner = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".GZ"))
            .unwrap_or(&name);
        let gz = flate2::read::MultiGzDecoder::new(reader);
        let source = Source {
            display: display.clone(),
            identity,
            name: inner.to_string(),
            reference_time,
            compressed: true,
        };
        return vec![SourceReader::new(Box::new(gz), source, opts)];
    }
    let source = Source {
        display,
        identity,
        name,
        reference_time,
        compressed: false,
    };
    vec![SourceReader::new(Box::new(reader), source, opts)]
}

/// Members of a zip archive are read into memory one by one when opened (batch input only;
/// archives are not tailed).
fn open_zip(
    path: &Path,
    file: File,
    identity: &str,
    reference_time: Nanos,
    opts: &BatchOptions,
) -> Vec<Result<SourceReader, SourceReport>> {
    let report = |p: String, err: IngestError| {
        Err(SourceReport {
            path: p,
            failure: Some(err.to_string()),
            ..SourceReport::default()
        })
    };
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            return vec![report(
                path.display().to_string(),
                IngestError::Zip {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                },
            )];
        }
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                out.push(report(
                    format!("{}!#{i}", path.display()),
                    IngestError::Zip {
                        path: path.to_path_buf(),
                        reason: format!("member {i}: {e}"),
                    },
                ));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let member_name = member.name().to_string();
        // macOS archive metadata, not logs.
        if member_name.starts_with("__MACOSX/") {
            continue;
        }
        let display = format!("{}!{member_name}", path.display());
        let mut bytes = Vec::new();
        let failure = member.read_to_end(&mut bytes).err();
        let base = member_name
            .rsplit('/')
            .next()
            .unwrap_or(&member_name)
            .to_string();
        let source = Source {
            display: display.clone(),
            identity: format!("{identity}!{member_name}"),
            name: base,
            reference_time,
            compressed: true,
        };
        let mut opened = SourceReader::new(Box::new(io::Cursor::new(bytes)), source.clone(), opts);
        if let (Some(e), Ok(r)) = (failure, opened.as_mut()) {
            r.report.failure = Some(read_failure(&source, 0, e).to_string());
        }
        out.push(opened);
    }
    out
}

/// One input stream and what identifies it.
#[derive(Debug, Clone)]
pub struct Source {
    /// Shown to the user (path or `archive.zip!member`).
    pub display: String,
    /// Used for stable event ids.
    pub identity: String,
    /// File name used for detection (`.gz` stripped).
    pub name: String,
    /// Reference time for year inference (file modification time).
    pub reference_time: Nanos,
    /// Whether the bytes came out of a decompressor (read errors mean corrupt data).
    pub compressed: bool,
}

/// A detected source read on demand: `next_event` pulls bytes, frames and decodes until an
/// event is ready. Memory is bounded by one read chunk plus the events it produced (EVTX,
/// parsed whole, is the exception).
pub struct SourceReader {
    source: Source,
    reader: Option<Box<dyn Read + Send>>,
    framer: Option<Framer>,
    decoder: Box<dyn decode::Decoder>,
    ctx: Context,
    out: Sink,
    queue: std::collections::VecDeque<Event>,
    report: SourceReport,
    pending_head: Option<Vec<u8>>,
    strict: bool,
    stopped_strict: bool,
    finished: bool,
}

impl std::fmt::Debug for SourceReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceReader")
            .field("source", &self.source.display)
            .finish()
    }
}

impl SourceReader {
    /// Detect the format from the first bytes and get ready to read.
    pub fn new(
        mut reader: Box<dyn Read + Send>,
        source: Source,
        opts: &BatchOptions,
    ) -> Result<SourceReader, SourceReport> {
        let mut report = SourceReport {
            path: source.display.clone(),
            ..SourceReport::default()
        };
        let mut head = vec![0u8; HEAD_LEN];
        // A read error inside the head (a short, truncated .gz) still leaves the bytes before it.
        let (n, head_error) = read_until_error(&mut reader, &mut head);
        head.truncate(n);
        if let Some(e) = head_error {
            report.failure = Some(read_failure(&source, n as u64, e).to_string());
        }
        if head.is_empty() {
            if report.failure.is_none() {
                report.first_error = Some(
                    IngestError::Empty {
                        path: source.display.clone(),
                    }
                    .to_string(),
                );
            }
            return Err(report);
        }
        let Some(format) = opts.format.or_else(|| decode::detect(&source.name, &head)) else {
            report.failure = Some(
                IngestError::UnknownFormat {
                    path: source.display.clone(),
                    head: escape_head(&head),
                }
                .to_string(),
            );
            return Err(report);
        };
        report.format = Some(format.name);
        let ctx = Context::new(
            source.identity.clone(),
            source.display.clone(),
            opts.networks.clone(),
            source.reference_time,
        );
        let framer =
            (format.framing != Framing::Whole).then(|| Framer::new(format.framing, MAX_RECORD));
        let at_end = report.failure.is_some();
        Ok(SourceReader {
            source,
            reader: if at_end { None } else { Some(reader) },
            framer,
            decoder: (format.decoder)(),
            ctx,
            out: Sink::default(),
            queue: std::collections::VecDeque::new(),
            report,
            pending_head: Some(head),
            strict: opts.strict,
            stopped_strict: false,
            finished: false,
        })
    }

    /// The source's name for the user.
    pub fn display(&self) -> &str {
        &self.source.display
    }

    /// The detected format.
    pub fn format(&self) -> Option<&'static str> {
        self.report.format
    }

    /// Health so far.
    pub fn report(&self) -> &SourceReport {
        &self.report
    }

    /// Final health.
    pub fn into_report(self) -> SourceReport {
        self.report
    }

    /// Whether reading stopped at a record error because of `--strict`.
    pub fn stopped_strict(&self) -> bool {
        self.stopped_strict
    }

    /// Time of the next event without taking it.
    pub fn peek_time(&mut self) -> Option<Nanos> {
        self.fill();
        self.queue.front().map(|e| e.timestamp)
    }

    /// The next event, or `None` at the end of the source.
    pub fn next_event(&mut self) -> Option<Event> {
        self.fill();
        let ev = self.queue.pop_front()?;
        self.report.events += 1;
        Some(ev)
    }

    fn fill(&mut self) {
        while self.queue.is_empty() && !self.finished {
            self.step();
        }
    }

    /// Read and decode one chunk (or, for whole-file formats, everything).
    fn step(&mut self) {
        let chunk = match self.pending_head.take() {
            Some(head) => Some(head),
            None => self.read_chunk(),
        };
        let (ctx, decoder, out) = (&self.ctx, self.decoder.as_mut(), &mut self.out);
        match (&mut self.framer, chunk) {
            (None, Some(head)) => {
                // Whole-input formats: read the rest, decode once.
                let mut all = head;
                if let Some(mut r) = self.reader.take()
                    && let Err(e) = r.read_to_end(&mut all)
                {
                    self.report.failure =
                        Some(read_failure(&self.source, all.len() as u64, e).to_string());
                }
                self.report.bytes = all.len() as u64;
                decoder.decode(&all, 0, ctx, out);
                decoder.finish(ctx, out);
                self.finished = true;
            }
            (None, None) => self.finished = true,
            (Some(framer), Some(chunk)) => {
                self.report.bytes += chunk.len() as u64;
                framer.push(&chunk, &mut |frame| feed(frame, decoder, ctx, out));
            }
            (Some(framer), None) => {
                framer.finish(&mut |frame| feed(frame, decoder, ctx, out));
                decoder.finish(ctx, out);
                self.finished = true;
            }
        }
        self.collect();
    }

    fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let r = self.reader.as_mut()?;
        let mut chunk = vec![0u8; CHUNK];
        loop {
            match r.read(&mut chunk) {
                Ok(0) => {
                    self.reader = None;
                    return None;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    return Some(chunk);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.report.failure =
                        Some(read_failure(&self.source, self.report.bytes, e).to_string());
                    self.reader = None;
                    return None;
                }
            }
        }
    }

    fn collect(&mut self) {
        self.report.lossy += std::mem::take(&mut self.out.lossy);
        let errors = std::mem::take(&mut self.out.errors);
        self.report.errors += errors.len() as u64;
        if self.report.first_error.is_none() {
            self.report.first_error = errors.first().map(ToString::to_string);
        }
        if self.strict && !errors.is_empty() {
            self.report.failure = Some(format!(
                "stopped at the first error (--strict): {}",
                errors[0]
            ));
            self.stopped_strict = true;
            self.finished = true;
            self.reader = None;
            self.out.events.clear();
            return;
        }
        self.queue.extend(self.out.events.drain(..));
    }
}

/// Events of many sources merged by event time: always the earliest next event of any
/// source, so a batch replay meets the correlator in the order a live tail would.
pub struct Merge {
    readers: Vec<SourceReader>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(Nanos, usize)>>,
    done: Vec<SourceReport>,
    primed: bool,
}

impl std::fmt::Debug for Merge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("sources", &self.readers.len())
            .finish()
    }
}

impl Merge {
    /// Merge these readers.
    pub fn new(readers: Vec<SourceReader>) -> Merge {
        Merge {
            readers,
            heap: std::collections::BinaryHeap::new(),
            done: Vec::new(),
            primed: false,
        }
    }

    /// Sources finished since the last call.
    pub fn take_finished(&mut self) -> Vec<SourceReport> {
        std::mem::take(&mut self.done)
    }

    /// Reports of every source still open (for the final summary).
    pub fn open_reports(&self) -> Vec<SourceReport> {
        self.readers.iter().map(|r| r.report().clone()).collect()
    }

    fn push(&mut self, i: usize) {
        match self.readers.get_mut(i).and_then(SourceReader::peek_time) {
            Some(t) => self.heap.push(std::cmp::Reverse((t, i))),
            None => {
                if let Some(r) = self.readers.get(i) {
                    self.done.push(r.report().clone());
                }
            }
        }
    }
}

impl Iterator for Merge {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        if !self.primed {
            self.primed = true;
            for i in 0..self.readers.len() {
                self.push(i);
            }
        }
        let std::cmp::Reverse((_, i)) = self.heap.pop()?;
        let ev = self.readers.get_mut(i)?.next_event();
        self.push(i);
        ev
    }
}

fn feed(frame: Frame<'_>, decoder: &mut dyn decode::Decoder, ctx: &Context, out: &mut Sink) {
    match frame {
        Frame::Record { offset, bytes } => decoder.decode(bytes, offset, ctx, out),
        Frame::TooLong { offset, len } => out.errors.push(DecodeError::LineTooLong {
            offset,
            len,
            limit: MAX_RECORD,
        }),
    }
}

fn read_failure(source: &Source, offset: u64, e: io::Error) -> IngestError {
    if source.compressed {
        IngestError::Compressed {
            path: source.display.clone(),
            offset,
            reason: e.to_string(),
        }
    } else {
        IngestError::Io {
            path: PathBuf::from(&source.display),
            source: e,
        }
    }
}

/// Read until `buf` is full, the input ends, or an error; returns the bytes read and the error.
fn read_until_error(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// Read until `buf` is full or the input ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn modified_nanos(path: &Path) -> Nanos {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn escape_head(head: &[u8]) -> String {
    let cut = &head[..head.len().min(24)];
    cut.escape_ascii().to_string()
}

/// A sink that collects everything in memory (tests, small inputs).
#[derive(Debug, Default)]
pub struct Collect {
    /// Events read.
    pub events: Vec<Event>,
    /// One report per source.
    pub reports: Vec<SourceReport>,
}

impl BatchSink for Collect {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        self.events.push(event);
        ControlFlow::Continue(())
    }
    fn source_done(&mut self, report: SourceReport) {
        self.reports.push(report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const VPC: &str = "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 100 160 ACCEPT OK\n";

    fn read(paths: &[PathBuf]) -> Collect {
        let mut c = Collect::default();
        let _ = read_paths(paths, &BatchOptions::default(), &mut c);
        c
    }

    #[test]
    fn plain_gzip_and_zip_read_the_same_events() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), VPC.repeat(3)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(VPC.repeat(3).as_bytes()).unwrap();
        std::fs::write(dir.path().join("b.log.gz"), gz.finish().unwrap()).unwrap();
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zw.start_file::<_, ()>("inner/c.log", zip::write::FileOptions::default())
            .unwrap();
        zw.write_all(VPC.repeat(3).as_bytes()).unwrap();
        let zbytes = zw.finish().unwrap().into_inner();
        std::fs::write(dir.path().join("c.zip"), zbytes).unwrap();

        let c = read(&[dir.path().to_path_buf()]);
        assert_eq!(c.reports.len(), 3, "{:?}", c.reports);
        for r in &c.reports {
            assert_eq!(
                (r.format, r.events, r.errors),
                (Some("vpcflow"), 3, 0),
                "{r:?}"
            );
        }
        assert!(c.reports[2].path.ends_with("c.zip!inner/c.log"));
        let ids: HashSet<_> = c.events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), 9, "event ids are distinct across sources");
    }

    #[test]
    fn truncated_gzip_keeps_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..20_000 {
            writeln!(
                gz,
                "2 1 eni-{i} 10.0.{}.{} 10.0.0.2 {i} 22 6 1 1 {} 160 ACCEPT OK",
                i % 251,
                i % 13,
                100 + i
            )
            .unwrap();
        }
        let bytes = gz.finish().unwrap();
        std::fs::write(dir.path().join("t.log.gz"), &bytes[..bytes.len() / 2]).unwrap();
        let c = read(&[dir.path().join("t.log.gz")]);
        let r = &c.reports[0];
        assert!(
            r.failure
                .as_deref()
                .unwrap_or("")
                .contains("corrupt or truncated"),
            "{r:?}"
        );
        assert!(r.events > 0 && (r.events as usize) == c.events.len());
    }

    #[test]
    fn junk_empty_and_missing_are_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("junk.bin"), [0u8, 1, 2, 255, 254, 7, 9]).unwrap();
        std::fs::write(dir.path().join("empty.log"), b"").unwrap();
        std::fs::write(dir.path().join("ok.log"), VPC).unwrap();
        let c = read(&[dir.path().to_path_buf(), dir.path().join("missing.log")]);
        let by = |s: &str| c.reports.iter().find(|r| r.path.ends_with(s)).unwrap();
        assert!(
            by("junk.bin")
                .failure
                .as_deref()
                .unwrap()
                .contains("unknown log format")
        );
        assert!(by("empty.log").readable());
        assert!(by("missing.log").failure.is_some());
        assert_eq!(by("ok.log").events, 1);
    }

    #[test]
    fn huge_line_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut content = VPC.to_string();
        content.push_str(&"x".repeat(10 * 1024 * 1024));
        content.push('\n');
        content.push_str(VPC);
        std::fs::write(dir.path().join("flows.log"), content).unwrap();
        let c = read(&[dir.path().join("flows.log")]);
        assert_eq!(c.reports[0].events, 2);
        assert_eq!(c.reports[0].errors, 1);
        assert!(
            c.reports[0]
                .first_error
                .as_deref()
                .unwrap()
                .contains("exceeds")
        );
    }
}
