//! CloudWatch's `GetMetricData` and `ListMetrics` over awsJson1.0, as AWS answers them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::{Backend, Case, REJECTION, Recorded, Reply, secret, spec};

pub(crate) struct CloudWatch;

const QUERY: &str = r#"[{"Id": "e1", "Expression": "m1 / m2", "Label": "Percentage of 5xx errors"}, {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "MyKubernetesCluster", "MetricName": "ErrorCount", "Dimensions": [{"Name": "appName", "Value": "podinfo.test"}]}, "Period": 60, "Stat": "Sum", "Unit": "Count"}, "ReturnData": false}, {"Id": "m2", "MetricStat": {"Metric": {"Namespace": "MyKubernetesCluster", "MetricName": "RequestCount", "Dimensions": [{"Name": "appName", "Value": "podinfo.test"}]}, "Period": 60, "Stat": "Sum", "Unit": "Count"}, "ReturnData": false}]"#;

fn results(values: &[Vec<Value>]) -> Reply {
    let results: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "Id": format!("e{}", i + 1),
                "Label": "Percentage of 5xx errors",
                "Timestamps": (0_i64..).zip(v).map(|(j, _)| 1_767_366_240 - 60 * j).collect::<Vec<_>>(),
                "Values": v,
                "StatusCode": "Complete",
            })
        })
        .collect();
    Reply::with_type(
        200,
        "application/x-amz-json-1.0",
        &json!({"MetricDataResults": results, "Messages": []}).to_string(),
    )
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::with_type(
        status,
        "application/x-amz-json-1.0",
        &json!({"__type": format!("com.amazonaws.cloudwatch#{code}"), "message": message})
            .to_string(),
    )
}

impl Backend for CloudWatch {
    fn kind(&self) -> &'static str {
        "cloudwatch"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        let mut spec = spec(MetricProviderType::Cloudwatch, address);
        spec.region = Some("eu-west-1".into());
        (
            spec,
            Some(secret(&[
                ("aws_access_key_id", "AKIDEXAMPLE"),
                (
                    "aws_secret_access_key",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                ),
            ])),
        )
    }

    fn refused_status(&self, status: u16) -> u16 {
        if status == 401 { 400 } else { status }
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.header("x-amz-target") == Some("GraniteServiceVersion20100801.ListMetrics") {
            return Reply::with_type(200, "application/x-amz-json-1.0", r#"{"Metrics": []}"#);
        }
        match case {
            // Newest first (ScanBy TimestampDescending).
            Case::Value => results(&[vec![json!(1.5), json!(3.0)]]),
            Case::Integer => results(&[vec![json!(7)]]),
            Case::Empty => results(&[vec![]]),
            Case::NotANumber => results(&[]),
            Case::Several => results(&[vec![json!(1.0)], vec![json!(2.0)]]),
            Case::Rejected => error(
                400,
                "ValidationError",
                &format!("The value for parameter MetricDataQueries is invalid: {REJECTION}"),
            ),
            Case::Unauthorized(401) => error(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            Case::Unauthorized(status) => error(
                status,
                "AccessDeniedException",
                "User is not authorized to perform: cloudwatch:GetMetricData",
            ),
            Case::Malformed => Reply::with_type(200, "text/xml", "<GetMetricDataResponse/>"),
            Case::ServerError | Case::Slow => unreachable!("answered by the stub"),
        }
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        let r = requests
            .iter()
            .find(|r| {
                r.header("x-amz-target") == Some("GraniteServiceVersion20100801.GetMetricData")
            })
            .expect("a GetMetricData call");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/");
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
        let authorization = r.header("authorization").expect("signed");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/eu-west-1/monitoring/aws4_request")
                && authorization.contains("SignedHeaders=")
                && authorization.contains("Signature="),
            "{authorization}"
        );
        assert!(r.header("x-amz-date").is_some());
        let body = r.json();
        let queries: Value = serde_json::from_str(QUERY).expect("the query is JSON");
        assert_eq!(body["MetricDataQueries"], queries);
        assert_eq!(body["EndTime"], query.at.timestamp());
        assert_eq!(body["StartTime"], query.at.timestamp() - 600);
        assert_eq!(body["MaxDatapoints"], 20);
        assert_eq!(body["ScanBy"], "TimestampDescending");
    }
}

#[tokio::test]
async fn cloudwatch_conforms() {
    super::conformance(&CloudWatch).await;
}
