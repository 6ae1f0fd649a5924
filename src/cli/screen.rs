//! The full-screen runtime of `lateral watch` (terminal, event loop, commands).

use std::process::ExitCode;

use super::{UsageError, WatchArgs};

/// Run the full-screen view.
pub fn run(_args: &WatchArgs) -> anyhow::Result<ExitCode> {
    Err(UsageError("the full-screen view is being integrated; use --headless".into()).into())
}
