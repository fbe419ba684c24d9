//! Releases through the Gloo router on a cluster with Gloo's CRDs: Upstreams for the primary
//! and canary Services and a RouteTable with weighted destinations to them, judged on Envoy's
//! metrics for the canary's cluster, A/B testing by header, and Flagger's Gloo tutorial as
//! published.

use std::time::Duration;

use serde_json::{Value, json};
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{Harness, PODINFO_DEPLOYMENT, canary_weight, image_of};

const GLOO_CRDS: &[&str] = &[
    "gloo/gateway.solo.io_v1_RouteTable.yaml",
    "gloo/gloo.solo.io_v1_Upstream.yaml",
];

const PRIMARY_UPSTREAM: &str = "test-podinfo-primaryupstream-80";
const CANARY_UPSTREAM: &str = "test-podinfo-canaryupstream-80";

fn canary(analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: gloo
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

async fn route_table(h: &Harness) -> Value {
    h.get("gateway.solo.io/v1", "RouteTable", "podinfo").await
}

/// The weights of the route's destinations, by Upstream (absent weights as 0).
fn weights(table: &Value) -> Vec<(String, i64)> {
    table["spec"]["routes"][0]["routeAction"]["multi"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["destination"]["upstream"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                d["weight"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

fn split(primary: i64, canary: i64) -> Vec<(String, i64)> {
    vec![
        (PRIMARY_UPSTREAM.to_owned(), primary),
        (CANARY_UPSTREAM.to_owned(), canary),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_through_a_route_table_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = Harness::start_with_mesh_crds(Provider::Kubernetes, GLOO_CRDS).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 10"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let upstream = h.get("gloo.solo.io/v1", "Upstream", CANARY_UPSTREAM).await;
    assert_eq!(
        upstream["spec"]["kube"],
        json!({"serviceName": "podinfo-canary", "serviceNamespace": "test", "servicePort": 80})
    );
    let table = route_table(&h).await;
    assert_eq!(weights(&table), split(100, 0), "{table}");
    h.eventually(
        "the RouteTable accepted",
        Duration::from_secs(10),
        async || {
            let table = route_table(&h).await;
            if table["status"]["statuses"]["gloo-system"]["state"] == "Accepted" {
                Ok(())
            } else {
                Err(table.to_string())
            }
        },
    )
    .await;

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    assert_eq!(weights(&route_table(&h).await), split(50, 50));
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    assert_eq!(weights(&route_table(&h).await), split(100, 0));

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    assert_eq!(
        weights(&route_table(&h).await),
        split(100, 0),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_sends_requests_with_the_header_to_the_canary_for_its_iterations() {
    let mut h = Harness::start_with_mesh_crds(Provider::Kubernetes, GLOO_CRDS).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "    iterations: 4\n    match:\n      - headers: {x-canary: {exact: insider}}",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let table = route_table(&h).await;
    assert_eq!(
        table["spec"]["routes"][0]["matchers"],
        json!([{"headers": [{"name": "x-canary", "value": "insider"}]}])
    );
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.eventually(
        "matching requests routed to the canary",
        Duration::from_secs(30),
        async || {
            let table = route_table(&h).await;
            if weights(&table) == split(0, 100) {
                Ok(())
            } else {
                Err(table.to_string())
            }
        },
    )
    .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    assert_eq!(weights(&route_table(&h).await), split(100, 0));
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_gloo_tutorial_releases_as_published() {
    let file = "032-Canary-docs__gitbook__tutorials__gloo-progressive-delivery.yaml";
    let namespace = "flagger-032";
    let mut h = Harness::start_with_mesh_crds(Provider::Kubernetes, GLOO_CRDS).await;
    h.start_flagger_tutorial(file, namespace, &[]).await;
    let table = h
        .get_in(namespace, "gateway.solo.io/v1", "RouteTable", "podinfo")
        .await;
    assert_eq!(
        table["spec"]["routes"][0]["routeAction"]["multi"]["destinations"][0]["destination"]["upstream"]
            ["name"],
        "flagger-032-podinfo-primaryupstream-9898"
    );
    h.promote_flagger_tutorial(file, namespace).await;
    h.stop_controller().await;
}
