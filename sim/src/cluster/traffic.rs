//! Simulated load: per tick, counts of requests flow from entry points through routing rules and
//! Services to revisions, which answer with their configured error rate and latency.
//!
//! Counts are deterministic expected values (fractions carried between ticks); seeded randomness adds
//! bounded jitter to error counts and spreads latencies around each revision's mean.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::knative::Routed;
use super::metrics::{Observation, TrafficMetrics};
use super::routing::{Backend, Entry};
use super::snapshot::{Kind, Snapshot, key_of};
use super::workloads::{Workloads, scheduled_nodes};

/// The load generator's state: randomness, fractional carries and pod round-robin.
#[derive(Debug)]
pub(crate) struct Traffic {
    rng: StdRng,
    /// Fractional requests carried to the next tick, per flow, so long-run splits are exact.
    carry: HashMap<String, f64>,
    next_pod: usize,
}

/// Load parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) rps: f64,
    pub(crate) header_fraction: f64,
    pub(crate) seconds: f64,
}

struct Context<'a> {
    /// Services by (namespace, name).
    services: HashMap<(&'a str, &'a str), &'a Value>,
    /// Deployments by namespace and pod template label (`key=value`).
    /// Deployments and DaemonSets by namespace and pod label (`key=value`), with their kind
    /// and how many pods they run.
    workloads_by_label: HashMap<(&'a str, String), Vec<Workload<'a>>>,
    workloads: &'a Workloads,
    metrics: &'a TrafficMetrics,
}

/// A Deployment or DaemonSet, and how many pods it runs.
type Workload<'a> = (Kind, &'a Value, i64);

fn namespace_and_name(object: &Value) -> (&str, &str) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default(),
        meta["name"].as_str().unwrap_or_default(),
    )
}

impl<'a> Context<'a> {
    /// Indexes the snapshot once per tick, so routing a flow does not scan every object.
    fn new(snapshot: &'a Snapshot, workloads: &'a Workloads, metrics: &'a TrafficMetrics) -> Self {
        let services = snapshot
            .services
            .iter()
            .map(|s| (namespace_and_name(s), &**s))
            .collect();
        let mut workloads_by_label: HashMap<(&str, String), Vec<Workload<'_>>> = HashMap::new();
        let deployments = snapshot.deployments.iter().map(|d| {
            let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
            (Kind::Deployment, &**d, replicas)
        });
        let daemonsets = snapshot
            .daemonsets
            .iter()
            .map(|d| (Kind::DaemonSet, &**d, scheduled_nodes(d)));
        for (kind, workload, pods) in deployments.chain(daemonsets) {
            let namespace = namespace_and_name(workload).0;
            let labels = workload["spec"]["template"]["metadata"]["labels"].as_object();
            for (key, value) in labels.into_iter().flatten() {
                let label = format!("{key}={}", value.as_str().unwrap_or_default());
                workloads_by_label
                    .entry((namespace, label))
                    .or_default()
                    .push((kind, workload, pods));
            }
        }
        Self {
            services,
            workloads_by_label,
            workloads,
            metrics,
        }
    }
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

impl Traffic {
    /// A generator with a fixed seed.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            carry: HashMap::new(),
            next_pod: 0,
        }
    }

    fn take(&mut self, flow: String, expected: f64) -> u64 {
        let slot = self.carry.entry(flow).or_insert(0.0);
        let total = *slot + expected;
        let whole = (total + 1e-9).floor();
        *slot = total - whole;
        // Counts per tick are small; the float is finite and non-negative.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "finite non-negative count"
        )]
        let count = whole.max(0.0) as u64;
        count
    }

    /// Sends one tick of load into every entry.
    pub(crate) fn step(
        &mut self,
        snapshot: &Snapshot,
        workloads: &Workloads,
        entries: &[Entry],
        load: Load,
        metrics: &TrafficMetrics,
    ) {
        let context = Context::new(snapshot, workloads, metrics);
        let total = load.rps * load.seconds;
        for entry in entries {
            let headers = total * load.header_fraction.clamp(0.0, 1.0);
            for (amount, with_headers) in [(total - headers, false), (headers, true)] {
                let rule = if with_headers {
                    entry
                        .rules
                        .iter()
                        .find(|r| r.needs_headers)
                        .or_else(|| entry.rules.iter().find(|r| !r.needs_headers))
                } else {
                    entry.rules.iter().find(|r| !r.needs_headers)
                };
                let Some(rule) = rule else { continue };
                let weights: f64 = rule.backends.iter().map(|b| b.weight.max(0.0)).sum();
                if weights > 0.0 {
                    for backend in &rule.backends {
                        let share = amount * backend.weight.max(0.0) / weights;
                        self.send(&context, entry, backend, share, with_headers);
                    }
                }
                for mirror in &rule.mirrors {
                    let copy = Backend {
                        service: mirror.service.clone(),
                        weight: 1.0,
                        nginx_canary: String::new(),
                        skipper_route: String::new(),
                        apisix_route: String::new(),
                    };
                    self.send(
                        &context,
                        entry,
                        &copy,
                        amount * mirror.fraction,
                        with_headers,
                    );
                }
            }
        }
    }

    /// Sends one tick of load into each Knative Service, split by the traffic Knative
    /// programmed, each revision answering with its profile.
    pub(crate) fn step_knative(
        &mut self,
        routed: &[Routed<'_>],
        load: Load,
        metrics: &TrafficMetrics,
    ) {
        let total = load.rps * load.seconds;
        for service in routed {
            for (revision, percent) in &service.revisions {
                let flow = format!("knative/{}/{}", service.namespace, revision.name);
                let requests = self.take(flow.clone(), total * percent.clamp(0.0, 100.0) / 100.0);
                let profile = &revision.profile;
                #[allow(clippy::cast_precision_loss, reason = "per-tick counts are small")]
                let n = requests as f64;
                let errors = self
                    .take(format!("{flow}/errors"), n * profile.error_rate)
                    .min(requests);
                let batch: Vec<(u16, f64)> = (0..requests)
                    .map(|i| {
                        let code = if i < errors { 500 } else { 200 };
                        (code, profile.latency_ms * (0.5 + self.rng.random::<f64>()))
                    })
                    .collect();
                if !batch.is_empty() {
                    metrics.observe_knative(
                        service.namespace,
                        service.service,
                        &revision.name,
                        &batch,
                    );
                }
            }
        }
    }

    fn send(
        &mut self,
        context: &Context<'_>,
        entry: &Entry,
        backend: &Backend,
        expected: f64,
        with_headers: bool,
    ) {
        let Some(service) = context
            .services
            .get(&(entry.namespace.as_str(), backend.service.as_str()))
        else {
            return;
        };
        let port = service["spec"]["ports"][0]["port"].as_i64().unwrap_or(80);
        // Candidates carry the selector's first label; the full selector is checked below.
        let selector = &service["spec"]["selector"];
        let Some((key, value)) = selector.as_object().and_then(|s| s.iter().next()) else {
            return;
        };
        let first = format!("{key}={}", value.as_str().unwrap_or_default());
        let candidates = context
            .workloads_by_label
            .get(&(entry.namespace.as_str(), first))
            .map_or(&[][..], Vec::as_slice);
        let targets: Vec<Workload<'_>> = candidates
            .iter()
            .filter(|(_, w, pods)| {
                *pods > 0
                    && selects(
                        &service["spec"]["selector"],
                        &w["spec"]["template"]["metadata"]["labels"],
                    )
            })
            .copied()
            .collect();
        #[allow(clippy::cast_precision_loss, reason = "replica counts are small")]
        let replicas: f64 = targets.iter().map(|(_, _, r)| *r as f64).sum();
        for (kind, workload, count) in targets {
            let (namespace, name) = key_of(workload);
            let Some(profile) = context.workloads.serving(kind, &namespace, &name) else {
                continue;
            };
            #[allow(clippy::cast_precision_loss, reason = "replica counts are small")]
            let share = expected * count as f64 / replicas;
            let flow = format!(
                "{}/{}/{}/{name}/{with_headers}",
                entry.namespace, entry.id, backend.service
            );
            let requests = self.take(flow.clone(), share);
            let pods = profile.pod_names(&name, usize::try_from(count).unwrap_or(1));
            let nginx = entry
                .ingress
                .as_deref()
                .map(|ingress| (ingress, backend.nginx_canary.as_str()));
            // Errors: the expected count with bounded seeded jitter, carried so the long-run rate is exact.
            #[allow(clippy::cast_precision_loss, reason = "per-tick counts are small")]
            let (n, rate) = (requests as f64, profile.error_rate);
            let jitter = n * rate.min(1.0 - rate) * 0.4 * (self.rng.random::<f64>() - 0.5);
            let expected_errors = n * rate + jitter;
            let errors = self
                .take(format!("{flow}/errors"), expected_errors)
                .min(requests);
            // Requests round-robin over the revision's pods; each pod's batch is recorded at once.
            let mut batches: Vec<Vec<(u16, f64)>> = vec![Vec::new(); pods.len()];
            for i in 0..requests {
                let code = if i < errors { 500 } else { 200 };
                let latency_ms = profile.latency_ms * (0.5 + self.rng.random::<f64>());
                self.next_pod = self.next_pod.wrapping_add(1);
                batches[self.next_pod % pods.len()].push((code, latency_ms));
            }
            for (pod, batch) in pods.iter().zip(&batches).filter(|(_, b)| !b.is_empty()) {
                let observation = Observation {
                    namespace: &namespace,
                    deployment: &name,
                    service: &backend.service,
                    port,
                    pod,
                    nginx,
                    skipper_route: Some(backend.skipper_route.as_str()).filter(|r| !r.is_empty()),
                    apisix_route: Some(backend.apisix_route.as_str()).filter(|r| !r.is_empty()),
                };
                context.metrics.observe(&observation, batch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_make_long_run_counts_exact() {
        let mut traffic = Traffic::new(1);
        let total: u64 = (0..100).map(|_| traffic.take("f".into(), 0.3)).sum();
        assert_eq!(total, 30);
    }
}
