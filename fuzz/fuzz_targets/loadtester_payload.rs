//! Webhook payloads the load tester receives: decoding and planning a task never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serin_loadtest::payload::WebhookPayload;
use serin_loadtest::tasks::{TaskConfig, plan};

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = WebhookPayload::from_json(data) else {
        return;
    };
    if let Ok(canary) = payload.canary() {
        let config = TaskConfig {
            commands_disabled: true,
            ..TaskConfig::default()
        };
        let _ = plan(&payload, &canary, &config);
    }
});
