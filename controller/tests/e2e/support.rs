//! The end-to-end harness: the Kubernetes API emulator with its simulated cluster, a real
//! Prometheus scraping the simulated traffic, and serin's controller, all on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use serin_controller::metrics::Metrics;
use serin_controller::reconcile::{Context, ControllerConfig};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_sim::cluster::{Cluster, SimConfig};
use serin_sim::prometheus::{Prometheus, PrometheusConfig};
use serin_sim::{Server, metrics_http};
use tokio::sync::oneshot;

/// A running emulated cluster with Prometheus and the controller.
pub(crate) struct Harness {
    pub(crate) server: Server,
    pub(crate) prometheus_url: String,
    pub(crate) client: kube::Client,
    mesh_provider: Provider,
    _cluster: Cluster,
    _prometheus: Prometheus,
    stop: Option<oneshot::Sender<()>>,
    controller: Option<tokio::task::JoinHandle<()>>,
}

fn shared(path: &str) -> String {
    let base = std::env::var("SERIN_SHARED")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared").into());
    std::fs::read_to_string(format!("{base}/{path}")).expect("shared/ is beside the repository")
}

impl Harness {
    /// Starts everything; Canaries without `spec.provider` use `mesh_provider`.
    pub(crate) async fn start(mesh_provider: Provider) -> Harness {
        let server = Server::start_default().await.expect("emulator");
        server
            .apply_yaml(&shared("gateway-api/httproutes.yaml"))
            .expect("Gateway API CRDs");
        let crds = serin_controller::crds::crds_yaml().expect("CRDs");
        server.apply_yaml(&crds).expect("serin CRDs");
        server
            .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: test}\n")
            .expect("namespace");
        let client = server.client().expect("client");
        let registry = server.metrics_registry();
        let sim = SimConfig {
            rps: 200.0,
            ready_delay: Duration::from_millis(300),
            tick: Duration::from_millis(100),
            ..SimConfig::default()
        };
        let cluster = Cluster::start(client.clone(), sim, &registry);
        let metrics_addr = metrics_http::serve("127.0.0.1:0".parse().expect("addr"), registry)
            .await
            .expect("metrics");
        let prometheus = tokio::task::spawn_blocking(move || {
            Prometheus::start(&PrometheusConfig {
                targets: vec![metrics_addr],
                scrape_interval: Duration::from_millis(500),
                ..PrometheusConfig::default()
            })
        })
        .await
        .expect("join")
        .expect("prometheus (scripts/test installs it)");
        let mut harness = Harness {
            prometheus_url: prometheus.url(),
            server,
            client,
            mesh_provider,
            _cluster: cluster,
            _prometheus: prometheus,
            stop: None,
            controller: None,
        };
        harness.start_controller();
        harness
    }

    /// Starts a controller (as a fresh process would: no state but the cluster's).
    pub(crate) fn start_controller(&mut self) {
        let config = ControllerConfig {
            mesh_provider: self.mesh_provider,
            metrics_server: self.prometheus_url.clone(),
            query_timeout: Duration::from_secs(5),
            webhook_retry_delay: Duration::from_millis(50),
            ..ControllerConfig::default()
        };
        let mut registry = prometheus_client::registry::Registry::default();
        let ctx = Arc::new(
            Context::new(self.client.clone(), config, Metrics::new(&mut registry))
                .expect("context"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        self.controller = Some(tokio::spawn(serin_controller::reconcile::run(ctx, async {
            let _ = stopped.await;
        })));
        self.stop = Some(stop);
    }

    /// Creates or replaces the objects in `yaml`.
    pub(crate) fn apply(&self, yaml: &str) {
        self.server.apply_yaml(yaml).expect("apply manifests");
    }

    /// Changes the target's pod template: a new image and new simulated behaviour.
    pub(crate) async fn release(&self, name: &str, image: &str, error_rate: &str) {
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), "test");
        let patch = json!({"spec": {"template": {
            "metadata": {"annotations": {"sim.serin.dev/error-rate": error_rate}},
            "spec": {"containers": [{"name": "podinfo", "image": image}]}
        }}});
        deployments
            .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .expect("patch target");
    }

    /// Changes the target's pod template to a revision whose pods never become ready.
    pub(crate) async fn release_unready(&self, name: &str, image: &str) {
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), "test");
        let patch = json!({"spec": {"template": {
            "metadata": {"annotations": {"sim.serin.dev/ready": "false"}},
            "spec": {"containers": [{"name": "podinfo", "image": image}]}
        }}});
        deployments
            .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .expect("patch target");
    }

    /// Polls the Canary until `check` holds for it, or fails with its last status after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Canary) -> bool,
    ) -> Canary {
        let canaries: Api<Canary> = Api::namespaced(self.client.clone(), "test");
        let deadline = Instant::now() + timeout;
        loop {
            let canary = canaries.get(name).await.expect("get canary");
            if check(&canary) {
                return canary;
            }
            assert!(
                Instant::now() < deadline,
                "canary did not reach {what} within {timeout:?}; status: {}\ntraffic: {}",
                serde_json::to_string_pretty(&canary.status).unwrap_or_default(),
                self.traffic_summary().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls the Canary until `phase`, or fails with its last status after `timeout`.
    pub(crate) async fn wait_for_phase(
        &self,
        name: &str,
        phase: CanaryPhase,
        timeout: Duration,
    ) -> Canary {
        self.wait_until(name, phase.as_str(), timeout, |c| {
            c.status.as_ref().and_then(|s| s.phase) == Some(phase)
        })
        .await
    }

    /// Requests per pod and status code as Prometheus has them, for failure messages.
    pub(crate) async fn traffic_summary(&self) -> String {
        let query = r#"sum by (kubernetes_pod_name, status) (http_request_duration_seconds_count{kubernetes_namespace="test"})"#;
        let url = format!("{}/api/v1/query", self.prometheus_url);
        let response = reqwest::Client::new()
            .post(url)
            .form(&[("query", query)])
            .send()
            .await;
        match response {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("(Prometheus did not answer: {e})"),
        }
    }

    /// Reasons of the Events recorded in the test namespace, oldest first.
    pub(crate) async fn event_reasons(&self) -> Vec<String> {
        let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "events.k8s.io",
            "v1",
            "Event",
        ));
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), "test", &resource);
        let events = api
            .list(&kube::api::ListParams::default())
            .await
            .expect("list events");
        events
            .items
            .iter()
            .filter_map(|e| e.data["reason"].as_str().map(str::to_owned))
            .collect()
    }

    /// A namespaced object as JSON.
    pub(crate) async fn get(&self, api_version: &str, kind: &str, name: &str) -> Value {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            group, version, kind,
        ));
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), "test", &resource);
        serde_json::to_value(api.get(name).await.expect("object exists")).expect("json")
    }

    /// Stops the controller and waits for it.
    pub(crate) async fn stop_controller(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.controller.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
