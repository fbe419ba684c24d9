//! Deleting a Canary with `revertOnDeletion`: serin holds the deletion with its finalizer until
//! the target serves again, then lets the Canary go.

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams};
use serin_crds::Canary;
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
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  revertOnDeletion: true
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis: {interval: 2s, threshold: 2, iterations: 2}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_canary_with_revert_on_deletion_gives_the_target_its_traffic_back() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO);
    let canary = h
        .wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    assert_eq!(
        canary.metadata.finalizers,
        Some(vec!["finalizer.flagger.app".to_owned()])
    );
    let target = h.get("apps/v1", "Deployment", "podinfo").await;
    assert_eq!(
        target["spec"]["replicas"], 0,
        "initialized: the primary serves, the target is idle"
    );

    let canaries: Api<Canary> = Api::namespaced(h.client.clone(), "test");
    canaries
        .delete("podinfo", &DeleteParams::default())
        .await
        .expect("delete");
    let deadline = Instant::now() + Duration::from_secs(30);
    while canaries.get_opt("podinfo").await.expect("get").is_some() {
        assert!(
            Instant::now() < deadline,
            "the Canary was never released by its finalizer"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let target = h.get("apps/v1", "Deployment", "podinfo").await;
    assert_eq!(
        target["spec"]["replicas"], 2,
        "the target is scaled back up"
    );
    let apex = h.get("v1", "Service", "podinfo").await;
    assert_eq!(
        apex["spec"]["selector"]["app"], "podinfo",
        "the apex Service selects the target again"
    );
    h.stop_controller().await;
}
