//! The `MetricTemplate` custom resource: a reusable metric query and the provider that answers it.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// MetricTemplate holds a metric query, written as a template, and the provider that runs it.
/// Canaries refer to it from `spec.analysis.metrics[].templateRef`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "MetricTemplate",
    namespaced,
    derive = "PartialEq",
    status = "MetricTemplateStatus",
    category = "all",
    doc = "MetricTemplate holds a metric query, written as a template, and the provider that runs it.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider.type")
)]
pub struct MetricTemplateSpec {
    /// The metrics backend that runs the query.
    pub provider: MetricProvider,
    /// The query. It may use `{{ name }}`, `{{ namespace }}`, `{{ target }}`, `{{ service }}`,
    /// `{{ ingress }}`, `{{ route }}`, `{{ interval }}` and `{{ variables.NAME }}` (from the
    /// Canary's `templateVariables`), in Go template syntax as in Flagger.
    pub query: String,
}

/// Observed state of a MetricTemplate (unused; kept for Flagger compatibility).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct MetricTemplateStatus {}

/// A metrics backend and how to reach it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricProvider {
    /// Kind of backend.
    #[serde(rename = "type")]
    pub type_: MetricProviderType,
    /// Address of the backend's API, for example `http://prometheus.monitoring:9090`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP headers added to every request to the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// Secret in the template's namespace with the backend's credentials (for Prometheus:
    /// `token` for a bearer token, or `username` and `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// Region of the backend (CloudWatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Skip TLS certificate verification when talking to the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// A reference to a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretRef {
    /// Name of the Secret.
    pub name: String,
}

/// Metrics backends.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
#[serde(rename_all = "lowercase")]
pub enum MetricProviderType {
    /// Prometheus, or any server with its HTTP query API (Thanos, Mimir, VictoriaMetrics).
    #[default]
    Prometheus,
    /// InfluxDB.
    Influxdb,
    /// Datadog.
    Datadog,
    /// A Kubernetes external metrics API.
    Externalmetrics,
    /// Google Cloud Monitoring (Stackdriver).
    Stackdriver,
    /// Amazon CloudWatch.
    Cloudwatch,
    /// New Relic.
    Newrelic,
    /// Graphite.
    Graphite,
    /// Dynatrace.
    Dynatrace,
    /// Keptn.
    Keptn,
    /// Splunk Observability.
    Splunk,
}

impl MetricProviderType {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricProviderType::Prometheus => "prometheus",
            MetricProviderType::Influxdb => "influxdb",
            MetricProviderType::Datadog => "datadog",
            MetricProviderType::Externalmetrics => "externalmetrics",
            MetricProviderType::Stackdriver => "stackdriver",
            MetricProviderType::Cloudwatch => "cloudwatch",
            MetricProviderType::Newrelic => "newrelic",
            MetricProviderType::Graphite => "graphite",
            MetricProviderType::Dynatrace => "dynatrace",
            MetricProviderType::Keptn => "keptn",
            MetricProviderType::Splunk => "splunk",
        }
    }
}
