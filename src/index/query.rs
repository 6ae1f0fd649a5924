//! Queries: tantivy's query syntax over our dotted ECS field names.
//!
//! tantivy's grammar parses the text (`AND`/`OR`/`NOT`, `+`/`-`, parentheses, `"phrases"`,
//! `"phrase"~2`, `[a TO b]`, `>=`, `IN [a b]`, `field:*`, `/regex/`); we compile the syntax tree
//! ourselves instead of using tantivy's `QueryParser`, because:
//!
//! - field names are resolved through [`Field`]'s `FromStr`, so an unknown name gets "did you
//!   mean" and dotted names are never mistaken for JSON paths;
//! - values are read by their field's kind: `source.ip:10.0.0.0/8` (and `10.0.*`) is a CIDR
//!   range, `event.code:4624` an exact keyword, `winlog.logon.type:0x3` an integer;
//! - unquoted `*` and `?` are wildcards (tantivy's parser has none);
//! - terms without a field search every text and keyword field (and the IP and integer fields
//!   when the term is an address or a number);
//! - terms side by side mean AND (hunting narrows down); `OR` must be written.
//!
//! Keyword and text fields are indexed lowercased, so matching ignores case; `/regex/` runs
//! against those lowercased terms.

use std::ops::Bound;
use std::str::FromStr;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, InvertedIndexRangeQuery, Occur,
    PhrasePrefixQuery, PhraseQuery, Query as TantivyQuery, RangeQuery, RegexPhraseQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::query_grammar::{Delimiter, UserInputAst, UserInputBound, UserInputLeaf};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};

use super::IndexError;
use super::schema::{self, Schema};
use crate::event::{Cidr, Field, FieldKind, Nanos, parse_int, parse_ip, parse_timestamp};

/// A compiled query.
pub struct Query {
    inner: Box<dyn TantivyQuery>,
    text: String,
}

impl Clone for Query {
    fn clone(&self) -> Self {
        Query {
            inner: self.inner.box_clone(),
            text: self.text.clone(),
        }
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query").field("text", &self.text).finish()
    }
}

impl Query {
    /// Parse and compile `text` for `schema`. An empty text matches everything.
    pub fn parse(text: &str, schema: &Schema) -> Result<Query, IndexError> {
        let ast = parse_ast(text)?;
        let mut compiler = Compiler {
            schema,
            text,
            keyword: schema::keyword_analyzer(),
            words: schema::text_analyzer(),
        };
        Ok(Query {
            inner: compiler.ast(&ast)?,
            text: text.to_string(),
        })
    }

    /// Events with any of these ids: drill-down from a session's evidence, which names its
    /// events by `event.id`.
    pub fn ids<S: AsRef<str>>(schema: &Schema, ids: &[S]) -> Query {
        let field = schema.field(Field::EventId);
        Query {
            inner: Box::new(TermSetQuery::new(
                ids.iter()
                    .map(|id| Term::from_field_text(field, id.as_ref())),
            )),
            text: format!("event.id: IN [{} ids]", ids.len()),
        }
    }

    /// A query matching every event.
    pub fn all() -> Query {
        Query {
            inner: Box::new(AllQuery),
            text: String::new(),
        }
    }

    /// The text the query was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn tantivy(&self) -> &dyn TantivyQuery {
        self.inner.as_ref()
    }
}

fn parse_ast(text: &str) -> Result<UserInputAst, IndexError> {
    if text.trim().is_empty() {
        return Ok(UserInputAst::Clause(Vec::new()));
    }
    if let Ok(ast) = tantivy::query_grammar::parse_query(text) {
        return Ok(ast);
    }
    // The strict parser only says "no"; the lenient one says where and why. It is only run
    // on queries already known to be wrong, and guarded because it asserts internally.
    let lenient = std::panic::catch_unwind(|| tantivy::query_grammar::parse_query_lenient(text));
    let (pos, message) = match lenient {
        Ok((_, errors)) => errors
            .into_iter()
            .next()
            .map(|e| (e.pos, e.message))
            .unwrap_or((0, "invalid query".to_string())),
        Err(_) => (0, "invalid query".to_string()),
    };
    Err(IndexError::Syntax {
        pos: pos.min(text.len()),
        message,
    })
}

/// Day of a `YYYY-MM-DD` date: [start, next start).
fn parse_day(s: &str) -> Option<(Nanos, Nanos)> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let start = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()?;
    Some((start, start.checked_add(86_400_000_000_000)?))
}

/// `10.0.*` / `10.*` / `10.1.2.*` as a CIDR.
fn ipv4_wildcard(s: &str) -> Option<Cidr> {
    let head = s.strip_suffix(".*")?;
    let octets: Vec<&str> = head.split('.').collect();
    if octets.is_empty() || octets.len() > 3 || octets.iter().any(|o| o.parse::<u8>().is_err()) {
        return None;
    }
    let mut addr = octets.join(".");
    for _ in octets.len()..4 {
        addr.push_str(".0");
    }
    format!("{addr}/{}", octets.len() * 8).parse().ok()
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// A shell-style wildcard as an anchored regex (`*` any run, `?` one character).
fn wildcard_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut literal = String::new();
    for c in s.chars() {
        if c == '*' || c == '?' {
            out.push_str(&regex::escape(&literal));
            literal.clear();
            out.push_str(if c == '*' { ".*" } else { "." });
        } else {
            literal.push(c);
        }
    }
    out.push_str(&regex::escape(&literal));
    out
}

/// A literal value as written in the query.
struct Lit<'a> {
    value: &'a str,
    quoted: bool,
    slop: u32,
    prefix: bool,
}

impl Lit<'_> {
    fn wildcard(&self) -> bool {
        !self.quoted && has_wildcard(self.value)
    }
}

struct Compiler<'a> {
    schema: &'a Schema,
    text: &'a str,
    keyword: TextAnalyzer,
    words: TextAnalyzer,
}

type Q = Box<dyn TantivyQuery>;

/// Events whose `@timestamp` (tantivy field `ts`) is within the bounds: the per-second terms
/// find the candidates (a window is a few posting lists), the nanosecond column keeps only those
/// exactly inside.
pub(crate) fn time_query(ts: tantivy::schema::Field, lo: Bound<Nanos>, hi: Bound<Nanos>) -> Q {
    let exact = |t: Nanos| Term::from_field_date(ts, DateTime::from_timestamp_nanos(t));
    let second = |t: Nanos| Term::from_field_date_for_search(ts, DateTime::from_timestamp_nanos(t));
    // Whole seconds: a superset of the window whichever way each bound is open.
    let coarse = |b: Bound<Nanos>| match b {
        Bound::Included(t) | Bound::Excluded(t) => Bound::Included(second(t)),
        Bound::Unbounded => Bound::Unbounded,
    };
    if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(InvertedIndexRangeQuery::new(coarse(lo), coarse(hi))),
        ),
        (
            Occur::Must,
            Box::new(RangeQuery::new(lo.map(exact), hi.map(exact))),
        ),
    ]))
}

/// A range over a field: from the term dictionary when the field has one, else the column.
///
/// Terms are the better road even where a column exists: a range usually covers few distinct
/// values (a /24, a port range, a day) whose posting lists are read directly, while the column
/// is scanned for every document (a CIDR over 10M events took ~45 ms from the column). Keyword
/// columns also hold the original case while terms are lowercased, so only terms compare
/// right there. Time (`@timestamp`) has only its column.
fn range_query(field: Field, lo: Bound<Term>, hi: Bound<Term>) -> Q {
    if schema::is_indexed(field) {
        Box::new(InvertedIndexRangeQuery::new(lo, hi))
    } else {
        Box::new(RangeQuery::new(lo, hi))
    }
}

fn any_of(mut qs: Vec<Q>) -> Q {
    match qs.len() {
        0 => Box::new(EmptyQuery),
        1 => qs.remove(0),
        _ => Box::new(BooleanQuery::new(
            qs.into_iter().map(|q| (Occur::Should, q)).collect(),
        )),
    }
}

fn all_of(mut qs: Vec<Q>) -> Q {
    match qs.len() {
        0 => Box::new(AllQuery),
        1 => qs.remove(0),
        _ => Box::new(BooleanQuery::new(
            qs.into_iter().map(|q| (Occur::Must, q)).collect(),
        )),
    }
}

impl Compiler<'_> {
    fn ast(&mut self, ast: &UserInputAst) -> Result<Q, IndexError> {
        match ast {
            UserInputAst::Leaf(leaf) => self.leaf(leaf),
            // Scores are not used (results are ordered by time), so boosts change nothing.
            UserInputAst::Boost(inner, _) => self.ast(inner),
            UserInputAst::Clause(clauses) => {
                let (mut must, mut should, mut not) = (Vec::new(), Vec::new(), Vec::new());
                for (occur, sub) in clauses {
                    let q = self.ast(sub)?;
                    match occur {
                        None | Some(Occur::Must) => must.push(q),
                        Some(Occur::Should) => should.push(q),
                        Some(Occur::MustNot) => not.push(q),
                    }
                }
                // `a b OR c` reads as a AND (b OR c): the OR group is one required clause, not
                // optional extras that tantivy would ignore next to a required one.
                if !should.is_empty() {
                    must.push(any_of(should));
                }
                if not.is_empty() {
                    return Ok(all_of(must));
                }
                if must.is_empty() {
                    // Only negations: everything except them.
                    must.push(Box::new(AllQuery));
                }
                let mut subs: Vec<(Occur, Q)> =
                    must.into_iter().map(|q| (Occur::Must, q)).collect();
                subs.extend(not.into_iter().map(|q| (Occur::MustNot, q)));
                Ok(Box::new(BooleanQuery::new(subs)))
            }
        }
    }

    fn leaf(&mut self, leaf: &UserInputLeaf) -> Result<Q, IndexError> {
        match leaf {
            UserInputLeaf::All => Ok(Box::new(AllQuery)),
            UserInputLeaf::Literal(l) => {
                let lit = Lit {
                    value: &l.phrase,
                    quoted: l.delimiter != Delimiter::None,
                    slop: l.slop,
                    prefix: l.prefix,
                };
                match &l.field_name {
                    Some(name) => {
                        let field = self.resolve(name)?;
                        self.literal(field, &lit)
                    }
                    None => self.free_text(&lit),
                }
            }
            UserInputLeaf::Range {
                field,
                lower,
                upper,
            } => {
                let field = self.required_field(
                    field.as_deref(),
                    "a range",
                    "destination.port:[1 TO 1024]",
                )?;
                self.range(field, lower, upper)
            }
            UserInputLeaf::Set { field, elements } => {
                let field =
                    self.required_field(field.as_deref(), "a set", "event.code: IN [4624 4625]")?;
                self.set(field, elements)
            }
            UserInputLeaf::Exists { field } => {
                let field = self.resolve(field)?;
                Ok(self.exists(field))
            }
            UserInputLeaf::Regex { field, pattern } => {
                let field =
                    self.required_field(field.as_deref(), "a regex", "user.name:/adm.*/")?;
                self.regex(field, pattern)
            }
        }
    }

    fn required_field(
        &self,
        name: Option<&str>,
        what: &str,
        example: &str,
    ) -> Result<Field, IndexError> {
        match name {
            Some(n) => self.resolve(n),
            None => Err(IndexError::Unsupported(format!(
                "{what} needs a field, e.g. `{example}`"
            ))),
        }
    }

    fn resolve(&self, name: &str) -> Result<Field, IndexError> {
        Field::from_str(name).map_err(|source| IndexError::UnknownField {
            pos: self.field_pos(name),
            source,
        })
    }

    /// Where `name:` appears in the query text.
    fn field_pos(&self, name: &str) -> Option<usize> {
        self.text
            .match_indices(name)
            .map(|(i, _)| i)
            .find(|&i| self.text[i + name.len()..].trim_start().starts_with(':'))
    }

    fn invalid(&self, field: Field, value: &str, expected: &str) -> IndexError {
        IndexError::InvalidValue {
            pos: self.text.find(value),
            field: field.name().to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    fn tfield(&self, field: Field) -> tantivy::schema::Field {
        self.schema.field(field)
    }

    /// The one token the keyword analyzer makes of `value` (lowercased), if any.
    fn keyword_token(&mut self, value: &str) -> Option<String> {
        let mut stream = self.keyword.token_stream(value);
        let mut out = None;
        stream.process(&mut |t| out = Some(t.text.clone()));
        out
    }

    fn words_of(&mut self, value: &str) -> Vec<(usize, String)> {
        let mut stream = self.words.token_stream(value);
        let mut out = Vec::new();
        stream.process(&mut |t| out.push((t.position, t.text.clone())));
        out
    }

    fn regex_query(&self, field: Field, pattern: &str) -> Result<Q, IndexError> {
        RegexQuery::from_pattern(pattern, self.tfield(field))
            .map(|q| Box::new(q) as Q)
            .map_err(|_| self.invalid(field, pattern, "a valid regular expression"))
    }

    fn literal(&mut self, field: Field, lit: &Lit<'_>) -> Result<Q, IndexError> {
        let f = self.tfield(field);
        match field.kind() {
            FieldKind::Keyword => {
                // The identity is matched as written; other keywords are lowercased.
                let value = if field == Field::EventId {
                    Some(lit.value.to_string())
                } else {
                    self.keyword_token(lit.value)
                };
                let Some(value) = value else {
                    return Ok(Box::new(EmptyQuery));
                };
                if lit.wildcard() {
                    self.regex_query(field, &wildcard_regex(&value))
                } else if lit.prefix {
                    self.regex_query(field, &format!("{}.*", regex::escape(&value)))
                } else {
                    Ok(Box::new(TermQuery::new(
                        Term::from_field_text(f, &value),
                        IndexRecordOption::Basic,
                    )))
                }
            }
            FieldKind::Text => self.text_literal(field, lit),
            FieldKind::Ip => {
                let value = lit.value.trim();
                let cidr = if value.contains('/') {
                    Some(value.parse::<Cidr>().map_err(|_| {
                        self.invalid(field, value, "an IP address or CIDR (10.0.0.0/8)")
                    })?)
                } else if lit.wildcard() {
                    Some(ipv4_wildcard(value).ok_or_else(|| {
                        self.invalid(field, value, "an IP address, CIDR (10.0.0.0/8) or 10.0.*")
                    })?)
                } else {
                    None
                };
                match cidr {
                    Some(c) => {
                        let (lo, hi) = c.bounds();
                        Ok(range_query(
                            field,
                            Bound::Included(Term::from_field_ip_addr(f, schema::ipv6(lo))),
                            Bound::Included(Term::from_field_ip_addr(f, schema::ipv6(hi))),
                        ))
                    }
                    None => {
                        let ip = parse_ip(value).ok_or_else(|| {
                            self.invalid(field, value, "an IP address or CIDR (10.0.0.0/8)")
                        })?;
                        Ok(Box::new(TermQuery::new(
                            Term::from_field_ip_addr(f, schema::ipv6(ip)),
                            IndexRecordOption::Basic,
                        )))
                    }
                }
            }
            FieldKind::Integer => {
                let v = parse_int(lit.value)
                    .ok_or_else(|| self.invalid(field, lit.value, "an integer"))?;
                let term = Term::from_field_i64(f, v);
                if schema::is_indexed(field) {
                    Ok(Box::new(TermQuery::new(term, IndexRecordOption::Basic)))
                } else {
                    Ok(Box::new(RangeQuery::new(
                        Bound::Included(term.clone()),
                        Bound::Included(term),
                    )))
                }
            }
            FieldKind::Timestamp => {
                let (lo, hi) = match parse_day(lit.value) {
                    Some((start, next)) => (Bound::Included(start), Bound::Excluded(next)),
                    None => {
                        let t = parse_timestamp(lit.value).ok_or_else(|| {
                            self.invalid(
                                field,
                                lit.value,
                                "a time (2024-05-01T10:00:00Z) or a day (2024-05-01)",
                            )
                        })?;
                        (Bound::Included(t), Bound::Included(t))
                    }
                };
                Ok(time_query(f, lo, hi))
            }
            FieldKind::Bool => {
                let b = match lit.value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(self.invalid(field, lit.value, "true or false")),
                };
                Ok(Box::new(TermQuery::new(
                    Term::from_field_bool(f, b),
                    IndexRecordOption::Basic,
                )))
            }
        }
    }

    fn text_literal(&mut self, field: Field, lit: &Lit<'_>) -> Result<Q, IndexError> {
        let f = self.tfield(field);
        if lit.wildcard() {
            // Words as the text tokenizer cuts them, with `*`/`?` kept inside words.
            let words: Vec<String> = lit
                .value
                .split(|c: char| !(c.is_alphanumeric() || c == '*' || c == '?'))
                .filter(|w| !w.is_empty() && w.chars().any(|c| c != '*'))
                .map(|w| wildcard_regex(&w.to_lowercase()))
                .collect();
            return match words.len() {
                0 => Ok(self.exists(field)),
                1 => self.regex_query(field, &words[0]),
                _ => Ok(Box::new(RegexPhraseQuery::new(f, words))),
            };
        }
        let words = self.words_of(lit.value);
        let terms: Vec<(usize, Term)> = words
            .iter()
            .map(|(pos, w)| (*pos, Term::from_field_text(f, w)))
            .collect();
        match (terms.len(), lit.prefix) {
            (0, _) => Ok(Box::new(EmptyQuery)),
            (1, true) => self.regex_query(field, &format!("{}.*", regex::escape(&words[0].1))),
            (_, true) => Ok(Box::new(PhrasePrefixQuery::new_with_offset(terms))),
            (1, false) => Ok(Box::new(TermQuery::new(
                terms[0].1.clone(),
                IndexRecordOption::Basic,
            ))),
            (_, false) => Ok(Box::new(PhraseQuery::new_with_offset_and_slop(
                terms, lit.slop,
            ))),
        }
    }

    /// A term without a field: any text or keyword field, and IP or integer fields when the
    /// term is an address, a CIDR or a number.
    fn free_text(&mut self, lit: &Lit<'_>) -> Result<Q, IndexError> {
        let value = lit.value.trim();
        let is_ip = parse_ip(value).is_some()
            || (value.contains('/') && value.parse::<Cidr>().is_ok())
            || (lit.wildcard() && ipv4_wildcard(value).is_some());
        let is_int = !lit.wildcard() && parse_int(value).is_some();
        let mut any = Vec::new();
        for &field in Field::ALL {
            let applies = match field.kind() {
                FieldKind::Keyword | FieldKind::Text => true,
                FieldKind::Ip => is_ip,
                FieldKind::Integer => is_int,
                FieldKind::Timestamp | FieldKind::Bool => false,
            };
            if applies {
                any.push(self.literal(field, lit)?);
            }
        }
        Ok(any_of(any))
    }

    fn bound_term(&mut self, field: Field, value: &str, upper: bool) -> Result<Term, IndexError> {
        let f = self.tfield(field);
        match field.kind() {
            FieldKind::Integer => parse_int(value)
                .map(|v| Term::from_field_i64(f, v))
                .ok_or_else(|| self.invalid(field, value, "an integer")),
            FieldKind::Ip => parse_ip(value)
                .map(|ip| Term::from_field_ip_addr(f, schema::ipv6(ip)))
                .ok_or_else(|| self.invalid(field, value, "an IP address")),
            FieldKind::Timestamp => {
                // A bare day is its start as a lower bound and its end as an upper one.
                let t = match parse_day(value) {
                    Some((start, next)) => Some(if upper { next - 1 } else { start }),
                    None => parse_timestamp(value),
                };
                t.map(|t| Term::from_field_date(f, DateTime::from_timestamp_nanos(t)))
                    .ok_or_else(|| {
                        self.invalid(field, value, "a time (2024-05-01T10:00:00Z) or a day")
                    })
            }
            FieldKind::Keyword | FieldKind::Text => {
                let v = if field == Field::EventId {
                    value.to_string()
                } else {
                    value.to_lowercase()
                };
                Ok(Term::from_field_text(f, &v))
            }
            FieldKind::Bool => Err(IndexError::Unsupported(format!(
                "`{}` is true or false; ranges do not apply",
                field.name()
            ))),
        }
    }

    fn range(
        &mut self,
        field: Field,
        lower: &UserInputBound,
        upper: &UserInputBound,
    ) -> Result<Q, IndexError> {
        let mut bound = |b: &UserInputBound, is_upper: bool| -> Result<Bound<Term>, IndexError> {
            Ok(match b {
                UserInputBound::Unbounded => Bound::Unbounded,
                UserInputBound::Inclusive(v) if v == "*" => Bound::Unbounded,
                UserInputBound::Exclusive(v) if v == "*" => Bound::Unbounded,
                UserInputBound::Inclusive(v) => {
                    Bound::Included(self.bound_term(field, v, is_upper)?)
                }
                UserInputBound::Exclusive(v) => {
                    Bound::Excluded(self.bound_term(field, v, is_upper)?)
                }
            })
        };
        let lo = bound(lower, false)?;
        let hi = bound(upper, true)?;
        if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
            return Ok(self.exists(field));
        }
        if field == Field::Timestamp {
            let ns = |b: Bound<Term>| -> Bound<Nanos> {
                b.map(|t| t.value().as_date().map_or(0, |d| d.into_timestamp_nanos()))
            };
            return Ok(time_query(self.tfield(field), ns(lo), ns(hi)));
        }
        Ok(range_query(field, lo, hi))
    }

    fn set(&mut self, field: Field, elements: &[String]) -> Result<Q, IndexError> {
        if field.kind() == FieldKind::Keyword {
            let f = self.tfield(field);
            let mut terms = Vec::with_capacity(elements.len());
            for e in elements {
                let v = if field == Field::EventId {
                    Some(e.clone())
                } else {
                    self.keyword_token(e)
                };
                if let Some(v) = v {
                    terms.push(Term::from_field_text(f, &v));
                }
            }
            return Ok(Box::new(TermSetQuery::new(terms)));
        }
        let mut any = Vec::with_capacity(elements.len());
        for e in elements {
            any.push(self.literal(
                field,
                &Lit {
                    value: e,
                    quoted: true,
                    slop: 0,
                    prefix: false,
                },
            )?);
        }
        Ok(any_of(any))
    }

    fn exists(&self, field: Field) -> Q {
        if field == Field::EventId {
            // Every event has an id.
            Box::new(AllQuery)
        } else if schema::is_fast(field) {
            Box::new(ExistsQuery::new(field.name().to_string(), false))
        } else {
            Box::new(TermQuery::new(
                Term::from_field_text(self.schema.present(), field.name()),
                IndexRecordOption::Basic,
            ))
        }
    }

    fn regex(&self, field: Field, pattern: &str) -> Result<Q, IndexError> {
        match field.kind() {
            FieldKind::Keyword | FieldKind::Text => self.regex_query(field, pattern),
            _ => Err(IndexError::Unsupported(format!(
                "regular expressions apply to keyword and text fields, not `{}` ({:?})",
                field.name(),
                field.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Query, IndexError> {
        Query::parse(q, &Schema::new())
    }

    #[test]
    fn syntax_errors_point_at_the_position() {
        let err = parse("user.name:pgustavo AND (event.code:4624").unwrap_err();
        assert!(matches!(err, IndexError::Syntax { .. }), "{err:?}");
        let err = parse("user.name:").unwrap_err();
        assert_eq!(err.query_position(), Some(10), "{err}");
    }

    #[test]
    fn unknown_fields_get_a_suggestion_and_a_position() {
        let err = parse("event.code:4624 AND user.nme:bob").unwrap_err();
        assert!(
            err.to_string().contains("did you mean `user.name`"),
            "{err}"
        );
        assert_eq!(err.query_position(), Some(20));
    }

    #[test]
    fn values_must_fit_their_field() {
        let err = parse("source.ip:server01").unwrap_err();
        assert!(err.to_string().contains("IP address"), "{err}");
        assert_eq!(err.query_position(), Some(10));
        assert!(parse("destination.port:abc").is_err());
        assert!(parse("source.ip:10.0.0.0/33").is_err());
        assert!(parse("process.interactive:[true TO false]").is_err());
    }

    #[test]
    fn the_usual_shapes_compile() {
        for q in [
            "",
            "*",
            "source.ip:10.0.1.4",
            "source.ip:10.0.0.0/8",
            "source.ip:10.0.*",
            "source.ip:\"fd00::1\"",
            "user.name:pgustavo AND event.code:4624",
            "process.command_line:\"cmd.exe /c\"",
            "process.command_line:psexe*",
            "process.command_line:*\\\\admin$*",
            "destination.port:[1 TO 1024]",
            "destination.port:>=445",
            "@timestamp:[2024-05-01T00:00:00Z TO 2024-05-02]",
            "@timestamp:2024-05-01",
            "event.code: IN [4624 4625]",
            "process.command_line:*",
            "NOT user.name:system",
            "psexec",
            "10.0.1.4",
            "user.name:/adm.*/",
            "winlog.logon.type:0x3",
            "log.offset:1024",
        ] {
            parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }

    #[test]
    fn wildcards_become_anchored_regexes() {
        assert_eq!(wildcard_regex("ps*ec?"), "ps.*ec.");
        assert_eq!(wildcard_regex("a.b*"), "a\\.b.*");
        assert_eq!(ipv4_wildcard("10.0.*"), "10.0.0.0/16".parse().ok());
        assert_eq!(ipv4_wildcard("10.*"), "10.0.0.0/8".parse().ok());
        assert_eq!(ipv4_wildcard("a.*"), None);
        assert_eq!(ipv4_wildcard("1.2.3.4.*"), None);
    }

    #[test]
    fn odd_input_never_panics() {
        for q in [
            "(((",
            ")",
            "\"",
            "a:",
            ":a",
            "[1 TO",
            "field:[* TO *]",
            "-",
            "NOT",
            "a AND",
            "OR b",
            "/",
            "a:/unclosed",
            "user.name:(a OR b)",
            "^2",
            "a^",
            "IN [",
            "\\",
            "source.ip:[* TO 10.0.0.1]",
            "@timestamp:>2024-01-01",
            "a~2",
            "\"a b\"~",
        ] {
            let _ = parse(q);
        }
    }
}
