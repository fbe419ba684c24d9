//! `spec.analysis.metrics[].comparison` and `onError`: judging a metric by comparing the
//! canary's error rate with the primary's, and what a provider error means for a check.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CrossNamespaceRef;

/// Compare the canary's error rate with the primary's over the same windows, and roll back as
/// soon as the evidence that the canary fails more often reaches `ln(1/alpha)`.
///
/// The test is anytime-valid: a canary no worse than the primary (beyond `margin`) is rolled
/// back with probability at most `alpha` over the whole release, however many steps it has.
/// Changing these settings during a release takes effect at the next revision.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricComparison {
    /// The level: the largest probability of rolling back a canary that is no worse than the
    /// primary. From 0.000001 to 0.2; defaults to 0.01.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// `OneSided` (the default): only a canary that fails more often than the primary is rolled
    /// back. `TwoSided`: a canary that differs in either direction is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sides: Option<ComparisonSides>,
    /// Tolerated error ratio (the canary's error rate over the primary's), at least 1 (the
    /// default) and at most 1000. `OneSided` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// For `request-duration`: a request slower than this duration (such as `500ms`) counts as
    /// an error. It must be one of the latency histogram's bucket bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slower_than: Option<String>,
    /// A MetricTemplate whose query returns the number of requests of one version in the
    /// window, for metrics other than the built-in ones. Rendered once per version, with
    /// `{{ target }}` set to the canary's workload or to `<target>-primary`, and
    /// `{{ interval }}` to the exact window (such as `63500ms`); use `increase()` over it. Set
    /// with `errorsTemplateRef`, on the same provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_template_ref: Option<CrossNamespaceRef>,
    /// A MetricTemplate whose query returns the number of failed requests of one version in
    /// the window, rendered as `requestsTemplateRef` is. Set with `requestsTemplateRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_template_ref: Option<CrossNamespaceRef>,
}

/// Which differences between canary and primary count as evidence.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum ComparisonSides {
    /// Only a canary that fails more often than the primary.
    #[default]
    OneSided,
    /// A canary that differs from the primary in either direction.
    TwoSided,
}

/// What a metric check that cannot get an answer from its provider means.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum MetricOnError {
    /// Count a failed check.
    #[default]
    Fail,
    /// Hold the canary at its current weight until the provider answers again or the progress
    /// deadline passes.
    Hold,
}
