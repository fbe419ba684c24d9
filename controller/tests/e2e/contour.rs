//! Releases through the Contour router on a cluster with Contour's CRD: an HTTPProxy named
//! after the apex Service, weighted steps judged on Envoy's metrics for the canary's cluster,
//! A/B testing by header, and Flagger's Contour tutorial as published.

use std::time::Duration;

use serde_json::{Value, json};
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{Harness, PODINFO_DEPLOYMENT, canary_weight, image_of};

const PROXY: &str = "projectcontour.io/v1";

fn canary(analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: contour
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
    timeout: 15s
    retries: {{attempts: 3, perTryTimeout: 5s, retryOn: 5xx}}
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

/// The weights of route `index`, by Service (absent weights as 0).
fn weights(proxy: &Value, index: usize) -> Vec<(String, i64)> {
    proxy["spec"]["routes"][index]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

async fn start(mesh_provider: Provider) -> Harness {
    Harness::start_with_mesh_crds(mesh_provider, &["contour/httpproxies.yaml"]).await
}

fn split(primary: i64, canary: i64) -> Vec<(String, i64)> {
    vec![
        ("podinfo-primary".to_owned(), primary),
        ("podinfo-canary".to_owned(), canary),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_through_an_http_proxy_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 25"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(weights(&proxy, 0), split(100, 0), "{proxy}");
    let route = &proxy["spec"]["routes"][0];
    assert_eq!(route["conditions"], json!([{"prefix": "/"}]));
    assert_eq!(
        route["timeoutPolicy"],
        json!({"response": "15s", "idle": "5m"})
    );
    assert_eq!(
        route["retryPolicy"],
        json!({"count": 3, "perTryTimeout": "5s", "retryOn": ["5xx"]})
    );
    h.eventually("Contour's status", Duration::from_secs(10), async || {
        let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
        if proxy["status"]["currentStatus"] == "valid" {
            Ok(())
        } else {
            Err(proxy.to_string())
        }
    })
    .await;

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(weights(&proxy, 0), split(50, 50), "{proxy}");
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(weights(&proxy, 0), split(100, 0));

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(
        weights(&proxy, 0),
        split(100, 0),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_sends_requests_with_the_header_to_the_canary_for_its_iterations() {
    let mut h = start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "    iterations: 4\n    match:\n      - headers: {x-canary: {exact: insider}}",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.eventually(
        "matching requests routed to the canary",
        Duration::from_secs(30),
        async || {
            let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
            if weights(&proxy, 0) == split(0, 100) {
                Ok(())
            } else {
                Err(proxy.to_string())
            }
        },
    )
    .await;
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(
        proxy["spec"]["routes"][0]["conditions"],
        json!([{"prefix": "/", "header": {"name": "x-canary", "exact": "insider"}}])
    );
    assert_eq!(
        weights(&proxy, 1),
        split(100, 0),
        "everyone else on the primary"
    );
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    let proxy = h.get(PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(weights(&proxy, 0), split(100, 0));
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_contour_tutorial_releases_as_published() {
    let file = "020-Canary-docs__gitbook__tutorials__contour-progressive-delivery.yaml";
    let namespace = "flagger-020";
    let mut h = start(Provider::Contour).await;
    h.start_flagger_tutorial(file, namespace, &[]).await;
    let proxy = h.get_in(namespace, PROXY, "HTTPProxy", "podinfo").await;
    assert_eq!(
        proxy["spec"]["routes"][0]["retryPolicy"]["retryOn"],
        json!(["5xx"])
    );
    h.promote_flagger_tutorial(file, namespace).await;
    h.stop_controller().await;
}
