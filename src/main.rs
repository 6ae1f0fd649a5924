//! `lateral` binary: see [`lateral::cli`].

use std::process::ExitCode;

/// Decoding allocates many small strings per event (original field names and values); mimalloc
/// serves them several times faster than the system allocator (measured in `benches/decode.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lateral::cli::run()
}
