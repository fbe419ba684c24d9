//! A release judged by Datadog instead of Prometheus: a stub of Datadog's query API computes
//! each answer from the simulated traffic (through the harness's Prometheus, as a Datadog agent
//! would report it) and answers in Datadog's format. A healthy revision is promoted, a failing
//! one rolled back; a Secret without a key the provider needs stalls the Canary without
//! counting failed checks, until the Secret is fixed.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, Provider};

use crate::support::{Harness, stalled};

const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: test}
spec:
  replicas: 1
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata:
      labels: {app: podinfo}
      annotations: {sim.serin.dev/error-rate: "0.0", sim.serin.dev/latency-ms: "20"}
    spec:
      containers: [{name: podinfo, image: "ghcr.io/stefanprodan/podinfo:6.0.0"}]
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {name: error-percentage, namespace: test}
spec:
  provider:
    type: datadog
    address: DATADOG
    secretRef: {name: datadog}
  query: |
    100 * sum:http.requests{kube_namespace:{{ namespace }},kube_deployment:{{ target }},status_class:5xx}.as_count()
    / sum:http.requests{kube_namespace:{{ namespace }},kube_deployment:{{ target }}}.as_count()
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: gatewayapi:v1
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 60
  service:
    port: 9898
    gatewayRefs: [{name: public, namespace: gateway}]
  analysis:
    interval: 2s
    threshold: 2
    stepWeight: 20
    maxWeight: 40
    metrics:
      - name: error-percentage
        templateRef: {name: error-percentage}
        interval: 10s
        thresholdRange: {max: 5}
        # A step's first check can run before the canary's pods have been scraped twice (rate
        # needs two samples), which Datadog answers with no series; Hold waits for the data
        # instead of counting it as a failed check, so the test does not depend on scrape timing.
        onNoData: Hold
"#;

const SECRET: &str = "
apiVersion: v1
kind: Secret
metadata: {name: datadog, namespace: test}
# dd-api and dd-app
data: {datadog_api_key: ZGQtYXBp, datadog_application_key: ZGQtYXBw}
";

const SECRET_WITHOUT_APPLICATION_KEY: &str = "
apiVersion: v1
kind: Secret
metadata: {name: datadog, namespace: test}
# dd-api
data: {datadog_api_key: ZGQtYXBp}
";

#[derive(Clone)]
struct Stub {
    prometheus: String,
    client: reqwest::Client,
}

/// Datadog's `GET /api/v1/query`: the percentage of 5xx answers of the canary's pods, one point
/// every 2 s over `from`..`to`, from the simulated traffic (as 100 minus the share of other
/// answers, so that a revision without errors reads 0 rather than no data).
async fn query(
    State(stub): State<Stub>,
    headers: HeaderMap,
    Query(parameters): Query<std::collections::BTreeMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    let key = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if key("dd-api-key") != Some("dd-api") || key("dd-application-key") != Some("dd-app") {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"errors": ["Forbidden"]})),
        );
    }
    let text = parameters.get("query").cloned().unwrap_or_default();
    let Some(deployment) = text
        .split("kube_deployment:")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
    else {
        let error = json!({"errors": ["Error parsing query: no kube_deployment tag"]});
        return (StatusCode::BAD_REQUEST, axum::Json(error));
    };
    let pods = format!(
        r#"kubernetes_namespace="test",kubernetes_pod_name=~"{deployment}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)""#
    );
    let promql = format!(
        r#"100 - 100 * sum(rate(http_request_duration_seconds_count{{{pods},status!~"5.."}}[10s])) / sum(rate(http_request_duration_seconds_count{{{pods}}}[10s]))"#
    );
    let range = [
        ("query", promql.as_str()),
        ("start", parameters.get("from").map_or("0", String::as_str)),
        ("end", parameters.get("to").map_or("0", String::as_str)),
        ("step", "2"),
    ];
    let answer: Value = match stub
        .client
        .get(format!("{}/api/v1/query_range", stub.prometheus))
        .query(&range)
        .send()
        .await
    {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let series: Vec<Value> = answer["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let points: Vec<Value> = s["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let value = p[1].as_str().and_then(|v| v.parse::<f64>().ok());
                    json!([p[0].as_f64().unwrap_or_default() * 1000.0, value.filter(|v| v.is_finite())])
                })
                .collect();
            json!({"metric": "http.requests", "scope": format!("kube_deployment:{deployment}"), "expression": text, "pointlist": points, "length": points.len()})
        })
        .collect();
    (
        StatusCode::OK,
        axum::Json(
            json!({"status": "ok", "res_type": "time_series", "query": text, "series": series}),
        ),
    )
}

async fn start_stub(prometheus: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the Datadog stub");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let stub = Stub {
        prometheus,
        client: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .route("/api/v1/query", axum::routing::get(query))
        .route(
            "/api/v1/validate",
            axum::routing::get(|| async { axum::Json(json!({"valid": true})) }),
        )
        .with_state(stub);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

fn primary_image(object: &Value) -> &str {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_judged_by_datadog_is_promoted_when_healthy_and_rolled_back_when_not() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    let datadog = start_stub(h.prometheus_url()).await;
    h.apply(SECRET);
    h.apply(&MANIFESTS.replace("DATADOG", &datadog));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let promoted = h
        .wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    let analysis = promoted.status.as_ref().and_then(|s| s.analysis.clone());
    let result = analysis.and_then(|a| a.metrics.into_iter().next());
    assert!(
        result
            .as_ref()
            .is_some_and(|r| r.value.is_some_and(|v| v < 5.0)),
        "judged by Datadog's answer: {result:?}"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary_image(&primary),
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );

    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.2.0", "0.5")
        .await;
    let failed = h
        .wait_for_phase("podinfo", CanaryPhase::Failed, Duration::from_secs(90))
        .await;
    let message = failed
        .status
        .as_ref()
        .and_then(|s| s.analysis.as_ref())
        .and_then(|a| a.metrics.first())
        .and_then(|m| m.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("above the maximum 5; datadog query"),
        "{message}"
    );
    let primary = h.get("apps/v1", "Deployment", "podinfo-primary").await;
    assert_eq!(
        primary_image(&primary),
        "ghcr.io/stefanprodan/podinfo:6.1.0"
    );
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_without_a_key_datadog_needs_stalls_the_canary_until_it_is_fixed() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let mut h = Harness::start(Provider::GatewayApiV1).await;
    let datadog = start_stub(h.prometheus_url()).await;
    h.apply(SECRET_WITHOUT_APPLICATION_KEY);
    h.apply(&MANIFESTS.replace("DATADOG", &datadog));
    h.wait_for_phase("podinfo", CanaryPhase::Initialized, Duration::from_secs(30))
        .await;
    h.release("podinfo", "ghcr.io/stefanprodan/podinfo:6.1.0", "0.0")
        .await;
    let canary = h
        .wait_until("podinfo", "Stalled", Duration::from_secs(60), |c| {
            stalled(c).is_some()
        })
        .await;
    let (reason, message) = stalled(&canary).expect("stalled");
    assert_eq!(reason, "MetricCheckInvalid");
    assert!(message.contains("datadog_application_key"), "{message}");
    assert!(message.contains("`datadog`"), "names the Secret: {message}");
    assert!(!message.contains("dd-api"), "no secret value: {message}");
    // Later ticks keep it stalled without counting failed checks toward the rollback.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let canaries: kube::Api<Canary> = kube::Api::namespaced(h.client.clone(), "test");
    let still = canaries.get("podinfo").await.expect("the canary");
    assert!(stalled(&still).is_some(), "{:?}", still.status);
    let status = still.status.clone().unwrap_or_default();
    assert_eq!(status.failed_checks.unwrap_or(0), 0, "{status:?}");
    assert_eq!(status.phase, Some(CanaryPhase::Progressing));

    h.apply(SECRET);
    h.wait_for_phase("podinfo", CanaryPhase::Succeeded, Duration::from_secs(90))
        .await;
    h.stop_controller().await;
}
