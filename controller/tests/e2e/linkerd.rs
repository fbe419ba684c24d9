//! Releases through the SMI router on a cluster with linkerd-smi's TrafficSplit CRD: `linkerd`
//! (`v1alpha1`, weights as quantities, judged on Linkerd's proxy metrics), `smi:v1alpha3` (on
//! the test copy of the CRD that serves it, judged on Istio's metrics as in Flagger), and
//! Flagger's Linkerd examples and tutorial as published.

use std::time::Duration;

use serde_json::{Value, json};
use serin_controller::demo::ClusterOptions;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::istio::{shortened, supporting_objects};
use crate::support::{
    Harness, PODINFO, RoutingObject, flagger_manifest, image_of, mesh_crds, stepped_canary,
};

const SPLIT_V1ALPHA1: (&str, &str) = ("split.smi-spec.io/v1alpha1", "TrafficSplit");

/// The SMI TrafficSplit CRD with `v1alpha3` served (`third_party/smi/README.md`).
const SMI_V1ALPHA3_CRDS: &str = include_str!("../../../third_party/smi/trafficsplits.yaml");

async fn start(crds: String) -> Harness {
    start_with(crds, Provider::Kubernetes).await
}

async fn start_with(crds: String, mesh_provider: Provider) -> Harness {
    let options = ClusterOptions {
        crds: vec![crds],
        istio_status: false,
    };
    Harness::start_cluster(mesh_provider, options, |_| {}).await
}

fn linkerd_smi() -> String {
    mesh_crds("smi/linkerd-smi/trafficsplit-crd.yaml")
}

/// A backend weight: a number, or a quantity string as `v1alpha1` has them.
fn weight(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(-1.0)
}

/// `(primary, canary)` weights of a TrafficSplit for podinfo, whose root is the apex Service.
fn split(object: &Value) -> (f64, f64) {
    let backends = object["spec"]["backends"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of = |name: &str| {
        backends
            .iter()
            .filter(|b| b["service"] == name)
            .map(|b| weight(&b["weight"]))
            .sum::<f64>()
    };
    if object["spec"]["service"] != "podinfo" {
        return (-1.0, -1.0);
    }
    (of("podinfo-primary"), of("podinfo-canary"))
}

fn traffic_split(api_version: &'static str) -> RoutingObject {
    RoutingObject {
        api_version,
        kind: "TrafficSplit",
        name: "podinfo",
        split,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linkerd_release_is_promoted_through_a_traffic_split_and_a_bad_one_rolled_back() {
    let mut h = start(linkerd_smi()).await;
    h.apply(PODINFO);
    h.apply(&stepped_canary(Provider::Linkerd));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let written = h
        .get("split.smi-spec.io/v1alpha1", "TrafficSplit", "podinfo")
        .await;
    assert_eq!(
        written["spec"]["backends"],
        json!([{"service": "podinfo-canary", "weight": "0"}, {"service": "podinfo-primary", "weight": "100"}]),
        "quantities, as Flagger writes them: {written}"
    );
    h.promote_then_roll_back(&traffic_split("split.smi-spec.io/v1alpha1"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smi_v1alpha3_release_is_promoted_and_a_bad_one_rolled_back() {
    let mut h = start(SMI_V1ALPHA3_CRDS.to_owned()).await;
    h.apply(PODINFO);
    h.apply(&stepped_canary(Provider::SmiV1alpha3));
    h.promote_then_roll_back(&traffic_split("split.smi-spec.io/v1alpha3"))
        .await;
}

/// Flagger's manifest `file` in `namespace` (shortened), with its supporting objects and the
/// Linkerd tutorial's MetricTemplates on the harness's Prometheus, released once under
/// `mesh_provider`; `routes` is the routing object the release goes through.
async fn release_flagger_manifest(
    file: &str,
    namespace: &str,
    mesh_provider: Provider,
    routes: (&str, &str),
) {
    let h = start_with(linkerd_smi(), mesh_provider).await;
    // The tutorial's references to its namespace `test` follow the Canary into `namespace`.
    let in_namespace = |m: String| m.replace("namespace: test", &format!("namespace: {namespace}"));
    let canary = shortened(&in_namespace(flagger_manifest(file)), namespace);
    h.apply(&supporting_objects(namespace, &h.prometheus_url()));
    for template in [
        "044-MetricTemplate-docs__gitbook__tutorials__linkerd-progressive-delivery.yaml",
        "045-MetricTemplate-docs__gitbook__tutorials__linkerd-progressive-delivery.yaml",
    ] {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&in_namespace(flagger_manifest(template)))
                .expect("template parses");
        let mut template: Value = serde_json::to_value(yaml).expect("json");
        template["metadata"]["namespace"] = json!(namespace);
        template["spec"]["provider"]["address"] = json!(h.prometheus_url());
        h.apply(&serde_yaml::to_string(&template).expect("yaml"));
    }
    h.apply(&serde_yaml::to_string(&canary).expect("yaml"));
    let phase = |c: &serin_crds::Canary| c.status.as_ref().and_then(|s| s.phase);
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(60), |c| {
        phase(c) == Some(CanaryPhase::Initialized)
    })
    .await;
    let written = h.get_in(namespace, routes.0, routes.1, "podinfo").await;
    assert!(written.to_string().contains("podinfo-primary"), "{written}");
    h.release_in(
        namespace,
        "podinfo",
        "ghcr.io/stefanprodan/podinfo:6.1.0",
        "0.0",
    )
    .await;
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(150), |c| {
        phase(c) == Some(CanaryPhase::Succeeded)
    })
    .await;
    let primary = h
        .get_in(namespace, "apps/v1", "Deployment", "podinfo-primary")
        .await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_linkerd_example_releases_as_published() {
    release_flagger_manifest(
        "007-Canary-artifacts__examples__linkerd-canary.yaml",
        "flagger-007",
        Provider::Kubernetes,
        SPLIT_V1ALPHA1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_linkerd_example_with_step_weights_releases_as_published() {
    release_flagger_manifest(
        "006-Canary-artifacts__examples__linkerd-canary-steps.yaml",
        "flagger-006",
        Provider::Kubernetes,
        SPLIT_V1ALPHA1,
    )
    .await;
}

/// Linkerd 2.12 and later: Flagger's tutorial installs Flagger with `gatewayapi:v1beta1` and
/// attaches an HTTPRoute to the apex Service, judged on the tutorial's Linkerd MetricTemplates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_linkerd_tutorial_releases_through_gateway_api_as_published() {
    release_flagger_manifest(
        "046-Canary-docs__gitbook__tutorials__linkerd-progressive-delivery.yaml",
        "flagger-046",
        Provider::GatewayApiV1beta1,
        ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
    )
    .await;
}
