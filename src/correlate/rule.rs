//! Rule files: YAML in Sigma's detection syntax plus lateral's own keys, validated into
//! [`Rule`]s once at load time.
//!
//! ```yaml
//! id: win-psexec-service            # unique, stable
//! title: PsExec service installed
//! description: ...
//! level: high                       # informational | low | medium | high | critical
//! group: remote_access              # optional: the attack-chain activity group it feeds
//! tags: [attack.lateral_movement, attack.t1569.002]
//! logsource: {dataset: [windows.system, windows.security]}   # or module:, or Sigma keys
//! detection: {selection: {...}, condition: selection}
//! alert: true                       # opens a session on its own (default: level >= medium)
//! interactive: true                 # a match makes the context interactive
//! triage:
//!   - step: Check the service binary
//!     why: PsExec copies PSEXESVC.exe to ADMIN$; a renamed copy hides the tool.
//!     query: 'host.name:{host} AND event.code:7045'
//! references: [...]
//! falsepositives: [...]
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_norway::Value as Y;

use super::detection::{Detection, Placeholders};
use crate::event::{Event, Field, Severity};

/// The four activity groups of the lateral movement attack chain.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// SSH, RDP, PsExec, WinRM, WMI, DCOM, remote tasks, tmate, SSM agent registration.
    RemoteAccess,
    /// Credential tools, IMDS, service account tokens, kubeconfig, keys, cloud credentials.
    CredentialHarvesting,
    /// DNS enumeration, IP lookup services, scanners, sniffers, offensive Kubernetes tools.
    NetworkRecon,
    /// Breakout enumeration, image listing, debugfs, discovery commands.
    SystemEnumeration,
}

impl Group {
    /// All groups in display order.
    pub const ALL: [Group; 4] = [
        Group::RemoteAccess,
        Group::CredentialHarvesting,
        Group::NetworkRecon,
        Group::SystemEnumeration,
    ];

    /// snake_case name as in rule files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Group::RemoteAccess => "remote_access",
            Group::CredentialHarvesting => "credential_harvesting",
            Group::NetworkRecon => "network_recon",
            Group::SystemEnumeration => "system_enumeration",
        }
    }

    /// Title for screens and reports.
    pub fn title(self) -> &'static str {
        match self {
            Group::RemoteAccess => "Remote Access Tools",
            Group::CredentialHarvesting => "Credential Harvesting",
            Group::NetworkRecon => "Network Reconnaissance",
            Group::SystemEnumeration => "System Enumeration",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Group {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Group::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| format!("unknown group `{s}` (remote_access, credential_harvesting, network_recon, system_enumeration)"))
    }
}

/// One triage step a rule contributes to its sessions' checklists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriageStep {
    /// What to do.
    pub step: String,
    /// Why it matters.
    pub why: String,
    /// A search to run, with `{host}`, `{user}`, `{source_ip}` ... placeholders.
    pub query: Option<String>,
}

/// Which events a rule may see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogSource {
    /// `event.dataset` values (empty: any).
    pub datasets: Vec<String>,
    /// `event.module` values (empty: any).
    pub modules: Vec<String>,
}

impl LogSource {
    /// Whether an event from `module`/`dataset` may match.
    pub fn admits(&self, module: Option<&str>, dataset: Option<&str>) -> bool {
        (self.datasets.is_empty() || dataset.is_some_and(|d| self.datasets.iter().any(|x| x == d)))
            && (self.modules.is_empty()
                || module.is_some_and(|m| self.modules.iter().any(|x| x == m)))
    }
}

/// A validated detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What it detects and how.
    pub description: String,
    /// Severity of a match.
    pub level: Severity,
    /// Attack-chain group it feeds.
    pub group: Option<Group>,
    /// ATT&CK tactics, snake_case (`lateral_movement`).
    pub tactics: Vec<String>,
    /// ATT&CK technique ids (`T1021.002`).
    pub techniques: Vec<String>,
    /// Which events it sees.
    pub logsource: LogSource,
    /// The compiled detection.
    pub detection: Detection,
    /// Whether a match opens a session by itself.
    pub alert: bool,
    /// Whether a match marks the context interactive.
    pub interactive: bool,
    /// Only counts when the context had a remote logon earlier in the window (remote
    /// scheduled tasks, services or accounts created through a network logon).
    pub after_remote_logon: bool,
    /// Only counts when this other rule already fired in the same context (a two-step
    /// sequence such as "task scheduler library loaded, then RPC to another host").
    pub requires: Option<String>,
    /// Checklist steps it adds.
    pub triage: Vec<TriageStep>,
    /// Links for the analyst.
    pub references: Vec<String>,
    /// Known benign causes.
    pub falsepositives: Vec<String>,
    /// Where it was loaded from (`builtin:...` for shipped rules).
    pub source: String,
}

/// Why a rule file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RuleError {
    /// File (or `builtin:name`).
    pub file: String,
    /// Line, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the key.
    pub reason: String,
}

/// ATT&CK tactic names that Sigma writes as `attack.<name>`.
const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource_development",
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
];

/// Split `attack.*` tags into tactics and technique ids.
pub fn parse_tags(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let norm = rest.replace('-', "_").to_ascii_lowercase();
        if TACTICS.contains(&norm.as_str()) {
            if !tactics.contains(&norm) {
                tactics.push(norm);
            }
        } else if rest.len() > 1
            && (rest.starts_with('t') || rest.starts_with('T'))
            && rest[1..2].chars().all(|c| c.is_ascii_digit())
        {
            let id = rest.to_ascii_uppercase();
            if !techniques.contains(&id) {
                techniques.push(id);
            }
        }
    }
    (tactics, techniques)
}

fn str_list(v: Option<&Y>) -> Vec<String> {
    match v {
        Some(Y::String(s)) => vec![s.clone()],
        Some(Y::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Keys a rule file may have; anything else is a typo worth reporting.
const KNOWN_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "description",
    "level",
    "group",
    "tags",
    "logsource",
    "detection",
    "alert",
    "interactive",
    "after_remote_logon",
    "requires",
    "triage",
    "references",
    "falsepositives",
    "author",
    "date",
    "modified",
    "status",
    "fields",
    "related",
    "license",
    "taxonomy",
];

impl Rule {
    /// Parse every rule document in `text` (multi-document YAML). `source` names the file.
    pub fn parse_all(text: &str, source: &str) -> Vec<Result<Rule, RuleError>> {
        let mut out = Vec::new();
        for doc in serde_norway::Deserializer::from_str(text) {
            let value = match <Y as serde::Deserialize>::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    out.push(Err(RuleError {
                        file: source.to_string(),
                        line: e.location().map(|l| l.line()),
                        reason: format!("invalid YAML: {e}"),
                    }));
                    // The deserializer cannot resume after a syntax error.
                    break;
                }
            };
            if matches!(value, Y::Null) {
                continue;
            }
            out.push(Rule::from_value(&value, source));
        }
        out
    }

    /// Validate one rule document.
    pub fn from_value(v: &Y, source: &str) -> Result<Rule, RuleError> {
        let err = |reason: String| RuleError {
            file: source.to_string(),
            line: None,
            reason,
        };
        let Y::Mapping(m) = v else {
            return Err(err("a rule is a YAML mapping".into()));
        };
        for k in m.keys() {
            if let Some(k) = k.as_str()
                && !KNOWN_KEYS.contains(&k)
            {
                return Err(err(format!("unknown key `{k}`")));
            }
        }
        let get = |k: &str| m.get(k);
        let text = |k: &str| get(k).and_then(Y::as_str).map(str::to_string);
        let title = text("title").ok_or_else(|| err("`title` is required".into()))?;
        let id = text("id").ok_or_else(|| err("`id` is required".into()))?;
        let level = match text("level") {
            Some(l) => l
                .parse::<Severity>()
                .map_err(|e| err(format!("level: {e}")))?,
            None => Severity::Medium,
        };
        let group = match text("group") {
            Some(g) => Some(g.parse::<Group>().map_err(|e| err(format!("group: {e}")))?),
            None => None,
        };
        let tags = str_list(get("tags"));
        let (tactics, techniques) = parse_tags(&tags);
        let logsource = match get("logsource") {
            Some(Y::Mapping(ls)) => {
                let mut l = LogSource {
                    datasets: str_list(ls.get("dataset")),
                    modules: str_list(ls.get("module")),
                };
                // Sigma product/service names for our own sources, so rules can say either.
                if l.datasets.is_empty() && l.modules.is_empty() {
                    l = sigma_logsource(ls);
                }
                l
            }
            Some(_) => return Err(err("logsource must be a mapping".into())),
            None => LogSource::default(),
        };
        let detection = get("detection").ok_or_else(|| err("`detection` is required".into()))?;
        let detection =
            Detection::compile(detection, &Placeholders::new()).map_err(|e| err(e.to_string()))?;
        for f in detection.fields() {
            if f.contains('.')
                && f.split('.').next().is_some_and(is_ecs_root)
                && Field::from_name(f).is_none()
            {
                // A dotted name under one of our field roots is almost certainly a typo of a
                // normalized field; originals with such names (Zeek `id.orig_h`) stay allowed.
                if let Err(e) = f.parse::<Field>()
                    && e.suggestion.is_some()
                {
                    return Err(err(format!("detection: {e}")));
                }
            }
        }
        let alert = match get("alert") {
            Some(Y::Bool(b)) => *b,
            Some(_) => return Err(err("alert must be true or false".into())),
            None => level >= Severity::Medium,
        };
        let interactive = matches!(get("interactive"), Some(Y::Bool(true)));
        let after_remote_logon = matches!(get("after_remote_logon"), Some(Y::Bool(true)));
        let requires = text("requires");
        let triage = match get("triage") {
            Some(Y::Sequence(items)) => items
                .iter()
                .map(|i| {
                    let step = i
                        .get("step")
                        .and_then(Y::as_str)
                        .ok_or_else(|| err("triage: each item needs `step`".into()))?;
                    Ok(TriageStep {
                        step: step.to_string(),
                        why: i
                            .get("why")
                            .and_then(Y::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        query: i.get("query").and_then(Y::as_str).map(str::to_string),
                    })
                })
                .collect::<Result<Vec<_>, RuleError>>()?,
            Some(_) => return Err(err("triage must be a list".into())),
            None => Vec::new(),
        };
        Ok(Rule {
            id,
            title,
            description: text("description").unwrap_or_default(),
            level,
            group,
            tactics,
            techniques,
            logsource,
            detection,
            alert,
            interactive,
            after_remote_logon,
            requires,
            triage,
            references: str_list(get("references")),
            falsepositives: str_list(get("falsepositives")),
            source: source.to_string(),
        })
    }

    /// Whether the rule may see events of this module and dataset.
    pub fn admits(&self, ev: &Event) -> bool {
        self.logsource
            .admits(ev.str(Field::EventModule), ev.str(Field::EventDataset))
    }
}

fn is_ecs_root(r: &str) -> bool {
    matches!(
        r,
        "event"
            | "host"
            | "source"
            | "destination"
            | "network"
            | "user"
            | "process"
            | "container"
            | "orchestrator"
            | "service"
            | "file"
            | "dns"
            | "url"
            | "log"
            | "winlog"
            | "authentication"
            | "session"
            | "group"
            | "rule"
    )
}

/// Sigma `logsource` product/service/category → our module/datasets (for the sources lateral
/// decodes; the full Sigma mapping lives with the Sigma loader).
fn sigma_logsource(ls: &serde_norway::Mapping) -> LogSource {
    let s = |k: &str| ls.get(k).and_then(Y::as_str).map(str::to_ascii_lowercase);
    let (product, service, category) = (s("product"), s("service"), s("category"));
    let mut l = LogSource::default();
    match (product.as_deref(), service.as_deref(), category.as_deref()) {
        (Some("windows"), Some("security"), _) => l.datasets.push("windows.security".into()),
        (Some("windows"), Some("system"), _) => l.datasets.push("windows.system".into()),
        (Some("windows"), Some("sysmon"), _) => l.datasets.push("windows.sysmon".into()),
        (Some("windows"), Some("powershell"), _) => l.datasets.push("windows.powershell".into()),
        (Some("windows"), _, _) => l.modules.push("windows".into()),
        (Some("zeek"), Some(svc), _) => l.datasets.push(format!("zeek.{svc}")),
        (Some("zeek"), None, _) => l.modules.push("zeek".into()),
        (Some("linux"), Some("sshd" | "auth"), _) => l.datasets.push("system.auth".into()),
        (Some("linux"), Some("auditd"), _) => l.modules.push("auditd".into()),
        _ => {}
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
id: t-1
title: Test rule
level: high
group: remote_access
tags: [attack.lateral_movement, attack.t1021.002, attack.execution, attack.t1569.002]
logsource: {dataset: windows.system}
detection:
  sel: {event.code: '7045', service.name: PSEXESVC}
  condition: sel
triage:
  - step: Check the service binary
    why: because
    query: 'host.name:{host}'
"#;

    #[test]
    fn parses_a_rule() {
        let r = Rule::parse_all(RULE, "test.yml").remove(0).unwrap();
        assert_eq!(r.level, Severity::High);
        assert_eq!(r.group, Some(Group::RemoteAccess));
        assert_eq!(r.tactics, vec!["lateral_movement", "execution"]);
        assert_eq!(r.techniques, vec!["T1021.002", "T1569.002"]);
        assert!(r.alert);
        assert_eq!(r.triage[0].query.as_deref(), Some("host.name:{host}"));
        let mut ev = Event::new(0);
        ev.set(Field::EventDataset, "windows.system");
        ev.set(Field::EventCode, "7045");
        ev.set(Field::ServiceName, "psexesvc");
        assert!(r.admits(&ev) && r.detection.matches(&ev));
        ev.set(Field::EventDataset, "zeek.conn");
        assert!(!r.admits(&ev));
    }

    #[test]
    fn errors_name_file_and_key() {
        let e = Rule::parse_all(
            "id: x\ntitle: y\ndetection: {sel: {a: 1}, condition: sel}\nlevle: high\n",
            "f.yml",
        )
        .remove(0)
        .unwrap_err();
        assert_eq!(e.to_string(), "f.yml: unknown key `levle`");
        let e = Rule::parse_all(
            "id: x\ntitle: y\ngroup: lateral\ndetection: {sel: {a: 1}, condition: sel}\n",
            "f.yml",
        )
        .remove(0)
        .unwrap_err();
        assert!(e.reason.contains("unknown group"));
        let e = Rule::parse_all(
            "id: x\ntitle: y\ndetection: {sel: {source.iq: 1}, condition: sel}\n",
            "f.yml",
        )
        .remove(0)
        .unwrap_err();
        assert!(e.reason.contains("did you mean `source.ip`"), "{e}");
        let e = Rule::parse_all("id: [\n", "f.yml").remove(0).unwrap_err();
        assert!(e.reason.contains("invalid YAML") && e.line.is_some());
    }

    #[test]
    fn multi_document_files() {
        let two = format!("{RULE}\n---\n{}", RULE.replace("t-1", "t-2"));
        let rules: Vec<_> = Rule::parse_all(&two, "m.yml")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].id, "t-2");
    }
}
