//! The reconcile tier's harness: the Kubernetes API emulator without its simulated cluster, and
//! reconciles called one at a time, so that each test sets the world up (workload readiness,
//! route status, faults) and looks at exactly one tick's effect. No watches run: the reconcile
//! reads from the API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::{Value, json};
use serin_controller::metrics::Metrics;
use serin_controller::reconcile::{Context, ControllerConfig, Error, reconcile};
use serin_crds::Canary;
use serin_crds::canary::Provider;
use serin_sim::Server;

/// The emulator, a context as the controller has, and a receiver of the controller-wide event
/// webhook (every Event serin records is also posted there).
pub(crate) struct Tier {
    pub(crate) server: Server,
    pub(crate) client: kube::Client,
    pub(crate) ctx: Arc<Context>,
    announced: Arc<Mutex<Vec<Value>>>,
}

impl Tier {
    /// An emulator with serin's CRDs, the Gateway API's when `gateway_api`, and a `test`
    /// namespace.
    pub(crate) async fn start(mesh_provider: Provider, gateway_api: bool) -> Tier {
        Tier::start_with(mesh_provider, gateway_api, |_| {}).await
    }

    /// [`Tier::start`] with the controller's settings changed by `configure`.
    pub(crate) async fn start_with(
        mesh_provider: Provider,
        gateway_api: bool,
        configure: impl FnOnce(&mut ControllerConfig),
    ) -> Tier {
        let server = Server::start_default().await.expect("emulator");
        if gateway_api {
            server
                .apply_yaml(serin_controller::demo::GATEWAY_API_CRDS)
                .expect("Gateway API CRDs");
        }
        server
            .apply_yaml(&serin_controller::crds::crds_yaml().expect("CRDs"))
            .expect("serin's CRDs");
        server
            .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: test}\n")
            .expect("namespace");
        let client = server.client().expect("client");
        let announced = Arc::new(Mutex::new(Vec::new()));
        let receiver = receive(Arc::clone(&announced)).await;
        let mut config = ControllerConfig {
            mesh_provider,
            event_webhook: Some(receiver.parse().expect("url")),
            webhook_retry_delay: Duration::from_millis(10),
            ..ControllerConfig::default()
        };
        configure(&mut config);
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Metrics::new(&mut registry);
        let ctx = Arc::new(Context::new(client.clone(), config, metrics).expect("context"));
        Tier {
            server,
            client,
            ctx,
            announced,
        }
    }

    /// Creates or replaces the objects in `yaml`.
    pub(crate) fn apply(&self, yaml: &str) {
        self.server.apply_yaml(yaml).expect("apply");
    }

    /// One reconcile of the Canary `name`, as the controller would run it.
    pub(crate) async fn tick(
        &self,
        name: &str,
    ) -> Result<kube::runtime::controller::Action, Error> {
        let resource = ApiResource::erase::<Canary>(&());
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), "test", &resource);
        let object = api.get(name).await.expect("get the canary");
        reconcile(Arc::new(object), Arc::clone(&self.ctx)).await
    }

    /// One reconcile that must succeed.
    pub(crate) async fn tick_ok(&self, name: &str) {
        let result = self.tick(name).await;
        assert!(result.is_ok(), "the reconcile failed: {result:?}");
    }

    /// The Canary as stored.
    pub(crate) async fn canary(&self, name: &str) -> Canary {
        Api::<Canary>::namespaced(self.client.clone(), "test")
            .get(name)
            .await
            .expect("get the canary")
    }

    /// The Canary's condition `type_`: (status, reason, message).
    pub(crate) async fn condition(&self, name: &str, type_: &str) -> (String, String, String) {
        let canary = self.canary(name).await;
        let c = canary
            .status
            .and_then(|s| s.conditions)
            .into_iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .expect("the condition is set");
        (c.status, c.reason, c.message.unwrap_or_default())
    }

    /// Reports the Deployment `name` rolled out and available, as its controller would.
    pub(crate) async fn ready(&self, name: &str) {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), "test");
        let deployment = api.get(name).await.expect("get the deployment");
        let replicas = deployment.spec.replicas.unwrap_or(1);
        let status = json!({"status": {
            "observedGeneration": deployment.metadata.generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch the deployment status");
    }

    /// A new revision of the target Deployment `name`.
    pub(crate) async fn release(&self, name: &str, image: &str) {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), "test");
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "podinfo", "image": image}]}}}});
        api.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .expect("patch the target");
    }

    /// Moves the Canary's last analysis back by `secs`, so that its next step is due.
    pub(crate) async fn age_last_analysis(&self, name: &str, secs: i64) {
        let canary = self.canary(name).await;
        let last = canary
            .status
            .and_then(|s| s.last_analysis_time)
            .expect("an analysis time");
        let patch = json!({"status": {"lastAnalysisTime": last - chrono::Duration::seconds(secs)}});
        Api::<Canary>::namespaced(self.client.clone(), "test")
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch the canary status");
    }

    /// An object as stored, when it exists.
    pub(crate) async fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource =
            ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), "test", &resource);
        api.get_opt(name)
            .await
            .expect("get")
            .map(|o| serde_json::to_value(o).expect("json"))
    }

    /// Replaces an HTTPRoute's status, as a Gateway implementation would.
    pub(crate) async fn route_status(&self, name: &str, status: Value) {
        let resource = ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "gateway.networking.k8s.io",
            "v1",
            "HTTPRoute",
        ));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), "test", &resource);
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
        .expect("patch the route status");
    }

    /// Waits for the announcements sent so far (they go out on their own task), then returns
    /// the messages of the Events the event webhook received.
    pub(crate) async fn announced(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.announced
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|b| b["metadata"]["eventMessage"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Records the JSON bodies posted to it; returns its URL.
async fn receive(seen: Arc<Mutex<Vec<Value>>>) -> String {
    async fn record(State(seen): State<Arc<Mutex<Vec<Value>>>>, body: Bytes) -> &'static str {
        seen.lock()
            .expect("lock")
            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        "ok"
    }
    let app = axum::Router::new().fallback(record).with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}/events")
}

/// podinfo: a Deployment and its Canary on `provider`, with `analysis` lines added.
pub(crate) fn podinfo(provider: &str, analysis: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: podinfo, namespace: test}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: podinfo}}}}
  template:
    metadata: {{labels: {{app: podinfo}}}}
    spec:
      containers: [{{name: podinfo, image: 'ghcr.io/stefanprodan/podinfo:6.0.0'}}]
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: {provider}
  progressDeadlineSeconds: 60
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service:
    port: 9898
    gatewayRefs: [{{name: public, namespace: gateway}}]
  analysis:
    interval: 1m
    threshold: 2
{analysis}
"
    )
}
