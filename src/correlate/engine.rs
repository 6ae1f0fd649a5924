//! The correlation engine: a deterministic state machine on event time.
//!
//! `observe(&Event)` matches the event against the rules that can see it (stateless, so it
//! can happen in any order), then queues a compact observation in a reorder buffer ordered by
//! `(timestamp, event.id)`. Observations are processed once the watermark — the newest event
//! time seen minus the allowed lateness — passes them, so any arrival order within the
//! lateness gives the same processing order and therefore the same sessions. `advance(t)`
//! moves the watermark without an event (end of input: `advance(Nanos::MAX)`).
//!
//! Processing an observation: resolve its execution context (see `context`), feed the
//! attack-chain groups of that context, update the east-west baseline and the threshold
//! detectors (port scan, auth sweep, logon fan-out, failed logons across hosts, account
//! changes after a remote logon), and materialize or escalate the context's session. Windows
//! slide on event time; state idle for longer than its window is dropped, which bounds memory.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};

use super::baseline::{Baseline, PairStatus, workload_of_pod};
use super::context::Resolver;
use super::rule::{Group, Rule};
use super::session::{
    Case, Change, ChangeKind, ContextInfo, Evidence, NearMiss, Session, SessionId,
    ThresholdProgress,
};
use crate::event::{Event, Field, Nanos, Severity, sanitize};

const SEC: Nanos = 1_000_000_000;
const MIN: Nanos = 60 * SEC;

/// Rule id of the attack-chain session.
pub const CHAIN_RULE_ID: &str = "lateral-movement-chain";

/// Tunables, with the defaults of the attack chain and east-west rules.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Chain window: groups count together when seen within it; a session closes after this
    /// long without activity.
    pub window: Nanos,
    /// Allowed lateness: events up to this much older than the newest seen are reordered.
    pub lateness: Nanos,
    /// Evidence events kept per session.
    pub evidence_limit: usize,
    /// Port scan: fires when one source reaches more than this many distinct ports...
    pub port_scan_ports: u64,
    /// ...within this window.
    pub port_scan_window: Nanos,
    /// Auth sweep: fires at this many distinct services or hosts with failures...
    pub auth_sweep_targets: u64,
    /// ...within this window.
    pub auth_sweep_window: Nanos,
    /// Logon fan-out: fires when one source address and account reach more than this many
    /// hosts with network logons...
    pub fanout_hosts: u64,
    /// ...within this window.
    pub fanout_window: Nanos,
    /// Kubernetes DNS enumeration: fires at this many distinct `*.svc.cluster.local` names
    /// from one context...
    pub dns_enum_names: u64,
    /// ...within this window.
    pub dns_enum_window: Nanos,
    /// Failed logons: fires at this many distinct hosts...
    pub failed_hosts: u64,
    /// ...within this window.
    pub failed_window: Nanos,
    /// Namespaces being deployed, with event-time windows: new destinations from them are
    /// not reported.
    pub deploy_windows: Vec<DeployWindow>,
}

/// A deployment window during which new destinations of a namespace are expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployWindow {
    /// Kubernetes namespace (`*` for all).
    pub namespace: String,
    /// Start, event time.
    pub start: Nanos,
    /// End, event time.
    pub end: Nanos,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            window: 60 * MIN,
            lateness: 2 * MIN,
            evidence_limit: 64,
            port_scan_ports: 10,
            port_scan_window: 5 * MIN,
            auth_sweep_targets: 3,
            auth_sweep_window: 10 * MIN,
            fanout_hosts: 5,
            fanout_window: 60 * MIN,
            dns_enum_names: 10,
            dns_enum_window: 5 * MIN,
            failed_hosts: 3,
            failed_window: 5 * MIN,
            deploy_windows: Vec::new(),
        }
    }
}

/// Counters for the Sources/health views and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    /// Events observed.
    pub events: u64,
    /// Events that matched at least one rule.
    pub matched: u64,
    /// Events that arrived after the watermark had passed them.
    pub late: u64,
    /// Contexts with state now.
    pub open_contexts: u64,
    /// Sessions reported so far.
    pub sessions: u64,
    /// Observations waiting in the reorder buffer.
    pub buffered: u64,
}

/// A code-defined detector (threshold and sequence rules), reported like a rule.
#[derive(Debug, Clone, Copy)]
struct Detector {
    id: &'static str,
    title: &'static str,
    level: Severity,
    group: Option<Group>,
    tactics: &'static [&'static str],
    techniques: &'static [&'static str],
}

const PORT_SCAN: Detector = Detector {
    id: "ew-port-scan",
    title: "Port scan from one source",
    level: Severity::High,
    group: Some(Group::NetworkRecon),
    tactics: &["discovery"],
    techniques: &["T1046"],
};
const AUTH_SWEEP: Detector = Detector {
    id: "ew-auth-sweep",
    title: "Authentication sweep across services",
    level: Severity::High,
    group: None,
    tactics: &["credential_access", "lateral_movement"],
    techniques: &["T1110"],
};
const NEW_DESTINATION: Detector = Detector {
    id: "ew-new-destination",
    title: "New network destination",
    level: Severity::Medium,
    group: None,
    tactics: &["lateral_movement"],
    techniques: &["T1021"],
};
const CONFIRMED: Detector = Detector {
    id: "ew-confirmed-lateral-movement",
    title: "Confirmed lateral movement: new destinations and an auth sweep",
    level: Severity::Critical,
    group: None,
    tactics: &["lateral_movement"],
    techniques: &["T1021"],
};
const FANOUT: Detector = Detector {
    id: "win-logon-fanout",
    title: "Network logons from one source to many hosts",
    level: Severity::High,
    group: Some(Group::RemoteAccess),
    tactics: &["lateral_movement"],
    techniques: &["T1021", "T1078"],
};
const FAILED_HOSTS: Detector = Detector {
    id: "auth-failures-multiple-hosts",
    title: "Failed logons against several hosts",
    level: Severity::Medium,
    group: None,
    tactics: &["credential_access"],
    techniques: &["T1110"],
};
const ACCOUNT_AFTER_LOGON: Detector = Detector {
    id: "account-change-after-remote-logon",
    title: "Account or group change after a remote logon",
    level: Severity::Medium,
    group: None,
    tactics: &["persistence", "privilege_escalation"],
    techniques: &["T1136", "T1098"],
};

const DNS_ENUM: Detector = Detector {
    id: "nr-k8s-dns-enumeration",
    title: "Kubernetes DNS enumeration",
    level: Severity::Medium,
    group: Some(Group::NetworkRecon),
    tactics: &["discovery"],
    techniques: &["T1046", "T1018"],
};

/// Every code-defined detector id and title (for `rules list`).
pub fn detectors() -> Vec<(&'static str, &'static str, Severity)> {
    [
        PORT_SCAN,
        AUTH_SWEEP,
        NEW_DESTINATION,
        CONFIRMED,
        FANOUT,
        FAILED_HOSTS,
        ACCOUNT_AFTER_LOGON,
    ]
    .iter()
    .map(|d| (d.id, d.title, d.level))
    .collect()
}

/// What fired in a context: a rule or a detector.
#[derive(Debug, Clone)]
struct Fired {
    id: String,
    title: String,
    level: Severity,
    alert: bool,
    tactics: Vec<String>,
    techniques: Vec<String>,
    count: u64,
    explanation: String,
}

/// A compact, owned copy of what processing needs from an event.
#[derive(Debug)]
struct Obs {
    ev: Event,
    /// Indices of matching rules, with the searches that matched.
    matches: Vec<(usize, Vec<String>)>,
    /// Sigma rules matched and correlation inputs (read before the originals are dropped).
    sigma: Option<super::sigma::Observation>,
}

/// A buffered observation. Boxed: the heap moves entries around on every push and pop, and a
/// pointer is cheaper to move than the observation.
struct Pending {
    ts: Nanos,
    seq: u64,
    obs: Box<Obs>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, &self.obs.ev.id, self.seq) == (o.ts, &o.obs.ev.id, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // seq breaks ties between duplicates of one event id deterministically enough: equal
        // (ts, id) pairs are the same record seen twice.
        (self.ts, &self.obs.ev.id, self.seq).cmp(&(o.ts, &o.obs.ev.id, o.seq))
    }
}

/// Per-context state.
#[derive(Debug)]
struct CtxState {
    info: ContextInfo,
    first_seen: Nanos,
    last_seen: Nanos,
    first_event: String,
    groups: BTreeMap<Group, VecDeque<Nanos>>,
    interactive: bool,
    fired: BTreeMap<String, Fired>,
    evidence: Vec<Evidence>,
    event_count: u64,
    assessed: Option<Assessment>,
    thresholds: Vec<ThresholdProgress>,
    remote_logon_at: Option<Nanos>,
}

/// Distinct values per key within a sliding window, counted incrementally (each add and
/// expiry is O(1) amortized, whatever the window holds).
#[derive(Debug, Default)]
struct Distinct {
    /// key → window.
    entries: HashMap<String, Window>,
    /// Keys already reported in their current episode (cleared when the window empties).
    fired: HashSet<String>,
}

/// The values of one key: each value once, at its latest time. Memory is bounded by the
/// distinct values seen within the window, not by the event rate.
#[derive(Debug, Default)]
struct Window {
    /// value → latest time.
    last: HashMap<String, Nanos>,
    /// (latest time, value), oldest first.
    order: BTreeSet<(Nanos, String)>,
}

impl Window {
    fn evict(&mut self, cutoff: Nanos) {
        while let Some((t, _)) = self.order.first()
            && *t <= cutoff
        {
            if let Some((_, v)) = self.order.pop_first() {
                self.last.remove(&v);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

impl Distinct {
    /// Add a value and return the number of distinct values in the window and the time of
    /// the oldest one.
    fn add(&mut self, key: &str, value: String, ts: Nanos, window: Nanos) -> (u64, Nanos) {
        let w = match self.entries.get_mut(key) {
            Some(w) => w,
            None => self.entries.entry(key.to_string()).or_default(),
        };
        w.evict(ts - window);
        match w.last.get_mut(&value) {
            Some(t) if *t >= ts => {}
            Some(t) => {
                w.order.remove(&(*t, value.clone()));
                *t = ts;
                w.order.insert((ts, value));
            }
            None => {
                w.last.insert(value.clone(), ts);
                w.order.insert((ts, value));
            }
        }
        let oldest = w.order.first().map_or(ts, |(t, _)| *t);
        (w.last.len() as u64, oldest)
    }

    fn expire(&mut self, now: Nanos, window: Nanos) {
        self.entries.retain(|k, w| {
            w.evict(now - window);
            if w.is_empty() {
                self.fired.remove(k);
            }
            !w.is_empty()
        });
    }
}

/// The correlator.
pub struct Engine {
    config: EngineConfig,
    rules: Vec<Rule>,
    by_dataset: HashMap<String, Vec<usize>>,
    any_dataset: Vec<usize>,
    /// The rules with datasets, indexed by dataset, event code and literal values (the index
    /// Sigma rules use): an event is checked only against rules that can match it.
    index: Option<super::sigma::index::Index>,
    buffer: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    max_ts: Option<Nanos>,
    watermark: Nanos,
    resolver: Resolver,
    baseline: Baseline,
    contexts: HashMap<String, CtxState>,
    closed: Vec<Session>,
    last_sweep: Nanos,
    port_scan: Distinct,
    auth_sweep: Distinct,
    fanout: Distinct,
    failed: Distinct,
    dns_enum: Distinct,
    /// Host → last remote logon to it (event time).
    host_remote_logon: HashMap<String, Nanos>,
    /// Sources with a new destination, and when.
    new_dest: HashMap<String, Nanos>,
    stats: EngineStats,
    /// Sessions changed while processing, by context key, with the kind of change.
    dirty: BTreeMap<String, ChangeKind>,
    /// Changes already final (closed sessions), in order.
    pending_changes: Vec<Change>,
    /// Community Sigma rules and correlations, when loaded.
    sigma: Option<super::sigma::Runtime>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Engine {
    /// An engine over `rules`.
    pub fn new(rules: Vec<Rule>, config: EngineConfig, baseline: Baseline) -> Engine {
        let mut by_dataset: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_dataset = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.logsource.datasets.is_empty() {
                any_dataset.push(i);
            } else {
                for d in &r.logsource.datasets {
                    by_dataset.entry(d.clone()).or_default().push(i);
                }
            }
        }
        let index = rule_index(&rules);
        Engine {
            config,
            rules,
            by_dataset,
            any_dataset,
            index,
            buffer: BinaryHeap::new(),
            seq: 0,
            max_ts: None,
            watermark: Nanos::MIN,
            resolver: Resolver::default(),
            baseline,
            contexts: HashMap::new(),
            closed: Vec::new(),
            last_sweep: Nanos::MIN,
            port_scan: Distinct::default(),
            auth_sweep: Distinct::default(),
            fanout: Distinct::default(),
            failed: Distinct::default(),
            dns_enum: Distinct::default(),
            new_dest: HashMap::new(),
            host_remote_logon: HashMap::new(),
            stats: EngineStats::default(),
            dirty: BTreeMap::new(),
            pending_changes: Vec::new(),
            sigma: None,
        }
    }

    /// Also run a set of Sigma rules and correlations. Their matches become sessions like
    /// the shipped rules' (severity from `level`, ATT&CK from `tags`); a correlation's match
    /// opens or escalates the session of the context named by its group-by values.
    pub fn with_sigma(mut self, set: super::sigma::Ruleset) -> Engine {
        self.sigma = Some(super::sigma::Runtime::new(set));
        self
    }

    /// The Sigma rules loaded, if any.
    pub fn sigma(&self) -> Option<&super::sigma::Ruleset> {
        self.sigma.as_ref().map(|s| &s.set)
    }

    /// The rules loaded.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            open_contexts: self.contexts.len() as u64,
            buffered: self.buffer.len() as u64,
            ..self.stats
        }
    }

    /// The baseline as learned so far (persist it to keep it across runs).
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The event-time watermark: everything at or before it has been processed.
    pub fn watermark(&self) -> Nanos {
        self.watermark
    }

    /// Match an event against the rules it can meet (no state involved).
    fn match_rules(&mut self, ev: &Event) -> Vec<(usize, Vec<String>)> {
        let dataset = ev.str(Field::EventDataset).unwrap_or("");
        let indexed: Vec<usize>;
        let candidates: Box<dyn Iterator<Item = &usize>> = match self.index.as_mut() {
            Some(index) => {
                indexed = index
                    .candidates(ev)
                    .iter()
                    .map(|t| t.rule as usize)
                    .collect();
                Box::new(indexed.iter().chain(&self.any_dataset))
            }
            None => Box::new(
                self.by_dataset
                    .get(dataset)
                    .into_iter()
                    .flatten()
                    .chain(&self.any_dataset),
            ),
        };
        let mut out: Vec<(usize, Vec<String>)> = Vec::new();
        for &i in candidates {
            if out.iter().any(|(j, _)| *j == i) {
                continue;
            }
            let Some(rule) = self.rules.get(i) else {
                continue;
            };
            if rule.admits(ev) && rule.detection.matches(ev) {
                let searches = rule
                    .detection
                    .matched_searches(ev)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                out.push((i, searches));
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }

    /// Whether an event matters to stateful processing even without a rule match.
    fn relevant(ev: &Event) -> bool {
        is_flow(ev).is_some()
            || ev.str(Field::EventCategory) == Some("authentication")
            || ev.str(Field::ProcessEntityId).is_some()
            || ev.ip(Field::HostIp).is_some()
            || (ev.str(Field::OrchestratorResourceName).is_some()
                && ev.ip(Field::SourceIp).is_some())
    }

    /// Observe one event; returns the session changes it (and the watermark it advances)
    /// caused.
    pub fn observe(&mut self, ev: &Event) -> Vec<Change> {
        self.stats.events += 1;
        let matches = self.match_rules(ev);
        let sigma = self.sigma.as_mut().and_then(|s| s.observe(ev));
        if !matches.is_empty() || sigma.as_ref().is_some_and(|s| !s.hits.is_empty()) {
            self.stats.matched += 1;
        }
        if !matches.is_empty() || sigma.is_some() || Engine::relevant(ev) {
            let obs = Obs {
                ev: slim(ev),
                matches,
                sigma,
            };
            if ev.timestamp <= self.watermark {
                // Too late to reorder: process now (counted; results may then depend on
                // arrival order, which the lateness setting is there to avoid).
                self.stats.late += 1;
                self.process(obs);
            } else {
                self.seq += 1;
                self.buffer.push(Reverse(Pending {
                    ts: ev.timestamp,
                    seq: self.seq,
                    obs: Box::new(obs),
                }));
            }
        }
        let newest = self.max_ts.map_or(ev.timestamp, |m| m.max(ev.timestamp));
        self.max_ts = Some(newest);
        self.drain_until(newest.saturating_sub(self.config.lateness));
        self.take_changes()
    }

    /// Process everything still waiting in the reorder buffer, as if the lateness had passed
    /// (a live input went quiet). Events older than the new watermark that arrive later are
    /// processed on arrival and counted as late.
    pub fn flush_buffer(&mut self) -> Vec<Change> {
        match self.max_ts {
            Some(t) if !self.buffer.is_empty() => self.advance(t),
            _ => Vec::new(),
        }
    }

    /// The newest event time observed.
    pub fn newest(&self) -> Option<Nanos> {
        self.max_ts
    }

    /// Move the watermark to `watermark` (event time) without a new event: processes what
    /// the buffer holds up to it and closes idle sessions. `Nanos::MAX` flushes everything.
    pub fn advance(&mut self, watermark: Nanos) -> Vec<Change> {
        self.drain_until(watermark);
        if watermark == Nanos::MAX {
            // End of input: every remaining session closes in its own time.
            let keys: Vec<String> = self.contexts.keys().cloned().collect();
            let mut keys = keys;
            keys.sort();
            for k in keys {
                self.close(&k);
            }
        }
        self.take_changes()
    }

    fn drain_until(&mut self, watermark: Nanos) {
        while self
            .buffer
            .peek()
            .is_some_and(|Reverse(p)| p.ts <= watermark)
        {
            if let Some(Reverse(p)) = self.buffer.pop() {
                self.process(*p.obs);
            }
        }
        if watermark > self.watermark {
            self.watermark = watermark;
            self.sweep(watermark);
        }
    }

    /// Close contexts idle longer than the window and expire detector state.
    fn sweep(&mut self, now: Nanos) {
        if now < self.last_sweep.saturating_add(MIN) && now != Nanos::MAX {
            return;
        }
        self.last_sweep = now;
        let cutoff = now.saturating_sub(self.config.window);
        let mut idle: Vec<String> = self
            .contexts
            .iter()
            .filter(|(_, c)| c.last_seen < cutoff)
            .map(|(k, _)| k.clone())
            .collect();
        idle.sort();
        for k in idle {
            self.close(&k);
        }
        self.port_scan.expire(now, self.config.port_scan_window);
        self.auth_sweep.expire(now, self.config.auth_sweep_window);
        self.fanout.expire(now, self.config.fanout_window);
        self.failed.expire(now, self.config.failed_window);
        self.dns_enum.expire(now, self.config.dns_enum_window);
        if let Some(s) = self.sigma.as_mut() {
            s.expire(now);
        }
        self.new_dest.retain(|_, t| *t >= cutoff);
        self.host_remote_logon.retain(|_, t| *t >= cutoff);
        self.resolver.expire(now.saturating_sub(24 * 60 * MIN));
    }

    fn close(&mut self, key: &str) {
        if let Some(state) = self.contexts.remove(key)
            && let Some(mut s) = build_session(key, &state)
        {
            // Report what changed before it closed, then the close.
            if let Some(kind) = self.dirty.remove(key) {
                self.pending_changes.push(Change {
                    kind,
                    session: s.clone(),
                });
            }
            s.closed = true;
            self.closed.push(s.clone());
            self.pending_changes.push(Change {
                kind: ChangeKind::Closed,
                session: s,
            });
        }
    }

    fn take_changes(&mut self) -> Vec<Change> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = std::mem::take(&mut self.pending_changes);
        for (key, kind) in dirty {
            if let Some(s) = self.contexts.get(&key).and_then(|c| build_session(&key, c)) {
                out.push(Change { kind, session: s });
            }
        }
        out
    }

    /// Every session: closed ones and those still open, most severe first, then oldest.
    pub fn sessions(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.closed.clone();
        all.extend(
            self.contexts
                .iter()
                .filter_map(|(k, c)| build_session(k, c)),
        );
        all.sort_by(Session::rank);
        all
    }

    fn process(&mut self, obs: Obs) {
        let ev = &obs.ev;
        let ts = ev.timestamp;
        let info = self.resolver.resolve(ev);
        let key = info.key.clone();
        let interactive = is_interactive(ev);

        // Rule matches feed the event's own context.
        for (i, searches) in &obs.matches {
            let Some(rule) = self.rules.get(*i) else {
                continue;
            };
            if rule.after_remote_logon {
                let window = self.config.window;
                // The logon's own session, or (for activity that runs under a service
                // account, such as WmiPrvSE or the task scheduler) a remote logon to the same
                // host within the last two minutes.
                let in_context = self
                    .contexts
                    .get(&key)
                    .and_then(|c| c.remote_logon_at)
                    .is_some_and(|t| ts - t <= window);
                let on_host = info
                    .host
                    .as_ref()
                    .and_then(|h| self.host_remote_logon.get(h))
                    .is_some_and(|t| ts - *t <= 2 * MIN);
                if !(in_context || on_host || is_remote_logon(ev)) {
                    continue;
                }
            }
            if let Some(req) = &rule.requires
                && !self
                    .contexts
                    .get(&key)
                    .is_some_and(|c| c.fired.contains_key(req))
            {
                continue;
            }
            let fired = Fired {
                id: rule.id.clone(),
                title: rule.title.clone(),
                level: rule.level,
                alert: rule.alert,
                tactics: rule.tactics.clone(),
                techniques: rule.techniques.clone(),
                count: 1,
                explanation: format!(
                    "{} ({}): matched {} on {}",
                    rule.title,
                    rule.id,
                    if searches.is_empty() {
                        "the condition".to_string()
                    } else {
                        searches.join(", ")
                    },
                    summarize(ev)
                ),
            };
            let (group, rule_interactive) = (rule.group, rule.interactive);
            self.hit(&info, ev, fired, group, interactive || rule_interactive);
        }
        // Remote logons: remembered for account-change-after-logon and sequence rules.
        if is_remote_logon(ev) {
            if let Some(h) = &info.host {
                self.host_remote_logon.insert(h.clone(), ts);
            }
            let state = self.state(&info, ev);
            state.remote_logon_at = Some(ts);
        }
        if is_account_change(ev) {
            let after_logon = self
                .contexts
                .get(&key)
                .and_then(|c| c.remote_logon_at)
                .is_some_and(|t| ts - t <= self.config.window);
            if after_logon {
                let f = detector_fired(
                    &ACCOUNT_AFTER_LOGON,
                    format!("account change after a remote logon: {}", summarize(ev)),
                );
                self.hit(&info, ev, f, None, interactive);
            }
        }
        if let Some(flow) = is_flow(ev) {
            self.flow(&info, ev, &flow);
        }
        if is_auth_failure(ev) {
            self.auth_failure(ev);
        }
        if let Some(service) = cluster_service(ev) {
            let name = service;
            {
                let (n, oldest) = self
                    .dns_enum
                    .add(&key, name, ts, self.config.dns_enum_window);
                if n >= self.config.dns_enum_names && self.dns_enum.fired.insert(key.clone()) {
                    let f = detector_fired(
                        &DNS_ENUM,
                        format!(
                            "{n} distinct cluster service names resolved within {} min",
                            self.config.dns_enum_window / MIN
                        ),
                    );
                    self.hit(&info, ev, f, DNS_ENUM.group, interactive);
                } else if n > 1 {
                    self.progress(
                        &key,
                        DNS_ENUM.id,
                        n,
                        self.config.dns_enum_names,
                        oldest + self.config.dns_enum_window - ts,
                    );
                }
            }
        }
        if is_network_logon_success(ev) {
            self.network_logon(ev);
        }
        if let Some(sigma) = &obs.sigma {
            self.sigma_process(&info, ev, sigma, interactive);
        }
    }

    /// Sigma rule matches feed the event's context like the shipped rules; correlation
    /// matches open or escalate the session of the context their group-by values name.
    fn sigma_process(
        &mut self,
        info: &ContextInfo,
        ev: &Event,
        obs: &super::sigma::Observation,
        interactive: bool,
    ) {
        let Some(rt) = self.sigma.as_mut() else {
            return;
        };
        let mut hits: Vec<Fired> = Vec::new();
        for h in &obs.hits {
            if let Some(r) = rt.set.rules.get(h.rule) {
                let what = if h.searches.is_empty() {
                    "the condition".to_string()
                } else {
                    h.searches.join(", ")
                };
                hits.push(sigma_fired(
                    &r.meta,
                    format!("matched {what} on {}", summarize(ev)),
                ));
            }
        }
        let fires = rt.correlate(ev.timestamp, &ev.id, &obs.inputs);
        // (context, what fired, earlier events: time, event id, rule reference).
        type Correlated = (ContextInfo, Fired, Vec<(Nanos, String, String)>);
        let mut correlated: Vec<Correlated> = Vec::new();
        for f in fires {
            let Some(c) = rt.set.correlations.get(f.corr) else {
                continue;
            };
            if !c.emit {
                continue;
            }
            let group: Vec<String> = f.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let fired = sigma_fired(
                &c.meta,
                format!(
                    "{} for {}",
                    f.explanation,
                    if group.is_empty() {
                        "all events".to_string()
                    } else {
                        group.join(", ")
                    }
                ),
            );
            let rules = &c.spec.def.rules;
            let evidence = f
                .evidence
                .iter()
                .map(|(t, id, child)| {
                    (
                        *t,
                        id.clone(),
                        rules.get(*child).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            correlated.push((group_context(&f.group, info), fired, evidence));
        }
        for fired in hits {
            self.hit(info, ev, fired, None, interactive);
        }
        for (ctx, fired, evidence) in correlated {
            let rule_id = fired.id.clone();
            self.hit(&ctx, ev, fired, None, interactive);
            self.add_evidence(&ctx.key, &rule_id, evidence);
        }
    }

    /// Earlier events of a correlation's episode, as evidence of its session.
    fn add_evidence(&mut self, key: &str, rule_id: &str, events: Vec<(Nanos, String, String)>) {
        let limit = self.config.evidence_limit;
        let Some(state) = self.contexts.get_mut(key) else {
            return;
        };
        for (ts, id, via) in events {
            if state.evidence.len() >= limit {
                break;
            }
            if state.evidence.iter().any(|e| e.event_id == id) {
                continue;
            }
            state.first_seen = state.first_seen.min(ts);
            state.evidence.push(Evidence {
                event_id: id,
                timestamp: ts,
                rule_id: rule_id.to_string(),
                group: None,
                summary: format!("matched `{via}`"),
            });
        }
        state.evidence.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then(a.event_id.cmp(&b.event_id))
        });
    }

    fn state(&mut self, info: &ContextInfo, ev: &Event) -> &mut CtxState {
        let ts = ev.timestamp;
        let st = self
            .contexts
            .entry(info.key.clone())
            .or_insert_with(|| CtxState {
                info: info.clone(),
                first_seen: ts,
                last_seen: ts,
                first_event: ev.id.clone(),
                groups: BTreeMap::new(),
                interactive: false,
                fired: BTreeMap::new(),
                evidence: Vec::new(),
                event_count: 0,
                assessed: None,
                thresholds: Vec::new(),
                remote_logon_at: None,
            });
        merge_info(&mut st.info, info);
        st
    }

    /// Record a rule or detector hit in a context and refresh its session.
    fn hit(
        &mut self,
        info: &ContextInfo,
        ev: &Event,
        fired: Fired,
        group: Option<Group>,
        interactive: bool,
    ) {
        let ts = ev.timestamp;
        let limit = self.config.evidence_limit;
        let window = self.config.window;
        let rule_id = fired.id.clone();
        let state = self.state(info, ev);
        state.last_seen = state.last_seen.max(ts);
        state.first_seen = state.first_seen.min(ts);
        state.interactive |= interactive;
        if let Some(g) = group {
            let q = state.groups.entry(g).or_default();
            q.push_back(ts);
            if q.len() > 16 {
                q.pop_front();
            }
        }
        match state.fired.get_mut(&fired.id) {
            Some(f) => f.count += 1,
            None => {
                state.fired.insert(fired.id.clone(), fired);
            }
        }
        let duplicate = state
            .evidence
            .iter()
            .any(|e| e.event_id == ev.id && e.rule_id == rule_id);
        if !duplicate {
            state.event_count += 1;
            // Keep evidence varied: a rule that fires hundreds of times (every admin-share
            // mapping of a sweep) gets a few slots, leaving room for the rest of the story.
            let per_rule = state
                .evidence
                .iter()
                .filter(|e| e.rule_id == rule_id)
                .count();
            if state.evidence.len() < limit && per_rule < (limit / 8).max(4) {
                state.evidence.push(Evidence {
                    event_id: ev.id.clone(),
                    timestamp: ts,
                    rule_id,
                    group,
                    summary: summarize(ev),
                });
            }
        }
        if let Some(dst) = ev
            .ip(Field::DestinationIp)
            .map(|i| i.to_string())
            .or_else(|| {
                // Logons: the host logged on to is the target of the hop.
                (ev.str(Field::EventCategory) == Some("authentication"))
                    .then(|| ev.str(Field::HostName).map(str::to_string))
                    .flatten()
            })
            && state.info.targets.len() < 32
            && !state.info.targets.contains(&dst)
            && state.info.host.as_deref() != Some(dst.as_str())
        {
            state.info.targets.push(dst);
        }
        let key = info.key.clone();
        self.refresh(&key, ts, window);
    }

    /// Recompute the context's session after a hit.
    fn refresh(&mut self, key: &str, now: Nanos, window: Nanos) {
        let Some(state) = self.contexts.get_mut(key) else {
            return;
        };
        let groups: BTreeSet<Group> = state
            .groups
            .iter()
            .filter(|(_, q)| q.back().is_some_and(|t| *t > now - window))
            .map(|(g, _)| *g)
            .collect();
        let case = Case::classify(&groups, state.interactive);
        let top_alert = state
            .fired
            .values()
            .filter(|f| f.alert)
            .max_by(|a, b| a.level.cmp(&b.level).then(b.id.cmp(&a.id)));
        if case.is_none() && top_alert.is_none() {
            return;
        }
        let previous = state.assessed.as_ref().map(|a| (a.severity, a.case));
        // Severity never goes down within a session: it escalates in place.
        let case = match (case, previous.and_then(|(_, c)| c)) {
            (Some(c), Some(p)) => Some(max_case(c, p)),
            (c, p) => c.or(p),
        };
        let case_sev = case.map(Case::severity);
        let alert_sev = top_alert.map(|f| f.level);
        let severity = case_sev
            .max(alert_sev)
            .max(previous.map(|(s, _)| s))
            .unwrap_or(Severity::Low);
        let (rule_id, title) = match (case, top_alert) {
            (Some(c), Some(a)) if a.level > c.severity() => (a.id.clone(), a.title.clone()),
            (Some(c), _) => (CHAIN_RULE_ID.to_string(), c.title().to_string()),
            (None, Some(a)) => (a.id.clone(), a.title.clone()),
            (None, None) => return,
        };
        let kind = match previous {
            None => ChangeKind::Opened,
            Some((sev, c)) if sev < severity || c != case => ChangeKind::Escalated,
            Some(_) => ChangeKind::Updated,
        };
        if previous.is_none() {
            self.stats.sessions += 1;
        }
        state.assessed = Some(Assessment {
            case,
            severity,
            groups,
            rule_id,
            title,
        });
        // Keep the strongest change kind of this batch for the context.
        let entry = self.dirty.entry(key.to_string()).or_insert(kind);
        if rank(kind) > rank(*entry) {
            *entry = kind;
        }
    }

    fn flow(&mut self, info: &ContextInfo, ev: &Event, flow: &Flow) {
        let ts = ev.timestamp;
        // Port scan: distinct destination ports per source. Dynamic ports (49152 and up, IANA)
        // are left out: Windows clients reach a domain controller's RPC services on several of
        // them in normal operation, and scans concentrate on the well-known range.
        if flow.port >= 49152 {
            return self.baseline_flow(info, ev, flow);
        }
        let (count, oldest) = self.port_scan.add(
            &info.key,
            flow.port.to_string(),
            ts,
            self.config.port_scan_window,
        );
        if count > self.config.port_scan_ports && self.port_scan.fired.insert(info.key.clone()) {
            let f = detector_fired(
                &PORT_SCAN,
                format!(
                    "{} distinct destination ports from {} within {} min (more than {})",
                    count,
                    info.key,
                    self.config.port_scan_window / MIN,
                    self.config.port_scan_ports
                ),
            );
            self.hit(info, ev, f, PORT_SCAN.group, false);
        } else if count > 1 {
            self.progress(
                &info.key,
                PORT_SCAN.id,
                count,
                self.config.port_scan_ports + 1,
                oldest + self.config.port_scan_window - ts,
            );
        }
        self.baseline_flow(info, ev, flow);
    }

    fn baseline_flow(&mut self, info: &ContextInfo, ev: &Event, flow: &Flow) {
        let ts = ev.timestamp;
        let status = self.baseline.observe(&flow.src, &flow.dst, flow.port, ts);
        // East-west only: flows from or to outside the internal networks are not lateral.
        let internal = ev.str(Field::NetworkDirection) == Some("internal");
        if status == PairStatus::New && internal && !self.in_deploy_window(ev) {
            self.new_dest.insert(info.key.clone(), ts);
            let f = detector_fired(
                &NEW_DESTINATION,
                format!(
                    "never-seen flow {} → {}:{} ({})",
                    flow.src,
                    flow.dst,
                    flow.port,
                    summarize(ev)
                ),
            );
            self.hit(info, ev, f, None, false);
            self.confirm(info, ev);
        }
    }

    fn in_deploy_window(&self, ev: &Event) -> bool {
        let ns = ev.str(Field::OrchestratorNamespace);
        self.config.deploy_windows.iter().any(|w| {
            (w.namespace == "*" || Some(w.namespace.as_str()) == ns)
                && ev.timestamp >= w.start
                && ev.timestamp <= w.end
        })
    }

    /// New destination and auth sweep from the same source: confirmed lateral movement.
    fn confirm(&mut self, info: &ContextInfo, ev: &Event) {
        let has_new = self.new_dest.contains_key(&info.key);
        let has_sweep = self.auth_sweep.fired.contains(&info.key);
        let done = self
            .contexts
            .get(&info.key)
            .is_some_and(|c| c.fired.contains_key(CONFIRMED.id));
        if has_new && has_sweep && !done {
            let f = detector_fired(
                &CONFIRMED,
                format!(
                    "{} has new destinations and an authentication sweep",
                    info.key
                ),
            );
            self.hit(info, ev, f, None, false);
        }
    }

    /// The context acting as the source of a logon or failure: whoever owns the address.
    fn source_context(&self, ev: &Event) -> Option<ContextInfo> {
        let ip = ev.ip(Field::SourceIp)?;
        if ip.is_loopback() || ip.is_unspecified() {
            return None;
        }
        let key = self.resolver.owner_of(ip);
        Some(ContextInfo {
            kind: if key.starts_with("ip:") {
                "source_ip".into()
            } else {
                "source_ip_owner".into()
            },
            key,
            source_ip: Some(ip.to_string()),
            ..ContextInfo::default()
        })
    }

    fn auth_failure(&mut self, ev: &Event) {
        let Some(src) = self.source_context(ev) else {
            return;
        };
        let ts = ev.timestamp;
        let target_host = ev
            .str(Field::HostName)
            .map(super::context::short_host)
            .or_else(|| ev.ip(Field::DestinationIp).map(|i| i.to_string()))
            .unwrap_or_default();
        let service = ev
            .str(Field::NetworkProtocol)
            .map(str::to_string)
            .or_else(|| ev.int(Field::DestinationPort).map(|p| p.to_string()))
            .or_else(|| ev.str(Field::EventDataset).map(str::to_string))
            .unwrap_or_default();
        let (n, oldest) = self.auth_sweep.add(
            &src.key,
            format!("{target_host}/{service}"),
            ts,
            self.config.auth_sweep_window,
        );
        if n >= self.config.auth_sweep_targets && self.auth_sweep.fired.insert(src.key.clone()) {
            let f = detector_fired(
                &AUTH_SWEEP,
                format!(
                    "authentication failures from {} against {n} services or hosts within {} min",
                    src.key,
                    self.config.auth_sweep_window / MIN
                ),
            );
            self.hit(&src, ev, f, None, false);
            self.confirm(&src, ev);
        } else if n > 1 {
            self.progress(
                &src.key,
                AUTH_SWEEP.id,
                n,
                self.config.auth_sweep_targets,
                oldest + self.config.auth_sweep_window - ts,
            );
        }
        if !target_host.is_empty() {
            let (n, _) = self
                .failed
                .add(&src.key, target_host, ts, self.config.failed_window);
            if n >= self.config.failed_hosts && self.failed.fired.insert(src.key.clone()) {
                let f = detector_fired(
                    &FAILED_HOSTS,
                    format!(
                        "failed logons from {} on {n} hosts within {} min",
                        src.key,
                        self.config.failed_window / MIN
                    ),
                );
                self.hit(&src, ev, f, None, false);
            }
        }
    }

    fn network_logon(&mut self, ev: &Event) {
        let Some(src) = self.source_context(ev) else {
            return;
        };
        let Some(host) = ev.str(Field::HostName).map(super::context::short_host) else {
            return;
        };
        let user = ev.str(Field::UserName).unwrap_or("").to_ascii_lowercase();
        if user.ends_with('$') || user == "anonymous logon" {
            // Machine accounts and null sessions log on everywhere by design.
            return;
        }
        let key = format!("{}|{user}", src.key);
        let (n, oldest) = self
            .fanout
            .add(&key, host, ev.timestamp, self.config.fanout_window);
        if n > self.config.fanout_hosts && self.fanout.fired.insert(key) {
            let f = detector_fired(
                &FANOUT,
                format!(
                    "{user} logged on over the network from {} to {n} hosts within {} min",
                    src.key,
                    self.config.fanout_window / MIN
                ),
            );
            let mut info = src;
            info.user = Some(user);
            self.hit(&info, ev, f, FANOUT.group, false);
        } else if n > 1 {
            self.progress(
                &src.key,
                FANOUT.id,
                n,
                self.config.fanout_hosts + 1,
                oldest + self.config.fanout_window - ev.timestamp,
            );
        }
    }

    /// Record a threshold detector's progress on the context's session (near miss).
    fn progress(&mut self, key: &str, id: &str, count: u64, threshold: u64, left: Nanos) {
        if let Some(s) = self.contexts.get_mut(key) {
            let p = ThresholdProgress {
                rule_id: id.to_string(),
                count,
                threshold,
                window_left_secs: left / SEC,
            };
            match s.thresholds.iter_mut().find(|t| t.rule_id == id) {
                Some(t) => *t = p,
                None => s.thresholds.push(p),
            }
        }
    }
}

/// What the last refresh concluded about a context.
#[derive(Debug, Clone)]
struct Assessment {
    case: Option<Case>,
    severity: Severity,
    groups: BTreeSet<Group>,
    rule_id: String,
    title: String,
}

/// The session a context's state describes now (built when reported, not on every hit).
fn build_session(key: &str, state: &CtxState) -> Option<Session> {
    let a = state.assessed.as_ref()?;
    let mut tactics: Vec<String> = Vec::new();
    let mut techniques: Vec<String> = Vec::new();
    if a.case.is_some() {
        tactics.push("lateral_movement".into());
    }
    for f in state.fired.values() {
        for t in &f.tactics {
            if !tactics.contains(t) {
                tactics.push(t.clone());
            }
        }
        for t in &f.techniques {
            if !techniques.contains(t) {
                techniques.push(t.clone());
            }
        }
    }
    techniques.sort();
    let mut explanation: Vec<String> = Vec::new();
    if let Some(c) = a.case {
        let names: Vec<&str> = a.groups.iter().map(|g| g.title()).collect();
        explanation.push(format!(
            "{} ({}): {} in one context{}",
            c.title(),
            c.severity(),
            names.join(" + "),
            if state.interactive {
                ", interactive"
            } else {
                ""
            }
        ));
    }
    let mut fired: Vec<&Fired> = state.fired.values().collect();
    fired.sort_by(|x, y| y.level.cmp(&x.level).then(x.id.cmp(&y.id)));
    for f in fired {
        let times = if f.count > 1 {
            format!(" (x{})", f.count)
        } else {
            String::new()
        };
        explanation.push(format!("{}{times}", f.explanation));
    }
    let mut near_miss = NearMiss::compute(&a.groups, state.interactive, a.case);
    near_miss.thresholds = state.thresholds.clone();
    Some(Session {
        id: SessionId(format!(
            "{:016x}",
            crate::event::fnv1a(format!("{key}|{}", state.first_event).as_bytes())
        )),
        rule_id: a.rule_id.clone(),
        title: a.title.clone(),
        severity: a.severity,
        case: a.case,
        tactics,
        techniques,
        groups: a.groups.iter().copied().collect(),
        context: state.info.clone(),
        interactive: state.interactive,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        event_count: state.event_count,
        evidence: state.evidence.clone(),
        explanation,
        near_miss,
        rules: state.fired.keys().cloned().collect(),
        closed: false,
    })
}

/// The more severe of two cases (the first on ties).
fn max_case(a: Case, b: Case) -> Case {
    if b.severity() > a.severity() { b } else { a }
}

/// Which change to report when a session changed several times between two reports: a
/// session new to the consumer is `Opened` whatever happened next; otherwise an escalation
/// outranks an update.
fn rank(k: ChangeKind) -> u8 {
    match k {
        ChangeKind::Updated => 0,
        ChangeKind::Escalated => 1,
        ChangeKind::Opened => 2,
        ChangeKind::Closed => 3,
    }
}

fn detector_fired(d: &Detector, explanation: String) -> Fired {
    Fired {
        id: d.id.to_string(),
        title: d.title.to_string(),
        level: d.level,
        alert: true,
        tactics: d.tactics.iter().map(|s| (*s).to_string()).collect(),
        techniques: d.techniques.iter().map(|s| (*s).to_string()).collect(),
        count: 1,
        explanation: format!("{} ({}): {explanation}", d.title, d.id),
    }
}

/// Index the rules that name datasets (the others are checked on every event). `None` when the
/// index cannot be built: matching then falls back to the dataset lists.
fn rule_index(rules: &[Rule]) -> Option<super::sigma::index::Index> {
    use super::detection::FieldRef;
    use super::sigma::index::{Entry, Index};
    use super::sigma::mapping::Source;
    let sources: Vec<Vec<Source>> = rules
        .iter()
        .map(|r| {
            r.logsource
                .datasets
                .iter()
                .map(|d| Source {
                    dataset: Some(d.clone()),
                    module: None,
                    codes: Vec::new(),
                    conditions: Vec::new(),
                    profile: String::new(),
                })
                .collect()
        })
        .collect();
    let entries = rules
        .iter()
        .zip(&sources)
        .enumerate()
        .filter(|(_, (_, s))| !s.is_empty())
        .map(|(i, (r, s))| Entry {
            rule: i as u32,
            variant: 0,
            sources: s,
            detection: &r.detection,
            event_id_field: Some(FieldRef::Normalized(Field::EventCode)),
        });
    Index::build(entries).ok()
}

fn sigma_fired(meta: &super::sigma::Meta, what: String) -> Fired {
    Fired {
        id: meta.id.clone(),
        title: meta.title.clone(),
        level: meta.level,
        // Informational rules enrich; they do not open sessions (Sigma `level`).
        alert: meta.level >= Severity::Low,
        tactics: meta.tactics.clone(),
        techniques: meta.techniques.clone(),
        count: 1,
        explanation: format!("{} ({}): {what}", meta.title, meta.id),
    }
}

/// The context a correlation's group-by values name (`group:User=bob,Computer=ws1`), with
/// host, user and address filled in when a group-by field says which. Without group-by the
/// correlation spans everything: its context is the triggering event's.
fn group_context(group: &[(String, String)], event_info: &ContextInfo) -> ContextInfo {
    if group.is_empty() {
        return event_info.clone();
    }
    let mut info = ContextInfo {
        key: format!(
            "group:{}",
            group
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        kind: "group_by".into(),
        ..ContextInfo::default()
    };
    for (k, v) in group {
        let k = k.to_ascii_lowercase();
        if matches!(
            k.as_str(),
            "computer" | "computername" | "hostname" | "host.name" | "workstationname"
        ) {
            info.host
                .get_or_insert_with(|| super::context::short_host(v));
        } else if k.contains("user") || k == "accountname" {
            info.user.get_or_insert_with(|| v.clone());
        } else if matches!(
            k.as_str(),
            "ipaddress" | "sourceip" | "source.ip" | "src_ip" | "id.orig_h" | "sourceaddress"
        ) {
            info.source_ip.get_or_insert_with(|| v.clone());
        }
    }
    info
}

fn merge_info(into: &mut ContextInfo, from: &ContextInfo) {
    fn fill(a: &mut Option<String>, b: &Option<String>) {
        if a.is_none() {
            a.clone_from(b);
        }
    }
    fill(&mut into.host, &from.host);
    fill(&mut into.user, &from.user);
    fill(&mut into.source_ip, &from.source_ip);
    fill(&mut into.namespace, &from.namespace);
    fill(&mut into.pod, &from.pod);
    fill(&mut into.container, &from.container);
    fill(&mut into.logon_id, &from.logon_id);
}

/// A copy of the event with only normalized fields (no originals or raw text).
fn slim(ev: &Event) -> Event {
    let mut s = Event::new(ev.timestamp);
    s.id.clone_from(&ev.id);
    for (f, v) in ev.fields() {
        s.set(f, v.clone());
    }
    s
}

/// One line describing an event, for evidence and explanations.
pub fn summarize(ev: &Event) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = ev.str(Field::EventDataset) {
        parts.push(d.to_string());
    }
    if let Some(c) = ev.str(Field::EventCode) {
        parts.push(c.to_string());
    }
    if let Some(a) = ev.str(Field::EventAction) {
        parts.push(a.to_string());
    }
    if let Some(h) = ev.str(Field::HostName) {
        parts.push(format!("on {h}"));
    }
    if let Some(u) = ev.str(Field::UserName) {
        parts.push(format!("user {u}"));
    }
    match (ev.ip(Field::SourceIp), ev.ip(Field::DestinationIp)) {
        (Some(s), Some(d)) => parts.push(format!(
            "{s} → {d}{}",
            ev.int(Field::DestinationPort)
                .map(|p| format!(":{p}"))
                .unwrap_or_default()
        )),
        (Some(s), None) => parts.push(format!("from {s}")),
        _ => {}
    }
    for f in [
        Field::ProcessCommandLine,
        Field::ProcessExecutable,
        Field::FilePath,
        Field::ServiceName,
        Field::DnsQuestionName,
    ] {
        if let Some(v) = ev.str(f) {
            parts.push(sanitize(v, 160).into_owned());
            break;
        }
    }
    sanitize(&parts.join(" "), 400).into_owned()
}

/// A connection worth counting: (source workload, destination, port).
#[derive(Debug)]
struct Flow {
    src: String,
    dst: String,
    port: i64,
}

/// Flows: Zeek conn, Hubble L3/L4 requests (not replies), accepted or rejected VPC records,
/// Sysmon 3, Tetragon connects. Returns the pair naming workloads where known.
fn is_flow(ev: &Event) -> Option<Flow> {
    let dataset = ev.str(Field::EventDataset)?;
    let ok = match dataset {
        "zeek.conn" | "aws.vpcflow" => true,
        "cilium.hubble" => {
            ev.str(Field::EventAction) == Some("flow")
                && ev
                    .original("flow.is_reply")
                    .and_then(serde_json::Value::as_bool)
                    != Some(true)
                && ev
                    .original("flow.reply")
                    .and_then(serde_json::Value::as_bool)
                    != Some(true)
        }
        "windows.sysmon" => ev.str(Field::EventCode) == Some("3"),
        "tetragon.events" => ev
            .str(Field::EventAction)
            .is_some_and(|a| a.contains("connect")),
        _ => false,
    };
    if !ok {
        return None;
    }
    let src_ip = ev.ip(Field::SourceIp)?;
    let dst_ip = ev.ip(Field::DestinationIp)?;
    let port = ev.int(Field::DestinationPort)?;
    // Only connection attempts count: Hubble reports every packet observation, so a TCP flow
    // counts when it is the SYN (without ACK); flow logs record both directions, so a record
    // from a low port to an ephemeral one (32768 and up, Linux and Windows) is taken for the
    // answer of a connection, not a new one.
    if let Some(syn) = ev.original("flow.l4.TCP.flags.SYN") {
        let ack = ev
            .original("flow.l4.TCP.flags.ACK")
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        if syn.as_bool() != Some(true) || ack {
            return None;
        }
    } else if ev.original("flow.l4.TCP.destination_port").is_some() {
        return None;
    }
    if let Some(sport) = ev.int(Field::SourcePort)
        && sport < 32768
        && port >= 32768
    {
        return None;
    }
    let src = match (
        ev.str(Field::OrchestratorNamespace),
        ev.str(Field::OrchestratorResourceName),
    ) {
        (Some(ns), Some(pod)) => format!("{ns}/{}", workload_of_pod(pod)),
        _ => src_ip.to_string(),
    };
    let dst = ev
        .original("flow.destination.pod_name")
        .and_then(serde_json::Value::as_str)
        .map(|pod| {
            let ns = ev
                .original("flow.destination.namespace")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            format!("{ns}/{}", workload_of_pod(pod))
        })
        .unwrap_or_else(|| dst_ip.to_string());
    Some(Flow { src, dst, port })
}

/// The `service.namespace` a cluster DNS query asked for, when it is a query (not an
/// answer) from a workload that is not itself a DNS server (CoreDNS and NodeLocal DNSCache
/// forward every name they serve). Search-path expansions such as `reviews.svc.cluster.local`
/// (no namespace) are not services and are left out.
fn cluster_service(ev: &Event) -> Option<String> {
    let name = ev
        .str(Field::DnsQuestionName)?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let prefix = name.strip_suffix(".svc.cluster.local")?;
    if ev
        .str(Field::EventAction)
        .is_some_and(|a| a.contains("response") || a.contains("answer"))
    {
        return None;
    }
    if let Some(pod) = ev.str(Field::OrchestratorResourceName) {
        let w = workload_of_pod(pod);
        if w.contains("coredns") || w.contains("kube-dns") || w.contains("node-local-dns") {
            return None;
        }
    }
    let mut labels = prefix.rsplitn(3, '.');
    let ns = labels.next()?;
    let svc = labels.next()?;
    Some(format!("{svc}.{ns}"))
}

fn is_interactive(ev: &Event) -> bool {
    ev.bool(Field::ProcessInteractive) == Some(true)
        || matches!(ev.int(Field::LogonType), Some(2 | 10 | 11))
}

fn is_auth_failure(ev: &Event) -> bool {
    let outcome_failed = ev.str(Field::EventOutcome) == Some("failure");
    match ev.str(Field::EventDataset) {
        // Rejected flows only count between internal addresses: the internet probes every
        // instance's SSH/RDP/SMB ports all day, and that is not movement inside the network.
        Some("aws.vpcflow") => {
            outcome_failed
                && matches!(ev.int(Field::DestinationPort), Some(22 | 3389 | 445))
                && ev.str(Field::NetworkDirection) == Some("internal")
        }
        Some("zeek.ntlm" | "zeek.kerberos" | "zeek.ssh" | "zeek.rdp") => outcome_failed,
        _ => ev.str(Field::EventCategory) == Some("authentication") && outcome_failed,
    }
}

fn is_network_logon_success(ev: &Event) -> bool {
    ev.str(Field::EventCode) == Some("4624")
        && ev.int(Field::LogonType) == Some(3)
        && ev.str(Field::EventOutcome) != Some("failure")
}

fn is_remote_logon(ev: &Event) -> bool {
    let success = ev.str(Field::EventOutcome) != Some("failure");
    success
        && ((ev.str(Field::EventCode) == Some("4624")
            && matches!(ev.int(Field::LogonType), Some(3 | 10)))
            || (ev.str(Field::EventDataset) == Some("system.auth")
                && ev.str(Field::EventAction) == Some("logged-in")))
}

fn is_account_change(ev: &Event) -> bool {
    matches!(
        ev.str(Field::EventCode),
        Some("4720" | "4732" | "4728" | "4756")
    ) || matches!(
        ev.str(Field::EventAction),
        Some("user-created" | "group-member-added" | "group-created")
    ) || (ev.str(Field::EventAction) == Some("sudo")
        && ev.str(Field::UserTargetName) == Some("root"))
}
