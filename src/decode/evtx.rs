//! Windows EVTX event log files (`.evtx`), the binary format of the Windows Event Log
//! service: a 4 KiB file header (`ElfFile\0`), then 64 KiB chunks (`ElfChnk\0`) of records
//! in Binary XML.
//!
//! Parsing is the `evtx` crate's: every record is rendered to compact JSON
//! (`{"Event": {"System": {...}, "EventData": {...}}}`) and read once, straight into one
//! event (not through `serde_json::Value` as the crate's `records_json_value` does: building a
//! hash map per XML element only to take it apart again cost more than the rendering). The
//! record's `EventData` (or `UserData`) fields become originals under their own names, the
//! System fields under flat names (`Channel`, `EventID`, `Provider_Name`, `Computer`,
//! `TimeCreated`, `EventRecordID`, `ExecutionProcessID`, `UserID`, ...), and
//! [`super::windows::normalize`] fills the normalized fields exactly as for the JSON exports.
//!
//! The event id is built from the record's `EventRecordID` (stable across re-reads and across
//! copies of the file); `log.offset` is that record id. A damaged chunk or record is one
//! [`DecodeError::Evtx`] and parsing goes on with the next; a file the parser rejects outright
//! (bad file header) is a single error.
//!
//! Reference: Microsoft, "Windows XML Event Log (EVTX) format" (MS-EVEN6 Binary XML), and the
//! event schema `http://schemas.microsoft.com/win/2004/08/events/event`.

use std::borrow::Cow;
use std::fmt;

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings, SerializedEvtxRecord};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as J;

use super::windows::{self, Data};
use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Nanos};

/// The EVTX format.
pub const FORMAT: Format = Format {
    name: "evtx",
    description: "Windows EVTX event logs (Security, Sysmon, System, RDP, WinRM, PowerShell, ...)",
    framing: Framing::Whole,
    detect,
    decoder: || Box::new(EvtxDecoder),
};

/// File header magic.
const MAGIC: &[u8] = b"ElfFile\0";
/// Size of the file header and of a chunk, to turn chunk numbers into file offsets.
const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;

/// Worker threads for chunks: 0 lets the crate use its rayon pool (one per core). Chunks are
/// independent, and each record is rendered and normalized on the worker that parsed its
/// chunk, so the calling thread only collects events. Measured on the corpus on 2 cores:
/// ~1.3x the events/s of a single thread for ~15% more CPU time in all.
const THREADS: usize = 0;

fn detect(_name: &str, head: &[u8]) -> u8 {
    if head.starts_with(MAGIC) { 100 } else { 0 }
}

#[derive(Debug)]
struct EvtxDecoder;

impl Decoder for EvtxDecoder {
    fn decode(&mut self, record: &[u8], _offset: u64, ctx: &Context, out: &mut Sink) {
        // The crate is a parser of hostile input written by someone else: should it ever
        // panic on a crafted file, that file becomes one error, not the end of the run.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_file(record, ctx, out);
        }));
        if caught.is_err() {
            out.errors.push(DecodeError::Evtx {
                offset: 0,
                reason: "the EVTX parser failed on this file (internal panic); events before \
                         the failure are kept"
                    .into(),
            });
        }
    }
}

fn decode_file(bytes: &[u8], ctx: &Context, out: &mut Sink) {
    let settings = ParserSettings::new()
        .num_threads(THREADS)
        // Compact JSON is less to render and less to parse back.
        .indent(false);
    let mut parser = match EvtxParser::from_buffer(bytes.to_vec()) {
        Ok(p) => p.with_configuration(settings),
        Err(e) => {
            out.errors.push(DecodeError::Evtx {
                offset: 0,
                reason: error_chain(&e),
            });
            return;
        }
    };
    // Each record is rendered to JSON and turned into an event where its chunk is parsed
    // (on the crate's worker threads); only finished events come back.
    let ctx = ctx.clone();
    let events = parser.serialized_records(move |record| {
        Ok(match record.and_then(|r| r.into_json_bytes()) {
            Ok(rendered) => to_event(rendered, &ctx),
            Err(e) => Err(parser_error(&e)),
        })
    });
    for item in events {
        match item {
            Ok(Ok(ev)) => out.events.push(ev),
            Ok(Err(e)) => out.errors.push(e),
            Err(e) => out.errors.push(parser_error(&e)),
        }
    }
}

fn parser_error(e: &EvtxError) -> DecodeError {
    DecodeError::Evtx {
        offset: error_offset(e),
        reason: error_chain(e),
    }
}

/// Where a parser error is: the record id, else the file offset of the chunk or record.
fn error_offset(e: &EvtxError) -> u64 {
    match e {
        EvtxError::FailedToParseRecord { record_id, .. } => *record_id,
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            FILE_HEADER_SIZE.saturating_add(chunk_id.saturating_mul(CHUNK_SIZE))
        }
        EvtxError::FailedToReadRecordAt { chunk, offset, .. } => match chunk {
            Some(c) => FILE_HEADER_SIZE
                .saturating_add(c.saturating_mul(CHUNK_SIZE))
                .saturating_add(*offset),
            None => *offset,
        },
        _ => 0,
    }
}

/// The error and its causes, `outer: inner: ...` (the outer message alone only says
/// "Failed to parse record number N").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// One rendered record → one normalized event.
fn to_event(rec: SerializedEvtxRecord<Vec<u8>>, ctx: &Context) -> Result<Event, DecodeError> {
    let record_id = rec.event_record_id;
    let mut flat = Flat {
        // Room for the System fields and a typical EventData without regrowing.
        fields: Vec::with_capacity(48),
        data: Vec::with_capacity(32),
        time_created: None,
    };
    let mut de = serde_json::Deserializer::from_slice(&rec.data);
    let found = RecordSeed(&mut flat)
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found))
        .map_err(|e| DecodeError::Evtx {
            offset: record_id,
            reason: format!("record rendered to unreadable JSON: {e}"),
        })?;
    if !found {
        return Err(DecodeError::Evtx {
            offset: record_id,
            reason: "record has no Event element".into(),
        });
    }
    let Flat {
        mut fields,
        data,
        time_created,
    } = flat;
    // EventData names win over System names on a clash (Sigma rules name EventData fields);
    // only the dozen System names need checking.
    let system_len = fields.len();
    for (k, v) in data {
        match fields
            .get_mut(..system_len)
            .and_then(|sys| sys.iter_mut().find(|(sk, _)| *sk == k))
        {
            Some(slot) => slot.1 = v,
            None => fields.push((k, v)),
        }
    }

    // TimeCreated is the event's time, in UTC with 100 ns precision; the record header's
    // timestamp (when the record was written) is the fallback. Sysmon's own UtcTime wins for
    // Sysmon records (see `windows::sysmon_time`).
    let written = i64::try_from(rec.timestamp.as_nanosecond()).unwrap_or(0);
    let ts = windows::sysmon_time(Data(&fields))
        .or(time_created)
        .unwrap_or(written);
    let mut ev = Event::new(ts);
    ev.original = fields;
    windows::normalize(&mut ev);
    ctx.stamp(&mut ev, record_id);
    Ok(ev)
}

// ---------------------------------------------------------------------------------------
// The record's JSON, read straight into flat fields.
//
// The crate renders a record as `{"Event": {"#attributes": ..., "System": {...},
// "EventData": {...}}}`, attributes as `{"#attributes": {...}}` members. Reading that into
// `serde_json::Value` first (what `records_json_value` does) builds a hash map per element
// only to take it apart again; these seeds walk the JSON once and push the leaves.

/// What one record holds.
#[derive(Debug, Default)]
struct Flat {
    /// System fields under flat names.
    fields: Vec<(String, J)>,
    /// EventData / UserData items (and any other section, flattened).
    data: Vec<(String, J)>,
    /// System/TimeCreated/@SystemTime, parsed.
    time_created: Option<Nanos>,
}

/// A map key, borrowed from the input unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `{"Event": ...}`; yields whether the Event element was there.
struct RecordSeed<'a>(&'a mut Flat);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rendered EVTX record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(Key(k)) = m.next_key()? {
            if k == "Event" && !found {
                m.next_value_seed(EventSeed(&mut *self.0))?;
                found = true;
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The Event element: System, EventData or UserData, and rarer sections.
struct EventSeed<'a>(&'a mut Flat);

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Event element")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let flat = self.0;
        while let Some(Key(k)) = m.next_key()? {
            match k.as_ref() {
                "System" => m.next_value_seed(SystemSeed(&mut *flat))?,
                "EventData" => m.next_value_seed(EventDataSeed(&mut flat.data))?,
                "UserData" => m.next_value_seed(UserDataSeed(&mut flat.data))?,
                "#attributes" => {
                    m.next_value::<IgnoredAny>()?;
                }
                // ProcessingErrorData, DebugData, BinaryEventData, RenderingInfo.
                _ => {
                    let v: J = m.next_value()?;
                    super::json::flatten(v, &k, &mut flat.data);
                }
            }
        }
        Ok(())
    }
}

/// The System element, flattened under readable names.
struct SystemSeed<'a>(&'a mut Flat);

impl<'de> DeserializeSeed<'de> for SystemSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SystemSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a System element")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let flat = self.0;
        while let Some(Key(k)) = m.next_key()? {
            let attrs = match k.as_ref() {
                "Provider" => Some(Attrs::Provider),
                "TimeCreated" => Some(Attrs::TimeCreated),
                // Prefixed: EventData has its own ProcessID (5156) and ThreadID fields.
                "Execution" => Some(Attrs::Execution),
                "Correlation" | "Security" => Some(Attrs::Plain),
                _ => None,
            };
            if let Some(kind) = attrs {
                m.next_value_seed(AttrsSeed {
                    flat: &mut *flat,
                    kind,
                })?;
                continue;
            }
            let v: J = m.next_value()?;
            match (k.as_ref(), v) {
                ("EventID", J::Object(parts)) => {
                    // `{"#attributes": {"Qualifiers": 16384}, "#text": 7045}`
                    for (a, av) in parts {
                        match (a.as_str(), av) {
                            ("#text", av) => flat.fields.push(("EventID".into(), numeric(av))),
                            ("#attributes", J::Object(q)) => flat.fields.extend(q),
                            _ => {}
                        }
                    }
                }
                ("EventID", v) => flat.fields.push(("EventID".into(), numeric(v))),
                (_, J::Null) => {}
                (_, v @ J::Object(_)) => super::json::flatten(v, &k, &mut flat.fields),
                (_, v) => flat.fields.push((k.into_owned(), v)),
            }
        }
        Ok(())
    }
}

/// Which System element's attributes are being read (they are named for where they go).
#[derive(Debug, Clone, Copy)]
enum Attrs {
    Provider,
    TimeCreated,
    Execution,
    Plain,
}

/// An element rendered as `{"#attributes": {...}}` (or null when it has none).
struct AttrsSeed<'a> {
    flat: &'a mut Flat,
    kind: Attrs,
}

impl<'de> DeserializeSeed<'de> for AttrsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttrsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element with attributes")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = m.next_key()? {
            if k != "#attributes" {
                m.next_value::<IgnoredAny>()?;
                continue;
            }
            let attrs: Option<Vec<(String, J)>> = m.next_value::<Option<Entries>>()?.map(|e| e.0);
            for (a, v) in attrs.into_iter().flatten() {
                if v.is_null() {
                    continue;
                }
                let name = match (self.kind, a.as_str()) {
                    (Attrs::Provider, "Name") => "Provider_Name".to_string(),
                    (Attrs::Provider, "Guid") => "Provider_Guid".to_string(),
                    (Attrs::TimeCreated, "SystemTime") => {
                        self.flat.time_created = v.as_str().and_then(windows::parse_time);
                        "TimeCreated".to_string()
                    }
                    (Attrs::Execution, _) => format!("Execution{a}"),
                    _ => a,
                };
                self.flat.fields.push((name, v));
            }
        }
        Ok(())
    }
}

/// An object's entries in order, without building a map.
struct Entries(Vec<(String, J)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(4));
                while let Some(e) = m.next_entry::<String, J>()? {
                    v.push(e);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// `EventData`: named `Data` items become fields; unnamed ones (`{"Data": {"#text": [...]}}`)
/// become `param1`, `param2`, ... as NXLog names them, so EVTX and NXLog exports agree.
struct EventDataSeed<'a>(&'a mut Vec<(String, J)>);

impl<'de> DeserializeSeed<'de> for EventDataSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventDataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EventData element")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push(("EventData".into(), J::String(v.to_string())));
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = m.next_key()? {
            match k.as_ref() {
                "#attributes" => {
                    m.next_value::<IgnoredAny>()?;
                }
                "Data" => unnamed_data(m.next_value()?, self.0),
                _ => data_item(k.into_owned(), m.next_value()?, self.0),
            }
        }
        Ok(())
    }
}

/// `UserData` holds one provider-defined element (`EventXML`, `LogFileCleared`,
/// `Operation_ClientFailure`, ...) whose children are the data.
struct UserDataSeed<'a>(&'a mut Vec<(String, J)>);

impl<'de> DeserializeSeed<'de> for UserDataSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserDataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UserData element")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = m.next_key()? {
            match m.next_value()? {
                J::Object(fields) => {
                    for (f, fv) in fields {
                        if f != "#attributes" {
                            data_item(f, fv, self.0);
                        }
                    }
                }
                J::Null => {}
                other => self.0.push((k.into_owned(), other)),
            }
        }
        Ok(())
    }
}

/// A number for an id the crate rendered as text (some logs store every value as a string).
fn numeric(v: J) -> J {
    match &v {
        J::String(s) => s.trim().parse::<i64>().map(J::from).unwrap_or(v),
        _ => v,
    }
}

fn unnamed_data(v: J, out: &mut Vec<(String, J)>) {
    let v = match v {
        J::Object(m) => match m.into_iter().find(|(k, _)| k == "#text") {
            Some((_, t)) => t,
            None => return,
        },
        other => other,
    };
    match v {
        J::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                out.push((format!("param{}", i + 1), null_to_empty(item)));
            }
        }
        other => out.push(("param1".into(), null_to_empty(other))),
    }
}

/// An empty `<Data Name="x"/>` renders as null; it is an empty string in the XML.
fn null_to_empty(v: J) -> J {
    if v.is_null() {
        J::String(String::new())
    } else {
        v
    }
}

/// One named item; an item with attributes renders as `{"#attributes":..., "#text": ...}`.
fn data_item(k: String, v: J, out: &mut Vec<(String, J)>) {
    match v {
        J::Object(m) => {
            if m.contains_key("#text") {
                for (a, av) in m {
                    if a == "#text" {
                        out.push((k.clone(), null_to_empty(av)));
                    }
                }
            } else {
                super::json::flatten(J::Object(m), &k, out);
            }
        }
        other => out.push((k, null_to_empty(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_all;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::event::{Field, parse_timestamp};
    use serde_json::json;
    use std::path::PathBuf;

    /// A corpus file, or `None` (test skipped) when the shared corpus is not there.
    fn corpus(rel: &str) -> Option<Vec<u8>> {
        let dir = std::env::var_os("LATERAL_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
        let path = dir.join(rel);
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(_) => {
                eprintln!("skipped: no corpus file {}", path.display());
                None
            }
        }
    }

    fn record(data: J) -> SerializedEvtxRecord<Vec<u8>> {
        SerializedEvtxRecord {
            event_record_id: 42,
            timestamp: evtx::Timestamp::from_second(1_600_000_000).unwrap(),
            data: serde_json::to_vec(&data).unwrap(),
            recovered: false,
        }
    }

    #[test]
    fn detection() {
        assert_eq!(detect("x.evtx", b"ElfFile\0\0\0\0\0"), 100);
        assert_eq!(detect("x.evtx", b"ElfChnk\0"), 0);
        assert_eq!(detect("x.log", b"{\"EventID\": 1}"), 0);
    }

    #[test]
    fn record_json_to_event() {
        let r = record(json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Service Control Manager", "Guid": "{555908d1}", "EventSourceName": "Service Control Manager"}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                "Version": 0, "Level": 4, "Task": 0, "Opcode": 0, "Keywords": "0x8080000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2023-02-01T10:11:12.1234567Z"}},
                "EventRecordID": 42, "Correlation": null,
                "Execution": {"#attributes": {"ProcessID": 640, "ThreadID": 7000}},
                "Channel": "System", "Computer": "SRV01.corp.example",
                "Security": {"#attributes": {"UserID": "S-1-5-21-1-2-3-500"}}
            },
            "EventData": {"ServiceName": "updsvc", "ImagePath": "%SystemRoot%\\upd.exe", "ServiceType": "user mode service", "StartType": "demand start", "AccountName": "LocalSystem"}
        }}));
        let ev = to_event(r, &ctx()).unwrap();
        assert_eq!(
            ev.timestamp,
            parse_timestamp("2023-02-01T10:11:12.1234567Z").unwrap()
        );
        assert_eq!(ev.id, ctx().event_id(42));
        assert_eq!(ev.int(Field::LogOffset), Some(42));
        assert_eq!(ev.str(Field::EventCode), Some("7045"));
        assert_eq!(ev.str(Field::EventDataset), Some("windows.system"));
        assert_eq!(ev.str(Field::HostName), Some("SRV01.corp.example"));
        assert_eq!(ev.str(Field::ServiceName), Some("updsvc"));
        assert_eq!(
            ev.str(Field::ProcessExecutable),
            Some("%SystemRoot%\\upd.exe")
        );
        assert_eq!(ev.str(Field::UserId), Some("S-1-5-21-1-2-3-500"));
        assert_eq!(ev.original("EventID"), Some(&json!(7045)));
        assert_eq!(ev.original("Qualifiers"), Some(&json!(16384)));
        assert_eq!(
            ev.original_str("Provider_Name").as_deref(),
            Some("Service Control Manager")
        );
        assert_eq!(ev.original("ExecutionProcessID"), Some(&json!(640)));
        assert_eq!(
            ev.original_str("AccountName").as_deref(),
            Some("LocalSystem")
        );
    }

    #[test]
    fn user_data_and_unnamed_data() {
        let r = record(json!({"Event": {
            "System": {"EventID": "1149", "Channel": "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
                       "Computer": "RDS01", "TimeCreated": {"#attributes": {"SystemTime": "2023-02-01T10:11:12Z"}}},
            "UserData": {"EventXML": {"#attributes": {"xmlns": "Event_NS"}, "Param1": "jdoe", "Param2": null, "Param3": "10.2.3.4"}}
        }}));
        let ev = to_event(r, &ctx()).unwrap();
        assert_eq!(ev.original("EventID"), Some(&json!(1149)));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.original("Param2"), Some(&json!("")));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.2.3.4".parse().unwrap()));

        let r = record(json!({"Event": {
            "System": {"EventID": 400, "Channel": "Windows PowerShell"},
            "EventData": {"Data": {"#text": ["Available", "None", "\tNewEngineState=Available\r\n\tHostName=ServerRemoteHost\r\n\tHostApplication=C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n"]}}
        }}));
        let ev = to_event(r, &ctx()).unwrap();
        assert_eq!(ev.original_str("param1").as_deref(), Some("Available"));
        assert_eq!(
            ev.str(Field::ProcessCommandLine),
            Some("C:\\Windows\\system32\\wsmprovhost.exe -Embedding")
        );
        // No TimeCreated: the record header's time.
        assert_eq!(ev.timestamp, 1_600_000_000_000_000_000);
    }

    #[test]
    fn event_data_wins_a_name_clash_with_system() {
        let r = record(json!({"Event": {
            "System": {"EventID": 5156, "Channel": "Security", "Version": 1,
                       "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 60}}},
            "EventData": {"ProcessID": 812, "Version": "x", "SourceAddress": "10.0.0.1"}
        }}));
        let ev = to_event(r, &ctx()).unwrap();
        assert_eq!(ev.original("ProcessID"), Some(&json!(812)));
        assert_eq!(ev.original("ExecutionProcessID"), Some(&json!(4)));
        assert_eq!(ev.original("Version"), Some(&json!("x")));
        assert_eq!(
            ev.original.iter().filter(|(k, _)| k == "Version").count(),
            1
        );
        assert_eq!(ev.int(Field::ProcessPid), Some(812));
    }

    #[test]
    fn non_object_records_are_errors() {
        assert!(to_event(record(json!([1])), &ctx()).is_err());
        assert!(to_event(record(json!({"NotEvent": {}})), &ctx()).is_err());
        assert!(to_event(record(json!({"Event": {"System": [1]}})), &ctx()).is_err());
        let mut bad = record(json!({}));
        bad.data = b"{\"Event\": {\"System\": {\"EventID\": 1}}} trailing".to_vec();
        assert!(to_event(bad, &ctx()).is_err());
        // Odd but well-formed shapes are read, not rejected.
        let ev = to_event(
            record(
                json!({"Event": {"System": {"EventID": "12", "Channel": "X", "Correlation": null,
                "Execution": {"#attributes": {"ProcessID": 1}, "#text": "ignored"}},
                "EventData": "free text", "DebugData": {"a": {"b": 1}}}}),
            ),
            &ctx(),
        )
        .unwrap();
        assert_eq!(ev.original("EventID"), Some(&json!(12)));
        assert_eq!(ev.original_str("EventData").as_deref(), Some("free text"));
        assert_eq!(ev.original("DebugData.a.b"), Some(&json!(1)));
        assert_eq!(ev.str(Field::EventDataset), Some("windows.x"));
    }

    #[test]
    fn garbage_is_one_error_not_a_panic() {
        let mut bytes = b"ElfFile\0".to_vec();
        bytes.extend_from_slice(&[0xAB; 5000]);
        let sink = decode_all(&FORMAT, &bytes, &ctx());
        assert!(sink.events.is_empty());
        assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
        let sink = decode_all(&FORMAT, b"ElfFile\0", &ctx());
        assert_eq!(sink.errors.len(), 1);
        let sink = decode_all(&FORMAT, b"", &ctx());
        assert_eq!(sink.errors.len(), 1);
    }

    #[test]
    fn random_bytes_after_the_magic_never_panic() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(64), |(tail in proptest::collection::vec(any::<u8>(), 0..9000))| {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&tail);
            let sink = decode_all(&FORMAT, &bytes, &ctx());
            prop_assert!(sink.events.is_empty());
        });
    }

    #[test]
    fn corpus_security_logons() {
        let Some(bytes) =
            corpus("evtx-attack-samples/Lateral Movement/LM_WMI_4624_4688_TargetHost.evtx")
        else {
            return;
        };
        let evs = decode_ok(&FORMAT, &bytes);
        assert_eq!(evs.len(), 8);
        let logon = evs
            .iter()
            .find(|e| e.str(Field::EventCode) == Some("4624") && e.int(Field::LogonType) == Some(3))
            .expect("a network logon");
        assert_eq!(logon.str(Field::EventDataset), Some("windows.security"));
        assert!(logon.ip(Field::SourceIp).is_some());
        assert!(logon.str(Field::UserName).is_some());
        assert!(logon.original("TargetUserName").is_some());
        let proc = evs
            .iter()
            .find(|e| e.str(Field::EventCode) == Some("4688"))
            .expect("a process creation");
        assert!(proc.str(Field::ProcessExecutable).is_some());
        assert!(proc.int(Field::ProcessPid).is_some());
        // Record ids are unique, so event ids are.
        let mut ids: Vec<_> = evs.iter().map(|e| e.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), evs.len());
    }

    #[test]
    fn corpus_sysmon_uses_utc_time() {
        let Some(bytes) =
            corpus("evtx-attack-samples/Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx")
        else {
            return;
        };
        let evs = decode_ok(&FORMAT, &bytes);
        assert_eq!(evs.len(), 9);
        for e in &evs {
            assert_eq!(e.str(Field::EventDataset), Some("windows.sysmon"));
            let utc = e.original_str("UtcTime").unwrap();
            assert_eq!(Some(e.timestamp), parse_timestamp(&utc));
        }
        assert!(evs.iter().any(|e| e.str(Field::EventCode) == Some("3")
            && e.ip(Field::DestinationIp).is_some()
            && e.int(Field::DestinationPort).is_some()));
        assert!(evs.iter().any(|e| e.str(Field::EventCode) == Some("1")
            && e.str(Field::ProcessParentExecutable).is_some()
            && e.str(Field::ProcessCommandLine).is_some()));
    }

    #[test]
    fn corpus_rdp_1149_user_data() {
        let Some(bytes) = corpus(
            "hayabusa-sample-evtx/EVTX-to-MITRE-Attack/TA0001-Initial access/T1078-Valid accounts/ID1149-RDP success logins to multiple hosts.evtx",
        ) else {
            return;
        };
        let evs = decode_ok(&FORMAT, &bytes);
        assert_eq!(evs.len(), 11);
        for e in &evs {
            assert_eq!(e.str(Field::EventDataset), Some("windows.rdp"));
            assert_eq!(e.str(Field::NetworkProtocol), Some("rdp"));
            assert!(e.str(Field::UserName).is_some(), "{:?}", e.to_json());
        }
        assert!(evs.iter().any(|e| e.ip(Field::SourceIp).is_some()));
    }

    #[test]
    fn corpus_damaged_chunks_are_errors_not_panics() {
        let Some(bytes) =
            corpus("evtx-attack-samples/Lateral Movement/LM_5145_Remote_FileCopy.evtx")
        else {
            return;
        };
        let clean = decode_ok(&FORMAT, &bytes);
        assert_eq!(clean.len(), 869);
        // Overwrite bytes at many places in the chunks: whatever the parser makes of it,
        // no panic, and every failure is reported with an offset.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..24 {
            let mut damaged = bytes.clone();
            for _ in 0..(1 + round * 8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 4096 + (seed as usize) % (damaged.len() - 4096);
                damaged[at] = (seed >> 32) as u8;
            }
            let sink = decode_all(&FORMAT, &damaged, &ctx());
            assert!(sink.events.len() + sink.errors.len() > 0);
        }
        // Cut short: the partial chunk at the end is an error, the whole chunks still decode.
        let sink = decode_all(&FORMAT, &bytes[..bytes.len() - 30_000], &ctx());
        assert!(!sink.events.is_empty());
    }
}
