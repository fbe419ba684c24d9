//! Outcomes other than a value: no data, NaN, several series, credentials, timeouts and
//! unreachable servers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serin_analysis::ProviderCache;
use serin_analysis::context::ContextOverrides;
use serin_analysis::factory::ProviderOptions;
use serin_analysis::plan::SecretData;
use serin_analysis::{
    CheckResult, ErrorKind, MetricsProvider, PlanInputs, QueryError, Reading, build_provider,
    run_checks, run_planned,
};
use serin_crds::canary::{MetricOutcome, Provider};
use serin_crds::metric_template::{MetricProvider, SecretRef};
use serin_crds::{Canary, MetricTemplate, MetricTemplateSpec};

use crate::canary;
use crate::support::{
    Requirement, at_end, auth_proxy, free_port, options, prometheus, silent_server, tls_prometheus,
};

/// Runs `metrics` of a Linkerd canary, with one template `t` in namespace `test` when
/// `template` gives its query and provider, and with `secrets`.
async fn run(
    metrics: &str,
    template: Option<(&str, MetricProvider)>,
    secrets: &SecretData,
    options: &ProviderOptions,
) -> Vec<CheckResult> {
    run_for(&canary("linkerd", metrics), template, secrets, options).await
}

async fn run_for(
    canary: &Canary,
    template: Option<(&str, MetricProvider)>,
    secrets: &SecretData,
    options: &ProviderOptions,
) -> Vec<CheckResult> {
    let templates: Vec<MetricTemplate> = template
        .map(|(query, provider)| {
            let spec = MetricTemplateSpec {
                provider,
                query: query.into(),
            };
            let mut t = MetricTemplate::new("t", spec);
            t.metadata.namespace = Some("test".into());
            t
        })
        .into_iter()
        .collect();
    let overrides = ContextOverrides::default();
    let planned = crate::plan(
        canary,
        &PlanInputs {
            templates: &templates,
            metrics_server: &prometheus().url,
            default_router: Provider::Istio,
            overrides: &overrides,
        },
    );
    run_planned(
        planned,
        secrets,
        &ProviderCache::new(options.clone()),
        prometheus().at,
    )
    .await
}

fn prometheus_at(address: &str) -> MetricProvider {
    MetricProvider {
        address: Some(address.into()),
        ..MetricProvider::default()
    }
}

const TEMPLATE_CHECK: &str =
    "    - name: t\n      templateRef: {name: t}\n      thresholdRange: {max: 100}\n";

#[tokio::test]
async fn a_canary_without_traffic_has_no_data_with_a_hint() {
    let metrics = "    - name: request-success-rate
      thresholdRange: {min: 99}
      onNoData: Hold
    - name: request-duration
      thresholdRange: {max: 500}
";
    let mut idle = canary("linkerd", metrics);
    idle.spec.target_ref.name = "nothere".into();
    let empty = run_for(&idle, None, &SecretData::new(), &options()).await;
    for result in &empty {
        assert_eq!(result.outcome, MetricOutcome::NoData, "{}", result.message);
        for part in [
            "no values found",
            "no traffic",
            "response_total",
            r#"deployment=~"nothere""#,
        ] {
            assert!(result.message.contains(part), "{part}: {}", result.message);
        }
    }
    assert!(empty[0].message.contains("Hold"), "{}", empty[0].message);
    assert!(!empty[1].message.contains("Hold"), "{}", empty[1].message);

    // The same checks for the target that has traffic do read values.
    let busy = run(metrics, None, &SecretData::new(), &options()).await;
    assert_eq!(busy[0].outcome, MetricOutcome::Fail, "{}", busy[0].message);
    assert_eq!(busy[1].outcome, MetricOutcome::Pass, "{}", busy[1].message);
}

#[tokio::test]
async fn a_zero_over_zero_ratio_is_no_data() {
    let query = r#"sum(rate(istio_requests_total{destination_workload="idle",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{destination_workload="idle"}[1m])) * 100"#;
    let results = run(
        TEMPLATE_CHECK,
        Some((query, prometheus_at(&prometheus().url))),
        &SecretData::new(),
        &options(),
    )
    .await;
    assert_eq!(
        results[0].outcome,
        MetricOutcome::NoData,
        "{}",
        results[0].message
    );
    assert!(results[0].message.contains("NaN"), "{}", results[0].message);
}

#[tokio::test]
async fn several_series_are_an_error_not_the_last_value() {
    let query = r#"rate(response_total{namespace="{{ namespace }}",deployment="{{ target }}"}[{{ interval }}])"#;
    let results = run(
        TEMPLATE_CHECK,
        Some((query, prometheus_at(&prometheus().url))),
        &SecretData::new(),
        &options(),
    )
    .await;
    assert_eq!(
        results[0].outcome,
        MetricOutcome::Error,
        "{}",
        results[0].message
    );
    assert_eq!(results[0].error_category, Some("multiple_series"));
    assert!(
        results[0].message.contains("returned 4 series"),
        "{}",
        results[0].message
    );
}

#[tokio::test]
async fn a_range_vector_is_an_error() {
    let provider = build_provider(&prometheus_at(&prometheus().url), None, &options()).unwrap();
    let err = provider
        .query(&at_end("response_total[1m]"))
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::UnexpectedResultType(_)), "{err}");
}

#[tokio::test]
async fn the_prometheus_provider_answers_values_and_is_online() {
    let provider = build_provider(&prometheus_at(&prometheus().url), None, &options()).unwrap();
    assert_eq!(
        provider.query(&at_end("scalar(vector(42))")).await.unwrap(),
        Reading::Value(42.0)
    );
    assert_eq!(
        provider.query(&at_end("vector(7)")).await.unwrap(),
        Reading::Value(7.0)
    );
    assert_eq!(
        provider.query(&at_end("absent_metric_xyz")).await.unwrap(),
        Reading::Empty
    );
    provider.check_online().await.unwrap();
}

fn secret(pairs: &[(&str, &str)]) -> SecretData {
    let data: BTreeMap<String, Vec<u8>> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect();
    SecretData::from([(("test".to_owned(), "prom-auth".to_owned()), data)])
}

fn with_secret(address: &str) -> MetricProvider {
    MetricProvider {
        secret_ref: Some(SecretRef {
            name: "prom-auth".into(),
        }),
        ..prometheus_at(address)
    }
}

const SUCCESS_QUERY: &str = r#"sum(rate(response_total{namespace="{{ namespace }}",deployment="{{ target }}",direction="inbound",classification!="failure"}[{{ interval }}])) / sum(rate(response_total{namespace="{{ namespace }}",deployment="{{ target }}",direction="inbound"}[{{ interval }}])) * 100"#;

#[tokio::test]
async fn basic_auth_credentials_come_from_the_secret() {
    // "user:pass" in base64.
    let proxy = auth_proxy(vec![Requirement {
        header: ("authorization".into(), "Basic dXNlcjpwYXNz".into()),
    }])
    .await;
    let good = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, with_secret(&proxy))),
        &secret(&[("username", "user"), ("password", "pass")]),
        &options(),
    )
    .await;
    assert_eq!(good[0].outcome, MetricOutcome::Pass, "{}", good[0].message);
    assert!((good[0].value.unwrap() - 95.0).abs() < 1e-9);

    let bad = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, with_secret(&proxy))),
        &secret(&[("username", "user"), ("password", "wrong")]),
        &options(),
    )
    .await;
    assert_eq!(bad[0].outcome, MetricOutcome::Error, "{}", bad[0].message);
    assert_eq!(bad[0].error_category, Some("unauthorized"));
    assert!(bad[0].message.contains("HTTP 401"), "{}", bad[0].message);
    assert!(bad[0].message.contains("secretRef"), "{}", bad[0].message);

    let none = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, prometheus_at(&proxy))),
        &SecretData::new(),
        &options(),
    )
    .await;
    assert_eq!(
        none[0].error_category,
        Some("unauthorized"),
        "{}",
        none[0].message
    );
}

#[tokio::test]
async fn a_token_is_sent_as_bearer_and_custom_headers_are_sent() {
    let proxy = auth_proxy(vec![
        Requirement {
            header: ("authorization".into(), "Bearer s3cret".into()),
        },
        Requirement {
            header: ("x-scope-orgid".into(), "tenant-1".into()),
        },
    ])
    .await;
    let mut provider = with_secret(&proxy);
    provider.headers = Some(BTreeMap::from([(
        "X-Scope-OrgID".to_owned(),
        vec!["tenant-1".to_owned()],
    )]));
    let good = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, provider)),
        &secret(&[("token", "s3cret\n")]),
        &options(),
    )
    .await;
    assert_eq!(good[0].outcome, MetricOutcome::Pass, "{}", good[0].message);

    let headerless = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, with_secret(&proxy))),
        &secret(&[("token", "s3cret")]),
        &options(),
    )
    .await;
    assert_eq!(
        headerless[0].error_category,
        Some("unauthorized"),
        "{}",
        headerless[0].message
    );
}

#[tokio::test]
async fn a_secret_without_credentials_is_an_error_naming_it() {
    let results = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, with_secret(&prometheus().url))),
        &secret(&[("user", "x")]),
        &options(),
    )
    .await;
    assert_eq!(results[0].outcome, MetricOutcome::Error);
    assert!(
        results[0].message.contains("prom-auth"),
        "{}",
        results[0].message
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_without_delaying_other_checks() {
    let (_listener, silent) = silent_server();
    let options = ProviderOptions {
        timeout: Duration::from_millis(800),
        ..ProviderOptions::default()
    };
    let slow = build_provider(&prometheus_at(&silent), None, &options).unwrap();
    let fast = build_provider(&prometheus_at(&prometheus().url), None, &options).unwrap();
    let canary = canary(
        "linkerd",
        "    - name: request-success-rate\n      thresholdRange: {min: 90}\n",
    );
    let overrides = ContextOverrides::default();
    let check = crate::plan(
        &canary,
        &PlanInputs {
            templates: &[],
            metrics_server: &prometheus().url,
            default_router: Provider::Istio,
            overrides: &overrides,
        },
    )
    .remove(0)
    .unwrap();
    let started = Instant::now();
    let checks: Vec<(_, Arc<dyn MetricsProvider>)> = vec![
        (check.clone(), slow.clone()),
        (check.clone(), fast),
        (check, slow),
    ];
    let results = run_checks(checks, options.timeout, prometheus().at).await;
    let elapsed = started.elapsed();
    assert_eq!(
        results[0].outcome,
        MetricOutcome::Error,
        "{}",
        results[0].message
    );
    assert_eq!(results[0].error_category, Some("timeout"));
    assert!(
        results[0].message.contains("800ms"),
        "{}",
        results[0].message
    );
    assert_eq!(
        results[1].outcome,
        MetricOutcome::Pass,
        "{}",
        results[1].message
    );
    assert_eq!(results[2].error_category, Some("timeout"));
    // A query without an answer is followed by the provider's online check, which times out
    // too: each slow check takes two timeouts. The two ran side by side: one after the other
    // would take four.
    assert_eq!(results[0].error_kind, Some(ErrorKind::Unavailable));
    assert!(
        results[0].message.contains("online check failed too"),
        "{}",
        results[0].message
    );
    assert!(elapsed < Duration::from_millis(2400), "took {elapsed:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let address = format!("http://127.0.0.1:{}", free_port());
    let results = run(
        TEMPLATE_CHECK,
        Some((SUCCESS_QUERY, prometheus_at(&address))),
        &SecretData::new(),
        &options(),
    )
    .await;
    assert_eq!(
        results[0].outcome,
        MetricOutcome::Error,
        "{}",
        results[0].message
    );
    assert_eq!(
        results[0].error_category,
        Some("unreachable"),
        "{}",
        results[0].message
    );
    assert!(
        results[0].message.contains("cannot reach"),
        "{}",
        results[0].message
    );
    let provider = build_provider(&prometheus_at(&address), None, &options()).unwrap();
    assert!(provider.check_online().await.is_err());
}

#[tokio::test]
async fn insecure_skip_verify_accepts_a_self_signed_certificate() {
    let address = &tls_prometheus().url;
    let mut spec = prometheus_at(address);
    spec.insecure_skip_verify = Some(true);
    let unverified = build_provider(&spec, None, &options()).unwrap();
    // The listener opens before the data is loaded: poll until the server answers queries.
    let deadline = Instant::now() + Duration::from_secs(30);
    while unverified.check_online().await.is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        unverified.query(&at_end("vector(1)")).await.unwrap(),
        Reading::Value(1.0)
    );

    spec.insecure_skip_verify = None;
    let verified = build_provider(&spec, None, &options()).unwrap();
    let err = verified.query(&at_end("vector(1)")).await.unwrap_err();
    assert_eq!(err.category(), "unreachable", "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(err.to_string().contains("insecureSkipVerify"), "{err}");
}

#[tokio::test]
async fn a_wrong_base_path_is_an_http_error_with_a_hint() {
    let address = format!("{}/not-prometheus", prometheus().url);
    let provider = build_provider(&prometheus_at(&address), None, &options()).unwrap();
    let err = provider.query(&at_end("vector(1)")).await.unwrap_err();
    assert_eq!(err.category(), "http", "{err}");
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    assert!(err.to_string().contains("base address"), "{err}");
}
