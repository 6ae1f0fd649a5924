//! The Sigma mapping: which of our events feed a Sigma `logsource`, and where each Sigma field
//! name is read on them. The data lives in `mapping.yml` (shipped in the binary, replaceable
//! with `--sigma-mapping FILE`); this module parses and validates it and answers two
//! questions: [`Mapping::route`] (log source → sources) and [`Mapping::resolve`] (field name on
//! a profile → [`FieldRef`]).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_norway::Value as Y;

use super::SigmaError;
use crate::correlate::detection::FieldRef;
use crate::event::Field;

/// The mapping shipped with lateral.
pub const BUILTIN: &str = include_str!("mapping.yml");

/// A Sigma `logsource` (lower-cased, as the specification writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogSource {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

impl LogSource {
    /// Read the three routing keys of a `logsource:` mapping.
    pub fn from_yaml(v: Option<&Y>) -> LogSource {
        let get = |k: &str| {
            v.and_then(|m| m.get(k))
                .and_then(Y::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
        };
        LogSource {
            product: get("product"),
            category: get("category"),
            service: get("service"),
        }
    }

    /// Whether every key this one names has the same value in `other` (filters and
    /// `unsupported` entries apply to the rules they are less specific than).
    pub fn covers(&self, other: &LogSource) -> bool {
        let ok = |a: &Option<String>, b: &Option<String>| a.is_none() || a == b;
        ok(&self.product, &other.product)
            && ok(&self.category, &other.category)
            && ok(&self.service, &other.service)
    }
}

impl std::fmt::Display for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (k, v) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        if parts.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// One kind of event that feeds a log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `event.dataset` it has (or `None` with `module`).
    pub dataset: Option<String>,
    /// `event.module` it has, when not restricted to a dataset.
    pub module: Option<String>,
    /// `event.code` values (empty: any).
    pub codes: Vec<String>,
    /// Further conditions: the field holds one of the values (ASCII case-insensitive).
    pub conditions: Vec<(FieldRef, Vec<String>)>,
    /// How Sigma field names read on it.
    pub profile: String,
}

impl Source {
    /// Whether an event already routed to this source's dataset (and code) meets the further
    /// conditions.
    pub fn admits(&self, ev: &crate::event::Event) -> bool {
        self.conditions.iter().all(|(field, values)| {
            field.any_value(ev, |v| values.iter().any(|w| w.eq_ignore_ascii_case(v)))
        })
    }

    /// `dataset` or `module:name`, with codes, for listings.
    pub fn label(&self) -> String {
        let mut s = match (&self.dataset, &self.module) {
            (Some(d), _) => d.clone(),
            (None, Some(m)) => format!("module:{m}"),
            (None, None) => "?".to_string(),
        };
        if !self.codes.is_empty() {
            s.push_str(&format!(" {}", self.codes.join("/")));
        }
        s
    }
}

/// How Sigma field names read on one kind of event.
#[derive(Debug, Clone)]
struct Profile {
    open: bool,
    prefixes: Vec<String>,
    fields: HashMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
struct Entry {
    logsource: LogSource,
    sources: Vec<Source>,
}

/// The parsed, validated mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Where it came from (`builtin:mapping.yml` or a path).
    pub origin: String,
    profiles: HashMap<String, Profile>,
    entries: Vec<Entry>,
    unsupported: Vec<(LogSource, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    profiles: BTreeMap<String, ProfileFile>,
    logsources: Vec<EntryFile>,
    #[serde(default)]
    unsupported: Vec<UnsupportedFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    open: bool,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSourceFile {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

impl LogSourceFile {
    fn to_logsource(&self) -> LogSource {
        let norm = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_ascii_lowercase());
        LogSource {
            product: norm(&self.product),
            category: norm(&self.category),
            service: norm(&self.service),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    logsource: LogSourceFile,
    profile: Option<String>,
    sources: Vec<SourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    dataset: Option<String>,
    module: Option<String>,
    #[serde(default)]
    codes: Vec<Y>,
    #[serde(default, rename = "where")]
    conditions: BTreeMap<String, Vec<String>>,
    profile: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsupportedFile {
    logsource: LogSourceFile,
    reason: String,
}

impl Mapping {
    /// The mapping shipped with lateral.
    pub fn builtin() -> Result<Mapping, SigmaError> {
        Mapping::parse(BUILTIN, "builtin:mapping.yml")
    }

    /// Parse and validate a mapping file.
    pub fn parse(text: &str, origin: &str) -> Result<Mapping, SigmaError> {
        let err = |line: Option<usize>, key: &str, reason: String| SigmaError::Mapping {
            file: origin.to_string(),
            line,
            key: key.to_string(),
            reason,
        };
        let file: MappingFile = serde_norway::from_str(text).map_err(|e| {
            err(
                e.location().map(|l| l.line()),
                "",
                format!("invalid mapping: {e}"),
            )
        })?;
        let mut profiles = HashMap::new();
        for (name, p) in file.profiles {
            let fields = p
                .fields
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            OneOrMany::One(s) => vec![s],
                            OneOrMany::Many(v) => v,
                        },
                    )
                })
                .collect();
            profiles.insert(
                name,
                Profile {
                    open: p.open,
                    prefixes: p.prefixes,
                    fields,
                },
            );
        }
        let mut entries = Vec::new();
        for (i, e) in file.logsources.into_iter().enumerate() {
            let logsource = e.logsource.to_logsource();
            let key = format!("logsources[{i}] ({logsource})");
            let mut sources = Vec::new();
            for s in e.sources {
                let profile = s
                    .profile
                    .or_else(|| e.profile.clone())
                    .ok_or_else(|| err(None, &key, "a source needs a profile".into()))?;
                if !profiles.contains_key(&profile) {
                    return Err(err(None, &key, format!("unknown profile `{profile}`")));
                }
                if s.dataset.is_some() == s.module.is_some() {
                    return Err(err(
                        None,
                        &key,
                        "a source names exactly one of `dataset` and `module`".into(),
                    ));
                }
                let codes = s
                    .codes
                    .iter()
                    .map(|c| match c {
                        Y::Number(n) => Ok(n.to_string()),
                        Y::String(s) => Ok(s.clone()),
                        _ => Err(err(None, &key, "codes are numbers or strings".into())),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let conditions = s
                    .conditions
                    .into_iter()
                    .map(|(f, values)| (FieldRef::resolve(&f), values))
                    .collect();
                sources.push(Source {
                    dataset: s.dataset,
                    module: s.module,
                    codes,
                    conditions,
                    profile,
                });
            }
            entries.push(Entry { logsource, sources });
        }
        let unsupported = file
            .unsupported
            .into_iter()
            .map(|u| (u.logsource.to_logsource(), u.reason))
            .collect();
        Ok(Mapping {
            origin: origin.to_string(),
            profiles,
            entries,
            unsupported,
        })
    }

    /// The sources of a rule's log source, or why lateral cannot feed it.
    ///
    /// An entry applies when its category and service equal the rule's (both absent counts as
    /// equal) and, when the rule names a product, its product equals the rule's: a rule for
    /// `category: process_creation` alone reads every product's process events.
    pub fn route(&self, ls: &LogSource) -> Result<Vec<Source>, String> {
        if ls.product.is_none() && ls.category.is_none() && ls.service.is_none() {
            return Err("the rule has no logsource (product, category or service)".into());
        }
        let mut out: Vec<Source> = Vec::new();
        for e in &self.entries {
            let product_ok = ls.product.is_none() || ls.product == e.logsource.product;
            if product_ok
                && e.logsource.category == ls.category
                && e.logsource.service == ls.service
            {
                for s in &e.sources {
                    if !out.contains(s) {
                        out.push(s.clone());
                    }
                }
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
        if let Some((_, reason)) = self.unsupported.iter().find(|(u, _)| u.covers(ls)) {
            return Err(format!("log source {ls}: {reason}"));
        }
        Err(format!(
            "log source {ls} has no mapping (see `lateral rules list`; add one with --sigma-mapping)"
        ))
    }

    /// Where a Sigma field name is read on events of `profile`, or why it is unknown there.
    pub fn resolve(&self, profile: &str, name: &str) -> Result<FieldRef, String> {
        let p = self
            .profiles
            .get(profile)
            .ok_or_else(|| format!("unknown mapping profile `{profile}`"))?;
        let one = |target: &str| match Field::from_name(target) {
            Some(f) => FieldRef::Normalized(f),
            None => FieldRef::Original(target.to_string()),
        };
        if let Some(targets) = p.fields.get(name) {
            return Ok(match targets.as_slice() {
                [t] => one(t),
                many => FieldRef::Any(many.iter().map(|t| one(t)).collect()),
            });
        }
        if let Some(f) = Field::from_name(name) {
            return Ok(FieldRef::Normalized(f));
        }
        if !p.open {
            let mut known: Vec<&str> = p.fields.keys().map(String::as_str).collect();
            known.sort_unstable();
            let hint = known
                .iter()
                .map(|k| (crate::event::edit_distance(name, k), *k))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown field `{name}` for {profile} events{hint}; known: {}, or a normalized field",
                known.join(", ")
            ));
        }
        if p.prefixes.is_empty() {
            return Ok(FieldRef::Original(name.to_string()));
        }
        let mut refs = vec![FieldRef::Original(name.to_string())];
        refs.extend(
            p.prefixes
                .iter()
                .map(|pre| FieldRef::Original(format!("{pre}{name}"))),
        );
        Ok(FieldRef::Any(refs))
    }

    /// Whether unmapped names read originals on this profile.
    pub fn is_open(&self, profile: &str) -> bool {
        self.profiles.get(profile).is_some_and(|p| p.open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            product: product.map(str::to_string),
            category: category.map(str::to_string),
            service: service.map(str::to_string),
        }
    }

    #[test]
    fn builtin_mapping_parses() {
        let m = Mapping::builtin().unwrap();
        assert!(m.entries.len() > 80);
    }

    #[test]
    fn routes_categories_products_and_services() {
        let m = Mapping::builtin().unwrap();
        let pc = m
            .route(&ls(Some("windows"), Some("process_creation"), None))
            .unwrap();
        assert_eq!(
            pc.iter().map(Source::label).collect::<Vec<_>>(),
            vec!["windows.sysmon 1", "windows.security 4688"]
        );
        let any = m.route(&ls(None, Some("process_creation"), None)).unwrap();
        assert!(
            any.iter()
                .any(|s| s.dataset.as_deref() == Some("tetragon.events"))
        );
        let sec = m
            .route(&ls(Some("windows"), None, Some("security")))
            .unwrap();
        assert_eq!(sec[0].label(), "windows.security");
        let zeek = m.route(&ls(Some("zeek"), None, Some("dce_rpc"))).unwrap();
        assert_eq!(zeek[0].label(), "zeek.dce_rpc");
        let e = m
            .route(&ls(Some("aws"), None, Some("cloudtrail")))
            .unwrap_err();
        assert!(e.contains("CloudTrail"), "{e}");
        let e = m
            .route(&ls(Some("windows"), Some("file_access"), None))
            .unwrap_err();
        assert!(e.contains("ETW"), "{e}");
        assert!(m.route(&ls(Some("acme"), None, None)).is_err());
    }

    #[test]
    fn resolves_fields_per_profile() {
        let m = Mapping::builtin().unwrap();
        assert_eq!(
            m.resolve("windows", "TargetUserName").unwrap(),
            FieldRef::Original("TargetUserName".into())
        );
        assert_eq!(
            m.resolve("windows-4688", "Image").unwrap(),
            FieldRef::Original("NewProcessName".into())
        );
        assert_eq!(
            m.resolve("linux-process", "CommandLine").unwrap(),
            FieldRef::Normalized(Field::ProcessCommandLine)
        );
        let e = m.resolve("linux-process", "Imagee").unwrap_err();
        assert!(e.contains("did you mean `Image`"), "{e}");
        assert!(matches!(
            m.resolve("auditd", "exe").unwrap(),
            FieldRef::Any(v) if v.contains(&FieldRef::Original("SYSCALL.exe".into()))
        ));
    }

    #[test]
    fn bad_mappings_are_reported() {
        let e = Mapping::parse(
            "profiles: {p: {open: true}}\nlogsources:\n  - {logsource: {product: x}, sources: [{dataset: a, profile: q}]}\n",
            "m.yml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown profile `q`"), "{e}");
        let e = Mapping::parse("profiles: [", "m.yml").unwrap_err();
        assert!(e.to_string().starts_with("m.yml:"), "{e}");
    }
}
