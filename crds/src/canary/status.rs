//! `status` of a Canary: Flagger's fields, which serin keeps identical so that a Canary can move
//! between the two controllers mid-release, and serin's additions.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ComparisonSides, StringMap, ThresholdRange};

/// Observed state of a Canary.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// Where the Canary is in its release cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<CanaryPhase>,
    /// Failed checks in the current analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub failed_checks: Option<u32>,
    /// Percentage of traffic currently routed to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub canary_weight: Option<u32>,
    /// Analysis steps completed in the current A/B or blue/green release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub iterations: Option<u32>,
    /// Checksums of the ConfigMaps and Secrets the target uses, keyed by `kind/name`; a change
    /// starts a release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub tracked_configs: Option<StringMap>,
    /// Hash of the target's pod template that the current or last release analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_spec: Option<String>,
    /// Hash of the target's pod template that was last promoted to the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_promoted_spec: Option<String>,
    /// When the phase last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_transition_time: Option<DateTime<Utc>>,
    /// Value of the session affinity cookie that pins users to the canary in this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_cookie: Option<String>,
    /// Value of the session affinity cookie that pins users to the primary in this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_session_affinity_cookie: Option<String>,
    /// Value of the canary cookie of the previous release, expired on promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_session_affinity_cookie: Option<String>,
    /// Conditions: Flagger's `Promoted`, and `Ready`, `Reconciling` and `Stalled` for
    /// kstatus-based tools (Flux, Argo CD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<CanaryCondition>>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The revision under analysis and the last result of each of its metric checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<RevisionAnalysis>,
    /// Revision (pod template and tracked configs) that the current or last release started
    /// with. `lastAppliedSpec` follows the target as observed; this one stays on the release, so
    /// that a failed release is told apart from a new revision and can be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_spec: Option<String>,
    /// When the last analysis step ran; the next one runs one `analysis.interval` later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_analysis_time: Option<DateTime<Utc>>,
    /// Since when a metric check with `onNoData: Hold` has returned no data. The canary holds
    /// its weight meanwhile, and is rolled back once this lasts longer than the progress
    /// deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub no_data_since: Option<DateTime<Utc>>,
    /// Since when a metric check with `onError: Hold` has not been answered by its provider.
    /// The canary holds its weight meanwhile, and is rolled back once this lasts longer than
    /// the progress deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub provider_error_since: Option<DateTime<Utc>>,
    /// When the routes stopped being live at the weights serin set, during a release (the
    /// router's controller had not accepted them, or refused them). Cleared once they are live;
    /// when it lasts longer than the progress deadline, the release is rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub routes_pending_since: Option<DateTime<Utc>>,
    /// Manual requests made with the `serin.dev/abort`, `serin.dev/promote`, `serin.dev/retry`
    /// and `serin.dev/pause` annotations that serin has acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_controls: Option<ManualControlsStatus>,
}

/// Manual requests acknowledged by serin. Each one-shot request is identified by the value of
/// its annotation (a request id or timestamp): serin acts on a value once and echoes it here.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManualControlsStatus {
    /// Value of the last `serin.dev/abort` annotation acted on: the release was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<String>,
    /// Value of the last `serin.dev/promote` annotation acted on: the remaining steps were
    /// skipped and the canary promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<String>,
    /// Value of the last `serin.dev/retry` annotation acted on: the failed revision was
    /// released again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
    /// Whether the release is paused by the `serin.dev/pause` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// Phases of a Canary's release cycle, with Flagger's names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum CanaryPhase {
    /// No phase recorded yet.
    #[default]
    #[serde(rename = "")]
    Unset,
    /// The primary, Services and routes are being created.
    Initializing,
    /// Everything is in place; the primary serves all traffic and no release is running.
    Initialized,
    /// A release waits for its `confirm-rollout` gate.
    Waiting,
    /// A release is being analysed and traffic is shifting.
    Progressing,
    /// Analysis passed; promotion waits for its `confirm-promotion` gate.
    WaitingPromotion,
    /// The canary's spec is being copied to the primary.
    Promoting,
    /// The primary runs the new revision; traffic returns to it and the canary is scaled down.
    Finalising,
    /// The last release was promoted.
    Succeeded,
    /// The last release was rolled back.
    Failed,
    /// The Canary is being deleted and its changes reverted.
    Terminating,
    /// The Canary's changes were reverted; it can be deleted.
    Terminated,
}

impl CanaryPhase {
    /// The name used in `status.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryPhase::Unset => "",
            CanaryPhase::Initializing => "Initializing",
            CanaryPhase::Initialized => "Initialized",
            CanaryPhase::Waiting => "Waiting",
            CanaryPhase::Progressing => "Progressing",
            CanaryPhase::WaitingPromotion => "WaitingPromotion",
            CanaryPhase::Promoting => "Promoting",
            CanaryPhase::Finalising => "Finalising",
            CanaryPhase::Succeeded => "Succeeded",
            CanaryPhase::Failed => "Failed",
            CanaryPhase::Terminating => "Terminating",
            CanaryPhase::Terminated => "Terminated",
        }
    }
}

impl std::fmt::Display for CanaryPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition of a Canary. `type` is one of `Promoted`, `Ready`, `Reconciling`, `Stalled`;
/// `status` is `True`, `False` or `Unknown`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryCondition {
    /// Type of the condition.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason for the status, in CamelCase.
    pub reason: String,
    /// Human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_transition_time: Option<DateTime<Utc>>,
    /// When the condition was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_update_time: Option<DateTime<Utc>>,
}

/// The revision under analysis and the latest result of each metric check.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionAnalysis {
    /// Hash of the target's pod template (and tracked configs) being analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Latest result of each metric check, in the order of `spec.analysis.metrics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricResult>,
    /// The evidence of each metric with `comparison`, gathered since the revision's analysis
    /// started, and the verdict it gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<ComparisonStatus>,
}

/// The comparison of one metric between canary and primary over the release so far.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonStatus {
    /// Name of the metric check.
    pub name: String,
    /// The level, as it was when the evidence started; it stays for the whole release.
    pub alpha: f64,
    /// End of the last window counted: the next window starts here, so that windows neither
    /// overlap nor leave gaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub window_end: Option<DateTime<Utc>>,
    /// The evidence itself, as the judge reads it back at the next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<ComparisonEvidence>,
    /// `Continue` or `Rollback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<ComparisonVerdict>,
    /// The evidence, `ln M`: the release is rolled back when it reaches `threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_evidence: Option<f64>,
    /// `ln(1/alpha)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The most likely error ratio (canary error rate over primary error rate), once an error
    /// was counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The error ratio is more than this, at level alpha.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_low: Option<f64>,
    /// The error ratio is less than this, at level alpha.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_high: Option<f64>,
    /// The verdict explained for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The comparison's verdict.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum ComparisonVerdict {
    /// The evidence is below the threshold.
    #[default]
    Continue,
    /// The evidence reached the threshold: the release is rolled back.
    Rollback,
}

/// The judge's evidence in status form: one log-likelihood ratio per point of the judge's grid,
/// and the totals counted. A status that does not fit (edited, or written by another version)
/// restarts the evidence from zero, with a warning event.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonEvidence {
    /// Format version; 1 is a grid of 41 error ratios.
    #[schemars(schema_with = "crate::schema::integer")]
    pub version: u32,
    /// One- or two-sided, as the evidence was gathered.
    pub sides: ComparisonSides,
    /// The tolerated error ratio the evidence was gathered against.
    pub margin: f64,
    /// Windows counted.
    #[schemars(schema_with = "crate::schema::integer")]
    pub windows: u64,
    /// Windows without requests in one of the versions.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::integer")]
    pub skipped_windows: u64,
    /// The canary's requests and errors over the windows counted.
    pub canary: ArmTotals,
    /// The primary's requests and errors over the windows counted.
    pub primary: ArmTotals,
    /// The log-likelihood ratio of each grid point against the null hypothesis.
    pub log_likelihood_ratios: Vec<f64>,
}

/// Requests and errors of one version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ArmTotals {
    /// Requests served.
    #[schemars(schema_with = "crate::schema::integer")]
    pub requests: u64,
    /// Requests that failed.
    #[schemars(schema_with = "crate::schema::integer")]
    pub errors: u64,
}

/// The latest result of one metric check.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// Name of the metric check.
    pub name: String,
    /// Value the query returned, when it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Accepted range the value was checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_range: Option<ThresholdRange>,
    /// Outcome of the check.
    pub outcome: MetricOutcome,
    /// What happened, for a person: the value against its range, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub time: Option<DateTime<Utc>>,
}

/// Outcome of a metric check.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum MetricOutcome {
    /// The value is within range.
    #[default]
    Pass,
    /// The value is out of range.
    Fail,
    /// The query returned no data (an empty result or NaN).
    NoData,
    /// The query could not be run or its answer could not be used.
    Error,
}
