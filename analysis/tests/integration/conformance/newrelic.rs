//! New Relic's Insights query API (`/v1/accounts/{id}/query`) and NerdGraph (`/graphql`), as New
//! Relic answers them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

const QUERY: &str = "SELECT filter(sum(nginx_ingress_controller_requests), WHERE status >= '500') / sum(nginx_ingress_controller_requests) * 100 FROM Metric WHERE ingress = 'podinfo'";

/// The results list of each case, or the error answer.
fn results(case: Case) -> Result<Value, Reply> {
    Ok(match case {
        Case::Value => json!([{"result": 1.5}]),
        Case::Integer => json!([{"count": 7}]),
        Case::Empty => json!([]),
        Case::NotANumber => json!([{"result": null}]),
        Case::Several => json!([{"facet": "a", "result": 1}, {"facet": "b", "result": 2}]),
        Case::Malformed => {
            return Err(Reply::with_type(200, "text/html", "<html>New Relic</html>"));
        }
        Case::Rejected | Case::Unauthorized(_) | Case::ServerError | Case::Slow => {
            unreachable!("answered by each API")
        }
    })
}

pub(crate) struct Insights;

impl Backend for Insights {
    fn kind(&self) -> &'static str {
        "newrelic"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Newrelic, address),
            Some(secret(&[
                ("newrelic_account_id", "12345"),
                ("newrelic_query_key", "NRIQ-key"),
            ])),
        )
    }

    fn answer(&self, case: Case, _request: &Recorded) -> Reply {
        match case {
            Case::Rejected => Reply::json(
                400,
                &json!({"error": format!("NRQL Syntax Error: {REJECTION}")}),
            ),
            Case::Unauthorized(status) => {
                Reply::json(status, &json!({"error": "Invalid query key"}))
            }
            Case::Several => Reply::json(
                200,
                &json!({"facets": [
                    {"name": "a", "results": [{"result": 1}]},
                    {"name": "b", "results": [{"result": 2}]},
                ]}),
            ),
            case => match results(case) {
                Ok(results) => Reply::json(
                    200,
                    &json!({"results": results, "metadata": {"eventTypes": ["Metric"]}}),
                ),
                Err(reply) => reply,
            },
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/v1/accounts/12345/query");
        assert_eq!(r.header("x-query-key"), Some("NRIQ-key"));
        let at = query.at.timestamp_millis();
        assert_eq!(
            parameter(r, "nrql"),
            Some(format!("{QUERY} SINCE {} UNTIL {at}", at - 60_000)),
            "one window back"
        );
    }
}

pub(crate) struct NerdGraph;

impl Backend for NerdGraph {
    fn kind(&self) -> &'static str {
        "newrelic"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Newrelic, address),
            Some(secret(&[
                ("newrelic_account_id", "12345"),
                ("newrelic_api_key", "NRAK-key"),
            ])),
        )
    }

    fn answer(&self, case: Case, _request: &Recorded) -> Reply {
        match case {
            Case::Rejected => Reply::json(
                200,
                &json!({
                    "data": {"actor": {"account": {"nrql": null}}},
                    "errors": [{"message": format!("NRQL Syntax Error: {REJECTION}"), "path": ["actor", "account", "nrql"]}],
                }),
            ),
            Case::Unauthorized(status) => {
                Reply::json(status, &json!({"errors": [{"message": "Invalid API key"}]}))
            }
            case => match results(case) {
                Ok(results) => Reply::json(
                    200,
                    &json!({"data": {"actor": {"account": {"nrql": {"results": results}}}}}),
                ),
                Err(reply) => reply,
            },
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/graphql");
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("api-key"), Some("NRAK-key"));
        let body = r.json();
        assert_eq!(body["variables"]["id"], 12345);
        let at = query.at.timestamp_millis();
        assert_eq!(
            body["variables"]["nrql"],
            format!("{QUERY} SINCE {} UNTIL {at}", at - 60_000)
        );
        assert!(
            body["query"]
                .as_str()
                .unwrap_or_default()
                .contains("nrql(query: $nrql)")
        );
    }
}

#[tokio::test]
async fn newrelic_insights_conforms() {
    super::conformance(&Insights).await;
}

#[tokio::test]
async fn newrelic_nerdgraph_conforms() {
    super::conformance(&NerdGraph).await;
}
