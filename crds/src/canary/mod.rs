//! The `Canary` custom resource (`flagger.app/v1beta1`): what to release, how to route traffic to
//! it, and how to judge it.

mod analysis;
mod comparison;
mod gateway_api;
mod istio;
mod service;
mod status;
mod target;

pub use analysis::{
    AlertRef, AlertSeverity, CanaryAnalysis, CanaryMetric, CrossNamespaceRef, HookType,
    MetricNoData, SameSite, SessionAffinity, ThresholdRange, Webhook,
};
pub use comparison::{ComparisonSides, MetricComparison, MetricOnError};
pub use gateway_api::{
    BackendObjectReference, ExtensionFilterRef, GatewayRouteKind, HttpRequestMirror,
    ParentReference,
};
pub use istio::{
    ConnectionPool, ConsistentHash, CorsPolicy, H2UpgradePolicy, HeaderOperations, Headers,
    HttpConnectionPool, HttpCookie, HttpMatchRequest, HttpRetry, HttpRewrite, LoadBalancer,
    LocalityDistribute, LocalityFailover, LocalityLbSetting, OutlierDetection, SimpleLb,
    StringMatch, TlsMode, TlsSettings, TrafficPolicy,
};
pub use service::{CanaryService, CustomMetadata, TrafficDistribution, UnmanagedMetadata};
pub use status::{
    ArmTotals, CanaryCondition, CanaryPhase, CanaryStatus, ComparisonEvidence, ComparisonStatus,
    ComparisonVerdict, ManualControlsStatus, MetricOutcome, MetricResult, RevisionAnalysis,
};
pub use target::{
    ApisixRouteKind, AutoscalerKind, AutoscalerRef, IngressKind, LocalObjectReference,
    PrimaryScalerReplicas, Provider, TargetKind, UnknownProvider, UpstreamKind, UpstreamRef,
};

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Canary automates the release of a new version of a workload: it routes a growing share of
/// traffic to the new version while checking metrics, then promotes it or rolls it back.
#[allow(
    clippy::duplicated_attributes,
    reason = "kube's printcolumn(...) repeats the same keys for every column"
)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "Canary",
    namespaced,
    derive = "PartialEq",
    status = "CanaryStatus",
    category = "all",
    doc = "Canary automates the release of a new version of a workload: it shifts traffic to it in \
           steps, checks metrics at every step, and promotes it or rolls it back.",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Weight", type_ = "string", json_path = ".status.canaryWeight"),
    printcolumn(
        name = "Suspended",
        type_ = "boolean",
        json_path = ".spec.suspend",
        priority = "1"
    ),
    printcolumn(
        name = "FailedChecks",
        type_ = "string",
        json_path = ".status.failedChecks",
        priority = "1"
    ),
    printcolumn(
        name = "Interval",
        type_ = "string",
        json_path = ".spec.analysis.interval",
        priority = "1"
    ),
    printcolumn(
        name = "Mirror",
        type_ = "boolean",
        json_path = ".spec.analysis.mirror",
        priority = "1"
    ),
    printcolumn(
        name = "StepWeight",
        type_ = "string",
        json_path = ".spec.analysis.stepWeight",
        priority = "1"
    ),
    printcolumn(
        name = "StepWeights",
        type_ = "string",
        json_path = ".spec.analysis.stepWeights",
        priority = "1"
    ),
    printcolumn(
        name = "MaxWeight",
        type_ = "string",
        json_path = ".spec.analysis.maxWeight",
        priority = "1"
    ),
    printcolumn(
        name = "LastTransitionTime",
        type_ = "string",
        json_path = ".status.lastTransitionTime"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CanarySpec {
    /// Traffic router that shifts traffic between primary and canary. When omitted, the
    /// controller's default (its `--mesh-provider` flag) is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,

    /// Address of the Prometheus server that answers the built-in metrics
    /// (`request-success-rate`, `request-duration`) for this canary, overriding the controller's
    /// `--metrics-server` flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_server: Option<String>,

    /// Seconds the canary (or, during promotion, the primary) may take to become ready before
    /// the release is rolled back. Defaults to 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::number")]
    pub progress_deadline_seconds: Option<u32>,

    /// The workload to release: a `Deployment` or `DaemonSet` (`apps/v1`), or a `Service`
    /// (core `v1`, or a Knative `serving.knative.dev/v1` Service with provider `knative`).
    pub target_ref: LocalObjectReference<TargetKind>,

    /// Autoscaler of the target (an `autoscaling/v2` HorizontalPodAutoscaler or a KEDA
    /// `keda.sh/v1alpha1` ScaledObject). A copy is made for the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler_ref: Option<AutoscalerRef>,

    /// The `networking.k8s.io/v1` Ingress that routes to the target (providers `nginx` and
    /// `skipper`). A canary copy of it carries the canary weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_ref: Option<LocalObjectReference<IngressKind>>,

    /// The `apisix.apache.org/v2` ApisixRoute that routes to the target (provider `apisix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_ref: Option<LocalObjectReference<ApisixRouteKind>>,

    /// A Gloo `gloo.solo.io/v1` Upstream to use as a template for the generated upstreams
    /// (provider `gloo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ref: Option<UpstreamRef>,

    /// How the generated Services (`<target>`, `<target>-primary`, `<target>-canary`) and the
    /// routing objects expose the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<CanaryService>,

    /// Promote a new revision at once, without traffic shifting or metric checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_analysis: Option<bool>,

    /// When the Canary is deleted, restore the target and the apex Service to their state before
    /// the Canary took them over, instead of leaving the primary serving traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_on_deletion: Option<bool>,

    /// Pause the Canary: no new release starts and a release in progress stays where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// How the new revision is analysed: its schedule, traffic steps, metrics, webhooks and
    /// alerts.
    pub analysis: CanaryAnalysis,
}

/// A string-to-string map, as used for labels, annotations, and template variables.
pub type StringMap = BTreeMap<String, String>;
