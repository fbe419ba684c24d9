//! Blue/green releases with plain Kubernetes Services: the canary is tested on `podinfo-canary`
//! for a number of iterations, then promoted, or rolled back when its checks fail.

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
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{containerPort: 9898}]}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 60
  service: {port: 9898}
  analysis:
    interval: 2s
    threshold: 2
    iterations: 3
    metrics:
      - name: request-success-rate
        interval: 10s
        thresholdRange: {min: 90}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_promotes_a_healthy_revision_and_rolls_back_a_bad_one() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let apex = h.get("v1", "Service", "podinfo").await;
    assert_eq!(
        apex["spec"]["selector"]["app"], "podinfo-primary",
        "the apex Service serves the primary"
    );
    let canary_service = h.get("v1", "Service", "podinfo-canary").await;
    assert_eq!(canary_service["spec"]["selector"]["app"], "podinfo");

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert_eq!(done.status.as_ref().and_then(|s| s.failed_checks), Some(0));
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );
    let target = h.get("apps/v1", "Deployment", "podinfo").await;
    assert_eq!(
        target["spec"]["replicas"], 0,
        "the failed canary is scaled to zero"
    );

    // serin's own writes (initialization took over the apex Service, releases changed nothing
    // in the Services) were never mistaken for someone else's.
    assert!(
        !h.event_reasons()
            .await
            .iter()
            .any(|r| r == "ServicesRestored"),
        "a repair without drift: {:?}",
        h.event_reasons().await
    );

    // Someone points the apex Service at the canary's pods and deletes the canary Service:
    // both are put back at the next tick.
    h.patch(
        "v1",
        "Service",
        "podinfo",
        &serde_json::json!({"spec": {"selector": {"app": "podinfo"}}}),
    )
    .await;
    let services: kube::Api<k8s_openapi::api::core::v1::Service> =
        kube::Api::namespaced(h.client.clone(), "test");
    services
        .delete("podinfo-canary", &kube::api::DeleteParams::default())
        .await
        .expect("delete the canary Service");
    let selector = |s: Option<k8s_openapi::api::core::v1::Service>| {
        s.and_then(|s| s.spec?.selector?.get("app").cloned())
    };
    h.eventually(
        "the Services restored",
        Duration::from_secs(15),
        async || {
            let apex = selector(services.get_opt("podinfo").await.expect("get"));
            let canary = selector(services.get_opt("podinfo-canary").await.expect("get"));
            if apex.as_deref() == Some("podinfo-primary") && canary.as_deref() == Some("podinfo") {
                Ok(())
            } else {
                Err(format!("apex selects {apex:?}, canary selects {canary:?}"))
            }
        },
    )
    .await;
    assert!(
        h.event_reasons()
            .await
            .iter()
            .any(|r| r == "ServicesRestored")
    );
    h.stop_controller().await;
}
