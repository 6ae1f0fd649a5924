//! The side-effecting edge: finding, opening and reading log files, archives and directories,
//! and feeding their bytes to the decoders.
//!
//! - [`batch`]: read paths once (files, directories recursively, `.gz`, `.zip` members), with a
//!   per-source [`SourceReport`] of format, events and errors.
//! - [`tail`]: follow files live across rotation (rename, copytruncate, delete, compressed
//!   copies), identified by a fingerprint of their first bytes; batches of events that carry
//!   their [`checkpoint`]; per-source [`tail::SourceHealth`].
//! - [`watch`]: which files to follow (include/exclude globs), directory scans and `notify`
//!   wake-ups.
//! - [`checkpoint`]: versioned, atomically written positions per stream.
//!
//! Every failure here is per source: an unreadable file, an unknown format or a truncated
//! archive is reported with its path and the rest of the input is still read.

pub mod batch;
pub mod checkpoint;
pub mod tail;
pub mod watch;

use std::path::PathBuf;

/// What went wrong reading one source. Never fatal for the other sources.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file or directory could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Decompression failed part way (truncated or corrupt `.gz`); what was read is kept.
    #[error("{path}: compressed data is corrupt or truncated after {offset} bytes: {reason}")]
    Compressed {
        /// The path.
        path: String,
        /// Decompressed bytes read before the failure.
        offset: u64,
        /// The decompressor's message.
        reason: String,
    },
    /// A `.zip` archive could not be read.
    #[error("{path}: zip archive: {reason}")]
    Zip {
        /// The path.
        path: PathBuf,
        /// The archive reader's message.
        reason: String,
    },
    /// No known format matched the file's name and first bytes.
    #[error("{path}: unknown log format (first bytes: \"{head}\"); pass --format to choose one")]
    UnknownFormat {
        /// The path (or `archive.zip!member`).
        path: String,
        /// The first bytes, escaped, to help the user tell what it is.
        head: String,
    },
    /// The file is empty.
    #[error("{path}: empty file")]
    Empty {
        /// The path.
        path: String,
    },
    /// The checkpoint file could not be used (corrupt, unknown version); it was set aside.
    #[error("checkpoints {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What was wrong and what was done.
        reason: String,
    },
}

/// Health of one source after (or while) reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceReport {
    /// File path, or `archive.zip!member` for archive members.
    pub path: String,
    /// Detected or forced format name, when known.
    pub format: Option<&'static str>,
    /// Events decoded.
    pub events: u64,
    /// Records that failed to decode.
    pub errors: u64,
    /// Records decoded lossily from invalid UTF-8.
    pub lossy: u64,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// The first record error, with its offset.
    pub first_error: Option<String>,
    /// Why the source could not be read at all (or stopped early), if it could not.
    pub failure: Option<String>,
}

impl SourceReport {
    /// Whether the source was read completely (record errors allowed).
    pub fn readable(&self) -> bool {
        self.failure.is_none()
    }
}
