//! East-west baseline: which (source, destination, port) flows are normal.
//!
//! A pair is (source workload or address, destination workload or address, destination
//! port). Workloads are Kubernetes pods named by namespace and deployment (the pod name
//! without its ReplicaSet and pod hashes), so a restarted pod is not a new source. During the
//! learning period (default 7 days of event time from the first flow) every pair is learned;
//! afterwards an unknown pair is a *new network destination* and is learned as it is reported,
//! so it is reported once. The baseline is plain data: the caller persists it as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Nanos;

/// Current file format version.
pub const BASELINE_VERSION: u32 = 1;

/// First and last time a pair was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// First seen (event time).
    pub first: Nanos,
    /// Last seen (event time).
    pub last: Nanos,
}

/// The learned flow pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// File format version.
    pub version: u32,
    /// Event time learning started.
    pub started: Option<Nanos>,
    /// Learning period length.
    pub learning: Nanos,
    /// `source|destination|port` → seen.
    pub pairs: BTreeMap<String, Seen>,
    /// Reused to build lookup keys without allocating per flow.
    #[serde(skip)]
    key_buf: String,
}

impl PartialEq for Baseline {
    fn eq(&self, o: &Self) -> bool {
        (self.version, self.started, self.learning, &self.pairs)
            == (o.version, o.started, o.learning, &o.pairs)
    }
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline::new(7 * 24 * 3600 * 1_000_000_000)
    }
}

/// What observing a flow meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairStatus {
    /// Still learning: added or refreshed.
    Learning,
    /// Known pair.
    Known,
    /// Never seen, after learning: a new destination.
    New,
}

impl Baseline {
    /// An empty baseline with a learning period.
    pub fn new(learning: Nanos) -> Self {
        Baseline {
            version: BASELINE_VERSION,
            started: None,
            learning,
            pairs: BTreeMap::new(),
            key_buf: String::new(),
        }
    }

    /// The key of a pair.
    pub fn key(src: &str, dst: &str, port: i64) -> String {
        format!("{src}|{dst}|{port}")
    }

    /// Observe a flow at `ts`.
    pub fn observe(&mut self, src: &str, dst: &str, port: i64, ts: Nanos) -> PairStatus {
        let started = *self.started.get_or_insert(ts);
        let learning = ts < started.saturating_add(self.learning);
        self.key_buf.clear();
        {
            use std::fmt::Write;
            let _ = write!(self.key_buf, "{src}|{dst}|{port}");
        }
        match self.pairs.get_mut(self.key_buf.as_str()) {
            Some(seen) => {
                seen.last = seen.last.max(ts);
                seen.first = seen.first.min(ts);
                if learning {
                    PairStatus::Learning
                } else {
                    PairStatus::Known
                }
            }
            None => {
                self.pairs.insert(
                    self.key_buf.clone(),
                    Seen {
                        first: ts,
                        last: ts,
                    },
                );
                if learning {
                    PairStatus::Learning
                } else {
                    PairStatus::New
                }
            }
        }
    }

    /// End the learning period now (after `--baseline` files were read).
    pub fn finish_learning(&mut self) {
        if self.started.is_some() {
            self.learning = 0;
        }
    }
}

/// Workload name of a pod: `reviews-v1-545db77b95-s6jb8` → `reviews-v1` (Deployment pods end
/// in a ReplicaSet hash and a 5-character suffix; StatefulSet pods in an ordinal, kept).
pub fn workload_of_pod(pod: &str) -> &str {
    let parts: Vec<&str> = pod.rsplitn(3, '-').collect();
    if parts.len() == 3 {
        let (suffix, hash) = (parts[0], parts[1]);
        let is_suffix = suffix.len() == 5 && suffix.chars().all(|c| c.is_ascii_alphanumeric());
        let is_hash =
            (6..=10).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_alphanumeric());
        if is_suffix && is_hash {
            return parts[2];
        }
    }
    // DaemonSet / bare ReplicaSet pods: one 5-character suffix.
    if let Some((base, suffix)) = pod.rsplit_once('-')
        && suffix.len() == 5
        && suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && suffix.chars().any(|c| c.is_ascii_digit())
    {
        return base;
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Nanos = 60_000_000_000;

    #[test]
    fn learns_then_reports_new_pairs_once() {
        let mut b = Baseline::new(10 * MIN);
        assert_eq!(b.observe("a", "b", 443, 0), PairStatus::Learning);
        assert_eq!(b.observe("a", "b", 443, 5 * MIN), PairStatus::Learning);
        assert_eq!(b.observe("a", "b", 443, 11 * MIN), PairStatus::Known);
        assert_eq!(b.observe("a", "c", 22, 12 * MIN), PairStatus::New);
        assert_eq!(b.observe("a", "c", 22, 13 * MIN), PairStatus::Known);
    }

    #[test]
    fn round_trips_as_json() {
        let mut b = Baseline::new(MIN);
        b.observe("shop/frontend", "db/postgres", 5432, 7);
        let j = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Baseline>(&j).unwrap(), b);
    }

    #[test]
    fn workload_names() {
        assert_eq!(workload_of_pod("reviews-v1-545db77b95-s6jb8"), "reviews-v1");
        assert_eq!(workload_of_pod("coredns-5d78c9869d-x7k2p"), "coredns");
        assert_eq!(workload_of_pod("cilium-4xk9z"), "cilium");
        assert_eq!(workload_of_pod("postgres-0"), "postgres-0");
        assert_eq!(workload_of_pod("tiefighter"), "tiefighter");
    }
}
