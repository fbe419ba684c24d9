//! The controller with a fake metric provider given through `Context::with_providers`: releases
//! on the emulator judged by values the test sets, with no Prometheus or vendor stub at all.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use serin_analysis::provider::ProviderFuture;
use serin_analysis::{
    MetricsProvider, ProviderError, ProviderFactory, ProviderOptions, Query, QueryError, Reading,
};
use serin_controller::metrics::Metrics;
use serin_controller::reconcile::{Context, ControllerConfig};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};
use serin_crds::metric_template::MetricProvider;
use serin_sim::Server;
use serin_sim::cluster::{Cluster, SimConfig};

const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec: {containers: [{name: podinfo, image: "podinfo:1"}]}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: errors, namespace: default}
spec:
  provider: {type: datadog}
  query: "errors{deployment:{{ target }}}"
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: default}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 80}
  analysis:
    interval: 1s
    threshold: 1
    iterations: 2
    metrics:
      - name: errors
        templateRef: {name: errors}
        interval: 30s
        thresholdRange: {max: 5}
"#;

/// A query as the fake saw it: text, window and evaluation time.
type Asked = (String, Duration, chrono::DateTime<chrono::Utc>);

/// What the fake answers, and the queries it was asked.
#[derive(Clone, Default)]
struct Fake {
    value: Arc<Mutex<f64>>,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl MetricsProvider for Fake {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn address(&self) -> &'static str {
        "fake://"
    }
    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(async move {
            self.asked.lock().expect("the record").push((
                query.text.to_owned(),
                query.window,
                query.at,
            ));
            Ok(Reading::Value(*self.value.lock().expect("the value")))
        })
    }
    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async { Ok(()) })
    }
}

impl ProviderFactory for Fake {
    fn build(
        &self,
        _spec: &MetricProvider,
        _secret_data: Option<&BTreeMap<String, Vec<u8>>>,
        _options: &ProviderOptions,
    ) -> Result<Arc<dyn MetricsProvider>, ProviderError> {
        Ok(Arc::new(self.clone()))
    }
}

async fn wait_for(canaries: &Api<Canary>, phase: CanaryPhase) -> Canary {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let canary = canaries.get("podinfo").await.expect("get the canary");
        if canary.status.as_ref().and_then(|s| s.phase) == Some(phase) {
            return canary;
        }
        assert!(
            Instant::now() < deadline,
            "not {phase:?} in time: {:?}",
            canary.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn release(client: &kube::Client, image: &str) {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "default");
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "podinfo", "image": image}]}}}});
    deployments
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("patch the target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_are_judged_by_the_injected_provider() {
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
    let fake = Fake::default();
    let mut registry = prometheus_client::registry::Registry::default();
    let ctx = Context::new(client.clone(), config, Metrics::new(&mut registry))
        .expect("context")
        .with_providers(Arc::new(fake.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(serin_controller::reconcile::run(Arc::new(ctx), async {
        let _ = stopped.await;
    }));
    server.apply_yaml(MANIFESTS).expect("apply the manifests");
    let canaries: Api<Canary> = Api::namespaced(client.clone(), "default");
    wait_for(&canaries, CanaryPhase::Initialized).await;

    *fake.value.lock().expect("the value") = 1.0;
    let before = chrono::Utc::now();
    release(&client, "podinfo:2").await;
    let promoted = wait_for(&canaries, CanaryPhase::Succeeded).await;
    let value = promoted
        .status
        .as_ref()
        .and_then(|s| s.analysis.as_ref())
        .and_then(|a| a.metrics.first())
        .and_then(|m| m.value);
    assert_eq!(value, Some(1.0));
    {
        let asked = fake.asked.lock().expect("the record");
        let (text, window, at) = asked.first().cloned().expect("the provider was asked");
        assert_eq!(text, "errors{deployment:podinfo}");
        assert_eq!(window, Duration::from_secs(30));
        assert!(at >= before, "the window ends at the tick's time");
    }

    *fake.value.lock().expect("the value") = 9.0;
    release(&client, "podinfo:3").await;
    let failed = wait_for(&canaries, CanaryPhase::Failed).await;
    let message = failed
        .status
        .as_ref()
        .and_then(|s| s.analysis.as_ref())
        .and_then(|a| a.metrics.first())
        .and_then(|m| m.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("errors is 9, above the maximum 5; fake query"),
        "{message}"
    );
    let _ = stop.send(());
    let _ = controller.await;
}
