//! The controller's own metrics, under Flagger's names and labels so that existing dashboards
//! and alerts keep working (`flagger_info`, `flagger_canary_*`), plus serin's (`serin_*`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serin_crds::canary::CanaryPhase;

/// `version`, `mesh_provider`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InfoLabels {
    /// serin's version.
    pub version: String,
    /// Default router.
    pub mesh_provider: String,
}

/// `name` (the target's name, as Flagger labels it) and `namespace`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CanaryLabels {
    /// The target's name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// `workload` (`<target>` or `<target>-primary`) and `namespace`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkloadLabels {
    /// Workload name.
    pub workload: String,
    /// Namespace.
    pub namespace: String,
}

/// `namespace`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// Namespace.
    pub namespace: String,
}

/// `name`, `namespace`, `metric`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MetricLabels {
    /// The target's name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Metric check name.
    pub metric: String,
}

/// `name`, `namespace`, `deployment_strategy` (`canary`, `blue-green`, `ab-testing`),
/// `analysis_status` (`completed`, `skipped`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The target's name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Strategy.
    pub deployment_strategy: String,
    /// Whether analysis ran.
    pub analysis_status: String,
}

/// A low-cardinality `category` (an error's `category()`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    /// Category.
    pub category: String,
}

/// `router` and `result` of routing object writes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouterCallLabels {
    /// Provider name.
    pub router: String,
    /// `ok`, `error`, or `not_served` (the cluster does not serve the kind).
    pub result: String,
}

/// `verb`, `resource` (plural name, or `discovery` / `other`), `subresource` (empty when none)
/// and `result` of one Kubernetes API request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KubeApiLabels {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: String,
    /// Plural resource name.
    pub resource: String,
    /// `status`, `scale`, ... or empty.
    pub subresource: String,
    /// `success`, `client_error`, `server_error`, `error` (no response), `fenced` (refused
    /// before sending: this replica may not write).
    pub result: String,
}

/// `verb`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabels {
    /// The request's verb.
    pub verb: String,
}

/// Kubernetes API requests made by serin's client.
#[derive(Clone, Debug)]
pub struct KubeApiMetrics {
    /// `serin_kube_api_requests_total{verb,resource,subresource,result}`.
    pub requests: Family<KubeApiLabels, Counter>,
    /// `serin_kube_api_request_duration_seconds{verb}`: time to the response headers (for a
    /// watch, until the stream starts), without the wait for a rate-limit token.
    pub duration: Family<VerbLabels, Histogram>,
}

/// Counters not registered anywhere yet.
impl Default for KubeApiMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
        }
    }
}

impl KubeApiMetrics {
    /// Counts one request; `duration` is `None` for a request that was never sent.
    pub fn observe(
        &self,
        verb: &str,
        resource: &str,
        subresource: &str,
        result: &str,
        duration: Option<std::time::Duration>,
    ) {
        self.requests
            .get_or_create(&KubeApiLabels {
                verb: verb.to_owned(),
                resource: resource.to_owned(),
                subresource: subresource.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        if let Some(duration) = duration {
            self.duration
                .get_or_create(&VerbLabels {
                    verb: verb.to_owned(),
                })
                .observe(duration.as_secs_f64());
        }
    }
}

/// Every metric the controller exports.
#[derive(Debug)]
pub struct Metrics {
    /// `flagger_info`: 1, labelled with version and default router.
    pub info: Family<InfoLabels, Gauge>,
    /// `flagger_canary_total`: Canaries per namespace.
    pub canary_total: Family<NamespaceLabels, Gauge>,
    /// `flagger_canary_status`: 0 running, 1 successful, 2 failed.
    pub canary_status: Family<CanaryLabels, Gauge>,
    /// `flagger_canary_weight`: current weight of the primary and of the canary.
    pub canary_weight: Family<WorkloadLabels, Gauge>,
    /// `flagger_canary_duration_seconds`: time spent in analysis.
    pub canary_duration: Family<CanaryLabels, Histogram>,
    /// `flagger_canary_metric_analysis`: last value of each metric check.
    pub metric_analysis: Family<MetricLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `flagger_canary_successes_total`.
    pub successes: Family<OutcomeLabels, Counter>,
    /// `flagger_canary_failures_total`.
    pub failures: Family<OutcomeLabels, Counter>,
    /// `serin_reconcile_duration_seconds`.
    pub reconcile_duration: Histogram,
    /// `serin_reconcile_errors_total{category}`.
    pub reconcile_errors: Family<CategoryLabels, Counter>,
    /// `serin_router_calls_total{router,result}`.
    pub router_calls: Family<RouterCallLabels, Counter>,
    /// `serin_kube_api_requests_total` and `serin_kube_api_request_duration_seconds`.
    pub kube_api: KubeApiMetrics,
    /// `serin_canary_comparison_evidence`: `ln M` of each compared metric.
    pub comparison_evidence: Family<MetricLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `serin_canary_comparison_threshold`: `ln(1/alpha)` of each compared metric.
    pub comparison_threshold: Family<MetricLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `serin_canary_comparison_ratio`: the most likely error ratio of each compared metric.
    pub comparison_ratio: Family<MetricLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `serin_canary_comparison_evidence_resets_total`: evidence in status that could not be
    /// read back and restarted from zero.
    pub comparison_resets: Family<CanaryLabels, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Metrics {
            info: Family::default(),
            canary_total: Family::default(),
            canary_status: Family::default(),
            canary_weight: Family::default(),
            // Flagger uses the Go client's default buckets.
            canary_duration: Family::new_with_constructor(|| {
                Histogram::new([
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
            }),
            metric_analysis: Family::default(),
            successes: Family::default(),
            failures: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            reconcile_errors: Family::default(),
            router_calls: Family::default(),
            kube_api: KubeApiMetrics::default(),
            comparison_evidence: Family::default(),
            comparison_threshold: Family::default(),
            comparison_ratio: Family::default(),
            comparison_resets: Family::default(),
        };
        let flagger = registry.sub_registry_with_prefix("flagger");
        flagger.register(
            "info",
            "serin version and mesh provider information",
            m.info.clone(),
        );
        flagger.register(
            "canary_total",
            "Total number of canary object",
            m.canary_total.clone(),
        );
        flagger.register(
            "canary_status",
            "Last canary analysis result",
            m.canary_status.clone(),
        );
        flagger.register(
            "canary_weight",
            "The current traffic weight of the destination",
            m.canary_weight.clone(),
        );
        flagger.register(
            "canary_duration_seconds",
            "Seconds spent performing canary analysis.",
            m.canary_duration.clone(),
        );
        flagger.register(
            "canary_metric_analysis",
            "Last canary analysis result per metric",
            m.metric_analysis.clone(),
        );
        flagger.register(
            "canary_successes",
            "Total number of canary successes",
            m.successes.clone(),
        );
        flagger.register(
            "canary_failures",
            "Total number of canary failures",
            m.failures.clone(),
        );
        let serin = registry.sub_registry_with_prefix("serin");
        serin.register(
            "reconcile_duration_seconds",
            "Time one reconcile of one Canary took",
            m.reconcile_duration.clone(),
        );
        serin.register(
            "reconcile_errors",
            "Reconciles that failed, by error category",
            m.reconcile_errors.clone(),
        );
        serin.register(
            "router_calls",
            "Routing object writes, by router and result",
            m.router_calls.clone(),
        );
        serin.register(
            "kube_api_requests",
            "Kubernetes API requests, by verb, resource, subresource and result",
            m.kube_api.requests.clone(),
        );
        serin.register(
            "kube_api_request_duration_seconds",
            "Time to the response headers of Kubernetes API requests, by verb",
            m.kube_api.duration.clone(),
        );
        register_comparisons(serin, &m);
        m
    }

    /// Records a Canary's phase as Flagger does: 0 while progressing, 2 when failed, 1 otherwise.
    pub fn set_status(&self, target: &str, namespace: &str, phase: CanaryPhase) {
        let value = match phase {
            CanaryPhase::Progressing => 0,
            CanaryPhase::Failed => 2,
            _ => 1,
        };
        self.canary_status
            .get_or_create(&canary(target, namespace))
            .set(value);
    }

    /// Counts one write of a routing object by `router` with `result` (`ok`, `error`,
    /// `not_served`).
    pub fn router_call(&self, router: &str, result: &str) {
        self.router_calls
            .get_or_create(&RouterCallLabels {
                router: router.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Records the primary's and the canary's weights.
    pub fn set_weights(&self, target: &str, namespace: &str, primary: u8, canary: u8) {
        let workload = |w: String| WorkloadLabels {
            workload: w,
            namespace: namespace.to_owned(),
        };
        self.canary_weight
            .get_or_create(&workload(format!("{target}-primary")))
            .set(i64::from(primary));
        self.canary_weight
            .get_or_create(&workload(target.to_owned()))
            .set(i64::from(canary));
    }
}

fn canary(target: &str, namespace: &str) -> CanaryLabels {
    CanaryLabels {
        name: target.to_owned(),
        namespace: namespace.to_owned(),
    }
}

/// Registers the comparison metrics under `serin_`.
fn register_comparisons(serin: &mut Registry, m: &Metrics) {
    serin.register(
        "canary_comparison_evidence",
        "Evidence (ln M) that the canary fails more often than the primary, per compared metric",
        m.comparison_evidence.clone(),
    );
    serin.register(
        "canary_comparison_threshold",
        "Evidence at which a compared metric rolls the canary back, ln(1/alpha)",
        m.comparison_threshold.clone(),
    );
    serin.register(
        "canary_comparison_ratio",
        "Most likely error ratio of canary over primary, per compared metric",
        m.comparison_ratio.clone(),
    );
    serin.register(
        "canary_comparison_evidence_resets",
        "Comparison evidence in status that could not be read back and restarted from zero",
        m.comparison_resets.clone(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn flaggers_series_names_and_labels_are_kept() {
        let mut registry = Registry::default();
        let m = Metrics::new(&mut registry);
        m.info
            .get_or_create(&InfoLabels {
                version: "0.1.0".into(),
                mesh_provider: "gatewayapi:v1".into(),
            })
            .set(1);
        m.canary_total
            .get_or_create(&NamespaceLabels {
                namespace: "test".into(),
            })
            .set(2);
        m.set_status("podinfo", "test", CanaryPhase::Failed);
        m.set_weights("podinfo", "test", 70, 30);
        m.successes
            .get_or_create(&OutcomeLabels {
                name: "podinfo".into(),
                namespace: "test".into(),
                deployment_strategy: "canary".into(),
                analysis_status: "completed".into(),
            })
            .inc();
        m.metric_analysis
            .get_or_create(&MetricLabels {
                name: "podinfo".into(),
                namespace: "test".into(),
                metric: "request-success-rate".into(),
            })
            .set(99.5);
        m.canary_duration
            .get_or_create(&canary("podinfo", "test"))
            .observe(12.0);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            r#"flagger_info{version="0.1.0",mesh_provider="gatewayapi:v1"} 1"#,
            r#"flagger_canary_total{namespace="test"} 2"#,
            r#"flagger_canary_status{name="podinfo",namespace="test"} 2"#,
            r#"flagger_canary_weight{workload="podinfo-primary",namespace="test"} 70"#,
            r#"flagger_canary_weight{workload="podinfo",namespace="test"} 30"#,
            r#"flagger_canary_successes_total{name="podinfo",namespace="test",deployment_strategy="canary",analysis_status="completed"} 1"#,
            r#"flagger_canary_metric_analysis{name="podinfo",namespace="test",metric="request-success-rate"} 99.5"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            text.contains(
                r#"flagger_canary_duration_seconds_count{name="podinfo",namespace="test"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE serin_reconcile_duration_seconds histogram"));
    }

    #[test]
    fn kube_api_requests_are_counted_by_verb_resource_and_result() {
        let mut registry = Registry::default();
        let m = Metrics::new(&mut registry);
        let millis = |ms| Some(std::time::Duration::from_millis(ms));
        m.kube_api
            .observe("get", "deployments", "", "success", millis(3));
        m.kube_api
            .observe("get", "deployments", "", "success", millis(5));
        m.kube_api
            .observe("patch", "canaries", "status", "client_error", millis(2));
        m.kube_api.observe("update", "services", "", "fenced", None);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            r#"serin_kube_api_requests_total{verb="get",resource="deployments",subresource="",result="success"} 2"#,
            r#"serin_kube_api_requests_total{verb="patch",resource="canaries",subresource="status",result="client_error"} 1"#,
            r#"serin_kube_api_requests_total{verb="update",resource="services",subresource="",result="fenced"} 1"#,
            r#"serin_kube_api_request_duration_seconds_count{verb="get"} 2"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains(r#"request_duration_seconds_count{verb="update"}"#),
            "{text}"
        );
    }
}
