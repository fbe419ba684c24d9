//! Building and reading `TraefikServices`, against what Flagger writes for the same Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing(spec: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Traefik))
        .unwrap()
        .routing
}

/// The Canary of Flagger's Traefik tutorial, with apex metadata.
const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 80
  targetPort: 9898
  apex: {labels: {team: web}, annotations: {example.com/owner: team-a}}
analysis: {interval: 10s, threshold: 10, maxWeight: 50, stepWeight: 5}
";

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn build(split: &TrafficSplit) -> Value {
    let routing = routing(PODINFO);
    let referenced = Referenced::new();
    let objects = Traefik
        .desired_routes(&input(&routing, &referenced), split)
        .unwrap();
    assert_eq!(objects.len(), 1);
    objects[0].object.clone()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn service(name: &str, weight: u8) -> Value {
    json!({"name": name, "namespace": "test", "port": 80, "weight": weight})
}

/// What Flagger 1.44's Traefik router writes for the tutorial's Canary at a canary weight of
/// 5% (its `Reconcile`, then `SetRoutes(95, 5)`).
fn flaggers_traefik_service() -> Value {
    json!({
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "TraefikService",
        "metadata": {
            "name": "podinfo",
            "namespace": "test",
            "labels": {"team": "web"},
            "annotations": {
                "example.com/owner": "team-a",
                "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
                "helm.toolkit.fluxcd.io/driftDetection": "disabled"
            },
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                "uid": "uid-1", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"weighted": {"services": [service("podinfo-primary", 95), service("podinfo-canary", 5)]}}
    })
}

#[test]
fn the_traefik_service_matches_flaggers_field_by_field() {
    assert_eq!(build(&at(5)), flaggers_traefik_service());
}

#[test]
fn a_service_without_a_share_is_left_out() {
    assert_eq!(
        build(&at(0))["spec"]["weighted"]["services"],
        json!([service("podinfo-primary", 100)])
    );
    assert_eq!(
        build(&at(100))["spec"]["weighted"]["services"],
        json!([service("podinfo-canary", 100)])
    );
}

fn observe(service: &Value) -> RouteObservation {
    let routing = routing(PODINFO);
    let referenced = Referenced::new();
    Traefik.observe(&input(&routing, &referenced), std::slice::from_ref(service))
}

#[test]
fn the_split_is_read_back_unconfirmed_from_the_weights() {
    for weight in [0, 30, 100] {
        assert_eq!(
            observe(&build(&at(weight))),
            RouteObservation::Live {
                routes: Routes::split(Weight::new(weight).unwrap()),
                confirmed: false
            }
        );
    }
    let mut edited = build(&at(30));
    edited["spec"]["weighted"]["services"] = json!([service("podinfo-primary", 1), {"name": "podinfo-canary", "namespace": "test", "port": 80}]);
    assert_eq!(
        observe(&edited).live().map(|r| r.canary),
        Weight::new(50),
        "an entry without a weight counts as Traefik's default of 1"
    );
    edited["spec"]["weighted"]["services"] = json!([service("elsewhere", 100)]);
    assert!(matches!(
        observe(&edited),
        RouteObservation::Rejected { reason } if reason.contains("podinfo-primary and podinfo-canary only")
    ));
    assert_eq!(observe(&Value::Null), RouteObservation::Missing);
}
