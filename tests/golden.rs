//! Golden snapshots of normalized events for fixtures we wrote, one folder per format:
//! `tests/fixtures/<format name>/<file>`. Every fixture must be detected as its folder's
//! format without `--format`, decode without errors, and match its snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use lateral::decode::{self, Context};
use lateral::event::Networks;

/// 2024-06-01T00:00:00Z: the reference time for formats without a year.
const REFERENCE_TIME: i64 = 1_717_200_000_000_000_000;

#[test]
fn every_fixture_matches_its_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut formats: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    formats.sort();
    let mut checked = 0;
    for dir in formats.iter().filter(|d| d.is_dir()) {
        let format_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let format = decode::format_by_name(&format_name)
            .unwrap_or_else(|| panic!("fixture folder {format_name} names no format"));
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&file).unwrap();
            let head = &bytes[..bytes.len().min(64 * 1024)];
            let detected = decode::detect(&name, head).map(|f| f.name);
            assert_eq!(
                detected,
                Some(format.name),
                "{name} detected as {detected:?}"
            );
            let source = format!("fixtures/{format_name}/{name}");
            let ctx = Context::new(source.clone(), source, Networks::default(), REFERENCE_TIME);
            let sink = decode::decode_all(format, &bytes, &ctx);
            assert!(sink.errors.is_empty(), "{name}: {:?}", sink.errors);
            assert!(!sink.events.is_empty(), "{name}: no events");
            let json: Vec<_> = sink.events.iter().map(|e| e.to_json()).collect();
            insta::with_settings!({ snapshot_suffix => format!("{format_name}__{name}"), prepend_module_to_snapshot => false }, {
                insta::assert_json_snapshot!("golden", json);
            });
            checked += 1;
        }
    }
    assert!(checked > 0, "no fixtures found under {}", root.display());
}
