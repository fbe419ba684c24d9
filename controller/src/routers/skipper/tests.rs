//! Building and reading Skipper canary Ingresses, against what Flagger writes for the same
//! Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing() -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(
        "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}
service: {port: 80, targetPort: 9898}
analysis: {interval: 10s, threshold: 10, maxWeight: 50, stepWeight: 5}
",
    )
    .unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Skipper))
        .unwrap()
        .routing
}

/// The Ingress of Flagger's Skipper tutorial, with a predicate of the user's.
fn users_ingress() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"},
            "annotations": {"kubernetes.io/ingress.class": "skipper", PREDICATE: "Method(\"GET\")"}
        },
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [
            {"pathType": "Prefix", "path": "/", "backend": {"service": {"name": "podinfo", "port": {"number": 80}}}}
        ]}}]}
    })
}

fn referenced(ingress: Option<Value>) -> Referenced {
    Referenced::from([(
        ObjectKey {
            kind: INGRESS,
            namespace: "test".into(),
            name: "podinfo".into(),
        },
        ingress,
    )])
}

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn build(weight: u32) -> Value {
    let routing = routing();
    let referenced = referenced(Some(users_ingress()));
    let split = TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()));
    Skipper
        .desired_routes(&input(&routing, &referenced), &split)
        .unwrap()[0]
        .object
        .clone()
}

fn path(service: &str) -> Value {
    json!({"pathType": "Prefix", "path": "/", "backend": {"service": {"name": service, "port": {"number": 80}}}})
}

/// What Flagger 1.44's Skipper router writes for the tutorial's Canary once it has set the
/// canary's weight to `canary` (its `Reconcile`, then `SetRoutes`).
fn flaggers_canary_ingress(weights: &str, predicate: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "podinfo-canary",
            "namespace": "test",
            "labels": {"app": "podinfo"},
            "annotations": {
                "kubernetes.io/ingress.class": "skipper",
                "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
                "helm.toolkit.fluxcd.io/driftDetection": "disabled",
                "zalando.org/backend-weights": weights,
                "zalando.org/skipper-predicate": predicate
            },
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                "uid": "uid-1", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [
            path("podinfo-primary"), path("podinfo-canary")
        ]}}]}
    })
}

#[test]
fn the_canary_ingress_matches_flaggers_field_by_field() {
    assert_eq!(
        build(5),
        flaggers_canary_ingress(
            r#"{"podinfo-canary":5,"podinfo-primary":95}"#,
            "Weight(100) && Method(\"GET\")"
        )
    );
    assert_eq!(
        build(0),
        flaggers_canary_ingress(
            r#"{"podinfo-canary":0,"podinfo-primary":100}"#,
            "False() && Method(\"GET\")"
        )
    );
}

#[test]
fn a_missing_ingress_is_named() {
    let routing = routing();
    let missing = referenced(None);
    let error = Skipper
        .desired_routes(
            &input(&routing, &missing),
            &TrafficSplit::new(Routes::all_primary()),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Ingress.networking.k8s.io podinfo (from spec.ingressRef) does not exist"
    );
}

fn observe(ingress: &Value) -> RouteObservation {
    let routing = routing();
    let referenced = Referenced::new();
    Skipper.observe(&input(&routing, &referenced), std::slice::from_ref(ingress))
}

#[test]
fn the_split_is_read_back_unconfirmed_and_a_disabled_copy_serves_nothing() {
    assert_eq!(
        observe(&build(30)),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(30).unwrap()),
            confirmed: false
        }
    );
    let mut disabled = build(30);
    disabled["metadata"]["annotations"][PREDICATE] = json!("False()");
    assert_eq!(observe(&disabled).live(), Some(Routes::all_primary()));
    let mut broken = build(30);
    broken["metadata"]["annotations"][BACKEND_WEIGHTS] = json!("{}");
    assert!(matches!(
        observe(&broken),
        RouteObservation::Rejected { .. }
    ));
    assert_eq!(observe(&Value::Null), RouteObservation::Missing);
}
