//! Any text as a file given to `serin lint`: splitting it into YAML documents and linting them
//! never panics, and every document found is either linted or skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serin_controller::lint::{lint_text, split_documents};

fuzz_target!(|text: &str| {
    let report = lint_text("fuzz.yaml", text, None);
    match split_documents("fuzz.yaml", text) {
        Ok(documents) => {
            assert!(report.input_errors.is_empty());
            assert!(report.checked <= documents.len());
        }
        Err(_) => assert_eq!(report.input_errors.len(), 1),
    }
});
