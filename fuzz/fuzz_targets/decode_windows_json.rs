//! Arbitrary bytes through the `windows-json` decoder: it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lateral_fuzz_common::decode("windows-json", data);
});
