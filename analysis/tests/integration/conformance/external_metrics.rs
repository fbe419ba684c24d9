//! The Kubernetes External Metrics API (`external.metrics.k8s.io/v1beta1`) at an address, as a
//! metrics adapter (the Datadog Cluster Agent, KEDA) answers it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct ExternalMetrics;

const QUERY: &str = "webapp-frontend/job-success-rate?labelSelector=env%3Dproduction";
const PATH: &str =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/webapp-frontend/job-success-rate";

fn list(values: &[&str]) -> Reply {
    let items: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "metricName": "job-success-rate",
                "metricLabels": {"env": "production", "shard": i.to_string()},
                "timestamp": "2026-01-02T15:04:00Z",
                "value": v,
            })
        })
        .collect();
    Reply::json(
        200,
        &json!({"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": {}, "items": items}),
    )
}

/// A Kubernetes `Status` answer.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::json(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

impl Backend for ExternalMetrics {
    fn kind(&self) -> &'static str {
        "externalmetrics"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Externalmetrics, address),
            Some(secret(&[("token", "sa-token")])),
        )
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/apis/external.metrics.k8s.io/v1beta1" {
            return Reply::json(
                200,
                &json!({"kind": "APIResourceList", "groupVersion": "external.metrics.k8s.io/v1beta1", "resources": []}),
            );
        }
        match case {
            Case::Value => list(&["1500m"]),
            Case::Integer => list(&["7"]),
            Case::Empty | Case::NotANumber => list(&[]),
            Case::Several => list(&["1", "2"]),
            Case::Rejected => status(
                400,
                "BadRequest",
                &format!("unable to parse requirement: {REJECTION}"),
            ),
            Case::Unauthorized(401) => status(401, "Unauthorized", "Unauthorized"),
            Case::Unauthorized(code) => status(code, "Forbidden", "externalmetrics is forbidden"),
            Case::Malformed => Reply::with_type(200, "text/html", "<html>404 page</html>"),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], _query: &Query<'_>) {
        let r = request_to(requests, PATH);
        assert_eq!(r.header("authorization"), Some("Bearer sa-token"));
        assert_eq!(
            parameter(r, "labelSelector").as_deref(),
            Some("env=production")
        );
    }
}

#[tokio::test]
async fn external_metrics_conforms() {
    super::conformance(&ExternalMetrics).await;
}
