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
