//! InfluxDB 2's `/api/v2/query` (Flux, annotated CSV) and `/health`, as InfluxDB answers them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, parameter, request_to, secret, spec};

pub(crate) struct InfluxDb;

const QUERY: &str = r#"from(bucket: "default") |> range(start: -2h) |> filter(fn: (r) => r["_measurement"] == "istio_requests_total") |> filter(fn: (r) => r["response_code"] == "500") |> count() |> yield(name: "count")"#;

/// One annotated CSV table of `(time, value)` rows whose `_value` has `datatype`.
fn table(table: u32, datatype: &str, rows: &[(&str, &str)]) -> String {
    let mut csv = format!(
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,{datatype},string,string\r\n\
         #group,false,false,true,true,false,false,true,true\r\n\
         #default,_result,,,,,,,\r\n\
         ,result,table,_start,_stop,_time,_value,_field,_measurement\r\n"
    );
    for (time, value) in rows {
        let _ = write!(
            csv,
            ",,{table},2026-01-02T13:04:00Z,2026-01-02T15:04:00Z,{time},{value},counter,istio_requests_total\r\n"
        );
    }
    csv.push_str("\r\n");
    csv
}

fn csv(body: &str) -> Reply {
    Reply::with_type(200, "text/csv; charset=utf-8", body)
}

impl Backend for InfluxDb {
    fn kind(&self) -> &'static str {
        "influxdb"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Influxdb, address),
            Some(secret(&[("token", "influx-token"), ("org", "serin")])),
        )
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/health" {
            return Reply::json(200, &json!({"name": "influxdb", "status": "pass"}));
        }
        match case {
            Case::Value => csv(&table(
                0,
                "double",
                // Newest last in time, though not last in the answer.
                &[
                    ("2026-01-02T15:03:00Z", "1.5"),
                    ("2026-01-02T15:02:00Z", "3"),
                ],
            )),
            Case::Integer => csv(&table(0, "long", &[("2026-01-02T15:04:00Z", "7")])),
            Case::Empty => csv("\r\n"),
            Case::NotANumber => csv(&table(0, "double", &[("2026-01-02T15:04:00Z", "NaN")])),
            Case::Several => csv(&format!(
                "{}{}",
                table(0, "double", &[("2026-01-02T15:04:00Z", "1")]),
                table(1, "double", &[("2026-01-02T15:04:00Z", "2")])
            )),
            Case::Rejected => Reply::json(
                400,
                &json!({"code": "invalid", "message": format!("compilation failed: error @1:1-1:5: {REJECTION}")}),
            ),
            Case::Unauthorized(status) => Reply::json(
                status,
                &json!({"code": "unauthorized", "message": "unauthorized access"}),
            ),
            Case::Malformed => Reply::json(200, &json!({"results": []})),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], _query: &Query<'_>) {
        let r = request_to(requests, "/api/v2/query");
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some("Token influx-token"));
        assert_eq!(parameter(r, "org").as_deref(), Some("serin"));
        let body = r.json();
        assert_eq!(body["query"], QUERY);
        assert_eq!(body["type"], "flux");
        assert_eq!(
            body["dialect"]["annotations"],
            json!(["datatype", "group", "default"])
        );
    }
}

#[tokio::test]
async fn influxdb_conforms() {
    super::conformance(&InfluxDb).await;
}
