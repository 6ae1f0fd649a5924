//! Arbitrary bytes through format detection and every decoder's framing: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lateral::decode::detect("fuzz.log", data);
    for format in lateral::decode::FORMATS {
        let _ = (format.detect)("fuzz.log", data);
    }
});
