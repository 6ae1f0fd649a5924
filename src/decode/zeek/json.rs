//! Zeek JSON logs: one object per line.
//!
//! Two writers are common. Zeek's own (`LogAscii::use_json=T`) writes flat dotted keys
//! (`id.orig_h`) and `ts` as epoch seconds, or as an ISO 8601 string with
//! `LogAscii::json_timestamps=JSON::TS_ISO8601`; a `_path` key names the log when several
//! logs share one stream. The json-streaming-logs package adds `@stream` (the log),
//! `@system` (the sensor) and `@proc`, and writes dots as underscores (`id_orig_h`).
//! Without `_path` or `@stream` the log type is inferred from the fields present.
//!
//! Nested objects (some shippers nest `id`) are flattened with dots. The json-streaming
//! spelling of the connection tuple is renamed to the dotted form in `original` (see the
//! parent module); nothing else is renamed.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value as J;

use super::{Key, LogType, Record, Slots, normalize};
use crate::decode::json::{flatten, head_has_key, head_is_json_object};
use crate::decode::{Context, DecodeError, Decoder, Sink};
use crate::event::{Event, epoch_seconds_to_nanos, parse_epoch_seconds, parse_timestamp};

/// Keys of other JSON formats: Windows (winlogbeat / OTRF), Hubble, Falco, Tetragon.
const FOREIGN_KEYS: &[&str] = &[
    "EventID",
    "winlog",
    "flow",
    "output_fields",
    "process_exec",
    "process_exit",
    "process_kprobe",
];

/// Confidence that `head` is Zeek JSON, from the keys of its first record.
pub fn detect(_name: &str, head: &[u8]) -> u8 {
    if !head_is_json_object(head) {
        return 0;
    }
    // Zeek writes one object per line: judge the first line only, so a key deep inside a
    // later record of some other format cannot make it look like Zeek.
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let first = head.get(start..).unwrap_or_default();
    let first = match memchr::memchr(b'\n', first) {
        Some(n) => first.get(..n).unwrap_or(first),
        None => first,
    };
    let has = |k: &str| head_has_key(first, k);
    if FOREIGN_KEYS.iter().any(|k| has(k)) || (has("rule") && has("priority") && has("output")) {
        return 0;
    }
    if !has("ts") {
        return 0;
    }
    if has("@stream") || has("_path") {
        95
    } else if has("id.orig_h") || has("id_orig_h") {
        90
    } else if has("uid") {
        85
    } else if has("fuid") || has("certificate.version") || has("certificate_version") {
        60
    } else {
        0
    }
}

/// Zeek JSON decoder (stateless: every line is self-describing).
#[derive(Debug, Default)]
pub struct JsonDecoder;

impl Decoder for JsonDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = crate::decode::text(record, out);
        match decode_line(&line, offset, ctx) {
            Ok(ev) => out.events.push(ev),
            Err(e) => out.errors.push(e),
        }
    }
}

fn decode_line(line: &str, offset: u64, ctx: &Context) -> Result<Event, DecodeError> {
    let Flat(fields) = serde_json::from_str(line)
        .map_err(|e| DecodeError::malformed(offset, format!("invalid JSON object: {e}")))?;
    let slots = Slots::from_names(fields.iter().map(|(k, _)| k.as_str()));
    let rec = Record {
        fields: &fields,
        slots: &slots,
    };
    let ts = match rec.get(Key::Ts) {
        // Zeek writes microseconds; a double holds them at today's epochs, and rounding to the
        // microsecond undoes the last-bit error of decimal-to-binary conversion.
        Some(J::Number(n)) => match n.as_i64() {
            Some(secs) => secs.checked_mul(1_000_000_000),
            None => n.as_f64().and_then(epoch_seconds_to_nanos),
        },
        Some(J::String(s)) => parse_epoch_seconds(s).or_else(|| parse_timestamp(s)),
        _ => None,
    };
    let Some(ts) = ts else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: match rec.get(Key::Ts) {
                Some(v) => format!("`ts` is {v}"),
                None => "no `ts` field".into(),
            },
        });
    };
    let ty = match rec.str(Key::Stream) {
        Some(s) => LogType::from_path(s),
        None => LogType::infer(&slots),
    };
    let mut ev = Event::new(ts);
    normalize(&ty, &ty.dataset(), &rec, &mut ev);
    ev.original = fields;
    ev.set_raw(line);
    ctx.stamp(&mut ev, offset);
    Ok(ev)
}

/// A JSON object read straight into `(name, value)` pairs in document order: no map is
/// built, nested objects are flattened with dots, and the json-streaming tuple names
/// become dotted.
struct Flat(Vec<(String, J)>);

impl<'de> Deserialize<'de> for Flat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FlatVisitor)
    }
}

struct FlatVisitor;

impl<'de> Visitor<'de> for FlatVisitor {
    type Value = Flat;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flat, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(24));
        while let Some(key) = map.next_key::<String>()? {
            let value: J = map.next_value()?;
            let key = match key.as_str() {
                "id_orig_h" => "id.orig_h".to_string(),
                "id_orig_p" => "id.orig_p".to_string(),
                "id_resp_h" => "id.resp_h".to_string(),
                "id_resp_p" => "id.resp_p".to_string(),
                _ => key,
            };
            if value.is_object() {
                flatten(value, &key, &mut out);
            } else {
                out.push((key, value));
            }
        }
        Ok(Flat(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::decode::zeek::JSON_FORMAT;
    use crate::event::Field;

    #[test]
    fn streaming_style_conn_and_dce_rpc() {
        let evs = decode_ok(
            &JSON_FORMAT,
            br#"{"@stream":"conn","@system":"sensor-a","@proc":"zeek","ts":1709373600.123456,"uid":"C1","id_orig_h":"10.2.0.5","id_orig_p":51000,"id_resp_h":"10.2.0.9","id_resp_p":135,"proto":"tcp","service":"dce_rpc","conn_state":"REJ"}
{"@stream":"dce_rpc","@system":"sensor-a","ts":1709373601.5,"uid":"C2","id_orig_h":"10.2.0.5","id_orig_p":51001,"id_resp_h":"10.2.0.9","id_resp_p":49670,"rtt":0.0004,"named_pipe":"49670","endpoint":"ITaskSchedulerService","operation":"SchRpcRegisterTask"}
"#,
        );
        assert_eq!(evs.len(), 2);
        let c = &evs[0];
        assert_eq!(c.timestamp, 1_709_373_600_123_456_000);
        assert_eq!(c.str(Field::HostName), Some("sensor-a"));
        assert_eq!(c.str(Field::EventDataset), Some("zeek.conn"));
        assert_eq!(c.str(Field::EventOutcome), Some("failure"));
        assert_eq!(c.str(Field::NetworkProtocol), Some("dce_rpc"));
        assert_eq!(c.int(Field::DestinationPort), Some(135));
        assert!(c.original("id.orig_h").is_some());
        assert!(c.original("id_orig_h").is_none());
        let d = &evs[1];
        assert_eq!(d.str(Field::ServiceName), Some("ITaskSchedulerService"));
        assert_eq!(d.str(Field::EventAction), Some("SchRpcRegisterTask"));
        assert_eq!(d.str(Field::NetworkProtocol), Some("dce_rpc"));
    }

    #[test]
    fn zeek_writer_style_with_inference_and_iso_ts() {
        let evs = decode_ok(
            &JSON_FORMAT,
            br#"{"ts":"2024-03-02T10:00:00.250000Z","uid":"C3","id.orig_h":"10.2.0.5","id.orig_p":51002,"id.resp_h":"10.2.0.9","id.resp_p":3389,"cookie":"jdoe","result":"Success","security_protocol":"HYBRID"}
{"ts":1709373602.0,"uid":"C4","id":{"orig_h":"10.2.0.5","orig_p":51003,"resp_h":"10.2.0.9","resp_p":22},"version":2,"auth_success":false,"auth_attempts":3,"client":"SSH-2.0-OpenSSH_9.6","server":"SSH-2.0-OpenSSH_8.9"}
{"_path":"http","ts":1709373603.0,"uid":"C5","id.orig_h":"10.2.0.5","id.orig_p":51004,"id.resp_h":"10.2.0.9","id.resp_p":80,"method":"GET","host":"intranet.example","uri":"/admin"}
{"ts":1709373604.0,"uid":"C6","id.orig_h":"10.2.0.5","id.orig_p":53000,"id.resp_h":"10.2.0.1","id.resp_p":53,"proto":"udp","query":"dc01.corp.example","qtype_name":"A","rcode_name":"NXDOMAIN"}
{"ts":1709373605.0,"note":"Scan::Port_Scan","msg":"10.2.0.5 scanned 20 ports","src":"10.2.0.5","dst":"10.2.0.9","p":445}
"#,
        );
        let rdp = &evs[0];
        assert_eq!(rdp.timestamp, 1_709_373_600_250_000_000);
        assert_eq!(rdp.str(Field::EventDataset), Some("zeek.rdp"));
        assert_eq!(rdp.str(Field::UserName), Some("jdoe"));
        assert_eq!(rdp.str(Field::EventOutcome), Some("success"));
        let ssh = &evs[1];
        assert_eq!(ssh.str(Field::EventDataset), Some("zeek.ssh"));
        assert_eq!(ssh.str(Field::EventOutcome), Some("failure"));
        assert_eq!(ssh.int(Field::DestinationPort), Some(22));
        assert_eq!(ssh.ip(Field::SourceIp), Some("10.2.0.5".parse().unwrap()));
        let http = &evs[2];
        assert_eq!(
            http.str(Field::UrlFull),
            Some("http://intranet.example/admin")
        );
        assert_eq!(http.str(Field::DestinationDomain), Some("intranet.example"));
        assert_eq!(http.str(Field::EventAction), Some("GET"));
        let dns = &evs[3];
        assert_eq!(dns.str(Field::EventDataset), Some("zeek.dns"));
        assert_eq!(dns.str(Field::DnsQuestionName), Some("dc01.corp.example"));
        assert_eq!(dns.str(Field::EventOutcome), Some("failure"));
        let notice = &evs[4];
        assert_eq!(notice.str(Field::RuleName), Some("Scan::Port_Scan"));
        assert_eq!(
            notice.str(Field::Message),
            Some("10.2.0.5 scanned 20 ports")
        );
        assert_eq!(
            notice.ip(Field::DestinationIp),
            Some("10.2.0.9".parse().unwrap())
        );
        assert_eq!(notice.int(Field::DestinationPort), Some(445));
    }

    #[test]
    fn smb_files_join_share_and_name() {
        let evs = decode_ok(
            &JSON_FORMAT,
            br#"{"@stream":"smb_files","ts":1709373600.5,"uid":"C7","id_orig_h":"10.2.0.5","id_orig_p":51010,"id_resp_h":"10.2.0.9","id_resp_p":445,"action":"SMB::FILE_WRITE","path":"\\\\FS01\\ADMIN$","name":"tools\\agent.exe","size":73802}
"#,
        );
        let e = &evs[0];
        assert_eq!(e.str(Field::EventAction), Some("file-write"));
        assert_eq!(
            e.str(Field::FilePath),
            Some("\\\\FS01\\ADMIN$\\tools\\agent.exe")
        );
        assert_eq!(e.str(Field::DestinationDomain), Some("FS01"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        let sink = crate::decode::decode_all(
            &JSON_FORMAT,
            b"{\"ts\":1,\"uid\":\"a\"}\nnot json\n[1,2]\n{\"uid\":\"x\"}\n{\"ts\":\"yesterday\"}\n{\"ts\":1e300}\n",
            &ctx(),
        );
        assert_eq!(sink.events.len(), 1);
        assert_eq!(sink.errors.len(), 5);
        assert_eq!(sink.errors[0].offset(), 19);
        assert!(matches!(sink.errors[2], DecodeError::Timestamp { .. }));
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect("conn.log", br#"{"@stream":"conn","ts":1.0,"uid":"C1"}"#),
            95
        );
        assert!(detect("x.json", br#"{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}"#) >= 85);
        // Other JSON sources must not score.
        for foreign in [
            &br#"{"EventID":4624,"ts":1,"uid":"x","Channel":"Security"}"#[..],
            br#"{"winlog":{"event_id":4624},"@timestamp":"2024-01-01T00:00:00Z"}"#,
            br#"{"flow":{"time":"2024-01-01T00:00:00Z","IP":{"source":"10.0.0.1"}},"node_name":"n"}"#,
            br#"{"output":"x","priority":"Warning","rule":"Terminal shell","time":"2024-01-01T00:00:00Z","output_fields":{}}"#,
            br#"{"process_exec":{"process":{"exec_id":"a"}},"node_name":"n","time":"2024-01-01T00:00:00Z"}"#,
            br#"{"a":"ts","b":"uid"}"#,
            b"#separator \\x09\n",
        ] {
            assert_eq!(detect("x.json", foreign), 0, "{}", String::from_utf8_lossy(foreign));
        }
    }
}
