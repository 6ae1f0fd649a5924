//! Shared body of the decoder fuzz targets.

use lateral::decode::{self, Context};
use lateral::event::Networks;

/// Decode `data` as the format named `name`, checking invariants that must hold for any input.
pub fn decode(name: &str, data: &[u8]) {
    let Some(format) = decode::format_by_name(name) else {
        panic!("no format named {name}");
    };
    let ctx = Context::new("fuzz", "fuzz.log", Networks::default(), 1_700_000_000_000_000_000);
    let sink = decode::decode_all(format, data, &ctx);
    for ev in &sink.events {
        // Every event is stamped and serializes.
        assert!(!ev.id.is_empty());
        let _ = ev.to_json();
    }
}
