//! A cluster without the Gateway API's CRDs: the controller's HTTPRoute watch fails and retries
//! in the background, and everything else works as usual. Canaries with a long interval must
//! initialize from watch events alone, so a failing watch that held up the others would show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::Api;
use serin_controller::metrics::Metrics;
use serin_controller::reconcile::{Context, ControllerConfig};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::Server;
use serin_sim::cluster::{Cluster, SimConfig};

fn podinfo(i: usize) -> String {
    format!(
        r#"
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{i}, namespace: default}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}}}}}
    spec: {{containers: [{{name: app, image: "app:1"}}]}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: app{i}, namespace: default}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: app{i}}}
  service: {{port: 80}}
  analysis: {{interval: 10m, threshold: 1, iterations: 1}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canaries_initialize_from_watch_events_when_a_watched_kind_is_not_installed() {
    let server = Server::start_default().await.expect("emulator");
    server
        .apply_yaml(&serin_controller::crds::crds_yaml().expect("crds"))
        .expect("apply CRDs");
    let client = server.client().expect("client");
    let sim = SimConfig {
        ready_delay: Duration::from_millis(100),
        tick: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let _cluster = Cluster::start(client.clone(), sim, &server.metrics_registry());
    let config = ControllerConfig {
        mesh_provider: Provider::Kubernetes,
        ..ControllerConfig::default()
    };
    let mut registry = prometheus_client::registry::Registry::default();
    let ctx = Context::new(client.clone(), config, Metrics::new(&mut registry)).expect("context");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(serin_controller::reconcile::run(Arc::new(ctx), async {
        let _ = stopped.await;
    }));

    let manifests: String = (0..5).map(podinfo).collect();
    server.apply_yaml(&manifests).expect("apply canaries");
    let canaries: Api<Canary> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = canaries
            .list(&kube::api::ListParams::default())
            .await
            .expect("list");
        let phases: Vec<_> = list
            .items
            .iter()
            .map(|c| c.status.as_ref().and_then(|s| s.phase))
            .collect();
        if phases.iter().all(|p| *p == Some(CanaryPhase::Initialized)) && phases.len() == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not initialized within 20 s (the interval is 10 minutes): {phases:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
}
