//! The controller's settings, from `serin controller` flags.

use std::time::Duration;

use serin_crds::canary::Provider;

use crate::notifiers::ResolvedProvider;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Router for Canaries without `spec.provider`.
    pub mesh_provider: Provider,
    /// Prometheus for built-in metrics, unless a Canary sets `spec.metricsServer`.
    pub metrics_server: String,
    /// Only watch this namespace (all when `None`).
    pub namespace: Option<String>,
    /// Label keys that name the app in selectors, in order of preference.
    pub selector_labels: Vec<String>,
    /// Prefixes of the target's labels copied to the primary (`*` copies all).
    pub include_label_prefixes: Vec<String>,
    /// Track ConfigMaps and Secrets the target uses, and give the primary `-primary` copies.
    pub config_tracking: bool,
    /// Refuse MetricTemplates and AlertProviders from other namespaces (on unless the operator
    /// turns it off: one namespace must not use another's credentials or chat channels).
    pub no_cross_namespace_refs: bool,
    /// Added as a `Cluster` field to alerts.
    pub cluster_name: Option<String>,
    /// Longest time one metric query may take.
    pub query_timeout: Duration,
    /// How far behind now a comparison's window ends, so that it is fully scraped.
    pub comparison_delay: Duration,
    /// Canaries reconciled at once.
    pub concurrency: u16,
    /// Releases in progress at once (`--max-concurrent-releases`); `None` for no bound.
    pub max_concurrent_releases: Option<u32>,
    /// First delay between webhook retries.
    pub webhook_retry_delay: Duration,
    /// How long a tick waits for a gate or rollout hook to answer before it ends with the hook
    /// pending (the call goes on on its own task; the Canary looks again a second later).
    pub webhook_wait: Duration,
    /// Where alerts go for Canaries that name no alert provider (`--slack-url`,
    /// `--msteams-url`), as Flagger's global notifier.
    pub default_alerts: Vec<ResolvedProvider>,
    /// Every Event is also sent here, as to an `event` webhook (`--event-webhook`).
    pub event_webhook: Option<url::Url>,
    /// Settings of the routers.
    pub routers: crate::routers::RouterOptions,
    /// Where metric queries, webhooks and alerts may be sent (`--egress-*`).
    pub egress: serin_analysis::egress::EgressPolicy,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            mesh_provider: Provider::Kubernetes,
            metrics_server: "http://prometheus:9090".into(),
            namespace: None,
            selector_labels: crate::workloads::DEFAULT_SELECTOR_LABELS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            include_label_prefixes: Vec::new(),
            config_tracking: true,
            no_cross_namespace_refs: true,
            cluster_name: None,
            query_timeout: Duration::from_secs(10),
            comparison_delay: Duration::from_secs(30),
            concurrency: 16,
            max_concurrent_releases: None,
            webhook_retry_delay: Duration::from_millis(500),
            webhook_wait: Duration::from_secs(1),
            default_alerts: Vec::new(),
            event_webhook: None,
            routers: crate::routers::RouterOptions::default(),
            egress: serin_analysis::egress::EgressPolicy::default(),
        }
    }
}
