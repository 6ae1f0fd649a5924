//! Cilium Hubble flows: `hubble observe -o json` / `-o jsonpb` and Hubble exporter files.
//!
//! Each line is one `GetFlowsResponse` as protojson: `{"flow":{...},"node_name":...,"time":...}`.
//! Older `hubble observe -o json` printed the `Flow` message itself as the document (`verdict`,
//! `IP`, `source`, `destination` at the top). Both shapes are read; for predictable names the
//! flow of the older shape is kept under `flow.` as well, so an original field is always
//! `flow.<path in the Flow message>` (e.g. `flow.l4.TCP.flags.SYN`, `flow.IP.source`,
//! `flow.destination.pod_name`, `flow.traffic_direction`, `flow.is_reply`,
//! `flow.drop_reason_desc`, `flow.Summary`). protojson leaves out zero values, so a flag that
//! is absent is false (`flow.l4.TCP.flags.SYN` exists only on SYN packets); an empty message
//! such as an ICMP echo reply's `"ICMPv4":{}` is kept as an empty object.
//! Other responses of the stream (`node_status`, `lost_events`, `agent_event`, `debug_event`)
//! become events named after their kind, so nothing in the file is silently dropped.
//!
//! Mapping (Flow message of `cilium/api/v1/flow/flow.proto`):
//! - `time` → `@timestamp` (nanoseconds), `node_name` → `host.name`;
//! - `IP.source` / `IP.destination` → `source.ip` / `destination.ip`; `l4.TCP|UDP|SCTP`
//!   ports → `source.port` / `destination.port` and `network.transport`; `l4.ICMPv4|ICMPv6` →
//!   `icmp` / `ipv6-icmp`;
//! - the source endpoint (`namespace`, `pod_name`) → `orchestrator.namespace` /
//!   `orchestrator.resource.name`: the source workload is the actor whose context the
//!   correlator builds; the destination pod stays in the originals;
//! - `source_names` / `destination_names` (DNS names Cilium knows for the address) →
//!   `source.domain` / `destination.domain`;
//! - `verdict` → `event.outcome`: FORWARDED, REDIRECTED (to the L7 proxy) and TRANSLATED are a
//!   success; DROPPED, ERROR and AUDIT (would have been dropped by policy, audit mode) a
//!   failure; TRACED (no verdict yet) unknown. An L7 response with an HTTP status >= 400 or a
//!   DNS rcode other than 0 is a failure too;
//! - `event.action`: `flow` for L3/L4, and for L7 `<protocol>-request` / `<protocol>-response`
//!   (`dns-query` / `dns-response` for DNS) with `l7.dns.query` → `dns.question.name` (trailing
//!   dot trimmed), `l7.http.url` → `url.full`, the protocol → `network.protocol`.
//!
//! The module also holds the helpers the other cloud-native decoders ([`super::falco`],
//! [`super::tetragon`]) share: a JSON parser that flattens straight into `original` pairs
//! without building a tree first (the decoders' hot path), and Kubernetes helpers.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as J;

use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, parse_timestamp};

/// The Hubble flow format.
pub const FORMAT: Format = Format {
    name: "hubble",
    description: "Cilium Hubble flows (hubble observe -o json / jsonpb, Hubble exporter)",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(HubbleDecoder::default()),
};

fn detect(_name: &str, head: &[u8]) -> u8 {
    let doc = first_document(head);
    if !super::json::head_is_json_object(doc) {
        return 0;
    }
    let has = |k| super::json::head_has_key(doc, k);
    // A flow always has a verdict and addressing (IP, or the L4 / endpoint objects); that
    // combination does not occur in Zeek, Falco, Tetragon or Windows JSON.
    let flowish = has("verdict") && (has("IP") || has("l4") || (has("source") && has("Type")));
    if flowish {
        return 90;
    }
    // A stream that starts with a Relay node status or a lost-events notice.
    if (has("node_status") || has("lost_events")) && has("time") {
        return 60;
    }
    0
}

/// Per-file state: the reusable parser.
#[derive(Debug, Default)]
struct HubbleDecoder {
    parser: FlatParser,
}

impl Decoder for HubbleDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        push_flat(record, offset, ctx, out, &mut self.parser, decode_flow);
    }
}

/// Decode one JSON record with `decode` (the per-format mapping over a [`FlatParser`]) and push
/// the event, raw text kept and stamped, or the error. Shared by the JSON formats built on the
/// flat parser (Hubble, Falco, Tetragon).
pub(crate) fn push_flat(
    record: &[u8],
    offset: u64,
    ctx: &Context,
    out: &mut Sink,
    parser: &mut FlatParser,
    decode: fn(&str, u64, &mut FlatParser) -> Result<crate::event::Event, super::DecodeError>,
) {
    let text = super::text(record, out);
    match decode(&text, offset, parser) {
        Ok(mut ev) => {
            ev.set_raw(&text);
            ctx.stamp(&mut ev, offset);
            out.events.push(ev);
        }
        Err(e) => out.errors.push(e),
    }
}

/// Fields of a flow the mapping reads, found in one pass over the flattened names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Time,
    RootTime,
    NodeName,
    RootNodeName,
    Verdict,
    SrcIp,
    DstIp,
    TcpSport,
    TcpDport,
    UdpSport,
    UdpDport,
    SctpSport,
    SctpDport,
    SrcNamespace,
    SrcPod,
    SrcNames,
    DstNames,
    FlowType,
    L7Type,
    DnsQuery,
    DnsRcode,
    HttpUrl,
    HttpCode,
}
const SLOTS: usize = Slot::HttpCode as usize + 1;

fn slot(name: &str) -> Option<Slot> {
    let Some(rest) = name.strip_prefix("flow.") else {
        return match name {
            "time" => Some(Slot::RootTime),
            "node_name" => Some(Slot::RootNodeName),
            _ => None,
        };
    };
    // Dispatch on the first byte so most names are rejected after one comparison.
    Some(match rest.as_bytes().first()? {
        b't' => match rest {
            "time" => Slot::Time,
            _ => return None,
        },
        b'n' => match rest {
            "node_name" => Slot::NodeName,
            _ => return None,
        },
        b'v' => match rest {
            "verdict" => Slot::Verdict,
            _ => return None,
        },
        b'I' => match rest {
            "IP.source" => Slot::SrcIp,
            "IP.destination" => Slot::DstIp,
            _ => return None,
        },
        b'l' => match rest {
            "l4.TCP.source_port" => Slot::TcpSport,
            "l4.TCP.destination_port" => Slot::TcpDport,
            "l4.UDP.source_port" => Slot::UdpSport,
            "l4.UDP.destination_port" => Slot::UdpDport,
            "l4.SCTP.source_port" => Slot::SctpSport,
            "l4.SCTP.destination_port" => Slot::SctpDport,
            "l7.type" => Slot::L7Type,
            "l7.dns.query" => Slot::DnsQuery,
            "l7.dns.rcode" => Slot::DnsRcode,
            "l7.http.url" => Slot::HttpUrl,
            "l7.http.code" => Slot::HttpCode,
            _ => return None,
        },
        b's' => match rest {
            "source.namespace" => Slot::SrcNamespace,
            "source.pod_name" => Slot::SrcPod,
            "source_names" => Slot::SrcNames,
            _ => return None,
        },
        b'd' => match rest {
            "destination_names" => Slot::DstNames,
            _ => return None,
        },
        b'T' => match rest {
            "Type" => Slot::FlowType,
            _ => return None,
        },
        _ => return None,
    })
}

/// What kind of L4 / L7 information a flow carries, seen while scanning the names.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    flow: bool,
    tcp: bool,
    udp: bool,
    sctp: bool,
    icmp4: bool,
    icmp6: bool,
    dns: bool,
    http: bool,
    kafka: bool,
}

fn decode_flow(line: &str, offset: u64, parser: &mut FlatParser) -> Result<Event, DecodeError> {
    parser.parse(line, offset)?;
    let flat = &mut parser.flat;
    let mut seen = Seen::default();
    for (k, _) in flat.iter() {
        if let Some(rest) = k.strip_prefix("flow.") {
            seen.flow = true;
            if let Some(l4) = rest.strip_prefix("l4.") {
                seen.tcp |= l4.starts_with("TCP");
                seen.udp |= l4.starts_with("UDP");
                seen.sctp |= l4.starts_with("SCTP");
                seen.icmp4 |= l4.starts_with("ICMPv4");
                seen.icmp6 |= l4.starts_with("ICMPv6");
            } else if let Some(l7) = rest.strip_prefix("l7.") {
                seen.dns |= l7.starts_with("dns");
                seen.http |= l7.starts_with("http");
                seen.kafka |= l7.starts_with("kafka");
            }
        }
    }
    if !seen.flow {
        if flat.iter().any(|(k, _)| k == "verdict") {
            // The older shape: the document is the Flow itself. Name it like the new shape.
            for (k, _) in flat.iter_mut() {
                k.insert_str(0, "flow.");
            }
            let seen = seen_of(flat);
            return decode_flow_fields(parser, offset, seen);
        }
        return other_response(parser, offset);
    }
    decode_flow_fields(parser, offset, seen)
}

/// Rescan after renaming the older shape (rare, so the second pass does not matter).
fn seen_of(flat: &Flat) -> Seen {
    let mut seen = Seen {
        flow: true,
        ..Seen::default()
    };
    for (k, _) in flat {
        let k = k.as_str();
        seen.tcp |= k.starts_with("flow.l4.TCP");
        seen.udp |= k.starts_with("flow.l4.UDP");
        seen.sctp |= k.starts_with("flow.l4.SCTP");
        seen.icmp4 |= k.starts_with("flow.l4.ICMPv4");
        seen.icmp6 |= k.starts_with("flow.l4.ICMPv6");
        seen.dns |= k.starts_with("flow.l7.dns");
        seen.http |= k.starts_with("flow.l7.http");
        seen.kafka |= k.starts_with("flow.l7.kafka");
    }
    seen
}

fn decode_flow_fields(
    parser: &mut FlatParser,
    offset: u64,
    seen: Seen,
) -> Result<Event, DecodeError> {
    let flat = &parser.flat;
    let mut at: [Option<usize>; SLOTS] = [None; SLOTS];
    for (i, (k, _)) in flat.iter().enumerate() {
        if let Some(s) = slot(k) {
            at[s as usize] = Some(i);
        }
    }
    let get = |s: Slot| at[s as usize].and_then(|i| flat.get(i)).map(|(_, v)| v);
    let get_str = |s: Slot| get(s).and_then(J::as_str);

    let time = get_str(Slot::Time).or(get_str(Slot::RootTime));
    let Some(ts) = time.and_then(parse_timestamp) else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: match time {
                Some(t) => format!("`time` is {t:?}"),
                None => "no `time`".into(),
            },
        });
    };
    let mut ev = Event::new(ts);
    ev.set(Field::EventModule, "cilium");
    ev.set(Field::EventDataset, "cilium.hubble");
    ev.set(Field::EventCategory, "network");
    if let Some(n) = get_str(Slot::NodeName).or(get_str(Slot::RootNodeName)) {
        ev.set(Field::HostName, n);
    }
    if let Some(ip) = get_str(Slot::SrcIp) {
        ev.set(Field::SourceIp, ip);
    }
    if let Some(ip) = get_str(Slot::DstIp) {
        ev.set(Field::DestinationIp, ip);
    }
    let ports = if seen.tcp {
        ev.set(Field::NetworkTransport, "tcp");
        Some((Slot::TcpSport, Slot::TcpDport))
    } else if seen.udp {
        ev.set(Field::NetworkTransport, "udp");
        Some((Slot::UdpSport, Slot::UdpDport))
    } else if seen.sctp {
        ev.set(Field::NetworkTransport, "sctp");
        Some((Slot::SctpSport, Slot::SctpDport))
    } else {
        if seen.icmp4 {
            ev.set(Field::NetworkTransport, "icmp");
        } else if seen.icmp6 {
            ev.set(Field::NetworkTransport, "ipv6-icmp");
        }
        None
    };
    if let Some((s, d)) = ports {
        // protojson omits zero values: a missing port is 0 only in theory (never on the wire),
        // so it is left unset rather than invented.
        if let Some(p) = get(s).and_then(j_int) {
            ev.set(Field::SourcePort, p);
        }
        if let Some(p) = get(d).and_then(j_int) {
            ev.set(Field::DestinationPort, p);
        }
    }
    if let Some(ns) = get_str(Slot::SrcNamespace) {
        ev.set(Field::OrchestratorNamespace, ns);
    }
    if let Some(pod) = get_str(Slot::SrcPod) {
        ev.set(Field::OrchestratorResourceName, pod);
    }
    if let Some(name) = get(Slot::SrcNames).and_then(first_str) {
        ev.set(Field::SourceDomain, name.trim_end_matches('.'));
    }
    if let Some(name) = get(Slot::DstNames).and_then(first_str) {
        ev.set(Field::DestinationDomain, name.trim_end_matches('.'));
    }

    let mut outcome = match get_str(Slot::Verdict) {
        Some("FORWARDED" | "REDIRECTED" | "TRANSLATED") => "success",
        Some("DROPPED" | "ERROR" | "AUDIT") => "failure",
        _ => "unknown",
    };
    let l7 = get_str(Slot::FlowType) == Some("L7") || seen.dns || seen.http || seen.kafka;
    if l7 {
        let protocol = if seen.dns {
            "dns"
        } else if seen.http {
            "http"
        } else if seen.kafka {
            "kafka"
        } else {
            "l7"
        };
        let response = match get_str(Slot::L7Type) {
            Some("RESPONSE") => Some(true),
            Some("REQUEST") => Some(false),
            _ => None,
        };
        let action = match (protocol, response) {
            ("dns", Some(false)) => "dns-query".to_string(),
            (p, Some(false)) => format!("{p}-request"),
            (p, Some(true)) => format!("{p}-response"),
            (p, None) => p.to_string(),
        };
        ev.set(Field::EventAction, action);
        if protocol != "l7" {
            ev.set(Field::NetworkProtocol, protocol);
        }
        if let Some(q) = get_str(Slot::DnsQuery) {
            ev.set(Field::DnsQuestionName, q.trim_end_matches('.'));
        }
        if let Some(url) = get_str(Slot::HttpUrl) {
            ev.set(Field::UrlFull, url);
        }
        if response == Some(true) && outcome == "success" {
            let http_error = get(Slot::HttpCode)
                .and_then(j_int)
                .is_some_and(|c| c >= 400);
            let dns_error = get(Slot::DnsRcode).and_then(j_int).is_some_and(|c| c != 0);
            if http_error || dns_error {
                outcome = "failure";
            }
        }
    } else {
        ev.set(Field::EventAction, "flow");
    }
    ev.set(Field::EventOutcome, outcome);
    ev.original = parser.take();
    Ok(ev)
}

/// A response of the stream that is not a flow (`node_status`, `lost_events`, ...).
fn other_response(parser: &mut FlatParser, offset: u64) -> Result<Event, DecodeError> {
    let flat = &parser.flat;
    const KINDS: &[(&str, &str)] = &[
        ("lost_events.", "lost-events"),
        ("node_status.", "node-status"),
        ("agent_event.", "agent-event"),
        ("debug_event.", "debug-event"),
    ];
    let Some(action) = KINDS
        .iter()
        .find(|(prefix, _)| flat.iter().any(|(k, _)| k.starts_with(prefix)))
        .map(|(_, action)| *action)
    else {
        return Err(DecodeError::malformed(
            offset,
            "not a Hubble flow: no `flow` object or `verdict`",
        ));
    };
    let field = |name: &str| {
        flat.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_str())
    };
    let Some(ts) = field("time").and_then(parse_timestamp) else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: format!("{action} without a valid `time`"),
        });
    };
    let mut ev = Event::new(ts);
    ev.set(Field::EventModule, "cilium");
    ev.set(Field::EventDataset, "cilium.hubble");
    ev.set(Field::EventAction, action);
    if let Some(n) = field("node_name") {
        ev.set(Field::HostName, n);
    }
    ev.original = parser.take();
    Ok(ev)
}

// ---------------------------------------------------------------------------------------
// Shared by the cloud-native decoders (hubble, falco, tetragon).
// ---------------------------------------------------------------------------------------

/// Flattened `(dotted name, value)` pairs, the shape of [`Event::original`].
pub(crate) type Flat = Vec<(String, J)>;

/// Parses JSON object records straight into dotted leaves, without building the object tree
/// first: objects nest with dots, arrays and scalars are kept whole, an empty object is kept
/// as `{}` (it can carry meaning, e.g. an ICMP echo reply). Same names and values as
/// [`super::json::flatten`] of the parsed record, at a fraction of the allocations, which is
/// what makes the JSON decoders fast. One parser per decoder: its buffers are reused.
#[derive(Debug, Default)]
pub(crate) struct FlatParser {
    /// The pairs of the last record parsed.
    pub(crate) flat: Flat,
    /// Dotted name of the value being parsed.
    prefix: String,
    /// Elements of the arrays being parsed, moved out into exactly sized vectors.
    items: Vec<J>,
}

impl FlatParser {
    /// Parse one record into [`FlatParser::flat`] (cleared first).
    pub(crate) fn parse(&mut self, record: &str, offset: u64) -> Result<(), DecodeError> {
        self.flat.clear();
        self.prefix.clear();
        self.items.clear();
        if !super::json::head_is_json_object(record.as_bytes()) {
            return Err(DecodeError::malformed(offset, "expected a JSON object"));
        }
        let mut de = serde_json::Deserializer::from_str(record);
        let parsed = Leaf {
            prefix: &mut self.prefix,
            out: &mut self.flat,
            items: &mut self.items,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        parsed.map_err(|e| {
            self.flat.clear();
            DecodeError::malformed(offset, format!("invalid JSON: {e}"))
        })
    }

    /// Move the pairs out into a vector of exactly their size, keeping the buffer for the
    /// next record (growing a fresh vector per record costs several reallocations).
    pub(crate) fn take(&mut self) -> Flat {
        self.flat.drain(..).collect()
    }
}

/// Deserialize seed that writes the value at `prefix` into `out`.
struct Leaf<'a> {
    prefix: &'a mut String,
    out: &'a mut Flat,
    items: &'a mut Vec<J>,
}

impl Leaf<'_> {
    fn push(self, v: J) {
        self.out.push((self.prefix.clone(), v));
    }
}

impl<'de> DeserializeSeed<'de> for Leaf<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaf<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(J::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(J::from(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(J::from(v));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(serde_json::Number::from_f64(v).map_or(J::Null, J::Number));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(J::String(v.to_owned()));
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.push(J::String(v));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(J::Null);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Arrays nest only inside this element parse, so one scratch vector serves.
        let start = self.items.len();
        while let Some(item) = seq.next_element::<J>()? {
            self.items.push(item);
        }
        let items: Vec<J> = self.items.drain(start..).collect();
        self.push(J::Array(items));
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.prefix.len();
        let mut empty = true;
        while map
            .next_key_seed(Key {
                prefix: &mut *self.prefix,
                base,
            })?
            .is_some()
        {
            empty = false;
            map.next_value_seed(Leaf {
                prefix: &mut *self.prefix,
                out: &mut *self.out,
                items: &mut *self.items,
            })?;
            self.prefix.truncate(base);
        }
        if empty && base > 0 {
            self.push(J::Object(serde_json::Map::new()));
        }
        Ok(())
    }
}

/// Key seed: appends `.key` (or `key` at the top) to the prefix.
struct Key<'a> {
    prefix: &'a mut String,
    base: usize,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.prefix.truncate(self.base);
        if self.base > 0 {
            self.prefix.push('.');
        }
        self.prefix.push_str(v);
        Ok(())
    }
}

/// The first JSON document of a detection head: up to the end of the first top-level object
/// (pretty-printed or not), or the whole head when it is cut before that.
pub(crate) fn first_document(head: &[u8]) -> &[u8] {
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return &[];
    };
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in head.iter().enumerate().skip(start) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return head.get(start..=i).unwrap_or(head);
                }
            }
            _ => {}
        }
    }
    head.get(start..).unwrap_or(head)
}

/// A JSON value as an integer: a number, or a numeric string (protojson writes 64-bit
/// integers as strings).
pub(crate) fn j_int(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)),
        J::String(s) => crate::event::parse_int(s),
        _ => None,
    }
}

/// The first string of a JSON array (or the string itself).
pub(crate) fn first_str(v: &J) -> Option<&str> {
    match v {
        J::String(s) => Some(s),
        J::Array(items) => items.iter().find_map(J::as_str),
        _ => None,
    }
}

/// Kubernetes reports container ids as `<runtime>://<id>` (`containerd://`, `docker://`,
/// `cri-o://`); the bare id is what other sources (Falco, runtime logs) print.
pub(crate) fn strip_runtime_prefix(id: &str) -> &str {
    id.split_once("://").map_or(id, |(_, bare)| bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};

    const TCP_SYN: &str = r#"{"flow":{"time":"2024-03-02T10:11:12.123456789Z","verdict":"FORWARDED","IP":{"source":"10.8.1.20","destination":"10.8.2.31","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":51234,"destination_port":22,"flags":{"SYN":true}}},"source":{"ID":112,"identity":4242,"namespace":"shop","labels":["k8s:app=cart","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"cart-7d9f8-abcde","workloads":[{"name":"cart","kind":"Deployment"}]},"destination":{"ID":77,"identity":5151,"namespace":"ops","labels":["k8s:app=bastion"],"pod_name":"bastion-0"},"destination_names":["bastion.ops.svc.cluster.local."],"Type":"L3_L4","node_name":"kind-worker","event_type":{"type":4},"traffic_direction":"EGRESS","trace_observation_point":"TO_ENDPOINT","is_reply":false,"Summary":"TCP Flags: SYN"},"node_name":"kind-worker","time":"2024-03-02T10:11:12.123456789Z"}"#;

    #[test]
    fn l4_flow_maps_endpoints_ports_and_source_pod() {
        let evs = decode_ok(&FORMAT, TCP_SYN.as_bytes());
        assert_eq!(evs.len(), 1);
        let e = &evs[0];
        assert_eq!(e.timestamp, 1_709_374_272_123_456_789);
        assert_eq!(e.ip(Field::SourceIp), Some("10.8.1.20".parse().unwrap()));
        assert_eq!(
            e.ip(Field::DestinationIp),
            Some("10.8.2.31".parse().unwrap())
        );
        assert_eq!(e.int(Field::SourcePort), Some(51234));
        assert_eq!(e.int(Field::DestinationPort), Some(22));
        assert_eq!(e.str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(e.str(Field::OrchestratorNamespace), Some("shop"));
        assert_eq!(
            e.str(Field::OrchestratorResourceName),
            Some("cart-7d9f8-abcde")
        );
        assert_eq!(
            e.str(Field::DestinationDomain),
            Some("bastion.ops.svc.cluster.local")
        );
        assert_eq!(e.str(Field::EventAction), Some("flow"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::HostName), Some("kind-worker"));
        assert_eq!(e.str(Field::EventModule), Some("cilium"));
        assert_eq!(e.str(Field::NetworkDirection), Some("internal"));
        assert_eq!(
            e.original("flow.l4.TCP.flags.SYN"),
            Some(&serde_json::json!(true))
        );
        assert_eq!(
            e.original_str("flow.destination.pod_name").as_deref(),
            Some("bastion-0")
        );
        assert_eq!(
            e.original("flow.source.workloads"),
            Some(&serde_json::json!([{"name": "cart", "kind": "Deployment"}]))
        );
        assert!(e.raw.is_some());
    }

    #[test]
    fn flattening_matches_the_tree_flattener() {
        let mut parser = FlatParser::default();
        parser.parse(TCP_SYN, 0).unwrap();
        let mut want = Vec::new();
        crate::decode::json::flatten(serde_json::from_str(TCP_SYN).unwrap(), "", &mut want);
        assert_eq!(parser.take(), want);
        parser
            .parse(
                r#"{"a":{"b":{}},"c":[{"d":[1,[2]]}],"e":null,"f":1.5,"g":[]}"#,
                0,
            )
            .unwrap();
        assert!(parser.parse("{\"a\":[1,2}", 0).is_err());
        assert!(parser.flat.is_empty());
        parser
            .parse(
                r#"{"a":{"b":{}},"c":[{"d":[1,[2]]}],"e":null,"f":1.5,"g":[]}"#,
                0,
            )
            .unwrap();
        assert_eq!(
            parser.flat,
            vec![
                ("a.b".to_string(), serde_json::json!({})),
                ("c".to_string(), serde_json::json!([{"d": [1, [2]]}])),
                ("e".to_string(), J::Null),
                ("f".to_string(), serde_json::json!(1.5)),
                ("g".to_string(), serde_json::json!([])),
            ]
        );
    }

    #[test]
    fn dns_and_http_l7_flows() {
        let input = concat!(
            r#"{"flow":{"time":"2024-03-02T10:11:13Z","verdict":"FORWARDED","IP":{"source":"10.8.1.20","destination":"10.8.0.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":40000,"destination_port":53}},"source":{"namespace":"shop","pod_name":"cart-7d9f8-abcde"},"destination":{"namespace":"kube-system","pod_name":"coredns-1"},"Type":"L7","node_name":"kind-worker","l7":{"type":"REQUEST","dns":{"query":"vault.internal.example.","qtypes":["A"]}},"is_reply":false},"node_name":"kind-worker","time":"2024-03-02T10:11:13Z"}"#,
            "\n",
            r#"{"flow":{"time":"2024-03-02T10:11:13.5Z","verdict":"FORWARDED","IP":{"source":"10.8.0.10","destination":"10.8.1.20","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":40000}},"source":{"namespace":"kube-system","pod_name":"coredns-1"},"Type":"L7","l7":{"type":"RESPONSE","dns":{"query":"vault.internal.example.","rcode":3}},"is_reply":true},"node_name":"kind-worker","time":"2024-03-02T10:11:13.5Z"}"#,
            "\n",
            r#"{"flow":{"time":"2024-03-02T10:11:14Z","verdict":"FORWARDED","IP":{"source":"10.8.1.20","destination":"10.8.3.3"},"l4":{"TCP":{"source_port":41000,"destination_port":8080}},"Type":"L7","l7":{"type":"REQUEST","http":{"method":"POST","url":"http://admin.ops:8080/exec","protocol":"HTTP/1.1"}}}}"#,
            "\n",
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].str(Field::EventAction), Some("dns-query"));
        assert_eq!(
            evs[0].str(Field::DnsQuestionName),
            Some("vault.internal.example")
        );
        assert_eq!(evs[0].str(Field::NetworkProtocol), Some("dns"));
        assert_eq!(evs[0].str(Field::NetworkTransport), Some("udp"));
        assert_eq!(evs[1].str(Field::EventAction), Some("dns-response"));
        assert_eq!(evs[1].str(Field::EventOutcome), Some("failure"));
        assert_eq!(evs[2].str(Field::EventAction), Some("http-request"));
        assert_eq!(
            evs[2].str(Field::UrlFull),
            Some("http://admin.ops:8080/exec")
        );
        assert_eq!(evs[2].str(Field::HostName), None);
    }

    #[test]
    fn older_top_level_flow_and_drops() {
        let input = r#"{"time":"2020-05-05T08:00:00.000000001Z","verdict":"DROPPED","drop_reason":133,"drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.0.5","destination":"10.0.0.9","ipVersion":"IPv4"},"l4":{"ICMPv4":{"type":8}},"source":{"namespace":"default","pod_name":"tiefighter"},"destination":{"namespace":"default","pod_name":"deathstar-1"},"Type":"L3_L4","node_name":"node-a","event_type":{"type":1,"sub_type":133}}"#;
        let evs = decode_ok(&FORMAT, input.as_bytes());
        let e = &evs[0];
        assert_eq!(e.timestamp, 1_588_665_600_000_000_001);
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::NetworkTransport), Some("icmp"));
        assert_eq!(e.str(Field::HostName), Some("node-a"));
        assert_eq!(e.str(Field::OrchestratorResourceName), Some("tiefighter"));
        assert_eq!(
            e.original_str("flow.drop_reason_desc").as_deref(),
            Some("POLICY_DENIED")
        );
        assert!(e.original("verdict").is_none());
    }

    #[test]
    fn icmp_echo_reply_with_empty_message() {
        let input = r#"{"flow":{"time":"2024-03-02T10:11:12Z","verdict":"FORWARDED","IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},"l4":{"ICMPv6":{}}},"node_name":"n"}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.str(Field::NetworkTransport), Some("ipv6-icmp"));
        assert_eq!(e.original("flow.l4.ICMPv6"), Some(&serde_json::json!({})));
    }

    #[test]
    fn stream_responses_that_are_not_flows() {
        let input = br#"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":12},"node_name":"n1","time":"2024-03-02T10:11:12Z"}"#;
        let e = &decode_ok(&FORMAT, input)[0];
        assert_eq!(e.str(Field::EventAction), Some("lost-events"));
        assert_eq!(e.str(Field::HostName), Some("n1"));
    }

    #[test]
    fn malformed_records_are_errors() {
        let input = b"{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{}}}\nnot json\n[1,2]\n{\"flow\":\n{\"x\":1}\n\xff\xfe\n";
        let sink = crate::decode::decode_all(&FORMAT, input, &ctx());
        assert!(sink.events.is_empty());
        assert_eq!(sink.errors.len(), 6);
        assert!(matches!(sink.errors[0], DecodeError::Timestamp { .. }));
        assert_eq!(sink.errors[1].offset(), 41);
    }

    #[test]
    fn detection() {
        assert_eq!(detect("flows.json", TCP_SYN.as_bytes()), 90);
        assert_eq!(
            detect(
                "x.json",
                br#"{"time":"t","verdict":"DROPPED","IP":{"source":"1.1.1.1"}}"#
            ),
            90
        );
        // Zeek conn, Falco, Tetragon, winlogbeat: no.
        assert_eq!(
            detect(
                "conn.log",
                br#"{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","proto":"tcp"}"#
            ),
            0
        );
        assert_eq!(
            detect(
                "f.json",
                br#"{"output":"x","priority":"Warning","rule":"r","time":"t"}"#
            ),
            0
        );
        assert_eq!(
            detect(
                "t.json",
                br#"{"process_exec":{"process":{"binary":"/bin/sh"}},"time":"t"}"#
            ),
            0
        );
        assert_eq!(
            detect(
                "w.json",
                br#"{"@timestamp":"t","winlog":{"event_id":4624,"event_data":{"IpAddress":"1.2.3.4"}}}"#
            ),
            0
        );
        assert_eq!(
            detect(
                "x.json",
                br#"{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]},"time":"2024-03-02T10:11:12Z"}"#
            ),
            60
        );
        // Only the first document counts.
        assert_eq!(
            detect(
                "x.json",
                b"{\"a\":1}\n{\"verdict\":\"DROPPED\",\"IP\":{}}\n"
            ),
            0
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(strip_runtime_prefix("containerd://abc"), "abc");
        assert_eq!(strip_runtime_prefix("cri-o://def"), "def");
        assert_eq!(strip_runtime_prefix("0123abcd"), "0123abcd");
        assert_eq!(
            first_document(b"  {\"a\":\"}\"}\n{\"b\":1}"),
            b"{\"a\":\"}\"}"
        );
        assert_eq!(first_document(b"{\"a\":"), b"{\"a\":");
    }

    /// Truncated, bit-flipped and shuffled records never panic any of the cloud decoders.
    #[test]
    fn damaged_input_never_panics() {
        let samples: Vec<&[u8]> = vec![
            TCP_SYN.as_bytes(),
            include_bytes!("../../tests/fixtures/hubble/observe-l7.json"),
            include_bytes!("../../tests/fixtures/falco/alerts-syscall.log"),
            include_bytes!("../../tests/fixtures/tetragon/getevents-pretty.json"),
        ];
        let formats = [
            &FORMAT,
            &super::super::falco::FORMAT,
            &super::super::tetragon::FORMAT,
        ];
        for sample in samples {
            let sample = sample.get(..sample.len().min(6000)).unwrap_or(sample);
            for cut in (0..sample.len()).step_by(37) {
                for format in formats {
                    let _ = crate::decode::decode_all(format, &sample[..cut], &ctx());
                }
            }
            let mut seed = 0x2545_f491_4f6c_dd1d_u64;
            for _ in 0..200 {
                let mut damaged = sample.to_vec();
                for _ in 0..4 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = (seed % damaged.len() as u64) as usize;
                    damaged[at] = (seed >> 32) as u8;
                }
                for format in formats {
                    let _ = crate::decode::decode_all(format, &damaged, &ctx());
                }
            }
        }
    }

    /// Decode speed on generated flows (1.2 KB lines, 33 leaves each, like the corpus):
    /// `cargo test --release --lib decode::hubble::tests::speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark; run in release"]
    #[allow(clippy::disallowed_methods)] // timing the decoder is the point here
    fn speed() {
        let n = 200_000;
        let mut input = String::with_capacity(n * 1200);
        for i in 0..n {
            let (a, b) = (i % 250, (i / 250) % 250);
            input.push_str(
                &TCP_SYN
                    .replace("10.8.1.20", &format!("10.8.{a}.{b}"))
                    .replace("51234", &(1024 + i % 60000).to_string())
                    .replace("cart-7d9f8-abcde", &format!("cart-7d9f8-{b:05}"))
                    .replace(".123456789Z", &format!(".{:09}Z", i)),
            );
            input.push('\n');
        }
        let ctx = ctx();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let mut decoder = (FORMAT.decoder)();
            let mut framer = super::super::frame::Framer::new(FORMAT.framing, 1 << 20);
            let mut out = Sink::default();
            let mut events = 0;
            // Like batch reading: 256 KiB chunks, events handed on (here dropped) per chunk.
            for chunk in input.as_bytes().chunks(256 * 1024) {
                framer.push(chunk, &mut |f| {
                    if let super::super::frame::Frame::Record { offset, bytes } = f {
                        decoder.decode(bytes, offset, &ctx, &mut out);
                    }
                });
                events += out.events.len();
                out.events.clear();
            }
            assert_eq!(events, n);
            assert!(out.errors.is_empty());
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "hubble: {:.0} events/s ({:.0} MB/s)",
            n as f64 / best,
            input.len() as f64 / best / 1e6
        );
    }
}
