//! The workspace directory: where lateral keeps what must survive a run (sessions, the
//! east-west baseline, tail checkpoints; later the index and triage state).
//!
//! Private to the user: the directory is created 0700 and files 0600. Files are written
//! atomically (temporary file, fsync, rename) so a crash leaves the old or the new version,
//! never half of one. A writer holds [`Workspace::lock`] (an advisory lock on `lock`, released
//! by the OS when the process dies, even by `kill -9`), so a second writer gets a clear message
//! instead of interleaving its checkpoints with the first one's.
//!
//! The default workspace is `$XDG_DATA_HOME/lateral/default` (`~/.local/share/lateral/default`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::correlate::Session;
use crate::correlate::baseline::Baseline;

/// An open workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    /// Open (creating it private if needed) the workspace at `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Workspace> {
        fs::create_dir_all(dir).with_context(|| format!("creating workspace {}", dir.display()))?;
        set_mode(dir, 0o700)?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The default workspace: `$XDG_DATA_HOME/lateral/default`, else
    /// `$HOME/.local/share/lateral/default`.
    pub fn default_dir() -> Option<PathBuf> {
        let non_empty = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty());
        let data = non_empty("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(data.join("lateral").join("default"))
    }

    /// Take the writer's lock, or fail with who holds it. Held until the guard is dropped or
    /// the process ends.
    pub fn lock(&self) -> anyhow::Result<WorkspaceLock> {
        let path = self.dir.join("lock");
        let mut o = fs::OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut file = o
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                anyhow::bail!(
                    "workspace {} is in use by another lateral process{who}; stop it or pass \
                     --workspace DIR to use another workspace",
                    self.dir.display()
                );
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)?;
        writeln!(file, "{}", std::process::id())?;
        Ok(WorkspaceLock { _file: file })
    }

    /// Path of a file in the workspace.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Write `bytes` to `name` atomically, private to the user.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        crate::ingest::checkpoint::write_atomic(&path, bytes)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Save every session as JSON lines (`sessions.jsonl`).
    pub fn save_sessions(&self, sessions: &[Session]) -> anyhow::Result<()> {
        let mut buf = Vec::new();
        for s in sessions {
            serde_json::to_writer(&mut buf, s)?;
            buf.push(b'\n');
        }
        self.write_atomic("sessions.jsonl", &buf)
    }

    /// Sessions saved by `hunt` or `watch` (`sessions.jsonl`); unreadable lines are reported
    /// and skipped.
    pub fn load_sessions(&self) -> anyhow::Result<Vec<Session>> {
        let path = self.dir.join("sessions.jsonl");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut out = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<Session>(line) {
                Ok(s) => out.push(s),
                Err(e) => eprintln!("lateral: {}:{}: skipped: {e}", path.display(), i + 1),
            }
        }
        Ok(out)
    }

    /// The saved baseline, if any. A corrupt file is set aside and reported, not fatal.
    pub fn load_baseline(&self) -> anyhow::Result<Option<Baseline>> {
        let path = self.dir.join("baseline.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        match serde_json::from_slice::<Baseline>(&bytes) {
            Ok(b) => Ok(Some(b)),
            Err(e) => {
                let aside = self.dir.join("baseline.json.corrupt");
                let _ = fs::rename(&path, &aside);
                eprintln!(
                    "lateral: {} is corrupt ({e}); moved to {} and starting a new baseline",
                    path.display(),
                    aside.display()
                );
                Ok(None)
            }
        }
    }

    /// Save the baseline (`baseline.json`).
    pub fn save_baseline(&self, b: &Baseline) -> anyhow::Result<()> {
        self.write_atomic("baseline.json", &serde_json::to_vec(b)?)
    }
}

/// The workspace's writer lock; released on drop.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: fs::File,
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", p.display()))
}

#[cfg(not(unix))]
fn set_mode(_p: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        ws.write_atomic("a.json", b"one").unwrap();
        ws.write_atomic("a.json", b"two").unwrap();
        assert_eq!(fs::read(ws.dir().join("a.json")).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(ws.dir()).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert_eq!(
                fs::metadata(ws.dir().join("a.json"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_second_writer_gets_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let held = ws.lock().unwrap();
        let err = ws.lock().unwrap_err().to_string();
        assert!(err.contains("in use by another lateral process"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        ws.lock().unwrap();
    }

    #[test]
    fn corrupt_baseline_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        ws.write_atomic("baseline.json", b"{not json").unwrap();
        assert!(ws.load_baseline().unwrap().is_none());
        assert!(dir.path().join("baseline.json.corrupt").exists());
    }
}
