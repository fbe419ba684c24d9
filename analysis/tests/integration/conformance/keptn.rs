//! Keptn's `metrics.keptn.sh/v1beta1` objects, served by a stub of the Kubernetes API and read
//! through a [`KubernetesApi`] over HTTP (the controller's is kube's client, tested against the
//! emulator in the controller's tests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use serin_analysis::provider::ProviderFuture;
use serin_analysis::{BuiltinProviders, KubernetesApi, ProviderFactory, Query, QueryError};
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use super::external_metrics::status;
use super::{Backend, Case, REJECTION, Recorded, Reply, request_to};

/// The Kubernetes API at a base URL, over plain HTTP.
pub(crate) struct HttpKubernetes {
    base: String,
    client: reqwest::Client,
}

impl HttpKubernetes {
    pub(crate) fn new(base: &str) -> Self {
        serin_analysis::providers::http::install_crypto_provider();
        HttpKubernetes {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a client"),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Option<Value>, QueryError> {
        let response = request.send().await.map_err(|e| QueryError::Unreachable {
            address: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            401 | 403 => Err(QueryError::Unauthorized {
                address: self.base.clone(),
                status,
            }),
            500..=599 => Err(QueryError::Http {
                address: self.base.clone(),
                status,
            }),
            _ => Err(QueryError::Rejected(
                body["message"].as_str().unwrap_or_default().to_owned(),
            )),
        }
    }
}

impl KubernetesApi for HttpKubernetes {
    fn address(&self) -> &str {
        &self.base
    }

    fn get<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<Option<Value>, QueryError>> {
        Box::pin(self.call(self.client.get(format!("{}{path}", self.base))))
    }

    fn create<'a>(
        &'a self,
        path: &'a str,
        object: &'a Value,
    ) -> ProviderFuture<'a, Result<Value, QueryError>> {
        Box::pin(async move {
            self.call(
                self.client
                    .post(format!("{}{path}", self.base))
                    .json(object),
            )
            .await?
            .ok_or_else(|| QueryError::Rejected("not found".into()))
        })
    }

    fn delete<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<(), QueryError>> {
        Box::pin(async move {
            self.call(self.client.delete(format!("{}{path}", self.base)))
                .await
                .map(|_| ())
        })
    }
}

pub(crate) struct Keptn;

const QUERY: &str = "keptnmetric/podinfo/response-time";
const PATH: &str = "/apis/metrics.keptn.sh/v1beta1/namespaces/podinfo/keptnmetrics/response-time";

fn metric(value: Option<&str>) -> Reply {
    let mut object = json!({
        "apiVersion": "metrics.keptn.sh/v1beta1",
        "kind": "KeptnMetric",
        "metadata": {"name": "response-time", "namespace": "podinfo"},
        "spec": {"provider": {"name": "my-prometheus"}, "query": "histogram_quantile(0.99, ...)", "fetchIntervalSeconds": 10},
        "status": {"lastUpdated": "2026-01-02T15:04:00Z"},
    });
    if let Some(value) = value {
        object["status"]["value"] = json!(value);
        object["status"]["rawValue"] = json!(value);
    }
    Reply::json(200, &object)
}

impl Backend for Keptn {
    fn kind(&self) -> &'static str {
        "keptn"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, _address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            MetricProvider {
                type_: MetricProviderType::Keptn,
                ..MetricProvider::default()
            },
            None,
        )
    }

    // One KeptnMetric has one value: there is no "several series" answer.
    fn cases(&self) -> Vec<Case> {
        super::Case::ALL
            .into_iter()
            .filter(|c| *c != Case::Several)
            .collect()
    }

    fn factory(&self, address: &str) -> Arc<dyn ProviderFactory> {
        Arc::new(BuiltinProviders::with_kubernetes(Arc::new(
            HttpKubernetes::new(address),
        )))
    }

    fn answer(&self, case: Case, request: &Recorded) -> Reply {
        if request.path == "/apis/metrics.keptn.sh/v1beta1" {
            return Reply::json(
                200,
                &json!({"kind": "APIResourceList", "groupVersion": "metrics.keptn.sh/v1beta1", "resources": []}),
            );
        }
        match case {
            Case::Value => metric(Some("1.5")),
            Case::Integer => metric(Some("7")),
            Case::Empty => metric(None),
            Case::NotANumber => metric(Some("NaN")),
            Case::Rejected => status(
                400,
                "BadRequest",
                &format!("the server rejected our request: {REJECTION}"),
            ),
            Case::Unauthorized(401) => status(401, "Unauthorized", "Unauthorized"),
            Case::Unauthorized(code) => status(
                code,
                "Forbidden",
                "keptnmetrics.metrics.keptn.sh is forbidden",
            ),
            Case::Malformed => metric(Some("fast")),
            Case::Several | Case::ServerError | Case::Slow => {
                unreachable!("not asked or answered by the stub")
            }
        }
    }

    fn check_request(&self, requests: &[Recorded], _query: &Query<'_>) {
        assert_eq!(request_to(requests, PATH).method, "GET");
    }
}

#[tokio::test]
async fn keptn_conforms() {
    super::conformance(&Keptn).await;
}

/// Plays Keptn's metrics operator: a created Analysis is `Completed` with `pass: true` when
/// read back.
struct AnalysisBackend;

impl Backend for AnalysisBackend {
    fn kind(&self) -> &'static str {
        "keptn"
    }
    fn query(&self) -> &'static str {
        "analysis/podinfo/slo-check/5m/workload=podinfo;stage=prod"
    }
    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        Keptn.provider(address)
    }
    fn factory(&self, address: &str) -> Arc<dyn ProviderFactory> {
        Keptn.factory(address)
    }
    fn answer(&self, _case: Case, request: &Recorded) -> Reply {
        match request.method.as_str() {
            "POST" => Reply::json(201, &request.json()),
            "GET" => Reply::json(
                200,
                &json!({"status": {"state": "Completed", "pass": true}}),
            ),
            _ => Reply::json(200, &json!({"kind": "Status", "status": "Success"})),
        }
    }
    fn check_request(&self, _requests: &[Recorded], _query: &Query<'_>) {}
}

#[tokio::test]
async fn a_keptn_analysis_is_created_read_when_completed_and_deleted() {
    let stub = stub_for_analysis().await;
    let provider = AnalysisBackend
        .factory(&stub.address)
        .build(
            &AnalysisBackend.provider(&stub.address).0,
            None,
            &serin_analysis::ProviderOptions::default(),
        )
        .expect("a provider");
    let query = Query {
        text: AnalysisBackend.query(),
        window: super::WINDOW,
        at: super::at(),
    };
    let reading = provider.query(&query).await.expect("a reading");
    assert_eq!(reading, serin_analysis::Reading::Value(1.0));
    let requests = stub.requests();
    let created = requests
        .iter()
        .find(|r| r.method == "POST")
        .expect("a create");
    assert_eq!(
        created.path,
        "/apis/metrics.keptn.sh/v1beta1/namespaces/podinfo/analyses"
    );
    let object = created.json();
    assert_eq!(object["kind"], "Analysis");
    assert_eq!(object["spec"]["analysisDefinition"]["name"], "slo-check");
    assert_eq!(object["spec"]["timeframe"]["recent"], "5m");
    assert_eq!(
        object["spec"]["args"],
        json!({"workload": "podinfo", "stage": "prod"})
    );
    let name = object["metadata"]["name"].as_str().expect("a name");
    assert!(name.starts_with("slo-check-"), "{name}");
    let deleted = requests
        .iter()
        .find(|r| r.method == "DELETE")
        .expect("deleted afterwards");
    assert_eq!(deleted.path, format!("{}/{name}", created.path));
}

async fn stub_for_analysis() -> super::Stub {
    static BACKEND: AnalysisBackend = AnalysisBackend;
    super::stub::http(&BACKEND, Case::Value).await
}
