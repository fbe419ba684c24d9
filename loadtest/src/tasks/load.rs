//! The `load` task type: the native generator configured by metadata fields instead of a hey
//! command line (`url`, `duration`, `rps`, `concurrency`, `method`, `headers`, `body`, `host`,
//! `requestTimeout`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::go_duration;
use crate::load_spec::{LoadSpec, Pace, RequestTemplate, SpecError, Stop};

/// The run length when `duration` is absent.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);
/// Workers when `concurrency` is absent.
pub const DEFAULT_CONCURRENCY: usize = 2;

/// A `load` task field that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum LoadFieldError {
    /// A required field is absent.
    #[error("load task: {0} not found in metadata")]
    Missing(&'static str),
    /// A field does not parse.
    #[error("load task: {field} {value:?}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The fields parse but describe an impossible run.
    #[error("load task: {0}")]
    Spec(#[from] SpecError),
}

fn invalid(field: &'static str, value: &str, reason: impl std::fmt::Display) -> LoadFieldError {
    LoadFieldError::Invalid {
        field,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

/// Builds a run from `load` metadata. `rps` is the total rate (not per worker); `rps: "0"`
/// runs the closed model, as fast as the workers can.
pub fn spec_from_metadata(metadata: &BTreeMap<String, String>) -> Result<LoadSpec, LoadFieldError> {
    let get = |key: &str| {
        metadata
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let url = get("url").ok_or(LoadFieldError::Missing("url"))?;
    let rps_text = get("rps").ok_or(LoadFieldError::Missing("rps"))?;
    let rps: f64 = rps_text.parse().map_err(|e| invalid("rps", rps_text, e))?;
    let duration = match get("duration") {
        Some(text) => go_duration::parse(text).map_err(|e| invalid("duration", text, e))?,
        None => DEFAULT_DURATION,
    };
    let concurrency = match get("concurrency") {
        Some(text) => text.parse().map_err(|e| invalid("concurrency", text, e))?,
        None => DEFAULT_CONCURRENCY,
    };
    let mut request = RequestTemplate::get(url)?;
    if let Some(method) = get("method") {
        request = request.method(method)?;
    }
    if let Some(headers) = metadata.get("headers") {
        for line in header_lines(headers)? {
            request = request.header_line(&line)?;
        }
    }
    if let Some(host) = get("host") {
        request = request.header("host", host)?;
    }
    if let Some(body) = metadata.get("body") {
        request = request.body(body.clone());
    }
    let pace = if rps == 0.0 {
        Pace::Unlimited
    } else {
        Pace::Rate(rps)
    };
    let mut spec = LoadSpec::new(request, pace, concurrency, Stop::After(duration))?;
    if let Some(text) = get("requestTimeout") {
        let timeout = go_duration::parse(text).map_err(|e| invalid("requestTimeout", text, e))?;
        if timeout.is_zero() {
            return Err(invalid("requestTimeout", text, "must be above 0"));
        }
        spec = spec.with_request_timeout(timeout);
    }
    Ok(spec)
}

/// `headers` is either a JSON object (`{"X-A": "1"}`) or `Name: value` lines.
fn header_lines(text: &str) -> Result<Vec<String>, LoadFieldError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let map: BTreeMap<String, String> =
            serde_json::from_str(trimmed).map_err(|e| invalid("headers", text, e))?;
        return Ok(map.into_iter().map(|(k, v)| format!("{k}: {v}")).collect());
    }
    Ok(trimmed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The fields that make two `load` tasks the same run (everything but the task `timeout`).
pub fn identity(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "timeout" | "type" | "logCmdOutput"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fields_map_to_a_constant_rate_run() {
        let spec = spec_from_metadata(&metadata(&[
            ("url", "http://podinfo.test:9898/echo"),
            ("rps", "50"),
            ("duration", "30s"),
            ("concurrency", "4"),
            ("method", "post"),
            ("headers", "X-A: 1\nX-B: two"),
            ("body", "{}"),
        ]))
        .unwrap();
        assert_eq!(spec.pace, Pace::Rate(50.0));
        assert_eq!(spec.concurrency, 4);
        assert_eq!(spec.scheduled_requests(), Some(1500));
        assert_eq!(spec.request.method, reqwest::Method::POST);
        assert_eq!(spec.request.headers["x-b"], "two");
        assert_eq!(spec.request.body.as_ref(), b"{}");
    }

    #[test]
    fn defaults_and_json_headers() {
        let spec = spec_from_metadata(&metadata(&[
            ("url", "http://x/"),
            ("rps", "10"),
            ("headers", r#"{"X-A": "1"}"#),
        ]))
        .unwrap();
        assert_eq!(spec.stop, Stop::After(DEFAULT_DURATION));
        assert_eq!(spec.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(spec.request.headers["x-a"], "1");
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let err = spec_from_metadata(&metadata(&[("rps", "1")])).unwrap_err();
        assert_eq!(err.to_string(), "load task: url not found in metadata");
        let err =
            spec_from_metadata(&metadata(&[("url", "http://x/"), ("rps", "fast")])).unwrap_err();
        assert!(err.to_string().contains("rps \"fast\""), "{err}");
        assert!(spec_from_metadata(&metadata(&[("url", "http://x/"), ("rps", "-5")])).is_err());
        assert!(
            spec_from_metadata(&metadata(&[
                ("url", "http://x/"),
                ("rps", "5"),
                ("headers", "bad")
            ]))
            .is_err()
        );
    }
}
