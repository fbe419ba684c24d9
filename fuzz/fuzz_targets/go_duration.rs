//! Go durations as Canaries write them (`interval`, `timeout`): parsing never panics, and what
//! parses formats back to a duration that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(d) = serin_crds::validation::parse_go_duration(text) {
        let again = format!("{}ns", d.as_nanos());
        assert_eq!(serin_crds::validation::parse_go_duration(&again).ok(), Some(d));
    }
    let _ = serin_loadtest::go_duration::parse(text);
});
