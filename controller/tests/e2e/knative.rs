//! Releases of a Knative Service through its own `spec.traffic`, on the emulator with
//! Knative's Service CRD and the simulated Knative controller: the primary is a revision named
//! in an annotation, a step counts only once `status.traffic` shows it, a healthy revision is
//! promoted and a failing one rolled back, judged by the built-in metrics on Kourier's Envoy
//! series. Flagger's Knative tutorial releases as published.

use std::time::Duration;

use serde_json::{Value, json};
use serin_controller::demo::ClusterOptions;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::cluster::knative::ROUTES_ANNOTATION;

use crate::istio::shortened;
use crate::support::{Harness, canary_weight, flagger_manifest, mesh_crds};

const SERVICE: (&str, &str) = ("serving.knative.dev/v1", "Service");
const PRIMARY_REVISION: &str = "flagger.app/primary-revision";

const KNATIVE_PODINFO: &str = r"
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: podinfo, namespace: test}
spec:
  template:
    spec: {containers: [{image: 'ghcr.io/stefanprodan/podinfo:6.0.0'}]}
";

const CANARY: &str = r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: knative
  targetRef: {apiVersion: serving.knative.dev/v1, kind: Service, name: podinfo}
  progressDeadlineSeconds: 60
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 25
    metrics:
      - {name: request-success-rate, interval: 10s, thresholdRange: {min: 99}}
      - {name: request-duration, interval: 10s, thresholdRange: {max: 500}}
";

async fn start() -> Harness {
    let options = ClusterOptions {
        crds: vec![mesh_crds("knative/service.yaml")],
        istio_status: false,
    };
    Harness::start_cluster(Provider::Kubernetes, options, |_| {}).await
}

/// A new template for the Knative Service `podinfo`: a new revision, answering with
/// `error_rate`.
async fn release(h: &Harness, image: &str, error_rate: &str) {
    let patch = json!({"spec": {"template": {
        "metadata": {"annotations": {"sim.serin.dev/error-rate": error_rate}},
        "spec": {"containers": [{"image": image}]}
    }}});
    h.patch(SERVICE.0, SERVICE.1, "podinfo", &patch).await;
}

async fn service(h: &Harness) -> Value {
    h.get(SERVICE.0, SERVICE.1, "podinfo").await
}

/// `(revision, percent)` of each entry of `traffic`, the latest revision as `latest`.
fn entries(traffic: &Value) -> Vec<(String, i64)> {
    traffic
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let name = if t["latestRevision"] == true {
                "latest".to_owned()
            } else {
                t["revisionName"].as_str().unwrap_or_default().to_owned()
            };
            (name, t["percent"].as_i64().unwrap_or(-1))
        })
        .collect()
}

fn split(latest: i64, primary: &str) -> Vec<(String, i64)> {
    vec![
        ("latest".to_owned(), latest),
        (primary.to_owned(), 100 - latest),
    ]
}

fn annotation(service: &Value) -> &str {
    service["metadata"]["annotations"][PRIMARY_REVISION]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knative_revision_is_promoted_through_spec_traffic_and_a_bad_one_rolled_back() {
    let mut h = start().await;
    h.apply(KNATIVE_PODINFO);
    h.apply(CANARY);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let initialized = service(&h).await;
    assert_eq!(annotation(&initialized), "podinfo-00001", "{initialized}");
    assert_eq!(
        entries(&initialized["spec"]["traffic"]),
        split(0, "podinfo-00001")
    );
    assert!(
        initialized["metadata"]["ownerReferences"].is_null(),
        "the Service stays the user's: {initialized}"
    );

    release(&h, "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0").await;
    h.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
        canary_weight(c) == Some(50)
    })
    .await;
    let halfway = service(&h).await;
    assert_eq!(
        entries(&halfway["spec"]["traffic"]),
        split(50, "podinfo-00001")
    );
    assert_eq!(
        halfway["status"]["traffic"][0]["revisionName"], "podinfo-00002",
        "Knative routes the latest revision: {halfway}"
    );
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let promoted = service(&h).await;
    assert_eq!(annotation(&promoted), "podinfo-00002", "{promoted}");
    assert_eq!(
        entries(&promoted["spec"]["traffic"]),
        split(0, "podinfo-00002")
    );

    release(&h, "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5").await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    assert_eq!(canary_weight(&failed), Some(0));
    let rolled_back = service(&h).await;
    assert_eq!(annotation(&rolled_back), "podinfo-00002", "{rolled_back}");
    assert_eq!(
        entries(&rolled_back["spec"]["traffic"]),
        split(0, "podinfo-00002")
    );
    assert_eq!(
        rolled_back["status"]["latestCreatedRevisionName"], "podinfo-00003",
        "the failed revision stays created: {rolled_back}"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_counts_only_once_knative_programmed_its_traffic() {
    let mut h = start().await;
    h.apply(KNATIVE_PODINFO);
    h.apply(&CANARY.replace("stepWeight: 25", "stepWeight: 10"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    release(&h, "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0").await;
    h.eventually("the first step", Duration::from_secs(30), async || {
        let s = service(&h).await;
        let latest = entries(&s["spec"]["traffic"])[0].1;
        (latest >= 10).then_some(()).ok_or(format!("{s}"))
    })
    .await;
    // From now on Knative's routing lags: status.traffic stays as last programmed.
    let lag = json!({"metadata": {"annotations": {ROUTES_ANNOTATION: "hold"}}});
    h.patch(SERVICE.0, SERVICE.1, "podinfo", &lag).await;
    // A step serin wrote that Knative has not programmed, and the Canary holding on it (a
    // pending seen before the hold, while the simulation catches up, does not count).
    let canaries: kube::Api<serin_crds::Canary> = kube::Api::namespaced(h.client.clone(), "test");
    let mut written = 0;
    h.eventually(
        "a step held by Knative",
        Duration::from_secs(30),
        async || {
            let canary = canaries.get("podinfo").await.map_err(|e| e.to_string())?;
            let status = canary.status.unwrap_or_default();
            let pending = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.reason == "RoutesPending");
            let now = service(&h).await;
            let spec = entries(&now["spec"]["traffic"])[0].1;
            let programmed = now["status"]["traffic"][0]["percent"]
                .as_i64()
                .unwrap_or(-1);
            if pending && (0..spec).contains(&programmed) {
                assert_eq!(
                    status.failed_checks,
                    Some(0),
                    "routes not programmed are not failed checks"
                );
                written = spec;
                return Ok(());
            }
            Err(format!("pending: {pending}, service: {now}"))
        },
    )
    .await;
    // Held for several intervals, no step follows the unprogrammed one.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = service(&h).await;
        assert_eq!(
            entries(&now["spec"]["traffic"])[0].1,
            written,
            "a step past an unprogrammed one: {now}"
        );
    }
    let release_hold = json!({"metadata": {"annotations": {ROUTES_ANNOTATION: null}}});
    h.patch(SERVICE.0, SERVICE.1, "podinfo", &release_hold)
        .await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    assert_eq!(annotation(&service(&h).await), "podinfo-00002");
    h.stop_controller().await;
}

/// Flagger's Knative tutorial, shortened, released once on the built-in metrics (its load-test
/// webhook is answered by the emulator's tester).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaggers_knative_tutorial_releases_as_published() {
    let file = "040-Canary-docs__gitbook__tutorials__knative-progressive-delivery.yaml";
    let mut h = start().await;
    h.apply(KNATIVE_PODINFO);
    let canary = shortened(&flagger_manifest(file), "test");
    h.apply(&serde_yaml::to_string(&canary).expect("yaml"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(60))
        .await;
    release(&h, "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0").await;
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(150))
        .await;
    assert_eq!(annotation(&service(&h).await), "podinfo-00002");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knative_example_initializes() {
    let example = std::fs::read_to_string(format!(
        "{}/../examples/knative/canary.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("example exists");
    let mut h = start().await;
    h.apply(&example);
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    let initialized = service(&h).await;
    assert_eq!(annotation(&initialized), "podinfo-00001", "{initialized}");
    h.stop_controller().await;
}

/// The primary revision lives in the Service's annotation, not in the controller: a controller
/// restarted mid-release carries on and promotes the same revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_restarted_mid_release_carries_on_from_the_annotation() {
    let mut h = start().await;
    h.apply(KNATIVE_PODINFO);
    h.apply(&CANARY.replace("stepWeight: 25", "stepWeight: 10"));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    release(&h, "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0").await;
    h.wait_until("podinfo", "a first step", Duration::from_secs(30), |c| {
        canary_weight(c).is_some_and(|w| w >= 10)
    })
    .await;
    h.stop_controller().await;
    let midway = service(&h).await;
    assert_eq!(annotation(&midway), "podinfo-00001", "{midway}");
    h.start_controller();
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let promoted = service(&h).await;
    assert_eq!(annotation(&promoted), "podinfo-00002", "{promoted}");
    assert_eq!(
        entries(&promoted["spec"]["traffic"]),
        split(0, "podinfo-00002")
    );
    h.stop_controller().await;
}
