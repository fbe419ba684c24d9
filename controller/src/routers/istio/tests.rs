//! Building and reading Istio's routing objects.

use serde_json::{Value, json};
use serin_crds::canary::SessionAffinity;
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing(spec: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Istio))
        .unwrap()
        .routing
}

const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 9898
  timeout: 30s
  retries: {attempts: 3, perTryTimeout: 1s, retryOn: 5xx}
analysis: {interval: 1m, threshold: 5, stepWeight: 10}
";

fn build(
    routing: &RoutingSpec,
    referenced: &Referenced,
    affinity: Option<&SessionAffinity>,
    split: &TrafficSplit,
) -> Vec<DesiredObject> {
    let input = RouteInput {
        canary: "podinfo",
        namespace: "test",
        canary_uid: "uid-1",
        routing,
        session_affinity: affinity,
        annotations: &crate::routers::NO_ANNOTATIONS,
        referenced,
    };
    Istio.desired_routes(&input, split).unwrap()
}

fn vs(objects: &[DesiredObject]) -> Value {
    objects
        .iter()
        .find(|o| o.kind == VIRTUAL_SERVICE)
        .unwrap()
        .object
        .clone()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn dest(host: &str, weight: u8) -> Value {
    json!({"destination": {"host": host}, "weight": weight})
}

#[test]
fn a_progressive_step_writes_two_destination_rules_and_a_weighted_virtual_service() {
    let routing = routing(PODINFO);
    let objects = build(&routing, &Referenced::new(), None, &at(30));
    let names: Vec<(&str, &str)> = objects
        .iter()
        .map(|o| (o.kind.kind, o.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("DestinationRule", "podinfo-canary"),
            ("DestinationRule", "podinfo-primary"),
            ("VirtualService", "podinfo")
        ]
    );
    assert_eq!(objects[0].object["spec"], json!({"host": "podinfo-canary"}));
    let vs = vs(&objects);
    assert_eq!(vs["apiVersion"], "networking.istio.io/v1beta1");
    assert_eq!(vs["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(
        vs["spec"],
        json!({
            "hosts": ["podinfo"],
            "gateways": ["mesh"],
            "http": [{
                "timeout": "30s",
                "retries": {"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx"},
                "route": [dest("podinfo-primary", 70), dest("podinfo-canary", 30)]
            }]
        })
    );
}

#[test]
fn hosts_and_gateways_follow_flagger_and_delegation_clears_them() {
    let routing = routing(&PODINFO.replace(
        "  port: 9898\n",
        "  port: 9898\n  portDiscovery: true\n  hosts: [app.example.com]\n  gateways: [public-gateway.istio-system.svc.cluster.local]\n",
    ));
    let spec = vs(&build(&routing, &Referenced::new(), None, &at(0)))["spec"].clone();
    assert_eq!(spec["hosts"], json!(["app.example.com", "podinfo"]));
    assert_eq!(
        spec["gateways"],
        json!(["public-gateway.istio-system.svc.cluster.local"])
    );
    // Behind an ingress gateway with portDiscovery, destinations name the port.
    assert_eq!(
        spec["http"][0]["route"][0]["destination"]["port"]["number"],
        9898
    );

    let delegate = routing_delegate();
    let spec = vs(&build(&delegate, &Referenced::new(), None, &at(0)))["spec"].clone();
    assert_eq!(
        (spec["hosts"].clone(), spec["gateways"].clone()),
        (json!([]), json!([]))
    );
}

fn routing_delegate() -> RoutingSpec {
    routing(&PODINFO.replace("  port: 9898\n", "  port: 9898\n  delegation: true\n"))
}

#[test]
fn ab_testing_merges_the_analysis_match_onto_the_service_match() {
    let routing = routing(
        "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 9898
  match: [{uri: {prefix: /api}}]
analysis:
  interval: 1m
  threshold: 5
  iterations: 10
  match:
    - headers: {x-canary: {exact: insider}}
    - headers: {cookie: {suffix: canary=always}}
",
    );
    let spec = vs(&build(
        &routing,
        &Referenced::new(),
        None,
        &TrafficSplit::new(Routes::ab_testing()),
    ))["spec"]
        .clone();
    assert_eq!(
        spec["http"][0]["match"],
        json!([
            {"uri": {"prefix": "/api"}, "headers": {"x-canary": {"exact": "insider"}}},
            {"uri": {"prefix": "/api"}, "headers": {"cookie": {"regex": ".*canary=always$"}}}
        ])
    );
    assert_eq!(
        spec["http"][0]["route"],
        json!([dest("podinfo-primary", 0), dest("podinfo-canary", 100)])
    );
    assert_eq!(
        spec["http"][1]["match"],
        json!([{"uri": {"prefix": "/api"}}])
    );
    assert_eq!(
        spec["http"][1]["route"],
        json!([dest("podinfo-primary", 100)])
    );
}

#[test]
fn mirroring_copies_a_percentage_of_requests_to_the_canary() {
    let routing = routing(PODINFO);
    let split = TrafficSplit::new(Routes::mirrored(Weight::new(40).unwrap()));
    let http = vs(&build(&routing, &Referenced::new(), None, &split))["spec"]["http"][0].clone();
    assert_eq!(http["mirror"], json!({"host": "podinfo-canary"}));
    assert_eq!(http["mirrorPercentage"], json!({"value": 40.0}));
    assert_eq!(
        http["route"],
        json!([dest("podinfo-primary", 100), dest("podinfo-canary", 0)])
    );
}

#[test]
fn tcp_services_get_one_weighted_tcp_route() {
    let routing = routing(&PODINFO.replace(
        "  port: 9898\n",
        "  port: 9898\n  appProtocol: TCP\n  match: [{port: 9898}]\n",
    ));
    let spec = vs(&build(&routing, &Referenced::new(), None, &at(20)))["spec"].clone();
    assert!(spec.get("http").is_none());
    assert_eq!(
        spec["tcp"],
        json!([{"match": [{"port": 9898}], "route": [dest("podinfo-primary", 80), dest("podinfo-canary", 20)]}])
    );
}

fn affinity() -> SessionAffinity {
    SessionAffinity {
        cookie_name: "flagger-cookie".into(),
        primary_cookie_name: Some("flagger-primary".into()),
        max_age: Some(60),
        ..SessionAffinity::default()
    }
}

#[test]
fn during_a_run_with_session_affinity_each_side_keeps_its_users() {
    let routing = routing(PODINFO);
    let split = TrafficSplit {
        sticky_cookie: Some("flagger-cookie=r2d2".into()),
        ..at(20)
    };
    let http = vs(&build(
        &routing,
        &Referenced::new(),
        Some(&affinity()),
        &split,
    ))["spec"]["http"]
        .clone();
    assert_eq!(http[0]["name"], "sticky-route");
    assert_eq!(
        http[0]["match"],
        json!([{"headers": {"Cookie": {"regex": ".*flagger-cookie=r2d2.*"}}}])
    );
    assert_eq!(
        http[0]["route"],
        json!([dest("podinfo-primary", 0), dest("podinfo-canary", 100)])
    );
    assert_eq!(http[1]["name"], "primary-sticky-route");
    assert_eq!(http[1]["route"], json!([dest("podinfo-primary", 100)]));
    let weighted = &http[2];
    assert_eq!(
        weighted["route"][1]["headers"]["response"]["add"]["Set-Cookie"],
        "flagger-cookie=r2d2; Max-Age=60"
    );
    assert_eq!(
        weighted["route"][0]["headers"]["response"]["add"]["Set-Cookie"],
        "flagger-primary=r2d2; Max-Age=60"
    );
    assert_eq!(weighted["route"][1]["weight"], 20);
}

#[test]
fn after_a_run_the_cookies_are_expired() {
    let routing = routing(PODINFO);
    let split = TrafficSplit {
        expired_cookie: Some("flagger-cookie=r2d2".into()),
        ..at(0)
    };
    let http = vs(&build(
        &routing,
        &Referenced::new(),
        Some(&affinity()),
        &split,
    ))["spec"]["http"]
        .clone();
    assert_eq!(
        http[0]["headers"]["response"]["add"]["Set-Cookie"],
        "flagger-cookie=r2d2; Max-Age=-1"
    );
    assert_eq!(
        http[1]["headers"]["response"]["add"]["Set-Cookie"],
        "flagger-primary=r2d2; Max-Age=-1"
    );
    assert_eq!(
        http[2]["route"],
        json!([dest("podinfo-primary", 100), dest("podinfo-canary", 0)])
    );
}

fn users_vs(annotations: &Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "podinfo", "namespace": "test", "annotations": annotations},
        "spec": {"hosts": ["podinfo"], "http": [{"route": [{"destination": {"host": "podinfo"}}]}]}
    })
}

fn referenced(vs: Value) -> Referenced {
    Referenced::from([(
        ObjectKey {
            kind: VIRTUAL_SERVICE,
            namespace: "test".into(),
            name: "podinfo".into(),
        },
        Some(vs),
    )])
}

#[test]
fn a_virtual_service_the_user_has_is_taken_over_keeping_its_spec_for_later() {
    let routing = routing(PODINFO);
    let mine = users_vs(&json!({}));
    let taken = vs(&build(&routing, &referenced(mine.clone()), None, &at(0)));
    assert!(
        taken["metadata"].get("ownerReferences").is_none(),
        "not garbage collected with the Canary"
    );
    let kept: Value = serde_json::from_str(
        taken["metadata"]["annotations"][ORIGINAL_CONFIGURATION]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kept, mine["spec"]);
    // Once taken over, the kept spec is carried on, not replaced by serin's.
    let mut now = users_vs(
        &json!({ ORIGINAL_CONFIGURATION: taken["metadata"]["annotations"][ORIGINAL_CONFIGURATION] }),
    );
    now["spec"] = taken["spec"].clone();
    let again = vs(&build(&routing, &referenced(now.clone()), None, &at(10)));
    assert_eq!(
        again["metadata"]["annotations"][ORIGINAL_CONFIGURATION],
        taken["metadata"]["annotations"][ORIGINAL_CONFIGURATION]
    );
    // revertOnDeletion gives it back.
    let referenced = Referenced::new();
    let input = RouteInput::for_test(&routing, &referenced);
    let restored = Istio.finalize(&input, &[now]);
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].object["spec"], mine["spec"]);
    assert!(restored[0].object["metadata"].get("annotations").is_none());
}

#[test]
fn a_kubectl_applied_virtual_service_is_restored_from_its_last_applied_copy() {
    let routing = routing(PODINFO);
    let applied = json!({"spec": {"hosts": ["podinfo"], "http": [{"route": [{"destination": {"host": "podinfo"}}]}]}});
    let mine = users_vs(&json!({ LAST_APPLIED: applied.to_string() }));
    let taken = vs(&build(&routing, &referenced(mine.clone()), None, &at(0)));
    assert!(
        taken["metadata"]["annotations"]
            .get(ORIGINAL_CONFIGURATION)
            .is_none()
    );
    let referenced = Referenced::new();
    let input = RouteInput::for_test(&routing, &referenced);
    assert_eq!(
        Istio.finalize(&input, &[mine])[0].object["spec"],
        applied["spec"]
    );
}

fn observed(objects: &[DesiredObject], generation: i64, status: Value) -> Value {
    let mut vs = vs(objects);
    vs["metadata"]["generation"] = json!(generation);
    vs["status"] = status;
    vs
}

fn observe(routing: &RoutingSpec, vs: Value) -> RouteObservation {
    let referenced = Referenced::new();
    let input = RouteInput::for_test(routing, &referenced);
    Istio.observe(&input, &[vs])
}

#[test]
fn without_istiod_status_the_spec_is_taken_as_live() {
    let routing = routing(PODINFO);
    let vs = observed(
        &build(&routing, &Referenced::new(), None, &at(40)),
        3,
        Value::Null,
    );
    assert_eq!(
        observe(&routing, vs),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(40).unwrap()),
            confirmed: false
        }
    );
}

#[test]
fn with_istiod_status_a_step_is_live_only_once_reconciled_at_its_generation() {
    let routing = routing(PODINFO);
    let objects = build(&routing, &Referenced::new(), None, &at(40));
    let reconciled = |observed: i64, status: &str| {
        json!({
            "observedGeneration": observed,
            "conditions": [{"type": "Reconciled", "status": status, "reason": "stillPropagating", "message": "61/122 complete"}]
        })
    };
    assert_eq!(
        observe(&routing, observed(&objects, 3, reconciled(3, "True"))),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(40).unwrap()),
            confirmed: true
        }
    );
    assert!(matches!(
        observe(&routing, observed(&objects, 4, reconciled(3, "True"))),
        RouteObservation::Pending { reason } if reason.contains("generation 4")
    ));
    assert!(matches!(
        observe(&routing, observed(&objects, 3, reconciled(3, "False"))),
        RouteObservation::Pending { reason } if reason.contains("61/122 complete")
    ));
    let refused = json!({"observedGeneration": "3", "validationMessages": [{"level": "ERROR", "type": {"code": "IST0101", "name": "ReferencedResourceNotFound"}}]});
    assert!(matches!(
        observe(&routing, observed(&objects, 3, refused)),
        RouteObservation::Rejected { reason } if reason.contains("ReferencedResourceNotFound")
    ));
    assert_eq!(observe(&routing, Value::Null), RouteObservation::Missing);
}

#[test]
fn sticky_routes_are_not_mistaken_for_the_weighted_one() {
    let routing = routing(PODINFO);
    let split = TrafficSplit {
        sticky_cookie: Some("flagger-cookie=r2d2".into()),
        ..at(30)
    };
    let vs = observed(
        &build(&routing, &Referenced::new(), Some(&affinity()), &split),
        1,
        Value::Null,
    );
    assert_eq!(
        observe(&routing, vs).live().map(|r| r.canary),
        Weight::new(30)
    );
}
