//! Loading Sigma files: documents → validated, routed, compiled rules and correlations.

use std::collections::{HashMap, HashSet};

use serde_norway::Value as Y;

use super::correlation::{self, Definition};
use super::index::{Entry, Index};
use super::mapping::{LogSource, Mapping, Source};
use super::{
    Correlation, Feed, Kind, Listed, LoadOptions, Meta, Ruleset, SigmaError, SigmaRule, State,
    Variant,
};
use crate::correlate::detection::{CompileOptions, Detection, FieldRef};
use crate::correlate::rule::parse_tags;
use crate::event::Severity;

/// One YAML document of a file.
#[derive(Debug)]
struct Doc {
    file: String,
    /// First line of the document (1-based).
    line: usize,
    text: String,
    value: Y,
}

impl Doc {
    /// The line of a key path inside the document (`detection.selection.Image|endswith`,
    /// `correlation.timespan`), or the document's first line.
    fn line_of(&self, key: &str) -> usize {
        let lines: Vec<&str> = self.text.lines().collect();
        let is_key = |line: &str, k: &str| {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            [format!("{k}:"), format!("'{k}':"), format!("\"{k}\":")]
                .iter()
                .any(|p| t.starts_with(p.as_str()))
        };
        let segments: Vec<String> = key
            .split('.')
            .map(|s| s.split('[').next().unwrap_or(s).to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let mut pos = 0usize;
        let mut found = None;
        let mut i = 0;
        while i < segments.len() {
            // Field names may hold dots (`id.orig_h`): try the rest of the path as one key.
            let rest = segments[i..].join(".");
            if let Some(off) = lines.iter().skip(pos).position(|l| is_key(l, &rest)) {
                found = Some(pos + off);
                break;
            }
            if let Some(off) = lines.iter().skip(pos).position(|l| is_key(l, &segments[i])) {
                pos += off;
                found = Some(pos);
            }
            i += 1;
        }
        self.line + found.unwrap_or(0)
    }

    fn invalid(&self, key: &str, reason: impl Into<String>) -> SigmaError {
        SigmaError::Invalid {
            file: self.file.clone(),
            line: self.line_of(key),
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

/// Split a multi-document YAML text at `---` lines. Each document is parsed on its own, so a
/// broken one never hides the others. Returns (first line, text).
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") || t.starts_with("---#") {
            out.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    out.push((start, cur));
    out
}

fn parse_docs(file: &str, text: &str, listed: &mut Vec<Listed>) -> Vec<Doc> {
    let mut docs = Vec::new();
    for (line, body) in split_documents(text) {
        let value: Y = match serde_norway::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                let at = line + e.location().map_or(0, |l| l.line().saturating_sub(1));
                listed.push(Listed {
                    kind: Kind::Rule,
                    id: String::new(),
                    title: String::new(),
                    level: None,
                    logsource: String::new(),
                    file: file.to_string(),
                    line: at,
                    state: State::Invalid(SigmaError::Yaml {
                        file: file.to_string(),
                        line: at,
                        reason: e.to_string(),
                    }),
                });
                continue;
            }
        };
        if matches!(value, Y::Null) {
            continue;
        }
        docs.push(Doc {
            file: file.to_string(),
            line,
            text: body,
            value,
        });
    }
    docs
}

fn text_of(v: &Y, k: &str) -> Option<String> {
    match v.get(k)? {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        _ => None,
    }
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

fn parse_meta(doc: &Doc, n: usize) -> Result<Meta, SigmaError> {
    let v = &doc.value;
    if !matches!(v, Y::Mapping(_)) {
        return Err(doc.invalid("", "a Sigma document is a YAML mapping"));
    }
    let title = text_of(v, "title").ok_or_else(|| doc.invalid("title", "`title` is required"))?;
    let name = text_of(v, "name");
    let id = text_of(v, "id")
        .or_else(|| name.clone())
        .unwrap_or_else(|| format!("{}#{n}", doc.file));
    let level = match text_of(v, "level") {
        Some(l) => l.parse::<Severity>().map_err(|e| doc.invalid("level", e))?,
        None => Severity::Medium,
    };
    let (tactics, techniques) = parse_tags(&str_list(v.get("tags")));
    Ok(Meta {
        id,
        name,
        title,
        description: text_of(v, "description").unwrap_or_default(),
        level,
        status: text_of(v, "status").map(|s| s.to_ascii_lowercase()),
        tactics,
        techniques,
        file: doc.file.clone(),
        line: doc.line,
    })
}

/// A rule document after the first pass.
struct RuleDoc {
    doc: usize,
    meta: Meta,
    logsource: LogSource,
    state: State,
    variants: Vec<Variant>,
}

struct CorrDoc {
    doc: usize,
    meta: Meta,
    def: Definition,
    /// Resolved children.
    children: Vec<Node>,
    state: State,
}

struct FilterDoc {
    doc: usize,
    meta: Meta,
    logsource: LogSource,
    targets: Option<Vec<String>>,
    detection: Y,
    applied: usize,
    error: Option<SigmaError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Rule(usize),
    Corr(usize),
}

/// Load Sigma files given as (name, text). Never fails as a whole: every document is listed
/// with what became of it.
pub fn load(files: &[(String, String)], mapping: &Mapping, opts: &LoadOptions) -> Ruleset {
    let mut listed: Vec<Listed> = Vec::new();
    let mut docs: Vec<Doc> = Vec::new();
    for (name, text) in files {
        docs.extend(parse_docs(name, text, &mut listed));
    }

    // First pass: classify and read metadata; ids must be unique.
    let mut rules: Vec<RuleDoc> = Vec::new();
    let mut corrs: Vec<CorrDoc> = Vec::new();
    let mut filters: Vec<FilterDoc> = Vec::new();
    let mut ids: HashMap<String, (String, usize)> = HashMap::new();
    let mut invalid_docs: Vec<(usize, Kind, Option<Meta>, SigmaError)> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let kind = if doc.value.get("correlation").is_some() {
            Kind::Correlation
        } else if doc.value.get("filter").is_some() && doc.value.get("detection").is_none() {
            Kind::Filter
        } else {
            Kind::Rule
        };
        let meta = match parse_meta(doc, i) {
            Ok(m) => m,
            Err(e) => {
                invalid_docs.push((i, kind, None, e));
                continue;
            }
        };
        if let Some((f, l)) = ids.get(&meta.id) {
            let e = doc.invalid(
                "id",
                format!("duplicate id `{}` (first in {f}:{l})", meta.id),
            );
            invalid_docs.push((i, kind, Some(meta), e));
            continue;
        }
        ids.insert(meta.id.clone(), (doc.file.clone(), doc.line));
        match kind {
            Kind::Rule => {
                let logsource = LogSource::from_yaml(doc.value.get("logsource"));
                rules.push(RuleDoc {
                    doc: i,
                    meta,
                    logsource,
                    state: State::Loaded(Vec::new()),
                    variants: Vec::new(),
                });
            }
            Kind::Correlation => {
                let def = doc
                    .value
                    .get("correlation")
                    .ok_or_else(|| doc.invalid("correlation", "missing"))
                    .and_then(|c| {
                        correlation::parse_definition(c).map_err(|(k, r)| doc.invalid(&k, r))
                    });
                match def {
                    Ok(def) => corrs.push(CorrDoc {
                        doc: i,
                        meta,
                        def,
                        children: Vec::new(),
                        state: State::Loaded(Vec::new()),
                    }),
                    Err(e) => invalid_docs.push((i, kind, Some(meta), e)),
                }
            }
            Kind::Filter => match parse_filter(doc) {
                Ok((targets, detection)) => filters.push(FilterDoc {
                    doc: i,
                    logsource: LogSource::from_yaml(doc.value.get("logsource")),
                    meta,
                    targets,
                    detection,
                    applied: 0,
                    error: None,
                }),
                Err(e) => invalid_docs.push((i, kind, Some(meta), e)),
            },
        }
    }

    // References: by id or name, across files.
    let mut by_ref: HashMap<String, Node> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        by_ref.insert(r.meta.id.clone(), Node::Rule(i));
        if let Some(n) = &r.meta.name {
            by_ref.entry(n.clone()).or_insert(Node::Rule(i));
        }
    }
    for (i, c) in corrs.iter().enumerate() {
        by_ref.insert(c.meta.id.clone(), Node::Corr(i));
        if let Some(n) = &c.meta.name {
            by_ref.entry(n.clone()).or_insert(Node::Corr(i));
        }
    }
    for c in &mut corrs {
        let doc = &docs[c.doc];
        for r in &c.def.rules {
            match by_ref.get(r) {
                Some(n) => c.children.push(*n),
                None => {
                    c.state = State::Invalid(doc.invalid(
                        "correlation.rules",
                        format!("unknown rule `{r}` (no rule or correlation has this id or name)"),
                    ));
                    break;
                }
            }
        }
    }
    detect_cycles(&mut corrs, &docs);

    // Rules referenced by a correlation run whatever their status or level, and report on
    // their own only when a referencing correlation says `generate: true`.
    let mut referenced: HashMap<Node, bool> = HashMap::new();
    for c in &corrs {
        if matches!(c.state, State::Invalid(_)) {
            continue;
        }
        for n in &c.children {
            let g = referenced.entry(*n).or_insert(false);
            *g |= c.def.generate;
        }
    }

    // Second pass: route and compile rules.
    for (i, r) in rules.iter_mut().enumerate() {
        let doc = &docs[r.doc];
        let is_referenced = referenced.contains_key(&Node::Rule(i));
        r.state = compile_rule(doc, r, mapping, opts, is_referenced);
    }

    // Filters: `rule and not filter`, compiled with each rule variant's field profile.
    for f in &mut filters {
        let doc = &docs[f.doc];
        for r in rules.iter_mut() {
            if !matches!(r.state, State::Loaded(_)) || !f.logsource.covers(&r.logsource) {
                continue;
            }
            let targeted = match &f.targets {
                None => true,
                Some(t) => t
                    .iter()
                    .any(|x| *x == r.meta.id || r.meta.name.as_deref() == Some(x.as_str())),
            };
            if !targeted {
                continue;
            }
            let mut variants = Vec::new();
            for v in std::mem::take(&mut r.variants) {
                let resolver = |n: &str| mapping.resolve(&v.profile, n);
                let compiled = Detection::compile_with(
                    &f.detection,
                    &CompileOptions {
                        placeholders: &opts.placeholders,
                        resolver: &resolver,
                        keywords_in_originals: true,
                    },
                );
                match compiled {
                    Ok(fd) => variants.push(Variant {
                        detection: v.detection.and_not(fd, &f.meta.id),
                        ..v
                    }),
                    Err(e) => {
                        if f.error.is_none() {
                            f.error = Some(doc.invalid(&format!("filter.{}", e.key), e.reason));
                        }
                        variants.push(v);
                    }
                }
            }
            r.variants = variants;
            f.applied += 1;
        }
    }

    // Correlations run when everything they reference runs.
    let mut memo: HashMap<usize, Result<(), String>> = HashMap::new();
    for i in 0..corrs.len() {
        let verdict = runnable(i, &corrs, &rules, &mut memo, 0);
        if let (State::Loaded(_), Err(why)) = (&corrs[i].state, verdict) {
            corrs[i].state = State::Unsupported(why);
        }
    }
    // Status and level filters apply to what reports on its own (the outermost correlation).
    for (i, c) in corrs.iter_mut().enumerate() {
        if matches!(c.state, State::Loaded(_))
            && !referenced.contains_key(&Node::Corr(i))
            && let Some(why) = filtered_out(&c.meta, opts)
        {
            c.state = State::Skipped(why);
        }
    }

    // Runtime indices.
    let mut rule_index: HashMap<usize, usize> = HashMap::new();
    let mut out_rules: Vec<SigmaRule> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        if let State::Loaded(_) = r.state {
            rule_index.insert(i, out_rules.len());
            let emit = referenced.get(&Node::Rule(i)).is_none_or(|g| *g);
            out_rules.push(SigmaRule {
                meta: r.meta.clone(),
                logsource: r.logsource.clone(),
                variants: r.variants.clone(),
                emit,
            });
        }
    }
    let mut corr_index: HashMap<usize, usize> = HashMap::new();
    let mut run: Vec<usize> = Vec::new();
    for (i, c) in corrs.iter().enumerate() {
        if let State::Loaded(_) = c.state {
            corr_index.insert(i, run.len());
            run.push(i);
        }
    }
    let mut out_corrs: Vec<Correlation> = Vec::new();
    for &i in &run {
        let c = &corrs[i];
        let child_corr = c
            .children
            .iter()
            .map(|n| match n {
                Node::Corr(k) => corr_index.get(k).copied(),
                Node::Rule(_) => None,
            })
            .collect();
        let emit = referenced.get(&Node::Corr(i)).is_none_or(|g| *g);
        out_corrs.push(Correlation {
            meta: c.meta.clone(),
            spec: correlation::Spec {
                def: c.def.clone(),
                child_corr,
            },
            emit,
        });
    }

    // Feeds: what each correlation reads from the events of each rule below it.
    let mut depth_memo: HashMap<usize, usize> = HashMap::new();
    for &i in &run {
        let Some(&j) = corr_index.get(&i) else {
            continue;
        };
        let depth = depth_of(i, &corrs, &mut depth_memo, 0);
        let c = &corrs[i];
        for (p, child) in c.children.iter().enumerate() {
            let mut below = Vec::new();
            base_rules(*child, &corrs, &mut below, 0);
            below.sort_unstable();
            below.dedup();
            // Alias lookups: by the reference as written, then the child's id and name.
            let child_keys: Vec<String> = {
                let mut k = vec![c.def.rules[p].clone()];
                let meta = match child {
                    Node::Rule(r) => &rules[*r].meta,
                    Node::Corr(k2) => &corrs[*k2].meta,
                };
                k.push(meta.id.clone());
                k.extend(meta.name.clone());
                k
            };
            let field_for = |name: &str| -> String {
                c.def
                    .aliases
                    .get(name)
                    .and_then(|per| child_keys.iter().find_map(|k| per.get(k)))
                    .cloned()
                    .unwrap_or_else(|| name.to_string())
            };
            let group_fields: Vec<String> = c.def.group_by.iter().map(|g| field_for(g)).collect();
            let value_field = c.def.field.as_deref().map(field_for);
            for r in below {
                let Some(&ri) = rule_index.get(&r) else {
                    continue;
                };
                let Some(rule) = out_rules.get_mut(ri) else {
                    continue;
                };
                for v in &mut rule.variants {
                    let resolve = |f: &str| {
                        mapping
                            .resolve(&v.profile, f)
                            .unwrap_or_else(|_| FieldRef::Original(f.to_string()))
                    };
                    v.feeds.push(Feed {
                        corr: j,
                        child: p,
                        group: group_fields.iter().map(|f| resolve(f)).collect(),
                        value: value_field.as_deref().map(resolve),
                        depth,
                    });
                }
            }
        }
    }

    // The listing, in file order.
    for r in &rules {
        let doc = &docs[r.doc];
        listed.push(Listed {
            kind: Kind::Rule,
            id: r.meta.id.clone(),
            title: r.meta.title.clone(),
            level: Some(r.meta.level),
            logsource: r.logsource.to_string(),
            file: doc.file.clone(),
            line: doc.line,
            state: r.state.clone(),
        });
    }
    for c in &corrs {
        let doc = &docs[c.doc];
        let state = match &c.state {
            State::Loaded(_) => State::Loaded(vec![format!(
                "{} of {}",
                c.def.kind.name(),
                c.def.rules.join(", ")
            )]),
            s => s.clone(),
        };
        listed.push(Listed {
            kind: Kind::Correlation,
            id: c.meta.id.clone(),
            title: c.meta.title.clone(),
            level: Some(c.meta.level),
            logsource: format!("correlation {}", c.def.kind.name()),
            file: doc.file.clone(),
            line: doc.line,
            state,
        });
    }
    for f in filters {
        let doc = &docs[f.doc];
        let state = match (f.error, f.applied) {
            (Some(e), _) => State::Invalid(e),
            (None, 0) => State::Unsupported("applies to no loaded rule".into()),
            (None, n) => State::Loaded(vec![format!("filters {n} rule(s)")]),
        };
        listed.push(Listed {
            kind: Kind::Filter,
            id: f.meta.id.clone(),
            title: f.meta.title.clone(),
            level: None,
            logsource: f.logsource.to_string(),
            file: doc.file.clone(),
            line: doc.line,
            state,
        });
    }
    for (i, kind, meta, e) in invalid_docs {
        let doc = &docs[i];
        listed.push(Listed {
            kind,
            id: meta.as_ref().map(|m| m.id.clone()).unwrap_or_default(),
            title: meta.as_ref().map(|m| m.title.clone()).unwrap_or_default(),
            level: meta.as_ref().map(|m| m.level),
            logsource: LogSource::from_yaml(doc.value.get("logsource")).to_string(),
            file: doc.file.clone(),
            line: doc.line,
            state: State::Invalid(e),
        });
    }
    listed.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));

    let entries: Vec<Entry<'_>> = out_rules
        .iter()
        .enumerate()
        .flat_map(|(ri, r)| {
            r.variants.iter().enumerate().map(move |(vi, v)| Entry {
                rule: ri as u32,
                variant: vi as u16,
                sources: &v.sources,
                detection: &v.detection,
                event_id_field: mapping.resolve(&v.profile, "EventID").ok(),
            })
        })
        .collect();
    let index = match Index::build(entries) {
        Ok(i) => i,
        Err(e) => {
            listed.push(Listed {
                kind: Kind::Rule,
                id: String::new(),
                title: "rule index".into(),
                level: None,
                logsource: String::new(),
                file: mapping.origin.clone(),
                line: 0,
                state: State::Invalid(SigmaError::Mapping {
                    file: mapping.origin.clone(),
                    line: None,
                    key: String::new(),
                    reason: format!("the rule index could not be built: {e}"),
                }),
            });
            return Ruleset {
                listed,
                ..Ruleset::default()
            };
        }
    };
    Ruleset {
        rules: out_rules,
        correlations: out_corrs,
        listed,
        index,
    }
}

fn parse_filter(doc: &Doc) -> Result<(Option<Vec<String>>, Y), SigmaError> {
    let Some(Y::Mapping(f)) = doc.value.get("filter") else {
        return Err(doc.invalid(
            "filter",
            "must be a mapping with rules, selections and a condition",
        ));
    };
    if doc.value.get("logsource").is_none() {
        return Err(doc.invalid("logsource", "a filter needs a logsource"));
    }
    let targets = match f.get("rules") {
        Some(Y::String(s)) if s.eq_ignore_ascii_case("any") => None,
        Some(Y::String(s)) => Some(vec![s.clone()]),
        Some(Y::Sequence(items)) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        _ => {
            return Err(doc.invalid(
                "filter.rules",
                "missing (a list of rule ids or names, or `any`)",
            ));
        }
    };
    let mut det = f.clone();
    det.remove("rules");
    let det = Y::Mapping(det);
    // Validate the syntax now (fields are resolved per rule later).
    Detection::compile(&det, &Default::default())
        .map_err(|e| doc.invalid(&format!("filter.{}", e.key), e.reason))?;
    Ok((targets, det))
}

fn filtered_out(meta: &Meta, opts: &LoadOptions) -> Option<String> {
    if let Some(s) = &meta.status
        && !opts.statuses.iter().any(|x| x.eq_ignore_ascii_case(s))
    {
        return Some(format!(
            "status {s} (running: {})",
            opts.statuses.join(", ")
        ));
    }
    (meta.level < opts.min_level).then(|| format!("level {} below {}", meta.level, opts.min_level))
}

fn compile_rule(
    doc: &Doc,
    r: &mut RuleDoc,
    mapping: &Mapping,
    opts: &LoadOptions,
    referenced: bool,
) -> State {
    let Some(detection) = doc.value.get("detection") else {
        return State::Invalid(doc.invalid("detection", "`detection` is required"));
    };
    // Syntax first, with no mapping: a rule we cannot feed is still linted.
    if let Err(e) = Detection::compile(detection, &opts.placeholders) {
        if e.reason.starts_with("placeholder") {
            return State::Unsupported(format!("detection.{}: {}", e.key, e.reason));
        }
        return State::Invalid(doc.invalid(&format!("detection.{}", e.key), e.reason));
    }
    let sources = match mapping.route(&r.logsource) {
        Ok(s) => s,
        Err(why) => return State::Unsupported(why),
    };
    if !referenced && let Some(why) = filtered_out(&r.meta, opts) {
        return State::Skipped(why);
    }
    // One compilation per field profile, in the order the sources are listed.
    let mut profiles: Vec<(String, Vec<Source>)> = Vec::new();
    for s in sources {
        match profiles.iter_mut().find(|(p, _)| *p == s.profile) {
            Some((_, list)) => list.push(s),
            None => profiles.push((s.profile.clone(), vec![s])),
        }
    }
    let mut first_error = None;
    for (profile, sources) in profiles {
        let resolver = |n: &str| mapping.resolve(&profile, n);
        match Detection::compile_with(
            detection,
            &CompileOptions {
                placeholders: &opts.placeholders,
                resolver: &resolver,
                keywords_in_originals: true,
            },
        ) {
            Ok(d) => r.variants.push(Variant {
                profile: profile.clone(),
                sources,
                detection: d,
                feeds: Vec::new(),
            }),
            Err(e) => {
                first_error.get_or_insert((e, sources));
            }
        }
    }
    if r.variants.is_empty() {
        return match first_error {
            Some((e, _)) => State::Invalid(doc.invalid(&format!("detection.{}", e.key), e.reason)),
            None => State::Unsupported("no source".into()),
        };
    }
    State::Loaded(
        r.variants
            .iter()
            .flat_map(|v| v.sources.iter().map(Source::label))
            .collect(),
    )
}

/// Mark every correlation on a reference loop invalid.
fn detect_cycles(corrs: &mut [CorrDoc], docs: &[Doc]) {
    let n = corrs.len();
    // 0 unvisited, 1 on the stack, 2 done.
    let mut mark = vec![0u8; n];
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    fn visit(
        i: usize,
        corrs: &[CorrDoc],
        mark: &mut [u8],
        stack: &mut Vec<usize>,
        cycles: &mut Vec<Vec<usize>>,
    ) {
        mark[i] = 1;
        stack.push(i);
        for c in &corrs[i].children {
            if let Node::Corr(k) = c {
                match mark[*k] {
                    0 => visit(*k, corrs, mark, stack, cycles),
                    1 => {
                        if let Some(pos) = stack.iter().position(|s| s == k) {
                            cycles.push(stack[pos..].to_vec());
                        }
                    }
                    _ => {}
                }
            }
        }
        stack.pop();
        mark[i] = 2;
    }
    for i in 0..n {
        if mark[i] == 0 {
            visit(i, corrs, &mut mark, &mut Vec::new(), &mut cycles);
        }
    }
    for cycle in cycles {
        let mut names: Vec<String> = cycle
            .iter()
            .map(|i| {
                corrs[*i]
                    .meta
                    .name
                    .clone()
                    .unwrap_or_else(|| corrs[*i].meta.id.clone())
            })
            .collect();
        names.push(names[0].clone());
        let chain = names.join(" -> ");
        for i in cycle {
            let doc = &docs[corrs[i].doc];
            corrs[i].state = State::Invalid(SigmaError::Cycle {
                file: doc.file.clone(),
                line: doc.line_of("correlation.rules"),
                chain: chain.clone(),
            });
        }
    }
}

/// Whether correlation `i` can run: every rule and correlation below it is loaded.
fn runnable(
    i: usize,
    corrs: &[CorrDoc],
    rules: &[RuleDoc],
    memo: &mut HashMap<usize, Result<(), String>>,
    depth: usize,
) -> Result<(), String> {
    if let Some(r) = memo.get(&i) {
        return r.clone();
    }
    let verdict = (|| {
        match &corrs[i].state {
            State::Loaded(_) => {}
            State::Invalid(e) => return Err(format!("invalid: {e}")),
            State::Unsupported(w) | State::Skipped(w) => return Err(w.clone()),
        }
        if depth > corrs.len() {
            return Err("correlation cycle".into());
        }
        for c in &corrs[i].children {
            match c {
                Node::Rule(r) => match &rules[*r].state {
                    State::Loaded(_) => {}
                    State::Unsupported(w) | State::Skipped(w) => {
                        return Err(format!(
                            "references rule `{}`, which is unsupported: {w}",
                            rules[*r].meta.id
                        ));
                    }
                    State::Invalid(e) => {
                        return Err(format!(
                            "references rule `{}`, which is invalid: {e}",
                            rules[*r].meta.id
                        ));
                    }
                },
                Node::Corr(k) => runnable(*k, corrs, rules, memo, depth + 1).map_err(|w| {
                    format!(
                        "references correlation `{}`, which cannot run: {w}",
                        corrs[*k].meta.id
                    )
                })?,
            }
        }
        Ok(())
    })();
    memo.insert(i, verdict.clone());
    verdict
}

fn depth_of(i: usize, corrs: &[CorrDoc], memo: &mut HashMap<usize, usize>, guard: usize) -> usize {
    if let Some(d) = memo.get(&i) {
        return *d;
    }
    if guard > corrs.len() {
        return 1;
    }
    let d = 1 + corrs[i]
        .children
        .iter()
        .map(|c| match c {
            Node::Rule(_) => 0,
            Node::Corr(k) => depth_of(*k, corrs, memo, guard + 1),
        })
        .max()
        .unwrap_or(0);
    memo.insert(i, d);
    d
}

/// The rule documents below a node.
fn base_rules(n: Node, corrs: &[CorrDoc], out: &mut Vec<usize>, guard: usize) {
    if guard > corrs.len() {
        return;
    }
    match n {
        Node::Rule(r) => out.push(r),
        Node::Corr(k) => {
            let mut seen = HashSet::new();
            for c in &corrs[k].children {
                if seen.insert(*c) {
                    base_rules(*c, corrs, out, guard + 1);
                }
            }
        }
    }
}
