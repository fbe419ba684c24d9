//! Releases through the Kuma router, judged on the built-in queries over Kuma's Envoy metrics:
//! on a cluster serving `TrafficRoute` (Kuma before 3.0, cluster-scoped, as Flagger writes it),
//! on one serving only `MeshHTTPRoute` (Kuma 3.0), and Flagger's Kuma example and tutorial as
//! published.

use std::time::Duration;

use serde_json::{Value, json};
use serin_controller::demo::ClusterOptions;
use serin_controller::routers::KumaApi;
use serin_crds::canary::Provider;

use crate::support::{Harness, PODINFO, RoutingObject, mesh_crds, stalled, stepped_canary};

const TRAFFIC_ROUTES: &str = "kuma/kuma.io_trafficroutes.yaml";
const MESH_HTTP_ROUTES: &str = "kuma/kuma.io_meshhttproutes.yaml";

/// The split's weight for the `kuma.io/service` tag of `service` in `test` on port 80.
fn tagged(split: &[Value], service: &str) -> f64 {
    let tag = format!("{service}_test_svc_80");
    split
        .iter()
        .filter(|s| s["destination"]["kuma.io/service"] == tag.as_str())
        .filter_map(|s| s["weight"].as_f64())
        .sum()
}

/// `(primary, canary)` of podinfo's TrafficRoute, whose destination is the apex Service.
fn traffic_route_split(route: &Value) -> (f64, f64) {
    if route["spec"]["destinations"][0]["match"]["kuma.io/service"] != "podinfo_test_svc_80" {
        return (-1.0, -1.0);
    }
    let split = route["spec"]["conf"]["split"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (
        tagged(&split, "podinfo-primary"),
        tagged(&split, "podinfo-canary"),
    )
}

/// `(primary, canary)` of podinfo's `MeshHTTPRoute`, whose destination is the apex `MeshService`.
fn mesh_http_route_split(route: &Value) -> (f64, f64) {
    let to = &route["spec"]["to"][0];
    if to["targetRef"] != json!({"kind": "MeshService", "name": "podinfo", "namespace": "test"}) {
        return (-1.0, -1.0);
    }
    let backends = to["rules"][0]["default"]["backendRefs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |name: &str| {
        backends
            .iter()
            .filter(|b| b["name"] == name && b["port"] == 80)
            .filter_map(|b| b["weight"].as_f64())
            .sum::<f64>()
    };
    (of("podinfo-primary"), of("podinfo-canary"))
}

/// A Kuma cluster with the CRDs of `files`; the controller writes `api`, as discovery picks it
/// on such a cluster (`served_kuma_api`, tested in the router contract).
async fn start(files: &[&str], api: KumaApi) -> Harness {
    let options = ClusterOptions {
        crds: files.iter().map(|f| mesh_crds(f)).collect(),
        istio_status: false,
    };
    Harness::start_cluster(Provider::Kubernetes, options, |config| {
        config.routers.kuma = api;
    })
    .await
}

/// The stepped Canary for `kuma`, in the mesh `mesh-a`.
fn canary_in_mesh_a() -> String {
    stepped_canary(Provider::Kuma).replace(
        "metadata: {name: podinfo, namespace: test}",
        "metadata: {name: podinfo, namespace: test, annotations: {kuma.io/mesh: mesh-a}}",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kuma_release_is_promoted_through_a_traffic_route_and_a_bad_one_rolled_back() {
    let mut h = start(&[TRAFFIC_ROUTES], KumaApi::TrafficRoute).await;
    h.apply(PODINFO);
    h.apply(&canary_in_mesh_a());
    h.wait_for_phase(
        "podinfo",
        serin_crds::canary::CanaryPhase::Initialized,
        Duration::from_secs(30),
    )
    .await;
    let route = h.get("kuma.io/v1alpha1", "TrafficRoute", "podinfo").await;
    assert_eq!(route["mesh"], "mesh-a", "{route}");
    assert!(route["metadata"]["namespace"].is_null(), "{route}");
    assert_eq!(
        route["metadata"]["labels"]["serin.dev/canary-namespace"], "test",
        "{route}"
    );
    h.promote_then_roll_back(&RoutingObject {
        api_version: "kuma.io/v1alpha1",
        kind: "TrafficRoute",
        name: "podinfo",
        split: traffic_route_split,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kuma_3_a_release_is_promoted_through_a_mesh_http_route_and_a_bad_one_rolled_back() {
    let mut h = start(&[MESH_HTTP_ROUTES], KumaApi::MeshHttpRoute).await;
    h.apply(PODINFO);
    h.apply(&canary_in_mesh_a());
    h.wait_for_phase(
        "podinfo",
        serin_crds::canary::CanaryPhase::Initialized,
        Duration::from_secs(30),
    )
    .await;
    let route = h.get("kuma.io/v1alpha1", "MeshHTTPRoute", "podinfo").await;
    assert_eq!(route["metadata"]["labels"]["kuma.io/mesh"], "mesh-a");
    assert_eq!(route["metadata"]["ownerReferences"][0]["kind"], "Canary");
    h.promote_then_roll_back(&RoutingObject {
        api_version: "kuma.io/v1alpha1",
        kind: "MeshHTTPRoute",
        name: "podinfo",
        split: mesh_http_route_split,
    })
    .await;
}

/// Flagger's Kuma manifest `file` (shortened), released once in `namespace` by a controller
/// whose `--mesh-provider` is `kuma`.
async fn release_flaggers(file: &str, namespace: &str) {
    let options = ClusterOptions {
        crds: vec![mesh_crds(TRAFFIC_ROUTES)],
        istio_status: false,
    };
    let mut h = Harness::start_cluster(Provider::Kuma, options, |_| {}).await;
    // The example lives in `test`; it follows the Canary into `namespace`.
    h.start_flagger_tutorial(file, namespace, &[]).await;
    let route = h
        .get_in(namespace, "kuma.io/v1alpha1", "TrafficRoute", "podinfo")
        .await;
    assert_eq!(route["mesh"], "default");
    assert_eq!(
        route["spec"]["conf"]["split"][0]["destination"]["kuma.io/service"],
        format!("podinfo-primary_{namespace}_svc_9898"),
        "{route}"
    );
    h.promote_flagger_tutorial(file, namespace).await;
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_kuma_example_releases_as_published() {
    release_flaggers(
        "005-Canary-artifacts__examples__kuma-canary.yaml",
        "flagger-005",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_kuma_tutorial_releases_as_published() {
    release_flaggers(
        "043-Canary-docs__gitbook__tutorials__kuma-progressive-delivery.yaml",
        "flagger-043",
    )
    .await;
}

/// `TrafficRoutes` are cluster-scoped and named after the apex Service: a second Canary with the
/// same apex name in another namespace is stalled, and the first one's TrafficRoute is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traffic_route_of_another_namespaces_canary_is_not_taken_over() {
    let h = start(&[TRAFFIC_ROUTES], KumaApi::TrafficRoute).await;
    h.apply(PODINFO);
    h.apply(&stepped_canary(Provider::Kuma));
    h.wait_for_phase(
        "podinfo",
        serin_crds::canary::CanaryPhase::Initialized,
        Duration::from_secs(30),
    )
    .await;
    let in_other = |yaml: &str| yaml.replace("namespace: test", "namespace: other");
    h.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n");
    h.apply(&in_other(PODINFO));
    h.apply(&in_other(&stepped_canary(Provider::Kuma)));
    let canary = h
        .wait_until_in(
            "other",
            "podinfo",
            "Stalled",
            Duration::from_secs(30),
            |c| stalled(c).is_some(),
        )
        .await;
    let (reason, message) = stalled(&canary).expect("stalled");
    assert!(
        message.contains("belongs to Canary test/podinfo"),
        "{reason}: {message}"
    );
    let route = h.get("kuma.io/v1alpha1", "TrafficRoute", "podinfo").await;
    assert_eq!(
        route["metadata"]["labels"]["serin.dev/canary-namespace"], "test",
        "{route}"
    );
    assert_eq!(traffic_route_split(&route), (100.0, 0.0));
}
