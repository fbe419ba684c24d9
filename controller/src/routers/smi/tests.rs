//! Building and reading SMI `TrafficSplits`, against what Flagger writes for the same Canary.

use serde_json::{Value, json};
use serin_crds::canary::Provider;
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::{Referenced, RouterOptions, router_for};

fn routing(spec: &str, provider: Provider) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(provider)).unwrap().routing
}

/// The Canary of Flagger's Linkerd example.
const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service: {port: 9898}
analysis: {interval: 15s, threshold: 5, maxWeight: 50, stepWeight: 5}
";

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn build(provider: Provider, spec: &str, split: &TrafficSplit) -> Value {
    let routing = routing(spec, provider);
    let referenced = Referenced::new();
    let router = router_for(provider, &RouterOptions::default()).unwrap();
    assert_eq!(router.name(), provider.as_str());
    let objects = router
        .desired_routes(&input(&routing, &referenced), split)
        .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].name, "podinfo");
    objects[0].object.clone()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

/// What Flagger 1.44's SMI routers write for the example's Canary at a canary weight of 5%
/// (`Reconcile`, then `SetRoutes(95, 5)`): `v1alpha1` weights are quantities (JSON strings).
#[allow(
    clippy::needless_pass_by_value,
    reason = "weights read like the JSON they are"
)]
fn flaggers_traffic_split(api_version: &str, canary: Value, primary: Value) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "TrafficSplit",
        "metadata": {
            "name": "podinfo",
            "namespace": "test",
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                "uid": "uid-1", "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "service": "podinfo",
            "backends": [
                {"service": "podinfo-canary", "weight": canary},
                {"service": "podinfo-primary", "weight": primary},
            ],
        },
    })
}

#[test]
fn each_provider_writes_what_flagger_writes_field_by_field() {
    let cases = [
        (
            Provider::Linkerd,
            "split.smi-spec.io/v1alpha1",
            json!("5"),
            json!("95"),
        ),
        (
            Provider::SmiV1alpha1,
            "split.smi-spec.io/v1alpha1",
            json!("5"),
            json!("95"),
        ),
        (
            Provider::Osm,
            "split.smi-spec.io/v1alpha2",
            json!(5),
            json!(95),
        ),
        (
            Provider::SmiV1alpha2,
            "split.smi-spec.io/v1alpha2",
            json!(5),
            json!(95),
        ),
        (
            Provider::SmiV1alpha3,
            "split.smi-spec.io/v1alpha3",
            json!(5),
            json!(95),
        ),
    ];
    for (provider, api_version, canary, primary) in cases {
        assert_eq!(
            build(provider, PODINFO, &at(5)),
            flaggers_traffic_split(api_version, canary, primary),
            "{provider}"
        );
    }
}

#[test]
fn a_backend_without_share_is_kept_at_weight_zero() {
    let split = build(Provider::SmiV1alpha2, PODINFO, &at(0));
    assert_eq!(
        split["spec"]["backends"],
        json!([{"service": "podinfo-canary", "weight": 0}, {"service": "podinfo-primary", "weight": 100}])
    );
}

#[test]
fn the_root_service_is_the_first_host() {
    let spec = PODINFO.replace(
        "service: {port: 9898}",
        "service: {port: 9898, hosts: [podinfo.test.svc.cluster.local, other]}",
    );
    let split = build(Provider::Linkerd, &spec, &at(10));
    assert_eq!(split["spec"]["service"], "podinfo.test.svc.cluster.local");
}

fn observe(provider: Provider, observed: &[Value]) -> RouteObservation {
    let routing = routing(PODINFO, provider);
    let referenced = Referenced::new();
    let router = router_for(provider, &RouterOptions::default()).unwrap();
    router.observe(&input(&routing, &referenced), observed)
}

fn live(weight: u32) -> RouteObservation {
    RouteObservation::Live {
        routes: Routes::split(Weight::new(weight).unwrap()),
        confirmed: false,
    }
}

#[test]
fn what_is_built_reads_back_as_live_unconfirmed() {
    for provider in [Provider::Linkerd, Provider::Osm, Provider::SmiV1alpha3] {
        for weight in [0, 5, 50, 100] {
            let split = build(provider, PODINFO, &at(weight));
            assert_eq!(
                observe(provider, &[split]),
                live(weight),
                "{provider} {weight}"
            );
        }
    }
}

fn with_backends(backends: Value) -> Value {
    let mut split = flaggers_traffic_split("split.smi-spec.io/v1alpha1", json!(0), json!(0));
    split["spec"]["backends"] = backends;
    split
}

#[test]
fn quantities_and_other_totals_than_100_read_as_shares() {
    let split = with_backends(json!([
        {"service": "podinfo-canary", "weight": "250m"},
        {"service": "podinfo-primary", "weight": "750m"},
    ]));
    assert_eq!(observe(Provider::Linkerd, &[split]), live(25));
    let split = with_backends(json!([
        {"service": "podinfo-canary", "weight": 1},
        {"service": "podinfo-primary", "weight": 3},
    ]));
    assert_eq!(observe(Provider::SmiV1alpha2, &[split]), live(25));
}

#[test]
fn a_split_to_other_services_or_with_bad_weights_is_rejected() {
    let bad = [
        json!([{"service": "podinfo-canary", "weight": 10}, {"service": "elsewhere", "weight": 90}]),
        json!([{"service": "podinfo-canary", "weight": 0}, {"service": "podinfo-primary", "weight": 0}]),
        json!([{"service": "podinfo-canary", "weight": "ten"}, {"service": "podinfo-primary", "weight": 90}]),
        json!([{"service": "podinfo-canary", "weight": -5}, {"service": "podinfo-primary", "weight": 90}]),
        json!([{"service": "podinfo-canary", "weight": "1".repeat(40)}]),
        json!("not a list"),
    ];
    for backends in bad {
        let observed = observe(Provider::Linkerd, &[with_backends(backends.clone())]);
        assert!(
            matches!(&observed, RouteObservation::Rejected { reason } if reason.contains("TrafficSplit podinfo")),
            "{backends}: {observed:?}"
        );
    }
}

#[test]
fn no_traffic_split_is_missing() {
    assert_eq!(observe(Provider::Linkerd, &[]), RouteObservation::Missing);
    let mut other = build(Provider::Linkerd, PODINFO, &at(5));
    other["metadata"]["name"] = json!("other");
    assert_eq!(
        observe(Provider::Linkerd, &[other]),
        RouteObservation::Missing
    );
}
