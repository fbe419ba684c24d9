//! Any bytes as the answer of a metric provider: each provider's parser of its response body
//! (the first byte picks the provider) gives a reading or an error, never a panic, and a
//! reading is a number (a provider answering `NaN` is not read as a value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serin_analysis::Reading;
use serin_analysis::providers::{
    cloudwatch, datadog, dynatrace, graphite, influxdb, newrelic, splunk, stackdriver,
};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let reading = match pick % 9 {
        0 => serin_analysis::prometheus::success_reading(body).and_then(Result::ok),
        1 => datadog::parse_answer(body).ok(),
        2 => graphite::parse_answer(body).ok(),
        3 => influxdb::parse_answer(body).ok(),
        4 => newrelic::parse_answer(body).ok(),
        5 => dynatrace::parse_answer(body).ok(),
        6 => cloudwatch::parse_answer(body, "https://monitoring.example").ok(),
        7 => stackdriver::parse_answer(body).ok(),
        _ => {
            let _ = splunk::parse_text(body);
            let _ = splunk::decode_binary(body);
            None
        }
    };
    if let Some(Reading::Value(v)) = reading {
        assert!(!v.is_nan(), "a NaN read as a value");
    }
});
