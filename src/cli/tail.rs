//! `lateral tail`: follow log directories live and print normalized events as they arrive.
//!
//! The tailer runs on its own thread ([`crate::ingest::tail::spawn`]); this side prints each
//! batch, flushes stdout, and only then stores the batch's checkpoint in the workspace. A
//! crash can therefore repeat at most the last batch after a restart, with the same
//! `event.id`s. SIGINT/SIGTERM stop the tailer after the batch in hand; the batches already
//! sent are printed and checkpointed before exiting 0. A second signal exits at once.

// Stats reports and checkpoint file names use the wall clock; decoders never see it.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::output::EventPrinter;
use super::{EventsOutput, TailArgs, UsageError};
use crate::event::{format_timestamp, sanitize};
use crate::ingest::checkpoint;
use crate::ingest::tail::{SourceHealth, SourceState, TailMsg};

/// File name of the tail checkpoints in the workspace.
pub const CHECKPOINTS: &str = "checkpoints.json";

/// Run `lateral tail`.
pub fn run(args: &TailArgs) -> anyhow::Result<ExitCode> {
    if !(args.stats_interval.is_finite() && args.stats_interval > 0.0) {
        return Err(
            UsageError("--stats-interval must be a positive number of seconds".into()).into(),
        );
    }
    let live = super::watch::start(&super::watch::LiveInput {
        paths: args.paths.clone(),
        format: args.format.clone(),
        internal: args.internal.clone(),
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        workspace: args.workspace.clone(),
        from_start: args.from_start,
        index_checkpoints: false,
        capacity: 2,
    })?;
    let _lock = live.lock;
    let cp_path = live.checkpoints;
    let running = live.running;
    let stopper = live.stopper;
    let signal_handle = super::watch::stop_on_signals(stopper.clone())?;

    let stdout = std::io::stdout().lock();
    let mut printer = EventPrinter::new(
        BufWriter::with_capacity(256 * 1024, stdout),
        args.output == EventsOutput::Table,
    );
    let stats_every = Duration::from_secs_f64(args.stats_interval);
    let mut next_stats = Instant::now() + stats_every;
    let mut shown_failures: HashMap<String, String> = HashMap::new();
    let mut save_failed = false;
    for msg in running.messages.iter() {
        match msg {
            TailMsg::Batch(batch) => {
                let printed = batch
                    .events
                    .iter()
                    .try_for_each(|ev| printer.print(ev))
                    .and_then(|()| printer.finish());
                if printed.is_err() {
                    // stdout closed (`| head`): stop without confirming this batch.
                    stopper.stop();
                    break;
                }
                if let Some(cp) = &batch.checkpoint {
                    match checkpoint::save(&cp_path, cp) {
                        Ok(()) => save_failed = false,
                        Err(e) if !save_failed => {
                            save_failed = true;
                            eprintln!("lateral: cannot save checkpoints: {e}");
                        }
                        Err(_) => {}
                    }
                }
            }
            TailMsg::Health(health) => {
                report_failures(&health, &mut shown_failures);
                if args.stats && Instant::now() >= next_stats {
                    next_stats = Instant::now() + stats_every;
                    print_stats(&health);
                }
            }
        }
    }
    running.join();
    signal_handle.close();
    Ok(ExitCode::SUCCESS)
}

/// Say once on stderr when a source fails (or fails differently), even without `--stats`.
fn report_failures(health: &[SourceHealth], shown: &mut HashMap<String, String>) {
    for h in health {
        if h.state != SourceState::Error {
            shown.remove(&h.path);
            continue;
        }
        let why = h.last_error.clone().unwrap_or_default();
        if shown.get(&h.path) != Some(&why) {
            eprintln!("lateral: {}", sanitize(&why, 300));
            shown.insert(h.path.clone(), why);
        }
    }
}

fn print_stats(health: &[SourceHealth]) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "── sources: {} ──", health.len());
    for h in health {
        let _ = writeln!(err, "{}", stats_line(h));
    }
}

/// `state  path  [format]  read  lag  events  errors  last event  (last error)`.
pub fn stats_line(h: &SourceHealth) -> String {
    let mut line = format!(
        "{:<8} {}  [{}]  {} read  lag {}  {} events  {} errors",
        h.state,
        sanitize(&h.path, 200),
        h.format.unwrap_or("?"),
        human_bytes(h.bytes_read),
        human_bytes(h.lag),
        h.events,
        h.errors,
    );
    if let Some(t) = h.last_event {
        line.push_str(&format!("  last event {}", format_timestamp(t)));
    }
    if let Some(e) = &h.last_error {
        line.push_str(&format!("\n         last error: {}", sanitize(e, 300)));
    }
    line
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_show_health_and_escape_paths() {
        let h = SourceHealth {
            path: "/logs/evil\x1b[2J.log".into(),
            format: Some("zeek-json"),
            state: SourceState::Tailing,
            bytes_read: 3 * 1024 * 1024,
            lag: 10,
            events: 42,
            errors: 1,
            last_error: Some("offset 7: malformed record: x".into()),
            last_event: Some(1_717_200_000_000_000_000),
        };
        let line = stats_line(&h);
        assert!(line.starts_with("tailing "), "{line}");
        assert!(line.contains("3.0 MiB read") && line.contains("lag 10 B"));
        assert!(line.contains("42 events  1 errors"));
        assert!(line.contains("last event 2024-06-01T00:00:00"));
        assert!(line.contains("last error: offset 7"));
        assert!(!line.contains('\x1b'));
    }
}
