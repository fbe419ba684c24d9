//! Datadog's `/api/v1/query` and `/api/v1/validate`, as Datadog answers them.

use std::collections::BTreeMap;

use serde_json::json;
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct Datadog;

const QUERY: &str =
    "sum:istio.mesh.request.count{destination_workload:podinfo,!response_code:404}.as_count()";

fn series(scope: &str, points: &[serde_json::Value]) -> serde_json::Value {
    let pointlist: Vec<_> = (0_u32..)
        .zip(points)
        .map(|(i, v)| json!([1_767_366_000_000.0 + 60_000.0 * f64::from(i), v]))
        .collect();
    json!({
        "metric": "istio.mesh.request.count",
        "display_name": "istio.mesh.request.count",
        "scope": scope,
        "expression": QUERY,
        "pointlist": pointlist,
        "length": points.len(),
        "aggr": "sum",
        "interval": 60,
        "unit": null,
    })
}

fn answer(all: &[serde_json::Value]) -> Reply {
    Reply::json(
        200,
        &json!({
            "status": "ok",
            "res_type": "time_series",
            "resp_version": 1,
            "query": QUERY,
            "from_date": 1_767_365_640_000_i64,
            "to_date": 1_767_366_240_000_i64,
            "series": all,
            "message": "",
            "group_by": [],
        }),
    )
}

impl Backend for Datadog {
    fn kind(&self) -> &'static str {
        "datadog"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Datadog, address),
            Some(secret(&[
                ("datadog_api_key", "api-key-1"),
                ("datadog_application_key", "app-key-1"),
            ])),
        )
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/api/v1/validate" {
            return Reply::json(200, &json!({"valid": true}));
        }
        match case {
            Case::Value => answer(&[series("*", &[json!(3.0), json!(1.5), json!(null)])]),
            Case::Integer => answer(&[series("*", &[json!(2), json!(7)])]),
            Case::Empty => answer(&[]),
            Case::NotANumber => answer(&[series("*", &[json!(null), json!(null)])]),
            Case::Several => answer(&[
                series("response_code:200", &[json!(1.0)]),
                series("response_code:503", &[json!(2.0)]),
            ]),
            Case::Rejected => Reply::json(
                400,
                &json!({"errors": [format!("Error parsing query: {REJECTION}")]}),
            ),
            Case::Unauthorized(status) => Reply::json(status, &json!({"errors": ["Forbidden"]})),
            Case::Malformed => {
                Reply::with_type(200, "text/html", "<html><body>Maintenance</body></html>")
            }
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/api/v1/query");
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("dd-api-key"), Some("api-key-1"));
        assert_eq!(r.header("dd-application-key"), Some("app-key-1"));
        assert_eq!(parameter(r, "query").as_deref(), Some(QUERY));
        let to = query.at.timestamp();
        assert_eq!(parameter(r, "to"), Some(to.to_string()));
        assert_eq!(
            parameter(r, "from"),
            Some((to - 600).to_string()),
            "ten windows back"
        );
    }
}

#[tokio::test]
async fn datadog_conforms() {
    super::conformance(&Datadog).await;
}
