//! Releases through the Istio router on a cluster with Istio's CRDs: weighted steps behind a
//! gateway, A/B testing, mirroring, session affinity, blue/green, a user's VirtualService taken
//! over and given back, routes istiod never reconciles, and Flagger's own Istio manifests as
//! published.

use std::time::Duration;

use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};
use serin_controller::demo::ClusterOptions;
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{
    Harness, PODINFO_DEPLOYMENT, canary_weight, flagger_manifest, image_of, mesh_crds,
};

const VS: &str = "networking.istio.io/v1beta1";

/// A Canary for podinfo with `service` and `analysis` settings added to the defaults below.
fn canary(service: &str, analysis: &str) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: istio
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service:
    port: 9898
{service}
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

async fn start(istio_status: bool) -> Harness {
    let options = ClusterOptions {
        crds: vec![mesh_crds("istio/networking-crds.yaml")],
        istio_status,
    };
    Harness::start_cluster(Provider::Istio, options, |_| {}).await
}

/// The weights of a VirtualService's HTTP route `index`, by destination host.
fn weights(vs: &Value, index: usize) -> Vec<(String, i64)> {
    vs["spec"]["http"][index]["route"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["destination"]["host"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r["weight"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn split(primary: i64, canary: i64) -> Vec<(String, i64)> {
    vec![
        ("podinfo-primary".to_owned(), primary),
        ("podinfo-canary".to_owned(), canary),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_behind_a_gateway_is_promoted_in_steps_and_a_bad_one_rolled_back() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "    gateways: [istio-system/public-gateway, mesh]\n    hosts: [app.example.com]\n    trafficPolicy: {tls: {mode: DISABLE}}\n    retries: {attempts: 3, perTryTimeout: 1s}\n    timeout: 5s",
        "    maxWeight: 50\n    stepWeight: 25",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(
        vs["spec"]["hosts"],
        json!(["app.example.com", "podinfo"]),
        "{vs}"
    );
    assert_eq!(
        vs["spec"]["gateways"],
        json!(["istio-system/public-gateway", "mesh"])
    );
    assert_eq!(weights(&vs, 0), split(100, 0));
    assert_eq!(vs["spec"]["http"][0]["timeout"], "5s");
    assert_eq!(vs["spec"]["http"][0]["retries"]["attempts"], 3);
    for name in ["podinfo-primary", "podinfo-canary"] {
        let rule = h.get(VS, "DestinationRule", name).await;
        assert_eq!(rule["spec"]["host"], name);
        assert_eq!(rule["spec"]["trafficPolicy"]["tls"]["mode"], "DISABLE");
    }

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(weights(&vs, 0), split(50, 50), "{vs}");
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(weights(&vs, 0), split(100, 0));

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(
        weights(&vs, 0),
        split(100, 0),
        "traffic back on the primary"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ab_test_sends_matching_requests_to_the_canary_for_its_iterations() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "    match: [{uri: {prefix: /}}]",
        "    iterations: 4\n    match:\n      - headers: {x-canary: {exact: insider}}\n      - headers: {cookie: {regex: \"^(.*?;)?(type=insider)(;.*)?$\"}}",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Progressing, Duration::from_secs(30))
        .await;
    h.eventually(
        "matching requests routed to the canary",
        Duration::from_secs(30),
        async || {
            let vs = h.get(VS, "VirtualService", "podinfo").await;
            if weights(&vs, 0) == split(0, 100) {
                Ok(())
            } else {
                Err(vs.to_string())
            }
        },
    )
    .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    // One route per A/B condition, each also under the service's own match.
    let matches = &vs["spec"]["http"][0]["match"];
    assert_eq!(
        matches,
        &json!([
            {"headers": {"x-canary": {"exact": "insider"}}, "uri": {"prefix": "/"}},
            {"headers": {"cookie": {"regex": "^(.*?;)?(type=insider)(;.*)?$"}}, "uri": {"prefix": "/"}},
        ]),
        "{vs}"
    );
    assert_eq!(
        weights(&vs, 1),
        vec![("podinfo-primary".to_owned(), 100)],
        "everyone else stays on the primary"
    );
    let done = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert!(
        done.status
            .as_ref()
            .is_some_and(|s| s.iterations == Some(0) || s.iterations.is_none()),
        "iterations reset after promotion: {:?}",
        done.status
    );
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(weights(&vs, 0), split(100, 0));
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirroring_copies_a_share_of_the_requests_to_the_canary_before_shifting() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "",
        "    iterations: 3\n    mirror: true\n    mirrorWeight: 40",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.eventually("the mirror set up", Duration::from_secs(30), async || {
        let vs = h.get(VS, "VirtualService", "podinfo").await;
        let http = &vs["spec"]["http"][0];
        if http["mirror"]["host"] == "podinfo-canary"
            && http["mirrorPercentage"]["value"] == 40.0
            && weights(&vs, 0) == split(100, 0)
        {
            Ok(())
        } else {
            Err(vs.to_string())
        }
    })
    .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert!(
        vs["spec"]["http"][0].get("mirror").is_none(),
        "no mirror once promoted: {vs}"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_affinity_keeps_canary_users_there_and_expires_their_cookie_after() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    h.apply(&canary(
        "",
        "    maxWeight: 50\n    stepWeight: 25\n    sessionAffinity: {cookieName: flagger-cookie, maxAge: 21600}",
    ));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let progressing = h
        .wait_until(
            "podinfo",
            "a step with a cookie",
            Duration::from_secs(60),
            |c| {
                canary_weight(c).is_some_and(|w| w > 0)
                    && c.status
                        .as_ref()
                        .is_some_and(|s| s.session_affinity_cookie.is_some())
            },
        )
        .await;
    let cookie = progressing
        .status
        .and_then(|s| s.session_affinity_cookie)
        .unwrap_or_default();
    assert!(cookie.starts_with("flagger-cookie="), "{cookie}");
    h.eventually(
        "the sticky route in place",
        Duration::from_secs(20),
        async || {
            let vs = h.get(VS, "VirtualService", "podinfo").await;
            let sticky = &vs["spec"]["http"][0];
            let set_cookie =
                vs["spec"]["http"][1]["route"][1]["headers"]["response"]["add"]["Set-Cookie"]
                    .as_str()
                    .unwrap_or_default();
            if sticky["name"] == "sticky-route"
                && weights(&vs, 0) == split(0, 100)
                && set_cookie.starts_with(&format!("{cookie}; Max-Age=21600"))
            {
                Ok(())
            } else {
                Err(vs.to_string())
            }
        },
    )
    .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    let expiring = &vs["spec"]["http"][0];
    assert_eq!(expiring["name"], "sticky-route", "{vs}");
    let set_cookie = expiring["headers"]["response"]["add"]["Set-Cookie"]
        .as_str()
        .unwrap_or_default();
    assert!(
        set_cookie.starts_with(&format!("{cookie}; Max-Age=-1")),
        "the canary's cookie is expired after the run: {set_cookie}"
    );
    assert_eq!(weights(&vs, 0), split(100, 0));
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_keeps_the_primary_serving_until_it_switches_everything() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    // Users stay on the primary, so the canary is judged by what a load test sends it
    // directly; here the analysis is the iterations alone.
    let yaml = canary("", "    iterations: 3");
    let yaml = yaml
        .split("    metrics:")
        .next()
        .unwrap_or_default()
        .to_owned();
    h.apply(&yaml);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    h.wait_until(
        "podinfo",
        "the first iteration",
        Duration::from_secs(60),
        |c| {
            c.status
                .as_ref()
                .and_then(|s| s.iterations)
                .is_some_and(|i| i >= 1)
        },
    )
    .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(
        weights(&vs, 0),
        split(100, 0),
        "the canary is analysed without user traffic"
    );
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_virtual_service_is_taken_over_and_given_back_on_deletion() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    let original = json!({
        "hosts": ["podinfo"],
        "http": [{"route": [{"destination": {"host": "podinfo"}}], "timeout": "7s"}],
    });
    h.apply(&format!(
        "apiVersion: {VS}\nkind: VirtualService\nmetadata: {{name: podinfo, namespace: test, labels: {{team: web}}}}\nspec: {original}\n"
    ));
    let mut canary_yaml = canary("", "    iterations: 2");
    canary_yaml = canary_yaml.replace(
        "  provider: istio\n",
        "  provider: istio\n  revertOnDeletion: true\n",
    );
    h.apply(&canary_yaml);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let vs = h.get(VS, "VirtualService", "podinfo").await;
    assert_eq!(weights(&vs, 0), split(100, 0), "{vs}");
    assert_eq!(vs["metadata"]["labels"]["team"], "web", "{vs}");
    assert!(
        vs["metadata"].get("ownerReferences").is_none(),
        "a taken-over VirtualService is not owned by the Canary: {vs}"
    );
    let kept: Value = serde_json::from_str(
        vs["metadata"]["annotations"]["flagger.kubernetes.io/original-configuration"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(kept, original);

    let canaries: Api<Canary> = Api::namespaced(h.client.clone(), "test");
    canaries
        .delete("podinfo", &DeleteParams::default())
        .await
        .expect("delete");
    h.eventually(
        "the VirtualService given back",
        Duration::from_secs(30),
        async || {
            let gone = canaries.get_opt("podinfo").await.ok().flatten().is_none();
            let vs = h.get(VS, "VirtualService", "podinfo").await;
            if gone && vs["spec"] == original {
                Ok(())
            } else {
                Err(format!("canary gone: {gone}; {vs}"))
            }
        },
    )
    .await;
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_istiod_never_reconciles_hold_the_release_then_roll_it_back() {
    let mut h = start(true).await;
    h.apply(PODINFO_DEPLOYMENT);
    let yaml = canary("", "    maxWeight: 50\n    stepWeight: 25")
        .replace("progressDeadlineSeconds: 60", "progressDeadlineSeconds: 12");
    h.apply(&yaml);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    // From now on istiod reports the VirtualService as still propagating.
    h.patch(
        VS,
        "VirtualService",
        "podinfo",
        &json!({"metadata": {"annotations": {serin_sim::cluster::istiod::STATUS_ANNOTATION: "propagating"}}}),
    )
    .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let held = h
        .wait_until("podinfo", "held on routes", Duration::from_secs(30), |c| {
            c.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .flatten()
                    .any(|c| c.reason == "RoutesPending")
            })
        })
        .await;
    assert_eq!(
        held.status.as_ref().map(|s| s.failed_checks),
        Some(Some(0)),
        "routes not live are not failed checks"
    );
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(60))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    // Events are posted on their own tasks, after the status write that made the Canary Failed.
    h.eventually(
        "a RoutesNotLive event saying the routes never went live",
        Duration::from_secs(10),
        async || {
            let events = h.events().await;
            let rollback = events.iter().find(|(reason, _)| reason == "RoutesNotLive");
            rollback
                .is_some_and(|(_, note)| {
                    note.contains("stillPropagating") || note.contains("propagating")
                })
                .then_some(())
                .ok_or(format!("{events:?}"))
        },
    )
    .await;
    h.stop_controller().await;
}

/// Flagger's published Istio manifests, released as published, with the timings shortened, the
/// webhooks answered by the load tester's gate (their `hey`/`helm` commands need a real cluster
/// network), and what they refer to (an HPA, the `db-connections` template) created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_istio_manifests_release_as_published() {
    const MANIFESTS: [&str; 8] = [
        "002-Canary-README.yaml",
        "003-Canary-artifacts__examples__istio-abtest.yaml",
        "004-Canary-artifacts__examples__istio-canary.yaml",
        "013-Canary-docs__gitbook__faq.yaml",
        "034-Canary-docs__gitbook__tutorials__istio-ab-testing.yaml",
        "035-Canary-docs__gitbook__tutorials__istio-progressive-delivery.yaml",
        "036-Canary-docs__gitbook__tutorials__istio-progressive-delivery.yaml",
        "059-Canary-docs__gitbook__usage__how-it-works.yaml",
    ];
    // As published, the README's Canary names an AlertProvider of namespace `flagger`, which
    // Flagger allows by default and serin only with --no-cross-namespace-refs=false.
    let options = ClusterOptions {
        crds: vec![mesh_crds("istio/networking-crds.yaml")],
        istio_status: true,
    };
    let mut h = Harness::start_cluster(Provider::Istio, options, |c| {
        c.no_cross_namespace_refs = false;
    })
    .await;
    let mut released = Vec::new();
    for file in MANIFESTS {
        let namespace = format!("flagger-{}", &file[..3]);
        let manifest = shortened(&flagger_manifest(file), &namespace);
        h.apply(&supporting_objects(&namespace, &h.prometheus_url()));
        h.apply(&serde_yaml::to_string(&manifest).expect("yaml"));
        released.push((file, namespace, manifest));
    }
    for (file, namespace, manifest) in &released {
        let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
        h.wait_until_in(namespace, name, file, Duration::from_secs(60), |c| {
            c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Initialized)
        })
        .await;
        let service = &manifest["spec"]["service"];
        let apex = service["name"].as_str().unwrap_or("podinfo");
        let vs = h.get_in(namespace, VS, "VirtualService", apex).await;
        if service["delegation"] == json!(true) {
            assert_eq!(vs["spec"]["hosts"], json!([]), "{file}: {vs}");
        } else {
            let mut hosts: Vec<Value> = service["hosts"].as_array().cloned().unwrap_or_default();
            hosts.push(json!(apex));
            assert_eq!(vs["spec"]["hosts"], json!(hosts), "{file}: {vs}");
        }
        h.release_in(
            namespace,
            "podinfo",
            "ghcr.io/stefanprodan/podinfo:6.1.0",
            "0.0",
        )
        .await;
    }
    for (file, namespace, manifest) in &released {
        let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
        h.wait_until_in(namespace, name, file, Duration::from_secs(150), |c| {
            c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
        })
        .await;
        let primary = h
            .get_in(namespace, "apps/v1", "Deployment", "podinfo-primary")
            .await;
        assert_eq!(
            image_of(&primary),
            "ghcr.io/stefanprodan/podinfo:6.1.0",
            "{file}"
        );
    }
    h.stop_controller().await;
}

/// `manifest` in `namespace`, with its analysis every 2 s over 10 s windows, at most 3
/// iterations, and its webhooks pointed at the load tester's gate.
pub(crate) fn shortened(manifest: &str, namespace: &str) -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(manifest).expect("manifest parses");
    let mut canary: Value = serde_json::to_value(yaml).expect("json");
    canary["metadata"]["namespace"] = json!(namespace);
    let analysis = &mut canary["spec"]["analysis"];
    analysis["interval"] = json!("2s");
    if let Some(iterations) = analysis["iterations"].as_u64() {
        analysis["iterations"] = json!(iterations.min(3));
    }
    for metric in analysis["metrics"].as_array_mut().into_iter().flatten() {
        metric["interval"] = json!("10s");
    }
    for hook in analysis["webhooks"].as_array_mut().into_iter().flatten() {
        hook["url"] = json!("http://serin-loadtester.test/gate/approve");
    }
    canary
}

/// What Flagger's manifests expect to find: the namespace, podinfo, its HPA and the
/// `db-connections` MetricTemplate (a constant 50 connections) on the harness's Prometheus.
pub(crate) fn supporting_objects(namespace: &str, prometheus: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo, namespace: {namespace}, labels: {{app: podinfo}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: podinfo}}}}
  template:
    metadata:
      labels: {{app: podinfo}}
      annotations: {{sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}}
    spec:
      containers: [{{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{{containerPort: 9898, name: http}}]}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: podinfo, namespace: {namespace}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  minReplicas: 2
  maxReplicas: 4
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 80}}}}}}]
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: db-connections, namespace: {namespace}}}
spec:
  provider: {{type: prometheus, address: "{prometheus}"}}
  query: vector(50)
"#
    )
}
