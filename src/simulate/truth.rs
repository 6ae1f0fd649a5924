//! Ground truth: one [`Truth`] line per planted chain in `ground-truth.jsonl`, and the
//! scoring of hunted sessions against it.
//!
//! A chain is found when a session has the expected context key, case and severity. A
//! session at medium or above that matches no chain's context is a false positive. Low and
//! info sessions are routine (an administrator's SSH login) and are not scored.

use serde::{Deserialize, Serialize};

use crate::correlate::{Case, Session};
use crate::event::{Nanos, Severity};

/// One planted chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// Chain number (0-based, in planting order).
    pub chain: usize,
    /// What was planted: a case name (`comprehensive`, ...) or a threshold story
    /// (`port_scan`, `auth_sweep`, `logon_fanout`).
    pub story: String,
    /// Expected session context key (`pod:shop/frontend-...`, `linux:app-2:ses:41`,
    /// `win:ws-014:logon:0x3b8e21`, `host:ws-009`, `ip:10.30.200.4`).
    pub context: String,
    /// Expected attack-chain case (`null` for threshold stories without one).
    pub case: Option<Case>,
    /// Expected session severity.
    pub severity: Severity,
    /// Expected session `rule_id` (`lateral-movement-chain` for chain cases).
    pub rule_id: String,
    /// Rules (or detectors) that must be among the session's `rules`.
    pub rules: Vec<String>,
    /// First planted event (event time).
    #[serde(with = "ts")]
    pub first_seen: Nanos,
    /// Last planted event (event time).
    #[serde(with = "ts")]
    pub last_seen: Nanos,
    /// Event time of the planted event that completes the story: the session should reach
    /// its expected severity when this event is processed (what live latency is measured
    /// from).
    #[serde(with = "ts")]
    pub fires_at: Nanos,
    /// Events planted.
    pub events: u64,
    /// In words.
    pub description: String,
}

mod ts {
    use crate::event::{Nanos, format_timestamp, parse_timestamp};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        let s = String::deserialize(d)?;
        parse_timestamp(&s).ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {s}")))
    }
}

/// How a hunt scored against the ground truth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Chains planted.
    pub planted: usize,
    /// Chains found with the expected case and severity.
    pub found: usize,
    /// Chains missed or found with another case / severity, with what was seen.
    pub missed: Vec<String>,
    /// Sessions at medium or above that match no planted chain.
    pub false_positives: Vec<String>,
}

impl Score {
    /// Every chain found and no false positive.
    pub fn perfect(&self) -> bool {
        self.found == self.planted && self.missed.is_empty() && self.false_positives.is_empty()
    }
}

/// Score `sessions` against `truth`.
pub fn score(sessions: &[Session], truth: &[Truth]) -> Score {
    let mut s = Score {
        planted: truth.len(),
        ..Score::default()
    };
    for t in truth {
        let same_context: Vec<&Session> = sessions
            .iter()
            .filter(|x| x.context.key == t.context)
            .collect();
        let hit = same_context.iter().find(|x| {
            x.case == t.case
                && x.severity == t.severity
                && x.rule_id == t.rule_id
                && t.rules.iter().all(|r| x.rules.contains(r))
        });
        match hit {
            Some(_) => s.found += 1,
            None => s.missed.push(format!(
                "chain {} ({}, {}): expected {:?}/{} in {}; saw {}",
                t.chain,
                t.story,
                t.description,
                t.case,
                t.severity,
                t.context,
                if same_context.is_empty() {
                    "no session in that context".to_string()
                } else {
                    same_context
                        .iter()
                        .map(|x| format!("{:?}/{} {} {:?}", x.case, x.severity, x.rule_id, x.rules))
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            )),
        }
    }
    for x in sessions.iter().filter(|x| x.severity >= Severity::Medium) {
        if !truth.iter().any(|t| t.context == x.context.key) {
            s.false_positives.push(format!(
                "{} {} {} ({})",
                x.severity,
                x.title,
                x.context.key,
                x.rules.join(",")
            ));
        }
    }
    s
}
