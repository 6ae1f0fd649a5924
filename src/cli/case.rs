//! `lateral case` and `lateral report`: triage from the command line, on the same workspace
//! state the TUI uses.

// Step changes are stamped with the wall clock (when the analyst did it).
#![allow(clippy::disallowed_methods)]

use std::process::ExitCode;

use super::workspace::Workspace;
use super::{CaseArgs, CaseCommand, ReportArgs, ReportFormat, UsageError};
use crate::correlate::Session;
use crate::event::{Nanos, Severity, sanitize};
use crate::triage::checklist::{self, StepStatus};
use crate::triage::report;
use crate::triage::store::Store;

/// The analyst's name: `--analyst`, `$LATERAL_ANALYST`, `$USER`, or `analyst`.
pub fn analyst(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("LATERAL_ANALYST").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "analyst".into())
}

/// Wall-clock now in nanoseconds (when a triage action happened).
pub fn now() -> Nanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn find_sessions(all: &[Session], ids: &[String]) -> Result<Vec<Session>, UsageError> {
    ids.iter()
        .map(|id| {
            let matches: Vec<&Session> = all
                .iter()
                .filter(|s| s.id.0.starts_with(id.as_str()))
                .collect();
            match matches.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(UsageError(format!(
                    "no session `{id}` in the workspace (lateral hunt --workspace saves them)"
                ))),
                _ => Err(UsageError(format!("session id prefix `{id}` is ambiguous"))),
            }
        })
        .collect()
}

/// Run `lateral case ...`.
pub fn run(args: &CaseArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(&args.workspace)?;
    let store = Store::new(ws.dir());
    let who = analyst(args.analyst.as_deref());
    let (rules, _) = super::hunt::load_rules(&[]);
    match &args.command {
        CaseCommand::Open { sessions, into } => {
            let all = ws.load_sessions()?;
            let chosen = find_sessions(&all, sessions)?;
            let id = store.open_case(&chosen, into.as_deref(), &rules, &who, now())?;
            println!("{id}");
        }
        CaseCommand::List => {
            let t = store.load()?;
            println!(
                "{:<10} {:<8} {:>8} {:>9}  TITLE",
                "CASE", "SEVERITY", "SESSIONS", "CHECKLIST"
            );
            for c in &t.cases {
                let (done, total) = checklist::progress(&c.steps);
                println!(
                    "{:<10} {:<8} {:>8} {:>9}  {}",
                    c.id,
                    c.severity.to_string(),
                    c.sessions.len(),
                    format!("{done}/{total}"),
                    sanitize(&c.title, 80)
                );
            }
        }
        CaseCommand::Show { case } => {
            let t = store.load()?;
            let c = t
                .cases
                .iter()
                .find(|c| c.id == *case)
                .ok_or_else(|| UsageError(format!("no case `{case}`")))?;
            println!("{} — {} ({})", c.id, sanitize(&c.title, 120), c.severity);
            for s in &c.steps {
                println!(
                    "  [{:<7}] {:<22} {}",
                    s.status.label(),
                    s.id,
                    sanitize(&s.title, 80)
                );
                if let Some(q) = &s.query {
                    println!("            pivot: {}", sanitize(q, 200));
                }
                if !s.note.is_empty() {
                    println!("            note: {}", sanitize(&s.note, 200));
                }
            }
        }
        CaseCommand::Step {
            case,
            step,
            status,
            note,
        } => {
            let status: StepStatus = status.parse().map_err(UsageError)?;
            store.set_step(case, step, status, note.as_deref(), &who, now())?;
        }
        CaseCommand::Note { case, text } => store.note(case, text, &who, now())?,
        CaseCommand::Attach {
            case,
            step,
            event_id,
        } => store.attach(case, step, event_id)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `lateral report`.
pub fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(&args.workspace)?;
    let store = Store::new(ws.dir());
    let triage = store.load()?;
    let (rules, _) = super::hunt::load_rules(&[]);
    let mut reports = Vec::new();
    match (&args.case, args.all) {
        (Some(id), _) => {
            let c = triage
                .cases
                .iter()
                .find(|c| c.id == *id)
                .ok_or_else(|| UsageError(format!("no case `{id}`")))?;
            reports.push(report::case_report(c));
        }
        (None, true) => {
            reports.extend(triage.cases.iter().map(report::case_report));
            let in_cases: Vec<&str> = triage
                .cases
                .iter()
                .flat_map(|c| c.sessions.iter().map(|s| s.id.0.as_str()))
                .collect();
            for s in ws.load_sessions()? {
                if s.severity >= Severity::Medium && !in_cases.contains(&s.id.0.as_str()) {
                    reports.push(report::session_report(&s, &rules));
                }
            }
        }
        (None, false) => return Err(UsageError("choose --case ID or --all".into()).into()),
    }
    let stamp = now();
    match args.format {
        ReportFormat::Markdown => {
            for r in &reports {
                println!("{}", report::markdown(r, stamp));
            }
            if reports.is_empty() {
                println!(
                    "No cases and no sessions at medium or above in {}.",
                    ws.dir().display()
                );
            }
        }
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
    }
    Ok(ExitCode::SUCCESS)
}
