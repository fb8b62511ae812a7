#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keycycle_fuzz::fuzz_roster(data));
