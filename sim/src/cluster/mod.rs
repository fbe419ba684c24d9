//! The simulated cluster: workload status, route status and traffic metrics, acting only through the
//! Kubernetes API so it runs against the emulator or a real API server alike.

mod apisix;
pub mod contour;
mod gateway;
pub mod gloo;
pub mod istiod;
pub mod knative;
mod metrics;
mod pods;
pub mod revision;
mod routing;
mod snapshot;
mod status_writer;
mod traffic;
mod workloads;

pub use gateway::CONTROLLER_NAME;
pub use metrics::Exporters;

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::metrics_http::SharedRegistry;
use metrics::TrafficMetrics;
use snapshot::Informers;
use traffic::{Load, Traffic};
use workloads::Workloads;

/// Settings of the simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Requests per second entering each entry point (routing object or unrouted Service).
    pub rps: f64,
    /// Fraction of requests carrying headers that match header-based rules (A/B testing).
    pub header_fraction: f64,
    /// Time after a workload change until its new revision is ready.
    pub ready_delay: Duration,
    /// Period of the simulation loop.
    pub tick: Duration,
    /// Seed of the traffic randomness.
    pub seed: u64,
    /// Whether to create `ReplicaSets` and `Pods` for Deployment revisions.
    pub pods: bool,
    /// Which exporters' metrics to produce.
    pub exporters: Exporters,
    /// Whether to write VirtualService status as istiod does with `PILOT_ENABLE_STATUS=true`.
    pub istio_status: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            rps: 100.0,
            header_fraction: 0.1,
            ready_delay: Duration::from_secs(1),
            tick: Duration::from_millis(200),
            seed: 1,
            pods: true,
            exporters: Exporters::default(),
            istio_status: false,
        }
    }
}

/// A running simulated cluster; stops when dropped.
#[derive(Debug)]
pub struct Cluster {
    task: JoinHandle<()>,
}

impl Cluster {
    /// Starts the simulation against the API server behind `client`, registering its metrics in `registry`.
    pub fn start(client: kube::Client, config: SimConfig, registry: &SharedRegistry) -> Self {
        let metrics = TrafficMetrics::new(config.exporters);
        metrics.register(
            &mut registry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Self {
            task: tokio::spawn(run(client, config, metrics)),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(client: kube::Client, config: SimConfig, metrics: TrafficMetrics) {
    let mut workloads = Workloads::default();
    let mut gateway = gateway::Gateway::default();
    let mut reporters = status_writer::reporters(config.istio_status);
    let mut traffic = Traffic::new(config.seed);
    let mut pods = pods::Pods::default();
    let mut knative = knative::Knative::default();
    let mut informers = Informers::start(&client, Duration::from_secs(1).min(config.tick * 5));
    let mut ticker = tokio::time::interval(config.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = Instant::now();
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let seconds = now.duration_since(last).as_secs_f64();
        last = now;
        let snapshot = informers.snapshot();
        if let Err(e) = workloads
            .step(
                &client,
                &snapshot.deployments,
                &snapshot.daemonsets,
                config.ready_delay,
                now,
            )
            .await
        {
            tracing::warn!(error = %e, "simulated cluster: writing workload status failed");
        }
        if config.pods
            && let Err(e) = pods.step(&client, &snapshot.deployments, &workloads).await
        {
            tracing::warn!(error = %e, "simulated cluster: writing pods failed");
        }
        if let Err(e) = gateway.step(&client, &snapshot).await {
            tracing::warn!(error = %e, "simulated cluster: writing route status failed");
        }
        for reporter in &mut reporters {
            if let Err(e) = reporter.step(&client, &snapshot).await {
                tracing::warn!(error = %e, kind = ?reporter.kind, "simulated cluster: writing route status failed");
            }
        }
        if let Err(e) = knative
            .step(&client, &snapshot.knative_services, config.ready_delay, now)
            .await
        {
            tracing::warn!(error = %e, "simulated cluster: writing Knative status failed");
        }
        let entries = routing::entries(&snapshot);
        let load = Load {
            rps: config.rps,
            header_fraction: config.header_fraction,
            seconds,
        };
        traffic.step(&snapshot, &workloads, &entries, load, &metrics);
        traffic.step_knative(&knative.routed(), load, &metrics);
    }
}
