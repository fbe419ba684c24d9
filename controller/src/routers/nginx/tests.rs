//! Building and reading NGINX canary Ingresses, against what Flagger writes for the same Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing(spec: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Nginx))
        .unwrap()
        .routing
}

/// The Canary of Flagger's NGINX tutorial.
const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}
service: {port: 80, targetPort: 9898}
analysis: {interval: 10s, threshold: 10, maxWeight: 50, stepWeight: 5}
";

const AB: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}
service: {port: 80}
analysis:
  interval: 1m
  threshold: 5
  iterations: 10
  match:
    - headers: {x-canary: {exact: insider}}
    - headers: {cookie: {exact: canary}}
";

/// The tutorial's Ingress, as kubectl applied it.
fn users_ingress() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "podinfo",
            "namespace": "test",
            "labels": {"app": "podinfo"},
            "annotations": {
                "kubernetes.io/ingress.class": "nginx",
                "nginx.ingress.kubernetes.io/canary-weight": "77",
                "kubectl.kubernetes.io/last-applied-configuration": "{}"
            },
            "uid": "ingress-uid",
            "resourceVersion": "12"
        },
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [
            {"pathType": "Prefix", "path": "/", "backend": {"service": {"name": "podinfo", "port": {"number": 80}}}},
            {"pathType": "Prefix", "path": "/other", "backend": {"service": {"name": "other", "port": {"number": 80}}}}
        ]}}]},
        "status": {"loadBalancer": {}}
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

fn build(router: &Nginx, routing: &RoutingSpec, split: &TrafficSplit) -> Value {
    let referenced = referenced(Some(users_ingress()));
    let objects = router
        .desired_routes(&input(routing, &referenced), split)
        .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].name, "podinfo-canary");
    objects[0].object.clone()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn nginx() -> Nginx {
    Nginx::new(None)
}

/// What Flagger 1.44's NGINX router writes for the tutorial's Canary and Ingress once it has
/// set the canary's weight to `weight` (its `Reconcile`, then `SetRoutes`).
fn flaggers_canary_ingress(weight: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "podinfo-canary",
            "namespace": "test",
            "labels": {"app": "podinfo"},
            "annotations": {
                "kubernetes.io/ingress.class": "nginx",
                "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
                "helm.toolkit.fluxcd.io/driftDetection": "disabled",
                "nginx.ingress.kubernetes.io/canary": "true",
                "nginx.ingress.kubernetes.io/canary-weight": weight
            },
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1",
                "kind": "Canary",
                "name": "podinfo",
                "uid": "uid-1",
                "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [
            {"pathType": "Prefix", "path": "/", "backend": {"service": {"name": "podinfo-canary", "port": {"number": 80}}}},
            {"pathType": "Prefix", "path": "/other", "backend": {"service": {"name": "other", "port": {"number": 80}}}}
        ]}}]}
    })
}

#[test]
fn the_canary_ingress_matches_flaggers_field_by_field() {
    let routing = routing(PODINFO);
    for (weight, text) in [(0, "0"), (10, "10"), (50, "50")] {
        assert_eq!(
            build(&nginx(), &routing, &at(weight)),
            flaggers_canary_ingress(text),
            "at {weight}%"
        );
    }
}

#[test]
fn ab_testing_selects_the_canary_by_header_and_cookie_then_clears_them() {
    let routing = routing(AB);
    let during = build(&nginx(), &routing, &TrafficSplit::new(Routes::ab_testing()));
    let mut expected = flaggers_canary_ingress("0");
    let annotations = &mut expected["metadata"]["annotations"];
    annotations["nginx.ingress.kubernetes.io/canary-by-header"] = json!("x-canary");
    annotations["nginx.ingress.kubernetes.io/canary-by-header-value"] = json!("insider");
    annotations["nginx.ingress.kubernetes.io/canary-by-cookie"] = json!("canary");
    assert_eq!(during, expected);
    let after = build(&nginx(), &routing, &at(0));
    assert_eq!(after, flaggers_canary_ingress("0"));
}

#[test]
fn a_header_pattern_becomes_canary_by_header_pattern() {
    let routing = routing(&AB.replace(
        "    - headers: {x-canary: {exact: insider}}\n    - headers: {cookie: {exact: canary}}\n",
        "    - headers: {x-user: {regex: \"^(alice|bob)$\"}}\n",
    ));
    let during = build(&nginx(), &routing, &TrafficSplit::new(Routes::ab_testing()));
    let annotations = &during["metadata"]["annotations"];
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/canary-by-header"],
        "x-user"
    );
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/canary-by-header-pattern"],
        "^(alice|bob)$"
    );
    assert!(
        annotations
            .get("nginx.ingress.kubernetes.io/canary-by-header-value")
            .is_none()
    );
}

#[test]
fn the_annotation_prefix_follows_the_flag() {
    let router = Nginx::new(Some("custom.nginx.org/"));
    let ingress = build(&router, &routing(PODINFO), &at(20));
    let annotations = &ingress["metadata"]["annotations"];
    assert_eq!(annotations["custom.nginx.org/canary"], "true");
    assert_eq!(annotations["custom.nginx.org/canary-weight"], "20");
    // The user's annotations under the default prefix are not serin's to drop.
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/canary-weight"],
        "77"
    );
    let observed = router.observe(
        &input(&routing(PODINFO), &Referenced::new()),
        std::slice::from_ref(&ingress),
    );
    assert_eq!(observed.live().map(|r| r.canary), Weight::new(20));
}

#[test]
fn a_missing_ingress_is_named_and_one_without_the_apex_backend_is_refused() {
    let routing = routing(PODINFO);
    let missing = referenced(None);
    let error = nginx()
        .desired_routes(&input(&routing, &missing), &at(0))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Ingress.networking.k8s.io podinfo (from spec.ingressRef) does not exist"
    );
    let mut elsewhere = users_ingress();
    elsewhere["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] =
        json!("podinfo-primary");
    let unusable = referenced(Some(elsewhere));
    let error = nginx()
        .desired_routes(&input(&routing, &unusable), &at(0))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "spec.ingressRef: the Ingress podinfo has no path to the Service podinfo"
    );
}

fn observe(routing: &RoutingSpec, ingress: &Value) -> RouteObservation {
    nginx().observe(
        &input(routing, &Referenced::new()),
        std::slice::from_ref(ingress),
    )
}

#[test]
fn the_split_is_read_back_unconfirmed_from_the_annotations() {
    let routing = routing(PODINFO);
    let ingress = build(&nginx(), &routing, &at(35));
    assert_eq!(
        observe(&routing, &ingress),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(35).unwrap()),
            confirmed: false
        }
    );
    let ab = routing_ab();
    let during = build(&nginx(), &ab, &TrafficSplit::new(Routes::ab_testing()));
    assert_eq!(observe(&ab, &during).live(), Some(Routes::ab_testing()));
    let after = build(&nginx(), &ab, &at(0));
    assert_eq!(observe(&ab, &after).live(), Some(Routes::all_primary()));
}

fn routing_ab() -> RoutingSpec {
    routing(AB)
}

#[test]
fn annotations_changed_by_hand_are_reported_not_trusted() {
    let routing = routing(PODINFO);
    let mut ingress = build(&nginx(), &routing, &at(10));
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] = json!("lots");
    assert!(matches!(
        observe(&routing, &ingress),
        RouteObservation::Rejected { reason } if reason.contains("\"lots\"")
    ));
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary"] = json!("false");
    assert!(matches!(
        observe(&routing, &ingress),
        RouteObservation::Rejected { reason } if reason.contains("not marked as a canary")
    ));
    assert_eq!(observe(&routing, &Value::Null), RouteObservation::Missing);
}
