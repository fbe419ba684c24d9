//! Metrics compared with the primary, through the Gateway API router with the simulated
//! traffic scraped by a real Prometheus: a canary failing twice as often as the primary, but
//! well within Flagger's threshold, is rolled back by the comparison; an identical canary is
//! promoted; a Prometheus outage under `onError: Hold` holds the release, which then resumes.

use std::time::Duration;

use serin_crds::canary::{CanaryPhase, ComparisonVerdict, Provider};

use crate::support::Harness;

/// The primary fails `error_rate` of requests. `metrics` are the Canary's metric checks.
fn podinfo(error_rate: &str, metrics: &str) -> String {
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
      annotations: {{sim.serin.dev/error-rate: "{error_rate}", sim.serin.dev/latency-ms: "20"}}
    spec:
      containers: [{{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{{containerPort: 9898}}]}}]
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
    interval: 3s
    threshold: 2
    maxWeight: 50
    stepWeight: 10
    metrics:
{metrics}
"#
    )
}

/// Flagger's threshold (at least 75% successful requests) and the comparison.
const THRESHOLD_AND_COMPARISON: &str = "      - name: request-success-rate
        interval: 10s
        thresholdRange: {min: 75}
        comparison: {}";

async fn started(error_rate: &str, metrics: &str) -> Harness {
    // Windows end one second back: the harness's Prometheus scrapes every 500 ms.
    let h = Harness::start_with(Provider::GatewayApiV1, |c| {
        c.comparison_delay = Duration::from_secs(1);
    })
    .await;
    h.apply(&podinfo(error_rate, metrics));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_failing_twice_as_often_as_the_primary_is_rolled_back_by_the_comparison() {
    let mut h = started("0.08", THRESHOLD_AND_COMPARISON).await;
    // 16% errors against the primary's 8%: 84% success, which the threshold alone accepts.
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.16")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let status = failed.status.expect("status");
    // The first step may miss a scrape of the canary's new pods (a failed check, below the
    // threshold of 2); the rollback is the comparison's.
    assert!(
        status.failed_checks.unwrap_or(0) < 2,
        "rolled back by the verdict, not by failed checks: {}",
        h.traffic_summary().await
    );
    let comparison = status
        .analysis
        .as_ref()
        .and_then(|a| a.comparisons.first())
        .cloned()
        .expect("the comparison in status");
    assert_eq!(comparison.verdict, Some(ComparisonVerdict::Rollback));
    assert!(
        comparison.log_evidence >= comparison.threshold,
        "{comparison:?}"
    );
    h.eventually(
        "a ComparisonRollback event",
        Duration::from_secs(10),
        async || {
            let reasons = h.event_reasons().await;
            if reasons.iter().any(|r| r == "ComparisonRollback") {
                Ok(())
            } else {
                Err(format!("{reasons:?}"))
            }
        },
    )
    .await;
    let events = h.events().await;
    assert!(
        !events
            .iter()
            .any(|(reason, _)| reason == "FailedChecksThresholdReached"),
        "{events:?}"
    );
    let (_, message) = events
        .iter()
        .find(|(reason, _)| reason == "ComparisonRollback")
        .unwrap_or_else(|| panic!("no ComparisonRollback event in {events:?}"));
    assert!(message.contains("the canary's error rate is"), "{message}");
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.0.0"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_failing_as_often_as_the_primary_is_promoted() {
    let mut h = started("0.08", THRESHOLD_AND_COMPARISON).await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.08")
        .await;
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let comparison = done
        .status
        .and_then(|s| s.analysis)
        .and_then(|a| a.comparisons.into_iter().next())
        .expect("the comparison in status");
    assert_eq!(comparison.verdict, Some(ComparisonVerdict::Continue));
    assert!(
        comparison.evidence.is_some_and(|e| e.windows >= 3),
        "evidence gathered over the steps"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_outage_under_on_error_hold_holds_the_release_which_then_resumes() {
    let mut h = started(
        "0.04",
        // The first window may hold no sample of the canary's new pods: a hold, not a failure.
        "      - name: request-success-rate
        onError: Hold
        onNoData: Hold
        comparison: {}",
    )
    .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.04")
        .await;
    h.wait_until(
        "podinfo",
        "the canary at 20%",
        Duration::from_secs(60),
        |c| {
            c.status
                .as_ref()
                .and_then(|s| s.canary_weight)
                .is_some_and(|w| w >= 20)
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
    let held_status = held.status.clone().expect("status");
    let weight = held_status.canary_weight;
    // Several analysis steps into the outage: the weight holds and no check fails.
    let later = held_status
        .last_analysis_time
        .map(|t| t + chrono::Duration::seconds(6));
    let still = h
        .wait_until(
            "podinfo",
            "two more steps during the outage",
            Duration::from_secs(30),
            |c| c.status.as_ref().and_then(|s| s.last_analysis_time) >= later,
        )
        .await;
    let status = still.status.expect("status");
    assert_eq!(status.phase, Some(CanaryPhase::Progressing));
    assert_eq!(status.canary_weight, weight, "the weight holds");
    assert_eq!(status.failed_checks, Some(0));
    assert!(status.provider_error_since.is_some());
    let window_end = status
        .analysis
        .as_ref()
        .and_then(|a| a.comparisons.first())
        .and_then(|c| c.window_end);

    h.restart_prometheus();
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let status = done.status.expect("status");
    assert_eq!(status.failed_checks, Some(0));
    assert_eq!(status.provider_error_since, None);
    let after = status
        .analysis
        .as_ref()
        .and_then(|a| a.comparisons.first())
        .and_then(|c| c.window_end);
    assert!(
        after > window_end,
        "counting resumed: {window_end:?} -> {after:?}"
    );
    assert!(
        h.event_reasons().await.iter().any(|r| r == "ProviderError"),
        "the hold was announced"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_from_metric_templates_roll_back_a_canary_failing_twice_as_often() {
    let mut h = started(
        "0.08",
        "      - name: app-errors
        templateRef: {name: app-requests}
        onNoData: Hold
        comparison:
          requestsTemplateRef: {name: app-requests}
          errorsTemplateRef: {name: app-errors}",
    )
    .await;
    let pods = r#"kubernetes_namespace="test",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)""#;
    let address = h.prometheus_url();
    h.apply(&format!(
        r#"
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: app-requests, namespace: test}}
spec:
  provider: {{type: prometheus, address: "{address}"}}
  query: 'sum(increase(http_request_duration_seconds_count{{{pods}}}[{{{{ interval }}}}]))'
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: app-errors, namespace: test}}
spec:
  provider: {{type: prometheus, address: "{address}"}}
  query: 'sum(increase(http_request_duration_seconds_count{{{pods},status=~"5.."}}[{{{{ interval }}}}]))'
"#
    ));
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.16")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let comparison = failed
        .status
        .and_then(|s| s.analysis)
        .and_then(|a| a.comparisons.into_iter().next())
        .expect("the comparison in status");
    assert_eq!(comparison.verdict, Some(ComparisonVerdict::Rollback));
    // Events are sent after the status is written, on their own task.
    h.eventually(
        "a ComparisonRollback event",
        Duration::from_secs(10),
        async || {
            let reasons = h.event_reasons().await;
            if reasons.iter().any(|r| r == "ComparisonRollback") {
                Ok(())
            } else {
                Err(format!("{reasons:?}"))
            }
        },
    )
    .await;
    h.stop_controller().await;
}
