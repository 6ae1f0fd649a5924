//! Windows events as JSON lines, in the two shapes collectors write:
//!
//! - **winlogbeat / ECS** documents: the record under `winlog` (`winlog.channel`,
//!   `winlog.event_id`, `winlog.computer_name`, `winlog.record_id`, `winlog.provider_name`,
//!   `winlog.event_data.*`, `winlog.user_data.*`) next to `@timestamp`, `event`, `host`, ...
//!   (Elastic, "Winlogbeat exported fields", `winlog` group).
//! - **flat** exports (NXLog `im_msvistalog` to JSON, the OTRF / Mordor security datasets):
//!   `EventID`, `Channel`, `Hostname`, `SourceName` and the EventData fields all at the top
//!   level, with the collector's `@timestamp`.
//!
//! Both are reduced to the same originals as an EVTX record (EventData fields under their own
//! names, plus `Channel`, `EventID`, `Provider_Name`, `Computer`) and normalized by
//! [`super::windows::normalize`], so the three sources give the same normalized events.
//!
//! Time: Sysmon's `UtcTime` when the record is a Sysmon one, else `@timestamp`, else
//! `TimeCreated`. `UtcTime` is the moment of the process start / connection / file creation
//! in true UTC; `@timestamp` in NXLog + Logstash exports (OTRF) is when Logstash received the
//! record, seconds after the event, while winlogbeat sets it to the record's creation time.
//! `EventTime` (NXLog) is local time without a zone and is not used. A zone-less `TimeCreated`
//! (some OTRF files have no `@timestamp`) is read as UTC, as the exporter gives no zone.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value as J;

use super::json::{flatten, head_has_key, head_is_json_object};
use super::windows::{self, Data};
use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::Event;

/// The Windows JSON format.
pub const FORMAT: Format = Format {
    name: "windows-json",
    description: "Windows events as JSON lines: winlogbeat / ECS and flat NXLog / OTRF exports",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(WinJsonDecoder),
};

fn detect(_name: &str, head: &[u8]) -> u8 {
    if !head_is_json_object(head) {
        return 0;
    }
    if head_has_key(head, "winlog")
        && (head_has_key(head, "event_id") || head_has_key(head, "channel"))
    {
        return 95;
    }
    let event_id = head_has_key(head, "EventID");
    if event_id && head_has_key(head, "Channel") {
        return 90;
    }
    if event_id && (head_has_key(head, "SourceName") || head_has_key(head, "Hostname")) {
        return 60;
    }
    0
}

#[derive(Debug)]
struct WinJsonDecoder;

impl Decoder for WinJsonDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = super::text(record, out);
        match to_event(&line, offset) {
            Ok(mut ev) => {
                ev.set_raw(&line);
                ctx.stamp(&mut ev, offset);
                out.events.push(ev);
            }
            Err(e) => out.errors.push(e),
        }
    }
}

/// A top-level JSON object as its entries in order, without building a map (the entries are
/// moved into the event's originals as they are).
struct Entries(Vec<(String, J)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(48));
                while let Some(entry) = map.next_entry::<String, J>()? {
                    v.push(entry);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn to_event(line: &str, offset: u64) -> Result<Event, DecodeError> {
    let Entries(entries) = serde_json::from_str(line)
        .map_err(|e| DecodeError::malformed(offset, format!("invalid JSON object: {e}")))?;
    let winlogbeat = entries.iter().any(|(k, v)| k == "winlog" && v.is_object());
    let original = if winlogbeat {
        from_winlogbeat(entries)
    } else {
        from_flat(entries)
    };
    let d = Data(&original);
    if d.get("EventID").and_then(windows::event_id_of).is_none() {
        return Err(DecodeError::malformed(
            offset,
            "not a Windows event: no EventID / winlog.event_id",
        ));
    }
    let Some(ts) = windows::sysmon_time(d).or_else(|| {
        d.str_any(&["@timestamp", "TimeCreated"])
            .and_then(windows::parse_time)
    }) else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: format!(
                "no UtcTime, @timestamp or TimeCreated (@timestamp is {:?})",
                d.get("@timestamp").map(ToString::to_string)
            ),
        });
    };
    let mut ev = Event::new(ts);
    ev.original = original;
    windows::normalize(&mut ev);
    Ok(ev)
}

/// Add `name` = `value` unless a field of that name exists.
fn alias(out: &mut Vec<(String, J)>, name: &str, value: Option<J>) {
    if let Some(v) = value
        && !out.iter().any(|(k, _)| k == name)
    {
        out.push((name.to_string(), v));
    }
}

fn lookup(entries: &[(String, J)], name: &str) -> Option<J> {
    entries
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_null())
}

/// Flat exports: everything is already at the top level under its Windows name; only the
/// canonical `Computer` (NXLog `Hostname`) and `Provider_Name` (`SourceName`) are added.
/// (`host` in OTRF files is the Windows Event Collector that forwarded the record.)
fn from_flat(mut entries: Vec<(String, J)>) -> Vec<(String, J)> {
    // Nested values are rare here (Logstash `tags` is an array and stays whole).
    if entries.iter().any(|(_, v)| v.is_object()) {
        let mut flat = Vec::with_capacity(entries.len() + 8);
        for (k, v) in entries {
            flatten(v, &k, &mut flat);
        }
        entries = flat;
    }
    let computer = lookup(&entries, "Hostname");
    alias(&mut entries, "Computer", computer);
    let provider = lookup(&entries, "SourceName").or_else(|| lookup(&entries, "ProviderName"));
    alias(&mut entries, "Provider_Name", provider);
    entries
}

/// winlogbeat: `winlog.event_data.X` and `winlog.user_data.X` become `X`, everything else is
/// flattened with dots (`winlog.channel`, `event.code`, `host.name`), and the canonical System
/// names are added from `winlog.*`.
fn from_winlogbeat(entries: Vec<(String, J)>) -> Vec<(String, J)> {
    let mut out = Vec::with_capacity(64);
    let mut data = Vec::with_capacity(32);
    let mut winlog = serde_json::Map::new();
    for (k, v) in entries {
        match (k.as_str(), v) {
            ("winlog", J::Object(w)) => winlog = w,
            (_, v) => flatten(v, &k, &mut out),
        }
    }
    let field = |w: &serde_json::Map<String, J>, name: &str| w.get(name).cloned();
    let channel = field(&winlog, "channel");
    let event_id = field(&winlog, "event_id").map(|v| match windows::event_id_of(&v) {
        Some(id) => J::from(id),
        None => v,
    });
    let provider = field(&winlog, "provider_name");
    let computer = field(&winlog, "computer_name");
    let record_id = field(&winlog, "record_id");
    // The record's Security UserID, as EVTX and NXLog name it.
    let user_sid = winlog
        .get("user")
        .and_then(|u| u.get("identifier"))
        .cloned();
    for (k, v) in winlog {
        match (k.as_str(), v) {
            ("event_data" | "user_data", J::Object(m)) => {
                for (dk, dv) in m {
                    // `xml_name` is winlogbeat's note of the UserData element's name.
                    if dk != "xml_name" {
                        data.push((dk, dv));
                    }
                }
            }
            (_, v) => flatten(v, &format!("winlog.{k}"), &mut out),
        }
    }
    let host_name = lookup(&out, "host.name");
    let mut original = Vec::with_capacity(out.len() + data.len() + 5);
    alias(&mut original, "Channel", channel);
    alias(&mut original, "EventID", event_id);
    alias(&mut original, "Provider_Name", provider);
    alias(&mut original, "Computer", computer.or(host_name));
    alias(&mut original, "EventRecordID", record_id);
    alias(&mut original, "UserID", user_sid);
    // EventData names win over the aliases above should they clash.
    for (k, v) in data {
        match original.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => original.push((k, v)),
        }
    }
    original.extend(out);
    original
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_all;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::event::{Field, parse_timestamp};
    use serde_json::json;

    const FLAT_4624: &str = r#"{"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"FS01.corp.example","@timestamp":"2023-03-01T12:00:01.250Z","EventID":4624,"EventTime":"2023-03-01 07:00:00","host":"wec01.corp.example","Keywords":-9214364837600034816,"TargetUserName":"jdoe","TargetDomainName":"CORP","TargetLogonId":"0xa1b2c","LogonType":"3","IpAddress":"10.1.2.3","IpPort":"50123","AuthenticationPackageName":"Kerberos","Message":"An account was successfully logged on."}"#;

    const BEAT_4624: &str = r#"{"@timestamp":"2023-03-01T12:00:00.123Z","event":{"code":"4624","kind":"event","provider":"Microsoft-Windows-Security-Auditing","outcome":"success"},"host":{"name":"fs01"},"message":"An account was successfully logged on.","winlog":{"channel":"Security","computer_name":"FS01.corp.example","event_id":"4624","record_id":"88123","provider_name":"Microsoft-Windows-Security-Auditing","keywords":["Audit Success"],"event_data":{"TargetUserName":"jdoe","TargetDomainName":"CORP","TargetLogonId":"0xa1b2c","LogonType":"3","IpAddress":"10.1.2.3","IpPort":"50123","AuthenticationPackageName":"Kerberos"},"process":{"pid":652,"thread":{"id":4112}}}}"#;

    #[test]
    fn detection() {
        assert_eq!(detect("x.json", FLAT_4624.as_bytes()), 90);
        assert_eq!(detect("x.json", BEAT_4624.as_bytes()), 95);
        assert_eq!(detect("x.json", br#"{"EventID":4624,"Hostname":"a"}"#), 60);
        assert_eq!(
            detect("x.json", br#"{"ts":1.0,"uid":"C1","id.orig_h":"1.2.3.4"}"#),
            0
        );
        assert_eq!(detect("x.log", b"EventID Channel"), 0);
    }

    #[test]
    fn flat_and_winlogbeat_normalize_alike() {
        let flat = &decode_ok(&FORMAT, FLAT_4624.as_bytes())[0];
        let beat = &decode_ok(&FORMAT, BEAT_4624.as_bytes())[0];
        for f in [
            Field::EventModule,
            Field::EventDataset,
            Field::EventCode,
            Field::EventCategory,
            Field::EventAction,
            Field::EventOutcome,
            Field::HostName,
            Field::UserName,
            Field::UserDomain,
            Field::LogonType,
            Field::LogonId,
            Field::SourceIp,
            Field::SourcePort,
            Field::AuthPackage,
            Field::ProcessInteractive,
            Field::Message,
        ] {
            assert_eq!(flat.get(f), beat.get(f), "{f}");
            assert!(flat.get(f).is_some(), "{f}");
        }
        assert_eq!(flat.str(Field::HostName), Some("FS01.corp.example"));
        assert_eq!(
            flat.original_str("Provider_Name").as_deref(),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(beat.original_str("TargetUserName").as_deref(), Some("jdoe"));
        assert_eq!(beat.original("EventID"), Some(&json!(4624)));
        assert_eq!(
            beat.original_str("winlog.process.pid").as_deref(),
            Some("652")
        );
        assert_eq!(
            flat.timestamp,
            parse_timestamp("2023-03-01T12:00:01.250Z").unwrap()
        );
        assert!(flat.raw.is_some());
    }

    #[test]
    fn sysmon_utc_time_beats_the_collector_timestamp() {
        let line = r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"Hostname":"WS1","@timestamp":"2023-03-01T12:00:03.900Z","UtcTime":"2023-03-01 12:00:01.004","SourceIp":"10.0.0.5","DestinationIp":"10.0.0.6","DestinationPort":"445","Protocol":"tcp"}"#;
        let ev = &decode_ok(&FORMAT, line.as_bytes())[0];
        assert_eq!(
            ev.timestamp,
            parse_timestamp("2023-03-01T12:00:01.004Z").unwrap()
        );
        assert_eq!(ev.str(Field::NetworkDirection), Some("internal"));
        // Without @timestamp, TimeCreated (zone-less read as UTC).
        let line = r#"{"Channel":"Security","EventID":4688,"Hostname":"WS1","TimeCreated":"2023-03-01 12:00:05.000","NewProcessName":"C:\\x.exe"}"#;
        let ev = &decode_ok(&FORMAT, line.as_bytes())[0];
        assert_eq!(
            ev.timestamp,
            parse_timestamp("2023-03-01T12:00:05Z").unwrap()
        );
    }

    #[test]
    fn bad_lines_are_errors() {
        let input = "{\"EventID\": 1\n[1,2]\n{\"Channel\":\"Security\"}\n{\"EventID\":4624,\"Channel\":\"Security\"}\n";
        let sink = decode_all(&FORMAT, input.as_bytes(), &ctx());
        assert!(sink.events.is_empty());
        assert_eq!(sink.errors.len(), 4, "{:?}", sink.errors);
        assert!(matches!(sink.errors[3], DecodeError::Timestamp { .. }));
        assert_eq!(sink.errors[1].offset(), 14);
    }

    /// Every channel and event id the normalizer knows, with odd values in every field it
    /// reads: no panic, and the record still becomes an event.
    #[test]
    fn odd_values_in_known_events_never_panic() {
        use proptest::prelude::*;
        const CHANNELS: &[&str] = &[
            "Security",
            "System",
            "Microsoft-Windows-Sysmon/Operational",
            "Windows PowerShell",
            "Microsoft-Windows-PowerShell/Operational",
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            "Microsoft-Windows-WinRM/Operational",
            "Microsoft-Windows-WMI-Activity/Operational",
            "Microsoft-Windows-TaskScheduler/Operational",
        ];
        const FIELDS: &[&str] = &[
            "TargetUserName",
            "TargetDomainName",
            "TargetUserSid",
            "TargetLogonId",
            "LogonType",
            "IpAddress",
            "IpPort",
            "WorkstationName",
            "ProcessName",
            "ProcessId",
            "ProcessID",
            "SubjectUserName",
            "SubjectLogonId",
            "NewProcessId",
            "ShareName",
            "RelativeTargetName",
            "ServiceName",
            "ImagePath",
            "ServiceFileName",
            "TaskName",
            "TaskContent",
            "Status",
            "MemberName",
            "Image",
            "User",
            "SourceIp",
            "SourcePort",
            "Protocol",
            "QueryStatus",
            "EventType",
            "Param3",
            "Address",
            "ClientIP",
            "ClientAddress",
            "SessionName",
            "connection",
            "username",
            "ContextInfo",
            "param2",
            "param3",
            "param9",
            "Keywords",
            "UserContext",
            "ResultCode",
            "SourceAddress",
            "DestPort",
            "UtcTime",
        ];
        let value = prop_oneof![
            ".{0,24}",
            Just("-".to_string()),
            Just("0x".to_string()),
            Just("[::1]:".to_string()),
            Just("<Command>".to_string()),
            Just("a\\".to_string()),
            Just("99999999999999999999999".to_string()),
        ];
        let ids = prop_oneof![
            0i64..30,
            100i64..210,
            4096i64..4200,
            4600i64..4800,
            5100i64..5200,
            5850i64..5870,
            7000i64..7100,
            10000i64..10030
        ];
        proptest!(ProptestConfig::with_cases(600), |(
            ch in 0..CHANNELS.len(), id in ids, vals in proptest::collection::vec(value, FIELDS.len()),
        )| {
            let mut rec = serde_json::Map::new();
            rec.insert("Channel".into(), json!(CHANNELS[ch]));
            rec.insert("EventID".into(), json!(id));
            rec.insert("@timestamp".into(), json!("2024-01-01T00:00:00Z"));
            for (f, v) in FIELDS.iter().zip(vals) {
                rec.insert((*f).to_string(), json!(v));
            }
            let line = serde_json::to_string(&rec).unwrap();
            let sink = decode_all(&FORMAT, line.as_bytes(), &ctx());
            prop_assert_eq!(sink.events.len(), 1);
        });
    }

    #[test]
    fn random_bytes_never_panic() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(300), |(bytes in proptest::collection::vec(any::<u8>(), 0..600))| {
            let _ = decode_all(&FORMAT, &bytes, &ctx());
        });
    }

    #[test]
    fn nested_flat_values_are_flattened() {
        let line = r#"{"Channel":"Security","EventID":4624,"@timestamp":"2023-03-01T12:00:00Z","agent":{"name":"x"},"tags":["a"]}"#;
        let ev = &decode_ok(&FORMAT, line.as_bytes())[0];
        assert_eq!(ev.original_str("agent.name").as_deref(), Some("x"));
        assert_eq!(ev.original("tags"), Some(&json!(["a"])));
    }
}
