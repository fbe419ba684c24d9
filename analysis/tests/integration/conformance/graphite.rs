//! Graphite's render API (`/render?format=json`), as graphite-web answers it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct Graphite;

const QUERY: &str = "target=summarize(asPercent(sumSeries(stats.timers.podinfo.outcome.SUCCESS.count),sumSeries(stats.timers.podinfo.outcome.*.count)),1m,'avg')";

fn target(name: &str, values: &[Value]) -> Value {
    let points: Vec<_> = (0_i64..)
        .zip(values)
        .map(|(i, v)| json!([v, 1_767_366_000 + 60 * i]))
        .collect();
    json!({"target": name, "tags": {"name": name}, "datapoints": points})
}

impl Backend for Graphite {
    fn kind(&self) -> &'static str {
        "graphite"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Graphite, address),
            Some(secret(&[("username", "graphite"), ("password", "s3cret")])),
        )
    }

    fn answer(&self, case: Case, _request: &Recorded) -> Reply {
        let name = "summarize(asPercent(...),\"1m\",\"avg\")";
        match case {
            Case::Value => Reply::json(
                200,
                &json!([target(name, &[json!(3.0), json!(1.5), json!(null)])]),
            ),
            Case::Integer => Reply::json(200, &json!([target(name, &[json!("2"), json!(7)])])),
            Case::Empty => Reply::json(200, &json!([])),
            Case::NotANumber => {
                Reply::json(200, &json!([target(name, &[json!(null), json!(null)])]))
            }
            Case::Several => Reply::json(
                200,
                &json!([target("a", &[json!(1.0)]), target("b", &[json!(2.0)])]),
            ),
            Case::Rejected => Reply::text(400, &format!("Invalid function: {REJECTION}\n")),
            Case::Unauthorized(status) => {
                Reply::with_type(status, "text/html", "<h1>401 Authorization Required</h1>")
            }
            Case::Malformed => Reply::text(200, "summarize(...),1767366000,1767366060,60|1.5"),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = request_to(requests, "/render");
        // "graphite:s3cret"
        assert_eq!(
            r.header("authorization"),
            Some("Basic Z3JhcGhpdGU6czNjcmV0")
        );
        assert_eq!(
            parameter(r, "target").as_deref(),
            QUERY.strip_prefix("target=")
        );
        assert_eq!(parameter(r, "format").as_deref(), Some("json"));
        let until = query.at.timestamp();
        assert_eq!(parameter(r, "until"), Some(until.to_string()));
        assert_eq!(parameter(r, "from"), Some((until - 600).to_string()));
    }
}

#[tokio::test]
async fn graphite_conforms() {
    super::conformance(&Graphite).await;
}
