//! AWS VPC flow logs (and Transit Gateway flow logs in the same text layout).
//!
//! Records are space-separated values. Without a header the layout is the default version 2
//! format (14 fields) or, with 29 fields, every version 5 field in AWS's documented order.
//! Custom formats are named by a header line of field names (`version vpc-id subnet-id ...`),
//! which may repeat in the file; each header switches the layout for the records after it.
//! `-` marks a field with no value (NODATA / SKIPDATA records).
//!
//! Reference: AWS VPC User Guide, "Flow log records" (available fields by version).

use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, parse_int};

/// The VPC flow log format.
pub const FORMAT: Format = Format {
    name: "vpcflow",
    description: "AWS VPC / Transit Gateway flow logs (default v2, custom v3-v5 with header)",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(VpcDecoder::default()),
};

/// Default version 2 layout.
const V2: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Every field through version 5, in the documented order.
const V5_ALL: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
];

/// Field names a header may contain beyond the v5 list: ECS and Transit Gateway fields.
const EXTRA: &[&str] = &[
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-type",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
];

fn is_header(tokens: &[&str]) -> bool {
    tokens.len() >= 3
        && tokens
            .iter()
            .all(|t| V5_ALL.contains(t) || EXTRA.contains(t))
}

fn looks_like_record(tokens: &[&str]) -> bool {
    tokens.len() >= 14
        && matches!(tokens[0], "2" | "3" | "4" | "5" | "6" | "7" | "8")
        && tokens
            .iter()
            .any(|t| matches!(*t, "ACCEPT" | "REJECT" | "OK" | "NODATA" | "SKIPDATA"))
}

fn detect(name: &str, head: &[u8]) -> u8 {
    let Some(first) = head
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
    else {
        return 0;
    };
    let Ok(first) = std::str::from_utf8(first) else {
        return 0;
    };
    let tokens: Vec<&str> = first.split_ascii_whitespace().collect();
    let named =
        name.to_ascii_lowercase().contains("vpc") || name.to_ascii_lowercase().contains("flow");
    if is_header(&tokens) {
        return 90;
    }
    if looks_like_record(&tokens) {
        return if named { 90 } else { 70 };
    }
    0
}

/// Per-file state: the current field layout (from the last header, or by field count).
#[derive(Debug, Default)]
struct VpcDecoder {
    header: Option<Vec<String>>,
}

impl Decoder for VpcDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = super::text(record, out);
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        if tokens.is_empty() {
            return;
        }
        if is_header(&tokens) {
            self.header = Some(tokens.iter().map(|t| (*t).to_string()).collect());
            return;
        }
        let layout: Vec<&str> = match &self.header {
            Some(h) => h.iter().map(String::as_str).collect(),
            None if tokens.len() == V5_ALL.len() => V5_ALL.to_vec(),
            None => V2.to_vec(),
        };
        if tokens.len() != layout.len() {
            out.errors.push(DecodeError::malformed(
                offset,
                format!(
                    "{} fields where the layout has {}",
                    tokens.len(),
                    layout.len()
                ),
            ));
            return;
        }
        let get = |name: &str| -> Option<&str> {
            layout
                .iter()
                .position(|n| *n == name)
                .map(|i| tokens[i])
                .filter(|v| *v != "-")
        };
        let Some(start) = get("start").and_then(parse_int) else {
            out.errors.push(DecodeError::Timestamp {
                offset,
                reason: format!("`start` is {:?}", get("start").unwrap_or("-")),
            });
            return;
        };
        let mut ev = Event::new(start.saturating_mul(1_000_000_000));
        ev.set(Field::EventModule, "aws");
        ev.set(Field::EventDataset, "aws.vpcflow");
        ev.set(Field::EventCategory, "network");
        // Where the packet really came from: pkt-* differ from srcaddr/dstaddr behind NAT and
        // for EKS pods on secondary addresses, and the workload address is what we correlate.
        let src = get("pkt-srcaddr").or(get("srcaddr"));
        let dst = get("pkt-dstaddr").or(get("dstaddr"));
        if let Some(s) = src {
            ev.set(Field::SourceIp, s);
        }
        if let Some(d) = dst {
            ev.set(Field::DestinationIp, d);
        }
        if let Some(p) = get("srcport") {
            ev.set(Field::SourcePort, p);
        }
        if let Some(p) = get("dstport") {
            ev.set(Field::DestinationPort, p);
        }
        if let Some(proto) = get("protocol") {
            ev.set(Field::NetworkTransport, iana_protocol(proto));
        }
        match (get("action"), get("log-status")) {
            (Some(action), _) => {
                ev.set(Field::EventAction, action.to_ascii_lowercase());
                ev.set(
                    Field::EventOutcome,
                    if action == "ACCEPT" {
                        "success"
                    } else {
                        "failure"
                    },
                );
            }
            (None, Some(status)) => ev.set(Field::EventAction, status.to_ascii_lowercase()),
            (None, None) => {}
        }
        if let Some(i) = get("instance-id").or(get("interface-id")) {
            ev.set(Field::HostName, i);
        }
        ev.original = layout
            .iter()
            .zip(&tokens)
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
            .collect();
        ev.set_raw(&line);
        ctx.stamp(&mut ev, offset);
        out.events.push(ev);
    }
}

/// IANA protocol number → transport name.
fn iana_protocol(n: &str) -> String {
    match n {
        "1" => "icmp".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "47" => "gre".into(),
        "50" => "esp".into(),
        "58" => "ipv6-icmp".into(),
        "132" => "sctp".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::decode_ok;

    #[test]
    fn default_v2_records() {
        let evs = decode_ok(
            &FORMAT,
            b"2 123456789010 eni-1 10.0.1.5 10.0.2.9 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n\
              2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n",
        );
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].int(Field::DestinationPort), Some(3389));
        assert_eq!(evs[0].str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(evs[0].str(Field::EventOutcome), Some("failure"));
        assert_eq!(evs[0].str(Field::NetworkDirection), Some("internal"));
        assert_eq!(evs[1].str(Field::EventAction), Some("nodata"));
        assert_eq!(evs[1].timestamp, 1_431_280_876_000_000_000);
    }

    #[test]
    fn custom_header_switches_layout() {
        let evs = decode_ok(
            &FORMAT,
            b"version srcaddr dstaddr dstport protocol start end action\n\
              3 10.0.0.1 10.0.0.2 22 6 100 160 ACCEPT\n",
        );
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].int(Field::DestinationPort), Some(22));
        assert_eq!(evs[0].str(Field::EventOutcome), Some("success"));
    }

    #[test]
    fn wrong_field_count_is_an_error() {
        let sink = crate::decode::decode_all(&FORMAT, b"2 1 2 3\n", &crate::decode::testing::ctx());
        assert_eq!(sink.errors.len(), 1);
        assert!(sink.events.is_empty());
    }

    #[test]
    fn detection() {
        assert!(detect("x.log", b"version vpc-id subnet-id srcaddr\n") >= 30);
        assert!(
            detect(
                "x.log",
                b"2 123 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 1 1 ACCEPT OK\n"
            ) >= 30
        );
        assert_eq!(detect("x.log", b"{\"a\":1}\n"), 0);
    }
}
