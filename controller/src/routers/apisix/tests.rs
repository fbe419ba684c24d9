//! Building and reading canary `ApisixRoutes`, against what Flagger writes for the same Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing() -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(
        "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
routeRef: {apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: podinfo}
service: {port: 80, targetPort: 9898}
analysis: {interval: 10s, threshold: 10, maxWeight: 50, stepWeight: 10}
",
    )
    .unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Apisix))
        .unwrap()
        .routing
}

fn prometheus_plugin() -> Value {
    json!([{"name": "prometheus", "enable": true, "config": {"disable": false, "prefer_name": true}}])
}

/// The ApisixRoute of Flagger's APISIX tutorial, with a second rule elsewhere.
fn users_route() -> Value {
    json!({
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"}},
        "spec": {"http": [
            {"name": "other", "match": {"paths": ["/other"]}, "backends": [{"serviceName": "other", "servicePort": 80}]},
            {"name": "method", "match": {"hosts": ["app.example.com"], "methods": ["GET"], "paths": ["/*"]},
             "backends": [{"serviceName": "podinfo", "servicePort": 80}], "plugins": prometheus_plugin()}
        ]}
    })
}

fn referenced(route: Option<Value>) -> Referenced {
    Referenced::from([(
        ObjectKey {
            kind: APISIX_ROUTE,
            namespace: "test".into(),
            name: "podinfo".into(),
        },
        route,
    )])
}

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn build_from(route: Value, weight: u32) -> Result<Value, RouterError> {
    let routing = routing();
    let referenced = referenced(Some(route));
    let split = TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()));
    Apisix
        .desired_routes(&input(&routing, &referenced), &split)
        .map(|o| o[0].object.clone())
}

/// What Flagger 1.44's APISIX router writes for the tutorial's Canary at a canary weight of
/// 10% (its `Reconcile`, then `SetRoutes(90, 10)`).
fn flaggers_canary_route() -> Value {
    json!({
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": {
            "name": "podinfo-podinfo-canary",
            "namespace": "test",
            "labels": {"app": "podinfo"},
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                "uid": "uid-1", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"http": [{
            "name": "method",
            "priority": 10000,
            "match": {"hosts": ["app.example.com"], "methods": ["GET"], "paths": ["/*"]},
            "plugins": prometheus_plugin(),
            "backends": [
                {"serviceName": "podinfo-primary", "servicePort": 80, "weight": 90},
                {"serviceName": "podinfo-canary", "servicePort": 80, "weight": 10}
            ]
        }]}
    })
}

#[test]
fn the_canary_route_matches_flaggers_field_by_field() {
    assert_eq!(
        build_from(users_route(), 10).unwrap(),
        flaggers_canary_route()
    );
}

#[test]
fn an_unusable_route_is_refused_naming_it() {
    let mut two = users_route();
    two["spec"]["http"][1]["backends"] = json!([{"serviceName": "podinfo"}, {"serviceName": "x"}]);
    assert_eq!(
        build_from(two, 0).unwrap_err().to_string(),
        "spec.routeRef: the ApisixRoute podinfo routes to podinfo with 2 backends; only one is supported"
    );
    let mut elsewhere = users_route();
    elsewhere["spec"]["http"] = json!([elsewhere["spec"]["http"][0].clone()]);
    assert_eq!(
        build_from(elsewhere, 0).unwrap_err().to_string(),
        "spec.routeRef: the ApisixRoute podinfo has no HTTP rule with the backend podinfo"
    );
    let routing = routing();
    let missing = referenced(None);
    assert_eq!(
        Apisix
            .desired_routes(
                &input(&routing, &missing),
                &TrafficSplit::new(Routes::all_primary())
            )
            .unwrap_err()
            .to_string(),
        "ApisixRoute.apisix.apache.org podinfo (from spec.routeRef) does not exist"
    );
}

fn observe(route: &Value) -> RouteObservation {
    let routing = routing();
    let referenced = Referenced::new();
    Apisix.observe(&input(&routing, &referenced), std::slice::from_ref(route))
}

fn synced(mut route: Value, generation: i64, observed: i64, status: &str) -> Value {
    route["metadata"]["generation"] = json!(generation);
    route["status"] = json!({"conditions": [{"type": "ResourcesAvailable", "status": status,
        "reason": "ResourcesSynced", "message": "Sync Successfully", "observedGeneration": observed}]});
    route
}

#[test]
fn a_step_is_live_once_the_controller_reports_its_generation_synced() {
    let route = build_from(users_route(), 40).unwrap();
    let forty = Routes::split(Weight::new(40).unwrap());
    assert_eq!(
        observe(&synced(route.clone(), 2, 2, "True")),
        RouteObservation::Live {
            routes: forty,
            confirmed: true
        }
    );
    assert!(matches!(
        observe(&synced(route.clone(), 3, 2, "True")),
        RouteObservation::Pending { reason } if reason.contains("generation 3")
    ));
    assert!(matches!(
        observe(&synced(route.clone(), 2, 2, "False")),
        RouteObservation::Rejected { .. }
    ));
    assert_eq!(
        observe(&route),
        RouteObservation::Live {
            routes: forty,
            confirmed: false
        }
    );
    assert_eq!(observe(&Value::Null), RouteObservation::Missing);
}
