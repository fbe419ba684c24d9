//! Google Cloud Monitoring's `timeSeries:query` and an `OAuth2` token endpoint, as Google answers
//! them; the service-account key is made with openssl for the test.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, request_to, secret, spec};

pub(crate) struct Stackdriver;

const QUERY: &str = "fetch k8s_container | metric 'istio.io/service/server/response_latencies' | filter (metric.destination_service_name == 'podinfo-canary') | align delta(1m) | every 1m | group_by [], [p99: percentile(value.response_latencies, 99)]";
const PATH: &str = "/v3/projects/serin-project/timeSeries:query";

/// An RSA private key in PEM, made once per test process.
pub(crate) fn private_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let output = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("run openssl (scripts/test installs it)");
        assert!(output.status.success(), "openssl genpkey failed");
        String::from_utf8(output.stdout).expect("PEM text")
    })
}

/// A service-account key whose token endpoint is `address`/token.
pub(crate) fn service_account_key(address: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "serin-project",
        "private_key_id": "abc123",
        "private_key": private_key(),
        "client_email": "serin@serin-project.iam.gserviceaccount.com",
        "token_uri": format!("{address}/token"),
    })
    .to_string()
}

fn point(end: &str, value: &Value) -> Value {
    json!({"values": [value], "timeInterval": {"startTime": "2026-01-02T15:00:00Z", "endTime": end}})
}

fn answer(series: Vec<Value>, value_type: &str) -> Reply {
    let mut body = json!({
        "timeSeriesDescriptor": {
            "labelDescriptors": [{"key": "resource.pod_name"}],
            "pointDescriptors": [{"key": "p99", "valueType": value_type, "metricKind": "GAUGE"}],
        },
    });
    if !series.is_empty() {
        body["timeSeriesData"] = Value::Array(series);
    }
    Reply::json(200, &body)
}

fn series(label: &str, points: &[Value]) -> Value {
    json!({"labelValues": [{"stringValue": label}], "pointData": points})
}

impl Backend for Stackdriver {
    fn kind(&self) -> &'static str {
        "stackdriver"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        let key = service_account_key(address);
        (
            spec(MetricProviderType::Stackdriver, address),
            Some(secret(&[
                ("project", "serin-project"),
                ("serviceAccountKey", &key),
            ])),
        )
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/token" {
            return Reply::json(
                200,
                &json!({"access_token": "ya29.conformance", "expires_in": 3599, "token_type": "Bearer"}),
            );
        }
        match case {
            // Newest first, as Cloud Monitoring sends points.
            Case::Value => answer(
                vec![series(
                    "a",
                    &[
                        point("2026-01-02T15:04:00Z", &json!({"doubleValue": 1.5})),
                        point("2026-01-02T15:03:00Z", &json!({"doubleValue": 3.0})),
                    ],
                )],
                "DOUBLE",
            ),
            Case::Integer => answer(
                vec![series(
                    "a",
                    &[point("2026-01-02T15:04:00Z", &json!({"int64Value": "7"}))],
                )],
                "INT64",
            ),
            Case::Empty => answer(vec![], "DOUBLE"),
            Case::NotANumber => answer(
                vec![series(
                    "a",
                    &[point(
                        "2026-01-02T15:04:00Z",
                        &json!({"doubleValue": "NaN"}),
                    )],
                )],
                "DOUBLE",
            ),
            Case::Several => answer(
                vec![
                    series(
                        "a",
                        &[point("2026-01-02T15:04:00Z", &json!({"doubleValue": 1.0}))],
                    ),
                    series(
                        "b",
                        &[point("2026-01-02T15:04:00Z", &json!({"doubleValue": 2.0}))],
                    ),
                ],
                "DOUBLE",
            ),
            Case::Rejected => Reply::json(
                400,
                &json!({"error": {"code": 400, "message": format!("Could not parse the query: {REJECTION}"), "status": "INVALID_ARGUMENT"}}),
            ),
            Case::Unauthorized(status) => Reply::json(
                status,
                &json!({"error": {"code": status, "message": "Request had invalid authentication credentials.", "status": if status == 401 { "UNAUTHENTICATED" } else { "PERMISSION_DENIED" }}}),
            ),
            Case::Malformed => {
                Reply::with_type(200, "text/html", "<!DOCTYPE html><title>Error</title>")
            }
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], _query: &Query<'_>) {
        let token = request_to(requests, "/token");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(token.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert!(
            form.iter()
                .any(|(k, v)| k == "grant_type"
                    && v == "urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        let assertion = &form
            .iter()
            .find(|(k, _)| k == "assertion")
            .expect("an assertion")
            .1;
        assert_eq!(assertion.split('.').count(), 3, "a signed JWT");
        let r = request_to(requests, PATH);
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some("Bearer ya29.conformance"));
        assert_eq!(r.json(), json!({"query": QUERY}));
    }
}

#[tokio::test]
async fn stackdriver_conforms() {
    super::conformance(&Stackdriver).await;
}
