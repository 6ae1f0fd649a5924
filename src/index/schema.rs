//! The tantivy schema, generated from [`Field::ALL`], and the event ⇄ document conversion.
//!
//! One tantivy field per normalized field, named by its dotted ECS name (`source.ip`). How a
//! field is indexed follows its [`FieldKind`]:
//!
//! | kind | tantivy field | why |
//! |---|---|---|
//! | `Timestamp` (`@timestamp`) | date: a nanosecond column, and terms per second | newest-first sorting and histograms read the column; a time window finds its documents from the per-second posting lists (a 10-minute window of 10M events scanned the whole column before) and the column makes the bounds exact |
//! | `Keyword` | text, one lowercased token, doc ids only; fast column of the original value | exact match regardless of case (`PGustavo` = `pgustavo`, as Windows compares names); facets show values as logged |
//! | `Text` | text, words lowercased, with positions | words, phrases (`"cmd.exe /c"`) and wildcards inside command lines, paths, messages |
//! | `Ip` | IP address (IPv6, IPv4 mapped), indexed and fast | exact terms from the inverted index, CIDR ranges from the column |
//! | `Integer` | i64, indexed and fast | exact ports, codes and logon types; ranges from the column |
//! | `Bool` | bool, indexed and fast | |
//!
//! Exceptions, each for a reason: `event.id` is matched exactly as written (it is the
//! document identity, case matters) and has no column (unique per event: a column would cost
//! more than it serves); `log.offset` is column-only (unique per record: its posting lists would
//! be as large as the column and nobody looks a byte offset up without a file).
//!
//! Nothing is scored (results are ordered by time), so no field keeps norms or frequencies
//! beyond what phrases need.
//!
//! Keyword ids that are unique per process or logon (`process.entity_id`,
//! `process.parent.entity_id`, `winlog.logon.id`, `session.id`) have no column either: they are
//! looked up, not counted.
//!
//! Two internal fields: `_source` keeps the event as JSON ([`stored_event`]) in tantivy's
//! compressed document store for drill-down, and `_present` lists the fields an event has that
//! have no column, so `process.command_line:*` (exists) works for every field.

use std::net::{IpAddr, Ipv6Addr};

use tantivy::schema::{
    DateOptions, DateTimePrecision, IndexRecordOption, IpAddrOptions, NumericOptions,
    TextFieldIndexing, TextOptions, Value as _,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{DateTime, TantivyDocument};

use crate::event::{Event, FIELD_COUNT, Field, FieldKind, Value};

/// Stored event (JSON) for drill-down.
pub const SOURCE_FIELD: &str = "_source";
/// Names of the column-less fields an event has (for exists queries on them).
pub const PRESENT_FIELD: &str = "_present";
/// Keyword fields: the whole value, lowercased.
pub const KEYWORD_TOKENIZER: &str = "lateral_keyword";
/// Text fields: words (runs of letters and digits), lowercased.
pub const TEXT_TOKENIZER: &str = "lateral_text";

/// Longest word kept from a text field, in bytes. Longer runs (base64 blobs in encoded
/// PowerShell) would bloat the term dictionary and nobody types them.
const MAX_WORD: usize = 256;
/// Longest keyword value indexed, in bytes (tantivy rejects terms over 64 KiB).
const MAX_KEYWORD: usize = 4096;

/// The index schema: tantivy's schema plus the field handle of every normalized field.
#[derive(Clone)]
pub struct Schema {
    schema: tantivy::schema::Schema,
    fields: Vec<tantivy::schema::Field>,
    source: tantivy::schema::Field,
    present: tantivy::schema::Field,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema")
            .field("fields", &self.fields.len())
            .finish()
    }
}

impl Default for Schema {
    fn default() -> Self {
        Schema::new()
    }
}

/// Whether `field` has an inverted index (term and phrase queries). `@timestamp` has one at
/// second precision (tantivy's for dates), used to find a time window's documents quickly;
/// its column decides the exact bounds.
pub fn is_indexed(field: Field) -> bool {
    !matches!(field, Field::LogOffset)
}

/// Whether `field` has a fast column (sorting, ranges, histograms, facets, exists).
pub fn is_fast(field: Field) -> bool {
    match field {
        // Unique, or nearly, per event, process or logon: a column would cost more than
        // counting their values serves (they are looked up, not faceted).
        Field::EventId
        | Field::ProcessEntityId
        | Field::ProcessParentEntityId
        | Field::LogonId
        | Field::SessionId => false,
        f => f.kind() != FieldKind::Text,
    }
}

fn text_indexing(tokenizer: &str, record: IndexRecordOption) -> TextFieldIndexing {
    TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(record)
        .set_fieldnorms(false)
}

fn field_options(field: Field) -> FieldOptions {
    let numeric = || {
        let o = NumericOptions::default().set_fast();
        if is_indexed(field) {
            o.set_indexed()
        } else {
            o
        }
    };
    match (field, field.kind()) {
        (Field::EventId, _) => FieldOptions::Text(
            TextOptions::default()
                .set_indexing_options(text_indexing("raw", IndexRecordOption::Basic)),
        ),
        (_, FieldKind::Timestamp) => FieldOptions::Date(
            DateOptions::default()
                .set_fast()
                .set_indexed()
                .set_precision(DateTimePrecision::Nanoseconds),
        ),
        (_, FieldKind::Keyword) => FieldOptions::Text(
            TextOptions::default()
                .set_indexing_options(text_indexing(KEYWORD_TOKENIZER, IndexRecordOption::Basic))
                .set_fast("raw"),
        ),
        (_, FieldKind::Text) => FieldOptions::Text(TextOptions::default().set_indexing_options(
            text_indexing(TEXT_TOKENIZER, IndexRecordOption::WithFreqsAndPositions),
        )),
        (_, FieldKind::Ip) => FieldOptions::Ip(IpAddrOptions::default().set_indexed().set_fast()),
        (_, FieldKind::Integer) => FieldOptions::I64(numeric()),
        (_, FieldKind::Bool) => FieldOptions::Bool(numeric()),
    }
}

enum FieldOptions {
    Text(TextOptions),
    Date(DateOptions),
    Ip(IpAddrOptions),
    I64(NumericOptions),
    Bool(NumericOptions),
}

impl Schema {
    /// The schema for the current field list.
    pub fn new() -> Schema {
        let mut b = tantivy::schema::Schema::builder();
        let mut fields = Vec::with_capacity(FIELD_COUNT);
        for &field in Field::ALL {
            let name = field.name();
            let handle = match field_options(field) {
                FieldOptions::Text(o) => b.add_text_field(name, o),
                FieldOptions::Date(o) => b.add_date_field(name, o),
                FieldOptions::Ip(o) => b.add_ip_addr_field(name, o),
                FieldOptions::I64(o) => b.add_i64_field(name, o),
                FieldOptions::Bool(o) => b.add_bool_field(name, o),
            };
            fields.push(handle);
        }
        let source = b.add_bytes_field(
            SOURCE_FIELD,
            tantivy::schema::BytesOptions::default().set_stored(),
        );
        let present = b.add_text_field(
            PRESENT_FIELD,
            TextOptions::default()
                .set_indexing_options(text_indexing("raw", IndexRecordOption::Basic)),
        );
        Schema {
            schema: b.build(),
            fields,
            source,
            present,
        }
    }

    /// Accept an existing index's schema only if it is exactly the one we would build (same
    /// fields, names, types and options); otherwise say what differs.
    pub fn check(existing: &tantivy::schema::Schema) -> Result<Schema, String> {
        let ours = Schema::new();
        let theirs: Vec<_> = existing.fields().map(|(_, e)| e).collect();
        let mine: Vec<_> = ours.schema.fields().map(|(_, e)| e).collect();
        for (i, m) in mine.iter().enumerate() {
            match theirs.get(i) {
                None => return Err(format!("field `{}` is missing", m.name())),
                Some(t) if t != m => {
                    return Err(if t.name() == m.name() {
                        format!("field `{}` is indexed differently", m.name())
                    } else {
                        format!("found `{}` where `{}` belongs", t.name(), m.name())
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = theirs.get(mine.len()) {
            return Err(format!("unknown field `{}`", extra.name()));
        }
        Ok(ours)
    }

    /// tantivy's schema.
    pub fn tantivy(&self) -> &tantivy::schema::Schema {
        &self.schema
    }

    /// The tantivy field of a normalized field.
    pub fn field(&self, field: Field) -> tantivy::schema::Field {
        // `fields` is built from `Field::ALL` in order, so every index is in range.
        self.fields[field.index()]
    }

    /// The stored-event field.
    pub fn source(&self) -> tantivy::schema::Field {
        self.source
    }

    /// The field listing which column-less fields an event has.
    pub fn present(&self) -> tantivy::schema::Field {
        self.present
    }

    /// The document for an event: every set field indexed by its kind, and the event stored.
    pub fn document(&self, ev: &Event) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_date(
            self.field(Field::Timestamp),
            DateTime::from_timestamp_nanos(ev.timestamp),
        );
        doc.add_text(self.field(Field::EventId), &ev.id);
        for (field, value) in ev.fields() {
            let f = self.field(field);
            match (field.kind(), value) {
                (FieldKind::Keyword | FieldKind::Text, Value::Str(s)) => doc.add_text(f, s),
                (FieldKind::Keyword | FieldKind::Text, v) => doc.add_text(f, v.to_string()),
                (FieldKind::Integer, Value::Int(i)) => doc.add_i64(f, *i),
                (FieldKind::Timestamp, Value::Int(i)) => {
                    doc.add_date(f, DateTime::from_timestamp_nanos(*i))
                }
                (FieldKind::Ip, Value::Ip(ip)) => doc.add_ip_addr(f, ipv6(*ip)),
                (FieldKind::Bool, Value::Bool(b)) => doc.add_bool(f, *b),
                // `Event::set` coerces values to their field's kind, so nothing else arrives.
                _ => {}
            }
            if !is_fast(field) {
                doc.add_text(self.present, field.name());
            }
        }
        doc.add_bytes(self.source, &stored_event(ev));
        doc
    }

    /// The event stored in a document.
    pub fn event(&self, doc: &TantivyDocument) -> Result<Event, String> {
        let bytes = doc
            .get_first(self.source)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| "no stored event".to_string())?;
        read_stored(bytes)
    }
}

/// What is kept of an event for drill-down: every normalized field, every `original` field
/// under its source name, and `raw` only when the event has no `original` (see below). It is
/// the content of [`Event::to_json`], written flat with dotted keys
/// (`{"@timestamp":ns,"event.id":..,"source.ip":..,"original":{..}}`) straight from the event:
/// building `to_json`'s nested tree first copies every original value and cost 9 µs of the
/// ~12 µs it took to turn an event into a document.
///
/// `raw` is dropped when `original` is there: for a parsed record it repeats what `original`
/// holds (it roughly doubled the stored size), and `log.file.path` + `log.offset` lead back to
/// the line. Records without `original` keep `raw`, which is then all the source said.
pub fn stored_event(ev: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    // Writing JSON into a Vec cannot fail: values are strings, numbers, booleans and the
    // originals (already JSON).
    let _ = serde_json::to_writer(&mut out, &Stored(ev));
    out
}

struct Stored<'a>(&'a Event);
struct Originals<'a>(&'a [(String, serde_json::Value)]);

impl serde::Serialize for Stored<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let ev = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(Field::Timestamp.name(), &ev.timestamp)?;
        m.serialize_entry(Field::EventId.name(), &ev.id)?;
        for (field, value) in ev.fields() {
            m.serialize_entry(field.name(), value)?;
        }
        if !ev.original.is_empty() {
            m.serialize_entry("original", &Originals(&ev.original))?;
        } else if let Some(raw) = &ev.raw {
            m.serialize_entry("raw", raw)?;
        }
        m.end()
    }
}

impl serde::Serialize for Originals<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The event back from [`stored_event`]'s bytes.
pub fn read_stored(bytes: &[u8]) -> Result<Event, String> {
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("stored JSON: {e}"))?;
    let serde_json::Value::Object(map) = json else {
        return Err("stored JSON is not an object".into());
    };
    let mut ev = Event::default();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("@timestamp", v) => {
                ev.timestamp = v.as_i64().ok_or("`@timestamp` is not nanoseconds")?;
            }
            ("event.id", serde_json::Value::String(id)) => ev.id = id,
            ("original", serde_json::Value::Object(o)) => ev.original = o.into_iter().collect(),
            ("raw", serde_json::Value::String(r)) => ev.raw = Some(r),
            (name, v) => {
                let Some(field) = Field::from_name(name) else {
                    return Err(format!("unknown stored field `{name}`"));
                };
                let value = match v {
                    serde_json::Value::String(s) => Value::Str(s),
                    serde_json::Value::Bool(b) => Value::Bool(b),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::Int(i),
                        None => return Err(format!("`{name}` is not an integer")),
                    },
                    _ => return Err(format!("`{name}` is not a scalar")),
                };
                ev.set(field, value);
            }
        }
    }
    Ok(ev)
}

/// tantivy keeps every address as IPv6; IPv4 is mapped (`::ffff:10.0.0.1`).
pub fn ipv6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Back from tantivy's IPv6 form: mapped IPv4 addresses become IPv4 again.
pub fn from_ipv6(ip: Ipv6Addr) -> IpAddr {
    ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4)
}

/// The analyzer for keyword fields.
pub fn keyword_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_KEYWORD))
        .filter(LowerCaser)
        .build()
}

/// The analyzer for text fields.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD))
        .filter(LowerCaser)
        .build()
}

/// Tokenizers are not stored in the index: register ours every time one is opened.
pub(crate) fn register_tokenizers(index: &tantivy::Index) {
    index
        .tokenizers()
        .register(KEYWORD_TOKENIZER, keyword_analyzer());
    index.tokenizers().register(TEXT_TOKENIZER, text_analyzer());
}

/// Index-wide settings: lz4 document store in 64 KiB blocks. Larger blocks let lz4 find the
/// repetition between consecutive events (same keys, hosts, paths), which is most of the
/// stored size; a hit then decompresses one block (~30 µs), fine for pages of 100.
pub(crate) fn index_settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_compression: tantivy::store::Compressor::Lz4,
        docstore_blocksize: 64 * 1024,
        ..tantivy::IndexSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_in_the_schema_by_its_name() {
        let s = Schema::new();
        for &f in Field::ALL {
            let (handle, path) = s.tantivy().find_field(f.name()).unwrap();
            assert_eq!(handle, s.field(f), "{f}");
            assert!(path.is_empty(), "{f} resolved as a JSON path");
        }
        assert!(Schema::check(s.tantivy()).is_ok());
    }

    #[test]
    fn a_different_schema_is_refused() {
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field("@timestamp", tantivy::schema::STRING);
        let err = Schema::check(&b.build()).unwrap_err();
        assert!(err.contains("@timestamp"), "{err}");
    }

    #[test]
    fn stored_event_reads_back_whole() {
        let mut e = Event::new(1_588_205_199_824_370_123);
        e.id = "00ab-12".into();
        e.set(Field::SourceIp, "10.0.1.4");
        e.set(Field::DestinationIp, "fd00::1");
        e.set(Field::DestinationPort, 445i64);
        e.set(Field::UserName, "PGustavo");
        e.set(Field::ProcessInteractive, true);
        e.set(Field::ProcessCommandLine, "cmd.exe /c \"whoami\"\n");
        e.original
            .push(("LogonType".into(), serde_json::json!("3")));
        e.original
            .push(("Nested.Key".into(), serde_json::json!({"a": [1, 2]})));
        assert_eq!(read_stored(&stored_event(&e)).unwrap(), e);
        let mut bare = Event::new(5);
        bare.id = "x".into();
        bare.set_raw("only raw");
        assert_eq!(read_stored(&stored_event(&bare)).unwrap(), bare);
        assert!(read_stored(b"[1]").is_err());
        assert!(read_stored(b"{\"bogus.field\":1,\"@timestamp\":1}").is_err());
    }

    #[test]
    fn stored_event_drops_raw_only_when_original_has_it() {
        let mut e = Event::new(1);
        e.id = "x-1".into();
        e.set_raw("a raw line");
        let bare = stored_event(&e);
        assert!(String::from_utf8_lossy(&bare).contains("a raw line"));
        e.original.push(("k".into(), serde_json::json!("v")));
        let with_original = stored_event(&e);
        assert!(!String::from_utf8_lossy(&with_original).contains("a raw line"));
    }

    #[test]
    fn ipv4_survives_the_ipv6_form() {
        let ip: IpAddr = "10.0.1.4".parse().unwrap();
        assert_eq!(from_ipv6(ipv6(ip)), ip);
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(from_ipv6(ipv6(v6)), v6);
    }
}
