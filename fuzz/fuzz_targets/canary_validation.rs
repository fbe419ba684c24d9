//! Any JSON document as a serin resource: reading and validating it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serin_crds::validation::{
    ParsedResource, parse_resource, validate_alert_provider, validate_canary,
    validate_metric_template,
};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match parse_resource(&value) {
        Some(Ok(ParsedResource::Canary(c))) => {
            let _ = validate_canary(&c.spec, None);
        }
        Some(Ok(ParsedResource::MetricTemplate(m))) => {
            let _ = validate_metric_template(&m.spec);
        }
        Some(Ok(ParsedResource::AlertProvider(a))) => {
            let _ = validate_alert_provider(&a.spec);
        }
        Some(Err(_)) | None => {}
    }
});
