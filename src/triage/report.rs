//! Incident reports for cases (and sessions not yet in a case): summary, hop path, timeline,
//! group coverage, evidence, checklist, response artifacts and the ATT&CK mapping, as
//! Markdown for people and JSON for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::checklist::{self, Step};
use super::response::{self, Artifact};
use super::store::Case;
use crate::correlate::rule::{Group, Rule};
use crate::correlate::{Session, session::Evidence};
use crate::event::{Nanos, Severity, format_timestamp, sanitize};

/// One hop: access from one place to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// Where from (address, host or pod).
    pub from: String,
    /// Where to.
    pub to: String,
    /// First seen.
    pub at: String,
    /// How (protocol or authentication), from the rules that saw it.
    pub via: String,
}

/// A report on one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// Case id (`session-<id>` for a session not in a case).
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Hop path, in time order.
    pub hops: Vec<Hop>,
    /// Evidence across sessions, in time order.
    pub timeline: Vec<Evidence>,
    /// Context → groups seen.
    pub coverage: BTreeMap<String, Vec<Group>>,
    /// Checklist.
    pub checklist: Vec<Step>,
    /// Containment artifacts.
    pub artifacts: Vec<Artifact>,
    /// Tactic → techniques.
    pub attack: BTreeMap<String, Vec<String>>,
    /// Notes.
    pub notes: Vec<String>,
}

/// How a rule id says the access was made.
fn via(rules: &[String]) -> String {
    let mut v: Vec<&str> = Vec::new();
    for r in rules {
        let label = match r.as_str() {
            x if x.contains("psexec") || x.contains("remote-service") => "PsExec/SMB service",
            x if x.contains("pass-the-hash") => "NTLM pass-the-hash",
            x if x.contains("rdp") => "RDP",
            x if x.contains("winrm") => "WinRM",
            x if x.contains("wmi") => "WMI",
            x if x.contains("dcom") => "DCOM",
            x if x.contains("task") => "scheduled task",
            x if x.contains("admin-share") || x.contains("file-copy") => "SMB admin share",
            x if x.contains("ssh") => "SSH",
            x if x.contains("fanout") => "network logons",
            x if x.contains("explicit-credentials") => "explicit credentials",
            _ => continue,
        };
        if !v.contains(&label) {
            v.push(label);
        }
    }
    if v.is_empty() {
        "—".into()
    } else {
        v.join(", ")
    }
}

/// The hop path of a set of sessions: for each, source → context host/pod, then context →
/// each target, ordered by first sight.
pub fn hops(sessions: &[Session]) -> Vec<Hop> {
    let mut sorted: Vec<&Session> = sessions.iter().collect();
    sorted.sort_by_key(|s| s.first_seen);
    let mut out: Vec<Hop> = Vec::new();
    for s in sorted {
        let c = &s.context;
        let here = match (&c.namespace, &c.pod) {
            (Some(ns), Some(p)) => format!("{ns}/{p}"),
            _ => c
                .host
                .clone()
                .or_else(|| c.source_ip.clone())
                .unwrap_or_else(|| c.key.clone()),
        };
        let at = format_timestamp(s.first_seen);
        let how = via(&s.rules);
        if let Some(src) = &c.source_ip
            && *src != here
        {
            out.push(Hop {
                from: src.clone(),
                to: here.clone(),
                at: at.clone(),
                via: how.clone(),
            });
        }
        for t in &c.targets {
            if *t != here && !out.iter().any(|h| h.from == here && h.to == *t) {
                out.push(Hop {
                    from: here.clone(),
                    to: t.clone(),
                    at: at.clone(),
                    via: how.clone(),
                });
            }
        }
    }
    out
}

/// Build the report of a case.
pub fn case_report(case: &Case) -> CaseReport {
    build(
        &case.id,
        &case.title,
        case.severity,
        &case.sessions,
        case.steps.clone(),
        {
            case.notes
                .iter()
                .map(|n| format!("{} ({}): {}", format_timestamp(n.at), n.analyst, n.text))
                .collect()
        },
    )
}

/// A report for a session that is not in a case yet (default checklist).
pub fn session_report(s: &Session, rules: &[Rule]) -> CaseReport {
    let steps = checklist::checklist_for(std::slice::from_ref(s), rules);
    build(
        &format!("session-{}", s.id),
        &s.title,
        s.severity,
        std::slice::from_ref(s),
        steps,
        Vec::new(),
    )
}

fn build(
    id: &str,
    title: &str,
    severity: Severity,
    sessions: &[Session],
    steps: Vec<Step>,
    notes: Vec<String>,
) -> CaseReport {
    let mut timeline: Vec<Evidence> = sessions
        .iter()
        .flat_map(|s| s.evidence.iter().cloned())
        .collect();
    timeline.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then(a.event_id.cmp(&b.event_id))
    });
    timeline.dedup_by(|a, b| a.event_id == b.event_id && a.rule_id == b.rule_id);
    let mut coverage = BTreeMap::new();
    let mut attack: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in sessions {
        coverage.insert(s.context.key.clone(), s.groups.clone());
        for t in &s.tactics {
            let e = attack.entry(t.clone()).or_default();
            for tech in &s.techniques {
                if !e.contains(tech) {
                    e.push(tech.clone());
                }
            }
        }
    }
    let mut artifacts = Vec::new();
    for s in sessions {
        for a in response::artifacts(s) {
            if !artifacts
                .iter()
                .any(|x: &Artifact| x.file_name == a.file_name)
            {
                artifacts.push(a);
            }
        }
    }
    CaseReport {
        id: id.to_string(),
        title: title.to_string(),
        severity,
        sessions: sessions.to_vec(),
        hops: hops(sessions),
        timeline,
        coverage,
        checklist: steps,
        artifacts,
        attack,
        notes,
    }
}

fn md(s: &str) -> String {
    sanitize(s, 600).replace('|', "\\|")
}

/// Markdown for one report.
pub fn markdown(r: &CaseReport, generated_at: Nanos) -> String {
    let mut o = String::new();
    let (done, total) = checklist::progress(&r.checklist);
    let _ = writeln!(o, "# {} — {}\n", r.id, md(&r.title));
    let _ = writeln!(
        o,
        "**Severity:** {} · **Sessions:** {} · **Checklist:** {done}/{total} · generated {}\n",
        r.severity,
        r.sessions.len(),
        format_timestamp(generated_at)
    );
    let _ = writeln!(o, "## Summary\n");
    for s in &r.sessions {
        let _ = writeln!(
            o,
            "- **{}** {} — `{}`, {} → {}, {} events{}",
            s.severity,
            md(&s.title),
            md(&s.context.key),
            format_timestamp(s.first_seen),
            format_timestamp(s.last_seen),
            s.event_count,
            s.case
                .map(|c| format!(", case: {}", c.title()))
                .unwrap_or_default()
        );
        for e in &s.explanation {
            let _ = writeln!(o, "  - {}", md(e));
        }
    }
    let _ = writeln!(o, "\n## Hop path\n");
    if r.hops.is_empty() {
        let _ = writeln!(o, "No movement between machines was observed.");
    } else {
        let chain: Vec<String> = r
            .hops
            .iter()
            .map(|h| format!("{} → {} ({}, {})", md(&h.from), md(&h.to), h.at, h.via))
            .collect();
        for c in chain {
            let _ = writeln!(o, "- {c}");
        }
    }
    let _ = writeln!(
        o,
        "\n## Timeline\n\n| time | rule | group | event |\n|---|---|---|---|"
    );
    for e in &r.timeline {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            format_timestamp(e.timestamp),
            md(&e.rule_id),
            e.group.map(|g| g.title()).unwrap_or("—"),
            md(&e.summary)
        );
    }
    let _ = writeln!(
        o,
        "\n## Group coverage\n\n| context | RA | CH | NR | SE |\n|---|---|---|---|---|"
    );
    for (ctx, groups) in &r.coverage {
        let marks: Vec<&str> = Group::ALL
            .iter()
            .map(|g| if groups.contains(g) { "✔" } else { "·" })
            .collect();
        let _ = writeln!(o, "| `{}` | {} |", md(ctx), marks.join(" | "));
    }
    let _ = writeln!(o, "\n## Evidence events\n");
    let mut listed: Vec<&str> = Vec::new();
    for e in &r.timeline {
        if !listed.contains(&e.event_id.as_str()) {
            listed.push(&e.event_id);
            let _ = writeln!(o, "- `{}`", md(&e.event_id));
        }
    }
    let _ = writeln!(o, "\n## Checklist\n");
    for s in &r.checklist {
        let mark = match s.status {
            checklist::StepStatus::Done => "[x]",
            checklist::StepStatus::Todo => "[ ]",
            _ => "[-]",
        };
        let _ = write!(
            o,
            "- {mark} **{}** ({}) — {}",
            md(&s.title),
            s.status,
            md(&s.why)
        );
        if let Some(q) = &s.query {
            let _ = write!(o, " Pivot: `{}`", md(q));
        }
        if !s.note.is_empty() {
            let _ = write!(o, " Note: {}", md(&s.note));
        }
        if let (Some(a), Some(t)) = (&s.analyst, s.updated_at) {
            let _ = write!(o, " ({}, {})", md(a), format_timestamp(t));
        }
        if !s.evidence.is_empty() {
            let _ = write!(
                o,
                " Evidence: {}",
                s.evidence
                    .iter()
                    .map(|e| format!("`{}`", md(e)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(o);
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(o, "- {}", md(n));
        }
    }
    let _ = writeln!(
        o,
        "\n## Response artifacts\n\nGenerated for review; lateral never runs them.\n"
    );
    for a in &r.artifacts {
        let lang = match a.platform {
            "kubernetes" => "yaml",
            "windows" => "powershell",
            _ => "sh",
        };
        let _ = writeln!(
            o,
            "### {} (`{}`)\n\n```{lang}\n{}```\n",
            md(&a.title),
            a.file_name,
            sanitize_block(&a.text)
        );
    }
    let _ = writeln!(o, "## ATT&CK mapping\n\n| tactic | techniques |\n|---|---|");
    for (t, techs) in &r.attack {
        let _ = writeln!(o, "| {} | {} |", md(t), md(&techs.join(", ")));
    }
    o
}

/// Escape control characters line by line, keeping the newlines of a code block.
fn sanitize_block(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(&sanitize(line, 10_000));
        out.push('\n');
    }
    out.replace("```", "`\u{200b}``")
}

#[cfg(test)]
mod tests {
    use super::super::checklist::tests_support::session;
    use super::*;

    #[test]
    fn hop_path_and_markdown_sections() {
        let mut s = session();
        s.context.targets = vec!["10.0.0.9".into()];
        s.evidence.push(Evidence {
            event_id: "ev-1".into(),
            timestamp: 1_700_000_000_000_000_000,
            rule_id: "win-psexec".into(),
            group: Some(Group::RemoteAccess),
            summary: "7045 PSEXESVC on fs01 | piped".into(),
        });
        let r = session_report(&s, &[]);
        assert_eq!(r.hops.len(), 2);
        assert_eq!(
            (r.hops[0].from.as_str(), r.hops[0].to.as_str()),
            ("10.0.0.5", "fs01")
        );
        assert_eq!(r.hops[0].via, "PsExec/SMB service");
        let md = markdown(&r, 0);
        for section in [
            "## Summary",
            "## Hop path",
            "## Timeline",
            "## Group coverage",
            "## Evidence events",
            "## Checklist",
            "## Response artifacts",
            "## ATT&CK mapping",
        ] {
            assert!(md.contains(section), "missing {section}");
        }
        assert!(
            md.contains("7045 PSEXESVC on fs01 \\| piped"),
            "pipes escaped in tables"
        );
        assert!(md.contains("10.0.0.5 → fs01"));
    }
}
