//! Building and reading a Knative Service's traffic, against what Flagger writes for the same
//! Canary.

use serde_json::{Value, json};
use serin_crds::canary::Provider;
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::{Referenced, RouterOptions, router_for};
use crate::workloads::PRIMARY_REVISION_ANNOTATION;

/// The Canary of Flagger's Knative tutorial.
const PODINFO: &str = "
provider: knative
targetRef: {apiVersion: serving.knative.dev/v1, kind: Service, name: podinfo}
analysis: {interval: 15s, threshold: 15, maxWeight: 50, stepWeight: 10}
";

fn routing() -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(PODINFO).unwrap();
    validate_canary(&spec, Some(Provider::Knative))
        .unwrap()
        .routing
}

/// The tutorial's Knative Service after two revisions, `podinfo-00001` the primary, with
/// `status.traffic` as Knative programs `spec.traffic`.
fn service(spec_traffic: &Value, status_traffic: &Value) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "podinfo", "namespace": "test", "generation": 3,
                     "annotations": {PRIMARY_REVISION_ANNOTATION: "podinfo-00001"}},
        "spec": {"template": {"spec": {"containers": [{"image": "podinfo:6.0.1"}]}},
                 "traffic": spec_traffic},
        "status": {"observedGeneration": 3,
                   "latestCreatedRevisionName": "podinfo-00002",
                   "latestReadyRevisionName": "podinfo-00002",
                   "conditions": [{"type": "Ready", "status": "True"},
                                  {"type": "RoutesReady", "status": "True"}],
                   "traffic": status_traffic}
    })
}

fn split_at(canary: i64) -> (Value, Value) {
    (
        json!([{"latestRevision": true, "percent": canary},
               {"revisionName": "podinfo-00001", "percent": 100 - canary}]),
        json!([{"revisionName": "podinfo-00002", "latestRevision": true, "percent": canary},
               {"revisionName": "podinfo-00001", "latestRevision": false, "percent": 100 - canary}]),
    )
}

fn key() -> ObjectKey {
    ObjectKey {
        kind: KNATIVE_SERVICE,
        namespace: "test".into(),
        name: "podinfo".into(),
    }
}

fn input<'a>(routing: &'a RoutingSpec, referenced: &'a Referenced) -> RouteInput<'a> {
    RouteInput::for_test(routing, referenced)
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

#[test]
fn the_split_is_written_as_flagger_writes_it_and_only_spec_traffic_is_applied() {
    let routing = routing();
    let (spec, status) = split_at(0);
    let referenced = Referenced::from([(key(), Some(service(&spec, &status)))]);
    let router = router_for(Provider::Knative, &RouterOptions::default()).unwrap();
    assert_eq!(router.name(), "knative");
    assert_eq!(router.references("test", &routing), vec![key()]);
    let objects = router
        .desired_routes(&input(&routing, &referenced), &at(10))
        .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].kind, KNATIVE_SERVICE);
    assert_eq!(objects[0].name, "podinfo");
    // Flagger's SetRoutes(90, 10); no owner reference: the Service is the user's.
    assert_eq!(
        objects[0].object,
        json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"traffic": [
                {"latestRevision": true, "percent": 10},
                {"revisionName": "podinfo-00001", "percent": 90}]}
        })
    );
}

#[test]
fn before_the_annotation_is_written_the_primary_is_the_latest_created_revision() {
    let routing = routing();
    let (spec, status) = split_at(0);
    let mut fresh = service(&spec, &status);
    fresh["metadata"]["annotations"] = json!({});
    let referenced = Referenced::from([(key(), Some(fresh))]);
    let objects = Knative
        .desired_routes(
            &input(&routing, &referenced),
            &TrafficSplit::new(Routes::all_primary()),
        )
        .unwrap();
    assert_eq!(
        objects[0].object["spec"]["traffic"][1],
        json!({"revisionName": "podinfo-00002", "percent": 100})
    );
}

#[test]
fn a_missing_knative_service_is_reported_not_defaulted() {
    let routing = routing();
    let referenced = Referenced::from([(key(), None)]);
    let err = Knative
        .desired_routes(&input(&routing, &referenced), &at(10))
        .unwrap_err();
    assert_eq!(err.category(), "reference_missing");
    assert_eq!(
        Knative.observe(&input(&routing, &referenced), &[]),
        RouteObservation::Missing
    );
}

#[test]
fn a_split_is_live_only_once_status_traffic_shows_it() {
    let routing = routing();
    let referenced = Referenced::new();
    let input = input(&routing, &referenced);
    let (spec, status) = split_at(30);
    assert_eq!(
        Knative.observe(&input, &[service(&spec, &status)]),
        RouteObservation::Live {
            routes: Routes::split(Weight::new(30).unwrap()),
            confirmed: true
        }
    );
    // spec.traffic moved to 40 %, Knative still routes 30 %.
    let (spec_40, _) = split_at(40);
    assert!(matches!(
        Knative.observe(&input, &[service(&spec_40, &status)]),
        RouteObservation::Pending { .. }
    ));
    // Knative has not reconciled the generation yet.
    let mut behind = service(&spec, &status);
    behind["status"]["observedGeneration"] = json!(2);
    assert!(matches!(
        Knative.observe(&input, &[behind]),
        RouteObservation::Pending { .. }
    ));
    // Routes being programmed.
    let mut unknown = service(&spec, &status);
    unknown["status"]["conditions"][1]["status"] = json!("Unknown");
    assert!(matches!(
        Knative.observe(&input, &[unknown]),
        RouteObservation::Pending { .. }
    ));
}

#[test]
fn routes_knative_refuses_or_traffic_to_other_revisions_are_rejected() {
    let routing = routing();
    let referenced = Referenced::new();
    let input = input(&routing, &referenced);
    let (spec, status) = split_at(30);
    let mut refused = service(&spec, &status);
    refused["status"]["conditions"][1] =
        json!({"type": "RoutesReady", "status": "False", "message": "revision missing"});
    assert_eq!(
        Knative.observe(&input, &[refused]),
        RouteObservation::Rejected {
            reason: "revision missing".into()
        }
    );
    let other = json!([{"latestRevision": true, "percent": 50},
                       {"revisionName": "podinfo-00000", "percent": 50}]);
    let programmed = json!([{"revisionName": "podinfo-00002", "latestRevision": true, "percent": 50},
                            {"revisionName": "podinfo-00000", "latestRevision": false, "percent": 50}]);
    assert!(matches!(
        Knative.observe(&input, &[service(&other, &programmed)]),
        RouteObservation::Rejected { .. }
    ));
}

#[test]
fn finalizing_gives_all_traffic_to_the_latest_revision() {
    let routing = routing();
    let referenced = Referenced::new();
    let input = input(&routing, &referenced);
    let (spec, status) = split_at(30);
    let restored = Knative.finalize(&input, &[service(&spec, &status)]);
    assert_eq!(
        restored[0].object["spec"]["traffic"],
        json!([{"latestRevision": true, "percent": 100}])
    );
    assert!(Knative.finalize(&input, &[]).is_empty());
}
