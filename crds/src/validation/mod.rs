//! Validation: turns a resource's spec into a checked, typed plan, or into every problem found,
//! each named by its field path (`spec.analysis.stepWeight: must be between 1 and 100`).
//!
//! Shared by `serin lint` and the controller, so that a manifest that lints clean is one the
//! controller accepts. Pure: no client, no I/O.

mod alert_provider;
mod analysis;
mod canary;
mod comparison;
mod duration;
mod metric_template;
mod metrics;
mod parse;
mod range;
mod routing;
mod service;
mod webhooks;

pub use alert_provider::{ValidAlertProvider, validate_alert_provider};
pub use analysis::{MirrorPlan, Strategy};
pub use canary::{DEFAULT_PROGRESS_DEADLINE, Target, TargetKindPlan, ValidCanary, validate_canary};
pub use comparison::{Comparison, CountSource, MAX_COMPARISON_ALPHA, MIN_COMPARISON_ALPHA};
pub use duration::{ParseDurationError, parse_go_duration};
pub use metric_template::{ValidMetricTemplate, validate_metric_template};
pub use metrics::{
    BuiltinMetric, DEFAULT_METRIC_INTERVAL, DEFAULT_METRIC_WINDOW, MetricCheck, MetricSource,
    ValidChecks, validate_checks,
};
pub use parse::{ParsedResource, parse_resource};
pub use range::{Judgement, Range, number};
pub use routing::{grpc_method, grpc_service, http_route_only};
pub use service::{RoutingSpec, ServiceNames};
pub use webhooks::{
    DEFAULT_WEBHOOK_TIMEOUT, HookKind, MAX_WEBHOOK_RETRIES, MAX_WEBHOOK_TIMEOUT, WebhookPlan,
};

use std::fmt;

/// A percentage of traffic, 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Weight(u8);

impl Weight {
    /// No traffic.
    pub const ZERO: Weight = Weight(0);
    /// All traffic.
    pub const FULL: Weight = Weight(100);

    /// A weight, when `percent` is at most 100.
    pub fn new(percent: u32) -> Option<Weight> {
        u8::try_from(percent).ok().filter(|p| *p <= 100).map(Weight)
    }

    /// The percentage.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The rest of the traffic: `100 - self`.
    #[must_use]
    pub fn complement(self) -> Weight {
        Weight(100 - self.0)
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Path of the field, such as `spec.analysis.stepWeights[2]`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one resource, in the order of its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl ValidationErrors {
    /// The problems.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

/// Collects problems while a spec is walked; paths are relative to `spec`.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<FieldError>);

impl Problems {
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `Ok(value)` when nothing was found, otherwise every problem.
    pub(crate) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ValidationErrors(self.0))
        }
    }

    /// Parses a Go duration at `path`, recording a problem when it does not parse or is zero.
    pub(crate) fn duration(&mut self, path: &str, text: &str) -> Option<std::time::Duration> {
        match parse_go_duration(text) {
            Ok(d) if d.is_zero() => {
                self.add(path, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.add(path, e.to_string());
                None
            }
        }
    }

    /// A percentage in `min..=100`.
    pub(crate) fn weight(&mut self, path: &str, value: u32, min: u32) -> Option<Weight> {
        match Weight::new(value).filter(|w| u32::from(w.get()) >= min) {
            Some(w) => Some(w),
            None => {
                self.add(path, format!("must be between {min} and 100"));
                None
            }
        }
    }

    /// An absolute `http` or `https` URL.
    pub(crate) fn http_url(&mut self, path: &str, text: &str) -> Option<url::Url> {
        match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
            Ok(_) => {
                self.add(
                    path,
                    format!("must be an http:// or https:// URL, not {text:?}"),
                );
                None
            }
            Err(e) => {
                self.add(path, format!("is not a valid URL ({e}): {text:?}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_accepts_zero_to_hundred_only() {
        assert_eq!(Weight::new(0), Some(Weight::ZERO));
        assert_eq!(Weight::new(100), Some(Weight::FULL));
        assert_eq!(Weight::new(101), None);
        assert_eq!(Weight::new(30).map(Weight::complement), Weight::new(70));
    }
}
