//! Blind spots: which attack-chain groups cannot fire because no source shows the events their
//! rules read ("no process events: System Enumeration cannot be seen").
//!
//! A rule can fire when some source produces an `event.dataset` (or `event.module`) its log
//! source admits. A source reports the datasets it produced; before its first event, its format
//! stands in for them ([`format_modules`]), so a freshly added Zeek directory does not raise a
//! false alarm while it is being read.

use std::collections::BTreeSet;

use super::catalog::{RuleCatalog, RuleInfo};
use super::msg::SourceRow;
use crate::correlate::Group;

/// How well one group can be seen with the current sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVisibility {
    /// The group.
    pub group: Group,
    /// Rules feeding it.
    pub rules: usize,
    /// Of those, rules some source can trigger.
    pub visible: usize,
    /// Source families that would make it visible (`tetragon`, `auditd`, `windows`, ...).
    pub needs: Vec<String>,
}

impl GroupVisibility {
    /// Whether no rule of the group can fire.
    pub fn blind(&self) -> bool {
        self.rules > 0 && self.visible == 0
    }

    /// The warning line for a blind group.
    pub fn warning(&self) -> String {
        let mut w = format!(
            "no {}: {} cannot be seen",
            group_needs(self.group),
            self.group.title()
        );
        if !self.needs.is_empty() {
            w.push_str(&format!(" (add {} logs)", or_list(&self.needs)));
        }
        w
    }
}

/// What kind of events a group's rules read, in words.
fn group_needs(g: Group) -> &'static str {
    match g {
        Group::RemoteAccess => "logon or remote-access events",
        Group::CredentialHarvesting => "process or file-access events",
        Group::NetworkRecon => "process or DNS events",
        Group::SystemEnumeration => "process events",
    }
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The `event.module` values a format produces, for sources that have not produced an event
/// yet. Format names are those of `lateral formats`; an unknown format contributes nothing.
pub fn format_modules(format: &str) -> &'static [&'static str] {
    match format {
        "zeek-tsv" | "zeek-json" => &["zeek"],
        "syslog" => &["system"],
        "auditd" => &["auditd"],
        "hubble" => &["cilium"],
        "falco" => &["falco"],
        "tetragon" => &["tetragon"],
        "vpcflow" => &["aws"],
        "evtx" | "windows-json" => &["windows"],
        _ => &[],
    }
}

/// What the sources show: exact datasets, and modules whose datasets are not known yet.
#[derive(Debug, Default)]
struct Seen {
    datasets: BTreeSet<String>,
    modules: BTreeSet<String>,
    pending_modules: BTreeSet<String>,
}

fn module_of(dataset: &str) -> &str {
    dataset.split('.').next().unwrap_or(dataset)
}

impl Seen {
    fn of(sources: &[SourceRow]) -> Seen {
        let mut seen = Seen::default();
        for s in sources {
            for d in &s.datasets {
                seen.datasets.insert(d.clone());
                seen.modules.insert(module_of(d).to_string());
            }
            if s.datasets.is_empty()
                && let Some(f) = &s.format
            {
                for m in format_modules(f) {
                    seen.pending_modules.insert((*m).to_string());
                    seen.modules.insert((*m).to_string());
                }
            }
        }
        seen
    }

    fn admits(&self, r: &RuleInfo) -> bool {
        let dataset_ok = r.datasets.is_empty()
            || r.datasets
                .iter()
                .any(|d| self.datasets.contains(d) || self.pending_modules.contains(module_of(d)));
        let module_ok = r.modules.is_empty() || r.modules.iter().any(|m| self.modules.contains(m));
        dataset_ok && module_ok
    }
}

/// Visibility of each of the four groups, in [`Group::ALL`] order. Empty when there are no
/// sources yet (nothing to judge).
pub fn visibility(rules: &RuleCatalog, sources: &[SourceRow]) -> Vec<GroupVisibility> {
    if sources.is_empty() {
        return Vec::new();
    }
    let seen = Seen::of(sources);
    Group::ALL
        .iter()
        .map(|&group| {
            let of_group: Vec<&RuleInfo> = rules
                .rules()
                .iter()
                .filter(|r| r.group == Some(group))
                .collect();
            let visible = of_group.iter().filter(|r| seen.admits(r)).count();
            let mut needs: Vec<String> = Vec::new();
            for r in &of_group {
                let mods = r
                    .datasets
                    .iter()
                    .map(|d| module_of(d).to_string())
                    .chain(r.modules.iter().cloned());
                for m in mods {
                    if !needs.contains(&m) {
                        needs.push(m);
                    }
                }
            }
            needs.sort();
            GroupVisibility {
                group,
                rules: of_group.len(),
                visible,
                needs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(format: &str, datasets: &[&str]) -> SourceRow {
        SourceRow {
            path: format!("/logs/{format}.log"),
            format: Some(format.into()),
            datasets: datasets.iter().map(|d| (*d).to_string()).collect(),
            ..SourceRow::default()
        }
    }

    #[test]
    fn network_only_sources_cannot_see_process_groups() {
        let c = RuleCatalog::builtin();
        let v = visibility(&c, &[src("zeek-tsv", &["zeek.conn", "zeek.dns"])]);
        let se = v
            .iter()
            .find(|g| g.group == Group::SystemEnumeration)
            .unwrap();
        assert!(se.blind(), "{se:?}");
        assert!(
            se.warning()
                .starts_with("no process events: System Enumeration cannot be seen"),
            "{}",
            se.warning()
        );
        assert!(se.needs.contains(&"tetragon".to_string()));
        let ra = v.iter().find(|g| g.group == Group::RemoteAccess).unwrap();
        assert!(!ra.blind());
    }

    #[test]
    fn formats_stand_in_before_the_first_event() {
        let c = RuleCatalog::builtin();
        let v = visibility(&c, &[src("tetragon", &[])]);
        assert!(v.iter().all(|g| !g.blind()), "{v:?}");
        assert!(visibility(&c, &[]).is_empty());
    }
}
