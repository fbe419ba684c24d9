//! The demo's cluster, on this machine: the Kubernetes API emulator with its simulated
//! workloads and traffic, a real Prometheus scraping that traffic, serin's load tester, and the
//! controller, all on 127.0.0.1. Everything stops when the [`Environment`] is dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serin_crds::canary::Provider;
use serin_sim::cluster::{Cluster, SimConfig};
use serin_sim::prometheus::{Prometheus, PrometheusConfig};
use serin_sim::{Server, metrics_http};
use tokio::sync::oneshot;

use crate::client::ClientOptions;
use crate::metrics::{KubeApiMetrics, Metrics};
use crate::reconcile::{Context, ControllerConfig};

/// The Gateway API's HTTPRoute and GRPCRoute CRDs, installed as an operator would before using
/// Gateway API routes.
pub const GATEWAY_API_CRDS: &str = concat!(
    include_str!("../../../third_party/gateway-api/httproutes.yaml"),
    "\n---\n",
    include_str!("../../../third_party/gateway-api/grpcroutes.yaml"),
);

/// Why the environment could not start.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    /// The API emulator failed.
    #[error("the Kubernetes API emulator: {0}")]
    Emulator(String),
    /// Prometheus could not be installed or started.
    #[error("Prometheus: {0}")]
    Prometheus(String),
    /// A local server could not listen.
    #[error("listening on 127.0.0.1: {0}")]
    Listen(#[from] std::io::Error),
    /// The controller could not be set up.
    #[error("the controller: {0}")]
    Controller(String),
}

/// A running demo cluster.
pub struct Environment {
    /// The API emulator.
    pub server: Server,
    /// A client for it.
    pub client: kube::Client,
    /// Prometheus, scraping the simulated traffic.
    pub prometheus: Prometheus,
    /// Where the load tester listens.
    pub loadtester: SocketAddr,
    /// The Kubernetes API requests of the controller last started, as its
    /// `serin_kube_api_requests_total` counts them.
    pub controller_api_requests: KubeApiMetrics,
    mesh_provider: Provider,
    _cluster: Cluster,
    controller: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

/// What the emulated cluster has besides serin's and the Gateway API's CRDs.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// More CustomResourceDefinitions to install (a mesh's, say), as YAML documents.
    pub crds: Vec<String>,
    /// Whether the simulated istiod reports VirtualService status.
    pub istio_status: bool,
}

impl Environment {
    /// Starts the emulator (with serin's and the Gateway API's CRDs and a `test` namespace), the
    /// simulated cluster, Prometheus and the load tester. The controller is started separately.
    pub async fn start(mesh_provider: Provider) -> Result<Environment, EnvironmentError> {
        Environment::start_with(mesh_provider, ClusterOptions::default()).await
    }

    /// [`Environment::start`], with more of a cluster.
    pub async fn start_with(
        mesh_provider: Provider,
        options: ClusterOptions,
    ) -> Result<Environment, EnvironmentError> {
        let emulator = |e: &dyn std::fmt::Display| EnvironmentError::Emulator(e.to_string());
        let server = Server::start_default().await.map_err(|e| emulator(&e))?;
        server
            .apply_yaml(GATEWAY_API_CRDS)
            .map_err(|e| emulator(&e))?;
        for crds in &options.crds {
            server.apply_yaml(crds).map_err(|e| emulator(&e))?;
        }
        let crds = crate::crds::crds_yaml().map_err(|e| emulator(&e))?;
        server.apply_yaml(&crds).map_err(|e| emulator(&e))?;
        server
            .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: test}\n")
            .map_err(|e| emulator(&e))?;
        let client = server.client().map_err(|e| emulator(&e))?;
        let registry = server.metrics_registry();
        let sim = SimConfig {
            rps: 200.0,
            ready_delay: Duration::from_millis(500),
            tick: Duration::from_millis(100),
            istio_status: options.istio_status,
            ..SimConfig::default()
        };
        let cluster = Cluster::start(client.clone(), sim, &registry);
        let metrics_addr =
            metrics_http::serve(SocketAddr::from(([127, 0, 0, 1], 0)), registry).await?;
        let prometheus = tokio::task::spawn_blocking(move || {
            Prometheus::start(&PrometheusConfig {
                targets: vec![metrics_addr],
                scrape_interval: Duration::from_millis(500),
                ..PrometheusConfig::default()
            })
        })
        .await
        .map_err(|e| EnvironmentError::Prometheus(e.to_string()))?
        .map_err(|e| EnvironmentError::Prometheus(e.to_string()))?;
        let loadtester = start_loadtester().await?;
        Ok(Environment {
            server,
            client,
            prometheus,
            loadtester,
            controller_api_requests: KubeApiMetrics::default(),
            mesh_provider,
            _cluster: cluster,
            controller: None,
        })
    }

    /// Starts the controller, as a new process would: it knows only what the cluster holds.
    pub fn start_controller(&mut self) -> Result<(), EnvironmentError> {
        self.start_controller_with(|_| {})
    }

    /// Starts the controller with settings changed by `adjust`.
    pub fn start_controller_with(
        &mut self,
        adjust: impl FnOnce(&mut ControllerConfig),
    ) -> Result<(), EnvironmentError> {
        let mut config = ControllerConfig {
            mesh_provider: self.mesh_provider,
            metrics_server: self.prometheus.url(),
            query_timeout: Duration::from_secs(5),
            webhook_retry_delay: Duration::from_millis(50),
            ..ControllerConfig::default()
        };
        adjust(&mut config);
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Metrics::new(&mut registry);
        self.controller_api_requests = metrics.kube_api.clone();
        // The controller's own client, as `serin controller` builds it, so that its requests
        // are counted.
        let uri = self
            .server
            .base_url()
            .parse()
            .map_err(|e: http::uri::InvalidUri| EnvironmentError::Controller(e.to_string()))?;
        let client = crate::client::build(
            kube::Config::new(uri),
            ClientOptions {
                qps: 10_000.0,
                burst: 10_000,
                identity: "demo".into(),
                fence: None,
                metrics: Some(metrics.kube_api.clone()),
                timeout: crate::client::DEFAULT_REQUEST_TIMEOUT,
            },
        )
        .map_err(|e| EnvironmentError::Controller(e.to_string()))?;
        let ctx = Context::new(client, config, metrics)
            .map_err(|e| EnvironmentError::Controller(e.to_string()))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::reconcile::run(Arc::new(ctx), async {
            let _ = stopped.await;
        }));
        self.controller = Some((stop, task));
        Ok(())
    }

    /// Stops the controller and waits (up to 10 seconds) for it to finish.
    pub async fn stop_controller(&mut self) {
        if let Some((stop, task)) = self.controller.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Applies manifests, pointing webhooks at `http://serin-loadtester.test/` to the local load
    /// tester.
    pub fn apply(&self, yaml: &str) -> Result<(), EnvironmentError> {
        let yaml = yaml.replace(
            "http://serin-loadtester.test/",
            &format!("http://{}/", self.loadtester),
        );
        self.server
            .apply_yaml(&yaml)
            .map(|_| ())
            .map_err(|e| EnvironmentError::Emulator(e.to_string()))
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.controller.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

async fn start_loadtester() -> Result<SocketAddr, EnvironmentError> {
    use serin_loadtest::gates::Gates;
    use serin_loadtest::server::{AppState, router};
    use serin_loadtest::tasks::TaskConfig;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(Gates::in_memory(), TaskConfig::default(), None);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(state)).await {
            tracing::error!(error = %e, "load tester stopped");
        }
    });
    Ok(addr)
}
