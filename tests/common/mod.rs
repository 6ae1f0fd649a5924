//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The public corpus (`$LATERAL_CORPUS`, default `../shared/corpus` beside the crate), or
/// `None` with a printed note when it is absent. Naming a directory without the manifest in
/// `LATERAL_CORPUS` is an error: CI must never skip silently.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest-public.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("LATERAL_CORPUS").is_none(),
        "LATERAL_CORPUS={} has no manifest-public.json",
        dir.display()
    );
    eprintln!(
        "corpus tests skipped: no corpus at {} (set LATERAL_CORPUS)",
        dir.display()
    );
    None
}
