//! Gate and rollout hooks run on their own tasks: a tick waits a second at most for an answer,
//! ends with the hook pending, and a later tick picks the answer up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use serin_crds::canary::{CanaryPhase, Provider};
use tokio::sync::Notify;

use crate::support::{Tier, podinfo};
use crate::{initialized, releasing};

/// A hook that counts its calls and answers 200 only once `answer` is notified.
struct HeldHook {
    url: String,
    calls: Arc<AtomicUsize>,
    answer: Arc<Notify>,
}

async fn held_hook() -> HeldHook {
    type Shared = (Arc<AtomicUsize>, Arc<Notify>);
    async fn held(State((calls, answer)): State<Shared>) -> &'static str {
        calls.fetch_add(1, Ordering::SeqCst);
        answer.notified().await;
        "ok"
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(Notify::new());
    let app = axum::Router::new()
        .fallback(held)
        .with_state((Arc::clone(&calls), Arc::clone(&answer)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    HeldHook {
        url: format!("http://{addr}/gate"),
        calls,
        answer,
    }
}

fn gated(url: &str) -> String {
    podinfo(
        "kubernetes",
        &format!(
            "    iterations: 2
    webhooks:
      - name: gate
        type: pre-rollout
        url: {url}
        timeout: 5m"
        ),
    )
}

#[tokio::test]
async fn a_hook_that_has_not_answered_holds_no_worker_and_its_answer_is_picked_up_later() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    let hook = held_hook().await;
    t.apply(&gated(&hook.url));
    initialized(&t).await;
    releasing(&t).await;

    // The pre-rollout hook does not answer: the tick ends after the wait, having done nothing.
    let started = Instant::now();
    let action = t.tick("podinfo").await.expect("the tick succeeds");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the tick waited {:?} for the hook",
        started.elapsed()
    );
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(1))
    );
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.phase, Some(CanaryPhase::Progressing));
    assert_eq!(status.canary_weight.unwrap_or(0), 0);
    assert_eq!(
        status.failed_checks.unwrap_or(0),
        0,
        "pending is not failed"
    );
    assert_eq!(t.ctx.hook_runs.len(), 1);

    // The next tick joins the call in flight instead of calling again.
    t.tick_ok("podinfo").await;
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);

    // Answered, the next tick takes the first step.
    hook.answer.notify_waiters();
    t.tick_ok("podinfo").await;
    let status = t.canary("podinfo").await.status.expect("status");
    assert_eq!(status.failed_checks.unwrap_or(0), 0);
    assert_eq!(
        hook.calls.load(Ordering::SeqCst),
        1,
        "one call for one gate"
    );
    assert!(t.ctx.hook_runs.is_empty(), "the answer was picked up");
    assert_eq!(status.phase, Some(CanaryPhase::Progressing));
    assert!(
        status.iterations.unwrap_or(0) >= 1 || status.canary_weight.unwrap_or(0) > 0,
        "the release moved past its pre-rollout gate: {status:?}"
    );
}

#[tokio::test]
async fn many_canaries_waiting_on_hooks_do_not_delay_another_canarys_tick() {
    let t = Tier::start(Provider::Kubernetes, false).await;
    let hook = held_hook().await;
    t.apply(&gated(&hook.url));
    t.apply(&podinfo("kubernetes", "    iterations: 2").replace("podinfo", "other"));
    initialized(&t).await;
    releasing(&t).await;
    // More ticks waiting on the hook than the controller has workers (16): each returns.
    let ticks: Vec<_> = (0..20)
        .map(|_| {
            let resource = kube::core::ApiResource::erase::<serin_crds::Canary>(&());
            let api: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(t.client.clone(), "test", &resource);
            let ctx = Arc::clone(&t.ctx);
            tokio::spawn(async move {
                let object = api.get("podinfo").await.expect("get");
                serin_controller::reconcile::reconcile(Arc::new(object), ctx).await
            })
        })
        .collect();
    let started = Instant::now();
    for tick in ticks {
        tokio::time::timeout(Duration::from_secs(10), tick)
            .await
            .expect("a tick waiting on a hook returns")
            .expect("the task ran")
            .expect("the tick succeeds");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    t.tick_ok("other").await;
    assert!(
        t.get("apps/v1", "Deployment", "other-primary")
            .await
            .is_some(),
        "the other Canary was initialized meanwhile"
    );
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1, "one call in flight");
}
