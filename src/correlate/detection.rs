//! Sigma detection syntax, compiled once and evaluated per event.
//!
//! A detection is a set of named searches and a condition over them (Sigma specification,
//! "Detection" section):
//! - a search is a map (every field must match: AND) or a list of maps (any map: OR), or a
//!   list of keywords matched against the event's text;
//! - a field key is `name|modifier|modifier...`; a list of values matches when any value
//!   matches (all of them with `|all`);
//! - plain string values match case-insensitively as a whole, with `*` and `?` wildcards
//!   (`\*`, `\?`, `\\` escape them);
//! - the condition combines searches with `and`, `or`, `not`, parentheses, `1 of x*`,
//!   `all of x*`, `1 of them`, `all of them` (identifiers starting with `_` are left out of
//!   `them`).
//!
//! Modifiers: `contains`, `startswith`, `endswith`, `all`, `re` (with `i`, `m`, `s` flags),
//! `cidr`, `exists`, `windash`, `base64`, `base64offset`, `wide`/`utf16le`, `utf16be`,
//! `utf16`, `gt`/`gte`/`lt`/`lte`, `fieldref`, `cased`, `expand`.
//!
//! Fields are resolved at compile time: a name in [`Field`]'s list reads the normalized field,
//! any other name reads the event's original field of that name (so vendor names such as
//! `TargetUserName` or `id.orig_h` work directly).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_norway::Value as Y;

use crate::event::{Cidr, Event, Field, Value};

/// Where a rule reads a field from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// A normalized field.
    Normalized(Field),
    /// An original source field, by its source name.
    Original(String),
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
        }
    }

    /// Whether the event has a non-empty value for the field.
    pub fn exists(&self, ev: &Event) -> bool {
        self.any_value(ev, |s| !s.is_empty())
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
    /// Wildcards or `re`.
    Regex(regex::Regex),
    /// Address in range.
    Cidr(Cidr),
    /// Numeric comparison.
    Num(NumOp, f64),
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

impl Matcher {
    fn matches(&self, value: &str, ev: &Event) -> bool {
        match self {
            Matcher::Str {
                kind,
                needle,
                cased,
            } => str_match(*kind, value, needle, *cased),
            Matcher::Regex(re) => re.is_match(value),
            Matcher::Cidr(c) => crate::event::parse_ip(value).is_some_and(|ip| c.contains(ip)),
            Matcher::Num(op, n) => value.trim().parse::<f64>().is_ok_and(|v| match op {
                NumOp::Gt => v > *n,
                NumOp::Gte => v >= *n,
                NumOp::Lt => v < *n,
                NumOp::Lte => v <= *n,
            }),
            Matcher::Null => value.is_empty(),
            Matcher::FieldRef(other) => other.any_value(ev, |o| o.eq_ignore_ascii_case(value)),
        }
    }
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
    key: String,
    field: FieldRef,
    matchers: Vec<Matcher>,
    all: bool,
    /// `exists: true/false`.
    exists: Option<bool>,
}

impl FieldTest {
    fn matches(&self, ev: &Event) -> bool {
        if let Some(want) = self.exists {
            return self.field.exists(ev) == want;
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
        if self.all {
            self.matchers.iter().all(test)
        } else {
            self.matchers.iter().any(test)
        }
    }
}

/// One named search.
#[derive(Debug, Clone)]
enum Search {
    /// Any of these maps; each map is an AND of field tests.
    Maps(Vec<Vec<FieldTest>>),
    /// Keywords: any matches any text of the event.
    Keywords(Vec<Matcher>),
}

impl Search {
    fn matches(&self, ev: &Event) -> bool {
        match self {
            Search::Maps(maps) => maps.iter().any(|tests| tests.iter().all(|t| t.matches(ev))),
            Search::Keywords(ms) => ms
                .iter()
                .any(|m| event_texts(ev).iter().any(|t| m.matches(t, ev))),
        }
    }

    /// Field names this search reads (for validation and docs).
    fn fields(&self) -> Vec<&str> {
        match self {
            Search::Maps(maps) => maps.iter().flatten().map(|t| t.key.as_str()).collect(),
            Search::Keywords(_) => Vec::new(),
        }
    }
}

/// The texts keyword searches look at: the raw record, the message and the command line.
fn event_texts(ev: &Event) -> Vec<&str> {
    let mut v = Vec::with_capacity(3);
    if let Some(r) = &ev.raw {
        v.push(r.as_str());
    }
    for f in [Field::Message, Field::ProcessCommandLine] {
        if let Some(s) = ev.str(f) {
            v.push(s);
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

impl Detection {
    /// Compile a `detection:` mapping.
    pub fn compile(
        detection: &Y,
        placeholders: &Placeholders,
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
            searches.push(compile_search(name, v, placeholders)?);
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
        self.eval(&self.condition, ev)
    }

    fn eval(&self, c: &Cond, ev: &Event) -> bool {
        match c {
            Cond::Search(i) => self.searches.get(*i).is_some_and(|s| s.matches(ev)),
            Cond::Not(inner) => !self.eval(inner, ev),
            Cond::And(cs) => cs.iter().all(|c| self.eval(c, ev)),
            Cond::Or(cs) => cs.iter().any(|c| self.eval(c, ev)),
            Cond::OneOf(ix) => ix
                .iter()
                .any(|i| self.searches.get(*i).is_some_and(|s| s.matches(ev))),
            Cond::AllOf(ix) => ix
                .iter()
                .all(|i| self.searches.get(*i).is_some_and(|s| s.matches(ev))),
        }
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

    /// The condition as written.
    pub fn condition_text(&self) -> &str {
        &self.condition_text
    }

    /// Every field name the detection reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.searches.iter().flat_map(Search::fields).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Literal values a normalized field must equal for the detection to match, when the
    /// condition requires it (used to index rules by `event.code` etc.). `None` = no such
    /// requirement can be derived.
    pub fn required_values(&self, field: Field) -> Option<Vec<String>> {
        self.required(&self.condition, field)
    }

    fn required(&self, c: &Cond, field: Field) -> Option<Vec<String>> {
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

    fn search_required(&self, i: usize, field: Field) -> Option<Vec<String>> {
        let Search::Maps(maps) = self.searches.get(i)? else {
            return None;
        };
        let mut all = Vec::new();
        for tests in maps {
            let t = tests
                .iter()
                .find(|t| t.field == FieldRef::Normalized(field) && !t.all && t.exists.is_none())?;
            for m in &t.matchers {
                match m {
                    Matcher::Str {
                        kind: StrKind::Eq,
                        needle,
                        ..
                    } => all.push(needle.clone()),
                    _ => return None,
                }
            }
        }
        Some(all)
    }
}

fn compile_search(name: &str, v: &Y, ph: &Placeholders) -> Result<Search, DetectionError> {
    match v {
        Y::Mapping(m) => Ok(Search::Maps(vec![compile_map(name, m, ph)?])),
        Y::Sequence(items) if items.iter().all(|i| matches!(i, Y::Mapping(_))) => {
            let mut maps = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Y::Mapping(m) = item {
                    maps.push(compile_map(&format!("{name}[{i}]"), m, ph)?);
                }
            }
            Ok(Search::Maps(maps))
        }
        Y::Sequence(items) => {
            let mut ms = Vec::new();
            for item in items {
                let s =
                    scalar_text(item).ok_or_else(|| derr(name, "keyword lists hold strings"))?;
                ms.push(glob_matcher(&s, StrKind::Contains, false).map_err(|e| derr(name, e))?);
            }
            Ok(Search::Keywords(ms))
        }
        Y::String(s) => Ok(Search::Keywords(vec![
            glob_matcher(s, StrKind::Contains, false).map_err(|e| derr(name, e))?,
        ])),
        _ => Err(derr(
            name,
            "a search is a mapping, a list of mappings or a list of keywords",
        )),
    }
}

fn compile_map(
    path: &str,
    m: &serde_norway::Mapping,
    ph: &Placeholders,
) -> Result<Vec<FieldTest>, DetectionError> {
    let mut tests = Vec::new();
    for (k, v) in m {
        let key = k
            .as_str()
            .ok_or_else(|| derr(path, "field names must be strings"))?;
        tests.push(compile_field(&format!("{path}.{key}"), key, v, ph)?);
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
    num: Option<NumOp>,
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
            "gt" => m.num = Some(NumOp::Gt),
            "gte" => m.num = Some(NumOp::Gte),
            "lt" => m.num = Some(NumOp::Lt),
            "lte" => m.num = Some(NumOp::Lte),
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
    ph: &Placeholders,
) -> Result<FieldTest, DetectionError> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(derr(path, "empty field name"));
    }
    let mod_names: Vec<&str> = parts.collect();
    let mods = parse_mods(path, &mod_names)?;
    let field = FieldRef::resolve(&name);
    if mods.exists {
        let want = match v {
            Y::Bool(b) => *b,
            Y::String(s) if s.eq_ignore_ascii_case("true") => true,
            Y::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(derr(path, "`exists` takes true or false")),
        };
        return Ok(FieldTest {
            key: name,
            field,
            matchers: Vec::new(),
            all: false,
            exists: Some(want),
        });
    }
    let values: Vec<&Y> = match v {
        Y::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut matchers = Vec::new();
    for value in values {
        if matches!(value, Y::Null) {
            matchers.push(Matcher::Null);
            continue;
        }
        let text = scalar_text(value)
            .ok_or_else(|| derr(path, "values must be strings, numbers, booleans or null"))?;
        let texts = if mods.expand {
            expand(path, &text, ph)?
        } else {
            vec![text]
        };
        for text in texts {
            matchers.extend(value_matchers(path, &text, &mods)?);
        }
    }
    Ok(FieldTest {
        key: name,
        field,
        matchers,
        all: mods.all,
        exists: None,
    })
}

fn expand(path: &str, text: &str, ph: &Placeholders) -> Result<Vec<String>, DetectionError> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let values = ph.get(name).ok_or_else(|| {
            derr(
                path,
                format!("placeholder %{name}% has no values configured"),
            )
        })?;
        let prefix = &rest[..start];
        out = out
            .iter()
            .flat_map(|o| values.iter().map(move |v| format!("{o}{prefix}{v}")))
            .collect();
        rest = &rest[start + len + 2..];
    }
    Ok(out.into_iter().map(|o| format!("{o}{rest}")).collect())
}

fn value_matchers(path: &str, text: &str, mods: &Mods) -> Result<Vec<Matcher>, DetectionError> {
    if mods.fieldref {
        return Ok(vec![Matcher::FieldRef(FieldRef::resolve(text))]);
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
        return Ok(vec![Matcher::Regex(re)]);
    }
    // Value transformations produce one or more literal variants; wildcards apply only to
    // untransformed values (encoded bytes have no wildcard meaning).
    let mut variants: Vec<(String, bool)> = vec![(text.to_string(), true)];
    for t in &mods.transforms {
        variants = variants
            .into_iter()
            .flat_map(|(v, literal_ok)| match t {
                Transform::Windash => windash(&v)
                    .into_iter()
                    .map(|w| (w, literal_ok))
                    .collect::<Vec<_>>(),
                Transform::Base64 => vec![(base64(v.as_bytes()), false)],
                Transform::Base64Offset => base64_offsets(v.as_bytes())
                    .into_iter()
                    .map(|b| (b, false))
                    .collect(),
                Transform::Utf16Le => vec![(utf16_marker(&v, Utf16::Le), false)],
                Transform::Utf16Be => vec![(utf16_marker(&v, Utf16::Be), false)],
                Transform::Utf16Bom => vec![(utf16_marker(&v, Utf16::Bom), false)],
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
    for (v, wildcards) in variants {
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
    for t in &toks {
        match t {
            Tok::Lit(l) => pattern.push_str(&regex::escape(l)),
            Tok::Star => pattern.push_str("(?s:.*)"),
            Tok::Q => pattern.push_str("(?s:.)"),
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern)
        .map(Matcher::Regex)
        .map_err(|e| e.to_string())
}

/// Sigma `windash`: every `-` or `/` that starts a command-line option also in its other
/// spellings (`-`, `/`, en dash, em dash, horizontal bar), all combinations bounded.
fn windash(v: &str) -> Vec<String> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let positions: Vec<usize> = v
        .char_indices()
        .filter(|(i, c)| (*c == '-' || *c == '/') && (*i == 0 || v[..*i].ends_with(' ')))
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return vec![v.to_string()];
    }
    // Same replacement at every position (the spec's behaviour); keeps the count at 5.
    DASHES
        .iter()
        .map(|d| {
            let mut s = String::with_capacity(v.len() + 4);
            for (i, c) in v.char_indices() {
                if positions.contains(&i) {
                    s.push(*d)
                } else {
                    s.push(c)
                }
            }
            s
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
