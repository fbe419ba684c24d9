//! Integration tests against a real Prometheus (the Debian `prometheus` package) and
//! VictoriaMetrics (`victoria-metrics`), started once for this test binary with backfilled data
//! and queried at the data's last instant, and the conformance suite every metric provider
//! runs against a stub of its vendor's API.

mod analyze_providers;
mod builtin_queries;
mod cli;
mod comparison_counts;
mod conformance;
mod corpus;
mod data;
mod failures;
mod support;
mod templates;

use serin_crds::Canary;

/// A Canary `podinfo` in namespace `test` with router `provider` and the given metrics (YAML
/// list items, indented by four spaces).
pub(crate) fn canary(provider: &str, metrics: &str) -> Canary {
    let yaml = format!(
        "apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: {provider}
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    maxWeight: 50
    metrics:
{metrics}"
    );
    serde_yaml::from_str(&yaml).expect("the test canary parses")
}

/// Validates `canary` as the controller does and plans its checks; the test Canaries are valid.
pub(crate) fn plan(
    canary: &Canary,
    inputs: &serin_analysis::PlanInputs<'_>,
) -> Vec<Result<serin_analysis::MetricCheck, serin_analysis::plan::PlanFailure>> {
    serin_analysis::plan_canary(canary, inputs)
        .expect("the test canary is valid")
        .1
}
