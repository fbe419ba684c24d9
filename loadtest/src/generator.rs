//! The native load generator. In the open model (a rate is given) request `i` is due at
//! `start + i / rate` whatever happened before; a request that had to wait for its worker's
//! previous answer is timed from that intended time, so a slow server cannot slow the schedule
//! down and hide its own queueing (no coordinated omission). Without a rate it runs hey's closed
//! model.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram as PromHistogram;
use tokio::time::Instant;

use crate::load_report::{LoadReport, new_latency_histogram};
use crate::load_spec::{LoadSpec, Pace, Stop};
use crate::metrics::{LoadMetrics, LoadRequestLabels, QuantileLabels, TargetLabels};

/// How long after the planned end a worker that fell behind may still send due requests.
const LATE_GRACE: Duration = Duration::from_millis(250);

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    /// An answer with this status code.
    Status(u16),
    /// No answer within the request timeout.
    Timeout,
    /// No answer: connection refused, reset, bad response...
    Error,
}

impl Outcome {
    fn label(self) -> String {
        match self {
            Self::Status(code) => code.to_string(),
            Self::Timeout => "timeout".to_owned(),
            Self::Error => "error".to_owned(),
        }
    }
}

/// A load run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Runs `spec` to completion, recording every request in `metrics` as it goes.
pub async fn run(spec: &LoadSpec, metrics: &LoadMetrics) -> Result<LoadReport, GeneratorError> {
    let client = build_client(spec)?;
    let target = spec.request.target_label();
    let shared = Arc::new(Shared {
        client,
        spec: spec.clone(),
        metrics: metrics.clone(),
        target: target.clone(),
        // Give workers a moment to start so that request 0 is not already late.
        start: Instant::now() + Duration::from_millis(5),
        claimed: AtomicU64::new(0),
    });
    let workers: Vec<_> = (0..spec.concurrency)
        .map(|index| tokio::spawn(worker(Arc::clone(&shared), index)))
        .collect();
    let mut totals = WorkerTally::new();
    for handle in workers {
        match handle.await {
            Ok(tally) => totals.merge(tally),
            Err(e) => tracing::error!(error = %e, "load worker failed"),
        }
    }
    // The run lasted at least as long as planned, even if the last answer came early.
    let elapsed = shared
        .start
        .elapsed()
        .max(spec.planned_duration().unwrap_or(Duration::ZERO));
    let requested_rps = match spec.pace {
        Pace::Rate(rate) => Some(rate),
        Pace::Unlimited => None,
    };
    let report = LoadReport {
        sent: totals.sent,
        by_code: totals
            .by_outcome
            .into_iter()
            .map(|(outcome, count)| (outcome.label(), count))
            .collect(),
        missed: totals.missed,
        elapsed,
        requested_rps,
        latency: totals.latency,
    };
    publish_summary(metrics, &target, &report);
    Ok(report)
}

fn build_client(spec: &LoadSpec) -> Result<reqwest::Client, reqwest::Error> {
    crate::install_crypto_provider();
    let redirects = if spec.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .user_agent(concat!("serin-loadtester/", env!("CARGO_PKG_VERSION")))
        .timeout(spec.request_timeout)
        .connect_timeout(spec.request_timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(if spec.keep_alive { spec.concurrency } else { 0 })
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(redirects)
        .build()
}

struct Shared {
    client: reqwest::Client,
    spec: LoadSpec,
    metrics: LoadMetrics,
    target: String,
    start: Instant,
    /// Closed model with a request count: requests claimed so far.
    claimed: AtomicU64,
}

/// One worker's counts, merged at the end so that workers share no lock.
struct WorkerTally {
    sent: u64,
    missed: u64,
    by_outcome: HashMap<Outcome, u64>,
    latency: Histogram<u64>,
}

impl WorkerTally {
    fn new() -> Self {
        Self {
            sent: 0,
            missed: 0,
            by_outcome: HashMap::new(),
            latency: new_latency_histogram(),
        }
    }

    fn merge(&mut self, other: WorkerTally) {
        self.sent += other.sent;
        self.missed += other.missed;
        for (outcome, count) in other.by_outcome {
            *self.by_outcome.entry(outcome).or_default() += count;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }
}

/// Per-worker handles to the live metrics, so that the hot path takes no family lock.
struct LiveMetrics {
    latency: PromHistogram,
    in_flight: Gauge,
    by_outcome: HashMap<Outcome, Counter>,
    shared: LoadMetrics,
    target: String,
}

impl LiveMetrics {
    fn new(metrics: &LoadMetrics, target: &str) -> Self {
        let labels = TargetLabels {
            target: target.to_owned(),
        };
        Self {
            latency: metrics.latency.get_or_create_owned(&labels),
            in_flight: metrics.in_flight.get_or_create_owned(&labels),
            by_outcome: HashMap::new(),
            shared: metrics.clone(),
            target: target.to_owned(),
        }
    }

    fn count(&mut self, outcome: Outcome) {
        if let Some(counter) = self.by_outcome.get(&outcome) {
            counter.inc();
            return;
        }
        let counter = self
            .shared
            .requests
            .get_or_create_owned(&LoadRequestLabels {
                target: self.target.clone(),
                code: outcome.label(),
            });
        counter.inc();
        self.by_outcome.insert(outcome, counter);
    }
}

async fn worker(shared: Arc<Shared>, index: usize) -> WorkerTally {
    let mut tally = WorkerTally::new();
    let mut live = LiveMetrics::new(&shared.metrics, &shared.target);
    match shared.spec.pace {
        Pace::Rate(rate) => open_model(&shared, index, rate, &mut tally, &mut live).await,
        Pace::Unlimited => closed_model(&shared, &mut tally, &mut live).await,
    }
    tally
}

async fn open_model(
    shared: &Shared,
    index: usize,
    rate: f64,
    tally: &mut WorkerTally,
    live: &mut LiveMetrics,
) {
    let total = shared.spec.scheduled_requests().unwrap_or(0);
    let end = shared.start + shared.spec.planned_duration().unwrap_or(Duration::ZERO) + LATE_GRACE;
    let step = shared.spec.concurrency as u64;
    let mut slot = index as u64;
    // When the previous request of this worker was answered.
    let mut free_at = shared.start;
    while slot < total {
        #[allow(clippy::cast_precision_loss)]
        let offset = Duration::from_secs_f64(slot as f64 / rate);
        let intended = shared.start + offset;
        let now = Instant::now();
        if now < intended {
            tokio::time::sleep_until(intended).await;
        } else if now >= end {
            // Still behind schedule after the end of the run: the rest will never be sent.
            let remaining = (total - slot).div_ceil(step);
            tally.missed += remaining;
            shared
                .metrics
                .missed
                .get_or_create(&TargetLabels {
                    target: shared.target.clone(),
                })
                .inc_by(remaining);
            break;
        }
        // A request that waited for the previous answer is charged from its intended time: that
        // wait is the server's doing. One that was only woken late by the timer (the worker was
        // idle when it fell due) is charged from when it was sent.
        let charged_from = if free_at > intended {
            intended
        } else {
            Instant::now()
        };
        send_one(shared, charged_from, tally, live).await;
        free_at = Instant::now();
        slot += step;
    }
}

async fn closed_model(shared: &Shared, tally: &mut WorkerTally, live: &mut LiveMetrics) {
    loop {
        match shared.spec.stop {
            Stop::After(duration) => {
                if shared.start.elapsed() >= duration {
                    break;
                }
            }
            Stop::Requests(count) => {
                if shared.claimed.fetch_add(1, Ordering::Relaxed) >= count {
                    break;
                }
            }
        }
        let now = Instant::now();
        if now < shared.start {
            tokio::time::sleep_until(shared.start).await;
        }
        send_one(shared, Instant::now(), tally, live).await;
    }
}

async fn send_one(
    shared: &Shared,
    charged_from: Instant,
    tally: &mut WorkerTally,
    live: &mut LiveMetrics,
) {
    let request = &shared.spec.request;
    live.in_flight.inc();
    let outcome = shared
        .client
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers.clone())
        .body(request.body.clone())
        .send()
        .await;
    let result = match outcome {
        Ok(mut response) => {
            let status = response.status();
            // Drain the body so the connection goes back to the pool.
            let drained = loop {
                match response.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            match drained {
                Ok(()) => Outcome::Status(status.as_u16()),
                Err(e) => failure_kind(&e),
            }
        }
        Err(e) => failure_kind(&e),
    };
    live.in_flight.dec();
    let latency = charged_from.elapsed();
    live.latency.observe(latency.as_secs_f64());
    live.count(result);
    tally.sent += 1;
    *tally.by_outcome.entry(result).or_default() += 1;
    let micros = u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    tally.latency.saturating_record(micros);
}

fn failure_kind(error: &reqwest::Error) -> Outcome {
    if error.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::Error
    }
}

fn publish_summary(metrics: &LoadMetrics, target: &str, report: &LoadReport) {
    for (label, q) in [("0.5", 0.5), ("0.9", 0.9), ("0.99", 0.99), ("0.999", 0.999)] {
        metrics
            .quantiles
            .get_or_create(&QuantileLabels {
                target: target.to_owned(),
                quantile: label.to_owned(),
            })
            .set(report.latency_quantile(q).as_secs_f64());
    }
    metrics
        .achieved_rps
        .get_or_create(&TargetLabels {
            target: target.to_owned(),
        })
        .set(report.achieved_rps());
}
