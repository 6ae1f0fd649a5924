//! Checklists: the steps an analyst walks from alert to containment.
//!
//! Every case starts from the nine default steps of the attack chain's triage and response
//! playbook; the rules that fired in its sessions add their own steps (`triage:` in a rule
//! file). Each step says what to do and why, may carry a pivot query filled from the
//! session's context, and records status, note, analyst, time and evidence.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::correlate::Session;
use crate::correlate::rule::Rule;
use crate::event::Nanos;

/// Where a step is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not done yet.
    Todo,
    /// Done.
    Done,
    /// Deliberately skipped (needs a note saying why).
    Skipped,
    /// Does not apply to this case.
    NotApplicable,
}

impl StepStatus {
    /// The next status when cycling with one key: todo → done → skipped → n/a → todo.
    pub fn next(self) -> StepStatus {
        match self {
            StepStatus::Todo => StepStatus::Done,
            StepStatus::Done => StepStatus::Skipped,
            StepStatus::Skipped => StepStatus::NotApplicable,
            StepStatus::NotApplicable => StepStatus::Todo,
        }
    }

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Todo => "todo",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
            StepStatus::NotApplicable => "n/a",
        }
    }

    /// Whether the step needs no more work.
    pub fn is_closed(self) -> bool {
        !matches!(self, StepStatus::Todo)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for StepStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "todo" => Ok(StepStatus::Todo),
            "done" => Ok(StepStatus::Done),
            "skipped" => Ok(StepStatus::Skipped),
            "n/a" | "not_applicable" | "na" => Ok(StepStatus::NotApplicable),
            o => Err(format!("unknown status `{o}` (todo, done, skipped, n/a)")),
        }
    }
}

/// One checklist step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id within the checklist (`isolate-source`, `rule:win-psexec:0`).
    pub id: String,
    /// What to do.
    pub title: String,
    /// Why it matters.
    pub why: String,
    /// Pivot query, already filled from the context.
    pub query: Option<String>,
    /// Where the step comes from (`playbook` or a rule id).
    pub origin: String,
    /// Status.
    pub status: StepStatus,
    /// Analyst's note (required to skip).
    pub note: String,
    /// Who changed it last.
    pub analyst: Option<String>,
    /// When it was changed last (wall clock, nanoseconds).
    pub updated_at: Option<Nanos>,
    /// Events attached as evidence (`event.id`s).
    pub evidence: Vec<String>,
}

/// Why a checklist change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistError {
    /// Skipping needs a note.
    #[error("step `{0}`: skipping needs a note saying why")]
    SkipNeedsNote(String),
    /// No such step.
    #[error("no step `{0}` in this checklist")]
    NoSuchStep(String),
}

/// The default playbook: (id, title, why, pivot query template).
const PLAYBOOK: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "isolate-source",
        "Isolate source system",
        "Cut the affected host, container or pod off the network first, so the attacker cannot take another step while you investigate.",
        None,
    ),
    (
        "terminate-access",
        "Terminate remote access",
        "Stop the processes involved and close every remote session (SSH, RDP, WinRM, PsExec services) the attacker holds.",
        Some("host.name:{host} AND event.category:authentication"),
    ),
    (
        "block-connections",
        "Block network connections",
        "Block the destinations the session reached and watch for new attempts: the attacker will try the next path.",
        Some("source.ip:{source_ip} AND network.direction:internal"),
    ),
    (
        "assess-credentials",
        "Assess credential compromise",
        "List every credential the context could read: memory, files, cloud metadata, Kubernetes tokens and configs.",
        Some(
            "host.name:{host} AND (event.code:10 OR file.path:*token* OR file.path:*credentials*)",
        ),
    ),
    (
        "map-recon",
        "Map reconnaissance findings",
        "Work out what the attacker learned from scans and lookups; those systems are the next targets.",
        Some("source.ip:{source_ip}"),
    ),
    (
        "reset-credentials",
        "Reset compromised credentials",
        "Rotate every password, key, API token and service account token the context could reach, after isolation.",
        None,
    ),
    (
        "hunt-other-systems",
        "Hunt for additional compromised systems",
        "The same account or session identity may have been used elsewhere; every other host it logged on to is a suspect.",
        Some("user.name:{user} AND event.code:4624 AND NOT host.name:{host}"),
    ),
    (
        "review-access",
        "Review access patterns",
        "Read the authentication history of the accounts involved to find the full scope and the first access.",
        Some("user.name:{user}"),
    ),
    (
        "segment-network",
        "Implement network segmentation",
        "Add network policy so this path cannot be used again: deny-by-default between workloads, admin ports only from jump hosts.",
        None,
    ),
];

/// A checklist for a set of sessions: the playbook plus every step the fired rules add.
pub fn checklist_for(sessions: &[Session], rules: &[Rule]) -> Vec<Step> {
    let ctx = sessions.first().map(context_values).unwrap_or_default();
    let mut steps: Vec<Step> = PLAYBOOK
        .iter()
        .map(|(id, title, why, query)| Step {
            id: (*id).to_string(),
            title: (*title).to_string(),
            why: (*why).to_string(),
            query: query.and_then(|q| fill(q, &ctx)),
            origin: "playbook".into(),
            status: StepStatus::Todo,
            note: String::new(),
            analyst: None,
            updated_at: None,
            evidence: Vec::new(),
        })
        .collect();
    let mut fired: Vec<&str> = sessions
        .iter()
        .flat_map(|s| s.rules.iter().map(String::as_str))
        .collect();
    fired.sort_unstable();
    fired.dedup();
    for rule in rules.iter().filter(|r| fired.contains(&r.id.as_str())) {
        for (i, t) in rule.triage.iter().enumerate() {
            let id = format!("rule:{}:{i}", rule.id);
            if steps.iter().any(|s| s.id == id) {
                continue;
            }
            steps.push(Step {
                id,
                title: t.step.clone(),
                why: t.why.clone(),
                query: t.query.as_deref().and_then(|q| fill(q, &ctx)),
                origin: rule.id.clone(),
                status: StepStatus::Todo,
                note: String::new(),
                analyst: None,
                updated_at: None,
                evidence: Vec::new(),
            });
        }
    }
    steps
}

/// Placeholder values from a session's context.
pub fn context_values(s: &Session) -> Vec<(&'static str, String)> {
    let c = &s.context;
    let mut v = Vec::new();
    let mut put = |k: &'static str, val: &Option<String>| {
        if let Some(x) = val {
            v.push((k, x.clone()));
        }
    };
    put("host", &c.host);
    put("user", &c.user);
    put("source_ip", &c.source_ip);
    put("namespace", &c.namespace);
    put("pod", &c.pod);
    put("container", &c.container);
    put("logon_id", &c.logon_id);
    if let Some(t) = c.targets.first() {
        v.push(("target", t.clone()));
    }
    v
}

/// Fill `{name}` placeholders with query-safe values. A query whose placeholders are not all
/// known is dropped (a half-filled pivot would search for the wrong thing).
pub fn fill(template: &str, values: &[(&'static str, String)]) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 1..end];
        let value = values.iter().find(|(k, _)| *k == name).map(|(_, v)| v)?;
        out.push_str(&rest[..start]);
        out.push_str(&query_literal(value));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A value as a query term: quoted when it holds anything but plain word characters, with
/// quotes and backslashes escaped, so a hostile host or user name cannot change the query.
pub fn query_literal(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '$'));
    if plain {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Set a step's status (and note), enforcing that skipping needs a note.
pub fn set_status(
    steps: &mut [Step],
    id: &str,
    status: StepStatus,
    note: Option<&str>,
    analyst: &str,
    now: Nanos,
) -> Result<(), ChecklistError> {
    let step = steps
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| ChecklistError::NoSuchStep(id.into()))?;
    let note_after = note.map_or_else(|| step.note.clone(), str::to_string);
    if status == StepStatus::Skipped && note_after.trim().is_empty() {
        return Err(ChecklistError::SkipNeedsNote(id.into()));
    }
    step.status = status;
    step.note = note_after;
    step.analyst = Some(analyst.to_string());
    step.updated_at = Some(now);
    Ok(())
}

/// (closed, total) steps.
pub fn progress(steps: &[Step]) -> (usize, usize) {
    (
        steps.iter().filter(|s| s.status.is_closed()).count(),
        steps.len(),
    )
}

/// Shared test fixtures.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::correlate::Session;
    use crate::correlate::session::{ContextInfo, NearMiss, SessionId};
    use crate::event::Severity;

    pub(crate) fn session() -> Session {
        Session {
            id: SessionId("s1".into()),
            rule_id: "win-psexec".into(),
            title: "PsExec".into(),
            severity: Severity::High,
            case: None,
            tactics: vec!["lateral_movement".into()],
            techniques: vec!["T1569.002".into()],
            groups: vec![],
            context: ContextInfo {
                key: "win:fs01:logon:0x1".into(),
                kind: "logon".into(),
                host: Some("fs01".into()),
                user: Some("alice".into()),
                source_ip: Some("10.0.0.5".into()),
                ..ContextInfo::default()
            },
            interactive: false,
            first_seen: 0,
            last_seen: 1,
            event_count: 2,
            evidence: vec![],
            explanation: vec![],
            near_miss: NearMiss::default(),
            rules: vec!["win-psexec".into()],
            closed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::session;
    use super::*;

    #[test]
    fn playbook_plus_rule_steps_with_filled_pivots() {
        let (rules, _) = crate::correlate::builtin::rules();
        let steps = checklist_for(&[session()], &rules);
        assert_eq!(steps[0].title, "Isolate source system");
        let hunt = steps.iter().find(|s| s.id == "hunt-other-systems").unwrap();
        assert_eq!(
            hunt.query.as_deref(),
            Some("user.name:alice AND event.code:4624 AND NOT host.name:fs01")
        );
        assert!(
            steps
                .iter()
                .any(|s| s.origin == "win-psexec" && s.title == "Check the service binary")
        );
        assert_eq!(progress(&steps).0, 0);
    }

    #[test]
    fn hostile_values_cannot_change_the_query() {
        let vals = vec![
            ("user", "bob\" OR \"x".to_string()),
            ("host", "h 1".to_string()),
        ];
        assert_eq!(
            fill("user.name:{user} AND host.name:{host}", &vals).unwrap(),
            r#"user.name:"bob\" OR \"x" AND host.name:"h 1""#
        );
        assert_eq!(
            fill("pod:{pod}", &vals),
            None,
            "unknown placeholder drops the pivot"
        );
    }

    #[test]
    fn skipping_needs_a_note_and_status_cycles() {
        let mut steps = checklist_for(&[session()], &[]);
        let err = set_status(
            &mut steps,
            "reset-credentials",
            StepStatus::Skipped,
            None,
            "ana",
            5,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ChecklistError::SkipNeedsNote("reset-credentials".into())
        );
        set_status(
            &mut steps,
            "reset-credentials",
            StepStatus::Skipped,
            Some("no creds on host"),
            "ana",
            5,
        )
        .unwrap();
        let s = steps.iter().find(|s| s.id == "reset-credentials").unwrap();
        assert_eq!(
            (s.status, s.analyst.as_deref(), s.updated_at),
            (StepStatus::Skipped, Some("ana"), Some(5))
        );
        assert!(set_status(&mut steps, "nope", StepStatus::Done, None, "ana", 5).is_err());
        let mut st = StepStatus::Todo;
        for _ in 0..4 {
            st = st.next();
        }
        assert_eq!(st, StepStatus::Todo);
    }
}
