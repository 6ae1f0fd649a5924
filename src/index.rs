//! Every event in a tantivy index, searchable within a second of being read.
//!
//! - [`schema`]: the tantivy schema, generated from the one [`Field`](crate::event::Field)
//!   list (`Field::ALL` and each field's `FieldKind`), and the conversion event ⇄ document. The
//!   normalized event is stored (compressed) for drill-down.
//! - [`writer`]: [`Writer`], the batched writer on its own thread. It commits every second or
//!   every 50k events, attaches the caller's ingest checkpoint (an opaque blob) to the commit
//!   as tantivy's commit payload, skips events already indexed (identity is `event.id`), and
//!   applies retention by event time.
//! - [`query`]: tantivy's query syntax over our dotted ECS names, compiled by us so that CIDR
//!   ranges, wildcards, "did you mean" and error positions work the way analysts expect.
//! - [`search`]: [`Searcher`]: newest-first hits, counts, time histograms and top values
//!   (facets), safe to use while another process writes the index.
//!
//! The index lives in one directory (`WORKSPACE/index`). tantivy allows one writer per index
//! (a lock file in the directory) and any number of readers, in any process: a search never
//! waits for the writer and never sees a half-written commit.

pub mod query;
pub mod schema;
pub mod search;
pub mod writer;

use std::path::{Path, PathBuf};

pub use query::Query;
pub use schema::Schema;
pub use search::{Facet, Hit, Searcher, TimeRange};
pub use writer::{CommitInfo, Dedup, Writer, WriterConfig, WriterStats};

use crate::event::UnknownField;

/// Everything that can go wrong in the index, with where it happened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index directory could not be created or opened.
    #[error("index at {path}: {source}")]
    Open {
        /// The index directory.
        path: PathBuf,
        /// What tantivy or the OS said.
        source: tantivy::TantivyError,
    },
    /// There is no index in the directory yet.
    #[error("no index at {path} (run `lateral index PATH... --workspace DIR` first)")]
    Missing {
        /// The index directory.
        path: PathBuf,
    },
    /// The index was built for another field list (an older or newer lateral).
    #[error(
        "index at {path} was built for another field list ({reason}); index into a new workspace"
    )]
    SchemaMismatch {
        /// The index directory.
        path: PathBuf,
        /// The first difference found.
        reason: String,
    },
    /// Another process holds the index's writer lock.
    #[error(
        "index at {path} is being written by another process (one writer at a time; searching is fine)"
    )]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// Adding documents, committing or applying deletes failed.
    #[error("writing index at {path}: {source}")]
    Write {
        /// The index directory.
        path: PathBuf,
        /// What tantivy said.
        source: tantivy::TantivyError,
    },
    /// The writer thread stopped (after an earlier error, or it panicked).
    #[error("index writer for {path} stopped: {reason}")]
    WriterStopped {
        /// The index directory.
        path: PathBuf,
        /// Why, when known.
        reason: String,
    },
    /// Running a search failed.
    #[error("searching index at {path}: {source}")]
    Search {
        /// The index directory.
        path: PathBuf,
        /// What tantivy said.
        source: tantivy::TantivyError,
    },
    /// The commit payload in `meta.json` is not one lateral wrote.
    #[error("index at {path}: commit payload is not lateral's ({reason})")]
    Payload {
        /// The index directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored event could not be read back.
    #[error("index at {path}: stored event of document {doc} is unreadable ({reason})")]
    StoredEvent {
        /// The index directory.
        path: PathBuf,
        /// Segment and document.
        doc: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The query is not valid syntax. `pos` is a byte offset into the query.
    #[error("query syntax error at column {}: {message}", pos + 1)]
    Syntax {
        /// Byte offset of the error in the query.
        pos: usize,
        /// What the parser expected.
        message: String,
    },
    /// The query names a field we do not have.
    #[error("{source}")]
    UnknownField {
        /// Byte offset of the field name in the query, when found.
        pos: Option<usize>,
        /// The name and the closest known name.
        source: UnknownField,
    },
    /// A value does not fit its field (`source.ip:server01`, `destination.port:abc`).
    #[error("`{value}` is not {expected} (field `{field}`)")]
    InvalidValue {
        /// Byte offset of the value in the query, when found.
        pos: Option<usize>,
        /// The field.
        field: String,
        /// The value as written.
        value: String,
        /// What the field takes, in words.
        expected: String,
    },
    /// A query form that does not apply to a field (a range on a boolean, a facet on text).
    #[error("{0}")]
    Unsupported(String),
}

impl IndexError {
    /// Byte offset in the query this error points at, for query errors.
    pub fn query_position(&self) -> Option<usize> {
        match self {
            IndexError::Syntax { pos, .. } => Some(*pos),
            IndexError::UnknownField { pos, .. } | IndexError::InvalidValue { pos, .. } => *pos,
            _ => None,
        }
    }

    /// Whether the error is the user's query (usage error, exit 2), not the index.
    pub fn is_query_error(&self) -> bool {
        matches!(
            self,
            IndexError::Syntax { .. }
                | IndexError::UnknownField { .. }
                | IndexError::InvalidValue { .. }
                | IndexError::Unsupported(_)
        )
    }
}

/// An index directory opened with lateral's schema and tokenizers.
#[derive(Clone)]
pub struct Index {
    inner: tantivy::Index,
    schema: Schema,
    path: PathBuf,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

/// What the last commit recorded (tantivy's commit payload, written by [`Writer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPayload {
    /// The ingest checkpoint the writer's caller attached (opaque to the index).
    pub checkpoint: Option<Vec<u8>>,
    /// Documents the writing session had added when it committed (duplicates not counted).
    pub added: u64,
}

impl Index {
    /// Open the index at `dir`, creating the directory and an empty index if there is none.
    pub fn open_or_create(dir: &Path) -> Result<Index, IndexError> {
        let open_err = |source| IndexError::Open {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.into()))?;
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(|e| open_err(e.into()))?;
        let schema = Schema::new();
        let exists = tantivy::Index::exists(&directory).map_err(|e| open_err(e.into()))?;
        let inner = if exists {
            tantivy::Index::open(directory).map_err(open_err)?
        } else {
            tantivy::Index::builder()
                .schema(schema.tantivy().clone())
                .settings(schema::index_settings())
                .open_or_create(directory)
                .map_err(open_err)?
        };
        Index::wrap(inner, dir)
    }

    /// Open an existing index at `dir` (for searching).
    pub fn open(dir: &Path) -> Result<Index, IndexError> {
        let open_err = |source| IndexError::Open {
            path: dir.to_path_buf(),
            source,
        };
        let missing = || IndexError::Missing {
            path: dir.to_path_buf(),
        };
        if !dir.is_dir() {
            return Err(missing());
        }
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(|e| open_err(e.into()))?;
        if !tantivy::Index::exists(&directory).map_err(|e| open_err(e.into()))? {
            return Err(missing());
        }
        let inner = tantivy::Index::open(directory).map_err(open_err)?;
        Index::wrap(inner, dir)
    }

    fn wrap(inner: tantivy::Index, dir: &Path) -> Result<Index, IndexError> {
        let schema =
            Schema::check(&inner.schema()).map_err(|reason| IndexError::SchemaMismatch {
                path: dir.to_path_buf(),
                reason,
            })?;
        schema::register_tokenizers(&inner);
        Ok(Index {
            inner,
            schema,
            path: dir.to_path_buf(),
        })
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn tantivy(&self) -> &tantivy::Index {
        &self.inner
    }

    /// Start a writer on its own thread. Fails with [`IndexError::Locked`] while another
    /// writer (in this or another process) has the index.
    pub fn writer(&self, config: WriterConfig) -> Result<Writer, IndexError> {
        Writer::start(self.clone(), config)
    }

    /// A searcher. `live` readers follow commits by themselves (a watcher on `meta.json`,
    /// for screens that stay open); one-shot searches pass `false`.
    pub fn searcher(&self, live: bool) -> Result<Searcher, IndexError> {
        Searcher::new(self.clone(), live)
    }

    /// The payload of the last commit, or `None` before the first commit with one.
    pub fn last_commit(&self) -> Result<Option<CommitPayload>, IndexError> {
        let metas = self.inner.load_metas().map_err(|source| IndexError::Open {
            path: self.path.clone(),
            source,
        })?;
        match metas.payload {
            None => Ok(None),
            Some(text) => {
                writer::decode_payload(&text)
                    .map(Some)
                    .map_err(|reason| IndexError::Payload {
                        path: self.path.clone(),
                        reason,
                    })
            }
        }
    }

    /// The ingest checkpoint stored with the last commit (what [`Writer::checkpoint`] or
    /// [`Writer::commit_with`] was given). The documents in the index are exactly those
    /// added before that commit, so a restarted ingest resumes from here: nothing lost,
    /// nothing duplicated.
    pub fn last_payload(&self) -> Result<Option<Vec<u8>>, IndexError> {
        Ok(self.last_commit()?.and_then(|c| c.checkpoint))
    }

    /// Bytes the index takes on disk (all files in its directory).
    pub fn disk_bytes(&self) -> u64 {
        std::fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }
}
