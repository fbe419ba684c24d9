//! Releases through the Apache APISIX router on a cluster with APISIX's CRD: the user's
//! ApisixRoute copied as `<route>-<apex>-canary` with weighted primary and canary backends at a
//! priority above the user's, judged on APISIX's metrics for the copy's route, and Flagger's
//! APISIX tutorial as published.

use std::time::Duration;

use serde_json::Value;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{Harness, PODINFO_DEPLOYMENT, canary_weight, image_of};

const APISIX: &str = "apisix.apache.org/v2";

/// The ApisixRoute of Flagger's tutorial, with APISIX's Prometheus plugin.
fn apisix_route(namespace: &str) -> String {
    format!(
        r"
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {{name: podinfo, namespace: {namespace}}}
spec:
  http:
    - name: method
      match: {{hosts: [app.example.com], methods: [GET], paths: [/*]}}
      backends: [{{serviceName: podinfo, servicePort: 80}}]
      plugins: [{{name: prometheus, enable: true, config: {{disable: false, prefer_name: true}}}}]
"
    )
}

fn canary(analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: apisix
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  routeRef: {{apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 80, targetPort: 9898}}
  analysis:
    interval: 2s
    threshold: 2
{analysis}
    metrics:
      - {{name: request-success-rate, interval: 6s, thresholdRange: {{min: 95}}}}
      - {{name: request-duration, interval: 6s, thresholdRange: {{max: 500}}}}
"
    )
}

async fn start() -> Harness {
    Harness::start_with_mesh_crds(Provider::Kubernetes, &["apisix/apisixroutes.yaml"]).await
}

/// The weights of the copy's rule, by Service.
fn weights(route: &Value) -> Vec<(String, i64)> {
    route["spec"]["http"][0]["backends"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            (
                b["serviceName"].as_str().unwrap_or_default().to_owned(),
                b["weight"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn split(primary: i64, canary: i64) -> Vec<(String, i64)> {
    vec![
        ("podinfo-primary".to_owned(), primary),
        ("podinfo-canary".to_owned(), canary),
    ]
}

async fn copy(h: &Harness) -> Value {
    h.get(APISIX, "ApisixRoute", "podinfo-podinfo-canary").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_through_an_apisix_route_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = start().await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&apisix_route("test"));
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 10"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = copy(&h).await;
    assert_eq!(weights(&route), split(100, 0), "{route}");
    assert_eq!(route["spec"]["http"][0]["priority"], 10_000);
    h.eventually("the copy synced", Duration::from_secs(10), async || {
        let route = copy(&h).await;
        if route["status"]["conditions"][0]["reason"] == "ResourcesSynced" {
            Ok(())
        } else {
            Err(route.to_string())
        }
    })
    .await;

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    assert_eq!(weights(&copy(&h).await), split(50, 50));
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    assert_eq!(weights(&copy(&h).await), split(100, 0));

    // APISIX counts the route's requests to both backends together, as NGINX does: a canary
    // failing every request at 10% moves the success rate by 10 points.
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "1.0")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    assert_eq!(
        weights(&copy(&h).await),
        split(100, 0),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_apisix_tutorial_releases_as_published() {
    let file = "018-Canary-docs__gitbook__tutorials__apisix-progressive-delivery.yaml";
    let namespace = "flagger-018";
    let mut h = start().await;
    h.start_flagger_tutorial(file, namespace, &[apisix_route(namespace)])
        .await;
    h.promote_flagger_tutorial(file, namespace).await;
    h.stop_controller().await;
}
