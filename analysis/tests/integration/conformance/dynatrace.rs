//! Dynatrace's Metrics API v2 (`/api/v2/metrics/query`, `/api/v2/metrics`), as Dynatrace
//! answers it.

use std::collections::BTreeMap;

use serde_json::json;
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct Dynatrace;

const QUERY: &str = "builtin:service.response.time:filter(eq(dt.entity.service,SERVICE-ABCDEFG0123456789)):percentile(95)";

fn data(dimension: &str, values: &[serde_json::Value]) -> serde_json::Value {
    json!({
        "dimensions": [dimension],
        "dimensionMap": {"dt.entity.service": dimension},
        "timestamps": (0_i64..).zip(values).map(|(i, _)| 1_767_366_240_000_i64 + i).collect::<Vec<_>>(),
        "values": values,
    })
}

fn answer(all: &[serde_json::Value]) -> Reply {
    Reply::json(
        200,
        &json!({
            "totalCount": all.len(),
            "nextPageKey": null,
            "resolution": "Inf",
            "result": [{
                "metricId": QUERY,
                "dataPointCountRatio": 0.0001,
                "dimensionCountRatio": 0.001,
                "data": all,
            }],
        }),
    )
}

impl Backend for Dynatrace {
    fn kind(&self) -> &'static str {
        "dynatrace"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Dynatrace, address),
            Some(secret(&[("dynatrace_token", "dt0c01.token")])),
        )
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/api/v2/metrics" {
            return Reply::json(
                200,
                &json!({"totalCount": 1, "metrics": [{"metricId": "builtin:service.response.time"}]}),
            );
        }
        let service = "SERVICE-ABCDEFG0123456789";
        match case {
            Case::Value => answer(&[data(service, &[json!(1.5)])]),
            Case::Integer => answer(&[data(service, &[json!(7)])]),
            Case::Empty => answer(&[]),
            Case::NotANumber => answer(&[data(service, &[json!(null)])]),
            Case::Several => answer(&[
                data(service, &[json!(1.0)]),
                data("SERVICE-FFFFFFFFFFFFFFFF", &[json!(2.0)]),
            ]),
            Case::Rejected => Reply::json(
                400,
                &json!({"error": {"code": 400, "message": format!("Invalid metric selector: {REJECTION}")}}),
            ),
            Case::Unauthorized(status) => Reply::json(
                status,
                &json!({"error": {"code": status, "message": "Token Authentication failed"}}),
            ),
            Case::Malformed => Reply::json(200, &json!({"result": "nope"})),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/api/v2/metrics/query");
        assert_eq!(r.header("authorization"), Some("Api-Token dt0c01.token"));
        assert_eq!(parameter(r, "metricSelector").as_deref(), Some(QUERY));
        assert_eq!(parameter(r, "resolution").as_deref(), Some("Inf"));
        let to = query.at.timestamp_millis();
        assert_eq!(parameter(r, "to"), Some(to.to_string()));
        assert_eq!(parameter(r, "from"), Some((to - 600_000).to_string()));
    }
}

#[tokio::test]
async fn dynatrace_conforms() {
    super::conformance(&Dynatrace).await;
}
