//! `lateral case` and `lateral report`: triage from the command line, on the same workspace
//! state the TUI uses.

// Step changes are stamped with the wall clock (when the analyst did it).
#![allow(clippy::disallowed_methods)]

use std::process::ExitCode;

use super::workspace::Workspace;
use super::{CaseArgs, CaseCommand, ReportArgs, ReportFormat, UsageError};
use crate::correlate::{Rule, Session};
use crate::event::{Event, Nanos, Severity, fnv1a, sanitize};
use crate::index::{Index, Query, TimeRange};
use crate::triage::checklist::{self, StepStatus};
use crate::triage::report;
use crate::triage::store::{Case, Store};

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
        CaseCommand::Export { case, out, window } => {
            let window = super::hunt::parse_duration(window)?;
            let t = store.load()?;
            let c = t
                .cases
                .iter()
                .find(|c| c.id == *case)
                .ok_or_else(|| UsageError(format!("no case `{case}`")))?;
            let n = export(&ws, c, &rules, window, out, &who)?;
            eprintln!(
                "{}: case {} with {} session(s) and {n} event(s)",
                out.display(),
                c.id,
                c.sessions.len()
            );
        }
        CaseCommand::Attach {
            case,
            step,
            event_id,
        } => store.attach(case, step, event_id)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Bundle format version written in the header's `lateral_bundle` key.
pub const BUNDLE_VERSION: u32 = 1;

/// Write the bundle of case `c` to `out`; returns how many events it holds.
///
/// What is included, from the workspace index: every evidence event of the case's sessions
/// (by `event.id`) and every indexed event in each session's time range
/// `[first_seen - window, last_seen]`. The time range is deliberately wider than the session's
/// own context: the correlator decides what belongs to a context from events of other hosts
/// too (a logon recorded on the target names the source), so filtering by context could drop
/// an event the session depends on and the bundle would no longer reproduce it. Events are
/// written oldest first, each once.
fn export(
    ws: &Workspace,
    c: &Case,
    rules: &[Rule],
    window: Nanos,
    out: &std::path::Path,
    who: &str,
) -> anyhow::Result<usize> {
    use std::collections::BTreeMap;
    use std::io::Write;

    let index_dir = super::index::index_dir(ws);
    let index = Index::open(&index_dir).map_err(|e| {
        UsageError(format!(
            "{e} (a bundle needs the workspace index: hunt with --workspace or run lateral index)"
        ))
    })?;
    let searcher = index.searcher(false)?;
    // Keyed by (time, id) so the bundle is in event order and each event appears once.
    let mut events: BTreeMap<(Nanos, String), Event> = BTreeMap::new();
    let mut add = |hits: Vec<crate::index::Hit>| {
        for h in hits {
            events.insert((h.event.timestamp, h.event.id.clone()), h.event);
        }
    };
    let ids: Vec<&str> = c
        .sessions
        .iter()
        .flat_map(|s| s.evidence.iter().map(|e| e.event_id.as_str()))
        .collect();
    if !ids.is_empty() {
        let q = Query::ids(index.schema(), &ids);
        let n = searcher.count(&q, TimeRange::default())?;
        add(searcher.hits(&q, TimeRange::default(), limit(n)?)?);
    }
    for s in &c.sessions {
        let range = TimeRange {
            since: Some(s.first_seen.saturating_sub(window)),
            until: Some(s.last_seen),
        };
        let q = Query::all();
        let n = searcher.count(&q, range)?;
        add(searcher.hits(&q, range, limit(n)?)?);
    }

    let fired: Vec<&str> = c
        .sessions
        .iter()
        .flat_map(|s| std::iter::once(s.rule_id.as_str()).chain(s.rules.iter().map(String::as_str)))
        .collect();
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .filter(|r| fired.contains(&r.id.as_str()))
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "source": r.source,
                // A fingerprint of the compiled rule: a reader can tell whether its own copy
                // of the rule is the one the case was hunted with.
                "fingerprint": format!("{:016x}", fnv1a(format!("{r:?}").as_bytes())),
            })
        })
        .collect();
    let header = serde_json::json!({
        "lateral_bundle": BUNDLE_VERSION,
        "case": c,
        "rules": rules,
        "window_ns": window,
        "events": events.len(),
        "included": "evidence events by id, and every indexed event in [first_seen - window, last_seen] of each session",
        "exported_by": who,
        "exported_at": now(),
    });

    // Written next to the destination and renamed, so a reader never sees half a bundle.
    let tmp = out.with_extension("lateral-tmp");
    let file =
        std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, &header)?;
    w.write_all(b"\n")?;
    for ev in events.values() {
        serde_json::to_writer(&mut w, &ev.to_json())?;
        w.write_all(b"\n")?;
    }
    let file = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
    file.sync_all()?;
    std::fs::rename(&tmp, out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    Ok(events.len())
}

/// A hit limit for `n` matching events.
fn limit(n: u64) -> anyhow::Result<usize> {
    Ok(usize::try_from(n)?)
}

/// Write every report's response artifacts into `dir`, one file each, private to the user.
fn write_artifacts(dir: &std::path::Path, reports: &[report::CaseReport]) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let mut written = 0;
    for r in reports {
        for a in &r.artifacts {
            // File names are built by lateral from a session id and a platform; still, keep
            // only the last path component so nothing can land outside `dir`.
            let name = std::path::Path::new(&a.file_name)
                .file_name()
                .map(|n| n.to_owned());
            let Some(name) = name else { continue };
            let path = dir.join(format!("{}-{}", r.id, name.to_string_lossy()));
            crate::ingest::checkpoint::write_atomic(&path, a.text.as_bytes())
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            written += 1;
        }
    }
    eprintln!(
        "{written} response artifact(s) written to {} (review before use; lateral never runs them)",
        dir.display()
    );
    Ok(())
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
    if let Some(dir) = &args.artifacts {
        write_artifacts(dir, &reports)?;
    }
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
