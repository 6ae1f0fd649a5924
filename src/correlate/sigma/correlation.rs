//! Sigma v2 correlation rules (Sigma correlation rules specification): the definitions and
//! the event-time state machine that evaluates them.
//!
//! Semantics, decided here and tested in `tests/sigma_correlation.rs`:
//! - **Sliding windows on event time.** A window is the `timespan` ending at the event being
//!   evaluated, bounds included: `[t - timespan, t]`. Nothing is aligned to clock boundaries.
//! - **Evaluation on arrival.** The condition is evaluated each time an event of a referenced
//!   rule arrives for the group, over the window ending at that event. A correlation fires when
//!   its condition becomes true for a group and fires again only after it was false in between
//!   (one episode, one match; the session escalates in place meanwhile).
//! - **group-by** fields are AND-ed: events correlate only when every field has the same value.
//!   An event missing a group-by field takes no part (as in a query backend's `by` clause).
//!   Without `group-by`, all events form one group. Values compare exactly (case-sensitive).
//! - **aliases** give a group-by name a different field per referenced rule; a rule without an
//!   entry reads the field named like the alias.
//! - **event_count** counts events (one event matching several referenced rules counts once);
//!   **value_count** counts distinct values of `field` (events without it are not counted);
//!   **value_sum** / **value_avg** sum / average the numeric values of `field`;
//!   **value_percentile** compares the share, in percent, of the window's events whose `field`
//!   has the current event's value (a rarity measure: `lte: 1` is a value seen in at most 1% of
//!   the group's events), or with `percentile: P` the P-th percentile of the numeric values.
//! - **temporal**: the condition counts the distinct referenced rules seen in the window
//!   (default: all of them), or is a boolean expression over the rule names.
//! - **temporal_ordered**: the rules must appear in the listed order; the condition counts the
//!   length of the longest in-order chain starting at the first rule whose events all lie within
//!   the timespan (default: all rules). An event never counts twice in one chain, and a later
//!   step must come strictly after the earlier one in processing order (timestamp, event id).
//! - **Chains**: a correlation referenced by another feeds it each time it fires, with the
//!   group-by values the outer correlation reads from the event that made the inner one fire.

use std::collections::{HashMap, VecDeque};

use serde_norway::Value as Y;

use crate::correlate::detection::{Cond, parse_condition};
use crate::event::Nanos;

const SEC: Nanos = 1_000_000_000;

/// Events kept per group for evidence.
const EVIDENCE_KEPT: usize = 16;

/// The correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrType {
    /// Count of events.
    EventCount,
    /// Count of distinct values of a field.
    ValueCount,
    /// Sum of a numeric field.
    ValueSum,
    /// Average of a numeric field.
    ValueAvg,
    /// Share of the current value, or a percentile of a numeric field.
    ValuePercentile,
    /// All (or some) referenced rules within the timespan, any order.
    Temporal,
    /// The referenced rules within the timespan, in order.
    TemporalOrdered,
}

impl CorrType {
    fn parse(s: &str) -> Option<CorrType> {
        Some(match s {
            "event_count" => CorrType::EventCount,
            "value_count" => CorrType::ValueCount,
            "value_sum" => CorrType::ValueSum,
            "value_avg" => CorrType::ValueAvg,
            "value_percentile" => CorrType::ValuePercentile,
            "temporal" => CorrType::Temporal,
            "temporal_ordered" => CorrType::TemporalOrdered,
            _ => return None,
        })
    }

    /// The name as in rule files.
    pub fn name(self) -> &'static str {
        match self {
            CorrType::EventCount => "event_count",
            CorrType::ValueCount => "value_count",
            CorrType::ValueSum => "value_sum",
            CorrType::ValueAvg => "value_avg",
            CorrType::ValuePercentile => "value_percentile",
            CorrType::Temporal => "temporal",
            CorrType::TemporalOrdered => "temporal_ordered",
        }
    }

    fn needs_field(self) -> bool {
        matches!(
            self,
            CorrType::ValueCount
                | CorrType::ValueSum
                | CorrType::ValueAvg
                | CorrType::ValuePercentile
        )
    }
}

/// A comparison of the condition map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    /// `gt`.
    Gt(f64),
    /// `gte`.
    Gte(f64),
    /// `lt`.
    Lt(f64),
    /// `lte`.
    Lte(f64),
    /// `eq`.
    Eq(f64),
    /// `neq`.
    Neq(f64),
}

impl Cmp {
    fn holds(self, v: f64) -> bool {
        match self {
            Cmp::Gt(n) => v > n,
            Cmp::Gte(n) => v >= n,
            Cmp::Lt(n) => v < n,
            Cmp::Lte(n) => v <= n,
            Cmp::Eq(n) => v == n,
            Cmp::Neq(n) => v != n,
        }
    }
}

impl std::fmt::Display for Cmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (op, n) = match self {
            Cmp::Gt(n) => (">", n),
            Cmp::Gte(n) => ("≥", n),
            Cmp::Lt(n) => ("<", n),
            Cmp::Lte(n) => ("≤", n),
            Cmp::Eq(n) => ("=", n),
            Cmp::Neq(n) => ("≠", n),
        };
        write!(f, "{op} {n}")
    }
}

/// When a correlation matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every comparison holds (AND-ed).
    Count(Vec<Cmp>),
    /// A boolean expression over the referenced rules (temporal types).
    Expr(Cond, String),
}

impl Condition {
    fn holds(&self, v: f64) -> bool {
        match self {
            Condition::Count(cmps) => cmps.iter().all(|c| c.holds(v)),
            Condition::Expr(..) => false,
        }
    }

    fn text(&self) -> String {
        match self {
            Condition::Count(cmps) => cmps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and "),
            Condition::Expr(_, t) => t.clone(),
        }
    }
}

/// A parsed correlation section (references still by name).
#[derive(Debug, Clone)]
pub struct Definition {
    /// The type.
    pub kind: CorrType,
    /// Referenced rules as written (id or name).
    pub rules: Vec<String>,
    /// `group-by` names.
    pub group_by: Vec<String>,
    /// alias → (rule reference → field).
    pub aliases: HashMap<String, HashMap<String, String>>,
    /// Window length.
    pub timespan: Nanos,
    /// When it matches.
    pub condition: Condition,
    /// Field of value_* types.
    pub field: Option<String>,
    /// `percentile: P` of value_percentile.
    pub percentile: Option<f64>,
    /// `generate`: referenced rules also report on their own.
    pub generate: bool,
}

/// `90s`, `5m`, `2h`, `7d`, `1w` → nanoseconds.
pub fn parse_timespan(s: &str) -> Option<Nanos> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "s" => SEC,
        "m" => 60 * SEC,
        "h" => 3600 * SEC,
        "d" => 86_400 * SEC,
        "w" => 7 * 86_400 * SEC,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(mult)).flatten()
}

/// Parse the `correlation:` section. Errors are (key, reason).
pub fn parse_definition(v: &Y) -> Result<Definition, (String, String)> {
    let e = |k: &str, r: String| (k.to_string(), r);
    let Y::Mapping(m) = v else {
        return Err(e("correlation", "must be a mapping".into()));
    };
    for k in m.keys() {
        let k = k.as_str().unwrap_or("");
        if !matches!(
            k,
            "type"
                | "rules"
                | "group-by"
                | "timespan"
                | "timeframe"
                | "condition"
                | "aliases"
                | "generate"
                | "field"
        ) {
            return Err(e(
                &format!("correlation.{k}"),
                "unknown key (type, rules, group-by, timespan, condition, aliases, generate)"
                    .into(),
            ));
        }
    }
    let kind_text = m
        .get("type")
        .and_then(Y::as_str)
        .ok_or_else(|| e("correlation.type", "missing".into()))?;
    let kind = CorrType::parse(kind_text).ok_or_else(|| {
        e(
            "correlation.type",
            format!("unknown type `{kind_text}` (event_count, value_count, value_sum, value_avg, value_percentile, temporal, temporal_ordered)"),
        )
    })?;
    let rules: Vec<String> = match m.get("rules") {
        Some(Y::Sequence(items)) => items
            .iter()
            .map(|i| {
                scalar(i)
                    .ok_or_else(|| e("correlation.rules", "rule references are strings".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(Y::String(s)) => vec![s.clone()],
        _ => {
            return Err(e(
                "correlation.rules",
                "missing (a list of rule ids or names)".into(),
            ));
        }
    };
    if rules.is_empty() {
        return Err(e("correlation.rules", "is empty".into()));
    }
    let group_by: Vec<String> = match m.get("group-by") {
        Some(Y::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(Y::String(s)) => vec![s.clone()],
        None | Some(Y::Null) => Vec::new(),
        Some(_) => return Err(e("correlation.group-by", "must be a list of fields".into())),
    };
    let timespan_text = m
        .get("timespan")
        .or_else(|| m.get("timeframe"))
        .and_then(scalar)
        .ok_or_else(|| e("correlation.timespan", "missing (e.g. 10m)".into()))?;
    let timespan = parse_timespan(&timespan_text).ok_or_else(|| {
        e(
            "correlation.timespan",
            format!("`{timespan_text}` is not a timespan (number + s, m, h, d: 90s, 10m, 1h)"),
        )
    })?;
    let mut aliases: HashMap<String, HashMap<String, String>> = HashMap::new();
    match m.get("aliases") {
        Some(Y::Mapping(a)) => {
            for (alias, per_rule) in a {
                let alias = scalar(alias)
                    .ok_or_else(|| e("correlation.aliases", "alias names are strings".into()))?;
                let Y::Mapping(pr) = per_rule else {
                    return Err(e(
                        &format!("correlation.aliases.{alias}"),
                        "maps rule names to fields".into(),
                    ));
                };
                let mut fields = HashMap::new();
                for (rule, field) in pr {
                    match (scalar(rule), scalar(field)) {
                        (Some(r), Some(f)) => {
                            fields.insert(r, f);
                        }
                        _ => {
                            return Err(e(
                                &format!("correlation.aliases.{alias}"),
                                "maps rule names to field names".into(),
                            ));
                        }
                    }
                }
                aliases.insert(alias, fields);
            }
        }
        None | Some(Y::Null) => {}
        Some(_) => return Err(e("correlation.aliases", "must be a mapping".into())),
    }
    let generate = match m.get("generate") {
        Some(Y::Bool(b)) => *b,
        None => false,
        Some(_) => return Err(e("correlation.generate", "must be true or false".into())),
    };
    let mut field = m.get("field").and_then(scalar);
    let mut percentile = None;
    let condition = match m.get("condition") {
        Some(Y::Mapping(c)) => {
            let mut cmps = Vec::new();
            for (k, v) in c {
                let k = k.as_str().unwrap_or("");
                let key = format!("correlation.condition.{k}");
                if k == "field" {
                    field = match v {
                        Y::String(s) => Some(s.clone()),
                        Y::Sequence(items) if items.len() == 1 => items.first().and_then(scalar),
                        _ => return Err(e(&key, "names one field".into())),
                    };
                    continue;
                }
                let n = match v {
                    Y::Number(n) => n.as_f64(),
                    Y::String(s) => s.trim().parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| e(&key, "must be a number".into()))?;
                cmps.push(match k {
                    "gt" => Cmp::Gt(n),
                    "gte" => Cmp::Gte(n),
                    "lt" => Cmp::Lt(n),
                    "lte" => Cmp::Lte(n),
                    "eq" => Cmp::Eq(n),
                    "neq" => Cmp::Neq(n),
                    "percentile" => {
                        if !(0.0..=100.0).contains(&n) {
                            return Err(e(&key, "is between 0 and 100".into()));
                        }
                        percentile = Some(n);
                        continue;
                    }
                    _ => {
                        return Err(e(
                            &key,
                            "unknown operator (gt, gte, lt, lte, eq, neq, field)".into(),
                        ));
                    }
                });
            }
            if cmps.is_empty() {
                return Err(e(
                    "correlation.condition",
                    "needs a comparison (gt, gte, lt, lte, eq, neq)".into(),
                ));
            }
            Condition::Count(cmps)
        }
        Some(Y::String(expr)) if matches!(kind, CorrType::Temporal | CorrType::TemporalOrdered) => {
            let cond = parse_condition(expr, &rules)
                .map_err(|err| e("correlation.condition", err.reason))?;
            Condition::Expr(cond, expr.clone())
        }
        Some(_) => {
            return Err(e(
                "correlation.condition",
                "must be a mapping such as {gte: 10} (or, for temporal types, an expression over the rules)".into(),
            ));
        }
        None if matches!(kind, CorrType::Temporal | CorrType::TemporalOrdered) => {
            Condition::Count(vec![Cmp::Gte(rules.len() as f64)])
        }
        None => {
            return Err(e(
                "correlation.condition",
                "missing (e.g. {gte: 10})".into(),
            ));
        }
    };
    if kind.needs_field() && field.is_none() {
        return Err(e(
            "correlation.condition.field",
            format!("{} needs `field` in its condition", kind.name()),
        ));
    }
    Ok(Definition {
        kind,
        rules,
        group_by,
        aliases,
        timespan,
        condition,
        field,
        percentile,
        generate,
    })
}

fn scalar(v: &Y) -> Option<String> {
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One correlation as the state machine needs it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The definition.
    pub def: Definition,
    /// Which children are correlations (by correlation index), by child position.
    pub child_corr: Vec<Option<usize>>,
}

/// An input to one correlation from one event: the event matched child `child`, and these are
/// the correlation's group-by values and value field read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Correlation index.
    pub corr: usize,
    /// Child position in its `rules` list.
    pub child: usize,
    /// Group-by values in `group-by` order.
    pub group: Vec<String>,
    /// The value of `field`, when the type reads one.
    pub value: Option<String>,
    /// Depth of the correlation in its chain (inputs are processed innermost first).
    pub depth: usize,
}

/// A correlation that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Fire {
    /// Correlation index.
    pub corr: usize,
    /// (group-by name, value) pairs.
    pub group: Vec<(String, String)>,
    /// What was measured, in words.
    pub explanation: String,
    /// Earlier events of the episode, oldest first: (time, event id, child position).
    pub evidence: Vec<(Nanos, String, usize)>,
}

#[derive(Debug, Default)]
struct GroupState {
    last: Nanos,
    armed: bool,
    /// Event times (event_count), oldest first.
    times: VecDeque<Nanos>,
    /// (time, value) (value_* types), oldest first.
    values: VecDeque<(Nanos, String)>,
    /// value → (count in window, latest time).
    counts: HashMap<String, (u64, Nanos)>,
    /// Running sum of numeric values in `values`.
    sum: f64,
    /// temporal: latest time per child.
    seen: Vec<Option<Nanos>>,
    /// temporal_ordered: `chain[k]` = start time of the latest-starting in-order chain of
    /// length k+1.
    chain: Vec<Option<Nanos>>,
    evidence: VecDeque<(Nanos, String, usize)>,
}

/// Per-group state of every correlation.
#[derive(Debug, Default)]
pub struct State {
    groups: HashMap<(usize, Vec<String>), GroupState>,
}

impl State {
    /// Groups with state (for stats and memory tests).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group has state.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Drop groups idle for longer than their timespan.
    pub fn expire(&mut self, specs: &[Spec], now: Nanos) {
        self.groups.retain(|(corr, _), g| {
            specs
                .get(*corr)
                .is_some_and(|s| g.last.saturating_add(s.def.timespan) >= now)
        });
    }

    /// Feed one event's inputs (processed in event-time order) and return what fired.
    pub fn observe(
        &mut self,
        specs: &[Spec],
        ts: Nanos,
        event_id: &str,
        inputs: &[Input],
    ) -> Vec<Fire> {
        let mut order: Vec<&Input> = inputs.iter().collect();
        order.sort_by(|a, b| {
            (a.depth, a.corr, &a.group, a.child).cmp(&(b.depth, b.corr, &b.group, b.child))
        });
        let mut fired: Vec<Fire> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let first = order[i];
            let mut j = i;
            let mut children: Vec<usize> = Vec::new();
            let mut value: Option<&str> = None;
            while j < order.len() && order[j].corr == first.corr && order[j].group == first.group {
                let inp = order[j];
                let active = match specs
                    .get(inp.corr)
                    .and_then(|s| s.child_corr.get(inp.child))
                {
                    Some(Some(inner)) => fired.iter().any(|f| f.corr == *inner),
                    Some(None) => true,
                    None => false,
                };
                if active {
                    if !children.contains(&inp.child) {
                        children.push(inp.child);
                    }
                    if value.is_none() {
                        value = inp.value.as_deref();
                    }
                }
                j += 1;
            }
            i = j;
            if children.is_empty() {
                continue;
            }
            let Some(spec) = specs.get(first.corr) else {
                continue;
            };
            if let Some(f) = self.update(spec, first, &children, value, ts, event_id) {
                fired.push(f);
            }
        }
        fired
    }

    fn update(
        &mut self,
        spec: &Spec,
        input: &Input,
        children: &[usize],
        value: Option<&str>,
        ts: Nanos,
        event_id: &str,
    ) -> Option<Fire> {
        let def = &spec.def;
        let n = def.rules.len();
        let g = self
            .groups
            .entry((input.corr, input.group.clone()))
            .or_insert_with(|| GroupState {
                armed: true,
                seen: vec![None; n],
                chain: vec![None; n],
                ..GroupState::default()
            });
        g.last = g.last.max(ts);
        let start = ts.saturating_sub(def.timespan);
        let (holds, measured) = match def.kind {
            CorrType::EventCount => {
                let at = g.times.partition_point(|t| *t <= ts);
                g.times.insert(at, ts);
                while g.times.front().is_some_and(|t| *t < start) {
                    g.times.pop_front();
                }
                let c = g.times.len() as f64;
                (def.condition.holds(c), format!("{c} events"))
            }
            CorrType::ValueCount
            | CorrType::ValueSum
            | CorrType::ValueAvg
            | CorrType::ValuePercentile => {
                let numeric = matches!(def.kind, CorrType::ValueSum | CorrType::ValueAvg)
                    || (def.kind == CorrType::ValuePercentile && def.percentile.is_some());
                let parsed = value.and_then(|v| v.trim().parse::<f64>().ok());
                // An event without a usable value takes no part.
                let usable = match (numeric, value) {
                    (true, _) => parsed.is_some(),
                    (false, Some(_)) => true,
                    (false, None) => false,
                };
                if usable && let Some(v) = value {
                    let at = g.values.partition_point(|(t, _)| *t <= ts);
                    g.values.insert(at, (ts, v.to_string()));
                    g.sum += parsed.unwrap_or(0.0);
                    let c = g.counts.entry(v.to_string()).or_insert((0, ts));
                    c.0 += 1;
                    c.1 = c.1.max(ts);
                }
                while g.values.front().is_some_and(|(t, _)| *t < start) {
                    if let Some((_, old)) = g.values.pop_front() {
                        if numeric {
                            g.sum -= old.trim().parse::<f64>().unwrap_or(0.0);
                        }
                        if let Some(c) = g.counts.get_mut(&old) {
                            c.0 -= 1;
                            if c.0 == 0 {
                                g.counts.remove(&old);
                            }
                        }
                    }
                }
                if !usable {
                    (false, String::new())
                } else {
                    let len = g.values.len() as f64;
                    let field = def.field.as_deref().unwrap_or("");
                    let (m, text) = match def.kind {
                        CorrType::ValueCount => {
                            let d = g.counts.len() as f64;
                            (d, format!("{d} distinct {field} values"))
                        }
                        CorrType::ValueSum => (g.sum, format!("sum of {field} {}", g.sum)),
                        CorrType::ValueAvg => {
                            let avg = if len > 0.0 { g.sum / len } else { 0.0 };
                            (avg, format!("average {field} {avg:.2} over {len} events"))
                        }
                        _ => match def.percentile {
                            Some(p) => {
                                let mut nums: Vec<f64> = g
                                    .values
                                    .iter()
                                    .filter_map(|(_, v)| v.trim().parse().ok())
                                    .collect();
                                nums.sort_by(f64::total_cmp);
                                let rank = ((p / 100.0) * nums.len() as f64).ceil() as usize;
                                let pv = nums
                                    .get(rank.saturating_sub(1).min(nums.len().saturating_sub(1)))
                                    .copied()
                                    .unwrap_or(0.0);
                                (pv, format!("{p}th percentile of {field} {pv}"))
                            }
                            None => {
                                let count =
                                    value.and_then(|v| g.counts.get(v)).map_or(0, |c| c.0) as f64;
                                let share = if len > 0.0 { 100.0 * count / len } else { 0.0 };
                                (
                                    share,
                                    format!(
                                        "{field}={} in {share:.2}% of {len} events",
                                        value.unwrap_or("")
                                    ),
                                )
                            }
                        },
                    };
                    (def.condition.holds(m), text)
                }
            }
            CorrType::Temporal => {
                for c in children {
                    if let Some(s) = g.seen.get_mut(*c) {
                        *s = Some(ts);
                    }
                }
                let present: Vec<bool> = g
                    .seen
                    .iter()
                    .map(|s| s.is_some_and(|t| t >= start))
                    .collect();
                let count = present.iter().filter(|p| **p).count() as f64;
                let holds = match &def.condition {
                    Condition::Expr(cond, _) => {
                        cond.eval(&mut |i| present.get(i).copied().unwrap_or(false))
                    }
                    c => c.holds(count),
                };
                (holds, format!("{count} of {n} rules"))
            }
            CorrType::TemporalOrdered => {
                // Later steps first, so one event never extends a chain it started.
                let mut steps: Vec<usize> = children.to_vec();
                steps.sort_unstable_by(|a, b| b.cmp(a));
                for k in steps {
                    let candidate = if k == 0 {
                        Some(ts)
                    } else {
                        g.chain.get(k - 1).copied().flatten()
                    };
                    if let Some(s) = candidate.filter(|s| *s >= start)
                        && let Some(slot) = g.chain.get_mut(k)
                    {
                        *slot = Some(slot.map_or(s, |old| old.max(s)));
                    }
                }
                let longest = g
                    .chain
                    .iter()
                    .rposition(|c| c.is_some_and(|s| s >= start))
                    .map_or(0, |k| k + 1);
                let holds = match &def.condition {
                    Condition::Expr(cond, _) => cond.eval(&mut |i| i < longest),
                    c => c.holds(longest as f64),
                };
                (holds, format!("{longest} of {n} rules in order"))
            }
        };
        for c in children {
            g.evidence.push_back((ts, event_id.to_string(), *c));
        }
        while g.evidence.len() > EVIDENCE_KEPT {
            g.evidence.pop_front();
        }
        if !holds {
            g.armed = true;
            return None;
        }
        if !g.armed {
            return None;
        }
        g.armed = false;
        let evidence: Vec<(Nanos, String, usize)> = g
            .evidence
            .iter()
            .filter(|(t, _, _)| *t >= start)
            .cloned()
            .collect();
        Some(Fire {
            corr: input.corr,
            group: def
                .group_by
                .iter()
                .cloned()
                .zip(input.group.iter().cloned())
                .collect(),
            explanation: format!(
                "{} {measured} within {} (condition {})",
                def.kind.name(),
                human_span(def.timespan),
                def.condition.text()
            ),
            evidence,
        })
    }
}

fn human_span(ns: Nanos) -> String {
    let s = ns / SEC;
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(yaml: &str) -> Definition {
        let v: Y = serde_norway::from_str(yaml).unwrap();
        parse_definition(&v).unwrap()
    }

    fn input(corr: usize, child: usize, group: &str, value: Option<&str>) -> Input {
        Input {
            corr,
            child,
            group: vec![group.to_string()],
            value: value.map(str::to_string),
            depth: 1,
        }
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90s"), Some(90 * SEC));
        assert_eq!(parse_timespan("1h"), Some(3600 * SEC));
        assert_eq!(parse_timespan("1y"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("0m"), None);
    }

    #[test]
    fn definitions_validate() {
        let d = def(
            "type: event_count\nrules: [a]\ngroup-by: [User]\ntimespan: 1h\ncondition: {gt: 2, lte: 5}",
        );
        assert_eq!(
            d.condition,
            Condition::Count(vec![Cmp::Gt(2.0), Cmp::Lte(5.0)])
        );
        let err = |y: &str| {
            let v: Y = serde_norway::from_str(y).unwrap();
            parse_definition(&v).unwrap_err()
        };
        assert!(
            err("type: nope\nrules: [a]\ntimespan: 1h")
                .1
                .contains("unknown type")
        );
        assert!(
            err("type: value_count\nrules: [a]\ntimespan: 1h\ncondition: {gte: 3}")
                .1
                .contains("needs `field`")
        );
        assert!(
            err("type: event_count\nrules: [a]\ntimespan: 1x\ncondition: {gte: 3}")
                .1
                .contains("not a timespan")
        );
        assert!(
            err("type: event_count\nrules: [a]\ntimespan: 1h\ncondition: {most: 3}")
                .1
                .contains("unknown operator")
        );
        let t = def("type: temporal\nrules: [a, b]\ntimespan: 5m\ncondition: a and not b");
        assert!(matches!(t.condition, Condition::Expr(..)));
    }

    #[test]
    fn event_count_slides_and_rearms() {
        let d = def(
            "type: event_count\nrules: [a]\ngroup-by: [User]\ntimespan: 10s\ncondition: {gte: 3}",
        );
        let specs = vec![Spec {
            def: d,
            child_corr: vec![None],
        }];
        let mut s = State::default();
        let mut fires = Vec::new();
        for (i, t) in [0, 4, 9, 30, 31, 32].iter().enumerate() {
            fires.push(
                s.observe(
                    &specs,
                    t * SEC,
                    &format!("e{i}"),
                    &[input(0, 0, "bob", None)],
                )
                .len(),
            );
        }
        assert_eq!(fires, vec![0, 0, 1, 0, 0, 1]);
    }
}
