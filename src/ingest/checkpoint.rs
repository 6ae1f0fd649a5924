//! Checkpoints: how far each tailed stream has been handled, so a restart resumes where the
//! last confirmed batch ended.
//!
//! A checkpoint records, per stream (the content of one log file, followed across rotation),
//! the offset just after the last fully handled record (for whole-file formats such as EVTX:
//! the highest record id handled), plus the device, inode and path it was last read from.
//! The file is versioned JSON written atomically (temporary file, fsync, rename, fsync of the
//! directory), so a crash leaves the old or the new version, never half of one. A file that
//! cannot be parsed, or has a version this build does not know, is set aside (renamed to
//! `*.corrupt-<unix seconds>`) and reported; it never stops the tailer.
//!
//! Main types: [`Checkpoints`] (the data), [`StreamKey`] (what a stream is), [`load`] and
//! [`save`].

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::IngestError;

/// The checkpoint format this build writes and reads.
pub const VERSION: u32 = 1;

/// What identifies a stream.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamKey {
    /// A text stream, identified by its content: the FNV-1a hash of its first `len` bytes.
    /// The same content renamed, copied or compressed keeps the key.
    Content {
        /// Bytes fingerprinted.
        len: u32,
        /// Their FNV-1a hash.
        hash: u64,
    },
    /// A whole-file format (EVTX), identified by its canonical path: a re-exported file
    /// replaces the previous version, and records are told apart by their record id.
    Path {
        /// The canonical path.
        path: String,
    },
}

impl StreamKey {
    /// The source identity given to decoders: event ids are built from it, so they are the
    /// same whichever file (`app.log`, `app.log.1`, `app.log.1.gz`) the record was read from.
    pub fn identity(&self) -> String {
        match self {
            StreamKey::Content { len, hash } => format!("fp:{hash:016x}:{len}"),
            StreamKey::Path { path } => format!("path:{path}"),
        }
    }
}

/// Where one stream stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamCheckpoint {
    /// The stream.
    pub key: StreamKey,
    /// Offset just after the last fully handled record (text), or the highest record id
    /// handled (whole-file formats).
    pub offset: u64,
    /// Device of the file last read.
    pub dev: u64,
    /// Inode of the file last read.
    pub ino: u64,
    /// Path of the file last read.
    pub path: String,
    /// Whether the stream was rotated away (renamed, truncated, deleted): its last partial
    /// line is flushed once the file stops growing.
    #[serde(default)]
    pub rotated: bool,
    /// Unix seconds when a file of this stream was last seen; old entries are pruned.
    pub seen: i64,
}

/// A compressed file read to its end: not opened again while it is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FinishedFile {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes when finished.
    pub size: u64,
    /// Modification time (Unix nanoseconds) when finished.
    pub mtime: i64,
}

/// Every stream's position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoints {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// One entry per stream.
    pub streams: Vec<StreamCheckpoint>,
    /// Compressed files already read completely.
    #[serde(default)]
    pub finished: Vec<FinishedFile>,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            version: VERSION,
            streams: Vec::new(),
            finished: Vec::new(),
        }
    }
}

impl Checkpoints {
    /// An empty set at the current version.
    pub fn new() -> Checkpoints {
        Checkpoints::default()
    }

    /// Encode as the on-disk JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Decode the on-disk JSON, checking the version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoints, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => return Err(format!("version {v} is not supported (expected {VERSION})")),
            None => return Err("no version".into()),
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// What [`load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The checkpoints, or `None` when there were none (first start) or they were set aside.
    pub checkpoints: Option<Checkpoints>,
    /// A corrupt or unsupported file that was set aside: what happened, for the user.
    pub set_aside: Option<IngestError>,
}

/// Load checkpoints from `path`. A missing file is a first start; a corrupt one is renamed to
/// `<path>.corrupt-<unix seconds>` and reported in [`Loaded::set_aside`]; an unreadable one
/// (permissions) is an error.
pub fn load(path: &Path, now_unix: i64) -> Result<Loaded, IngestError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(source) => {
            return Err(IngestError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match Checkpoints::from_bytes(&bytes) {
        Ok(c) => Ok(Loaded {
            checkpoints: Some(c),
            set_aside: None,
        }),
        Err(reason) => {
            let mut aside = path.as_os_str().to_owned();
            aside.push(format!(".corrupt-{now_unix}"));
            let aside = PathBuf::from(aside);
            let moved = fs::rename(path, &aside);
            Ok(Loaded {
                checkpoints: None,
                set_aside: Some(IngestError::Checkpoint {
                    path: path.to_path_buf(),
                    reason: match moved {
                        Ok(()) => format!("{reason}; set aside as {}", aside.display()),
                        Err(e) => format!("{reason}; could not set it aside: {e}"),
                    },
                }),
            })
        }
    }
}

/// Save checkpoints to `path` atomically, private to the user.
pub fn save(path: &Path, checkpoints: &Checkpoints) -> Result<(), IngestError> {
    write_atomic(path, &checkpoints.to_bytes()).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a mix, even
/// after a crash: a temporary file beside it (mode 0600), fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = private_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = fs::File::open(dir) {
        // Make the rename itself durable.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Create (truncating) a file readable and writable by the user only.
pub fn private_file(p: &Path) -> io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoints {
        let mut c = Checkpoints::new();
        c.streams.push(StreamCheckpoint {
            key: StreamKey::Content {
                len: 300,
                hash: 0xdead_beef,
            },
            offset: 4096,
            dev: 1,
            ino: 2,
            path: "/var/log/app.log".into(),
            rotated: false,
            seen: 1_700_000_000,
        });
        c.streams.push(StreamCheckpoint {
            key: StreamKey::Path {
                path: "/x/Security.evtx".into(),
            },
            offset: 77,
            dev: 1,
            ino: 3,
            path: "/x/Security.evtx".into(),
            rotated: true,
            seen: 1_700_000_001,
        });
        c.finished.push(FinishedFile {
            dev: 1,
            ino: 9,
            size: 10,
            mtime: 5,
        });
        c
    }

    #[test]
    fn round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.json");
        assert!(load(&path, 0).unwrap().checkpoints.is_none());
        save(&path, &sample()).unwrap();
        let loaded = load(&path, 0).unwrap();
        assert_eq!(loaded.checkpoints, Some(sample()));
        assert!(loaded.set_aside.is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn corrupt_and_future_files_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.json");
        fs::write(&path, b"{\"version\": 1, \"streams\": [tru").unwrap();
        let loaded = load(&path, 42).unwrap();
        assert!(loaded.checkpoints.is_none());
        let msg = loaded.set_aside.unwrap().to_string();
        assert!(msg.contains("set aside"), "{msg}");
        assert!(dir.path().join("checkpoints.json.corrupt-42").exists());
        assert!(!path.exists());

        fs::write(&path, b"{\"version\": 99, \"streams\": []}").unwrap();
        let loaded = load(&path, 43).unwrap();
        let msg = loaded.set_aside.unwrap().to_string();
        assert!(msg.contains("version 99"), "{msg}");
    }

    #[test]
    fn identities_differ_by_key() {
        let a = StreamKey::Content { len: 10, hash: 1 };
        let b = StreamKey::Content { len: 11, hash: 1 };
        assert_ne!(a.identity(), b.identity());
        assert_eq!(a.identity(), "fp:0000000000000001:10");
    }
}
