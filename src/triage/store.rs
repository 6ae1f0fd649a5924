//! Cases and their persistence in the workspace.
//!
//! `triage.json` holds every case, versioned. Every change is one read-modify-write under an
//! exclusive lock on `triage.lock` and lands with an atomic rename (temporary file, fsync,
//! rename), so a kill -9 leaves the previous or the new state, never a torn file, and two
//! TUIs on one workspace merge their changes instead of overwriting each other: each change
//! re-reads the file under the lock before applying itself.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::checklist::{self, Step, StepStatus};
use crate::correlate::Session;
use crate::correlate::rule::Rule;
use crate::event::{Nanos, Severity};

/// File format version of `triage.json`.
pub const TRIAGE_VERSION: u32 = 1;

/// A free-text note on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When (wall clock, nanoseconds).
    pub at: Nanos,
    /// Who.
    pub analyst: String,
    /// What.
    pub text: String,
}

/// An investigation: one or more sessions and the checklist walked for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// `case-<n>`.
    pub id: String,
    /// Title (from the first session).
    pub title: String,
    /// Highest severity of its sessions.
    pub severity: Severity,
    /// Opened by.
    pub created_by: String,
    /// Opened at (wall clock).
    pub created_at: Nanos,
    /// Snapshots of the sessions in the case, as they were when added (refreshed on re-add).
    pub sessions: Vec<Session>,
    /// The checklist.
    pub steps: Vec<Step>,
    /// Notes.
    pub notes: Vec<Note>,
    /// Changes applied to this case (for conflict diagnostics).
    pub revision: u64,
}

/// Everything in `triage.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageFile {
    /// Format version.
    pub version: u32,
    /// Cases, oldest first.
    pub cases: Vec<Case>,
    /// Next case number.
    pub next_case: u64,
}

/// Why triage state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// File system error with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid triage state (it is set aside).
    #[error("{path} is corrupt ({reason}); it was moved to {aside}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
        /// Where it was moved.
        aside: PathBuf,
    },
    /// A newer lateral wrote it.
    #[error("{path} has format version {found}; this lateral reads up to {TRIAGE_VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// No such case.
    #[error("no case `{0}`")]
    NoSuchCase(String),
    /// No such session.
    #[error("no session `{0}`")]
    NoSuchSession(String),
    /// A refused checklist change.
    #[error(transparent)]
    Checklist(#[from] checklist::ChecklistError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TriageError + '_ {
    move |source| TriageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Triage state in a workspace directory.
#[derive(Debug, Clone)]
pub struct Store {
    file: PathBuf,
    lock: PathBuf,
}

impl Store {
    /// The store in workspace directory `dir` (which must exist).
    pub fn new(dir: &Path) -> Store {
        Store {
            file: dir.join("triage.json"),
            lock: dir.join("triage.lock"),
        }
    }

    /// Read the current state (no lock needed: writes are atomic renames).
    pub fn load(&self) -> Result<TriageFile, TriageError> {
        let bytes = match fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TriageFile {
                    version: TRIAGE_VERSION,
                    cases: Vec::new(),
                    next_case: 1,
                });
            }
            Err(e) => return Err(io(&self.file)(e)),
        };
        match serde_json::from_slice::<TriageFile>(&bytes) {
            Ok(t) if t.version > TRIAGE_VERSION => Err(TriageError::Version {
                path: self.file.clone(),
                found: t.version,
            }),
            Ok(t) => Ok(t),
            Err(e) => {
                let aside = self.file.with_extension("json.corrupt");
                let _ = fs::rename(&self.file, &aside);
                Err(TriageError::Corrupt {
                    path: self.file.clone(),
                    reason: e.to_string(),
                    aside,
                })
            }
        }
    }

    /// Apply `change` to the freshest state under the lock and persist it at once.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut TriageFile) -> Result<T, TriageError>,
    ) -> Result<T, TriageError> {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(io(&self.lock))?;
        lock.lock().map_err(io(&self.lock))?;
        let mut state = match self.load() {
            Ok(s) => s,
            // A corrupt file was set aside: start over rather than refuse all work.
            Err(TriageError::Corrupt { .. }) => TriageFile {
                version: TRIAGE_VERSION,
                cases: Vec::new(),
                next_case: 1,
            },
            Err(e) => return Err(e),
        };
        let out = change(&mut state)?;
        state.version = TRIAGE_VERSION;
        self.write(&state)?;
        // The lock is released when `lock` is dropped.
        Ok(out)
    }

    fn write(&self, state: &TriageFile) -> Result<(), TriageError> {
        let tmp = self.file.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| io(&self.file)(std::io::Error::other(e)))?;
        {
            let mut o = fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o.open(&tmp).map_err(io(&tmp))?;
            f.write_all(&bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &self.file).map_err(io(&self.file))?;
        if let Some(dir) = self.file.parent()
            && let Ok(d) = fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Open a case for `sessions` (or add them to `into`, an existing case).
    pub fn open_case(
        &self,
        sessions: &[Session],
        into: Option<&str>,
        rules: &[Rule],
        analyst: &str,
        now: Nanos,
    ) -> Result<String, TriageError> {
        self.update(|t| {
            if let Some(id) = into {
                let case = t
                    .cases
                    .iter_mut()
                    .find(|c| c.id == id)
                    .ok_or_else(|| TriageError::NoSuchCase(id.into()))?;
                for s in sessions {
                    match case.sessions.iter_mut().find(|x| x.id == s.id) {
                        Some(x) => *x = s.clone(),
                        None => case.sessions.push(s.clone()),
                    }
                }
                // New rules may bring new steps; keep the state of existing ones.
                for step in checklist::checklist_for(&case.sessions, rules) {
                    if !case.steps.iter().any(|s| s.id == step.id) {
                        case.steps.push(step);
                    }
                }
                case.severity = case
                    .sessions
                    .iter()
                    .map(|s| s.severity)
                    .max()
                    .unwrap_or(case.severity);
                case.revision += 1;
                return Ok(id.to_string());
            }
            let first = sessions
                .first()
                .ok_or_else(|| TriageError::NoSuchSession("(none given)".into()))?;
            let id = format!("case-{}", t.next_case.max(1));
            t.next_case = t.next_case.max(1) + 1;
            t.cases.push(Case {
                id: id.clone(),
                title: first.title.clone(),
                severity: sessions
                    .iter()
                    .map(|s| s.severity)
                    .max()
                    .unwrap_or(first.severity),
                created_by: analyst.to_string(),
                created_at: now,
                sessions: sessions.to_vec(),
                steps: checklist::checklist_for(sessions, rules),
                notes: Vec::new(),
                revision: 1,
            });
            Ok(id)
        })
    }

    /// Set a step's status (and note).
    pub fn set_step(
        &self,
        case: &str,
        step: &str,
        status: StepStatus,
        note: Option<&str>,
        analyst: &str,
        now: Nanos,
    ) -> Result<(), TriageError> {
        self.update(|t| {
            let c = t
                .cases
                .iter_mut()
                .find(|c| c.id == case)
                .ok_or_else(|| TriageError::NoSuchCase(case.into()))?;
            checklist::set_status(&mut c.steps, step, status, note, analyst, now)?;
            c.revision += 1;
            Ok(())
        })
    }

    /// Attach an event to a step as evidence.
    pub fn attach(&self, case: &str, step: &str, event_id: &str) -> Result<(), TriageError> {
        self.update(|t| {
            let c = t
                .cases
                .iter_mut()
                .find(|c| c.id == case)
                .ok_or_else(|| TriageError::NoSuchCase(case.into()))?;
            let s = c.steps.iter_mut().find(|s| s.id == step).ok_or_else(|| {
                TriageError::Checklist(checklist::ChecklistError::NoSuchStep(step.into()))
            })?;
            if !s.evidence.iter().any(|e| e == event_id) {
                s.evidence.push(event_id.to_string());
            }
            c.revision += 1;
            Ok(())
        })
    }

    /// Add a note to a case.
    pub fn note(
        &self,
        case: &str,
        text: &str,
        analyst: &str,
        now: Nanos,
    ) -> Result<(), TriageError> {
        self.update(|t| {
            let c = t
                .cases
                .iter_mut()
                .find(|c| c.id == case)
                .ok_or_else(|| TriageError::NoSuchCase(case.into()))?;
            c.notes.push(Note {
                at: now,
                analyst: analyst.to_string(),
                text: text.to_string(),
            });
            c.revision += 1;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, sev: Severity) -> Session {
        let mut s = super::super::checklist::tests_support::session();
        s.id = crate::correlate::session::SessionId(id.into());
        s.severity = sev;
        s
    }

    #[test]
    fn cases_persist_and_merge_across_writers() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::new(dir.path());
        let b = Store::new(dir.path());
        let id = a
            .open_case(&[session("s1", Severity::Medium)], None, &[], "ana", 1)
            .unwrap();
        assert_eq!(id, "case-1");
        // A second "TUI" changes a step while the first adds a session: both survive.
        b.set_step(&id, "isolate-source", StepStatus::Done, None, "bo", 2)
            .unwrap();
        a.open_case(&[session("s2", Severity::High)], Some(&id), &[], "ana", 3)
            .unwrap();
        let t = Store::new(dir.path()).load().unwrap();
        let c = &t.cases[0];
        assert_eq!(c.sessions.len(), 2);
        assert_eq!(c.severity, Severity::High);
        assert_eq!(c.steps[0].status, StepStatus::Done);
        assert_eq!(c.revision, 3);
        assert_eq!(
            a.open_case(&[session("s3", Severity::Low)], None, &[], "ana", 4)
                .unwrap(),
            "case-2"
        );
    }

    #[test]
    fn refused_changes_leave_state_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let st = Store::new(dir.path());
        let id = st
            .open_case(&[session("s1", Severity::Medium)], None, &[], "ana", 1)
            .unwrap();
        let before = st.load().unwrap();
        assert!(
            st.set_step(&id, "segment-network", StepStatus::Skipped, None, "ana", 2)
                .is_err()
        );
        assert!(
            st.set_step(
                "case-9",
                "segment-network",
                StepStatus::Done,
                None,
                "ana",
                2
            )
            .is_err()
        );
        assert_eq!(st.load().unwrap(), before);
    }

    #[test]
    fn corrupt_state_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("triage.json"), b"{broken").unwrap();
        let st = Store::new(dir.path());
        assert!(matches!(st.load(), Err(TriageError::Corrupt { .. })));
        assert!(dir.path().join("triage.json.corrupt").exists());
        assert!(st.load().unwrap().cases.is_empty());
    }
}
