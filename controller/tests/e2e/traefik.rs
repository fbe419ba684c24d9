//! Releases through the Traefik router on a cluster with Traefik's CRDs: a TraefikService named
//! after the apex Service whose weighted round robin moves in steps, judged on Traefik's metrics
//! for the canary's service, and Flagger's Traefik tutorial as published.

use std::time::Duration;

use serde_json::Value;
use serin_controller::demo::ClusterOptions;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::istio::{shortened, supporting_objects};
use crate::support::{
    Harness, PODINFO_DEPLOYMENT, canary_weight, flagger_manifest, image_of, mesh_crds,
};

const TRAEFIK: &str = "traefik.io/v1alpha1";

fn canary(analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: traefik
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 80, targetPort: 9898}}
  analysis:
    interval: 2s
    threshold: 2
{analysis}
    metrics:
      - {{name: request-success-rate, interval: 10s, thresholdRange: {{min: 90}}}}
      - {{name: request-duration, interval: 10s, thresholdRange: {{max: 500}}}}
"
    )
}

async fn start(mesh_provider: Provider) -> Harness {
    let options = ClusterOptions {
        crds: vec![
            mesh_crds("traefik/traefik.io_traefikservices.yaml"),
            mesh_crds("traefik/traefik.io_ingressroutes.yaml"),
        ],
        istio_status: false,
    };
    Harness::start_cluster(mesh_provider, options, |_| {}).await
}

/// The weighted services, by name.
fn weights(service: &Value) -> Vec<(String, i64)> {
    service["spec"]["weighted"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["weight"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn split(primary: i64, canary: i64) -> Vec<(String, i64)> {
    let mut split = vec![("podinfo-primary".to_owned(), primary)];
    if canary > 0 {
        split.push(("podinfo-canary".to_owned(), canary));
    }
    split
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_through_a_traefik_service_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 25"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let service = h.get(TRAEFIK, "TraefikService", "podinfo").await;
    assert_eq!(
        weights(&service),
        split(100, 0),
        "no zero-weight entry: {service}"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    let service = h.get(TRAEFIK, "TraefikService", "podinfo").await;
    assert_eq!(weights(&service), split(50, 50), "{service}");
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    let service = h.get(TRAEFIK, "TraefikService", "podinfo").await;
    assert_eq!(weights(&service), split(100, 0));

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    let service = h.get(TRAEFIK, "TraefikService", "podinfo").await;
    assert_eq!(
        weights(&service),
        split(100, 0),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_traefik_tutorial_releases_as_published() {
    let file = "055-Canary-docs__gitbook__tutorials__traefik-progressive-delivery.yaml";
    let namespace = "flagger-055";
    let mut h = start(Provider::Kubernetes).await;
    let manifest = shortened(&flagger_manifest(file), namespace);
    h.apply(&supporting_objects(namespace, &h.prometheus_url()));
    h.apply(&serde_yaml::to_string(&manifest).expect("yaml"));
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(60), |c| {
        c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Initialized)
    })
    .await;
    h.release_in(
        namespace,
        "podinfo",
        "ghcr.io/stefanprodan/podinfo:6.1.0",
        "0.0",
    )
    .await;
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(150), |c| {
        c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
    })
    .await;
    let primary = h
        .get_in(namespace, "apps/v1", "Deployment", "podinfo-primary")
        .await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}
