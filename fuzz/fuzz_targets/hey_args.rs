//! `hey` command lines from webhook metadata: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|command: &str| {
    let _ = serin_loadtest::hey_args::parse_command(command);
});
