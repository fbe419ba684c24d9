//! How releases behave across events: a controller restart mid-release, a revision that never
//! becomes ready, and a new revision arriving during analysis.

use std::time::Duration;

use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

/// A slow progressive release: five steps two seconds apart.
const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0"}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 8
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 2s
    threshold: 3
    stepWeight: 10
    maxWeight: 50
    metrics:
      - name: request-success-rate
        interval: 10s
        thresholdRange: {min: 90}
"#;

fn weight(c: &serin_crds::Canary) -> u32 {
    c.status.as_ref().and_then(|s| s.canary_weight).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_restarted_mid_release_carries_on_to_promotion() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let before = h
        .wait_until("podinfo", "weight 20", Duration::from_secs(60), |c| {
            weight(c) >= 20
        })
        .await;
    h.stop_controller().await;
    h.start_controller();
    let after = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert_eq!(
        before
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_spec.clone()),
        after
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_spec.clone()),
        "the restarted controller finished the same release instead of starting another"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_never_becomes_ready_is_rolled_back_at_the_deadline() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release_unready("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0")
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(60))
        .await;
    let reasons = h.event_reasons().await;
    assert!(
        reasons.iter().any(|r| r == "ProgressDeadlineExceeded"),
        "events: {reasons:?}"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.0.0"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_during_analysis_restarts_it_and_the_newest_is_promoted() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let first = h
        .wait_until("podinfo", "weight 20", Duration::from_secs(60), |c| {
            weight(c) >= 20
        })
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.0")
        .await;
    let first_attempt = first
        .status
        .as_ref()
        .and_then(|s| s.last_attempted_spec.clone());
    let restarted = h
        .wait_until("podinfo", "a new attempt", Duration::from_secs(30), |c| {
            c.status
                .as_ref()
                .and_then(|s| s.last_attempted_spec.clone())
                != first_attempt
        })
        .await;
    assert!(
        weight(&restarted) <= 10,
        "analysis restarted from the first step, at weight {}",
        weight(&restarted)
    );
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.2.0"
    );
    h.stop_controller().await;
}
