//! `lateral hunt`: correlate files in batch and print the sessions found.
//!
//! Sources are merged by event time (the earliest next event of any file goes first), so the
//! engine sees the same order a live tail of the same files would, and the results agree.

// Progress reporting measures wall-clock time; the correlator itself never reads the clock.
#![allow(clippy::disallowed_methods)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::output::summary_line;
use super::{HuntArgs, SessionOutput, UsageError};
use crate::correlate::baseline::Baseline;
use crate::correlate::{Engine, EngineConfig, Rule, RuleError, Session, builtin};
use crate::event::{format_timestamp, sanitize};
use crate::ingest::SourceReport;
use crate::ingest::batch::{self, Merge};

/// Load the shipped rules plus every `*.yml`/`*.yaml` under `dirs`. Invalid rules are
/// returned as errors; the valid ones are still used.
pub fn load_rules(dirs: &[PathBuf]) -> (Vec<Rule>, Vec<RuleError>) {
    let (mut rules, mut errors) = builtin::rules();
    for dir in dirs {
        let mut files = Vec::new();
        let mut failures = Vec::new();
        batch::collect_files(dir, &mut Default::default(), &mut files, &mut failures);
        for (p, e) in failures {
            errors.push(RuleError {
                file: p.display().to_string(),
                line: None,
                reason: e.to_string(),
            });
        }
        for f in files {
            if !f.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                continue;
            }
            match std::fs::read_to_string(&f) {
                Ok(text) => {
                    for r in Rule::parse_all(&text, &f.display().to_string()) {
                        match r {
                            Ok(rule) => rules.push(rule),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                Err(e) => errors.push(RuleError {
                    file: f.display().to_string(),
                    line: None,
                    reason: e.to_string(),
                }),
            }
        }
    }
    // A later rule with the same id replaces the earlier one (user rules override shipped ones).
    let mut seen = std::collections::HashMap::new();
    let mut deduped: Vec<Rule> = Vec::new();
    for r in rules {
        match seen.get(&r.id) {
            Some(&i) => deduped[i] = r,
            None => {
                seen.insert(r.id.clone(), deduped.len());
                deduped.push(r);
            }
        }
    }
    (deduped, errors)
}

/// Run `lateral hunt`.
pub fn run(args: &HuntArgs) -> anyhow::Result<ExitCode> {
    let opts = args.input.batch_options()?;
    let (rules, rule_errors) = load_rules(&args.rules);
    for e in &rule_errors {
        eprintln!("rule not loaded: {e}");
    }
    let config = EngineConfig {
        window: parse_duration(&args.window)?,
        lateness: parse_duration(&args.lateness)?,
        ..EngineConfig::default()
    };
    let workspace = args
        .workspace
        .as_deref()
        .map(super::workspace::Workspace::open)
        .transpose()?;
    let mut baseline = match &workspace {
        Some(ws) => ws.load_baseline()?.unwrap_or_default(),
        None => Baseline::default(),
    };
    if !args.baseline.is_empty() {
        learn_baseline(&args.baseline, &opts, &mut baseline);
    }
    let mut engine = Engine::new(rules, config, baseline);
    if !args.sigma.is_empty() {
        // Sigma rules run only when asked for: the default rule set never changes.
        let set = super::rules::load_sigma(&args.sigma, &args.sigma_args)?;
        if !args.quiet {
            for l in &set.listed {
                if let crate::correlate::sigma::State::Invalid(e) = &l.state {
                    eprintln!("sigma rule not loaded: {e}");
                }
            }
            eprintln!(
                "{} (see `lateral rules list --sigma DIR`)",
                super::rules::load_summary(&set)
            );
        }
        engine = engine.with_sigma(set);
    }
    let (readers, failed) = batch::open_paths(&args.input.paths, &opts);
    let mut reports: Vec<SourceReport> = failed;
    let mut progress = Progress::new(
        !args.quiet && std::io::stderr().is_terminal(),
        readers.len(),
    );
    // With a workspace, every event read is also indexed for `lateral search`.
    let mut indexer = match &workspace {
        Some(ws) => open_indexer(ws)?,
        None => None,
    };
    let mut merge = Merge::new(readers);
    let mut events = 0u64;
    for ev in merge.by_ref() {
        events += 1;
        engine.observe(&ev);
        if let Some(w) = indexer.as_mut() {
            w.add(ev)?;
        }
        if events.is_multiple_of(4096) {
            progress.tick(events, engine.stats().sessions);
        }
    }
    reports.extend(merge.take_finished());
    engine.advance(i64::MAX);
    if let Some(w) = indexer {
        w.finish()?;
    }
    progress.finish();

    let sessions: Vec<Session> = engine
        .sessions()
        .into_iter()
        .filter(|s| s.severity >= args.min_severity)
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let printed = print_sessions(&mut out, &sessions, args.output);
    if let Err(e) = printed.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    if let Some(ws) = &workspace {
        ws.save_sessions(&engine.sessions())?;
        ws.save_baseline(engine.baseline())?;
    }
    let unreadable = reports.iter().filter(|r| !r.readable()).count();
    if !args.quiet {
        for r in reports
            .iter()
            .filter(|r| !r.readable() || r.errors > 0 || r.events == 0)
        {
            eprintln!("{}", summary_line(r));
        }
        let mut by_sev = [0usize; 5];
        for s in engine.sessions() {
            by_sev[s.severity as usize] += 1;
        }
        eprintln!(
            "{} source(s), {events} event(s), {} session(s): {} critical, {} high, {} medium, {} low{}",
            reports.len(),
            by_sev.iter().sum::<usize>(),
            by_sev[4],
            by_sev[3],
            by_sev[2],
            by_sev[1],
            if unreadable > 0 {
                format!("; {unreadable} source(s) unreadable")
            } else {
                String::new()
            }
        );
    }
    if let Some(level) = args.fail_on
        && engine.sessions().iter().any(|s| s.severity >= level)
    {
        return Ok(ExitCode::from(3));
    }
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The workspace's index writer, or `None` (with a warning) while another process writes
/// the index: hunting does not need it.
fn open_indexer(ws: &super::workspace::Workspace) -> anyhow::Result<Option<crate::index::Writer>> {
    match super::index::open_writer(ws, crate::index::WriterConfig::default()) {
        Ok(w) => Ok(Some(w)),
        Err(e @ crate::index::IndexError::Locked { .. }) => {
            eprintln!("lateral: {e}; events are not indexed this time");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Read `paths` once and learn their flows into the baseline, then end learning.
fn learn_baseline(paths: &[PathBuf], opts: &batch::BatchOptions, baseline: &mut Baseline) {
    let (readers, failed) = batch::open_paths(paths, opts);
    for r in failed {
        eprintln!("baseline: {}", summary_line(&r));
    }
    // No rules: only the baseline's flow learning runs.
    let mut learner = Engine::new(
        Vec::new(),
        EngineConfig::default(),
        std::mem::take(baseline),
    );
    for ev in Merge::new(readers) {
        learner.observe(&ev);
    }
    learner.advance(i64::MAX);
    *baseline = learner.baseline().clone();
    baseline.finish_learning();
}

/// Parse `90s`, `5m`, `2h`, `7d`.
pub fn parse_duration(s: &str) -> Result<i64, UsageError> {
    let s = s.trim();
    let bad = || {
        UsageError(format!(
            "invalid duration `{s}` (examples: 90s, 5m, 2h, 7d)"
        ))
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult: i64 = match unit {
        "ms" => 1_000_000,
        "s" | "" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// Print sessions in the chosen format.
pub fn print_sessions(
    out: &mut dyn Write,
    sessions: &[Session],
    format: SessionOutput,
) -> std::io::Result<()> {
    match format {
        SessionOutput::Jsonl => {
            for s in sessions {
                serde_json::to_writer(&mut *out, s)?;
                out.write_all(b"\n")?;
            }
        }
        SessionOutput::Table => {
            writeln!(
                out,
                "{:<8} {:<44} {:<32} {:<11} {:<24} {:<20} {:>6}",
                "SEVERITY", "TITLE", "CONTEXT", "RA CH NR SE", "TECHNIQUES", "FIRST SEEN", "EVENTS"
            )?;
            for s in sessions {
                writeln!(
                    out,
                    "{:<8} {:<44} {:<32} {:<11} {:<24} {:<20} {:>6}",
                    s.severity.to_string(),
                    sanitize(&s.title, 44),
                    sanitize(&context_label(s), 32),
                    group_marks(s),
                    sanitize(&s.techniques.join(","), 24),
                    format_timestamp(s.first_seen).get(..19).unwrap_or(""),
                    s.event_count
                )?;
            }
            if sessions.is_empty() {
                writeln!(out, "(no sessions)")?;
            }
        }
        SessionOutput::Csv => {
            writeln!(
                out,
                "id,severity,rule_id,title,case,context,host,user,source_ip,groups,tactics,techniques,first_seen,last_seen,event_count"
            )?;
            for s in sessions {
                let fields = [
                    s.id.0.clone(),
                    s.severity.to_string(),
                    s.rule_id.clone(),
                    s.title.clone(),
                    s.case.map(|c| c.title().to_string()).unwrap_or_default(),
                    s.context.key.clone(),
                    s.context.host.clone().unwrap_or_default(),
                    s.context.user.clone().unwrap_or_default(),
                    s.context.source_ip.clone().unwrap_or_default(),
                    s.groups
                        .iter()
                        .map(|g| g.name())
                        .collect::<Vec<_>>()
                        .join(";"),
                    s.tactics.join(";"),
                    s.techniques.join(";"),
                    format_timestamp(s.first_seen),
                    format_timestamp(s.last_seen),
                    s.event_count.to_string(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        SessionOutput::Markdown => {
            writeln!(out, "# lateral hunt: {} session(s)\n", sessions.len())?;
            writeln!(
                out,
                "| severity | title | context | groups | techniques | first seen | events |"
            )?;
            writeln!(out, "|---|---|---|---|---|---|---|")?;
            for s in sessions {
                writeln!(
                    out,
                    "| {} | {} | `{}` | {} | {} | {} | {} |",
                    s.severity,
                    md(&s.title),
                    md(&context_label(s)),
                    s.groups
                        .iter()
                        .map(|g| g.title())
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.techniques.join(", "),
                    format_timestamp(s.first_seen),
                    s.event_count
                )?;
            }
            for s in sessions {
                writeln!(out, "\n## {} — {} ({})\n", s.severity, md(&s.title), s.id)?;
                for e in &s.explanation {
                    writeln!(out, "- {}", md(e))?;
                }
                if let Some(next) = s.near_miss.next_case {
                    let missing: Vec<&str> = s
                        .near_miss
                        .missing_groups
                        .iter()
                        .map(|g| g.title())
                        .collect();
                    writeln!(
                        out,
                        "- Would escalate to **{}** with: {}{}",
                        next.title(),
                        if missing.is_empty() {
                            "nothing more".to_string()
                        } else {
                            missing.join(", ")
                        },
                        if s.near_miss.needs_interactive {
                            " (and an interactive session)"
                        } else {
                            ""
                        }
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// A short label for a session's context.
pub fn context_label(s: &Session) -> String {
    let c = &s.context;
    let mut label = match (&c.namespace, &c.pod) {
        (Some(ns), Some(pod)) => format!("{ns}/{pod}"),
        _ => match (&c.host, &c.user) {
            (Some(h), Some(u)) => format!("{u}@{h}"),
            (Some(h), None) => h.clone(),
            _ => c.source_ip.clone().unwrap_or_else(|| c.key.clone()),
        },
    };
    if let Some(t) = c.targets.first() {
        label.push_str(&format!(" → {t}"));
        if c.targets.len() > 1 {
            label.push_str(&format!(" +{}", c.targets.len() - 1));
        }
    }
    label
}

/// `✔`/`·` for the four groups in order.
pub fn group_marks(s: &Session) -> String {
    crate::correlate::Group::ALL
        .iter()
        .map(|g| if s.groups.contains(g) { "✔ " } else { "· " })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A CSV cell: sanitized, spreadsheet formulas defused, quoted when needed.
pub(super) fn csv_field(s: &str) -> String {
    let s = sanitize(s, 2000);
    // Leading = + - @ would be formulas in spreadsheets.
    let guarded = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    if guarded.contains([',', '"', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn md(s: &str) -> String {
    sanitize(s, 400).replace('|', "\\|")
}

/// A progress line on stderr for long runs (only on a terminal).
struct Progress {
    enabled: bool,
    sources: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(enabled: bool, sources: usize) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            sources,
            started: now,
            last: now,
        }
    }

    fn tick(&mut self, events: u64, sessions: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\rhunting {} source(s): {events} events, {:.0} events/s, {sessions} session(s)   ",
            self.sources,
            events as f64 / secs
        );
    }

    fn finish(&self) {
        if self.enabled && self.started.elapsed() > Duration::from_millis(250) {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration("2h").unwrap(), 7_200_000_000_000);
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn csv_guards_formulas_and_quotes() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
