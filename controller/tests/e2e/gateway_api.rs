//! Releases through the Gateway API router: a healthy revision is promoted step by step, a
//! revision with a high error rate is rolled back, through an HTTPRoute and, for a gRPC
//! service, through a GRPCRoute.

use std::time::Duration;

use serde_json::{Value, json};
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{self, Harness, RoutingObject};

const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test, labels: {app: podinfo}}
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
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 60
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 25
    metrics:
      - name: request-success-rate
        interval: 10s
        thresholdRange: {min: 90}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_release_is_promoted_and_a_bad_one_rolled_back() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(PODINFO);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await;
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0]["name"],
        "podinfo-primary"
    );
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][0]["weight"], 100);

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );
    let target = h.get("apps/v1", "Deployment", "podinfo").await;
    assert_eq!(
        target["spec"]["replicas"], 0,
        "the canary is scaled to zero after promotion"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(
        failed.status.as_ref().and_then(|s| s.canary_weight),
        Some(0)
    );
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await;
    let rules = route["spec"]["rules"].as_array().expect("rules");
    let weighted = rules.last().expect("weighted rule");
    assert_eq!(
        weighted["backendRefs"][0]["weight"], 100,
        "all traffic back on the primary: {route}"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );

    // Someone sends half the traffic to the failed canary by hand: set back at the next tick.
    let mut rules = rules.clone();
    if let Some(weighted) = rules.last_mut() {
        weighted["backendRefs"][0]["weight"] = 50.into();
        weighted["backendRefs"][1]["weight"] = 50.into();
    }
    h.patch(
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "podinfo",
        &serde_json::json!({"spec": {"rules": rules}}),
    )
    .await;
    h.eventually(
        "the hand-made split undone",
        Duration::from_secs(15),
        async || {
            let route = h
                .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
                .await;
            let weighted = route["spec"]["rules"].as_array().and_then(|r| r.last());
            let weights = weighted.map(|w| {
                (
                    w["backendRefs"][0]["weight"].clone(),
                    w["backendRefs"][1]["weight"].clone(),
                )
            });
            if weights == Some((100.into(), 0.into())) {
                Ok(())
            } else {
                Err(route.to_string())
            }
        },
    )
    .await;
    assert!(
        h.event_reasons()
            .await
            .iter()
            .any(|r| r == "RoutesRestored")
    );
    h.stop_controller().await;
}

/// A gRPC service released through a GRPCRoute, in the steps of [`support::stepped_canary`]:
/// the methods of `podinfo.Echo` are split.
fn grpc_canary() -> String {
    let canary = support::stepped_canary(Provider::GatewayApi).replace(
        "service: {port: 80, targetPort: 9898}",
        "service: {port: 80, targetPort: 9898, appProtocol: grpc, routeKind: GRPCRoute, \
         gatewayRefs: [{name: public, namespace: gateway}], match: [{uri: {prefix: /podinfo.Echo/}}]}",
    );
    assert!(canary.contains("GRPCRoute"), "{canary}");
    canary
}

/// `(primary, canary)` weights of the GRPCRoute's rule.
fn grpc_split(route: &Value) -> (f64, f64) {
    let backends = &route["spec"]["rules"][0]["backendRefs"];
    let of = |name: &str| {
        backends
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["name"] == name)
            .filter_map(|b| b["weight"].as_f64())
            .sum::<f64>()
    };
    (of("podinfo-primary"), of("podinfo-canary"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_service_is_released_through_a_grpc_route() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(support::PODINFO);
    h.apply(&grpc_canary());
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let route = h
        .get("gateway.networking.k8s.io/v1", "GRPCRoute", "podinfo")
        .await;
    assert_eq!(
        route["spec"]["rules"][0]["matches"],
        json!([{"method": {"type": "Exact", "service": "podinfo.Echo"}}]),
        "{route}"
    );
    h.eventually(
        "the emulated Gateway accepts the GRPCRoute",
        Duration::from_secs(10),
        async || {
            let route = h
                .get("gateway.networking.k8s.io/v1", "GRPCRoute", "podinfo")
                .await;
            (route["status"]["parents"][0]["conditions"][0]["type"] == "Accepted")
                .then_some(())
                .ok_or(format!("{route}"))
        },
    )
    .await;
    h.promote_then_roll_back(&RoutingObject {
        api_version: "gateway.networking.k8s.io/v1",
        kind: "GRPCRoute",
        name: "podinfo",
        split: grpc_split,
    })
    .await;
    let services = h.get("v1", "Service", "podinfo").await;
    assert_eq!(services["spec"]["ports"][0]["appProtocol"], "grpc");
}
