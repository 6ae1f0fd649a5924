//! Keeps the module dependency rules of ARCHITECTURE.md honest inside one crate: each module
//! may only name the modules and external crates its row allows.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};

/// (module, crate modules it may use, paths it must not mention).
const RULES: &[(&str, &[&str], &[&str])] = &[
    (
        "event",
        &[],
        &[
            "tokio::",
            "ratatui::",
            "tantivy::",
            "std::fs",
            "crossterm::",
        ],
    ),
    (
        "decode",
        &["event"],
        &[
            "tokio::",
            "ratatui::",
            "tantivy::",
            "std::fs",
            "File::open",
            "crossterm::",
            "SystemTime::now",
            "Utc::now",
        ],
    ),
    (
        "correlate",
        &["event"],
        &[
            "tokio::",
            "ratatui::",
            "tantivy::",
            "std::fs",
            "SystemTime::now",
            "Instant::now",
            "Utc::now",
        ],
    ),
    (
        "index",
        &["event"],
        &["tokio::", "ratatui::", "crossterm::"],
    ),
    (
        "ingest",
        &["event", "decode"],
        &["ratatui::", "tantivy::", "crossterm::"],
    ),
    (
        "triage",
        &["event", "correlate"],
        &["ratatui::", "tokio::", "crossterm::"],
    ),
    (
        "tui",
        &["event", "correlate", "triage"],
        &["tokio::", "tantivy::", "std::fs"],
    ),
    (
        // Pure generation: seeded, on event time; the CLI writes the files and paces live
        // output on the wall clock.
        "simulate",
        &["event", "decode", "correlate"],
        &[
            "tokio::",
            "ratatui::",
            "tantivy::",
            "std::fs",
            "File::",
            "SystemTime::now",
            "Instant::now",
            "Utc::now",
        ],
    ),
];

const MODULES: &[&str] = &[
    "event",
    "decode",
    "correlate",
    "index",
    "ingest",
    "triage",
    "tui",
    "simulate",
    "cli",
];

fn files_of(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let top = src.join(format!("{module}.rs"));
    if top.is_file() {
        out.push(top);
    }
    let mut stack = vec![src.join(module)];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// Code without `#[cfg(test)]` sections (tests may use anything) and without comments.
fn production_code(text: &str) -> String {
    let cut = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    cut.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("//")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn modules_respect_the_dependency_rules() {
    let mut violations = Vec::new();
    let mut checked = 0;
    for (module, allowed, forbidden) in RULES {
        for file in files_of(module) {
            checked += 1;
            let code = production_code(&std::fs::read_to_string(&file).unwrap());
            for other in MODULES
                .iter()
                .filter(|m| *m != module && !allowed.contains(m))
            {
                for pattern in [
                    format!("crate::{other}::"),
                    format!("crate::{other};"),
                    format!("crate::{{{other}"),
                ] {
                    if code.contains(&pattern) {
                        violations.push(format!(
                            "{}: `{module}` must not use `{other}`",
                            file.display()
                        ));
                    }
                }
            }
            for f in *forbidden {
                if code.contains(f) {
                    violations.push(format!(
                        "{}: `{module}` must not mention `{f}`",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(checked >= 3, "too few files checked: {checked}");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
