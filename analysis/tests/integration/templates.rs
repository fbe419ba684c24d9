//! MetricTemplates from Flagger's documentation, run against the test Prometheus.

use serin_analysis::CheckResult;
use serin_analysis::ProviderCache;
use serin_analysis::cli::Inputs;
use serin_analysis::context::ContextOverrides;
use serin_analysis::plan::SecretData;
use serin_analysis::{PlanInputs, run_planned};
use serin_crds::canary::{MetricOutcome, Provider};
use serin_crds::metric_template::MetricProviderType;

use crate::canary;
use crate::support::{flagger_manifest, options, prometheus};

/// Runs the template of corpus manifest `number` for the test canary, with `variables` (YAML
/// flow map) and the accepted range `range` (YAML flow map), against the test Prometheus.
async fn run_template(number: &str, variables: &str, range: &str) -> CheckResult {
    let mut inputs = Inputs::read(&[flagger_manifest(number)]).expect("the manifest reads");
    let mut template = inputs
        .templates
        .pop()
        .expect("the manifest is a MetricTemplate");
    if template.spec.provider.type_ == MetricProviderType::Prometheus {
        template.spec.provider.address = Some(prometheus().url.clone());
    }
    let name = template.metadata.name.clone().expect("a name");
    let namespace = template
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "test".into());
    let metrics = format!(
        "    - name: {name}
      templateRef: {{name: {name}, namespace: {namespace}}}
      templateVariables: {variables}
      thresholdRange: {range}
      interval: 1m
"
    );
    let canary = canary("istio", &metrics);
    let overrides = ContextOverrides::default();
    let planned = crate::plan(
        &canary,
        &PlanInputs {
            templates: &[template],
            metrics_server: &prometheus().url,
            default_router: Provider::Istio,
            overrides: &overrides,
        },
    );
    let mut results = run_planned(
        planned,
        &SecretData::new(),
        &ProviderCache::new(options()),
        prometheus().at,
    )
    .await;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

fn assert_value(result: &CheckResult, expected: f64, outcome: MetricOutcome) {
    assert!(result.value.is_some(), "no value: {}", result.message);
    let value = result.value.unwrap_or_default();
    assert!(
        (value - expected).abs() < 1e-6,
        "expected {expected}, got {value}: {}",
        result.message
    );
    assert_eq!(result.outcome, outcome, "{}", result.message);
}

#[tokio::test]
async fn latency_templates_return_the_p99() {
    // Seconds: 008 (Istio), 049 (app histogram, fixed [1m]), 051 (prometheus-operator labels).
    for number in ["008", "049", "051"] {
        let result = run_template(number, "{}", "{max: 0.5}").await;
        assert_value(&result, 0.29, MetricOutcome::Pass);
    }
    // Milliseconds divided by 1000: 021 (Istio source reporter).
    let result = run_template("021", "{}", "{max: 0.25}").await;
    assert_value(&result, 0.29, MetricOutcome::Fail);
    // Milliseconds, Linkerd with a direction variable: 045 and 061.
    for number in ["045", "061"] {
        let result = run_template(number, "{direction: inbound}", "{max: 500}").await;
        assert_value(&result, 290.0, MetricOutcome::Pass);
        assert!(
            result
                .query
                .as_deref()
                .is_some_and(|q| q.contains(r#"direction="inbound""#))
        );
    }
}

#[tokio::test]
async fn rate_templates_return_their_percentages() {
    let cases = [
        ("019", "{}", 100.0),                   // APISIX: no 4xx
        ("022", "{}", 5.0),                     // Istio error rate, source reporter
        ("044", "{direction: inbound}", 95.0),  // Linkerd success rate
        ("044", "{direction: outbound}", 50.0), // ... of outbound traffic
        ("050", "{}", 0.0),                     // prometheus-operator error rate
        ("056", "{}", 100.0),                   // Traefik: no 404
        ("062", "{}", 0.0),                     // Istio: no 404
        ("063", "{}", 90.0), // gRPC: 2 of 20 calls fail; the template subtracts from 100
    ];
    for (number, variables, expected) in cases {
        let result = run_template(number, variables, "{min: 0, max: 100}").await;
        assert_value(&result, expected, MetricOutcome::Pass);
    }
}

#[tokio::test]
async fn a_template_without_its_variable_is_an_error_naming_it() {
    let result = run_template("044", "{}", "{min: 99}").await;
    assert_eq!(result.outcome, MetricOutcome::Error);
    assert!(
        result.message.contains("variables.direction"),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn templates_with_invalid_promql_are_errors_quoting_prometheus() {
    // 033 and 042 miss a comma between two label matchers, as in Flagger's docs.
    for number in ["033", "042"] {
        let result = run_template(number, "{}", "{max: 5}").await;
        assert_eq!(result.outcome, MetricOutcome::Error, "{number}");
        assert_eq!(result.error_category, Some("rejected"), "{number}");
        assert!(result.message.contains("parse error"), "{}", result.message);
        assert!(
            result
                .message
                .contains("http_request_duration_seconds_count")
        );
    }
}

#[tokio::test]
async fn a_histogram_with_only_the_inf_bucket_has_no_data() {
    // 054 keeps only le="+Inf", so the quantile is NaN.
    let result = run_template("054", "{}", "{max: 500}").await;
    assert_eq!(result.outcome, MetricOutcome::NoData, "{}", result.message);
    assert!(result.message.contains("NaN"), "{}", result.message);
    assert!(
        result
            .query
            .as_deref()
            .is_some_and(|q| q.contains("kube(ew)?_test__podinfo_canary__"))
    );
}
