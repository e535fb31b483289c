#![no_main]
//! See docs/fuzzing.md; the body is `slogate::fuzzing::yaml_loaders`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| slogate::fuzzing::yaml_loaders(data));
