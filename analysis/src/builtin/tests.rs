//! Tests of the built-in query table: every router renders, and renders Flagger's text.
#![allow(clippy::float_cmp, reason = "the values compared are exact")]

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use serin_crds::canary::Provider;
use serin_crds::query_template::{QueryTemplate, TemplateContext};

use super::*;
use crate::context::normalize_query;

fn context() -> TemplateContext {
    TemplateContext {
        name: "podinfo".into(),
        namespace: "test".into(),
        target: "podinfo".into(),
        service: "podinfo".into(),
        ingress: "podinfo".into(),
        route: "podinfo".into(),
        interval: "1m".into(),
        variables: BTreeMap::new(),
    }
}

fn render(metric: BuiltinMetric, provider: Provider, context: &TemplateContext) -> String {
    let query = BuiltinQuery::new(metric, provider);
    let rendered = QueryTemplate::parse(query.template)
        .unwrap()
        .render(&query.context(context))
        .unwrap();
    normalize_query(&rendered)
}

#[test]
fn every_router_has_both_metrics_and_they_render_with_the_interval() {
    for provider in Provider::ALL {
        for metric in BuiltinMetric::ALL {
            let query = render(metric, provider, &context());
            assert!(query.contains("[1m]"), "{provider:?} {metric:?}: {query}");
            assert!(!query.contains("{{"), "{provider:?} {metric:?}: {query}");
        }
    }
}

#[test]
fn istio_success_rate_is_flaggers_query() {
    assert_eq!(
        render(
            BuiltinMetric::RequestSuccessRate,
            Provider::Istio,
            &context()
        ),
        r#"sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[1m] ) ) / sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) * 100"#
    );
}

#[test]
fn gateway_api_and_kubernetes_use_the_generic_http_histogram_in_seconds() {
    for provider in [
        Provider::Kubernetes,
        Provider::GatewayApiV1,
        Provider::GatewayApiV1beta1,
    ] {
        let query = BuiltinQuery::new(BuiltinMetric::RequestDuration, provider);
        assert_eq!(query.family, QueryFamily::Http);
        assert_eq!(query.to_unit(0.25), 250.0);
    }
    assert_eq!(
        render(
            BuiltinMetric::RequestDuration,
            Provider::GatewayApiV1,
            &context()
        ),
        r#"histogram_quantile( 0.99, sum( rate( http_request_duration_seconds_bucket{ kubernetes_namespace="test", kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)" }[1m] ) ) by (le) )"#
    );
}

#[test]
fn skipper_encodes_names_as_route_ids() {
    let context = TemplateContext {
        namespace: "skipper".into(),
        ingress: "skipper-ingress".into(),
        service: "backend".into(),
        ..context()
    };
    assert_eq!(
        render(
            BuiltinMetric::RequestSuccessRate,
            Provider::Skipper,
            &context
        ),
        r#"sum(rate(skipper_response_duration_seconds_bucket{route=~"kube(ew)?_skipper__skipper_ingress_canary__.*__backend_canary(_[0-9]+)?",code!~"5..",le="+Inf"}[1m])) / sum(rate(skipper_response_duration_seconds_bucket{route=~"kube(ew)?_skipper__skipper_ingress_canary__.*__backend_canary(_[0-9]+)?",le="+Inf"}[1m])) * 100"#
    );
}

#[test]
fn retired_and_smi_routers_keep_flaggers_queries() {
    assert_eq!(
        QueryFamily::for_provider(Provider::AppMeshV1beta2),
        QueryFamily::AppMesh
    );
    assert_eq!(QueryFamily::for_provider(Provider::Osm), QueryFamily::Osm);
    assert_eq!(
        QueryFamily::for_provider(Provider::SmiV1alpha3),
        QueryFamily::Istio
    );
}

#[test]
fn durations_are_whole_milliseconds_rounded_down() {
    let istio = BuiltinQuery::new(BuiltinMetric::RequestDuration, Provider::Istio);
    assert_eq!(istio.to_unit(250.9), 250.0);
    assert_eq!(istio.to_unit(249.999_999_999_99), 250.0);
    let rate = BuiltinQuery::new(BuiltinMetric::RequestSuccessRate, Provider::Istio);
    assert_eq!(rate.to_unit(99.5), 99.5);
}

#[test]
fn docs_show_every_builtin_query() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/metrics.md");
    let docs = normalize_query(&std::fs::read_to_string(path).unwrap());
    for provider in Provider::ALL {
        for metric in BuiltinMetric::ALL {
            let template = normalize_query(BuiltinQuery::new(metric, provider).template);
            assert!(
                docs.contains(&template),
                "docs/metrics.md lacks {provider:?} {metric:?}: {template}"
            );
        }
    }
}
