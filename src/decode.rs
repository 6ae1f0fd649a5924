//! Bytes → normalized [`Event`]s: the format registry, detection, framing and decoders.
//!
//! `decode` never opens files and never reads the clock: it takes bytes and a
//! [`Context`] (who the source is, the internal networks, a reference time for sources that
//! omit the year) and returns events or [`DecodeError`]s with the offset a user needs. That is
//! what makes every decoder fuzzable and lets a live tail and a batch replay agree.
//!
//! Framing (cutting bytes into records: lines, JSON documents, a whole EVTX file) is separate
//! from format (what a record means): see [`frame`]. Adding a format is one file in `decode/`
//! plus one line in [`FORMATS`].
//!
//! Formats: [`evtx`] (Windows EVTX), [`winjson`] (winlogbeat/ECS and OTRF flat Windows JSON),
//! [`zeek`] (TSV and JSON), [`syslog`] (sshd/auth), [`auditd`], [`hubble`], [`falco`],
//! [`tetragon`], [`vpcflow`] (AWS VPC flow logs), [`bundle`] (case bundles from
//! `lateral case export`).

pub mod auditd;
pub mod bundle;
pub mod evtx;
pub mod falco;
pub mod frame;
pub mod hubble;
pub mod json;
pub mod syslog;
pub mod tetragon;
pub mod vpcflow;
pub mod windows;
pub mod winjson;
pub mod zeek;

use std::fmt;

use crate::event::{Event, Nanos, Networks};

/// How a format's bytes are cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line (`\n`, a trailing `\r` is dropped).
    Lines,
    /// Concatenated JSON documents, one per line or pretty-printed over many lines.
    JsonDocuments,
    /// The whole input is one unit (EVTX: the file, parsed chunk by chunk).
    Whole,
}

/// A log format: how to recognise it, frame it and decode it.
pub struct Format {
    /// Short name used by `--format` and in summaries.
    pub name: &'static str,
    /// One line for `--help` and the Sources screen.
    pub description: &'static str,
    /// How records are framed.
    pub framing: Framing,
    /// Confidence 0–100 that `head` (the first bytes, decompressed) named `file_name` is this
    /// format. 0 means no.
    pub detect: fn(file_name: &str, head: &[u8]) -> u8,
    /// A fresh decoder for one input (decoders may hold per-file state, e.g. Zeek headers).
    pub decoder: fn() -> Box<dyn Decoder>,
}

impl fmt::Debug for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Format").field("name", &self.name).finish()
    }
}

/// Every format lateral reads. Detection asks each and keeps the most confident.
pub const FORMATS: &[&Format] = &[
    &evtx::FORMAT,
    &winjson::FORMAT,
    &zeek::TSV_FORMAT,
    &zeek::JSON_FORMAT,
    &syslog::FORMAT,
    &auditd::FORMAT,
    &hubble::FORMAT,
    &falco::FORMAT,
    &tetragon::FORMAT,
    &vpcflow::FORMAT,
    &bundle::FORMAT,
];

/// Minimum detection confidence to accept a format.
pub const DETECT_THRESHOLD: u8 = 30;

/// Find a format by name (`--format`).
pub fn format_by_name(name: &str) -> Option<&'static Format> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// Detect the format of an input from its file name (without `.gz`) and first bytes.
pub fn detect(file_name: &str, head: &[u8]) -> Option<&'static Format> {
    FORMATS
        .iter()
        .copied()
        .map(|f| ((f.detect)(file_name, head), f))
        .filter(|(score, _)| *score >= DETECT_THRESHOLD)
        .max_by_key(|(score, _)| *score)
        .map(|(_, f)| f)
}

/// What a decoder knows about its input besides the bytes.
#[derive(Debug, Clone)]
pub struct Context {
    /// Source identity used to build stable event ids (a path, or a file fingerprint).
    pub source: String,
    source_hash: u64,
    /// Value for `log.file.path`.
    pub path: String,
    /// Internal networks, for `network.direction`.
    pub networks: Networks,
    /// Reference time for sources that omit the year (RFC 3164 syslog): records are assumed
    /// not to be later than this (usually the file's modification time).
    pub reference_time: Nanos,
}

impl Context {
    /// A context for `source` read from `path`.
    pub fn new(
        source: impl Into<String>,
        path: impl Into<String>,
        networks: Networks,
        reference_time: Nanos,
    ) -> Self {
        let source = source.into();
        Context {
            source_hash: fnv1a(source.as_bytes()),
            source,
            path: path.into(),
            networks,
            reference_time,
        }
    }

    /// Stable event id for the record at `position` (byte offset, or EVTX record id).
    pub fn event_id(&self, position: u64) -> String {
        format!("{:016x}-{position}", self.source_hash)
    }

    /// Fill the fields every event from this source shares: `event.id`, `log.file.path`,
    /// `log.offset`, `network.direction`.
    pub fn stamp(&self, event: &mut Event, position: u64) {
        use crate::event::Field;
        event.id = self.event_id(position);
        event.set(Field::LogFilePath, self.path.as_str());
        event.set(Field::LogOffset, position);
        event.classify_direction(&self.networks);
    }
}

pub use crate::event::fnv1a;

/// Why a record could not be decoded. Every variant carries the byte offset of the record
/// (or, for EVTX, the record id or chunk offset) so the user can find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record is not what the format says (bad JSON, missing required field, ...).
    #[error("offset {offset}: malformed record: {reason}")]
    Malformed {
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A line longer than the framing limit; it is skipped.
    #[error("offset {offset}: line of {len} bytes exceeds the {limit}-byte limit; skipped")]
    LineTooLong {
        /// Where the line starts.
        offset: u64,
        /// Its length so far.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The record has a valid shape but no usable timestamp.
    #[error("offset {offset}: no valid timestamp: {reason}")]
    Timestamp {
        /// Where the record starts.
        offset: u64,
        /// What was found instead.
        reason: String,
    },
    /// The EVTX parser rejected a file header, chunk or record.
    #[error("offset {offset}: EVTX: {reason}")]
    Evtx {
        /// Record id or chunk offset.
        offset: u64,
        /// The parser's message.
        reason: String,
    },
}

impl DecodeError {
    /// Shorthand for [`DecodeError::Malformed`].
    pub fn malformed(offset: u64, reason: impl Into<String>) -> Self {
        DecodeError::Malformed {
            offset,
            reason: reason.into(),
        }
    }

    /// Where the failing record starts.
    pub fn offset(&self) -> u64 {
        match self {
            DecodeError::Malformed { offset, .. }
            | DecodeError::LineTooLong { offset, .. }
            | DecodeError::Timestamp { offset, .. }
            | DecodeError::Evtx { offset, .. } => *offset,
        }
    }
}

/// Where decoders put what they produce.
#[derive(Debug, Default)]
pub struct Sink {
    /// Decoded events.
    pub events: Vec<Event>,
    /// Per-record errors (never fatal).
    pub errors: Vec<DecodeError>,
    /// Records whose bytes were not valid UTF-8 and were decoded lossily.
    pub lossy: u64,
}

impl Sink {
    /// Move everything out, leaving the sink empty for reuse.
    pub fn take(&mut self) -> Sink {
        std::mem::take(self)
    }
}

/// A stateful decoder for one input.
pub trait Decoder: Send {
    /// Decode one framed record that starts at byte `offset` of the input.
    /// For [`Framing::Whole`], `record` is the whole input and `offset` 0.
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink);

    /// End of input: emit anything still held (e.g. auditd records waiting for their group).
    fn finish(&mut self, _ctx: &Context, _out: &mut Sink) {}
}

/// Record bytes as text: borrowed when valid UTF-8, else decoded lossily and counted.
pub fn text<'a>(record: &'a [u8], out: &mut Sink) -> std::borrow::Cow<'a, str> {
    match std::str::from_utf8(record) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            out.lossy += 1;
            String::from_utf8_lossy(record)
        }
    }
}

/// Decode a complete in-memory input with `format`: frame it, decode every record, finish.
/// Used by batch reading, tests, fuzzing and benchmarks.
pub fn decode_all(format: &Format, input: &[u8], ctx: &Context) -> Sink {
    let mut decoder = (format.decoder)();
    let mut sink = Sink::default();
    match format.framing {
        Framing::Whole => decoder.decode(input, 0, ctx, &mut sink),
        framing => {
            let mut framer = frame::Framer::new(framing, frame::MAX_RECORD);
            framer.push(input, &mut |rec| match rec {
                frame::Frame::Record { offset, bytes } => {
                    decoder.decode(bytes, offset, ctx, &mut sink)
                }
                frame::Frame::TooLong { offset, len } => {
                    sink.errors.push(DecodeError::LineTooLong {
                        offset,
                        len,
                        limit: frame::MAX_RECORD,
                    })
                }
            });
            framer.finish(&mut |rec| match rec {
                frame::Frame::Record { offset, bytes } => {
                    decoder.decode(bytes, offset, ctx, &mut sink)
                }
                frame::Frame::TooLong { offset, len } => {
                    sink.errors.push(DecodeError::LineTooLong {
                        offset,
                        len,
                        limit: frame::MAX_RECORD,
                    })
                }
            });
        }
    }
    decoder.finish(ctx, &mut sink);
    sink
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the decoders' unit tests.
    use super::*;

    /// A context with a fixed source and reference time (2024-06-01T00:00:00Z).
    pub fn ctx() -> Context {
        Context::new(
            "test",
            "test.log",
            Networks::default(),
            1_717_200_000_000_000_000,
        )
    }

    /// Decode `input` with `format`, asserting there were no errors.
    pub fn decode_ok(format: &Format, input: &[u8]) -> Vec<Event> {
        let sink = decode_all(format, input, &ctx());
        assert!(
            sink.errors.is_empty(),
            "unexpected errors: {:?}",
            sink.errors
        );
        sink.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_are_unique() {
        let mut names: Vec<_> = FORMATS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn junk_is_not_detected() {
        assert!(detect("junk.bin", &[0u8, 159, 146, 150, 1, 2, 3]).is_none());
        assert!(detect("empty.log", b"").is_none());
    }

    #[test]
    fn event_ids_are_stable_and_distinct() {
        let a = testing::ctx();
        let b = Context::new("other", "other.log", Networks::default(), 0);
        assert_eq!(a.event_id(10), testing::ctx().event_id(10));
        assert_ne!(a.event_id(10), a.event_id(11));
        assert_ne!(a.event_id(10), b.event_id(10));
    }
}
