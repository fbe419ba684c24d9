//! The metric providers that read Kubernetes objects (Keptn), through kube's client against the
//! Kubernetes API emulator, and `serin analyze` as a process: Keptn through the kubeconfig, and
//! CloudWatch with credentials from AWS's default chain (environment variables, and web
//! identity as EKS's IRSA sets it up), against stubs speaking CloudWatch's awsJson1.0 protocol
//! and STS's query protocol. The instance metadata service is disabled in every run: these
//! tests talk only to 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;
use serin_analysis::{ProviderFactory, ProviderOptions, Query, Reading};
use serin_crds::metric_template::{MetricProvider, MetricProviderType};
use serin_sim::Server;

/// Keptn's metrics CRDs, reduced to what serin reads: `KeptnMetric` and `Analysis` with a
/// status subresource.
const KEPTN_CRDS: &str = r"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: keptnmetrics.metrics.keptn.sh}
spec:
  group: metrics.keptn.sh
  scope: Namespaced
  names: {kind: KeptnMetric, listKind: KeptnMetricList, plural: keptnmetrics, singular: keptnmetric}
  versions:
    - name: v1beta1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: analyses.metrics.keptn.sh}
spec:
  group: metrics.keptn.sh
  scope: Namespaced
  names: {kind: Analysis, listKind: AnalysisList, plural: analyses, singular: analysis}
  versions:
    - name: v1beta1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: v1
kind: Namespace
metadata: {name: podinfo}
---
apiVersion: metrics.keptn.sh/v1beta1
kind: KeptnMetric
metadata: {name: response-time, namespace: podinfo}
spec:
  provider: {name: my-prometheus}
  query: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))
  fetchIntervalSeconds: 10
";

fn resource(kind: &str) -> ApiResource {
    let plural = match kind {
        "Analysis" => "analyses",
        _ => "keptnmetrics",
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("metrics.keptn.sh", "v1beta1", kind),
        plural,
    )
}

async fn emulator_with_keptn() -> (Server, kube::Client) {
    let server = Server::start_default().await.expect("the emulator starts");
    server.apply_yaml(KEPTN_CRDS).expect("Keptn's CRDs apply");
    let client = server.client().expect("a client");
    let metrics: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "podinfo", &resource("KeptnMetric"));
    let status = json!({
        "apiVersion": "metrics.keptn.sh/v1beta1",
        "kind": "KeptnMetric",
        "status": {"value": "0.287", "rawValue": "MC4yODc=", "lastUpdated": "2026-01-02T15:04:00Z"},
    });
    metrics
        .patch_status(
            "response-time",
            &PatchParams::apply("keptn-test").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("the KeptnMetric gets a value");
    (server, client)
}

fn keptn() -> MetricProvider {
    MetricProvider {
        type_: MetricProviderType::Keptn,
        ..MetricProvider::default()
    }
}

fn query(text: &str) -> Query<'_> {
    Query {
        text,
        window: Duration::from_secs(60),
        at: chrono::Utc::now(),
    }
}

/// Plays Keptn's metrics operator: every Analysis in `podinfo` is `Completed`, passing, once it
/// has been seen; returns the names seen.
fn keptn_operator(client: kube::Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        let analyses: Api<DynamicObject> =
            Api::namespaced_with(client, "podinfo", &resource("Analysis"));
        loop {
            if let Ok(list) = analyses.list(&kube::api::ListParams::default()).await {
                for analysis in list.items {
                    let name = analysis.metadata.name.clone().unwrap_or_default();
                    let status = json!({
                        "apiVersion": "metrics.keptn.sh/v1beta1",
                        "kind": "Analysis",
                        "status": {"state": "Completed", "pass": true},
                    });
                    let _ = analyses
                        .patch_status(
                            &name,
                            &PatchParams::apply("keptn-test").force(),
                            &Patch::Apply(&status),
                        )
                        .await;
                    let mut seen = record.lock().expect("the record");
                    if !seen.contains(&name) {
                        seen.push(name);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keptn_metrics_and_analyses_are_read_through_kubes_client() {
    let (_server, client) = emulator_with_keptn().await;
    let factory = serin_controller::metric_providers::providers(client.clone());
    let options = ProviderOptions {
        timeout: Duration::from_secs(5),
        ..ProviderOptions::default()
    };
    let provider = factory
        .build(&keptn(), None, &options)
        .expect("a Keptn provider");
    provider
        .check_online()
        .await
        .expect("metrics.keptn.sh is served");

    let reading = provider
        .query(&query("keptnmetric/podinfo/response-time"))
        .await
        .expect("the KeptnMetric is read");
    assert_eq!(reading, Reading::Value(0.287));
    let missing = provider
        .query(&query("keptnmetric/podinfo/nothere"))
        .await
        .expect_err("no such KeptnMetric");
    assert!(
        missing
            .to_string()
            .contains("podinfo/nothere does not exist"),
        "{missing}"
    );

    let seen = keptn_operator(client.clone());
    let reading = provider
        .query(&query("analysis/podinfo/slo/5m/workload=podinfo"))
        .await
        .expect("the Analysis completes");
    assert_eq!(reading, Reading::Value(1.0));
    let names = seen.lock().expect("the record").clone();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("slo-"), "{names:?}");
    let analyses: Api<DynamicObject> =
        Api::namespaced_with(client, "podinfo", &resource("Analysis"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while analyses.get_opt(&names[0]).await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the Analysis was not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serin_analyze_reads_keptn_through_the_kubeconfig() {
    let (server, _client) = emulator_with_keptn().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("a kubeconfig");
    let manifests = dir.path().join("canary.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: response-time, namespace: test}
spec:
  provider: {type: keptn}
  query: keptnmetric/podinfo/response-time
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    threshold: 5
    metrics:
      - name: response-time
        templateRef: {name: response-time}
        thresholdRange: {max: 0.25}
",
    )
    .expect("write the manifests");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_serin"))
        .args(["analyze", "-f"])
        .arg(&manifests)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .await
        .expect("run serin analyze");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("response-time is 0.287, above the maximum 0.25; keptn query: keptnmetric/podinfo/response-time"),
        "{stdout}"
    );
}

/// Credentials the stubs accept: an access key from the environment, or the one STS hands out
/// for the web identity token `eks-token`.
const ACCEPTED: [(&str, &str); 2] = [
    ("AKIDENVIRONMENT", "session-token"),
    ("ASIAWEBIDENTITY", "web-identity-session"),
];

/// One stub for STS (`AssumeRoleWithWebIdentity`, query protocol, XML) and CloudWatch
/// (`GetMetricData`, awsJson1.0): one result whose newest value is 4, to signed requests with
/// [`ACCEPTED`] credentials; anything else is refused as AWS refuses it.
async fn aws_stub() -> String {
    use axum::http::HeaderMap;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let app = axum::Router::new().fallback(|headers: HeaderMap, body: String| async move {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        if body.contains("Action=AssumeRoleWithWebIdentity") {
            let authorized = body.contains("WebIdentityToken=eks-token")
                && body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fserin");
            if !authorized {
                return (axum::http::StatusCode::FORBIDDEN, "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized</Message></Error></ErrorResponse>".to_owned());
            }
            let xml = format!(
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>web-identity-secret</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><SubjectFromWebIdentityToken>system:serviceaccount:flagger-system:serin</SubjectFromWebIdentityToken><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:serin</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/serin/serin</Arn></AssumedRoleUser><Provider>oidc.eks.eu-west-1.amazonaws.com</Provider><Audience>sts.amazonaws.com</Audience></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
                ACCEPTED[1].0, ACCEPTED[1].1
            );
            return (axum::http::StatusCode::OK, xml);
        }
        let signed = ACCEPTED.iter().any(|(key, token)| {
            header("authorization").starts_with(&format!("AWS4-HMAC-SHA256 Credential={key}/"))
                && header("x-amz-security-token") == *token
        });
        if !signed {
            let body = json!({"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": "The security token included in the request is invalid."});
            return (axum::http::StatusCode::BAD_REQUEST, body.to_string());
        }
        let body = json!({"MetricDataResults": [{"Id": "e1", "Label": "errors", "Timestamps": [1_767_366_240, 1_767_366_180], "Values": [4.0, 9.0], "StatusCode": "Complete"}], "Messages": []});
        (axum::http::StatusCode::OK, body.to_string())
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

/// `serin analyze` with only `env` of AWS's settings (the instance metadata service disabled,
/// no shared config files).
fn analyze_with_aws_env(
    manifests: &std::path::Path,
    env: &[(&str, &str)],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_serin"));
    command.args(["analyze", "-f"]).arg(manifests);
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/serin-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/serin-test/credentials",
        );
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serin_analyze_signs_cloudwatch_requests_with_credentials_from_the_environment_or_web_identity()
 {
    let address = aws_stub().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let manifests = dir.path().join("canary.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: errors, namespace: test}}
spec:
  provider: {{type: cloudwatch, region: eu-west-1, address: "{address}"}}
  query: '[{{"Id": "e1", "Expression": "SUM(METRICS())", "ReturnData": true}}]'
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 9898}}
  analysis:
    interval: 1m
    threshold: 5
    metrics:
      - name: errors
        templateRef: {{name: errors}}
        thresholdRange: {{max: 5}}
"#
        ),
    )
    .expect("write the manifests");
    let token = dir.path().join("token");
    std::fs::write(&token, "eks-token").expect("write the web identity token");
    let token = token.to_str().expect("a UTF-8 path").to_owned();
    let environment = [
        ("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT"),
        ("AWS_SECRET_ACCESS_KEY", "secret-from-environment"),
        ("AWS_SESSION_TOKEN", "session-token"),
    ];
    let web_identity = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.as_str()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/serin"),
        ("AWS_ROLE_SESSION_NAME", "serin"),
        ("AWS_ENDPOINT_URL_STS", address.as_str()),
        ("AWS_ENDPOINT_URL", address.as_str()),
    ];
    let run = |with_credentials: bool| {
        let env: &[(&str, &str)] = if with_credentials { &environment } else { &[] };
        analyze_with_aws_env(&manifests, env).output()
    };
    let output = run(true).await.expect("run serin analyze");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("errors  Pass     4"),
        "the newest value: {stdout}"
    );

    let output = run(false).await.expect("run serin analyze");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("no AWS credentials"), "{stdout}");
    assert!(!stdout.contains("secret-from-environment"), "{stdout}");

    // IRSA: a web identity token file and a role, exchanged at STS for credentials.
    let output = analyze_with_aws_env(&manifests, &web_identity)
        .output()
        .await
        .expect("run serin analyze");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("errors  Pass     4"), "{stdout}");
}
