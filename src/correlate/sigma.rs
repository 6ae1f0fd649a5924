//! Sigma rules from the community (SigmaHQ format), run inside the correlation engine.
//!
//! - [`load`] reads rule files given as text (multi-document YAML: rules, v2 correlation rules
//!   and `filter` documents), routes each rule's `logsource` to our datasets through the
//!   [`mapping`], compiles its detection once per field profile with our own Sigma compiler
//!   ([`crate::correlate::detection`]), applies filters, resolves correlation references
//!   (by id or name, across files; cycles are errors) and builds the [`index`]. Everything that
//!   was read is listed ([`Listed`]) as loaded, unsupported (with why), skipped (status/level
//!   filters) or invalid (with file, line and reason): nothing is dropped silently.
//! - [`Runtime`] is what the engine holds: `observe` finds the rules an event matches (via the
//!   index) and what their correlations need from the event, before the reorder buffer;
//!   `correlate` runs the [`correlation`] state machine in event-time order after it.
//!
//! Pure like the rest of `correlate`: files arrive as text, no clock.

pub mod correlation;
pub mod index;
mod load;
pub mod mapping;

use crate::correlate::detection::{Detection, FieldRef, Placeholders};
use crate::event::{Event, Nanos, Severity};

pub use load::load;
pub use mapping::{LogSource, Mapping};

/// Why a Sigma file, document or the mapping could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigmaError {
    /// The document is not YAML.
    #[error("{file}:{line}: invalid YAML: {reason}")]
    Yaml {
        /// File.
        file: String,
        /// Line (1-based).
        line: usize,
        /// Parser message.
        reason: String,
    },
    /// A rule, correlation or filter document is invalid.
    #[error("{file}:{line}: {}{reason}", if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Invalid {
        /// File.
        file: String,
        /// Line of the offending key (or of the document).
        line: usize,
        /// Key path (`detection.selection.Image|endswith`, `correlation.timespan`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Correlations refer to each other in a loop.
    #[error("{file}:{line}: correlation cycle: {chain}")]
    Cycle {
        /// File of the first correlation of the loop.
        file: String,
        /// Its line.
        line: usize,
        /// The loop, `a -> b -> a`.
        chain: String,
    },
    /// The mapping file is invalid.
    #[error("{file}{}: {}{reason}", line.map(|l| format!(":{l}")).unwrap_or_default(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Mapping {
        /// Mapping file.
        file: String,
        /// Line, when known.
        line: Option<usize>,
        /// Key path.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read (the CLI reports these; `correlate` never reads files).
    #[error("{file}: {reason}")]
    Read {
        /// Path.
        file: String,
        /// I/O error.
        reason: String,
    },
}

/// Which rules to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Rule statuses to run (`stable`, `test`, `experimental`, ...); rules without a status
    /// always run.
    pub statuses: Vec<String>,
    /// Least level to run.
    pub min_level: Severity,
    /// Values for `%placeholders%`.
    pub placeholders: Placeholders,
}

impl Default for LoadOptions {
    /// Every status except `deprecated` and `unsupported`; every level.
    fn default() -> Self {
        LoadOptions {
            statuses: ["stable", "test", "experimental"]
                .map(str::to_string)
                .to_vec(),
            min_level: Severity::Info,
            placeholders: Placeholders::new(),
        }
    }
}

/// Metadata of a rule or correlation, as sessions show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `id` (or `name`, or `file#n` when neither is given).
    pub id: String,
    /// `name`, for references.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `level` (default medium).
    pub level: Severity,
    /// `status`.
    pub status: Option<String>,
    /// ATT&CK tactics from `tags`.
    pub tactics: Vec<String>,
    /// ATT&CK techniques from `tags`.
    pub techniques: Vec<String>,
    /// File it came from.
    pub file: String,
    /// Line its document starts at.
    pub line: usize,
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A detection rule.
    Rule,
    /// A correlation rule.
    Correlation,
    /// A filter document.
    Filter,
}

impl Kind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rule => "rule",
            Kind::Correlation => "correlation",
            Kind::Filter => "filter",
        }
    }
}

/// What became of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Runs; reads these sources (`windows.sysmon 1`, ...).
    Loaded(Vec<String>),
    /// Valid, but lateral cannot feed it: why.
    Unsupported(String),
    /// Left out by the status or level filter: why.
    Skipped(String),
    /// Invalid: the error.
    Invalid(SigmaError),
}

/// One document read, for `lateral rules list` and `lint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Rule, correlation or filter.
    pub kind: Kind,
    /// Id (may be empty for invalid documents).
    pub id: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Option<Severity>,
    /// Log source (rules), type (correlations) or target rules (filters).
    pub logsource: String,
    /// File.
    pub file: String,
    /// Line of the document.
    pub line: usize,
    /// Outcome.
    pub state: State,
}

/// A rule compiled for one field profile.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Mapping profile.
    pub profile: String,
    /// Sources read with this profile.
    pub sources: Vec<mapping::Source>,
    /// The compiled detection (with filters applied).
    pub detection: Detection,
    /// What correlations read from this variant's events.
    pub feeds: Vec<Feed>,
}

/// What one correlation reads from the events of a rule variant.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Correlation index.
    pub corr: usize,
    /// Child position of the path to this rule.
    pub child: usize,
    /// Group-by fields.
    pub group: Vec<FieldRef>,
    /// The value field.
    pub value: Option<FieldRef>,
    /// Depth of the correlation.
    pub depth: usize,
}

/// A loaded Sigma detection rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// Metadata.
    pub meta: Meta,
    /// Its logsource.
    pub logsource: LogSource,
    /// One per field profile.
    pub variants: Vec<Variant>,
    /// Whether a match reports on its own (false for rules only feeding correlations).
    pub emit: bool,
}

/// A loaded correlation.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Metadata.
    pub meta: Meta,
    /// The state machine's view.
    pub spec: correlation::Spec,
    /// Whether a match reports on its own (false when it only feeds another correlation).
    pub emit: bool,
}

/// A loaded set of Sigma rules: what runs, what was listed, what failed.
#[derive(Debug, Default)]
pub struct Ruleset {
    /// Detection rules that run.
    pub rules: Vec<SigmaRule>,
    /// Correlations that run.
    pub correlations: Vec<Correlation>,
    /// Every document read.
    pub listed: Vec<Listed>,
    index: index::Index,
}

impl Ruleset {
    /// Errors of invalid documents, in file order.
    pub fn errors(&self) -> Vec<&SigmaError> {
        self.listed
            .iter()
            .filter_map(|l| match &l.state {
                State::Invalid(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// The variant of rule `rule` whose log source the event belongs to (dataset or module,
    /// event code, further conditions), if any: the events `lateral rules test` explains.
    pub fn variant_for(&self, rule: usize, ev: &Event) -> Option<&Variant> {
        use crate::event::Field;
        let (dataset, module, code) = (
            ev.str(Field::EventDataset),
            ev.str(Field::EventModule),
            ev.str(Field::EventCode),
        );
        self.rules.get(rule)?.variants.iter().find(|v| {
            v.sources.iter().any(|s| {
                let place = match (&s.dataset, &s.module) {
                    (Some(d), _) => dataset == Some(d.as_str()),
                    (None, Some(m)) => module == Some(m.as_str()),
                    (None, None) => false,
                };
                place
                    && (s.codes.is_empty() || code.is_some_and(|c| s.codes.iter().any(|x| x == c)))
                    && s.admits(ev)
            })
        })
    }

    /// Match one event: the rules it matches (with the searches that matched) and the
    /// correlation inputs read from it. The index is scratch state, hence `&mut`.
    pub fn observe(&mut self, ev: &Event) -> Option<Observation> {
        let candidates = self.index.candidates(ev);
        if candidates.is_empty() {
            return None;
        }
        let mut obs = Observation::default();
        let mut last_rule = u32::MAX;
        for t in candidates {
            if t.rule == last_rule {
                continue;
            }
            let Some(rule) = self.rules.get(t.rule as usize) else {
                continue;
            };
            let Some(variant) = rule.variants.get(usize::from(t.variant)) else {
                continue;
            };
            let admitted = variant
                .sources
                .get(usize::from(t.source))
                .is_some_and(|s| s.admits(ev));
            if !admitted || !variant.detection.matches(ev) {
                continue;
            }
            last_rule = t.rule;
            if rule.emit {
                obs.hits.push(Hit {
                    rule: t.rule as usize,
                    searches: variant
                        .detection
                        .matched_searches(ev)
                        .into_iter()
                        .filter(|n| !n.contains(':'))
                        .map(str::to_string)
                        .collect(),
                });
            }
            for f in &variant.feeds {
                let mut group = Vec::with_capacity(f.group.len());
                for g in &f.group {
                    match g.first(ev) {
                        Some(v) if !v.is_empty() => group.push(v),
                        // An event missing a group-by field takes no part.
                        _ => break,
                    }
                }
                if group.len() != f.group.len() {
                    continue;
                }
                obs.inputs.push(correlation::Input {
                    corr: f.corr,
                    child: f.child,
                    group,
                    value: f.value.as_ref().and_then(|v| v.first(ev)),
                    depth: f.depth,
                });
            }
        }
        (!obs.hits.is_empty() || !obs.inputs.is_empty()).then_some(obs)
    }
}

/// A rule an event matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Rule index.
    pub rule: usize,
    /// Searches that matched.
    pub searches: Vec<String>,
}

/// What one event means to the Sigma rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Rules that report on their own.
    pub hits: Vec<Hit>,
    /// Inputs to correlations.
    pub inputs: Vec<correlation::Input>,
}

/// The Sigma side of an engine: the rule set and the correlation state.
#[derive(Debug)]
pub struct Runtime {
    /// The rules.
    pub set: Ruleset,
    state: correlation::State,
    specs: Vec<correlation::Spec>,
}

impl Runtime {
    /// A runtime over a loaded set.
    pub fn new(set: Ruleset) -> Runtime {
        let specs = set.correlations.iter().map(|c| c.spec.clone()).collect();
        Runtime {
            set,
            state: correlation::State::default(),
            specs,
        }
    }

    /// See [`Ruleset::observe`].
    pub fn observe(&mut self, ev: &Event) -> Option<Observation> {
        self.set.observe(ev)
    }

    /// Feed correlation inputs of one event, in event-time order.
    pub fn correlate(
        &mut self,
        ts: Nanos,
        event_id: &str,
        inputs: &[correlation::Input],
    ) -> Vec<correlation::Fire> {
        if inputs.is_empty() {
            return Vec::new();
        }
        self.state.observe(&self.specs, ts, event_id, inputs)
    }

    /// Drop correlation state idle past its window.
    pub fn expire(&mut self, now: Nanos) {
        self.state.expire(&self.specs, now);
    }

    /// Groups with correlation state.
    pub fn open_groups(&self) -> usize {
        self.state.len()
    }
}
