//! Prometheus metrics: endpoint calls, tasks, and the native load generator's results.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an endpoint call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The route, e.g. `/gate/check`.
    pub endpoint: String,
    /// The HTTP status code answered.
    pub code: String,
}

/// Labels of a finished task.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    /// The task type (`cmd`, `bash`, `load`, ...).
    pub r#type: String,
    /// `success`, `failure` or `timeout`.
    pub result: String,
}

/// Labels naming a load target.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    /// The target URL without its query string.
    pub target: String,
}

/// Labels of one generated request's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoadRequestLabels {
    /// The target URL without its query string.
    pub target: String,
    /// The HTTP status code, or `timeout` / `error` when no response came.
    pub code: String,
}

/// Labels of a latency quantile of the last finished run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuantileLabels {
    /// The target URL without its query string.
    pub target: String,
    /// The quantile, e.g. `0.99`.
    pub quantile: String,
}

type LatencyFamily = Family<TargetLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 250µs .. ~16s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

/// The load generator's metrics; cheap to clone (all handles are shared).
#[derive(Clone, Debug)]
pub struct LoadMetrics {
    /// Requests by target and outcome.
    pub requests: Family<LoadRequestLabels, Counter>,
    /// Latency from the intended send time, by target.
    pub latency: LatencyFamily,
    /// Requests sent and not yet answered.
    pub in_flight: Family<TargetLabels, Gauge>,
    /// Scheduled requests never sent because the run ended first.
    pub missed: Family<TargetLabels, Counter>,
    /// Latency quantiles of the last finished run, in seconds.
    pub quantiles: Family<QuantileLabels, Gauge<f64, AtomicU64>>,
    /// Achieved request rate of the last finished run.
    pub achieved_rps: Family<TargetLabels, Gauge<f64, AtomicU64>>,
}

impl Default for LoadMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Family::default(),
            missed: Family::default(),
            quantiles: Family::default(),
            achieved_rps: Family::default(),
        }
    }
}

/// Every metric the load tester exports, with the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Endpoint calls by route and status code.
    pub endpoint_requests: Family<EndpointLabels, Counter>,
    /// Finished tasks by type and result.
    pub tasks: Family<TaskLabels, Counter>,
    /// Tasks running now.
    pub tasks_running: Gauge,
    /// The load generator's metrics.
    pub load: LoadMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric under the `serin_loadtester_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("serin_loadtester");
        let endpoint_requests = Family::<EndpointLabels, Counter>::default();
        let tasks = Family::<TaskLabels, Counter>::default();
        let tasks_running = Gauge::default();
        let load = LoadMetrics::default();
        registry.register(
            "http_requests",
            "Calls to the load tester's endpoints, by endpoint and status code",
            endpoint_requests.clone(),
        );
        registry.register("tasks", "Finished tasks by type and result", tasks.clone());
        registry.register("tasks_running", "Tasks running now", tasks_running.clone());
        registry.register(
            "load_requests",
            "Generated requests by target and status code (timeout/error when none came back)",
            load.requests.clone(),
        );
        registry.register(
            "load_latency_seconds",
            "Generated request latency, measured from the intended send time",
            load.latency.clone(),
        );
        registry.register(
            "load_in_flight",
            "Generated requests awaiting a response",
            load.in_flight.clone(),
        );
        registry.register(
            "load_missed",
            "Scheduled requests not sent because the run ended first",
            load.missed.clone(),
        );
        registry.register(
            "load_last_run_latency_quantile_seconds",
            "Latency quantiles of the last finished run per target (HDR histogram)",
            load.quantiles.clone(),
        );
        registry.register(
            "load_last_run_achieved_rps",
            "Achieved request rate of the last finished run per target",
            load.achieved_rps.clone(),
        );
        Self {
            registry,
            endpoint_requests,
            tasks,
            tasks_running,
            load,
        }
    }

    /// Counts one endpoint call.
    pub fn count_endpoint(&self, endpoint: &str, code: u16) {
        self.endpoint_requests
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
                code: code.to_string(),
            })
            .inc();
    }

    /// Counts one finished task.
    pub fn count_task(&self, task_type: &str, result: &str) {
        self.tasks
            .get_or_create(&TaskLabels {
                r#type: task_type.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
