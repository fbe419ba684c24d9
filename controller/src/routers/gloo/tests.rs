//! Building and reading the Gloo RouteTable and Upstreams, against what Flagger writes for the
//! same Canary.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::Referenced;

fn routing(extra: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(&format!(
        "
targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
service: {{port: 9898, targetPort: 9898}}
{extra}
"
    ))
    .unwrap();
    validate_canary(&spec, Some(serin_crds::canary::Provider::Gloo))
        .unwrap()
        .routing
}

const CANARY: &str = "analysis: {interval: 10s, threshold: 5, maxWeight: 50, stepWeight: 5}";

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn build(
    routing: &RoutingSpec,
    referenced: &Referenced,
    weight: u32,
) -> Result<Vec<Value>, RouterError> {
    let split = TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()));
    Gloo.desired_routes(&input(routing, referenced), &split)
        .map(|objects| objects.into_iter().map(|o| o.object).collect())
}

fn owner() -> Value {
    json!([{
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
        "uid": "uid-1", "controller": true, "blockOwnerDeletion": true
    }])
}

/// What Flagger's Gloo router writes for its tutorial's Canary at a canary weight of 5%.
fn flaggers_objects() -> Vec<Value> {
    let upstream = |name: &str, service: &str| {
        json!({
            "apiVersion": "gloo.solo.io/v1",
            "kind": "Upstream",
            "metadata": {"name": name, "namespace": "test", "ownerReferences": owner()},
            "spec": {"kube": {"serviceName": service, "serviceNamespace": "test", "servicePort": 9898}}
        })
    };
    vec![
        upstream("test-podinfo-primaryupstream-9898", "podinfo-primary"),
        upstream("test-podinfo-canaryupstream-9898", "podinfo-canary"),
        json!({
            "apiVersion": "gateway.solo.io/v1",
            "kind": "RouteTable",
            "metadata": {"name": "podinfo", "namespace": "test", "ownerReferences": owner()},
            "spec": {"routes": [{
                "inheritablePathMatchers": true,
                "routeAction": {"multi": {"destinations": [
                    {"destination": {"upstream": {"name": "test-podinfo-primaryupstream-9898", "namespace": "test"}}, "weight": 95},
                    {"destination": {"upstream": {"name": "test-podinfo-canaryupstream-9898", "namespace": "test"}}, "weight": 5}
                ]}}
            }]}
        }),
    ]
}

#[test]
fn the_route_table_and_upstreams_match_flaggers_field_by_field() {
    let routing = routing(CANARY);
    let built = build(&routing, &Referenced::new(), 5).unwrap();
    assert_eq!(built, flaggers_objects());
}

#[test]
fn at_weight_zero_the_canary_destination_has_no_weight() {
    let routing = routing(CANARY);
    let built = build(&routing, &Referenced::new(), 0).unwrap();
    let destinations = &built[2]["spec"]["routes"][0]["routeAction"]["multi"]["destinations"];
    assert_eq!(destinations[0]["weight"], 100);
    assert!(destinations[1].get("weight").is_none());
}

#[test]
fn ab_matches_become_one_matcher_per_entry() {
    let routing = routing(
        "analysis:
  interval: 10s
  threshold: 2
  iterations: 10
  match:
    - headers: {x-canary: {exact: insider}}
    - headers: {user-agent: {regex: '.*Firefox.*'}}
      method: {exact: GET}",
    );
    let built = build(&routing, &Referenced::new(), 100).unwrap();
    assert_eq!(
        built[2]["spec"]["routes"][0]["matchers"],
        json!([
            {"headers": [{"name": "x-canary", "value": "insider"}]},
            {"headers": [{"name": "user-agent", "value": ".*Firefox.*", "regex": true}], "methods": ["GET"]}
        ])
    );
}

fn template_key() -> ObjectKey {
    ObjectKey {
        kind: UPSTREAM,
        namespace: "gloo-system".into(),
        name: "podinfo-upstream".into(),
    }
}

const WITH_TEMPLATE: &str = "upstreamRef: {apiVersion: gloo.solo.io/v1, kind: Upstream, name: podinfo-upstream, namespace: gloo-system}
analysis: {interval: 10s, threshold: 5, maxWeight: 50, stepWeight: 5}";

#[test]
fn the_upstream_ref_is_copied_with_its_kube_section_replaced() {
    let routing = routing(WITH_TEMPLATE);
    assert_eq!(Gloo.references("test", &routing), [template_key()]);
    let template = json!({"metadata": {"name": "podinfo-upstream"}, "spec": {
        "sslConfig": {"secretRef": {"name": "tls", "namespace": "gloo-system"}},
        "circuitBreakers": {"maxConnections": 10},
        "kube": {"serviceName": "other", "serviceNamespace": "gloo-system", "servicePort": 1}
    }});
    let referenced = Referenced::from([(template_key(), Some(template))]);
    let built = build(&routing, &referenced, 5).unwrap();
    assert_eq!(
        built[1]["spec"],
        json!({
            "sslConfig": {"secretRef": {"name": "tls", "namespace": "gloo-system"}},
            "circuitBreakers": {"maxConnections": 10},
            "kube": {"serviceName": "podinfo-canary", "serviceNamespace": "test", "servicePort": 9898}
        })
    );
}

#[test]
fn a_missing_upstream_ref_is_refused_naming_it() {
    let routing = routing(WITH_TEMPLATE);
    let referenced = Referenced::from([(template_key(), None)]);
    let err = build(&routing, &referenced, 5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Upstream.gloo.solo.io gloo-system/podinfo-upstream (from spec.upstreamRef) does not exist"
    );
}

fn observed(weight: u32, status: Value) -> Vec<Value> {
    let routing = routing(CANARY);
    let mut objects = build(&routing, &Referenced::new(), weight).unwrap();
    objects[2]["metadata"]["generation"] = json!(2);
    objects[2]["status"] = status;
    objects
}

fn observe(objects: &[Value]) -> RouteObservation {
    let routing = routing(CANARY);
    let referenced = Referenced::new();
    Gloo.observe(&input(&routing, &referenced), objects)
}

#[test]
fn an_accepted_route_table_reads_back_its_split() {
    let accepted =
        json!({"statuses": {"gloo-system": {"state": "Accepted", "reportedBy": "gateway"}}});
    assert_eq!(
        observe(&observed(30, accepted)),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(30).unwrap()),
            confirmed: true
        }
    );
    // Gloo before 1.8: one status, numbered states.
    let legacy = json!({"state": 1, "reportedBy": "gateway"});
    assert!(matches!(
        observe(&observed(30, legacy)),
        RouteObservation::Live {
            confirmed: true,
            ..
        }
    ));
}

#[test]
fn until_accepted_the_route_table_is_pending() {
    for status in [
        json!({}),
        json!({"statuses": {"gloo-system": {"state": "Pending", "reportedBy": "gateway"}}}),
    ] {
        assert!(
            matches!(
                observe(&observed(10, status.clone())),
                RouteObservation::Pending { .. }
            ),
            "{status}"
        );
    }
}

#[test]
fn a_rejected_route_table_names_the_reporter_and_reason() {
    let rejected = json!({"statuses": {"gloo-system": {"state": "Rejected", "reportedBy": "gateway", "reason": "invalid matcher"}}});
    assert_eq!(
        observe(&observed(10, rejected)),
        RouteObservation::Rejected {
            reason: "gateway (gloo-system) rejected the RouteTable podinfo: invalid matcher".into()
        }
    );
}

#[test]
fn missing_upstreams_or_table_are_missing() {
    let objects = observed(10, json!({}));
    assert_eq!(observe(&objects[1..]), RouteObservation::Missing);
    assert_eq!(observe(&objects[..2]), RouteObservation::Missing);
}
