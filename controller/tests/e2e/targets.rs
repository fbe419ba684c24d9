//! Targets other than Deployments, released through the Gateway API router: a DaemonSet (whose
//! canary is taken off every node between releases) and a plain Service (whose selector change
//! is the release).

use std::time::Duration;

use serde_json::{Value, json};
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

const SCALE_TO_ZERO: &str = "flagger.app/scale-to-zero";

const AGENT: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: test}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata:
      labels: {app: agent}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      containers: [{name: agent, image: "agent:1.0", ports: [{containerPort: 9898}]}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: agent, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: DaemonSet, name: agent}
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

fn image(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]["image"]
}

fn off_every_node(daemonset: &Value) -> bool {
    daemonset["spec"]["template"]["spec"]["nodeSelector"][SCALE_TO_ZERO] == "true"
}

async fn release_agent(h: &Harness, image: &str, error_rate: &str) {
    let patch = json!({"spec": {"template": {
        "metadata": {"annotations": {"sim.serin.dev/error-rate": error_rate}},
        "spec": {"containers": [{"name": "agent", "image": image, "ports": [{"containerPort": 9898}]}]}
    }}});
    h.patch("apps/v1", "DaemonSet", "agent", &patch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemonset_is_released_and_its_canary_leaves_every_node_between_releases() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    h.apply(AGENT);
    h.wait_for_phase("agent", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let primary = h.get("apps/v1", "DaemonSet", "agent-primary").await;
    assert_eq!(
        primary["spec"]["selector"]["matchLabels"]["app"],
        "agent-primary"
    );
    assert_eq!(
        primary["spec"]["template"]["spec"]["nodeSelector"],
        json!({"kubernetes.io/os": "linux"}),
        "the primary keeps the target's own node selector and runs everywhere"
    );
    assert_eq!(image(&primary), "agent:1.0");
    let target = h.get("apps/v1", "DaemonSet", "agent").await;
    assert!(off_every_node(&target), "{target}");
    let canary_service = h.get("v1", "Service", "agent-canary").await;
    assert_eq!(canary_service["spec"]["selector"]["app"], "agent");

    release_agent(&h, "agent:1.1", "0.0").await;
    h.wait_for_phase("agent", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    let target = h.get("apps/v1", "DaemonSet", "agent").await;
    assert!(
        !off_every_node(&target),
        "the canary runs again during the analysis: {target}"
    );
    let done = h
        .wait_for_phase("agent", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert_eq!(done.status.as_ref().and_then(|s| s.failed_checks), Some(0));
    let primary = h.get("apps/v1", "DaemonSet", "agent-primary").await;
    assert_eq!(image(&primary), "agent:1.1");
    assert!(!off_every_node(&primary));
    let target = h.get("apps/v1", "DaemonSet", "agent").await;
    assert!(off_every_node(&target), "scaled to zero after promotion");
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "agent")
        .await;
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][0]["weight"], 100);

    release_agent(&h, "agent:1.2", "0.5").await;
    h.wait_for_phase("agent", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    h.wait_for_phase("agent", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "DaemonSet", "agent-primary").await;
    assert_eq!(
        image(&primary),
        "agent:1.1",
        "the bad revision was not promoted"
    );
    let target = h.get("apps/v1", "DaemonSet", "agent").await;
    assert!(off_every_node(&target), "scaled to zero after the rollback");
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "agent")
        .await;
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][0]["weight"], 100);
    h.stop_controller().await;
}

/// One version of an app as its own Deployment, `podinfo-<colour>`, failing `error_rate` of
/// its requests.
fn colour(colour: &str, error_rate: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo-{colour}, namespace: test}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: podinfo-{colour}}}}}
  template:
    metadata:
      labels: {{app: podinfo-{colour}}}
      annotations: {{sim.serin.dev/error-rate: "{error_rate}", sim.serin.dev/latency-ms: "20"}}
    spec: {{containers: [{{name: podinfo, image: "podinfo:{colour}"}}]}}
---"#
    )
}

/// A Service choosing one of the versions, and its Canary. The built-in metrics find a
/// workload's pods by the target's name, which a Service target's pods do not carry, so the
/// canary is judged by its Service's traffic.
const SERVICE_CANARY: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: podinfo, namespace: test, labels: {team: web}}
spec:
  selector: {app: podinfo-blue}
  ports: [{name: http, port: 9898, targetPort: 9898}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: v1, kind: Service, name: podinfo}
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 25
    metrics:
      - name: canary-success-rate
        templateRef: {name: canary-success-rate}
        interval: 10s
        thresholdRange: {min: 90}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: canary-success-rate, namespace: test}
spec:
  provider: {type: prometheus, address: PROMETHEUS}
  query: |
    sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="{{ namespace }}",
        destination_service_name="{{ service }}-canary", response_code!~"5.*"}[{{ interval }}]))
    /
    sum(rate(istio_requests_total{reporter="destination", destination_workload_namespace="{{ namespace }}",
        destination_service_name="{{ service }}-canary"}[{{ interval }}]))
    * 100
"#;

fn selects(service: &Value) -> &Value {
    &service["spec"]["selector"]["app"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_target_releases_its_new_selector_and_refuses_a_bad_one() {
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    let colours = [("blue", "0.0"), ("green", "0.0"), ("red", "0.5")]
        .map(|(name, error_rate)| colour(name, error_rate))
        .concat();
    h.apply(&(colours + &SERVICE_CANARY.replace("PROMETHEUS", &h.prometheus_url())));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let primary = h.get("v1", "Service", "podinfo-primary").await;
    assert_eq!(selects(&primary), "podinfo-blue");
    assert_eq!(primary["metadata"]["ownerReferences"][0]["kind"], "Canary");
    let canary = h.get("v1", "Service", "podinfo-canary").await;
    assert_eq!(selects(&canary), "podinfo-blue");
    let target = h.get("v1", "Service", "podinfo").await;
    assert!(
        target["metadata"].get("ownerReferences").is_none(),
        "the target Service is never taken over: {target}"
    );
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await;
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0]["name"],
        "podinfo-primary"
    );

    let select = |app: &str| json!({"spec": {"selector": {"app": app}}});
    h.patch("v1", "Service", "podinfo", &select("podinfo-green"))
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    let canary = h.get("v1", "Service", "podinfo-canary").await;
    assert_eq!(
        selects(&canary),
        "podinfo-green",
        "the canary follows the target"
    );
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("v1", "Service", "podinfo-primary").await;
    assert_eq!(selects(&primary), "podinfo-green", "promoted");

    h.patch("v1", "Service", "podinfo", &select("podinfo-red"))
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let primary = h.get("v1", "Service", "podinfo-primary").await;
    assert_eq!(
        selects(&primary),
        "podinfo-green",
        "the bad selector was not promoted"
    );
    let route = h
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await;
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][0]["weight"], 100);
    h.stop_controller().await;
}
