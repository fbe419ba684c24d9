//! Every router's built-in queries against data shaped like that router's metrics.

use pretty_assertions::assert_eq;
use serin_analysis::ProviderCache;
use serin_analysis::context::ContextOverrides;
use serin_analysis::plan::SecretData;
use serin_analysis::{PlanInputs, run_planned};
use serin_crds::canary::{MetricOutcome, Provider};

use crate::canary;
use crate::support::{Prometheus, options, prometheus, victoria_metrics};

const METRICS: &str = "    - name: request-success-rate
      thresholdRange: {min: 99}
      interval: 1m
    - name: request-duration
      thresholdRange: {max: 500}
      interval: 1m
";

/// The P99 (or mean, for routers whose query is a mean) latency in the test data, in ms.
fn expected_duration(provider: Provider) -> f64 {
    match provider {
        Provider::Nginx | Provider::Skipper => 250.0,
        _ => 290.0,
    }
}

#[tokio::test]
async fn every_router_reads_success_rate_and_latency_from_its_own_metrics() {
    every_router_reads_its_metrics_from(prometheus()).await;
}

#[tokio::test]
async fn every_routers_queries_read_the_same_from_victoria_metrics() {
    every_router_reads_its_metrics_from(victoria_metrics()).await;
}

async fn every_router_reads_its_metrics_from(server: &Prometheus) {
    let overrides = ContextOverrides::default();
    let mut seen = Vec::new();
    for provider in Provider::ALL {
        let canary = canary(provider.as_str(), METRICS);
        let planned = crate::plan(
            &canary,
            &PlanInputs {
                templates: &[],
                metrics_server: &server.url,
                default_router: Provider::Istio,
                overrides: &overrides,
            },
        );
        let results = run_planned(
            planned,
            &SecretData::new(),
            &ProviderCache::new(options()),
            server.at,
        )
        .await;
        assert_eq!(results.len(), 2, "{provider}: {results:?}");
        let (rate, duration) = (&results[0], &results[1]);
        assert!(rate.value.is_some(), "{provider}: {}", rate.message);
        let rate_value = rate.value.unwrap_or_default();
        assert!(
            (rate_value - 95.0).abs() < 1e-9,
            "{provider}: {}",
            rate.message
        );
        assert_eq!(
            rate.outcome,
            MetricOutcome::Fail,
            "{provider}: 95% is below 99%"
        );
        assert_eq!(
            (duration.value, duration.outcome),
            (Some(expected_duration(provider)), MetricOutcome::Pass),
            "{provider}: {}",
            duration.message
        );
        seen.push(provider);
    }
    assert_eq!(seen.len(), Provider::ALL.len());
}

#[tokio::test]
async fn the_canarys_metrics_server_overrides_the_controllers() {
    let mut canary = canary("linkerd", METRICS);
    canary.spec.metrics_server = Some(prometheus().url.clone());
    let overrides = ContextOverrides::default();
    let planned = crate::plan(
        &canary,
        &PlanInputs {
            templates: &[],
            metrics_server: "http://127.0.0.1:1",
            default_router: Provider::Istio,
            overrides: &overrides,
        },
    );
    let results = run_planned(
        planned,
        &SecretData::new(),
        &ProviderCache::new(options()),
        prometheus().at,
    )
    .await;
    assert_eq!(results[1].value, Some(290.0), "{}", results[1].message);
}

#[tokio::test]
async fn a_canary_without_provider_uses_the_default_router() {
    let mut canary = canary("linkerd", METRICS);
    canary.spec.provider = None;
    let overrides = ContextOverrides::default();
    let planned = crate::plan(
        &canary,
        &PlanInputs {
            templates: &[],
            metrics_server: &prometheus().url,
            default_router: Provider::Nginx,
            overrides: &overrides,
        },
    );
    let results = run_planned(
        planned,
        &SecretData::new(),
        &ProviderCache::new(options()),
        prometheus().at,
    )
    .await;
    // NGINX's duration is a mean: 250 ms, where Linkerd's P99 would be 290 ms.
    assert_eq!(results[1].value, Some(250.0), "{}", results[1].message);
    assert!(
        results[0]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("nginx_ingress_controller_requests"))
    );
}
