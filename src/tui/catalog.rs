//! What the screens need to know about the rules in force: titles for evidence rows, ATT&CK
//! tags for the coverage matrix, log sources for the visibility warnings.
//!
//! A [`RuleInfo`] is a display copy of a [`Rule`] without its compiled detection, so the UI
//! never holds matcher state and the runtime can send a new catalog after a reload.

use std::collections::HashMap;

use crate::correlate::{Group, Rule};
use crate::event::Severity;

/// A rule as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it detects.
    pub description: String,
    /// Severity of a match.
    pub level: Severity,
    /// Attack-chain group it feeds.
    pub group: Option<Group>,
    /// ATT&CK tactics (snake_case).
    pub tactics: Vec<String>,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// `event.dataset` values it reads (empty: any).
    pub datasets: Vec<String>,
    /// `event.module` values it reads (empty: any).
    pub modules: Vec<String>,
}

impl From<&Rule> for RuleInfo {
    fn from(r: &Rule) -> Self {
        RuleInfo {
            id: r.id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            level: r.level,
            group: r.group,
            tactics: r.tactics.clone(),
            techniques: r.techniques.clone(),
            datasets: r.logsource.datasets.clone(),
            modules: r.logsource.modules.clone(),
        }
    }
}

/// Display entries for what the engine defines in code rather than in rule files.
pub fn detector_infos() -> Vec<RuleInfo> {
    let mut out: Vec<RuleInfo> = crate::correlate::engine::detectors()
        .into_iter()
        .map(|(id, title, level)| RuleInfo {
            id: id.to_string(),
            title: title.to_string(),
            description: String::new(),
            level,
            group: None,
            tactics: Vec::new(),
            techniques: Vec::new(),
            datasets: Vec::new(),
            modules: Vec::new(),
        })
        .collect();
    out.push(RuleInfo {
        id: crate::correlate::engine::CHAIN_RULE_ID.to_string(),
        title: "Lateral movement attack chain".to_string(),
        description: String::new(),
        level: Severity::Critical,
        group: None,
        tactics: vec!["lateral_movement".to_string()],
        techniques: Vec::new(),
        datasets: Vec::new(),
        modules: Vec::new(),
    });
    out
}

/// The rules in force, looked up by id.
#[derive(Debug, Clone, Default)]
pub struct RuleCatalog {
    rules: Vec<RuleInfo>,
    by_id: HashMap<String, usize>,
}

impl RuleCatalog {
    /// A catalog of these rules (a later duplicate id wins, as when loading rule folders),
    /// plus the engine's code-defined detectors the list does not name, so every evidence row
    /// has a title whatever the runtime passes.
    pub fn new(mut rules: Vec<RuleInfo>) -> Self {
        for d in detector_infos() {
            if !rules.iter().any(|r| r.id == d.id) {
                rules.push(d);
            }
        }
        let by_id = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        RuleCatalog { rules, by_id }
    }

    /// The rules shipped in the binary, plus the engine's code-defined detectors and the
    /// attack-chain rule (so their evidence rows have titles too).
    pub fn builtin() -> Self {
        let (rules, _errors) = crate::correlate::builtin::rules();
        RuleCatalog::new(rules.iter().map(RuleInfo::from).collect())
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&RuleInfo> {
        self.by_id.get(id).map(|&i| &self.rules[i])
    }

    /// A rule's title, or its id for detectors and unknown rules.
    pub fn title<'a>(&'a self, id: &'a str) -> &'a str {
        self.get(id).map_or(id, |r| r.title.as_str())
    }

    /// Every rule.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// ATT&CK enterprise tactics in kill-chain order, with the short column heading the coverage
/// matrix uses.
pub const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Recon"),
    ("resource_development", "ResDev"),
    ("initial_access", "InitAcc"),
    ("execution", "Exec"),
    ("persistence", "Persist"),
    ("privilege_escalation", "PrivEsc"),
    ("defense_evasion", "DefEva"),
    ("credential_access", "CredAcc"),
    ("discovery", "Discov"),
    ("lateral_movement", "LatMov"),
    ("collection", "Collect"),
    ("command_and_control", "C2"),
    ("exfiltration", "Exfil"),
    ("impact", "Impact"),
];

/// Kill-chain position of a tactic (unknown ones last).
pub fn tactic_rank(tactic: &str) -> usize {
    TACTICS
        .iter()
        .position(|(t, _)| *t == tactic)
        .unwrap_or(TACTICS.len())
}

/// Short heading of a tactic.
pub fn tactic_short(tactic: &str) -> &str {
    TACTICS
        .iter()
        .find(|(t, _)| *t == tactic)
        .map_or(tactic, |(_, s)| s)
}

/// Two-letter tag of a group, for tight columns (`RA CH NR SE`).
pub fn group_tag(g: Group) -> &'static str {
    match g {
        Group::RemoteAccess => "RA",
        Group::CredentialHarvesting => "CH",
        Group::NetworkRecon => "NR",
        Group::SystemEnumeration => "SE",
    }
}

/// Short group title for matrix headings.
pub fn group_short(g: Group) -> &'static str {
    match g {
        Group::RemoteAccess => "Remote Access",
        Group::CredentialHarvesting => "Cred Harvest",
        Group::NetworkRecon => "Network Recon",
        Group::SystemEnumeration => "System Enum",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_has_titles_and_tags() {
        let c = RuleCatalog::builtin();
        assert!(!c.is_empty());
        let r = c.get("win-psexec").unwrap();
        assert_eq!(r.group, Some(Group::RemoteAccess));
        assert!(!r.techniques.is_empty());
        assert_eq!(c.title("no-such-rule"), "no-such-rule");
        assert_eq!(c.title("ew-port-scan"), "Port scan from one source");
        assert!(tactic_rank("discovery") < tactic_rank("lateral_movement"));
        assert_eq!(tactic_short("lateral_movement"), "LatMov");
    }
}
