//! Releases through the NGINX router: the user's Ingress copied as `<ingress>-canary` with
//! ingress-nginx's canary annotations, judged on NGINX's own metrics (which count the primary's
//! and the canary's requests through the Ingress together), A/B testing by header and cookie,
//! and Flagger's NGINX tutorial as published.

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
  annotations: {{kubernetes.io/ingress.class: nginx}}
spec:
  rules:
    - host: app.example.com
      http:
        paths:
          - {{pathType: Prefix, path: /, backend: {{service: {{name: podinfo, port: {{number: 80}}}}}}}}
"
    )
}

/// A Canary for podinfo behind its Ingress, with `analysis` settings added.
fn canary(analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: nginx
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  ingressRef: {{apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 80, targetPort: 9898}}
  analysis:
    interval: 2s
    threshold: 2
{analysis}
    metrics:
      - {{name: request-success-rate, interval: 6s, thresholdRange: {{min: 95}}}}
      - {{name: request-duration, interval: 6s, thresholdRange: {{max: 500}}}}
"
    )
}

const NGINX: &str = "nginx.ingress.kubernetes.io";

fn annotation<'a>(ingress: &'a Value, name: &str) -> Option<&'a str> {
    ingress["metadata"]["annotations"][format!("{NGINX}/{name}")].as_str()
}

async fn canary_ingress(h: &Harness) -> Value {
    h.get("networking.k8s.io/v1", "Ingress", "podinfo-canary")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_behind_an_ingress_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&ingress("test"));
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 10"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let copy = canary_ingress(&h).await;
    assert_eq!(annotation(&copy, "canary"), Some("true"), "{copy}");
    assert_eq!(annotation(&copy, "canary-weight"), Some("0"));
    assert_eq!(
        copy["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "podinfo-canary"
    );
    assert_eq!(copy["metadata"]["ownerReferences"][0]["kind"], "Canary");
    let users = h.get("networking.k8s.io/v1", "Ingress", "podinfo").await;
    assert_eq!(
        users["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "podinfo",
        "the user's Ingress is left alone"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 30", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(30)
    })
    .await;
    h.eventually(
        "weight 30 on the Ingress",
        Duration::from_secs(10),
        async || {
            let copy = canary_ingress(&h).await;
            match annotation(&copy, "canary-weight") {
                Some("30" | "40" | "50") => Ok(()),
                _ => Err(copy.to_string()),
            }
        },
    )
    .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    assert_eq!(
        annotation(&canary_ingress(&h).await, "canary-weight"),
        Some("0")
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "1.0")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    assert_eq!(
        annotation(&canary_ingress(&h).await, "canary-weight"),
        Some("0"),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_sends_requests_with_the_header_or_cookie_to_the_canary_for_its_iterations() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&ingress("test"));
    h.apply(&canary(
        "    iterations: 4\n    match:\n      - headers: {x-canary: {exact: insider}}\n      - headers: {cookie: {exact: canary}}",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.eventually(
        "the canary selected by header and cookie",
        Duration::from_secs(30),
        async || {
            let copy = canary_ingress(&h).await;
            let selected = annotation(&copy, "canary-by-header") == Some("x-canary")
                && annotation(&copy, "canary-by-header-value") == Some("insider")
                && annotation(&copy, "canary-by-cookie") == Some("canary")
                && annotation(&copy, "canary-weight") == Some("0");
            if selected {
                Ok(())
            } else {
                Err(copy.to_string())
            }
        },
    )
    .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    let copy = canary_ingress(&h).await;
    assert_eq!(
        annotation(&copy, "canary-by-header"),
        None,
        "the header selection is removed after the test: {copy}"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ingress_is_named_and_the_canary_starts_once_it_exists() {
    let mut h = Harness::start(Provider::Kubernetes).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary("    maxWeight: 50\n    stepWeight: 10"));
    h.wait_until(
        "podinfo",
        "a condition naming the Ingress",
        Duration::from_secs(30),
        |c| {
            let conditions = c.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.into_iter().flatten().any(|cond| {
                let message = cond.message.as_deref().unwrap_or_default();
                cond.type_ == "Stalled"
                    && cond.reason == "ReferenceNotFound"
                    && message.contains("Ingress.networking.k8s.io podinfo")
                    && message.contains("spec.ingressRef")
            })
        },
    )
    .await;
    h.apply(&ingress("test"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_nginx_tutorial_releases_as_published() {
    let file = "048-Canary-docs__gitbook__tutorials__nginx-progressive-delivery.yaml";
    let namespace = "flagger-048";
    let mut h = Harness::start(Provider::Nginx).await;
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
