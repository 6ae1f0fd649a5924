//! Sessions: what the correlator reports. One session per execution context and activity
//! window; it escalates in place as more evidence arrives.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::rule::Group;
use crate::event::{Nanos, Severity, format_timestamp};

/// The attack-chain cases, from the lateral movement attack chain table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// System Enumeration + Remote Access.
    EnumerationWithAccess,
    /// Network Recon + Remote Access.
    ReconnaissanceAndAccess,
    /// Remote Access + Credential Harvesting.
    CredentialBased,
    /// Network Recon + Remote Access, interactive.
    ReconnaissanceAndAccessInteractive,
    /// Remote Access + Credential Harvesting, interactive.
    CredentialBasedInteractive,
    /// All four groups.
    Comprehensive,
}

impl Case {
    /// Every case, most severe first (the order cases are tested in).
    pub const ALL: [Case; 6] = [
        Case::Comprehensive,
        Case::CredentialBasedInteractive,
        Case::ReconnaissanceAndAccessInteractive,
        Case::CredentialBased,
        Case::ReconnaissanceAndAccess,
        Case::EnumerationWithAccess,
    ];

    /// The case's name as in the attack chain table.
    pub fn title(self) -> &'static str {
        match self {
            Case::Comprehensive => "Comprehensive Lateral Movement",
            Case::CredentialBasedInteractive => "Credential-Based Lateral Movement (interactive)",
            Case::ReconnaissanceAndAccessInteractive => "Reconnaissance and Access (interactive)",
            Case::CredentialBased => "Credential-Based Lateral Movement",
            Case::ReconnaissanceAndAccess => "Reconnaissance and Access",
            Case::EnumerationWithAccess => "Enumeration with Access",
        }
    }

    /// Severity of the case.
    pub fn severity(self) -> Severity {
        match self {
            Case::Comprehensive => Severity::Critical,
            Case::CredentialBasedInteractive | Case::ReconnaissanceAndAccessInteractive => {
                Severity::High
            }
            _ => Severity::Medium,
        }
    }

    /// Groups the case needs.
    pub fn groups(self) -> &'static [Group] {
        match self {
            Case::Comprehensive => &Group::ALL,
            Case::CredentialBasedInteractive | Case::CredentialBased => {
                &[Group::RemoteAccess, Group::CredentialHarvesting]
            }
            Case::ReconnaissanceAndAccessInteractive | Case::ReconnaissanceAndAccess => {
                &[Group::NetworkRecon, Group::RemoteAccess]
            }
            Case::EnumerationWithAccess => &[Group::SystemEnumeration, Group::RemoteAccess],
        }
    }

    /// Whether the case needs an interactive session.
    pub fn needs_interactive(self) -> bool {
        matches!(
            self,
            Case::CredentialBasedInteractive | Case::ReconnaissanceAndAccessInteractive
        )
    }

    /// The most severe case the groups and interactivity satisfy.
    pub fn classify(groups: &BTreeSet<Group>, interactive: bool) -> Option<Case> {
        Case::ALL.into_iter().find(|c| {
            c.groups().iter().all(|g| groups.contains(g)) && (!c.needs_interactive() || interactive)
        })
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Stable session identity (hex of a hash of the context and the first event).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What identifies a session's execution context, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextInfo {
    /// The stitching key (`pod:ns/name`, `win:HOST:logon:0x3e7`, `ip:10.0.1.4`, ...).
    pub key: String,
    /// How the context was identified: `pod`, `container`, `logon`, `audit_session`,
    /// `user_on_host`, `process_tree`, `source_ip`, `host`.
    pub kind: String,
    /// Host the activity ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Where the access came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// Kubernetes namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Container id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Windows logon id or Linux session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_id: Option<String>,
    /// Hosts or addresses the context reached (hop targets), first seen first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// One piece of evidence: an event that fed the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `event.id`.
    pub event_id: String,
    /// Event time.
    #[serde(serialize_with = "ser_ts", deserialize_with = "de_ts")]
    pub timestamp: Nanos,
    /// Rule (or detector) that matched.
    pub rule_id: String,
    /// Group it fed, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// One line for timelines.
    pub summary: String,
}

/// A threshold detector's progress, for near misses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdProgress {
    /// Detector id.
    pub rule_id: String,
    /// Distinct values so far in the window.
    pub count: u64,
    /// Count at which it fires.
    pub threshold: u64,
    /// Event-time seconds left in the window for the oldest value counted.
    pub window_left_secs: i64,
}

/// What is missing for the next case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NearMiss {
    /// Groups seen in the window.
    pub groups_present: Vec<Group>,
    /// The next more severe case reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_case: Option<Case>,
    /// Groups still missing for it.
    pub missing_groups: Vec<Group>,
    /// Whether it also needs an interactive session.
    pub needs_interactive: bool,
    /// Threshold detectors under way for this context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdProgress>,
}

impl NearMiss {
    /// Compute the near miss for a set of groups.
    pub fn compute(groups: &BTreeSet<Group>, interactive: bool, current: Option<Case>) -> NearMiss {
        let current_sev = current.map(Case::severity);
        // The reachable case needing the fewest additions that is more severe than now.
        let next = Case::ALL
            .into_iter()
            .filter(|c| current_sev.is_none_or(|s| c.severity() > s))
            .filter(|c| Some(*c) != current)
            .map(|c| {
                let missing: Vec<Group> = c
                    .groups()
                    .iter()
                    .copied()
                    .filter(|g| !groups.contains(g))
                    .collect();
                let need_i = c.needs_interactive() && !interactive;
                (
                    missing.len() + usize::from(need_i),
                    std::cmp::Reverse(c.severity()),
                    c,
                    missing,
                    need_i,
                )
            })
            .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let (next_case, missing_groups, needs_interactive) = match next {
            Some((_, _, c, m, i)) => (Some(c), m, i),
            None => (None, Vec::new(), false),
        };
        NearMiss {
            groups_present: groups.iter().copied().collect(),
            next_case,
            missing_groups,
            needs_interactive,
            thresholds: Vec::new(),
        }
    }
}

/// A correlated session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Stable id.
    pub id: SessionId,
    /// The rule that defines it now: `lateral-movement-chain` when a chain case holds, else the
    /// most severe rule that fired.
    pub rule_id: String,
    /// Case name or rule title.
    pub title: String,
    /// Current severity.
    pub severity: Severity,
    /// Attack-chain case, when one holds.
    pub case: Option<Case>,
    /// ATT&CK tactics (snake_case), union over the rules that fired.
    pub tactics: Vec<String>,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// Groups present in the window.
    pub groups: Vec<Group>,
    /// Execution context.
    pub context: ContextInfo,
    /// Whether the context is interactive.
    pub interactive: bool,
    /// First event time.
    #[serde(serialize_with = "ser_ts", deserialize_with = "de_ts")]
    pub first_seen: Nanos,
    /// Last event time.
    #[serde(serialize_with = "ser_ts", deserialize_with = "de_ts")]
    pub last_seen: Nanos,
    /// Events that fed the session.
    pub event_count: u64,
    /// Evidence events (bounded; the first ones).
    pub evidence: Vec<Evidence>,
    /// Why it fired, in words.
    pub explanation: Vec<String>,
    /// What would escalate it.
    pub near_miss: NearMiss,
    /// Every rule that fired in it.
    pub rules: Vec<String>,
    /// Whether its window has closed (no activity for the window length).
    pub closed: bool,
}

impl Session {
    /// The order sessions are listed and saved in: most severe first, then oldest, then by id
    /// (so equal sessions always come out the same way).
    pub fn rank(a: &Session, b: &Session) -> std::cmp::Ordering {
        b.severity
            .cmp(&a.severity)
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.id.cmp(&b.id))
    }

    /// Whether the session includes the ATT&CK lateral movement tactic.
    pub fn is_lateral_movement(&self) -> bool {
        self.tactics.iter().any(|t| t == "lateral_movement")
    }
}

fn ser_ts<S: serde::Serializer>(ts: &Nanos, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(*ts))
}

fn de_ts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
    let text = String::deserialize(d)?;
    crate::event::parse_timestamp(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp `{text}`")))
}

/// How a session changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First reported.
    Opened,
    /// More evidence, same severity.
    Updated,
    /// Severity or case went up.
    Escalated,
    /// Window closed.
    Closed,
}

/// A change to a session, with its state after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The session after it.
    pub session: Session,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(gs: &[Group]) -> BTreeSet<Group> {
        gs.iter().copied().collect()
    }

    #[test]
    fn case_table() {
        use Group::*;
        let t = |g: &[Group], i: bool| Case::classify(&set(g), i);
        assert_eq!(t(&Group::ALL, false), Some(Case::Comprehensive));
        assert_eq!(
            t(&[RemoteAccess, CredentialHarvesting], true),
            Some(Case::CredentialBasedInteractive)
        );
        assert_eq!(
            t(&[NetworkRecon, RemoteAccess], true),
            Some(Case::ReconnaissanceAndAccessInteractive)
        );
        assert_eq!(
            t(&[RemoteAccess, CredentialHarvesting], false),
            Some(Case::CredentialBased)
        );
        assert_eq!(
            t(&[NetworkRecon, RemoteAccess], false),
            Some(Case::ReconnaissanceAndAccess)
        );
        assert_eq!(
            t(&[SystemEnumeration, RemoteAccess], false),
            Some(Case::EnumerationWithAccess)
        );
        assert_eq!(
            t(&[SystemEnumeration, RemoteAccess], true),
            Some(Case::EnumerationWithAccess)
        );
        assert_eq!(t(&[RemoteAccess], true), None);
        assert_eq!(
            t(
                &[CredentialHarvesting, NetworkRecon, SystemEnumeration],
                true
            ),
            None
        );
    }

    #[test]
    fn near_miss_names_what_is_missing() {
        use Group::*;
        let g = set(&[RemoteAccess, SystemEnumeration]);
        let n = NearMiss::compute(&g, false, Case::classify(&g, false));
        assert!(
            n.next_case.is_some_and(|c| c.severity() > Severity::Medium),
            "{n:?}"
        );
        let g = set(&[RemoteAccess]);
        let n = NearMiss::compute(&g, true, None);
        assert_eq!(n.missing_groups.len(), 1);
        assert!(!n.needs_interactive);
    }
}
