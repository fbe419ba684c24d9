//! Building and reading Kuma `TrafficRoutes` (against what Flagger writes for the same Canary)
//! and `MeshHTTPRoutes`.

use serde_json::{Value, json};
use serin_crds::canary::Provider;
use serin_crds::validation::{RoutingSpec, Weight, validate_canary};
use serin_decide::Routes;

use super::*;
use crate::routers::{Referenced, RouterOptions, router_for};

fn routing(spec: &str) -> RoutingSpec {
    let spec: serin_crds::CanarySpec = serde_yaml::from_str(spec).unwrap();
    validate_canary(&spec, Some(Provider::Kuma))
        .unwrap()
        .routing
}

/// The Canary of Flagger's Kuma example (`artifacts/examples/kuma-canary.yaml`).
const PODINFO: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service:
  port: 9898
  targetPort: 9898
  apex: {annotations: {9898.service.kuma.io/protocol: http}}
  canary: {annotations: {9898.service.kuma.io/protocol: http}}
  primary: {annotations: {9898.service.kuma.io/protocol: http}}
analysis: {interval: 15s, threshold: 15, maxWeight: 50, stepWeight: 10}
";

/// The same without service metadata.
const BARE: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service: {port: 80}
analysis: {interval: 15s, threshold: 15, maxWeight: 50, stepWeight: 10}
";

struct Fixture {
    routing: RoutingSpec,
    referenced: Referenced,
    annotations: BTreeMap<String, String>,
}

impl Fixture {
    fn of(spec: &str) -> Fixture {
        Fixture {
            routing: routing(spec),
            referenced: Referenced::new(),
            annotations: BTreeMap::new(),
        }
    }

    fn in_mesh(mut self, mesh: &str) -> Fixture {
        self.annotations
            .insert(MESH_ANNOTATION.to_owned(), mesh.to_owned());
        self
    }

    fn with_existing_route(mut self, route: Value) -> Fixture {
        let key = ObjectKey {
            kind: TRAFFIC_ROUTE,
            namespace: String::new(),
            name: "podinfo".into(),
        };
        self.referenced.insert(key, Some(route));
        self
    }

    fn input(&self) -> RouteInput<'_> {
        RouteInput {
            canary: "podinfo",
            namespace: "test",
            canary_uid: "uid-1",
            routing: &self.routing,
            session_affinity: None,
            annotations: &self.annotations,
            referenced: &self.referenced,
        }
    }
}

fn router(api: KumaApi) -> Box<dyn Router> {
    let options = RouterOptions {
        kuma: api,
        ..RouterOptions::default()
    };
    router_for(Provider::Kuma, &options).unwrap()
}

fn at(weight: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(weight).unwrap()))
}

fn build(api: KumaApi, fixture: &Fixture, split: &TrafficSplit) -> Value {
    let objects = router(api).desired_routes(&fixture.input(), split).unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].name, "podinfo");
    objects[0].object.clone()
}

/// Flagger's TrafficRoute for the example's Canary after `SetRoutes(90, 10)`, with serin's
/// labels instead of Flagger's owner reference.
fn flaggers_traffic_route() -> Value {
    json!({
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "TrafficRoute",
        "mesh": "default",
        "metadata": {
            "name": "podinfo",
            "labels": {"serin.dev/canary-namespace": "test", "serin.dev/canary-name": "podinfo"},
            "annotations": {"9898.service.kuma.io/protocol": "http"},
        },
        "spec": {
            "sources": [{"match": {"kuma.io/service": "*"}}],
            "destinations": [{"match": {"kuma.io/service": "podinfo_test_svc_9898"}}],
            "conf": {"split": [
                {"weight": 90, "destination": {"kuma.io/service": "podinfo-primary_test_svc_9898"}},
                {"weight": 10, "destination": {"kuma.io/service": "podinfo-canary_test_svc_9898"}},
            ]},
        },
    })
}

#[test]
fn the_traffic_route_is_flaggers_cluster_scoped_split_without_an_owner_reference() {
    let route = build(KumaApi::TrafficRoute, &Fixture::of(PODINFO), &at(10));
    assert_eq!(route, flaggers_traffic_route());
    assert!(route["metadata"]["ownerReferences"].is_null());
    assert!(route["metadata"]["namespace"].is_null());
}

#[test]
fn without_apex_annotations_the_traffic_route_is_annotated_with_the_port_protocol_as_flagger_does()
{
    let route = build(KumaApi::TrafficRoute, &Fixture::of(BARE), &at(0));
    assert_eq!(
        route["metadata"]["annotations"],
        json!({"80.service.kuma.io": "http"})
    );
    assert_eq!(
        route["spec"]["conf"]["split"][0],
        json!({"weight": 100, "destination": {"kuma.io/service": "podinfo-primary_test_svc_80"}})
    );
}

#[test]
fn the_mesh_comes_from_the_canary_annotation() {
    let fixture = Fixture::of(PODINFO).in_mesh("mesh-a");
    let route = build(KumaApi::TrafficRoute, &fixture, &at(10));
    assert_eq!(route["mesh"], "mesh-a");
    let route = build(KumaApi::MeshHttpRoute, &fixture, &at(10));
    assert_eq!(route["metadata"]["labels"]["kuma.io/mesh"], "mesh-a");
}

#[test]
fn a_mesh_annotation_that_is_not_a_mesh_name_is_refused_with_the_field() {
    for bad in ["", "Mesh", "mesh_a", "-a", "a..b", &"m".repeat(254)] {
        let fixture = Fixture::of(PODINFO).in_mesh(bad);
        for api in [KumaApi::TrafficRoute, KumaApi::MeshHttpRoute] {
            let err = router(api)
                .desired_routes(&fixture.input(), &at(0))
                .unwrap_err();
            assert!(
                matches!(&err, RouterError::Inexpressible { field, .. } if field == "metadata.annotations[kuma.io/mesh]"),
                "{bad:?}: {err:?}"
            );
        }
    }
}

#[test]
fn a_traffic_route_of_another_canary_is_refused_not_taken_over() {
    let mut theirs = flaggers_traffic_route();
    theirs["metadata"]["labels"]["serin.dev/canary-namespace"] = json!("prod");
    let fixture = Fixture::of(PODINFO).with_existing_route(theirs);
    let err = router(KumaApi::TrafficRoute)
        .desired_routes(&fixture.input(), &at(0))
        .unwrap_err();
    assert!(err.to_string().contains("prod/podinfo"), "{err}");

    // Its own, and one serin did not label (Flagger's), are taken.
    let fixture = Fixture::of(PODINFO).with_existing_route(flaggers_traffic_route());
    assert!(
        router(KumaApi::TrafficRoute)
            .desired_routes(&fixture.input(), &at(0))
            .is_ok()
    );
    let mut flaggers = flaggers_traffic_route();
    flaggers["metadata"]["labels"] = json!({});
    let fixture = Fixture::of(PODINFO).with_existing_route(flaggers);
    assert!(
        router(KumaApi::TrafficRoute)
            .desired_routes(&fixture.input(), &at(0))
            .is_ok()
    );
}

#[test]
fn only_the_traffic_route_is_read_before_building() {
    let routing = routing(PODINFO);
    let keys = router(KumaApi::TrafficRoute).references("test", &routing);
    assert_eq!(
        keys,
        [ObjectKey {
            kind: TRAFFIC_ROUTE,
            namespace: String::new(),
            name: "podinfo".into()
        }]
    );
    assert!(
        router(KumaApi::MeshHttpRoute)
            .references("test", &routing)
            .is_empty()
    );
}

#[test]
fn the_mesh_http_route_weights_the_apex_mesh_service_and_is_owned_by_the_canary() {
    let route = build(KumaApi::MeshHttpRoute, &Fixture::of(PODINFO), &at(30));
    assert_eq!(
        route,
        json!({
            "apiVersion": "kuma.io/v1alpha1",
            "kind": "MeshHTTPRoute",
            "metadata": {
                "name": "podinfo",
                "namespace": "test",
                "labels": {"kuma.io/mesh": "default"},
                "ownerReferences": [{
                    "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
                    "uid": "uid-1", "controller": true, "blockOwnerDeletion": true,
                }],
            },
            "spec": {
                "targetRef": {"kind": "Mesh"},
                "to": [{
                    "targetRef": {"kind": "MeshService", "name": "podinfo", "namespace": "test"},
                    "rules": [{
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "default": {"backendRefs": [
                            {"kind": "MeshService", "name": "podinfo-primary", "namespace": "test", "port": 9898, "weight": 70},
                            {"kind": "MeshService", "name": "podinfo-canary", "namespace": "test", "port": 9898, "weight": 30},
                        ]},
                    }],
                }],
            },
        })
    );
}

#[test]
fn every_weight_reads_back_as_built_for_both_policies() {
    let fixture = Fixture::of(PODINFO);
    for api in [KumaApi::TrafficRoute, KumaApi::MeshHttpRoute] {
        for weight in [0, 1, 10, 50, 99, 100] {
            let route = build(api, &fixture, &at(weight));
            let observed = router(api).observe(&fixture.input(), &[route]);
            assert_eq!(
                observed,
                RouteObservation::Live {
                    routes: Routes::split(Weight::new(weight).unwrap()),
                    confirmed: false
                },
                "{api:?} at {weight}"
            );
        }
    }
}

#[test]
fn flaggers_traffic_route_reads_back_as_its_split() {
    let fixture = Fixture::of(PODINFO);
    let observed =
        router(KumaApi::TrafficRoute).observe(&fixture.input(), &[flaggers_traffic_route()]);
    assert_eq!(observed.live().map(|r| r.canary), Weight::new(10));
}

#[test]
fn a_missing_policy_is_missing_and_the_other_kind_is_not_read() {
    let fixture = Fixture::of(PODINFO);
    assert_eq!(
        router(KumaApi::TrafficRoute).observe(&fixture.input(), &[]),
        RouteObservation::Missing
    );
    let traffic_route = build(KumaApi::TrafficRoute, &fixture, &at(10));
    assert_eq!(
        router(KumaApi::MeshHttpRoute).observe(&fixture.input(), &[traffic_route]),
        RouteObservation::Missing
    );
}

#[test]
fn a_split_sending_traffic_elsewhere_or_with_odd_weights_is_rejected() {
    let fixture = Fixture::of(PODINFO);
    let input = fixture.input();
    let rejected = |api: KumaApi, route: Value| {
        let observed = router(api).observe(&input, std::slice::from_ref(&route));
        assert!(
            matches!(observed, RouteObservation::Rejected { .. }),
            "{route}: {observed:?}"
        );
    };
    let mut elsewhere = flaggers_traffic_route();
    elsewhere["spec"]["conf"]["split"][1]["destination"]["kuma.io/service"] =
        json!("other_test_svc_9898");
    rejected(KumaApi::TrafficRoute, elsewhere);
    let mut negative = flaggers_traffic_route();
    negative["spec"]["conf"]["split"][0]["weight"] = json!(-5);
    rejected(KumaApi::TrafficRoute, negative);
    let mut zero = flaggers_traffic_route();
    zero["spec"]["conf"]["split"][0]["weight"] = json!(0);
    zero["spec"]["conf"]["split"][1]["weight"] = json!(0);
    rejected(KumaApi::TrafficRoute, zero);
    let mut no_split = flaggers_traffic_route();
    no_split["spec"]["conf"] = json!("split");
    rejected(KumaApi::TrafficRoute, no_split);

    let built = build(KumaApi::MeshHttpRoute, &fixture, &at(10));
    let mut other_port = built.clone();
    other_port["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][1]["port"] = json!(80);
    rejected(KumaApi::MeshHttpRoute, other_port);
    let mut other_namespace = built.clone();
    other_namespace["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][1]["namespace"] =
        json!("prod");
    rejected(KumaApi::MeshHttpRoute, other_namespace);
    let mut other_apex = built;
    other_apex["spec"]["to"][0]["targetRef"]["name"] = json!("frontend");
    rejected(KumaApi::MeshHttpRoute, other_apex);
}

#[test]
fn a_mesh_http_route_backend_without_a_weight_has_kumas_default_of_one() {
    let fixture = Fixture::of(PODINFO);
    let mut route = build(KumaApi::MeshHttpRoute, &fixture, &at(10));
    let backends = &mut route["spec"]["to"][0]["rules"][0]["default"]["backendRefs"];
    backends[0].as_object_mut().unwrap().remove("weight");
    backends[1].as_object_mut().unwrap().remove("weight");
    let observed = router(KumaApi::MeshHttpRoute).observe(&fixture.input(), &[route]);
    assert_eq!(observed.live().map(|r| r.canary), Weight::new(50));
}

#[test]
fn both_kinds_are_declared_whichever_is_written() {
    for api in [KumaApi::TrafficRoute, KumaApi::MeshHttpRoute] {
        let kinds: Vec<RouteKind> = router(api).kinds().iter().map(|k| k.kind).collect();
        assert_eq!(kinds, [TRAFFIC_ROUTE, MESH_HTTP_ROUTE]);
    }
    assert_eq!(router(KumaApi::default()).name(), "kuma");
}
