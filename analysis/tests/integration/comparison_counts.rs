//! The count queries of comparisons, for every router, against the real Prometheus holding
//! data shaped like each router's metrics: each arm's requests and errors over one exact
//! window, slow requests read at a histogram bucket, and a bound the histogram does not have.

use std::collections::BTreeMap;
use std::time::Duration;

use serin_analysis::builtin::counts::{ErrorCriterion, count_queries};
use serin_analysis::builtin::{BuiltinMetric, BuiltinQuery, QueryFamily};
use serin_analysis::counts::{CountError, count_window};
use serin_analysis::judge::ArmCounts;
use serin_analysis::{MetricsProvider, ProviderCache};
use serin_crds::canary::Provider;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use crate::canary;
use crate::support::{options, prometheus};

const MINUTE: Duration = Duration::from_secs(60);

async fn counted(
    provider: Provider,
    criterion: ErrorCriterion,
    window: Duration,
) -> Result<(ArmCounts, ArmCounts), CountError> {
    let server = prometheus();
    let canary = canary(provider.as_str(), "");
    let metric = match criterion {
        ErrorCriterion::ServerError => BuiltinMetric::RequestSuccessRate,
        ErrorCriterion::SlowerThan(_) => BuiltinMetric::RequestDuration,
    };
    let checks = serin_crds::validation::validate_checks(&canary.spec, None)
        .expect("the test canary is valid");
    let subject = serin_analysis::PlanSubject::of_checks("podinfo", "test", &checks);
    let context = BuiltinQuery::new(metric, provider)
        .context(&subject.template_context("1m", BTreeMap::new()));
    let queries = count_queries(
        QueryFamily::for_provider(provider),
        criterion,
        &context,
        window,
    )
    .expect("count queries");
    let cache = ProviderCache::new(options());
    let backend: std::sync::Arc<dyn MetricsProvider> = cache
        .provider(
            &MetricProvider {
                type_: MetricProviderType::Prometheus,
                address: Some(server.url.clone()),
                ..MetricProvider::default()
            },
            None,
        )
        .expect("a prometheus provider");
    let window = count_window(backend.as_ref(), &queries, server.at, window).await?;
    Ok((window.canary(), window.primary()))
}

#[tokio::test]
async fn every_router_counts_the_canarys_requests_and_5xx_over_the_window() {
    // 19 successful and 1 failed request per 15 s step: 80 and 4 a minute.
    for provider in [
        Provider::Istio,
        Provider::Linkerd,
        Provider::Contour,
        Provider::Gloo,
        Provider::Kuma,
        Provider::AppMesh,
        Provider::Osm,
        Provider::Traefik,
        Provider::Skipper,
        Provider::Apisix,
        Provider::Kubernetes,
        Provider::GatewayApiV1,
    ] {
        let (canary, _) = counted(provider, ErrorCriterion::ServerError, MINUTE)
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert_eq!(canary, ArmCounts::new(80, 4), "{provider}");
    }
}

#[tokio::test]
async fn the_primary_arm_counts_the_primarys_own_series() {
    let (canary, primary) = counted(Provider::Istio, ErrorCriterion::ServerError, MINUTE)
        .await
        .expect("istio");
    assert_eq!(canary, ArmCounts::new(80, 4));
    assert_eq!(primary, ArmCounts::new(160, 4));
    let (canary, primary) = counted(Provider::Kubernetes, ErrorCriterion::ServerError, MINUTE)
        .await
        .expect("kubernetes");
    assert_eq!(canary, ArmCounts::new(80, 4));
    assert_eq!(primary, ArmCounts::new(80, 4), "the primary pod only");
    // Without primary series, the primary served nothing (the judge skips such a window).
    let (_, primary) = counted(Provider::Linkerd, ErrorCriterion::ServerError, MINUTE)
        .await
        .expect("linkerd");
    assert_eq!(primary, ArmCounts::new(0, 0));
    // NGINX's primary arm is the requests without a canary upstream: all of the test data's.
    let (canary, primary) = counted(Provider::Nginx, ErrorCriterion::ServerError, MINUTE)
        .await
        .expect("nginx");
    assert_eq!(canary, ArmCounts::new(0, 0));
    assert_eq!(primary, ArmCounts::new(80, 4));
}

#[tokio::test]
async fn the_window_is_exactly_the_time_given() {
    let (canary, primary) = counted(
        Provider::Istio,
        ErrorCriterion::ServerError,
        Duration::from_secs(120),
    )
    .await
    .expect("istio");
    assert_eq!(canary, ArmCounts::new(160, 8));
    assert_eq!(primary, ArmCounts::new(320, 8));
}

#[tokio::test]
async fn slow_requests_are_those_above_the_bucket_in_either_unit() {
    // 90 of 100 requests per step are within 200 ms.
    let slower_than = ErrorCriterion::SlowerThan(Duration::from_millis(200));
    for provider in [Provider::Istio, Provider::Linkerd, Provider::Kubernetes] {
        let (canary, _) = counted(provider, slower_than, MINUTE)
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert_eq!(canary, ArmCounts::new(400, 40), "{provider}");
    }
    // Traefik's histograms by status code: 18 of 20 within 0.2 s.
    let (canary, _) = counted(Provider::Traefik, slower_than, MINUTE)
        .await
        .expect("traefik");
    assert_eq!(canary, ArmCounts::new(80, 8));
}

#[tokio::test]
async fn a_bound_that_is_no_bucket_of_the_histogram_is_an_error_naming_it() {
    let error = counted(
        Provider::Istio,
        ErrorCriterion::SlowerThan(Duration::from_millis(250)),
        MINUTE,
    )
    .await
    .expect_err("no 250 ms bucket");
    assert_eq!(error.category(), "no_bucket");
    assert!(error.to_string().contains("le=\"250\""), "{error}");
}
