#![no_main]
//! See docs/fuzzing.md; the body is `slogate::fuzzing::sanitiser`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| slogate::fuzzing::sanitiser(data));
