//! Sigma detection syntax, compiled once and evaluated per event.
//!
//! A detection is a set of named searches and a condition over them (Sigma specification,
//! "Detection" section):
//! - a search is a map (every field must match: AND) or a list of maps (any map: OR), or a
//!   list of keywords matched against the event's text (`'|all'` as the key: all of them);
//! - a field key is `name|modifier|modifier...`; a list of values matches when any value
//!   matches (all of them with `|all`);
//! - plain string values match case-insensitively as a whole, with `*` and `?` wildcards
//!   (`\*`, `\?`, `\\` escape them);
//! - the condition combines searches with `and`, `or`, `not`, parentheses, `1 of x*`,
//!   `all of x*`, `1 of them`, `all of them` (identifiers starting with `_` are left out of
//!   `them`).
//!
//! Modifiers (Sigma modifiers appendix): `contains`, `startswith`, `endswith`, `all`, `re`
//! (with `i`, `m`, `s` flags), `cidr`, `exists`, `windash`, `base64`, `base64offset`,
//! `wide`/`utf16le`, `utf16be`, `utf16`, `gt`/`gte`/`lt`/`lte`, `neq`, `fieldref`, `cased`,
//! `expand`, and the time modifiers `minute`, `hour`, `day`, `week`, `month`, `year`.
//!
//! Fields are resolved at compile time: by default a name in [`Field`]'s list reads the
//! normalized field and any other name reads the event's original field of that name (so vendor
//! names such as `TargetUserName` or `id.orig_h` work directly). [`CompileOptions::resolver`]
//! replaces that rule, which is how Sigma's taxonomy is mapped onto each log source.
//!
//! For indexing, [`Detection::anchor`] derives literals of which at least one must be present
//! in an event for the detection to match, and [`Detection::required_values`] the values a
//! field must equal; [`Detection::explain`] says which searches matched and which test failed.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_norway::Value as Y;

use crate::event::{Cidr, Event, Field, Value};

/// Where a rule reads a field from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// A normalized field.
    Normalized(Field),
    /// An original source field, by its source name.
    Original(String),
    /// The first of these the event has (a mapped name read from one of several fields).
    Any(Vec<FieldRef>),
}

impl FieldRef {
    /// Resolve a rule's field name.
    pub fn resolve(name: &str) -> FieldRef {
        match Field::from_name(name) {
            Some(f) => FieldRef::Normalized(f),
            None => FieldRef::Original(name.to_string()),
        }
    }

    /// Call `f` with each text value of the field until it returns true.
    pub fn any_value(&self, ev: &Event, mut f: impl FnMut(&str) -> bool) -> bool {
        match self {
            FieldRef::Normalized(Field::EventId) => f(&ev.id),
            FieldRef::Normalized(Field::Timestamp) => {
                f(&crate::event::format_timestamp(ev.timestamp))
            }
            FieldRef::Normalized(field) => match ev.value(*field) {
                Some(Value::Str(s)) => f(s),
                Some(Value::Int(i)) => {
                    // Integers are compared as text (Sigma semantics) without allocating.
                    let mut buf = [0u8; 20];
                    f(format_i64(*i, &mut buf))
                }
                Some(v) => f(&v.to_string()),
                None => false,
            },
            FieldRef::Original(name) => match ev.original(name) {
                Some(serde_json::Value::Array(items)) => items.iter().any(|i| match json_text(i) {
                    Some(t) => f(&t),
                    None => false,
                }),
                Some(v) => match json_text(v) {
                    Some(t) => f(&t),
                    None => false,
                },
                None => false,
            },
            FieldRef::Any(refs) => match refs.iter().find(|r| r.present(ev)) {
                Some(r) => r.any_value(ev, f),
                None => false,
            },
        }
    }

    /// Whether the event has a non-empty value for the field.
    pub fn exists(&self, ev: &Event) -> bool {
        self.any_value(ev, |s| !s.is_empty())
    }

    /// Whether the field is present at all, even empty or null (Sigma `exists`: "only verifies
    /// the presence of a field, not its value").
    pub fn present(&self, ev: &Event) -> bool {
        match self {
            FieldRef::Normalized(Field::EventId | Field::Timestamp) => true,
            FieldRef::Normalized(f) => ev.value(*f).is_some(),
            FieldRef::Original(name) => ev.original(name).is_some(),
            FieldRef::Any(refs) => refs.iter().any(|r| r.present(ev)),
        }
    }

    /// The first value as owned text.
    pub fn first(&self, ev: &Event) -> Option<String> {
        let mut out = None;
        self.any_value(ev, |s| {
            out = Some(s.to_string());
            true
        });
        out
    }
}

impl std::fmt::Display for FieldRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldRef::Normalized(field) => f.write_str(field.name()),
            FieldRef::Original(name) => f.write_str(name),
            FieldRef::Any(refs) => {
                let names: Vec<String> = refs.iter().map(ToString::to_string).collect();
                f.write_str(&names.join(" | "))
            }
        }
    }
}

/// Decimal text of `i` written into `buf`.
fn format_i64(i: i64, buf: &mut [u8; 20]) -> &str {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 && pos > 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    std::str::from_utf8(&buf[pos..]).unwrap_or("")
}

fn json_text(v: &serde_json::Value) -> Option<Cow<'_, str>> {
    match v {
        serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
        serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
        serde_json::Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// How one value is compared.
#[derive(Debug, Clone)]
enum Matcher {
    /// Case-insensitive (unless `cased`) string comparison of a given kind.
    Str {
        kind: StrKind,
        needle: String,
        cased: bool,
    },
    /// Wildcards or `re`. For wildcard patterns, `literal` is the longest literal run (lower
    /// case), which any matching value contains: an index key.
    Regex {
        re: regex::Regex,
        literal: Option<String>,
    },
    /// Address in range.
    Cidr(Cidr),
    /// Numeric comparison.
    Num(NumOp, f64),
    /// A part of a timestamp (time modifiers) compared with a number (`None`: equal).
    Time(TimePart, Option<NumOp>, f64),
    /// The field is absent or empty (`field: null`).
    Null,
    /// Equal to another field of the same event.
    FieldRef(FieldRef),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrKind {
    Eq,
    Contains,
    Starts,
    Ends,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl NumOp {
    fn holds(self, v: f64, n: f64) -> bool {
        match self {
            NumOp::Gt => v > n,
            NumOp::Gte => v >= n,
            NumOp::Lt => v < n,
            NumOp::Lte => v <= n,
        }
    }
}

/// The time modifiers' parts of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Matcher {
    fn matches(&self, value: &str, ev: &Event) -> bool {
        match self {
            Matcher::Str {
                kind,
                needle,
                cased,
            } => str_match(*kind, value, needle, *cased),
            Matcher::Regex { re, .. } => re.is_match(value),
            Matcher::Cidr(c) => crate::event::parse_ip(value).is_some_and(|ip| c.contains(ip)),
            Matcher::Num(op, n) => value.trim().parse::<f64>().is_ok_and(|v| op.holds(v, *n)),
            Matcher::Time(part, op, n) => time_part(value, *part).is_some_and(|v| match op {
                Some(op) => op.holds(v, *n),
                None => v == *n,
            }),
            Matcher::Null => value.is_empty(),
            Matcher::FieldRef(other) => other.any_value(ev, |o| o.eq_ignore_ascii_case(value)),
        }
    }
}

/// The numeric part of a timestamp written as text (RFC 3339, `YYYY-MM-DD hh:mm:ss`).
fn time_part(value: &str, part: TimePart) -> Option<f64> {
    use chrono::{Datelike, Timelike};
    let ns = crate::event::parse_timestamp(value)?;
    let dt = chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), 0)?;
    Some(f64::from(match part {
        TimePart::Minute => dt.minute(),
        TimePart::Hour => dt.hour(),
        TimePart::Day => dt.day(),
        TimePart::Week => dt.iso_week().week(),
        TimePart::Month => dt.month(),
        TimePart::Year => u32::try_from(dt.year()).ok()?,
    }))
}

fn str_match(kind: StrKind, hay: &str, needle: &str, cased: bool) -> bool {
    if cased {
        return match kind {
            StrKind::Eq => hay == needle,
            StrKind::Contains => hay.contains(needle),
            StrKind::Starts => hay.starts_with(needle),
            StrKind::Ends => hay.ends_with(needle),
        };
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    match kind {
        StrKind::Eq => {
            h.eq_ignore_ascii_case(n) || (!hay.is_ascii() && hay.to_lowercase() == needle)
        }
        StrKind::Starts => {
            h.get(..n.len()).is_some_and(|p| p.eq_ignore_ascii_case(n))
                || (!hay.is_ascii() && hay.to_lowercase().starts_with(needle))
        }
        StrKind::Ends => {
            h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
                || (!hay.is_ascii() && hay.to_lowercase().ends_with(needle))
        }
        StrKind::Contains => {
            contains_ci(h, n) || (!hay.is_ascii() && hay.to_lowercase().contains(needle))
        }
    }
}

/// ASCII case-insensitive substring search; `needle` is already lowercase.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        let found = if upper == first {
            memchr::memchr(first, &hay[i..=last_start])
        } else {
            memchr::memchr2(first, upper, &hay[i..=last_start])
        };
        match found {
            Some(off) => {
                let at = i + off;
                if hay[at..at + needle.len()].eq_ignore_ascii_case(needle) {
                    return true;
                }
                i = at + 1;
            }
            None => return false,
        }
    }
    false
}

/// One `field|modifiers: values` test.
#[derive(Debug, Clone)]
struct FieldTest {
    /// The field name as written.
    key: String,
    /// The key with its modifiers, as written (for explanations).
    spec: String,
    /// The values as written (for explanations).
    values: Vec<String>,
    field: FieldRef,
    matchers: Vec<Matcher>,
    all: bool,
    /// `neq`: the field holds none of the values.
    negate: bool,
    /// `exists: true/false`.
    exists: Option<bool>,
}

impl FieldTest {
    fn matches(&self, ev: &Event) -> bool {
        if let Some(want) = self.exists {
            return self.field.present(ev) == want;
        }
        if self.matchers.is_empty() {
            return false;
        }
        let test = |m: &Matcher| -> bool {
            if matches!(m, Matcher::Null) {
                return !self.field.exists(ev);
            }
            // Addresses against ranges: compare the typed value, no text round trip.
            if let (Matcher::Cidr(c), FieldRef::Normalized(f)) = (m, &self.field)
                && let Some(Value::Ip(ip)) = ev.value(*f)
            {
                return c.contains(*ip);
            }
            self.field.any_value(ev, |v| m.matches(v, ev))
        };
        if self.negate {
            return !self.matchers.iter().any(test);
        }
        if self.all {
            self.matchers.iter().all(test)
        } else {
            self.matchers.iter().any(test)
        }
    }

    /// What the event holds in the field, for explanations.
    fn observed(&self, ev: &Event) -> String {
        let mut vals: Vec<String> = Vec::new();
        self.field.any_value(ev, |v| {
            vals.push(crate::event::sanitize(v, 120).into_owned());
            vals.len() >= 3
        });
        if vals.is_empty() {
            if self.field.present(ev) {
                "present but empty".to_string()
            } else {
                "absent".to_string()
            }
        } else {
            format!("`{}`", vals.join("`, `"))
        }
    }

    fn describe(&self) -> String {
        let mut shown: Vec<String> = self
            .values
            .iter()
            .take(4)
            .map(|v| crate::event::sanitize(v, 80).into_owned())
            .collect();
        if self.values.len() > 4 {
            shown.push(format!("... {} more", self.values.len() - 4));
        }
        format!("{}: {}", self.spec, shown.join(" | "))
    }
}

/// One named search.
#[derive(Debug, Clone)]
enum Search {
    /// Any of these maps; each map is an AND of field tests.
    Maps(Vec<Vec<FieldTest>>),
    /// Keywords: any (all, with `'|all'`) matches some text of the event. With `originals`,
    /// the original fields' string values count as text too (records without raw text).
    Keywords {
        matchers: Vec<Matcher>,
        all: bool,
        originals: bool,
    },
}

impl Search {
    fn matches(&self, ev: &Event) -> bool {
        match self {
            Search::Maps(maps) => maps.iter().any(|tests| tests.iter().all(|t| t.matches(ev))),
            Search::Keywords {
                matchers,
                all,
                originals,
            } => {
                let texts = event_texts(ev, *originals);
                let hit = |m: &Matcher| texts.iter().any(|t| m.matches(t, ev));
                if *all {
                    matchers.iter().all(hit)
                } else {
                    matchers.iter().any(hit)
                }
            }
        }
    }

    /// Field names this search reads (for validation and docs).
    fn fields(&self) -> Vec<&str> {
        match self {
            Search::Maps(maps) => maps.iter().flatten().map(|t| t.key.as_str()).collect(),
            Search::Keywords { .. } => Vec::new(),
        }
    }
}

/// The texts keyword searches look at: the raw record, the message and the command line, and
/// (when asked) the string values of the original fields.
fn event_texts(ev: &Event, originals: bool) -> Vec<&str> {
    let mut v = Vec::with_capacity(3);
    if let Some(r) = &ev.raw {
        v.push(r.as_str());
    }
    for f in [Field::Message, Field::ProcessCommandLine] {
        if let Some(s) = ev.str(f) {
            v.push(s);
        }
    }
    if originals && ev.raw.is_none() {
        for (_, val) in &ev.original {
            if let serde_json::Value::String(s) = val {
                v.push(s.as_str());
            }
        }
    }
    v
}

/// A condition over searches.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A search by index.
    Search(usize),
    /// Negation.
    Not(Box<Cond>),
    /// All must hold.
    And(Vec<Cond>),
    /// Any must hold.
    Or(Vec<Cond>),
    /// At least one of these searches.
    OneOf(Vec<usize>),
    /// Every one of these searches.
    AllOf(Vec<usize>),
}

impl Cond {
    /// Evaluate with `leaf` deciding each search.
    pub fn eval(&self, leaf: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Search(i) => leaf(*i),
            Cond::Not(inner) => !inner.eval(leaf),
            Cond::And(cs) => cs.iter().all(|c| c.eval(leaf)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(leaf)),
            Cond::OneOf(ix) => ix.iter().any(|i| leaf(*i)),
            Cond::AllOf(ix) => ix.iter().all(|i| leaf(*i)),
        }
    }

    fn shifted(self, by: usize) -> Cond {
        match self {
            Cond::Search(i) => Cond::Search(i + by),
            Cond::Not(inner) => Cond::Not(Box::new(inner.shifted(by))),
            Cond::And(cs) => Cond::And(cs.into_iter().map(|c| c.shifted(by)).collect()),
            Cond::Or(cs) => Cond::Or(cs.into_iter().map(|c| c.shifted(by)).collect()),
            Cond::OneOf(ix) => Cond::OneOf(ix.into_iter().map(|i| i + by).collect()),
            Cond::AllOf(ix) => Cond::AllOf(ix.into_iter().map(|i| i + by).collect()),
        }
    }
}

/// A compiled detection.
#[derive(Debug, Clone)]
pub struct Detection {
    names: Vec<String>,
    searches: Vec<Search>,
    condition: Cond,
    condition_text: String,
}

/// Why a detection did not compile. `key` is the path inside `detection`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("detection.{key}: {reason}")]
pub struct DetectionError {
    /// Where in the detection.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn derr(key: impl Into<String>, reason: impl Into<String>) -> DetectionError {
    DetectionError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Values for `%placeholder%` expansion (`expand` modifier).
pub type Placeholders = HashMap<String, Vec<String>>;

/// Maps a rule's field name to where it is read; an `Err` is an unknown field.
pub type Resolver<'a> = dyn Fn(&str) -> Result<FieldRef, String> + 'a;

/// How a detection is compiled.
pub struct CompileOptions<'a> {
    /// Values of `%placeholders%` for `expand`.
    pub placeholders: &'a Placeholders,
    /// Field name resolution (default: [`FieldRef::resolve`]).
    pub resolver: &'a Resolver<'a>,
    /// Keyword searches also read the original fields' values when the record has no raw
    /// text (EVTX records): Sigma keywords are meant to search "the entire event".
    pub keywords_in_originals: bool,
}

impl std::fmt::Debug for CompileOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileOptions")
            .field("placeholders", &self.placeholders.len())
            .field("keywords_in_originals", &self.keywords_in_originals)
            .finish()
    }
}

/// What an index may key a detection on: the field holds the needle in this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomKind {
    /// The whole value.
    Equals,
    /// A prefix.
    StartsWith,
    /// A suffix.
    EndsWith,
    /// Anywhere.
    Contains,
}

/// One literal of an anchor (see [`Detection::anchor`]): ASCII, lowercase, compared
/// case-insensitively (a superset of `cased` comparisons).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Atom {
    /// Field read.
    pub field: FieldRef,
    /// How the needle sits in the value.
    pub kind: AtomKind,
    /// Lowercase ASCII literal.
    pub needle: String,
}

/// Why one search did or did not match an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReport {
    /// Search name.
    pub name: String,
    /// Whether it matched.
    pub matched: bool,
    /// For a match, the tests that held; otherwise, per alternative map, the first test that
    /// failed and what the event held.
    pub detail: Vec<String>,
}

/// Shortest needle worth an index entry: shorter ones select nearly everything.
const MIN_ANCHOR_LEN: usize = 3;

impl Detection {
    /// Compile a `detection:` mapping with the default field resolution.
    pub fn compile(
        detection: &Y,
        placeholders: &Placeholders,
    ) -> Result<Detection, DetectionError> {
        let resolver = |name: &str| Ok(FieldRef::resolve(name));
        Detection::compile_with(
            detection,
            &CompileOptions {
                placeholders,
                resolver: &resolver,
                keywords_in_originals: false,
            },
        )
    }

    /// Compile a `detection:` mapping.
    pub fn compile_with(
        detection: &Y,
        opts: &CompileOptions<'_>,
    ) -> Result<Detection, DetectionError> {
        let Y::Mapping(map) = detection else {
            return Err(derr("", "must be a mapping of searches and a condition"));
        };
        let mut names = Vec::new();
        let mut searches = Vec::new();
        let mut condition_text = None;
        for (k, v) in map {
            let Some(name) = k.as_str() else {
                return Err(derr(format!("{k:?}"), "search names must be strings"));
            };
            if name == "condition" {
                condition_text = Some(match v {
                    Y::String(s) => s.clone(),
                    Y::Sequence(items) => {
                        // A list of conditions means any of them (older Sigma).
                        let parts: Vec<String> = items
                            .iter()
                            .filter_map(|i| i.as_str().map(|s| format!("({s})")))
                            .collect();
                        parts.join(" or ")
                    }
                    _ => return Err(derr("condition", "must be a string")),
                });
                continue;
            }
            if name == "timeframe" {
                continue;
            }
            searches.push(compile_search(name, v, opts)?);
            names.push(name.to_string());
        }
        let condition_text = condition_text.ok_or_else(|| derr("condition", "missing"))?;
        let condition = parse_condition(&condition_text, &names)?;
        Ok(Detection {
            names,
            searches,
            condition,
            condition_text,
        })
    }

    /// Whether the event matches.
    pub fn matches(&self, ev: &Event) -> bool {
        self.condition
            .eval(&mut |i| self.searches.get(i).is_some_and(|s| s.matches(ev)))
    }

    /// Names of the searches that match the event (for "why did this fire").
    pub fn matched_searches(&self, ev: &Event) -> Vec<&str> {
        self.names
            .iter()
            .zip(&self.searches)
            .filter(|(_, s)| s.matches(ev))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// Search by search, whether it matched and why (or why not).
    pub fn explain(&self, ev: &Event) -> Vec<SearchReport> {
        self.names
            .iter()
            .zip(&self.searches)
            .map(|(name, s)| {
                let matched = s.matches(ev);
                let detail = match s {
                    Search::Maps(maps) if matched => maps
                        .iter()
                        .find(|tests| tests.iter().all(|t| t.matches(ev)))
                        .map(|tests| {
                            tests
                                .iter()
                                .map(|t| format!("{} (event: {})", t.describe(), t.observed(ev)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    Search::Maps(maps) => maps
                        .iter()
                        .filter_map(|tests| tests.iter().find(|t| !t.matches(ev)))
                        .map(|t| format!("{} failed (event: {})", t.describe(), t.observed(ev)))
                        .collect(),
                    Search::Keywords { matchers, .. } => {
                        vec![format!(
                            "{} keyword(s) {} the event's text",
                            matchers.len(),
                            if matched { "found in" } else { "not found in" }
                        )]
                    }
                };
                SearchReport {
                    name: name.clone(),
                    matched,
                    detail,
                }
            })
            .collect()
    }

    /// The condition as written.
    pub fn condition_text(&self) -> &str {
        &self.condition_text
    }

    /// Search names, in the order written.
    pub fn search_names(&self) -> &[String] {
        &self.names
    }

    /// Every field name the detection reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.searches.iter().flat_map(Search::fields).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// This detection, except where `filter` matches: `(this) and not (filter)`. The filter's
    /// searches are renamed `label:name` (Sigma filter documents).
    pub fn and_not(mut self, filter: Detection, label: &str) -> Detection {
        let offset = self.searches.len();
        self.names
            .extend(filter.names.iter().map(|n| format!("{label}:{n}")));
        self.searches.extend(filter.searches);
        let negated = Cond::Not(Box::new(filter.condition.shifted(offset)));
        self.condition = Cond::And(vec![self.condition, negated]);
        self.condition_text = format!(
            "({}) and not {label}:({})",
            self.condition_text, filter.condition_text
        );
        self
    }

    /// Literal values a normalized field must equal for the detection to match, when the
    /// condition requires it (used to index rules by `event.code` etc.). `None` = no such
    /// requirement can be derived.
    pub fn required_values(&self, field: Field) -> Option<Vec<String>> {
        self.required_values_of(&FieldRef::Normalized(field))
    }

    /// [`Detection::required_values`] for any field reference (Sigma's `EventID` original).
    pub fn required_values_of(&self, field: &FieldRef) -> Option<Vec<String>> {
        self.required(&self.condition, field)
    }

    fn required(&self, c: &Cond, field: &FieldRef) -> Option<Vec<String>> {
        match c {
            Cond::Search(i) => self.search_required(*i, field),
            Cond::And(cs) => cs.iter().find_map(|c| self.required(c, field)),
            Cond::AllOf(ix) => ix.iter().find_map(|i| self.search_required(*i, field)),
            Cond::Or(cs) => {
                let mut all = Vec::new();
                for c in cs {
                    all.extend(self.required(c, field)?);
                }
                Some(all)
            }
            Cond::OneOf(ix) => {
                let mut all = Vec::new();
                for i in ix {
                    all.extend(self.search_required(*i, field)?);
                }
                Some(all)
            }
            Cond::Not(_) => None,
        }
    }

    fn search_required(&self, i: usize, field: &FieldRef) -> Option<Vec<String>> {
        let Search::Maps(maps) = self.searches.get(i)? else {
            return None;
        };
        let mut all = Vec::new();
        for tests in maps {
            let t = tests
                .iter()
                .find(|t| t.field == *field && !t.all && !t.negate && t.exists.is_none())?;
            for m in &t.matchers {
                match m {
                    Matcher::Str {
                        kind: StrKind::Eq,
                        needle,
                        cased,
                    } => all.push(if *cased {
                        needle.to_lowercase()
                    } else {
                        needle.clone()
                    }),
                    _ => return None,
                }
            }
        }
        Some(all)
    }

    /// Literals at least one of which holds in every event the detection matches (a
    /// necessary condition), chosen to be selective: an index looks the literals up and
    /// evaluates the detection only for events that hold one. `avoid` names fields not worth
    /// keying on (already used for routing, such as the event id). `None` when no such set
    /// can be derived (negations, numbers, regular expressions, short needles...).
    pub fn anchor(&self, avoid: &dyn Fn(&FieldRef) -> bool) -> Option<Vec<Atom>> {
        self.cond_anchor(&self.condition, avoid)
            .filter(|(score, _)| *score > 0)
            .map(|(_, atoms)| atoms)
    }

    /// (score, atoms): the score is the shortest needle of the set (higher is more selective).
    fn cond_anchor(
        &self,
        c: &Cond,
        avoid: &dyn Fn(&FieldRef) -> bool,
    ) -> Option<(usize, Vec<Atom>)> {
        let best = |cands: Vec<Option<(usize, Vec<Atom>)>>| {
            cands
                .into_iter()
                .flatten()
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.len().cmp(&a.1.len())))
        };
        let union = |parts: Vec<Option<(usize, Vec<Atom>)>>| {
            let mut score = usize::MAX;
            let mut atoms = Vec::new();
            for p in parts {
                let (s, a) = p?;
                score = score.min(s);
                atoms.extend(a);
            }
            Some((score, atoms))
        };
        match c {
            Cond::Search(i) => self.search_anchor(*i, avoid),
            Cond::Not(_) => None,
            Cond::And(cs) => best(cs.iter().map(|c| self.cond_anchor(c, avoid)).collect()),
            Cond::AllOf(ix) => best(ix.iter().map(|i| self.search_anchor(*i, avoid)).collect()),
            Cond::Or(cs) => union(cs.iter().map(|c| self.cond_anchor(c, avoid)).collect()),
            Cond::OneOf(ix) => union(ix.iter().map(|i| self.search_anchor(*i, avoid)).collect()),
        }
    }

    fn search_anchor(
        &self,
        i: usize,
        avoid: &dyn Fn(&FieldRef) -> bool,
    ) -> Option<(usize, Vec<Atom>)> {
        let Search::Maps(maps) = self.searches.get(i)? else {
            return None;
        };
        let mut score = usize::MAX;
        let mut atoms = Vec::new();
        for tests in maps {
            let (s, a) = tests
                .iter()
                .filter_map(|t| test_anchor(t, avoid))
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.len().cmp(&a.1.len())))?;
            score = score.min(s);
            atoms.extend(a);
        }
        (score != usize::MAX).then_some((score, atoms))
    }
}

/// The atoms of one field test: one of them holds whenever the test does.
fn test_anchor(t: &FieldTest, avoid: &dyn Fn(&FieldRef) -> bool) -> Option<(usize, Vec<Atom>)> {
    if t.negate || t.exists.is_some() || t.matchers.is_empty() || avoid(&t.field) {
        return None;
    }
    let atom = |m: &Matcher| -> Option<Atom> {
        let (kind, needle) = match m {
            Matcher::Str { kind, needle, .. } => (
                match kind {
                    StrKind::Eq => AtomKind::Equals,
                    StrKind::Starts => AtomKind::StartsWith,
                    StrKind::Ends => AtomKind::EndsWith,
                    StrKind::Contains => AtomKind::Contains,
                },
                needle.as_str(),
            ),
            Matcher::Regex {
                literal: Some(l), ..
            } => (AtomKind::Contains, l.as_str()),
            _ => return None,
        };
        // Non-ASCII needles are left out: the index folds ASCII case only.
        (needle.len() >= MIN_ANCHOR_LEN && needle.is_ascii()).then(|| Atom {
            field: t.field.clone(),
            kind,
            needle: needle.to_ascii_lowercase(),
        })
    };
    if t.all {
        // Every value must hold: the longest one alone is necessary.
        return t
            .matchers
            .iter()
            .filter_map(atom)
            .max_by_key(|a| a.needle.len())
            .map(|a| (a.needle.len(), vec![a]));
    }
    let atoms: Vec<Atom> = t.matchers.iter().map(atom).collect::<Option<_>>()?;
    let score = atoms.iter().map(|a| a.needle.len()).min()?;
    Some((score, atoms))
}

fn compile_search(name: &str, v: &Y, opts: &CompileOptions<'_>) -> Result<Search, DetectionError> {
    match v {
        Y::Mapping(m) => {
            // `'|all': [...]` (or `'|contains': ...`): keywords with modifiers.
            if m.len() == 1
                && let Some((Some(k), kv)) = m.iter().next().map(|(k, v)| (k.as_str(), v))
                && k.starts_with('|')
            {
                return compile_keywords(name, k, kv, opts);
            }
            Ok(Search::Maps(vec![compile_map(name, m, opts)?]))
        }
        Y::Sequence(items) if items.iter().all(|i| matches!(i, Y::Mapping(_))) => {
            let mut maps = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Y::Mapping(m) = item {
                    maps.push(compile_map(&format!("{name}[{i}]"), m, opts)?);
                }
            }
            Ok(Search::Maps(maps))
        }
        Y::Sequence(_) | Y::String(_) => compile_keywords(name, "", v, opts),
        _ => Err(derr(
            name,
            "a search is a mapping, a list of mappings or a list of keywords",
        )),
    }
}

fn compile_keywords(
    name: &str,
    key: &str,
    v: &Y,
    opts: &CompileOptions<'_>,
) -> Result<Search, DetectionError> {
    let mod_names: Vec<&str> = key.split('|').filter(|m| !m.is_empty()).collect();
    let mods = parse_mods(name, &mod_names)?;
    let items: Vec<&Y> = match v {
        Y::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut matchers = Vec::new();
    for item in items {
        let s = scalar_text(item).ok_or_else(|| derr(name, "keyword lists hold strings"))?;
        if mods.kind.is_none() && mods.transforms.is_empty() && mods.re.is_none() {
            matchers
                .push(glob_matcher(&s, StrKind::Contains, mods.cased).map_err(|e| derr(name, e))?);
        } else {
            let mut m = Mods {
                kind: Some(mods.kind.unwrap_or(StrKind::Contains)),
                ..Mods::default()
            };
            m.re.clone_from(&mods.re);
            m.cased = mods.cased;
            m.transforms.clone_from(&mods.transforms);
            matchers.extend(value_matchers(name, &s, &m, opts)?);
        }
    }
    Ok(Search::Keywords {
        matchers,
        all: mods.all,
        originals: opts.keywords_in_originals,
    })
}

fn compile_map(
    path: &str,
    m: &serde_norway::Mapping,
    opts: &CompileOptions<'_>,
) -> Result<Vec<FieldTest>, DetectionError> {
    let mut tests = Vec::new();
    for (k, v) in m {
        let key = match k {
            Y::String(s) => s.clone(),
            // `EventID: 4624` keys are strings, but a bare number key is a field name too.
            Y::Number(n) => n.to_string(),
            _ => return Err(derr(path, "field names must be strings")),
        };
        tests.push(compile_field(&format!("{path}.{key}"), &key, v, opts)?);
    }
    Ok(tests)
}

/// The modifiers a field key carries.
#[derive(Debug, Default)]
struct Mods {
    kind: Option<StrKind>,
    all: bool,
    re: Option<String>,
    cidr: bool,
    exists: bool,
    cased: bool,
    fieldref: bool,
    expand: bool,
    neq: bool,
    num: Option<NumOp>,
    time: Option<TimePart>,
    /// Value transformations in the order written.
    transforms: Vec<Transform>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    Windash,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
}

fn parse_mods(path: &str, mods: &[&str]) -> Result<Mods, DetectionError> {
    let mut m = Mods::default();
    for raw in mods {
        match *raw {
            "contains" => m.kind = Some(StrKind::Contains),
            "startswith" => m.kind = Some(StrKind::Starts),
            "endswith" => m.kind = Some(StrKind::Ends),
            "all" => m.all = true,
            "re" => m.re = Some(String::new()),
            "i" | "ignorecase" if m.re.is_some() => m.re.get_or_insert_with(String::new).push('i'),
            "m" | "multiline" if m.re.is_some() => m.re.get_or_insert_with(String::new).push('m'),
            "s" | "dotall" if m.re.is_some() => m.re.get_or_insert_with(String::new).push('s'),
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "cased" => m.cased = true,
            "fieldref" => m.fieldref = true,
            "expand" => m.expand = true,
            "neq" => m.neq = true,
            "gt" => m.num = Some(NumOp::Gt),
            "gte" => m.num = Some(NumOp::Gte),
            "lt" => m.num = Some(NumOp::Lt),
            "lte" => m.num = Some(NumOp::Lte),
            "minute" => m.time = Some(TimePart::Minute),
            "hour" => m.time = Some(TimePart::Hour),
            "day" => m.time = Some(TimePart::Day),
            "week" => m.time = Some(TimePart::Week),
            "month" => m.time = Some(TimePart::Month),
            "year" => m.time = Some(TimePart::Year),
            "windash" => m.transforms.push(Transform::Windash),
            "base64" => m.transforms.push(Transform::Base64),
            "base64offset" => m.transforms.push(Transform::Base64Offset),
            "wide" | "utf16le" => m.transforms.push(Transform::Utf16Le),
            "utf16be" => m.transforms.push(Transform::Utf16Be),
            "utf16" => m.transforms.push(Transform::Utf16Bom),
            other => return Err(derr(path, format!("unknown modifier `{other}`"))),
        }
    }
    Ok(m)
}

fn scalar_text(v: &Y) -> Option<String> {
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compile_field(
    path: &str,
    key: &str,
    v: &Y,
    opts: &CompileOptions<'_>,
) -> Result<FieldTest, DetectionError> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(derr(
            path,
            "empty field name (keywords with modifiers are written `'|all': [...]` alone in their search)",
        ));
    }
    let mod_names: Vec<&str> = parts.collect();
    let mods = parse_mods(path, &mod_names)?;
    let field = (opts.resolver)(&name).map_err(|reason| derr(path, reason))?;
    let shown = |v: &Y| scalar_text(v).unwrap_or_else(|| "null".to_string());
    if mods.exists {
        let want = match v {
            Y::Bool(b) => *b,
            Y::String(s) if s.eq_ignore_ascii_case("true") => true,
            Y::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(derr(path, "`exists` takes true or false")),
        };
        return Ok(FieldTest {
            key: name,
            spec: key.to_string(),
            values: vec![want.to_string()],
            field,
            matchers: Vec::new(),
            all: false,
            negate: false,
            exists: Some(want),
        });
    }
    let values: Vec<&Y> = match v {
        Y::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut matchers = Vec::new();
    for value in &values {
        if matches!(value, Y::Null) {
            matchers.push(Matcher::Null);
            continue;
        }
        let text = scalar_text(value)
            .ok_or_else(|| derr(path, "values must be strings, numbers, booleans or null"))?;
        let texts = if mods.expand {
            expand(path, &text, opts.placeholders)?
        } else {
            vec![text]
        };
        for text in texts {
            matchers.extend(value_matchers(path, &text, &mods, opts)?);
        }
    }
    Ok(FieldTest {
        key: name,
        spec: key.to_string(),
        values: values.iter().map(|v| shown(v)).collect(),
        field,
        matchers,
        all: mods.all,
        negate: mods.neq,
        exists: None,
    })
}

/// Replace `%name%` placeholders by each of their values (all combinations); `\%` is a
/// plain percent sign.
fn expand(path: &str, text: &str, ph: &Placeholders) -> Result<Vec<String>, DetectionError> {
    let mut out = vec![String::new()];
    let mut literal = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&'%') => {
                literal.push('%');
                i += 2;
            }
            '%' => {
                let Some(len) = chars[i + 1..].iter().position(|c| *c == '%') else {
                    literal.push('%');
                    i += 1;
                    continue;
                };
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                let values = ph.get(&name).ok_or_else(|| {
                    derr(
                        path,
                        format!("placeholder %{name}% has no values configured"),
                    )
                })?;
                let prefix = std::mem::take(&mut literal);
                out = out
                    .iter()
                    .flat_map(|o| {
                        let prefix = &prefix;
                        values.iter().map(move |v| format!("{o}{prefix}{v}"))
                    })
                    .collect();
                i += len + 2;
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    Ok(out.into_iter().map(|o| format!("{o}{literal}")).collect())
}

fn value_matchers(
    path: &str,
    text: &str,
    mods: &Mods,
    opts: &CompileOptions<'_>,
) -> Result<Vec<Matcher>, DetectionError> {
    if mods.fieldref {
        let other = (opts.resolver)(text).map_err(|reason| derr(path, reason))?;
        return Ok(vec![Matcher::FieldRef(other)]);
    }
    if let Some(part) = mods.time {
        let n: f64 = text
            .trim()
            .parse()
            .map_err(|_| derr(path, format!("`{text}` is not a number")))?;
        return Ok(vec![Matcher::Time(part, mods.num, n)]);
    }
    if let Some(op) = mods.num {
        let n: f64 = text
            .trim()
            .parse()
            .map_err(|_| derr(path, format!("`{text}` is not a number")))?;
        return Ok(vec![Matcher::Num(op, n)]);
    }
    if mods.cidr {
        let c: Cidr = text
            .parse()
            .map_err(|e: crate::event::InvalidCidr| derr(path, e.to_string()))?;
        return Ok(vec![Matcher::Cidr(c)]);
    }
    if let Some(flags) = &mods.re {
        let pattern = if flags.is_empty() {
            text.to_string()
        } else {
            format!("(?{flags}){text}")
        };
        let re = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| derr(path, format!("regular expression does not compile: {e}")))?;
        return Ok(vec![Matcher::Regex { re, literal: None }]);
    }
    // Value transformations produce one or more literal variants; wildcards apply only to
    // untransformed values (encoded bytes have no wildcard meaning).
    // Each variant: (text, wildcards apply, text holds raw bytes as Latin-1 chars).
    let mut variants: Vec<(String, bool, bool)> = vec![(text.to_string(), true, false)];
    for t in &mods.transforms {
        variants = variants
            .into_iter()
            .flat_map(|(v, literal_ok, raw)| {
                let bytes = || -> Vec<u8> {
                    if raw {
                        v.chars()
                            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                            .collect()
                    } else {
                        v.as_bytes().to_vec()
                    }
                };
                match t {
                    Transform::Windash => windash(&v)
                        .into_iter()
                        .map(|w| (w, literal_ok, raw))
                        .collect::<Vec<_>>(),
                    Transform::Base64 => vec![(base64(&bytes()), false, false)],
                    Transform::Base64Offset => base64_offsets(&bytes())
                        .into_iter()
                        .map(|b| (b, false, false))
                        .collect(),
                    Transform::Utf16Le => vec![(utf16_marker(&v, Utf16::Le), false, true)],
                    Transform::Utf16Be => vec![(utf16_marker(&v, Utf16::Be), false, true)],
                    Transform::Utf16Bom => vec![(utf16_marker(&v, Utf16::Bom), false, true)],
                }
            })
            .collect();
    }
    let kind = mods.kind.unwrap_or(StrKind::Eq);
    // base64offset variants are fragments: they only make sense as substrings.
    let kind = if mods.transforms.contains(&Transform::Base64Offset) && kind == StrKind::Eq {
        StrKind::Contains
    } else {
        kind
    };
    let mut out = Vec::new();
    for (v, wildcards, _) in variants {
        if wildcards {
            out.push(glob_matcher(&v, kind, mods.cased).map_err(|e| derr(path, e))?);
        } else {
            out.push(Matcher::Str {
                kind,
                needle: v,
                cased: true,
            });
        }
    }
    Ok(out)
}

/// Build the matcher for a value with Sigma wildcards: simple shapes become fast string
/// tests, anything else a case-insensitive regex.
fn glob_matcher(value: &str, kind: StrKind, cased: bool) -> Result<Matcher, String> {
    // Tokenize into literal runs and wildcards, honouring backslash escapes.
    #[derive(PartialEq)]
    enum Tok {
        Lit(String),
        Star,
        Q,
    }
    let mut toks: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                if let Some(n) = chars.next() {
                    lit.push(n);
                }
            }
            '*' | '?' => {
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(if c == '*' { Tok::Star } else { Tok::Q });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    match kind {
        StrKind::Contains => {
            toks.insert(0, Tok::Star);
            toks.push(Tok::Star);
        }
        StrKind::Starts => toks.push(Tok::Star),
        StrKind::Ends => toks.insert(0, Tok::Star),
        StrKind::Eq => {}
    }
    toks.dedup_by(|a, b| *a == Tok::Star && *b == Tok::Star);
    let norm = |s: &str| {
        if cased {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let simple = match toks.as_slice() {
        [] => Some((StrKind::Eq, String::new())),
        [Tok::Star] => Some((StrKind::Contains, String::new())),
        [Tok::Lit(l)] => Some((StrKind::Eq, norm(l))),
        [Tok::Star, Tok::Lit(l), Tok::Star] => Some((StrKind::Contains, norm(l))),
        [Tok::Lit(l), Tok::Star] => Some((StrKind::Starts, norm(l))),
        [Tok::Star, Tok::Lit(l)] => Some((StrKind::Ends, norm(l))),
        _ => None,
    };
    if let Some((kind, needle)) = simple {
        return Ok(Matcher::Str {
            kind,
            needle,
            cased,
        });
    }
    let mut pattern = String::from(if cased { "^" } else { "(?i)^" });
    let mut literal: Option<&str> = None;
    for t in &toks {
        match t {
            Tok::Lit(l) => {
                pattern.push_str(&regex::escape(l));
                if literal.is_none_or(|best| l.len() > best.len()) {
                    literal = Some(l);
                }
            }
            Tok::Star => pattern.push_str("(?s:.*)"),
            Tok::Q => pattern.push_str("(?s:.)"),
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern)
        .map(|re| Matcher::Regex {
            re,
            literal: literal.map(str::to_lowercase),
        })
        .map_err(|e| e.to_string())
}

/// The dash characters `windash` makes interchangeable: hyphen-minus, slash, en dash, em dash,
/// horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Beyond this many option dashes in one value, every option gets the same dash (the
/// permutations would number 5^n).
const WINDASH_MAX_POSITIONS: usize = 4;

/// Sigma `windash`: every dash that starts a command-line option (preceded by the start or a
/// non-word character, followed by a word character) in all combinations of its spellings.
fn windash(v: &str) -> Vec<String> {
    let chars: Vec<char> = v.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            DASHES.contains(&chars[i])
                && !word(i.checked_sub(1).and_then(|p| chars.get(p)))
                && word(chars.get(i + 1))
        })
        .collect();
    if positions.is_empty() {
        return vec![v.to_string()];
    }
    let render = |choice: &dyn Fn(usize) -> char| -> String {
        chars
            .iter()
            .enumerate()
            .map(|(i, c)| match positions.iter().position(|p| *p == i) {
                Some(k) => choice(k),
                None => *c,
            })
            .collect()
    };
    if positions.len() > WINDASH_MAX_POSITIONS {
        return DASHES.iter().map(|d| render(&|_| *d)).collect();
    }
    let total = DASHES.len().pow(positions.len() as u32);
    (0..total)
        .map(|n| {
            render(&|k| {
                let digit = (n / DASHES.len().pow(k as u32)) % DASHES.len();
                DASHES[digit]
            })
        })
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three base64 fragments of `data` as it would appear at byte offsets 0, 1 and 2 of a
/// longer encoded text (Sigma `base64offset`): characters influenced by unknown neighbours
/// are dropped.
fn base64_offsets(data: &[u8]) -> Vec<String> {
    // Characters to drop at the start (they encode the unknown preceding bytes) and, indexed
    // by (length + offset) % 3, at the end (padding plus the character mixing in unknown
    // following bytes).
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(data);
            let enc = base64(&padded);
            let end = enc.len().saturating_sub(END_TRIM[(data.len() + i) % 3]);
            enc.get(START[i]..end.max(START[i]))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Utf16 {
    Le,
    Be,
    Bom,
}

/// UTF-16 encodings are only meaningful before base64 (decoded logs hold text): encode and
/// carry the bytes as Latin-1 chars so the following base64 transform sees the right bytes.
fn utf16_marker(v: &str, enc: Utf16) -> String {
    let mut bytes = Vec::new();
    if let Utf16::Bom = enc {
        bytes.extend_from_slice(&[0xff, 0xfe]);
    }
    for u in v.encode_utf16() {
        match enc {
            Utf16::Be => bytes.extend_from_slice(&u.to_be_bytes()),
            _ => bytes.extend_from_slice(&u.to_le_bytes()),
        }
    }
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// Parse a condition expression against the search names.
pub fn parse_condition(text: &str, names: &[String]) -> Result<Cond, DetectionError> {
    let tokens = tokenize(text);
    let mut p = CondParser {
        tokens: &tokens,
        pos: 0,
        names,
        text,
    };
    let c = p.expr()?;
    if p.pos != tokens.len() {
        return Err(derr(
            "condition",
            format!("unexpected `{}` in `{text}`", tokens[p.pos]),
        ));
    }
    Ok(c)
}

fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

struct CondParser<'a> {
    tokens: &'a [String],
    pos: usize,
    names: &'a [String],
    text: &'a str,
}

impl CondParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn expr(&mut self) -> Result<Cond, DetectionError> {
        let mut parts = vec![self.term()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("or")) {
            self.pos += 1;
            parts.push(self.term()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn term(&mut self) -> Result<Cond, DetectionError> {
        let mut parts = vec![self.factor()?];
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case("and")) {
            self.pos += 1;
            parts.push(self.factor()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn factor(&mut self) -> Result<Cond, DetectionError> {
        let Some(tok) = self.peek().map(str::to_string) else {
            return Err(derr("condition", format!("`{}` ends too early", self.text)));
        };
        self.pos += 1;
        if tok.eq_ignore_ascii_case("not") {
            return Ok(Cond::Not(Box::new(self.factor()?)));
        }
        if tok == "(" {
            let inner = self.expr()?;
            if self.peek() != Some(")") {
                return Err(derr("condition", format!("missing `)` in `{}`", self.text)));
            }
            self.pos += 1;
            return Ok(inner);
        }
        if (tok == "1" || tok.eq_ignore_ascii_case("any") || tok.eq_ignore_ascii_case("all"))
            && self.peek().is_some_and(|t| t.eq_ignore_ascii_case("of"))
        {
            self.pos += 1;
            let target = self.peek().map(str::to_string).ok_or_else(|| {
                derr(
                    "condition",
                    format!("`of` needs a target in `{}`", self.text),
                )
            })?;
            self.pos += 1;
            let ix = self.select(&target)?;
            return Ok(if tok.eq_ignore_ascii_case("all") {
                Cond::AllOf(ix)
            } else {
                Cond::OneOf(ix)
            });
        }
        if tok.contains('|') {
            return Err(derr(
                "condition",
                format!("aggregations (`{tok}`) are not supported; use a correlation rule"),
            ));
        }
        match self.names.iter().position(|n| *n == tok) {
            Some(i) => Ok(Cond::Search(i)),
            None => Err(derr(
                "condition",
                format!("unknown search `{tok}` in `{}`", self.text),
            )),
        }
    }

    fn select(&self, pattern: &str) -> Result<Vec<usize>, DetectionError> {
        let ix: Vec<usize> = if pattern.eq_ignore_ascii_case("them") {
            (0..self.names.len())
                .filter(|i| !self.names[*i].starts_with('_'))
                .collect()
        } else {
            let re = glob_matcher(pattern, StrKind::Eq, true).map_err(|e| derr("condition", e))?;
            let dummy = Event::default();
            (0..self.names.len())
                .filter(|i| re.matches(&self.names[*i], &dummy))
                .collect()
        };
        if ix.is_empty() {
            return Err(derr(
                "condition",
                format!("`{pattern}` names no search in `{}`", self.text),
            ));
        }
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(yaml: &str) -> Detection {
        let v: Y = serde_norway::from_str(yaml).unwrap();
        Detection::compile(&v, &Placeholders::new()).unwrap()
    }

    fn ev(pairs: &[(&str, &str)]) -> Event {
        let mut e = Event::new(0);
        for (k, v) in pairs {
            match Field::from_name(k) {
                Some(f) => e.set(f, *v),
                None => e.original.push(((*k).to_string(), serde_json::json!(v))),
            }
        }
        e
    }

    #[test]
    fn plain_values_are_case_insensitive_whole_matches() {
        let d = det("sel:\n  event.code: '4624'\n  TargetUserName: Admin\ncondition: sel");
        assert!(d.matches(&ev(&[("event.code", "4624"), ("TargetUserName", "ADMIN")])));
        assert!(!d.matches(&ev(&[("event.code", "4624"), ("TargetUserName", "admins")])));
        assert!(!d.matches(&ev(&[("event.code", "4625"), ("TargetUserName", "admin")])));
    }

    #[test]
    fn modifiers_and_wildcards() {
        let d = det(concat!(
            "a:\n  process.command_line|contains|all: ['-enc', 'hidden']\n",
            "b:\n  process.executable|endswith: '\\psexesvc.exe'\n",
            "c:\n  source.ip|cidr: 10.0.0.0/8\n",
            "d:\n  file.path: '*\\ADMIN$\\\\*.exe'\n",
            "e:\n  process.command_line|re|i: 'mimi[k]atz'\n",
            "f:\n  destination.port|gte: 5985\n",
            "condition: 1 of them"
        ));
        let m = |pairs: &[(&str, &str)]| d.matches(&ev(pairs));
        assert!(m(&[(
            "process.command_line",
            "powershell -ENC abc -w HIDDEN"
        )]));
        assert!(!m(&[("process.command_line", "powershell -enc abc")]));
        assert!(m(&[("process.executable", "C:\\Windows\\PSEXESVC.EXE")]));
        assert!(m(&[("source.ip", "10.1.2.3")]));
        assert!(!m(&[("source.ip", "11.1.2.3")]));
        assert!(m(&[("file.path", "\\\\fs01\\ADMIN$\\tool.exe")]));
        assert!(!m(&[("file.path", "\\\\fs01\\C$\\tool.exe")]));
        assert!(m(&[("process.command_line", "run MimiKatz now")]));
        assert!(m(&[("destination.port", "5986")]));
        assert!(!m(&[("destination.port", "445")]));
    }

    #[test]
    fn conditions_with_not_parentheses_and_quantifiers() {
        let d = det(concat!(
            "sel_a:\n  x: a\n",
            "sel_b:\n  y: b\n",
            "filter:\n  z: z\n",
            "condition: (all of sel_*) and not filter"
        ));
        assert!(d.matches(&ev(&[("x", "a"), ("y", "b")])));
        assert!(!d.matches(&ev(&[("x", "a"), ("y", "b"), ("z", "z")])));
        assert!(!d.matches(&ev(&[("x", "a")])));
        assert_eq!(d.matched_searches(&ev(&[("x", "a")])), vec!["sel_a"]);
    }

    #[test]
    fn lists_of_maps_keywords_null_and_exists() {
        let d = det("sel:\n  - a: '1'\n  - b: '2'\ncondition: sel");
        assert!(d.matches(&ev(&[("b", "2")])));
        let k = det("kw:\n  - 'psexec'\ncondition: kw");
        let mut e = Event::new(0);
        e.set_raw("started PsExec.exe on host");
        assert!(k.matches(&e));
        let n = det("sel:\n  user.name: null\ncondition: sel");
        assert!(n.matches(&ev(&[])));
        assert!(!n.matches(&ev(&[("user.name", "bob")])));
        let x = det("sel:\n  user.name|exists: true\ncondition: sel");
        assert!(x.matches(&ev(&[("user.name", "bob")])));
    }

    #[test]
    fn windash_base64_and_fieldref() {
        let d = det("sel:\n  process.command_line|windash|contains: ' -s '\ncondition: sel");
        assert!(d.matches(&ev(&[("process.command_line", "psexec.exe /s cmd")])));
        assert!(d.matches(&ev(&[("process.command_line", "psexec.exe \u{2013}s cmd")])));
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        let b =
            det("sel:\n  process.command_line|base64offset|contains: 'http://'\ncondition: sel");
        for prefix in ["", "a", "ab"] {
            let text = base64(format!("{prefix}http://evil").as_bytes());
            assert!(
                b.matches(&ev(&[("process.command_line", &text)])),
                "offset {prefix:?}: {text}"
            );
        }
        let f = det("sel:\n  user.name|fieldref: user.target.name\ncondition: sel");
        assert!(f.matches(&ev(&[("user.name", "bob"), ("user.target.name", "BOB")])));
        assert!(!f.matches(&ev(&[("user.name", "bob"), ("user.target.name", "root")])));
    }

    #[test]
    fn integers_format_without_allocation() {
        let mut b = [0u8; 20];
        assert_eq!(format_i64(0, &mut b), "0");
        assert_eq!(format_i64(-445, &mut b), "-445");
        assert_eq!(format_i64(i64::MIN, &mut b), "-9223372036854775808");
        assert_eq!(format_i64(i64::MAX, &mut b), "9223372036854775807");
    }

    #[test]
    fn required_values_index_rules_by_code() {
        let d =
            det("a:\n  event.code: ['4624', '4625']\nb:\n  event.code: '7045'\ncondition: a or b");
        assert_eq!(
            d.required_values(Field::EventCode),
            Some(vec!["4624".into(), "4625".into(), "7045".into()])
        );
        let d = det("a:\n  event.code: '4624'\nb:\n  x: y\ncondition: a or b");
        assert_eq!(d.required_values(Field::EventCode), None);
    }

    #[test]
    fn errors_name_the_problem() {
        let bad = |y: &str| {
            let v: Y = serde_norway::from_str(y).unwrap();
            Detection::compile(&v, &Placeholders::new())
                .unwrap_err()
                .to_string()
        };
        assert!(bad("sel:\n  a|bogus: 1\ncondition: sel").contains("unknown modifier `bogus`"));
        assert!(bad("sel:\n  a|re: '('\ncondition: sel").contains("does not compile"));
        assert!(bad("sel:\n  a: 1\ncondition: sel and other").contains("unknown search `other`"));
        assert!(bad("sel:\n  a: 1").contains("condition: missing"));
        assert!(bad("sel:\n  a: 1\ncondition: (sel").contains("missing `)`"));
    }
}
