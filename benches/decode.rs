//! Decoder throughput per format, on one core: `cargo bench --bench decode`.
//!
//! Inputs are our fixtures (`tests/fixtures/<format>/`) repeated to about 32 MiB, so every
//! format is measured on records shaped like real ones; EVTX uses the corpus EVTX files
//! (`$LATERAL_CORPUS`) and is compared with the `evtx` crate's own JSON record loop on the
//! same bytes. Prints events/s and MiB/s per format.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use lateral::decode::{self, Context, Framing};
use lateral::event::Networks;

const TARGET_BYTES: usize = 32 << 20;

/// The same allocator as the `lateral` binary, so the numbers match what users get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ctx() -> Context {
    Context::new(
        "bench",
        "bench.log",
        Networks::default(),
        1_717_200_000_000_000_000,
    )
}

/// Each fixture of the format repeated to about `TARGET_BYTES / files` (files stay separate:
/// a VPC header or a Zeek `#fields` block changes the layout for the rest of its file).
fn fixture_inputs(format: &str) -> Option<Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let per_file = TARGET_BYTES / files.len().max(1);
    let mut out = Vec::new();
    for f in files {
        let mut seed = std::fs::read(f).ok()?;
        if !seed.ends_with(b"\n") {
            seed.push(b'\n');
        }
        let mut input = Vec::with_capacity(per_file + seed.len());
        while input.len() < per_file {
            input.extend_from_slice(&seed);
        }
        out.push(input);
    }
    (!out.is_empty()).then_some(out)
}

fn corpus_evtx() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "evtx")
                && let Ok(b) = std::fs::read(&p)
            {
                out.push(b);
            }
        }
    }
    out
}

fn report(name: &str, events: usize, bytes: usize, secs: f64) {
    println!(
        "{name:<16} {:>10.0} events/s {:>8.1} MiB/s  ({events} events in {secs:.3}s)",
        events as f64 / secs,
        bytes as f64 / secs / (1 << 20) as f64
    );
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |n: &str| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str()));
    println!("decode throughput, one thread");
    for format in decode::FORMATS {
        if !wanted(format.name) || format.framing == Framing::Whole {
            continue;
        }
        let Some(inputs) = fixture_inputs(format.name) else {
            println!("{:<16} (no fixtures)", format.name);
            continue;
        };
        let bytes: usize = inputs.iter().map(Vec::len).sum();
        // Warm up, then measure the best of three.
        let _ = decode::decode_all(format, &inputs[0][..inputs[0].len().min(1 << 20)], &ctx());
        let mut best = f64::MAX;
        let mut events = 0;
        for _ in 0..3 {
            let t = Instant::now();
            events = 0;
            for input in &inputs {
                let sink = decode::decode_all(format, input, &ctx());
                assert!(
                    sink.errors.is_empty(),
                    "{}: {:?}",
                    format.name,
                    sink.errors.first()
                );
                events += sink.events.len();
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        report(format.name, events, bytes, best);
    }
    if wanted("evtx") {
        let files = corpus_evtx();
        if files.is_empty() {
            println!("evtx             (no corpus EVTX files; set LATERAL_CORPUS)");
            return;
        }
        let Some(evtx) = decode::format_by_name("evtx") else {
            return;
        };
        let total: usize = files.iter().map(Vec::len).sum();
        let rounds = (TARGET_BYTES / total).max(1);
        let t = Instant::now();
        let mut events = 0;
        for _ in 0..rounds {
            for f in &files {
                events += decode::decode_all(evtx, f, &ctx()).events.len();
            }
        }
        let ours = t.elapsed().as_secs_f64();
        report("evtx (lateral)", events, total * rounds, ours);
        let t = Instant::now();
        let mut raw = 0;
        for _ in 0..rounds {
            for f in &files {
                let settings = evtx::ParserSettings::default().num_threads(1);
                if let Ok(p) = evtx::EvtxParser::from_buffer(f.clone()) {
                    let mut p = p.with_configuration(settings);
                    raw += p.records_json_value().filter(Result::is_ok).count();
                }
            }
        }
        let theirs = t.elapsed().as_secs_f64();
        report("evtx (crate)", raw, total * rounds, theirs);
        println!(
            "evtx ratio lateral / evtx crate dump time: {:.2}x",
            ours / theirs
        );
    }
}
