//! Prometheus's HTTP API (`/api/v1/query`), as Prometheus answers it.

use std::collections::BTreeMap;

use serde_json::json;
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct Prometheus;

const QUERY: &str = r#"sum(rate(http_requests_total{job="podinfo"}[1m]))"#;

fn vector(samples: &[(&str, &str)]) -> Reply {
    let result: Vec<_> = samples
        .iter()
        .map(|(pod, v)| json!({"metric": {"pod": pod}, "value": [1_767_366_240.0, v]}))
        .collect();
    Reply::json(
        200,
        &json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    )
}

impl Backend for Prometheus {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Prometheus, address),
            Some(secret(&[("token", "prom-token")])),
        )
    }

    fn answer(&self, case: Case, _request: &Recorded) -> Reply {
        match case {
            Case::Value => vector(&[("a", "1.5")]),
            Case::Integer => vector(&[("a", "7")]),
            Case::Empty => vector(&[]),
            Case::NotANumber => vector(&[("a", "NaN")]),
            Case::Several => vector(&[("a", "1"), ("b", "2")]),
            Case::Rejected => Reply::json(
                400,
                &json!({"status": "error", "errorType": "bad_data", "error": format!("1:5: parse error: {REJECTION}")}),
            ),
            Case::Unauthorized(status) => Reply::text(status, "Unauthorized\n"),
            Case::Malformed => Reply::with_type(200, "text/html", "<html>Grafana</html>"),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/api/v1/query");
        assert_eq!(r.header("authorization"), Some("Bearer prom-token"));
        assert_eq!(parameter(r, "query").as_deref(), Some(QUERY));
        assert_eq!(parameter(r, "time"), Some(query.at.timestamp().to_string()));
    }
}

#[tokio::test]
async fn prometheus_conforms() {
    super::conformance(&Prometheus).await;
}

/// The cases a real server can be made to answer with a query alone, against Prometheus and
/// VictoriaMetrics: the same outcomes as from the stub.
#[tokio::test]
async fn real_prometheus_and_victoria_metrics_answer_the_data_cases_alike() {
    use serin_analysis::plan::{CheckSource, MetricCheck, SecretData};
    use serin_analysis::threshold::Thresholds;
    use serin_analysis::{ProviderCache, ProviderOptions, run_planned};
    use serin_crds::canary::{MetricNoData, MetricOutcome};

    let cases = [
        ("vector(1.5)", MetricOutcome::Pass, Some(1.5)),
        ("scalar(vector(7))", MetricOutcome::Fail, Some(7.0)),
        (
            "absent_metric_for_serin_conformance",
            MetricOutcome::NoData,
            None,
        ),
        ("vector(0) / vector(0)", MetricOutcome::NoData, None),
        (
            r#"label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")"#,
            MetricOutcome::Error,
            None,
        ),
    ];
    for server in [
        crate::support::prometheus(),
        crate::support::victoria_metrics(),
    ] {
        for (query, outcome, value) in cases {
            let check = MetricCheck {
                name: "conformance".into(),
                source: CheckSource::InlineQuery,
                query: query.into(),
                window: super::WINDOW,
                provider: MetricProvider {
                    address: Some(server.url.clone()),
                    ..MetricProvider::default()
                },
                secret_namespace: "test".into(),
                thresholds: Thresholds {
                    min: None,
                    max: Some(5.0),
                },
                on_no_data: MetricNoData::Fail,
            };
            let providers = ProviderCache::new(ProviderOptions::default());
            let results =
                run_planned(vec![Ok(check)], &SecretData::new(), &providers, server.at).await;
            let r = &results[0];
            assert_eq!(r.outcome, outcome, "{} {query}: {}", server.url, r.message);
            assert_eq!(r.value, value, "{} {query}: {}", server.url, r.message);
            if outcome == MetricOutcome::Error {
                assert_eq!(r.error_category, Some("multiple_series"), "{}", r.message);
            }
        }
    }
}
