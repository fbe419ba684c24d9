//! Tracked ConfigMaps and Secrets: the primary runs on `-primary` copies of them, and a change
//! to one is a release of its own, noticed at once and promoted like a new pod template.

use std::time::Duration;

use serde_json::json;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

const PODINFO: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: podinfo-config, namespace: test}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: podinfo-token, namespace: test}
data: {token: b25l}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-untracked
  namespace: test
  annotations: {flagger.app/config-tracking: disabled}
data: {level: info}
---
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
      containers:
        - name: podinfo
          image: "ghcr.io/stefanprodan/podinfo:6.0.0"
          envFrom: [{configMapRef: {name: podinfo-config}}, {configMapRef: {name: podinfo-untracked}}]
          volumeMounts: [{name: token, mountPath: /token}]
      volumes: [{name: token, secret: {secretName: podinfo-token}}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 60
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 1s
    threshold: 2
    maxWeight: 50
    stepWeight: 50
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_map_is_released_to_the_primarys_copy() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(PODINFO);
    let initialized = h
        .wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = h.get("v1", "ConfigMap", "podinfo-config-primary").await;
    assert_eq!(copy["data"], json!({"color": "blue"}));
    assert_eq!(copy["metadata"]["ownerReferences"][0]["kind"], "Canary");
    let secret = h.get("v1", "Secret", "podinfo-token-primary").await;
    assert_eq!(secret["data"], json!({"token": "b25l"}));
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    let spec = &primary["spec"]["template"]["spec"];
    assert_eq!(
        spec["containers"][0]["envFrom"],
        json!([{"configMapRef": {"name": "podinfo-config-primary"}},
               {"configMapRef": {"name": "podinfo-untracked"}}]),
        "tracked configs are renamed, an opted-out one is shared"
    );
    assert_eq!(
        spec["volumes"][0]["secret"]["secretName"],
        "podinfo-token-primary"
    );

    h.patch(
        "v1",
        "ConfigMap",
        "podinfo-config",
        &json!({"data": {"color": "green"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let promoted = h
        .wait_until(
            "podinfo",
            "a new release promoted",
            Duration::from_secs(60),
            |c| {
                let status = c.status.as_ref();
                status.and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
                    && status.and_then(|s| s.last_attempted_spec.as_ref())
                        != initialized
                            .status
                            .as_ref()
                            .and_then(|s| s.last_attempted_spec.as_ref())
            },
        )
        .await;
    let copy = h.get("v1", "ConfigMap", "podinfo-config-primary").await;
    assert_eq!(copy["data"], json!({"color": "green"}), "promoted");

    // Steady state: every tick (one a second) reads the target, its primary, both configs and
    // the HTTPRoute from watch caches, none from the API.
    let before = h.controller_reads();
    assert!(
        before.contains_key("configmaps") && before.contains_key("httproutes"),
        "the first watches listed them: {before:?}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(h.controller_reads(), before, "no reads in 4 ticks");

    // An opted-out config is not tracked: changing it starts nothing.
    h.patch(
        "v1",
        "ConfigMap",
        "podinfo-untracked",
        &json!({"data": {"level": "debug"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(1))
        .await;
    let applied =
        |c: &serin_crds::Canary| c.status.as_ref().and_then(|s| s.last_applied_spec.clone());
    assert_eq!(applied(&later), applied(&promoted));
    h.stop_controller().await;
}
