//! `lateral` binary: see [`lateral::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    lateral::cli::run()
}
