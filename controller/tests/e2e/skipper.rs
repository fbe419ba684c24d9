//! Releases through the Skipper router: the user's Ingress copied as `<ingress>-canary` with a
//! path to the primary and one to the canary, split by `zalando.org/backend-weights` and
//! switched on and off by its route predicate, judged on Skipper's metrics for the canary's
//! route, and Flagger's Skipper tutorial as published.

use std::time::Duration;

use serde_json::Value;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::istio::{shortened, supporting_objects};
use crate::support::{Harness, PODINFO_DEPLOYMENT, canary_weight, flagger_manifest, image_of};

/// The Ingress of Flagger's tutorial, routing `app.example.com` to the apex Service.
fn ingress(namespace: &str) -> String {
    format!(
        r"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
  namespace: {namespace}
  labels: {{app: podinfo}}
  annotations: {{kubernetes.io/ingress.class: skipper}}
spec:
  rules:
    - host: app.example.com
      http:
        paths:
          - {{pathType: Prefix, path: /, backend: {{service: {{name: podinfo, port: {{number: 80}}}}}}}}
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
  provider: skipper
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  ingressRef: {{apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 80, targetPort: 9898}}
  analysis:
    interval: 2s
    threshold: 2
{analysis}
    metrics:
      - {{name: request-success-rate, interval: 10s, thresholdRange: {{min: 90}}}}
      - {{name: request-duration, interval: 10s, thresholdRange: {{max: 500}}}}
"
    )
}

fn annotation<'a>(ingress: &'a Value, name: &str) -> &'a str {
    ingress["metadata"]["annotations"][format!("zalando.org/{name}")]
        .as_str()
        .unwrap_or_default()
}

async fn canary_ingress(h: &Harness) -> Value {
    h.get("networking.k8s.io/v1", "Ingress", "podinfo-canary")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_behind_a_skipper_ingress_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&ingress("test"));
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 25"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = canary_ingress(&h).await;
    assert_eq!(
        annotation(&copy, "backend-weights"),
        r#"{"podinfo-canary":0,"podinfo-primary":100}"#,
        "{copy}"
    );
    assert_eq!(annotation(&copy, "skipper-predicate"), "False()");
    let paths = &copy["spec"]["rules"][0]["http"]["paths"];
    assert_eq!(paths[0]["backend"]["service"]["name"], "podinfo-primary");
    assert_eq!(paths[1]["backend"]["service"]["name"], "podinfo-canary");

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    let copy = canary_ingress(&h).await;
    assert_eq!(
        annotation(&copy, "backend-weights"),
        r#"{"podinfo-canary":50,"podinfo-primary":50}"#
    );
    assert_eq!(annotation(&copy, "skipper-predicate"), "Weight(100)");
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    assert_eq!(
        annotation(&canary_ingress(&h).await, "skipper-predicate"),
        "False()"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    assert_eq!(
        annotation(&canary_ingress(&h).await, "skipper-predicate"),
        "False()",
        "the copy is switched off, the user's Ingress serves"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_skipper_tutorial_releases_as_published() {
    let file = "053-Canary-docs__gitbook__tutorials__skipper-progressive-delivery.yaml";
    let namespace = "flagger-053";
    let mut h = Harness::start(Provider::Kubernetes).await;
    let manifest = shortened(&flagger_manifest(file), namespace);
    h.apply(&supporting_objects(namespace, &h.prometheus_url()));
    h.apply(&ingress(namespace));
    h.apply(&serde_yaml::to_string(&manifest).expect("yaml"));
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(60), |c| {
        c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Initialized)
    })
    .await;
    h.release_in(
        namespace,
        "podinfo",
        "ghcr.io/stefanprodan/podinfo:6.1.0",
        "0.0",
    )
    .await;
    h.wait_until_in(namespace, "podinfo", file, Duration::from_secs(150), |c| {
        c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
    })
    .await;
    let primary = h
        .get_in(namespace, "apps/v1", "Deployment", "podinfo-primary")
        .await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}
