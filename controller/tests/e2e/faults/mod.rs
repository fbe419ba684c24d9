//! The fault suite: releases through the Gateway API router while the API server answers 10%
//! of the controller's requests with 500, 429 or 409, adds latency, drops watches, and for a
//! while fails every Canary status write. Healthy releases must still be promoted and bad ones
//! rolled back; the write audit must show the canary weight in the route never above the
//! current step or `maxWeight`, moving one step at a time; no alert or webhook may be sent
//! twice for one event.
//!
//! The fault timings and the latency come from a seeded RNG; each test prints its seed, and
//! `SERIN_FAULTS_SEED=<seed>` replays them. Which requests fail is drawn by the emulator's own
//! unseeded RNG, so a replay is close, not identical.

mod receiver;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::AuditEntry;
use serin_sim::faults::{FailingWrite, FaultConfig};

use crate::support::Harness;
use receiver::{Receiver, assert_each_sent_once};

const STEP: u64 = 10;
const MAX_WEIGHT: u64 = 30;
const THRESHOLD: usize = 2;

/// A Deployment and its Canary analysed every second in steps of 10% up to 30%, with
/// alerts, event hooks and pre-/post-rollout hooks sent to `receiver`.
fn podinfo(receiver: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo, namespace: test, labels: {{app: podinfo}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: podinfo}}}}
  template:
    metadata:
      labels: {{app: podinfo}}
      annotations: {{sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}}
    spec:
      containers: [{{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{{containerPort: 9898}}]}}]
---
apiVersion: flagger.app/v1beta1
kind: AlertProvider
metadata: {{name: receiver, namespace: test}}
spec: {{type: generic, address: "{receiver}/alert"}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: gatewayapi:v1
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service:
    port: 9898
    gatewayRefs: [{{name: public, namespace: gateway}}]
  analysis:
    interval: 1s
    threshold: {THRESHOLD}
    maxWeight: {MAX_WEIGHT}
    stepWeight: {STEP}
    alerts: [{{name: receiver, providerRef: {{name: receiver}}}}]
    webhooks:
      - {{name: events, type: event, url: "{receiver}/event"}}
      - {{name: before, type: pre-rollout, url: "{receiver}/pre"}}
      - {{name: after, type: post-rollout, url: "{receiver}/post"}}
    metrics:
      - name: request-success-rate
        interval: 5s
        thresholdRange: {{min: 99}}
        onNoData: Hold
        onError: Hold
"#
    )
}

fn seeded_rng(test: &str) -> StdRng {
    let seed = std::env::var("SERIN_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .subsec_nanos();
            u64::from(nanos)
        });
    println!("{test}: SERIN_FAULTS_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// 10% of the controller's requests fail (500, 429, 409), each takes 20-50 ms longer, and a
/// watch is closed after 5% of the events it delivers.
fn flaky_api(rng: &mut StdRng) -> FaultConfig {
    FaultConfig {
        error_500: 0.04,
        error_429: 0.03,
        conflict_409: 0.03,
        latency: Duration::from_millis(rng.random_range(20..50)),
        watch_drop: 0.05,
        user_agent_prefix: Some("serin/".into()),
        ..FaultConfig::default()
    }
}

/// The harness, the receiver, and the Canary initialized, with the API flaky from the start.
async fn started(rng: &mut StdRng) -> (Harness, Receiver) {
    let (receiver, url) = Receiver::start().await;
    let h = Harness::start(Provider::GatewayApiV1).await;
    h.server().audit_objects_of("httproutes");
    h.server().faults().set(flaky_api(rng));
    h.apply(&podinfo(&url));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(40))
        .await;
    (h, receiver)
}

/// While the release runs: watches dropped at random points, and every Canary status write
/// failing for two seconds once the canary has traffic.
async fn disturb(h: &Harness, rng: &mut StdRng) {
    h.wait_until(
        "podinfo",
        "the canary at 10%",
        Duration::from_secs(40),
        |c| {
            c.status
                .as_ref()
                .and_then(|s| s.canary_weight)
                .is_some_and(|w| w >= 10)
        },
    )
    .await;
    let flaky = h.server().faults().config();
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..800))).await;
    h.server().faults().drop_all_watches();
    h.server().faults().set(FaultConfig {
        failing_writes: vec![FailingWrite {
            resource: "canaries".into(),
            subresource: Some("status".into()),
            code: 500,
        }],
        ..flaky.clone()
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.server().faults().set(flaky);
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..800))).await;
    h.server().faults().drop_all_watches();
}

/// The canary's weight in an audited HTTPRoute write; `None` when it has no canary backend.
fn canary_weight(entry: &AuditEntry) -> Option<u64> {
    let rules = entry.object.as_ref()?["spec"]["rules"].as_array()?.clone();
    rules
        .iter()
        .filter_map(|r| r["backendRefs"].as_array())
        .flatten()
        .find(|b| b["name"] == "podinfo-canary")
        .map(|b| b["weight"].as_u64().unwrap_or(1))
}

/// Checks the controller's HTTPRoute writes in order: the canary's weight never exceeds
/// `maxWeight`, rises by at most one step, and only falls back to zero. Returns the weights.
fn assert_weights_step_by_step(h: &Harness) -> Vec<u64> {
    let weights: Vec<u64> = h
        .server()
        .audit()
        .iter()
        .filter(|e| e.resource == "httproutes" && e.user_agent.starts_with("serin/"))
        .filter_map(canary_weight)
        .collect();
    for pair in weights.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        assert!(
            after <= MAX_WEIGHT,
            "weight {after} over maxWeight: {weights:?}"
        );
        assert!(
            after <= before + STEP,
            "weight {before} -> {after} skips a step: {weights:?}"
        );
        assert!(
            after >= before || after == 0,
            "weight {before} -> {after} falls but not to zero: {weights:?}"
        );
    }
    println!("route weights written: {weights:?}");
    weights
}

/// The checks shared by every release: weights, and no announcement twice.
fn assert_no_repeats(h: &Harness, receiver: &Receiver) {
    let weights = assert_weights_step_by_step(h);
    assert!(
        weights.contains(&10),
        "the release reached the route: {weights:?}"
    );
    let alerts = assert_each_sent_once(receiver, "/alert", THRESHOLD);
    let events = assert_each_sent_once(receiver, "/event", THRESHOLD);
    assert!(alerts > 0 && events > 0, "alerts {alerts}, events {events}");
    assert_hook_ran(receiver, "/pre");
}

/// Asserts that a once-per-release hook ran exactly once, even when the status write of the
/// tick that ran it failed (the next tick writes that tick's status instead of asking again).
fn assert_hook_ran(receiver: &Receiver, path: &str) {
    let calls: usize = receiver.counts(path).values().sum();
    assert_eq!(calls, 1, "{path} hook calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_release_is_promoted_step_by_step_despite_api_faults() {
    let mut rng = seeded_rng("promote");
    let (mut h, receiver) = started(&mut rng).await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    disturb(&h, &mut rng).await;
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(60))
        .await;
    assert_eq!(done.status.and_then(|s| s.failed_checks), Some(0));
    // Alerts and hooks are sent on their own tasks, after the status write.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_no_repeats(&h, &receiver);
    assert!(assert_weights_step_by_step(&h).contains(&MAX_WEIGHT));
    assert_hook_ran(&receiver, "/post");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_release_is_rolled_back_despite_api_faults() {
    let mut rng = seeded_rng("rollback");
    let (mut h, receiver) = started(&mut rng).await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.5")
        .await;
    disturb(&h, &mut rng).await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(60))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.0.0"
    );
    assert!(
        failed
            .status
            .is_some_and(|s| s.canary_weight.unwrap_or(0) == 0)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_no_repeats(&h, &receiver);
    assert_eq!(assert_weights_step_by_step(&h).last(), Some(&0));
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_outage_under_on_error_hold_holds_then_promotes_despite_api_faults() {
    let mut rng = seeded_rng("prometheus");
    let (mut h, receiver) = started(&mut rng).await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until(
        "podinfo",
        "the canary at 10%",
        Duration::from_secs(40),
        |c| {
            c.status
                .as_ref()
                .and_then(|s| s.canary_weight)
                .is_some_and(|w| w >= 10)
        },
    )
    .await;
    h.stop_prometheus();
    let held = h
        .wait_until(
            "podinfo",
            "a provider error hold",
            Duration::from_secs(30),
            |c| {
                c.status
                    .as_ref()
                    .is_some_and(|s| s.provider_error_since.is_some())
            },
        )
        .await;
    let held = held.status.expect("status");
    let later = held
        .last_analysis_time
        .map(|t| t + chrono::Duration::seconds(3));
    let still = h
        .wait_until(
            "podinfo",
            "three more steps held",
            Duration::from_secs(30),
            |c| c.status.as_ref().and_then(|s| s.last_analysis_time) >= later,
        )
        .await;
    let still = still.status.expect("status");
    assert_eq!(still.phase, Some(CanaryPhase::Progressing));
    assert_eq!(still.canary_weight, held.canary_weight, "the weight holds");
    assert_eq!(still.failed_checks, Some(0), "no failed check counted");
    h.restart_prometheus();
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(60))
        .await;
    let status = done.status.expect("status");
    assert_eq!(status.failed_checks, Some(0));
    assert_eq!(status.provider_error_since, None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_weights_step_by_step(&h);
    assert_each_sent_once(&receiver, "/alert", THRESHOLD);
    h.stop_controller().await;
}
