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

/// Read every file under `paths`. Returns `Break` if the sink or `--strict` stopped early.
pub fn read_paths(
    paths: &[PathBuf],
    opts: &BatchOptions,
    sink: &mut dyn BatchSink,
) -> ControlFlow<()> {
    for path in paths {
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
        for file in files {
            read_file(&file, opts, sink)?;
        }
    }
    ControlFlow::Continue(())
}

/// Expand a path into the regular files below it, sorted, following symlinks once
/// (directories already visited are skipped, which breaks symlink loops).
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
        collect_files(&child, seen_dirs, files, failures);
    }
}

/// Read one file (plain, gzip or zip).
pub fn read_file(path: &Path, opts: &BatchOptions, sink: &mut dyn BatchSink) -> ControlFlow<()> {
    let display = path.display().to_string();
    let fail = |sink: &mut dyn BatchSink, err: IngestError| {
        sink.source_done(SourceReport {
            path: display.clone(),
            failure: Some(err.to_string()),
            ..SourceReport::default()
        });
        ControlFlow::Continue(())
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(source) => {
            return fail(
                sink,
                IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            );
        }
    };
    let mut magic = [0u8; 4];
    let n = match read_full(&mut file, &mut magic) {
        Ok(n) => n,
        Err(source) => {
            return fail(
                sink,
                IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                },
            );
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
        return read_zip(path, file, &identity, reference_time, opts, sink);
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
        return read_stream(gz, &source, opts, sink);
    }
    let source = Source {
        display,
        identity,
        name,
        reference_time,
        compressed: false,
    };
    read_stream(reader, &source, opts, sink)
}

fn read_zip(
    path: &Path,
    file: File,
    identity: &str,
    reference_time: Nanos,
    opts: &BatchOptions,
    sink: &mut dyn BatchSink,
) -> ControlFlow<()> {
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            let err = IngestError::Zip {
                path: path.to_path_buf(),
                reason: e.to_string(),
            };
            sink.source_done(SourceReport {
                path: path.display().to_string(),
                failure: Some(err.to_string()),
                ..SourceReport::default()
            });
            return ControlFlow::Continue(());
        }
    };
    for i in 0..archive.len() {
        let member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                let err = IngestError::Zip {
                    path: path.to_path_buf(),
                    reason: format!("member {i}: {e}"),
                };
                sink.source_done(SourceReport {
                    path: format!("{}!#{i}", path.display()),
                    failure: Some(err.to_string()),
                    ..SourceReport::default()
                });
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
        let base = member_name
            .rsplit('/')
            .next()
            .unwrap_or(&member_name)
            .to_string();
        let source = Source {
            display: format!("{}!{member_name}", path.display()),
            identity: format!("{identity}!{member_name}"),
            name: base,
            reference_time,
            compressed: true,
        };
        read_stream(member, &source, opts, sink)?;
    }
    ControlFlow::Continue(())
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

/// Detect, frame and decode one stream.
pub fn read_stream(
    mut reader: impl Read,
    source: &Source,
    opts: &BatchOptions,
    sink: &mut dyn BatchSink,
) -> ControlFlow<()> {
    let mut report = SourceReport {
        path: source.display.clone(),
        ..SourceReport::default()
    };
    let mut head = vec![0u8; HEAD_LEN];
    // A read error inside the head (a short, truncated .gz) still leaves the bytes before it.
    let (n, head_error) = read_until_error(&mut reader, &mut head);
    head.truncate(n);
    if let Some(e) = head_error {
        report.failure = Some(read_failure(source, n as u64, e).to_string());
    }
    let at_end = report.failure.is_some();
    if head.is_empty() && !at_end {
        report.first_error = Some(
            IngestError::Empty {
                path: source.display.clone(),
            }
            .to_string(),
        );
        sink.source_done(report);
        return ControlFlow::Continue(());
    }
    let Some(format) = opts.format.or_else(|| decode::detect(&source.name, &head)) else {
        report.failure = Some(
            IngestError::UnknownFormat {
                path: source.display.clone(),
                head: escape_head(&head),
            }
            .to_string(),
        );
        sink.source_done(report);
        return ControlFlow::Continue(());
    };
    report.format = Some(format.name);
    let ctx = Context::new(
        source.identity.clone(),
        source.display.clone(),
        opts.networks.clone(),
        source.reference_time,
    );
    let mut decoder = (format.decoder)();
    let mut out = Sink::default();

    if format.framing == Framing::Whole {
        let mut all = head;
        if !at_end && let Err(e) = reader.read_to_end(&mut all) {
            report.failure = Some(read_failure(source, all.len() as u64, e).to_string());
        }
        report.bytes = all.len() as u64;
        decoder.decode(&all, 0, &ctx, &mut out);
        decoder.finish(&ctx, &mut out);
        let flow = drain(&mut out, &mut report, opts, sink);
        sink.source_done(report);
        return flow;
    }

    let mut framer = Framer::new(format.framing, MAX_RECORD);
    let mut chunk = head;
    let mut flow;
    loop {
        report.bytes += chunk.len() as u64;
        framer.push(&chunk, &mut |frame| {
            feed(frame, decoder.as_mut(), &ctx, &mut out)
        });
        flow = drain(&mut out, &mut report, opts, sink);
        if flow.is_break() || report.failure.is_some() {
            break;
        }
        chunk.resize(CHUNK, 0);
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => chunk.truncate(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => chunk.clear(),
            Err(e) => {
                report.failure = Some(read_failure(source, report.bytes, e).to_string());
                break;
            }
        }
    }
    if flow.is_continue() {
        framer.finish(&mut |frame| feed(frame, decoder.as_mut(), &ctx, &mut out));
        decoder.finish(&ctx, &mut out);
        flow = drain(&mut out, &mut report, opts, sink);
    }
    sink.source_done(report);
    flow
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

fn drain(
    out: &mut Sink,
    report: &mut SourceReport,
    opts: &BatchOptions,
    sink: &mut dyn BatchSink,
) -> ControlFlow<()> {
    report.lossy += std::mem::take(&mut out.lossy);
    let errors = std::mem::take(&mut out.errors);
    report.errors += errors.len() as u64;
    if report.first_error.is_none() {
        report.first_error = errors.first().map(ToString::to_string);
    }
    if opts.strict && !errors.is_empty() {
        report.failure = Some(format!(
            "stopped at the first error (--strict): {}",
            errors[0]
        ));
        return ControlFlow::Break(());
    }
    for ev in out.events.drain(..) {
        report.events += 1;
        sink.event(ev)?;
    }
    ControlFlow::Continue(())
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
