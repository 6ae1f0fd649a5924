//! The rules shipped inside the binary (`src/correlate/rules/*.yml`), one file per attack
//! chain group plus web shells and account changes.

use super::rule::{Rule, RuleError};

/// (file name, contents) of every shipped rule file.
pub const FILES: &[(&str, &str)] = &[
    ("remote_access.yml", include_str!("rules/remote_access.yml")),
    (
        "credential_harvesting.yml",
        include_str!("rules/credential_harvesting.yml"),
    ),
    ("network_recon.yml", include_str!("rules/network_recon.yml")),
    (
        "system_enumeration.yml",
        include_str!("rules/system_enumeration.yml"),
    ),
    (
        "web_and_accounts.yml",
        include_str!("rules/web_and_accounts.yml"),
    ),
];

/// Parse every shipped rule. Errors here are bugs caught by the tests.
pub fn rules() -> (Vec<Rule>, Vec<RuleError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in FILES {
        for r in Rule::parse_all(text, &format!("builtin:{name}")) {
            match r {
                Ok(rule) => ok.push(rule),
                Err(e) => errors.push(e),
            }
        }
    }
    (ok, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_rule_loads_with_a_unique_id() {
        let (rules, errors) = rules();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(rules.len() >= 30, "{} rules", rules.len());
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule ids");
        for r in &rules {
            assert!(!r.description.is_empty(), "{} has no description", r.id);
            assert!(!r.techniques.is_empty(), "{} has no ATT&CK technique", r.id);
        }
    }
}
