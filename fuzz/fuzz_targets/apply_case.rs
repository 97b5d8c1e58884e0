//! Fuzz target: a generated case (`restore_delta::generate::Case`, built from the fuzzer's bytes by
//! its structure-aware `Arbitrary`), applied by the engine and by the simple model of the rules
//! (`restore_delta::fuzzing::check_case`, invariants documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|case: restore_delta::generate::Case| {
    restore_delta::fuzzing::check_case(&case);
});
