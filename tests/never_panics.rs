//! Property tests: no decoder panics on any bytes, whatever the framing, and every event it
//! does produce is stamped and serializes. Random bytes exercise the framers and the error
//! paths; mutated copies of our fixtures reach deep into each decoder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use lateral::decode::{self, Context, FORMATS};
use lateral::event::Networks;
use proptest::prelude::*;

fn ctx() -> Context {
    Context::new(
        "prop",
        "prop.log",
        Networks::default(),
        1_700_000_000_000_000_000,
    )
}

fn check(format: &decode::Format, data: &[u8]) {
    let sink = decode::decode_all(format, data, &ctx());
    for ev in &sink.events {
        assert!(!ev.id.is_empty(), "{}: event without id", format.name);
        let j = ev.to_json();
        assert!(j.get("@timestamp").is_some());
    }
    let _ = decode::detect("prop.log", data);
}

/// Every fixture we wrote, as (format name, bytes).
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(bytes) = std::fs::read(f.path()) {
                out.push((name.clone(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// A mutation of a seed: flip bytes, cut it, splice a piece of it elsewhere, insert junk.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
}

fn apply(seed: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for m in muts {
        let n = v.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if !v.is_empty() {
                    let i = i % v.len();
                    v[i] ^= b;
                }
            }
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Insert(i, junk) => {
                let i = i % n;
                let i = i.min(v.len());
                v.splice(i..i, junk.iter().copied());
            }
            Mutation::Duplicate(a, len) => {
                if !v.is_empty() {
                    let a = a % v.len();
                    let end = (a + len % 512).min(v.len());
                    let piece = v[a..end].to_vec();
                    v.extend_from_slice(&piece);
                }
            }
        }
    }
    v
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(i, j)| Mutation::Insert(i, j)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in FORMATS {
            check(format, &data);
        }
    }

    #[test]
    fn evtx_magic_then_junk_never_panics(data in proptest::collection::vec(any::<u8>(), 0..70_000)) {
        if let Some(evtx) = decode::format_by_name("evtx") {
            let mut bytes = b"ElfFile\0".to_vec();
            bytes.extend_from_slice(&data);
            check(evtx, &bytes);
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(pick in any::<usize>(), muts in proptest::collection::vec(mutation(), 1..6)) {
        let all = fixtures();
        prop_assume!(!all.is_empty());
        let (name, seed) = &all[pick % all.len()];
        let data = apply(seed, &muts);
        if let Some(format) = decode::format_by_name(name) {
            check(format, &data);
        }
        // Any decoder fed another format's bytes must not panic either.
        for format in FORMATS {
            check(format, &data);
        }
    }
}

/// Truncated real EVTX files (when the corpus is present): every prefix length class decodes
/// without panicking, and a truncated file still yields the records of its complete chunks.
#[test]
fn truncated_corpus_evtx_never_panics() {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let file = dir.join("evtx-attack-samples/Lateral Movement/LM_5145_Remote_FileCopy.evtx");
    let Ok(bytes) = std::fs::read(&file) else {
        eprintln!(
            "corpus EVTX truncation test skipped: {} not found",
            file.display()
        );
        return;
    };
    let Some(evtx) = decode::format_by_name("evtx") else {
        return;
    };
    let full = decode::decode_all(evtx, &bytes, &ctx()).events.len();
    assert!(full > 0);
    for cut in [
        8,
        100,
        4095,
        4096,
        4200,
        65_536,
        70_000,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let cut = cut.min(bytes.len());
        let sink = decode::decode_all(evtx, &bytes[..cut], &ctx());
        assert!(sink.events.len() <= full);
    }
    let half = decode::decode_all(evtx, &bytes[..bytes.len() / 2], &ctx());
    assert!(
        !half.events.is_empty(),
        "complete chunks before the cut are still read"
    );
}
