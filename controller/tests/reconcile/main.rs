//! The reconcile tier: one reconcile at a time against the Kubernetes API emulator, each test
//! arranging the world (readiness, route status, faults) and checking one tick's effect. Fast
//! (no simulated cluster, no Prometheus) and deterministic.

mod failed_writes;
mod gateway_api;
mod hooks;
mod support;

use std::time::Duration;

use serde_json::json;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::faults::{FailingWrite, FaultConfig};

use support::{Tier, podinfo};

/// Initializes podinfo: the primary is created, reported ready, and the Canary initialized.
pub(crate) async fn initialized(t: &Tier) {
    t.tick_ok("podinfo").await;
    t.ready("podinfo-primary").await;
    t.tick_ok("podinfo").await;
    let phase = t.canary("podinfo").await.status.and_then(|s| s.phase);
    assert_eq!(phase, Some(CanaryPhase::Initialized));
}

/// Starts a release of a new revision and brings it to its first analysis step.
pub(crate) async fn releasing(t: &Tier) {
    t.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0")
        .await;
    t.tick_ok("podinfo").await;
    assert_eq!(
        t.canary("podinfo").await.status.and_then(|s| s.phase),
        Some(CanaryPhase::Progressing)
    );
    t.ready("podinfo").await;
    t.age_last_analysis("podinfo", 61).await;
}

#[tokio::test]
async fn initialization_moves_the_apex_service_to_the_primary_only_once_it_is_ready() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&podinfo("kubernetes", "    iterations: 2"));
    t.tick_ok("podinfo").await;
    assert!(
        t.get("apps/v1", "Deployment", "podinfo-primary")
            .await
            .is_some()
    );
    assert!(t.get("v1", "Service", "podinfo-primary").await.is_some());
    assert!(t.get("v1", "Service", "podinfo-canary").await.is_some());
    assert!(
        t.get("v1", "Service", "podinfo").await.is_none(),
        "the apex waits for a ready primary"
    );
    t.tick_ok("podinfo").await;
    assert!(t.get("v1", "Service", "podinfo").await.is_none());
    t.ready("podinfo-primary").await;
    t.tick_ok("podinfo").await;
    let apex = t
        .get("v1", "Service", "podinfo")
        .await
        .expect("the apex Service");
    assert_eq!(apex["spec"]["selector"]["app"], "podinfo-primary");
    assert!(
        !t.announced()
            .await
            .iter()
            .any(|m| m.contains("differed from what serin generates")),
        "initialization repairs nothing"
    );
}

#[tokio::test]
async fn routes_no_gateway_reports_on_hold_the_release_then_roll_it_back_at_the_deadline() {
    let t = Tier::start(Provider::Kubernetes, true).await;
    t.apply(&podinfo(
        "gatewayapi:v1",
        "    stepWeight: 20\n    maxWeight: 40",
    ));
    initialized(&t).await;
    releasing(&t).await;
    t.tick_ok("podinfo").await;
    let (status, reason, message) = t.condition("podinfo", "Reconciling").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "RoutesPending")
    );
    assert!(
        message.contains("no Gateway has reported on the HTTPRoute yet"),
        "{message}"
    );
    let canary = t.canary("podinfo").await;
    let status = canary.status.expect("status");
    assert_eq!(status.canary_weight, Some(0), "nothing advanced");
    let since = status.routes_pending_since.expect("the hold is timed");
    assert!(
        t.announced()
            .await
            .iter()
            .any(|m| m.contains("Waiting for the routes to go live")),
        "the hold is announced"
    );

    // A whole progress deadline later, the release is rolled back with the reason.
    let patch = json!({"status": {"routesPendingSince": since - chrono::Duration::seconds(61)}});
    kube::Api::<serin_crds::Canary>::namespaced(t.client.clone(), "test")
        .patch_status(
            "podinfo",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .expect("patch");
    t.tick_ok("podinfo").await;
    let canary = t.canary("podinfo").await;
    assert_eq!(
        canary.status.and_then(|s| s.phase),
        Some(CanaryPhase::Failed)
    );
    assert!(
        t.announced()
            .await
            .iter()
            .any(|m| m.contains("the routes did not go live")),
        "{:?}",
        t.announced().await
    );
}

#[tokio::test]
async fn live_routes_let_the_step_run_and_a_refused_route_holds_with_its_reason() {
    let t = Tier::start(Provider::Kubernetes, true).await;
    t.apply(&podinfo(
        "gatewayapi:v1",
        "    stepWeight: 20\n    maxWeight: 40",
    ));
    initialized(&t).await;
    releasing(&t).await;
    let accepted = |generation: i64, accepted: &str, reason: &str| {
        json!({"parents": [{
            "parentRef": {"name": "public", "namespace": "gateway"},
            "controllerName": "example.com/gateway",
            "conditions": [{"type": "Accepted", "status": accepted, "reason": reason,
                            "message": "", "observedGeneration": generation,
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}]
        }]})
    };
    let route = t
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await
        .expect("route");
    let generation = route["metadata"]["generation"]
        .as_i64()
        .expect("generation");
    t.route_status("podinfo", accepted(generation, "True", "Accepted"))
        .await;
    t.tick_ok("podinfo").await;
    let canary = t.canary("podinfo").await;
    assert_eq!(
        canary.status.and_then(|s| s.canary_weight),
        Some(20),
        "the first step ran"
    );

    // The Gateway refuses the route at 20%: the next step holds, naming why.
    let route = t
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo")
        .await
        .expect("route");
    let generation = route["metadata"]["generation"]
        .as_i64()
        .expect("generation");
    t.route_status(
        "podinfo",
        accepted(generation, "False", "NotAllowedByListeners"),
    )
    .await;
    t.age_last_analysis("podinfo", 61).await;
    t.tick_ok("podinfo").await;
    let (status, reason, message) = t.condition("podinfo", "Reconciling").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "RoutesRejected")
    );
    assert!(message.contains("NotAllowedByListeners"), "{message}");
    assert_eq!(
        t.canary("podinfo")
            .await
            .status
            .and_then(|s| s.canary_weight),
        Some(20)
    );
}

#[tokio::test]
async fn a_router_whose_kinds_the_cluster_does_not_serve_stalls_the_canary_with_the_reason() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&podinfo("gatewayapi:v1", "    stepWeight: 20"));
    t.tick_ok("podinfo").await;
    t.ready("podinfo-primary").await;
    // Not an error for error_policy to retry: a condition, and a look again later.
    t.tick_ok("podinfo").await;
    let (status, reason, message) = t.condition("podinfo", "Stalled").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "RouterNotInstalled")
    );
    assert!(
        message.contains("does not serve gateway.networking.k8s.io/v1 HTTPRoute: install"),
        "{message}"
    );
}

#[tokio::test]
async fn a_spec_the_router_cannot_express_stalls_instead_of_looping() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    // No `spec.provider`: the router is the controller's `--mesh-provider`, which admission
    // cannot see, so the API server stores the Canary and the controller must refuse it.
    t.apply(&podinfo("kubernetes", "    stepWeight: 20").replace("  provider: kubernetes\n", ""));
    let action = t.tick("podinfo").await.expect("handled in the reconcile");
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(300))
    );
    let (status, reason, message) = t.condition("podinfo", "Stalled").await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "InvalidSpec"));
    assert!(
        message.contains("provider kubernetes cannot shift traffic by weight"),
        "{message}"
    );
}

#[tokio::test]
async fn a_failed_status_write_announces_nothing_and_the_next_tick_announces_once() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&podinfo("kubernetes", "    iterations: 2"));
    initialized(&t).await;
    let before = t.announced().await.len();
    t.server.faults().set(FaultConfig {
        failing_writes: vec![FailingWrite {
            resource: "canaries".into(),
            subresource: Some("status".into()),
            code: 500,
        }],
        ..FaultConfig::default()
    });
    t.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0")
        .await;
    assert!(t.tick("podinfo").await.is_err(), "the status write fails");
    assert_eq!(t.announced().await.len(), before, "nothing announced");
    t.server.faults().set(FaultConfig::default());
    t.tick_ok("podinfo").await;
    let announced = t.announced().await;
    let new_revision: Vec<&String> = announced[before..]
        .iter()
        .filter(|m| m.contains("New revision detected"))
        .collect();
    assert_eq!(new_revision.len(), 1, "{announced:?}");
    assert_eq!(
        t.canary("podinfo").await.status.and_then(|s| s.phase),
        Some(CanaryPhase::Progressing)
    );
}

/// The Istio CRDs from `shared/mesh-crds`.
fn istio_crds() -> String {
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        std::path::PathBuf::from,
    );
    std::fs::read_to_string(shared.join("mesh-crds/istio/networking-crds.yaml"))
        .expect("the Istio CRDs in shared/mesh-crds")
}

const USERS_VIRTUAL_SERVICE: &str = "
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: podinfo, namespace: test}
spec:
  hosts: [podinfo]
  http: [{route: [{destination: {host: podinfo}}], timeout: 7s}]
";

#[tokio::test]
async fn a_deletion_tick_repeated_after_a_failed_status_write_still_gives_the_users_route_back() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&istio_crds());
    t.apply(USERS_VIRTUAL_SERVICE);
    t.apply(&podinfo("istio", "    stepWeight: 20").replace(
        "  provider: istio\n",
        "  provider: istio\n  revertOnDeletion: true\n",
    ));
    initialized(&t).await;
    let vs = t
        .get("networking.istio.io/v1beta1", "VirtualService", "podinfo")
        .await
        .expect("the VirtualService");
    assert!(
        vs["spec"]["http"][0]["route"][0]["destination"]["host"] == "podinfo-primary",
        "taken over: {vs}"
    );
    kube::Api::<serin_crds::Canary>::namespaced(t.client.clone(), "test")
        .delete("podinfo", &kube::api::DeleteParams::default())
        .await
        .expect("delete");
    // The first deletion tick gives the route back, then fails to write its status; the next
    // tick repeats it from the same phase.
    t.server.faults().set(FaultConfig {
        failing_writes: vec![FailingWrite {
            resource: "canaries".into(),
            subresource: Some("status".into()),
            code: 500,
        }],
        ..FaultConfig::default()
    });
    assert!(t.tick("podinfo").await.is_err(), "the status write fails");
    t.server.faults().set(FaultConfig::default());
    t.tick_ok("podinfo").await;
    let vs = t
        .get("networking.istio.io/v1beta1", "VirtualService", "podinfo")
        .await
        .expect("the VirtualService");
    assert_eq!(
        vs["spec"],
        json!({"hosts": ["podinfo"], "http": [{"route": [{"destination": {"host": "podinfo"}}], "timeout": "7s"}]}),
        "{vs}"
    );
}

#[tokio::test]
async fn a_metric_template_of_another_namespace_stalls_the_canary_naming_it() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n");
    t.apply(
        "apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: errors, namespace: other}
spec:
  provider: {type: prometheus, address: 'http://127.0.0.1:1'}
  query: 'vector(0)'
",
    );
    t.apply(&podinfo(
        "kubernetes",
        "    iterations: 2
    metrics:
      - name: errors
        templateRef: {name: errors, namespace: other}
        thresholdRange: {max: 1}",
    ));
    t.tick_ok("podinfo").await;
    let (status, reason, message) = t.condition("podinfo", "Stalled").await;
    assert_eq!(status, "True");
    assert_eq!(reason, "CrossNamespaceRefRefused");
    assert!(message.contains("MetricTemplate other/errors"), "{message}");
    assert!(
        t.get("apps/v1", "Deployment", "podinfo-primary")
            .await
            .is_none(),
        "nothing is acted on"
    );
}

#[tokio::test]
async fn an_alert_provider_of_another_namespace_stalls_the_canary_unless_allowed() {
    let analysis = "    iterations: 2
    alerts:
      - name: on-call
        providerRef: {name: on-call, namespace: other}";
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&podinfo("kubernetes", analysis));
    t.tick_ok("podinfo").await;
    let (status, reason, message) = t.condition("podinfo", "Stalled").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "CrossNamespaceRefRefused")
    );
    assert!(message.contains("AlertProvider other/on-call"), "{message}");

    let allowed = Tier::start_with(Provider::Kubernetes, false, |c| {
        c.no_cross_namespace_refs = false;
    })
    .await;
    allowed.apply(&podinfo("kubernetes", analysis));
    allowed.tick_ok("podinfo").await;
    assert!(
        allowed
            .get("apps/v1", "Deployment", "podinfo-primary")
            .await
            .is_some(),
        "with cross-namespace references allowed, the Canary initializes"
    );
}
