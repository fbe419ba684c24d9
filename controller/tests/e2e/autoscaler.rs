//! A target with a HorizontalPodAutoscaler: the primary gets its own copy, scaling the primary.

use std::time::Duration;

use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 2
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec: {containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0"}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: podinfo, namespace: test}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  minReplicas: 2
  maxReplicas: 4
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  autoscalerRef:
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    name: podinfo
    primaryScalerReplicas: {minReplicas: 3, maxReplicas: 6}
  service: {port: 9898}
  analysis: {interval: 2s, threshold: 2, iterations: 1}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_gets_its_own_autoscaler() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let hpa = h
        .get(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "podinfo-primary",
        )
        .await;
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "podinfo-primary");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 6);
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu");
    let target_hpa = h
        .get("autoscaling/v2", "HorizontalPodAutoscaler", "podinfo")
        .await;
    assert_eq!(
        target_hpa["spec"]["scaleTargetRef"]["name"], "podinfo",
        "the target's own is untouched"
    );
    h.stop_controller().await;
}
