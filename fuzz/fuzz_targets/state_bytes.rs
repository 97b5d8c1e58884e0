//! Fuzz target: `restore_delta::fuzzing::state_bytes` (invariants documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    restore_delta::fuzzing::state_bytes(data);
});
