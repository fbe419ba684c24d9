//! The end-to-end harness: the Kubernetes API emulator with its simulated cluster, a real
//! Prometheus scraping the simulated traffic, and serin's controller, all on 127.0.0.1.

use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use serin_controller::demo::{ClusterOptions, Environment};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

/// The upstream CRDs of a router's kinds, from `shared/mesh-crds/` beside the repository (or
/// under `$SERIN_SHARED`), as a cluster operator installs them.
pub(crate) fn mesh_crds(file: &str) -> String {
    let path = shared().join("mesh-crds").join(file);
    let crds = std::fs::read_to_string(&path);
    assert!(
        crds.is_ok(),
        "the router CRDs at {}: {crds:?}",
        path.display()
    );
    crds.unwrap_or_default()
}

/// A manifest from Flagger's documentation and examples, in `shared/flagger-compat/manifests/`.
pub(crate) fn flagger_manifest(file: &str) -> String {
    let path = shared().join("flagger-compat/manifests").join(file);
    let manifest = std::fs::read_to_string(&path);
    assert!(manifest.is_ok(), "{}: {manifest:?}", path.display());
    manifest.unwrap_or_default()
}

/// The podinfo Deployment of the router tests: two healthy replicas of 6.0.0 in `test`.
pub(crate) const PODINFO_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test, labels: {app: podinfo}}
spec:
  replicas: 2
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{containerPort: 9898, name: http}]}]
"#;

/// The image of a Deployment's first container.
pub(crate) fn image_of(deployment: &Value) -> &str {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

/// The canary weight in a Canary's status.
/// The reason and message of the Canary's `Stalled=True` condition, if it has one.
pub(crate) fn stalled(c: &Canary) -> Option<(String, String)> {
    let condition = c
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Stalled" && c.status == "True")?;
    Some((
        condition.reason.clone(),
        condition.message.clone().unwrap_or_default(),
    ))
}

pub(crate) fn canary_weight(canary: &Canary) -> Option<u32> {
    canary.status.as_ref().and_then(|s| s.canary_weight)
}

fn shared() -> std::path::PathBuf {
    std::env::var_os("SERIN_SHARED").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        std::path::PathBuf::from,
    )
}

/// A running emulated cluster with Prometheus and the controller: the demo's environment, with
/// the helpers tests need.
pub(crate) struct Harness {
    env: Environment,
    pub(crate) client: kube::Client,
}

impl Harness {
    /// Starts everything; Canaries without `spec.provider` use `mesh_provider`.
    pub(crate) async fn start(mesh_provider: Provider) -> Harness {
        Harness::start_with(mesh_provider, |_| {}).await
    }

    /// Starts everything, with controller settings changed by `adjust`.
    pub(crate) async fn start_with(
        mesh_provider: Provider,
        adjust: impl FnOnce(&mut serin_controller::reconcile::ControllerConfig),
    ) -> Harness {
        Harness::start_cluster(mesh_provider, ClusterOptions::default(), adjust).await
    }

    /// Starts everything on a cluster with `options` (a mesh's CRDs, say).
    pub(crate) async fn start_cluster(
        mesh_provider: Provider,
        options: ClusterOptions,
        adjust: impl FnOnce(&mut serin_controller::reconcile::ControllerConfig),
    ) -> Harness {
        let mut env = Environment::start_with(mesh_provider, options)
            .await
            .expect("environment (scripts/test installs Prometheus)");
        env.start_controller_with(adjust).expect("controller");
        let client = env.client.clone();
        Harness { env, client }
    }

    /// Starts a controller (as a fresh process would: no state but the cluster's).
    pub(crate) fn start_controller(&mut self) {
        self.env.start_controller().expect("controller");
    }

    /// Starts everything on a cluster with the router CRDs of `files` (in `shared/mesh-crds/`);
    /// Canaries without `spec.provider` use `mesh_provider`.
    pub(crate) async fn start_with_mesh_crds(mesh_provider: Provider, files: &[&str]) -> Harness {
        let options = ClusterOptions {
            crds: files.iter().map(|f| mesh_crds(f)).collect(),
            istio_status: false,
        };
        Harness::start_cluster(mesh_provider, options, |_| {}).await
    }

    /// Applies the Canary of Flagger's tutorial `file` in `namespace` (shortened for tests),
    /// with the load tester and metric templates and then `objects` (the router's), and waits
    /// until it is initialized.
    pub(crate) async fn start_flagger_tutorial(
        &self,
        file: &str,
        namespace: &str,
        objects: &[String],
    ) {
        let manifest = crate::istio::shortened(&flagger_manifest(file), namespace);
        self.apply(&crate::istio::supporting_objects(
            namespace,
            &self.prometheus_url(),
        ));
        for object in objects {
            self.apply(object);
        }
        self.apply(&serde_yaml::to_string(&manifest).expect("yaml"));
        self.wait_until_in(namespace, "podinfo", file, Duration::from_secs(60), |c| {
            c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Initialized)
        })
        .await;
    }

    /// Releases a healthy podinfo 6.1.0 for the tutorial Canary `file` started by
    /// [`Harness::start_flagger_tutorial`], and waits until it is promoted.
    pub(crate) async fn promote_flagger_tutorial(&self, file: &str, namespace: &str) {
        let image = "ghcr.io/stefanprodan/podinfo:6.1.0";
        self.release_in(namespace, "podinfo", image, "0.0").await;
        self.wait_until_in(namespace, "podinfo", file, Duration::from_secs(150), |c| {
            c.status.as_ref().and_then(|s| s.phase) == Some(CanaryPhase::Succeeded)
        })
        .await;
        let primary = self
            .get_in(namespace, "apps/v1", "Deployment", "podinfo-primary")
            .await;
        assert_eq!(image_of(&primary), image);
    }

    /// Creates or replaces the objects in `yaml`.
    pub(crate) fn apply(&self, yaml: &str) {
        self.env.apply(yaml).expect("apply manifests");
    }

    /// Changes the target's pod template: a new image and new simulated behaviour.
    pub(crate) async fn release(&self, name: &str, image: &str, error_rate: &str) {
        self.release_in("test", name, image, error_rate).await;
    }

    /// [`Harness::release`] in `namespace`.
    pub(crate) async fn release_in(
        &self,
        namespace: &str,
        name: &str,
        image: &str,
        error_rate: &str,
    ) {
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), namespace);
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
        self.wait_until_in("test", name, what, timeout, check).await
    }

    /// [`Harness::wait_until`] for a Canary in `namespace`.
    pub(crate) async fn wait_until_in(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Canary) -> bool,
    ) -> Canary {
        let canaries: Api<Canary> = Api::namespaced(self.client.clone(), namespace);
        let deadline = Instant::now() + timeout;
        loop {
            let canary = canaries.get(name).await.expect("get canary");
            if check(&canary) {
                return canary;
            }
            assert!(
                Instant::now() < deadline,
                "canary {namespace}/{name} did not reach {what} within {timeout:?}; status: {}\ntraffic: {}",
                serde_json::to_string_pretty(&canary.status).unwrap_or_default(),
                self.traffic_summary().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls `check` every half second until it holds; fails with what it last reported after
    /// `timeout`.
    pub(crate) async fn eventually(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut() -> Result<(), String>,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let Err(last) = check().await else { return };
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {timeout:?}: {last}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
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
        let url = format!("{}/api/v1/query", self.env.prometheus.url());
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
        self.events().await.into_iter().map(|(r, _)| r).collect()
    }

    /// Reasons and notes of the Events recorded in the test namespace, oldest first.
    pub(crate) async fn events(&self) -> Vec<(String, String)> {
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
            .filter_map(|e| {
                let note = e.data["note"].as_str().unwrap_or_default().to_owned();
                e.data["reason"].as_str().map(|r| (r.to_owned(), note))
            })
            .collect()
    }

    /// A namespaced object as JSON.
    pub(crate) async fn get(&self, api_version: &str, kind: &str, name: &str) -> Value {
        self.get_in("test", api_version, kind, name).await
    }

    /// An object in `namespace` as JSON.
    pub(crate) async fn get_in(
        &self,
        namespace: &str,
        api_version: &str,
        kind: &str,
        name: &str,
    ) -> Value {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        // Discovery says whether the kind is cluster-scoped (Kuma's TrafficRoute).
        let (resource, capabilities) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .expect("the kind is served");
        let api: Api<kube::api::DynamicObject> =
            if capabilities.scope == kube::discovery::Scope::Cluster {
                Api::all_with(self.client.clone(), &resource)
            } else {
                Api::namespaced_with(self.client.clone(), namespace, &resource)
            };
        let object = api.get(name).await;
        assert!(
            object.is_ok(),
            "{kind} {namespace}/{name}: {:?}",
            object.as_ref().err()
        );
        serde_json::to_value(object.ok()).expect("json")
    }

    /// The controller's Kubernetes API reads so far (`get` and `list` requests, by resource),
    /// from its `serin_kube_api_requests_total`; watches are not reads per tick.
    pub(crate) fn controller_reads(&self) -> std::collections::BTreeMap<String, f64> {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register(
            "requests",
            "",
            self.env.controller_api_requests.requests.clone(),
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        let mut reads = std::collections::BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("requests_total{")) {
            let label = |name: &str| {
                line.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            if matches!(label("verb").as_str(), "get" | "list") {
                let value: f64 = line
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                *reads.entry(label("resource")).or_default() += value;
            }
        }
        reads
    }

    /// Stops the harness's Prometheus: queries to it fail until it is restarted.
    pub(crate) fn stop_prometheus(&mut self) {
        tokio::task::block_in_place(|| self.env.prometheus.stop());
    }

    /// Starts the harness's Prometheus again, on the same address with its data.
    pub(crate) fn restart_prometheus(&mut self) {
        tokio::task::block_in_place(|| self.env.prometheus.restart()).expect("restart Prometheus");
    }

    /// The API emulator: its fault injection and write audit.
    pub(crate) fn server(&self) -> &serin_sim::Server {
        &self.env.server
    }

    /// Where the harness's Prometheus answers.
    pub(crate) fn prometheus_url(&self) -> String {
        self.env.prometheus.url()
    }

    /// Merge-patches a namespaced object.
    pub(crate) async fn patch(&self, api_version: &str, kind: &str, name: &str, patch: &Value) {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let resource = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            group, version, kind,
        ));
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), "test", &resource);
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("patch object");
    }

    /// Stops the controller and waits for it.
    pub(crate) async fn stop_controller(&mut self) {
        self.env.stop_controller().await;
    }
}

/// podinfo in namespace `test`, healthy, with two replicas: the target of the router tests.
pub(crate) const PODINFO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test, labels: {app: podinfo}}
spec:
  replicas: 2
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0", ports: [{containerPort: 9898, name: http}]}]
"#;

/// A Canary `podinfo` in `test` for `provider`, in steps of 25% up to 50%, judged on the
/// built-in metrics of the provider's mesh.
pub(crate) fn stepped_canary(provider: Provider) -> String {
    format!(
        r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: '{provider}'
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  progressDeadlineSeconds: 60
  service: {{port: 80, targetPort: 9898}}
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 25
    metrics:
      - {{name: request-success-rate, interval: 10s, thresholdRange: {{min: 90}}}}
      - {{name: request-duration, interval: 10s, thresholdRange: {{max: 500}}}}
"
    )
}

/// The routing object a router writes for `podinfo`, and how to read its split back.
pub(crate) struct RoutingObject {
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) name: &'static str,
    /// `(primary, canary)` weights as the object has them.
    pub(crate) split: fn(&Value) -> (f64, f64),
}

impl Harness {
    async fn assert_split(&self, routing: &RoutingObject, expected: (f64, f64), when: &str) {
        let object = self
            .get(routing.api_version, routing.kind, routing.name)
            .await;
        assert_eq!((routing.split)(&object), expected, "{when}: {object}");
    }

    /// The router scenario on [`PODINFO`] and the Canary applied by the test: initialised at
    /// 100/0, a healthy release promoted through 50/50 back to 100/0, then a failing release
    /// rolled back with traffic on the primary and the primary's image unchanged.
    pub(crate) async fn promote_then_roll_back(&mut self, routing: &RoutingObject) {
        self.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
            .await;
        self.assert_split(routing, (100.0, 0.0), "initialised")
            .await;
        self.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
            .await;
        self.wait_until("podinfo", "weight 50", Duration::from_secs(60), |c| {
            canary_weight(c) == Some(50)
        })
        .await;
        self.assert_split(routing, (50.0, 50.0), "at 50%").await;
        self.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
            .await;
        let primary = self.get("apps/v1", "Deployment", "podinfo-primary").await;
        assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
        self.assert_split(routing, (100.0, 0.0), "promoted").await;

        self.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
            .await;
        let failed = self
            .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
            .await;
        assert_eq!(canary_weight(&failed), Some(0));
        self.assert_split(routing, (100.0, 0.0), "rolled back")
            .await;
        let primary = self.get("apps/v1", "Deployment", "podinfo-primary").await;
        assert_eq!(image_of(&primary), "ghcr.io/stefanprodan/podinfo:6.1.0");
        self.stop_controller().await;
    }
}
