#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keycycle::fuzzing::fuzz_schedule(data));
