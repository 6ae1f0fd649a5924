//! Guided triage: checklists, cases and their persistence, response artifacts and reports.
//!
//! - [`checklist`]: the nine playbook steps plus the steps rules add, pivots filled from the
//!   session's context, step states (todo / done / skipped with a note / not applicable).
//! - [`store`]: cases (one or more sessions and their checklist) in the workspace, written
//!   atomically under a lock so restarts, kill -9 and two TUIs never lose or tear state.
//! - [`response`]: containment commands and policies generated as text, quoted so values
//!   from logs cannot become code. Never executed.
//! - [`report`]: Markdown and JSON incident reports.

pub mod checklist;
pub mod report;
pub mod response;
pub mod store;
