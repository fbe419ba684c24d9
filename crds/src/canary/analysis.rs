//! `spec.analysis`: the schedule, traffic steps, metric checks, webhooks and alerts of a release.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HttpMatchRequest, MetricComparison, MetricOnError, StringMap};

/// How a new revision is analysed and how traffic moves to it.
///
/// Set exactly one of `stepWeight`, `stepWeights` (progressive canary) or `iterations` (A/B
/// testing when `match` is set, blue/green otherwise).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAnalysis {
    /// Time between two analysis steps, as a duration such as `30s` or `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub interval: Option<String>,
    /// Number of analysis steps for A/B testing and blue/green releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub iterations: Option<u32>,
    /// Number of failed checks after which the release is rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub threshold: Option<u32>,
    /// Highest percentage of traffic routed to the canary before promotion. Serin never routes
    /// more than this, even when `stepWeight` does not divide it evenly (Flagger overshoots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub max_weight: Option<u32>,
    /// Percentage of traffic added to the canary at each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub step_weight: Option<u32>,
    /// Canary traffic percentage at each step, ascending, for example `[1, 5, 25, 50]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number_array")]
    pub step_weights: Option<Vec<u32>>,
    /// Percentage of traffic moved back to the primary at each promotion step. Without it,
    /// promotion switches all traffic at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub step_weight_promotion: Option<u32>,
    /// Mirror traffic to the canary before shifting any (Istio and Gateway API): the canary gets
    /// copies of requests, and its responses are discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<bool>,
    /// Percentage of requests copied to the canary while mirroring; all of them when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub mirror_weight: Option<u32>,
    /// Percentage of the primary's pods that must be available for it to count as ready.
    /// Defaults to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub primary_ready_threshold: Option<u32>,
    /// Percentage of the canary's pods that must be available for it to count as ready.
    /// Defaults to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub canary_ready_threshold: Option<u32>,
    /// Requests that go to the canary during A/B testing (by header, cookie, query parameter or
    /// source).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_: Option<Vec<HttpMatchRequest>>,
    /// Metric checks run at every step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<CanaryMetric>>,
    /// Where to send notifications about this Canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertRef>>,
    /// HTTP hooks called at points of the release: gates, tests, load generation, notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<Webhook>>,
    /// Keep users on the version they first got during a release, with a cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinity>,
}

/// One metric check.
///
/// Give a `templateRef` to a MetricTemplate, or use a built-in metric by name
/// (`request-success-rate`, `request-duration`), or a Prometheus `query` (deprecated).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryMetric {
    /// Name of the check; for built-in metrics, the metric's name.
    pub name: String,
    /// Window the query looks back over, as a duration such as `1m`; rendered as
    /// `{{ interval }}` in templates. Defaults to `1m`, as in Flagger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub interval: Option<String>,
    /// Deprecated single threshold: the lowest accepted value for `request-success-rate`, the
    /// highest for every other metric. Use `thresholdRange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Accepted range of the metric's value; a value outside it is a failed check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_range: Option<ThresholdRange>,
    /// A Prometheus query run as written (deprecated; use a MetricTemplate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The MetricTemplate that holds the query and its provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<CrossNamespaceRef>,
    /// Values for `{{ variables.NAME }}` in the template's query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub template_variables: Option<StringMap>,
    /// What a query that returns no data means: `Fail` (the default, as in Flagger) counts a
    /// failed check; `Hold` keeps the canary at its current weight and checks again next step,
    /// until the progress deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_no_data: Option<MetricNoData>,
    /// What a provider error means (unreachable, timed out, an answer that is not a number):
    /// `Fail` (the default, as in Flagger) counts a failed check; `Hold` keeps the canary at its
    /// current weight, counts nothing, and checks again next step, until the progress deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<MetricOnError>,
    /// Judge the metric by comparing the canary with the primary, as well as (with
    /// `thresholdRange`) or instead of (without it) the threshold. Not with A/B testing
    /// (`match`), whose traffic is not a random split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<MetricComparison>,
}

/// Accepted range of a metric's value. Either bound may be omitted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, JsonSchema)]
pub struct ThresholdRange {
    /// Lowest accepted value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest accepted value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// What a metric query that returns no data means.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum MetricNoData {
    /// Count a failed check.
    #[default]
    Fail,
    /// Hold the canary at its current weight until data arrives or the progress deadline passes.
    Hold,
}

/// A reference by name to an object, in the Canary's namespace unless `namespace` is given.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CrossNamespaceRef {
    /// Name of the object.
    pub name: String,
    /// Namespace of the object; defaults to the Canary's namespace. Another namespace is
    /// refused (the Canary is Stalled) unless the controller runs with
    /// `--no-cross-namespace-refs=false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A notification target for this Canary.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRef {
    /// Name of this alert.
    pub name: String,
    /// Lowest severity sent: `info` (everything, the default), `warn` (warnings and errors) or
    /// `error` (errors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<AlertSeverity>,
    /// The AlertProvider that delivers the alerts.
    pub provider_ref: CrossNamespaceRef,
}

/// Alert severities.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[schemars(transform = crate::schema::without_description)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    /// Unset, which means `info`.
    #[serde(rename = "")]
    Unset,
    /// Everything.
    #[default]
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
}

/// An HTTP hook called during a release.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Name of the hook.
    pub name: String,
    /// When the hook is called and what its answer means; `rollout` when omitted.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<HookType>,
    /// Send no alerts about this hook's failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute_alert: Option<bool>,
    /// Address the hook is sent to, with POST.
    pub url: String,
    /// How long to wait for an answer, as a duration such as `30s`. Defaults to `10s`; at most
    /// `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub timeout: Option<String>,
    /// How many times a failed call is retried, with exponential backoff; at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub retries: Option<u32>,
    /// Skip TLS certificate verification for this hook.
    #[serde(
        default,
        rename = "disableTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_tls: Option<bool>,
    /// Key-value pairs sent in the hook's payload (for the loadtester: `type`, `cmd`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub metadata: Option<StringMap>,
}

/// When a webhook is called.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
#[serde(rename_all = "kebab-case")]
pub enum HookType {
    /// Unset, which means `rollout`.
    #[serde(rename = "")]
    Unset,
    /// Before a release starts; the release waits while it answers non-2xx.
    ConfirmRollout,
    /// Before any traffic reaches the canary; a failure counts as a failed check.
    PreRollout,
    /// At every analysis step; a failure counts as a failed check.
    Rollout,
    /// Before promotion; promotion waits while it answers non-2xx.
    ConfirmPromotion,
    /// After promotion or rollback.
    PostRollout,
    /// On every event the Canary records.
    Event,
    /// At every step; a 2xx answer rolls the release back.
    Rollback,
    /// Before each traffic increase; the weight holds while it answers non-2xx.
    ConfirmTrafficIncrease,
}

impl HookType {
    /// Every hook type, in the order of Flagger's CRD enum.
    pub const ALL: [HookType; 9] = [
        HookType::Unset,
        HookType::ConfirmRollout,
        HookType::PreRollout,
        HookType::Rollout,
        HookType::ConfirmPromotion,
        HookType::PostRollout,
        HookType::Event,
        HookType::Rollback,
        HookType::ConfirmTrafficIncrease,
    ];
}

/// Cookie-based session affinity during a release: a user who reached the canary keeps
/// reaching it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAffinity {
    /// Name of the cookie that pins a user to the canary.
    pub cookie_name: String,
    /// Name of the cookie that pins a user to the primary; must differ from `cookieName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_cookie_name: Option<String>,
    /// Domain attribute of the cookies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// HttpOnly attribute of the cookies: scripts cannot read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_only: Option<bool>,
    /// Seconds until the cookies expire. Defaults to 86400 (one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_age_schema")]
    pub max_age: Option<u32>,
    /// Partitioned attribute of the cookies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioned: Option<bool>,
    /// Path attribute of the cookies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SameSite attribute of the cookies: `Strict`, `Lax` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
    /// Secure attribute of the cookies: sent over HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
}

fn max_age_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "number", "default": 86400 })
}

/// SameSite cookie attribute values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum SameSite {
    /// Sent with same-site requests only.
    Strict,
    /// Also sent with top-level cross-site navigations.
    Lax,
    /// Sent with all requests (requires `secure`).
    None,
}
