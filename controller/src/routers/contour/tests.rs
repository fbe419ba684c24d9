//! Building and reading Contour `HTTPProxies`, against what Flagger writes for the same Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing(spec: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Contour))
        .unwrap()
        .routing
}

/// The Canary of Flagger's Contour tutorial.
const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 80
  targetPort: 9898
  timeout: 15s
  retries: {attempts: 3, perTryTimeout: 5s, retryOn: 5xx}
analysis: {interval: 30s, threshold: 5, maxWeight: 50, stepWeight: 5}
";

fn build(router: &Contour, routing: &RoutingSpec, split: &TrafficSplit) -> Value {
    let referenced = Referenced::new();
    let input = RouteInput::for_test(routing, &referenced);
    let objects = router.desired_routes(&input, split).unwrap();
    assert_eq!(objects.len(), 1);
    objects[0].object.clone()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn service(name: &str, weight: Option<u8>) -> Value {
    let mut service = json!({
        "name": name,
        "port": 80,
        "requestHeadersPolicy": {"set": [{"name": "l5d-dst-override", "value": format!("{name}.test.svc.cluster.local:80")}]}
    });
    if let Some(weight) = weight {
        service["weight"] = json!(weight);
    }
    service
}

/// What Flagger 1.44's Contour router writes for the tutorial's Canary at a canary weight of
/// 10% (its `SetRoutes(90, 10)`).
fn flaggers_http_proxy() -> Value {
    json!({
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {
            "name": "podinfo",
            "namespace": "test",
            "ownerReferences": [{
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                "uid": "uid-1", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"routes": [{
            "conditions": [{"prefix": "/"}],
            "timeoutPolicy": {"response": "15s", "idle": "5m"},
            "retryPolicy": {"count": 3, "perTryTimeout": "5s", "retryOn": ["5xx"]},
            "services": [service("podinfo-primary", Some(90)), service("podinfo-canary", Some(10))]
        }]}
    })
}

#[test]
fn the_http_proxy_matches_flaggers_field_by_field() {
    let routing = routing(PODINFO);
    assert_eq!(
        build(&Contour::new(None), &routing, &at(10)),
        flaggers_http_proxy()
    );
    // At 0% the canary's weight is left out, as Flagger's omitempty does.
    let idle = build(&Contour::new(None), &routing, &at(0));
    assert_eq!(
        idle["spec"]["routes"][0]["services"],
        json!([
            service("podinfo-primary", Some(100)),
            service("podinfo-canary", None)
        ])
    );
}

#[test]
fn the_ingress_class_flag_sets_the_class_and_the_service_prefix_the_path() {
    let routing = routing(&PODINFO.replace(
        "  port: 80\n",
        "  port: 80\n  match: [{uri: {prefix: /api}}]\n",
    ));
    let proxy = build(&Contour::new(Some("internal")), &routing, &at(0));
    assert_eq!(proxy["spec"]["ingressClassName"], "internal");
    assert_eq!(
        proxy["spec"]["routes"][0]["conditions"],
        json!([{"prefix": "/api"}])
    );
}

const AB: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service: {port: 80}
analysis:
  interval: 1m
  threshold: 5
  iterations: 10
  match:
    - headers: {x-canary: {exact: insider}}
    - headers: {cookie: {suffix: insider}}
";

#[test]
fn ab_testing_routes_each_match_to_the_canary_and_the_rest_to_the_primary() {
    let routing = routing(AB);
    let proxy = build(
        &Contour::new(None),
        &routing,
        &TrafficSplit::new(Routes::ab_testing()),
    );
    let routes = proxy["spec"]["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 3);
    assert_eq!(
        routes[0]["conditions"],
        json!([{"prefix": "/", "header": {"name": "x-canary", "exact": "insider"}}])
    );
    assert_eq!(
        routes[1]["conditions"],
        json!([{"prefix": "/", "header": {"name": "cookie", "contains": "insider"}}])
    );
    for route in &routes[..2] {
        assert_eq!(
            route["services"],
            json!([
                service("podinfo-primary", None),
                service("podinfo-canary", Some(100))
            ])
        );
    }
    assert_eq!(routes[2]["conditions"], json!([{"prefix": "/"}]));
    assert_eq!(
        routes[2]["services"],
        json!([
            service("podinfo-primary", Some(100)),
            service("podinfo-canary", None)
        ])
    );
}

fn observe(routing: &RoutingSpec, proxy: &Value) -> RouteObservation {
    let referenced = Referenced::new();
    let input = RouteInput::for_test(routing, &referenced);
    Contour::new(None).observe(&input, std::slice::from_ref(proxy))
}

fn with_status(mut proxy: Value, generation: i64, status: Value) -> Value {
    proxy["metadata"]["generation"] = json!(generation);
    proxy["status"] = status;
    proxy
}

fn valid(observed: i64) -> Value {
    json!({
        "currentStatus": "valid",
        "description": "Valid HTTPProxy",
        "conditions": [{"type": "Valid", "status": "True", "reason": "Valid", "message": "Valid HTTPProxy", "observedGeneration": observed}]
    })
}

#[test]
fn a_step_is_live_once_contour_reports_its_generation_valid() {
    let routing = routing(PODINFO);
    let proxy = build(&Contour::new(None), &routing, &at(40));
    let forty = Routes::split(Weight::new(40).unwrap());
    assert_eq!(
        observe(&routing, &with_status(proxy.clone(), 3, valid(3))),
        RouteObservation::Live {
            routes: forty,
            confirmed: true
        }
    );
    assert!(matches!(
        observe(&routing, &with_status(proxy.clone(), 4, valid(3))),
        RouteObservation::Pending { reason } if reason.contains("generation 4")
    ));
    let invalid = json!({
        "currentStatus": "invalid",
        "description": "At least one error present, see Errors for details",
        "conditions": [{"type": "Valid", "status": "False", "observedGeneration": 3,
                        "errors": [{"type": "ServiceError", "reason": "ServiceUnresolvedReference", "message": "Service [podinfo-canary:80] is invalid or missing"}]}]
    });
    assert!(matches!(
        observe(&routing, &with_status(proxy.clone(), 3, invalid)),
        RouteObservation::Rejected { reason } if reason.contains("podinfo-canary:80")
    ));
    let orphaned = json!({"currentStatus": "orphaned", "description": "this HTTPProxy is not part of a delegation chain from a root HTTPProxy",
                          "conditions": [{"type": "Valid", "status": "False", "observedGeneration": 3}]});
    assert!(matches!(
        observe(&routing, &with_status(proxy.clone(), 3, orphaned)),
        RouteObservation::Rejected { reason } if reason.contains("no root HTTPProxy includes it")
    ));
    assert_eq!(
        observe(&routing, &with_status(proxy, 3, Value::Null)),
        RouteObservation::Live {
            routes: forty,
            confirmed: false
        }
    );
    assert_eq!(observe(&routing, &Value::Null), RouteObservation::Missing);
}

#[test]
fn ab_routes_read_back_as_matched_to_the_canary() {
    let routing = routing(AB);
    let during = build(
        &Contour::new(None),
        &routing,
        &TrafficSplit::new(Routes::ab_testing()),
    );
    assert_eq!(
        observe(&routing, &with_status(during, 1, valid(1))).live(),
        Some(Routes::ab_testing())
    );
    let after = build(&Contour::new(None), &routing, &at(0));
    assert_eq!(
        observe(&routing, &with_status(after, 2, valid(2))).live(),
        Some(Routes::all_primary())
    );
}
