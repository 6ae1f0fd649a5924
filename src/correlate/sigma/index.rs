//! The rule index: an event is checked only against the rules that can match it.
//!
//! Two levels:
//! 1. **Log source**: rules are filed in buckets by `event.dataset` (or `event.module`) and
//!    `event.code`. A rule whose source names no codes but whose detection requires event ids
//!    (`EventID: 4624`, see [`Detection::required_values_of`]) is filed under those codes only.
//! 2. **Literal values**: within a bucket, each rule is keyed by its anchor
//!    ([`Detection::anchor`]): literals of which at least one must be in the event for the rule
//!    to match (`Image|endswith: '\psexec.exe'`, `CommandLine|contains: ' -enc '`). Each field
//!    of a bucket has one Aho-Corasick automaton over every anchor literal on that field, so one
//!    pass over the field's value finds every rule it can satisfy; rules without an anchor are
//!    evaluated for every event of the bucket.
//!
//! The index only narrows: every candidate is evaluated in full, so a literal found in the wrong
//! place (a suffix found mid-value) costs an evaluation, never a wrong match.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::mapping::Source;
use crate::correlate::detection::{AtomKind, Detection, FieldRef};
use crate::event::{Event, Field};

/// What a bucket entry points at: rule `rule`, compiled for profile variant `variant`,
/// reached through `source` (whose further conditions are checked on the event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Rule index.
    pub rule: u32,
    /// Variant index within the rule.
    pub variant: u16,
    /// Source index within the variant.
    pub source: u16,
}

#[derive(Debug)]
struct FieldIndex {
    field: FieldRef,
    ac: AhoCorasick,
    /// Per pattern: (how the literal must sit, entry index).
    patterns: Vec<Vec<(AtomKind, u32)>>,
}

#[derive(Debug, Default)]
struct Bucket {
    entries: Vec<Target>,
    fields: Vec<FieldIndex>,
    /// Entries without an anchor.
    always: Vec<u32>,
}

/// (field, needle → pattern id, per pattern: (kind, entry)).
type FieldPatterns = (FieldRef, HashMap<String, usize>, Vec<Vec<(AtomKind, u32)>>);

#[derive(Debug, Default)]
struct BucketBuilder {
    entries: Vec<Target>,
    /// Per field: needle → pattern id, and per pattern the entries keyed on it.
    fields: Vec<FieldPatterns>,
    always: Vec<u32>,
}

impl BucketBuilder {
    fn add(&mut self, target: Target, anchor: Option<&[crate::correlate::detection::Atom]>) {
        let e = self.entries.len() as u32;
        self.entries.push(target);
        let Some(atoms) = anchor else {
            self.always.push(e);
            return;
        };
        for a in atoms {
            let slot = match self.fields.iter().position(|(f, _, _)| *f == a.field) {
                Some(i) => i,
                None => {
                    self.fields
                        .push((a.field.clone(), HashMap::new(), Vec::new()));
                    self.fields.len() - 1
                }
            };
            let (_, ids, patterns) = &mut self.fields[slot];
            let id = *ids.entry(a.needle.clone()).or_insert_with(|| {
                patterns.push(Vec::new());
                patterns.len() - 1
            });
            if !patterns[id].contains(&(a.kind, e)) {
                patterns[id].push((a.kind, e));
            }
        }
    }

    fn build(self) -> Result<Bucket, String> {
        let mut fields = Vec::new();
        for (field, ids, patterns) in self.fields {
            let mut needles: Vec<(usize, String)> = ids.into_iter().map(|(n, i)| (i, n)).collect();
            needles.sort();
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(needles.iter().map(|(_, n)| n.as_bytes()))
                .or_else(|_| {
                    // Very large pattern sets may not fit a DFA: any automaton will do.
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .match_kind(MatchKind::Standard)
                        .build(needles.iter().map(|(_, n)| n.as_bytes()))
                })
                .map_err(|e| e.to_string())?;
            fields.push(FieldIndex {
                field,
                ac,
                patterns,
            });
        }
        Ok(Bucket {
            entries: self.entries,
            fields,
            always: self.always,
        })
    }
}

#[derive(Debug, Default)]
struct Buckets {
    any: Option<Bucket>,
    by_code: HashMap<String, Bucket>,
}

/// The index over a rule set.
#[derive(Debug, Default)]
pub struct Index {
    datasets: HashMap<String, Buckets>,
    modules: HashMap<String, Buckets>,
    /// Scratch: per rule, the event stamp it was last marked with.
    stamp: Vec<u32>,
    generation: u32,
    marked: Vec<Target>,
}

/// What the index needs to know of a rule variant.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Rule index.
    pub rule: u32,
    /// Variant index.
    pub variant: u16,
    /// The variant's sources.
    pub sources: &'a [Source],
    /// The variant's detection.
    pub detection: &'a Detection,
    /// The field the variant's event ids are read from (`EventID` on Windows profiles).
    pub event_id_field: Option<FieldRef>,
}

/// Fields that route rather than select: keying on them would put a rule on every event of
/// its bucket.
fn routing_field(f: &FieldRef) -> bool {
    match f {
        FieldRef::Normalized(f) => matches!(
            f,
            Field::EventCode | Field::EventDataset | Field::EventModule
        ),
        FieldRef::Original(n) => matches!(n.as_str(), "EventID" | "Channel" | "Provider_Name"),
        FieldRef::Any(_) => false,
    }
}

impl Index {
    /// Build the index.
    pub fn build<'a>(entries: impl IntoIterator<Item = Entry<'a>>) -> Result<Index, String> {
        type Builders = HashMap<String, (Option<BucketBuilder>, HashMap<String, BucketBuilder>)>;
        let mut datasets: Builders = HashMap::new();
        let mut modules: Builders = HashMap::new();
        let mut rules = 0usize;
        for e in entries {
            rules = rules.max(e.rule as usize + 1);
            let anchor = e.detection.anchor(&routing_field);
            let required_ids = e
                .event_id_field
                .as_ref()
                .and_then(|f| e.detection.required_values_of(f));
            for (si, s) in e.sources.iter().enumerate() {
                let target = Target {
                    rule: e.rule,
                    variant: e.variant,
                    source: si as u16,
                };
                // Codes: the source's, narrowed by the ids the detection requires.
                let codes: Option<Vec<String>> = match (&required_ids, s.codes.is_empty()) {
                    (Some(ids), true) => Some(ids.clone()),
                    (Some(ids), false) => Some(
                        s.codes
                            .iter()
                            .filter(|c| ids.iter().any(|i| i.eq_ignore_ascii_case(c)))
                            .cloned()
                            .collect(),
                    ),
                    (None, true) => None,
                    (None, false) => Some(s.codes.clone()),
                };
                let (map, key) = match (&s.dataset, &s.module) {
                    (Some(d), _) => (&mut datasets, d.clone()),
                    (None, Some(m)) => (&mut modules, m.clone()),
                    (None, None) => continue,
                };
                let slot = map.entry(key).or_default();
                match codes {
                    None => slot
                        .0
                        .get_or_insert_with(BucketBuilder::default)
                        .add(target, anchor.as_deref()),
                    Some(codes) => {
                        // Codes compare case-insensitively (auditd's are upper case, the
                        // values a detection requires are lower-cased).
                        let mut codes: Vec<String> =
                            codes.iter().map(|c| c.to_ascii_lowercase()).collect();
                        codes.sort();
                        codes.dedup();
                        for c in codes {
                            slot.1.entry(c).or_default().add(target, anchor.as_deref());
                        }
                    }
                }
            }
        }
        let finish = |b: Builders| -> Result<HashMap<String, Buckets>, String> {
            b.into_iter()
                .map(|(k, (any, by_code))| {
                    Ok((
                        k,
                        Buckets {
                            any: any.map(BucketBuilder::build).transpose()?,
                            by_code: by_code
                                .into_iter()
                                .map(|(c, b)| b.build().map(|b| (c, b)))
                                .collect::<Result<_, String>>()?,
                        },
                    ))
                })
                .collect()
        };
        Ok(Index {
            datasets: finish(datasets)?,
            modules: finish(modules)?,
            stamp: vec![0; rules],
            generation: 0,
            marked: Vec::new(),
        })
    }

    /// The candidates for an event: (rule, variant, source) triples, each rule at most once
    /// per source path, in rule order.
    pub fn candidates(&mut self, ev: &Event) -> &[Target] {
        self.marked.clear();
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: clear the stamps so an old stamp never looks current.
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let code = ev.str(Field::EventCode).map(|c| {
            if c.bytes().any(|b| b.is_ascii_uppercase()) {
                std::borrow::Cow::Owned(c.to_ascii_lowercase())
            } else {
                std::borrow::Cow::Borrowed(c)
            }
        });
        let mut buckets: Vec<&Bucket> = Vec::with_capacity(4);
        for (map, key) in [
            (&self.datasets, ev.str(Field::EventDataset)),
            (&self.modules, ev.str(Field::EventModule)),
        ] {
            if let Some(b) = key.and_then(|k| map.get(k)) {
                if let Some(any) = &b.any {
                    buckets.push(any);
                }
                if let Some(c) = code.as_deref().and_then(|c| b.by_code.get(c)) {
                    buckets.push(c);
                }
            }
        }
        let (stamp, generation, marked) = (&mut self.stamp, self.generation, &mut self.marked);
        for bucket in buckets {
            let mut mark = |e: u32| {
                if let Some(t) = bucket.entries.get(e as usize) {
                    marked.push(*t);
                }
            };
            for &e in &bucket.always {
                mark(e);
            }
            for fi in &bucket.fields {
                fi.field.any_value(ev, |value| {
                    let len = value.len();
                    for m in fi.ac.find_overlapping_iter(value) {
                        let Some(list) = fi.patterns.get(m.pattern().as_usize()) else {
                            continue;
                        };
                        for &(kind, e) in list {
                            let ok = match kind {
                                AtomKind::Contains => true,
                                AtomKind::StartsWith => m.start() == 0,
                                AtomKind::EndsWith => m.end() == len,
                                AtomKind::Equals => m.start() == 0 && m.end() == len,
                            };
                            if ok {
                                mark(e);
                            }
                        }
                    }
                    false
                });
            }
        }
        // One evaluation per (rule, variant, source): sort, then drop repeats. The stamp
        // avoids sorting when nothing repeats in the common case of few candidates.
        let mut repeats = false;
        for t in marked.iter() {
            if let Some(s) = stamp.get_mut(t.rule as usize) {
                if *s == generation {
                    repeats = true;
                }
                *s = generation;
            }
        }
        marked.sort_by_key(|t| (t.rule, t.variant, t.source));
        if repeats {
            marked.dedup();
        }
        marked
    }
}
