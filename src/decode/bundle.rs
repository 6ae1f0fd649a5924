//! `lateral-bundle`: a case bundle written by `lateral case export`, read back as events.
//!
//! The first line is a header object with the key `lateral_bundle` (the bundle version, the
//! case, the rules it was hunted with); every further line is one normalized event in the
//! [`Event::to_json`] form. Events keep their original `event.id`, which is what makes a hunt
//! of the bundle reproduce the same session ids as the hunt that produced the case.

use super::{Context, DecodeError, Decoder, Format, Framing, Sink, json};
use crate::event::Event;

/// The key that marks a bundle header.
pub const HEADER_KEY: &str = "lateral_bundle";

/// The bundle format.
pub const FORMAT: Format = Format {
    name: "lateral-bundle",
    description: "case bundle written by `lateral case export` (header line + normalized events)",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(BundleDecoder::default()),
};

fn detect(_file_name: &str, head: &[u8]) -> u8 {
    // The header is always the first line and starts with its key, so a prefix match is
    // enough and never confuses a bundle with other JSON-lines formats.
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    match start {
        Some(i) if head[i..].starts_with(format!("{{\"{HEADER_KEY}\"").as_bytes()) => 100,
        _ => 0,
    }
}

#[derive(Debug, Default)]
struct BundleDecoder {
    seen_header: bool,
}

impl Decoder for BundleDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = super::text(record, out);
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let value = match json::parse_object(line, offset) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(e);
                return;
            }
        };
        if value.get(HEADER_KEY).is_some() {
            if self.seen_header {
                out.errors
                    .push(DecodeError::malformed(offset, "second bundle header"));
            }
            self.seen_header = true;
            return;
        }
        match Event::from_json(&value) {
            Some(mut ev) => {
                // An event without an id (hand-edited bundle) still needs a stable one.
                if ev.id.is_empty() {
                    ev.id = ctx.event_id(offset);
                }
                out.events.push(ev);
            }
            None => out.errors.push(DecodeError::malformed(
                offset,
                "not a normalized event (missing or invalid @timestamp)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_all, detect as detect_any, testing};

    #[test]
    fn round_trips_events_and_skips_the_header() {
        let mut ev = Event::new(1_717_200_000_000_000_000);
        ev.id = "abc-1".into();
        ev.set(crate::event::Field::HostName, "ws1");
        let input = format!(
            "{{\"lateral_bundle\":1,\"case\":{{}}}}\n{}\nnot json\n{{\"x\":1}}\n",
            ev.to_json()
        );
        assert_eq!(
            detect_any("case.jsonl", input.as_bytes()).map(|f| f.name),
            Some("lateral-bundle")
        );
        let sink = decode_all(&FORMAT, input.as_bytes(), &testing::ctx());
        assert_eq!(sink.events.len(), 1);
        assert_eq!(sink.events[0].id, "abc-1");
        assert_eq!(sink.events[0].to_json(), ev.to_json());
        assert_eq!(sink.errors.len(), 2, "{:?}", sink.errors);
    }

    #[test]
    fn other_json_is_not_a_bundle() {
        assert_eq!(detect("x.json", br#"{"flow":{"lateral_bundle":1}}"#), 0);
        assert_eq!(detect("x.json", b""), 0);
    }
}
