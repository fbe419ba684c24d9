//! A tick whose status write fails after its actions ran: the next tick writes that tick's
//! status instead of deciding again, so hooks are not called twice and a rollback is not undone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::audit::AuditEntry;
use serin_sim::faults::{FailingWrite, FaultConfig};

use crate::support::{Tier, podinfo};
use crate::{initialized, istio_crds, releasing};

/// A hook that counts its calls and answers `status` at once.
struct CountingHook {
    url: String,
    calls: Arc<AtomicUsize>,
}

impl CountingHook {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn counting_hook(status: StatusCode) -> CountingHook {
    type Shared = (Arc<AtomicUsize>, StatusCode);
    async fn answer(State((calls, status)): State<Shared>) -> StatusCode {
        calls.fetch_add(1, Ordering::SeqCst);
        status
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .fallback(answer)
        .with_state((Arc::clone(&calls), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    CountingHook {
        url: format!("http://{addr}/hook"),
        calls,
    }
}

/// Every status write of a Canary is answered 500 until [`writes_work`] is called.
fn status_writes_fail(t: &Tier) {
    t.server.faults().set(FaultConfig {
        failing_writes: vec![FailingWrite {
            resource: "canaries".into(),
            subresource: Some("status".into()),
            code: 500,
        }],
        ..FaultConfig::default()
    });
}

fn writes_work(t: &Tier) {
    t.server.faults().set(FaultConfig::default());
}

fn hooked(provider: &str, kind: &str, url: &str, extra: &str) -> String {
    podinfo(
        provider,
        &format!(
            "{extra}
    webhooks:
      - name: hook
        type: {kind}
        url: {url}"
        ),
    )
}

#[tokio::test]
async fn a_pre_rollout_hook_is_called_once_when_the_status_write_of_its_tick_fails() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    let hook = counting_hook(StatusCode::OK).await;
    t.apply(&hooked(
        "kubernetes",
        "pre-rollout",
        &hook.url,
        "    iterations: 2",
    ));
    initialized(&t).await;
    releasing(&t).await;

    status_writes_fail(&t);
    assert!(t.tick("podinfo").await.is_err(), "the status write fails");
    assert_eq!(hook.calls(), 1, "the gate was asked");
    writes_work(&t);
    t.tick_ok("podinfo").await;
    t.tick_ok("podinfo").await;

    assert_eq!(hook.calls(), 1, "the gate's pass was not asked for again");
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.phase, Some(CanaryPhase::Progressing));
    assert!(
        status.iterations.unwrap_or(0) >= 1,
        "the release moved past its pre-rollout gate: {status:?}"
    );
}

#[tokio::test]
async fn a_tick_whose_status_write_fails_is_written_by_the_next_and_announced_once() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    let hook = counting_hook(StatusCode::OK).await;
    t.apply(&hooked(
        "kubernetes",
        "pre-rollout",
        &hook.url,
        "    iterations: 2",
    ));
    initialized(&t).await;
    releasing(&t).await;
    let before = t.announced().await.len();

    status_writes_fail(&t);
    assert!(t.tick("podinfo").await.is_err());
    assert!(t.tick("podinfo").await.is_err(), "still failing");
    assert_eq!(t.announced().await.len(), before, "nothing announced yet");
    writes_work(&t);
    t.tick_ok("podinfo").await;

    assert_eq!(hook.calls(), 1);
    let announced = t.announced().await;
    let new = &announced[before..];
    assert!(!new.is_empty(), "the written tick was announced");
    for message in new {
        let times = new.iter().filter(|m| *m == message).count();
        assert_eq!(times, 1, "{message:?} announced {times} times: {new:?}");
    }
}

/// The canary's weight in a VirtualService written to the emulator.
fn canary_weight(entry: &AuditEntry) -> Option<u64> {
    let routes = entry.object.as_ref()?["spec"]["http"][0]["route"]
        .as_array()?
        .clone();
    routes
        .iter()
        .find(|r| r["destination"]["host"] == "podinfo-canary")
        .map(|r| r["weight"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn a_rollback_whose_status_write_fails_never_gives_traffic_back_to_the_canary() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    t.apply(&istio_crds());
    t.server.audit_objects_of("virtualservices");
    let hook = counting_hook(StatusCode::INTERNAL_SERVER_ERROR).await;
    t.apply(&hooked(
        "istio",
        "rollout",
        &hook.url,
        "    stepWeight: 10\n    maxWeight: 50",
    ));
    initialized(&t).await;
    releasing(&t).await;
    // The first step sends 10% to the canary (its rollout hooks run from the second step on).
    t.tick_ok("podinfo").await;
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.canary_weight, Some(10));
    // The second step's hook fails once (threshold 2): the weight holds.
    t.age_last_analysis("podinfo", 61).await;
    t.tick_ok("podinfo").await;
    assert_eq!(hook.calls(), 1);
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.failed_checks, Some(1));

    // The third fails again: the routes go back to the primary, and the status write fails.
    t.age_last_analysis("podinfo", 61).await;
    status_writes_fail(&t);
    assert!(t.tick("podinfo").await.is_err(), "the status write fails");
    assert_eq!(hook.calls(), 2);
    // The Deployment controller reports the canary scaled down: nothing holds the next tick.
    t.ready("podinfo").await;
    writes_work(&t);
    t.tick_ok("podinfo").await;
    t.tick_ok("podinfo").await;

    let weights: Vec<u64> = t
        .server
        .audit()
        .iter()
        .filter(|e| e.resource == "virtualservices")
        .filter_map(canary_weight)
        .collect();
    println!("route weights written: {weights:?}");
    assert_eq!(weights.last(), Some(&0), "{weights:?}");
    let first_zero_after_ten = weights
        .iter()
        .position(|w| *w == 10)
        .and_then(|ten| weights[ten..].iter().position(|w| *w == 0).map(|z| ten + z))
        .expect("the rollback set the canary's weight to 0");
    assert!(
        weights[first_zero_after_ten..].iter().all(|w| *w == 0),
        "traffic went back to the failed canary: {weights:?}"
    );
    assert_eq!(hook.calls(), 2, "the failed step was not run again");
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.phase, Some(CanaryPhase::Failed));
    assert_eq!(status.canary_weight, Some(0));
}
