//! `--max-concurrent-releases`: with a bound of one, three Canaries released at once go one
//! after the other, in the order they started waiting, and all are promoted.

use std::time::{Duration, Instant};

use kube::api::Api;
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::Harness;

fn app(name: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: test}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0"}}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: {name}, namespace: test}}
spec:
  provider: kubernetes
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  service: {{port: 9898}}
  analysis: {{interval: 1s, threshold: 2, iterations: 2}}
"#
    )
}

fn releasing(c: &Canary) -> bool {
    matches!(
        c.status.as_ref().and_then(|s| s.phase),
        Some(
            CanaryPhase::Progressing
                | CanaryPhase::Waiting
                | CanaryPhase::WaitingPromotion
                | CanaryPhase::Promoting
                | CanaryPhase::Finalising
        )
    )
}

fn queued(c: &Canary) -> bool {
    c.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.reason == "ReleaseQueued")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_beyond_the_bound_wait_their_turn_and_all_are_promoted() {
    let h = Harness::start_with(Provider::Kubernetes, |c| {
        c.max_concurrent_releases = Some(1);
    })
    .await;
    let names = ["alpha", "bravo", "charlie"];
    for name in names {
        h.apply(&app(name));
    }
    for name in names {
        h.wait_for_phase(name, CanaryPhase::Initialized, Duration::from_secs(30))
            .await;
    }
    for name in names {
        h.release(name, "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
            .await;
    }
    let api: Api<Canary> = Api::namespaced(h.client.clone(), "test");
    let (mut most_at_once, mut seen_queued) = (0, Vec::new());
    let mut started: Vec<&str> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let canaries = api
            .list(&kube::api::ListParams::default())
            .await
            .expect("list");
        let at_once = canaries.items.iter().filter(|c| releasing(c)).count();
        most_at_once = most_at_once.max(at_once);
        for c in &canaries.items {
            let name = names
                .into_iter()
                .find(|n| c.metadata.name.as_deref() == Some(*n))
                .expect("one of ours");
            if queued(c) && !seen_queued.contains(&name) {
                seen_queued.push(name);
            }
            if releasing(c) && !started.contains(&name) {
                started.push(name);
            }
        }
        let all_done = started.len() == names.len()
            && canaries.items.iter().all(|c| {
                c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
                    && !queued(c)
            });
        if all_done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all promoted: {:#?}",
            canaries
                .items
                .iter()
                .map(|c| (
                    c.metadata.name.clone(),
                    c.status.as_ref().map(|s| (s.phase, s.conditions.clone()))
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(most_at_once, 1, "never more than one release at a time");
    assert_eq!(seen_queued.len(), 2, "two waited: {seen_queued:?}");
    // The two that waited started in the order they began waiting.
    let waited_in_start_order: Vec<_> = started
        .iter()
        .filter(|n| seen_queued.contains(n))
        .copied()
        .collect();
    assert_eq!(waited_in_start_order, seen_queued);
}
