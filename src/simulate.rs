//! Synthetic security logs with known ground truth: the bundled `samples/` day and the scale
//! workloads of `lateral simulate` and `lateral bench`.
//!
//! Everything here is pure: generation is driven by a seeded PRNG of our own ([`rng`]), event
//! time is an input, and the output is records (bytes plus the file they belong to). Writing
//! files and pacing a live writer on the wall clock belong to the CLI.
//!
//! - [`mod@format`]: one writer per record shape, producing the bytes the real tools write
//!   (Hubble, Tetragon, Falco, winlogbeat, Zeek TSV and JSON, syslog, auditd, VPC flow logs).
//! - [`act`]: activities built from those records — a TCP connection as Hubble sees it, a
//!   PsExec service install, an SSH login on a Linux host — over a registry of files
//!   ([`Files`]) and per-host counters (record numbers, pids, audit serials).
//! - [`scenario`]: the fixed sample day written to `samples/` (see `samples/README.md`).
//! - [`workload`]: the scale generator: a world sized by `--hosts`, benign background that
//!   stays below low, and `--attacks` planted chains covering every attack-chain case and the
//!   threshold detectors, each described by a [`Truth`] line.
//! - [`truth`]: ground-truth lines and scoring of hunted sessions against them.

pub mod act;
pub mod format;
pub mod rng;
pub mod scenario;
pub mod truth;
pub mod workload;

use std::collections::HashMap;

use crate::event::Nanos;

pub use truth::{Score, Truth};
pub use workload::{Workload, WorkloadConfig};

/// How a file's content starts and ends besides its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Records only (JSON lines, syslog, auditd).
    Plain,
    /// A Zeek ASCII log: `#` header block first, `#close` at the end.
    ZeekTsv(format::ZeekLog),
    /// A VPC flow log object: the field-name header line first.
    VpcFlow,
}

/// One output file: its path relative to the output directory, and its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Relative path with `/` separators (`k8s/hubble/flows.json`).
    pub path: String,
    /// Header / footer kind.
    pub kind: FileKind,
}

impl LogFile {
    /// What the file starts with when it is opened at `open` (event time).
    pub fn header(&self, open: Nanos) -> String {
        let mut s = String::new();
        match self.kind {
            FileKind::Plain => {}
            FileKind::ZeekTsv(log) => format::zeek_tsv_header(&mut s, log, open),
            FileKind::VpcFlow => s.push_str(format::VPC_HEADER),
        }
        s
    }

    /// What the file ends with when it is closed at `close` (event time).
    pub fn footer(&self, close: Nanos) -> String {
        let mut s = String::new();
        if let FileKind::ZeekTsv(_) = self.kind {
            format::zeek_tsv_close(&mut s, close);
        }
        s
    }
}

/// The files written so far, by path (insertion order is the file id).
#[derive(Debug, Default, Clone)]
pub struct Files {
    list: Vec<LogFile>,
    by_path: HashMap<String, usize>,
}

impl Files {
    /// The id of the file at `path`, registering it on first use.
    pub fn id(&mut self, path: &str, kind: FileKind) -> usize {
        if let Some(&i) = self.by_path.get(path) {
            return i;
        }
        let i = self.list.len();
        self.list.push(LogFile {
            path: path.to_string(),
            kind,
        });
        self.by_path.insert(path.to_string(), i);
        i
    }

    /// Every file, by id.
    pub fn list(&self) -> &[LogFile] {
        &self.list
    }
}

/// One record: complete lines of one file, at an event time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Event time (what the decoder will read as `@timestamp`).
    pub ts: Nanos,
    /// Order among records of the same time (generation order).
    pub seq: u64,
    /// File id in [`Files`].
    pub file: usize,
    /// The bytes, ending in a newline.
    pub text: String,
    /// Events the decoder makes of it (one, except multi-line auditd events count once too).
    pub events: u32,
}

impl Ord for Record {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(o.ts, o.seq))
    }
}

impl PartialOrd for Record {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Group time-ordered records into file contents: header, records, footer per file.
/// Files without records are left out.
pub fn render(
    files: &Files,
    records: &[Record],
    open: Nanos,
    close: Nanos,
) -> Vec<(String, String)> {
    let mut bodies: Vec<String> = files.list().iter().map(|f| f.header(open)).collect();
    let mut used = vec![false; bodies.len()];
    for r in records {
        if let Some(b) = bodies.get_mut(r.file) {
            b.push_str(&r.text);
            used[r.file] = true;
        }
    }
    files
        .list()
        .iter()
        .zip(bodies)
        .zip(used)
        .filter(|(_, u)| *u)
        .map(|((f, mut body), _)| {
            body.push_str(&f.footer(close));
            (f.path.clone(), body)
        })
        .collect()
}
