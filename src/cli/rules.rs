//! `lateral rules list|lint|test`: what the rules are, which are broken, and why a rule did
//! (not) fire on given events. Also the file reading behind `--sigma` for `lateral hunt`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{RulesArgs, RulesCommand, SigmaArgs, UsageError};
use crate::correlate::baseline::Baseline;
use crate::correlate::engine::{Engine, EngineConfig, detectors, summarize};
use crate::correlate::sigma::{self, Kind, Listed, LoadOptions, Mapping, Ruleset, State};
use crate::event::{format_timestamp, sanitize};
use crate::ingest::batch::{self, Merge};

/// Every `*.yml`/`*.yaml` file under `paths` (files are taken as given), sorted, read as
/// (path, text); unreadable ones are returned as errors.
pub fn read_rule_files(paths: &[PathBuf]) -> (Vec<(String, String)>, Vec<sigma::SigmaError>) {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let mut files = Vec::new();
        let mut failures = Vec::new();
        batch::collect_files(path, &mut Default::default(), &mut files, &mut failures);
        for (p, e) in failures {
            errors.push(sigma::SigmaError::Read {
                file: p.display().to_string(),
                reason: e.to_string(),
            });
        }
        files.sort();
        for f in files {
            let yaml = f.extension().is_some_and(|x| x == "yml" || x == "yaml");
            if !yaml && f.as_path() != path.as_path() {
                continue;
            }
            match std::fs::read_to_string(&f) {
                Ok(text) => texts.push((f.display().to_string(), text)),
                Err(e) => errors.push(sigma::SigmaError::Read {
                    file: f.display().to_string(),
                    reason: e.to_string(),
                }),
            }
        }
    }
    (texts, errors)
}

/// The mapping: `--sigma-mapping FILE`, else the shipped one.
pub fn load_mapping(path: Option<&Path>) -> anyhow::Result<Mapping> {
    Ok(match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("--sigma-mapping {}: {e}", p.display())))?;
            Mapping::parse(&text, &p.display().to_string())?
        }
        None => Mapping::builtin()?,
    })
}

/// Load the Sigma rules of `--sigma` paths with the options of `args`. Read errors are
/// listed like invalid documents.
pub fn load_sigma(paths: &[PathBuf], args: &SigmaArgs) -> anyhow::Result<Ruleset> {
    let mapping = load_mapping(args.sigma_mapping.as_deref())?;
    let (texts, read_errors) = read_rule_files(paths);
    let mut opts = LoadOptions {
        statuses: args.sigma_status.clone(),
        min_level: args.sigma_min_level,
        ..LoadOptions::default()
    };
    for p in &args.sigma_placeholder {
        let (name, values) = p.split_once('=').ok_or_else(|| {
            UsageError(format!(
                "--sigma-placeholder `{p}`: expected NAME=VALUE[,VALUE...]"
            ))
        })?;
        opts.placeholders
            .entry(name.trim_matches('%').to_string())
            .or_default()
            .extend(values.split(',').map(str::to_string));
    }
    let mut set = sigma::load(&texts, &mapping, &opts);
    for e in read_errors {
        let file = match &e {
            sigma::SigmaError::Read { file, .. } => file.clone(),
            _ => String::new(),
        };
        set.listed.push(Listed {
            kind: Kind::Rule,
            id: String::new(),
            title: String::new(),
            level: None,
            logsource: String::new(),
            file,
            line: 0,
            state: State::Invalid(e),
        });
    }
    Ok(set)
}

/// One line per count of loaded / unsupported / skipped / invalid documents.
pub fn load_summary(set: &Ruleset) -> String {
    let mut n = [0usize; 4];
    for l in &set.listed {
        n[match l.state {
            State::Loaded(_) => 0,
            State::Unsupported(_) => 1,
            State::Skipped(_) => 2,
            State::Invalid(_) => 3,
        }] += 1;
    }
    format!(
        "sigma: {} loaded ({} rules, {} correlations), {} unsupported, {} skipped, {} invalid",
        n[0],
        set.rules.len(),
        set.correlations.len(),
        n[1],
        n[2],
        n[3]
    )
}

/// Run `lateral rules`.
pub fn run(args: &RulesArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        RulesCommand::List {
            sigma,
            all_statuses,
            json,
            opts,
        } => {
            let mut sargs = opts.clone();
            if *all_statuses {
                sargs.sigma_status = ALL_STATUSES.map(str::to_string).to_vec();
            }
            list(sigma, &sargs, *json)
        }
        RulesCommand::Lint { paths, opts } => lint(paths, opts),
        RulesCommand::Test {
            rule,
            paths,
            limit,
            matches_only,
            opts,
        } => test(rule, paths, opts, *limit, *matches_only),
    }
}

const ALL_STATUSES: [&str; 5] = [
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];

fn state_cells(state: &State) -> (&'static str, String) {
    match state {
        State::Loaded(sources) => ("loaded", sources.join(", ")),
        State::Unsupported(why) => ("unsupported", why.clone()),
        State::Skipped(why) => ("skipped", why.clone()),
        State::Invalid(e) => ("invalid", e.to_string()),
    }
}

fn list(paths: &[PathBuf], args: &SigmaArgs, json: bool) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (builtin, builtin_errors) = crate::correlate::builtin::rules();
    let set = if paths.is_empty() {
        None
    } else {
        Some(load_sigma(paths, args)?)
    };
    let result: std::io::Result<()> = (|| {
        if json {
            for r in &builtin {
                let j = serde_json::json!({
                    "origin": "lateral", "kind": "rule", "id": r.id, "title": r.title,
                    "level": r.level, "logsource": format!("{:?}", r.logsource.datasets),
                    "state": "loaded",
                });
                writeln!(out, "{j}")?;
            }
            for (id, title, level) in detectors() {
                let j = serde_json::json!({
                    "origin": "lateral", "kind": "detector", "id": id, "title": title,
                    "level": level, "state": "loaded",
                });
                writeln!(out, "{j}")?;
            }
            for l in set.iter().flat_map(|s| &s.listed) {
                let (state, why) = state_cells(&l.state);
                let j = serde_json::json!({
                    "origin": "sigma", "kind": l.kind.name(), "id": l.id, "title": l.title,
                    "level": l.level, "logsource": l.logsource, "state": state, "detail": why,
                    "file": l.file, "line": l.line,
                });
                writeln!(out, "{j}")?;
            }
            return Ok(());
        }
        writeln!(
            out,
            "{:<7} {:<11} {:<11} {:<38} {:<9} {:<36} TITLE / WHY",
            "ORIGIN", "KIND", "STATE", "ID", "LEVEL", "LOG SOURCE"
        )?;
        for r in &builtin {
            writeln!(
                out,
                "{:<7} {:<11} {:<11} {:<38} {:<9} {:<36} {}",
                "lateral",
                "rule",
                "loaded",
                sanitize(&r.id, 38),
                r.level.to_string(),
                sanitize(&r.logsource.datasets.join(","), 36),
                sanitize(&r.title, 80)
            )?;
        }
        for (id, title, level) in detectors() {
            writeln!(
                out,
                "{:<7} {:<11} {:<11} {:<38} {:<9} {:<36} {}",
                "lateral",
                "detector",
                "loaded",
                id,
                level.to_string(),
                "(code)",
                title
            )?;
        }
        for l in set.iter().flat_map(|s| &s.listed) {
            let (state, why) = state_cells(&l.state);
            let title = if matches!(l.state, State::Loaded(_)) {
                l.title.clone()
            } else {
                format!("{} — {why}", l.title)
            };
            writeln!(
                out,
                "{:<7} {:<11} {:<11} {:<38} {:<9} {:<36} {}",
                "sigma",
                l.kind.name(),
                state,
                sanitize(&l.id, 38),
                l.level.map(|v| v.to_string()).unwrap_or_default(),
                sanitize(&l.logsource, 36),
                sanitize(&title, 400)
            )?;
        }
        Ok(())
    })();
    if let Err(e) = result.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    for e in &builtin_errors {
        eprintln!("rule not loaded: {e}");
    }
    if let Some(s) = &set {
        eprintln!("{}", load_summary(s));
    }
    Ok(ExitCode::SUCCESS)
}

fn lint(paths: &[PathBuf], args: &SigmaArgs) -> anyhow::Result<ExitCode> {
    let mut all = args.clone();
    // Lint every document, whatever the status filter of a hunt would keep.
    all.sigma_status = ALL_STATUSES.map(str::to_string).to_vec();
    all.sigma_min_level = crate::event::Severity::Info;
    let set = load_sigma(paths, &all)?;
    let mut invalid = 0;
    for l in &set.listed {
        match &l.state {
            State::Invalid(e) => {
                invalid += 1;
                println!("error: {}", sanitize(&e.to_string(), 2000));
            }
            State::Unsupported(why) => {
                println!(
                    "note: {}:{}: {} `{}` is not run: {}",
                    l.file,
                    l.line,
                    l.kind.name(),
                    sanitize(&l.id, 80),
                    sanitize(why, 400)
                );
            }
            _ => {}
        }
    }
    eprintln!("{}", load_summary(&set));
    Ok(if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test(
    rule: &Path,
    paths: &[PathBuf],
    args: &SigmaArgs,
    limit: usize,
    matches_only: bool,
) -> anyhow::Result<ExitCode> {
    let mut all = args.clone();
    all.sigma_status = ALL_STATUSES.map(str::to_string).to_vec();
    all.sigma_min_level = crate::event::Severity::Info;
    let mut set = load_sigma(&[rule.to_path_buf()], &all)?;
    for l in &set.listed {
        match &l.state {
            State::Invalid(e) => eprintln!("invalid: {e}"),
            State::Unsupported(why) => {
                eprintln!("unsupported: {} `{}`: {why}", l.kind.name(), l.id)
            }
            _ => {}
        }
    }
    if set.rules.is_empty() {
        return Err(UsageError(format!("{}: no rule to test", rule.display())).into());
    }
    let opts = batch::BatchOptions::default();
    let (readers, failed) = batch::open_paths(paths, &opts);
    for r in &failed {
        eprintln!("{}", super::output::summary_line(r));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut events = 0u64;
    let mut relevant = vec![0u64; set.rules.len()];
    let mut matched = vec![0u64; set.rules.len()];
    let mut shown_misses = 0usize;
    let mut kept: Vec<crate::event::Event> = Vec::new();
    let has_correlations = !set.correlations.is_empty();
    for ev in Merge::new(readers) {
        events += 1;
        for (i, r) in set.rules.iter().enumerate() {
            let Some(variant) = set.variant_for(i, &ev) else {
                continue;
            };
            relevant[i] += 1;
            let hit = variant.detection.matches(&ev);
            if hit {
                matched[i] += 1;
            } else if matches_only || shown_misses >= limit {
                continue;
            } else {
                shown_misses += 1;
            }
            writeln!(
                out,
                "{} {} {} {}  [{}]",
                if hit { "MATCH   " } else { "no match" },
                format_timestamp(ev.timestamp),
                sanitize(&r.meta.id, 60),
                summarize(&ev),
                ev.id
            )?;
            writeln!(
                out,
                "    condition: {}",
                sanitize(variant.detection.condition_text(), 300)
            )?;
            for rep in variant.detection.explain(&ev) {
                writeln!(
                    out,
                    "    {} {}",
                    if rep.matched { "✔" } else { "✘" },
                    sanitize(&rep.name, 80)
                )?;
                for d in &rep.detail {
                    writeln!(out, "        {}", sanitize(d, 400))?;
                }
            }
        }
        if has_correlations {
            kept.push(ev);
        }
    }
    for (i, r) in set.rules.iter().enumerate() {
        writeln!(
            out,
            "rule {}: {} of {} event(s) of its log source matched ({} event(s) read)",
            r.meta.id, matched[i], relevant[i], events
        )?;
    }
    if has_correlations {
        let mut engine = Engine::new(Vec::new(), EngineConfig::default(), Baseline::default())
            .with_sigma(std::mem::take(&mut set));
        for ev in &kept {
            engine.observe(ev);
        }
        engine.advance(i64::MAX);
        let ids: Vec<String> = engine
            .sigma()
            .map(|s| s.correlations.iter().map(|c| c.meta.id.clone()).collect())
            .unwrap_or_default();
        for s in engine.sessions() {
            for id in s.rules.iter().filter(|r| ids.contains(r)) {
                writeln!(
                    out,
                    "CORRELATION {id} fired in {}: {}",
                    sanitize(&s.context.key, 120),
                    s.explanation
                        .iter()
                        .find(|e| e.contains(id.as_str()))
                        .map(|e| sanitize(e, 600).into_owned())
                        .unwrap_or_default()
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
