//! The metric providers the controller and `serin analyze` use: serin-analysis's built-in ones,
//! given the Kubernetes API (through kube's client) that Keptn and the External Metrics API
//! read.

use std::sync::Arc;

use kube::Client;
use serde_json::Value;
use serin_analysis::provider::ProviderFuture;
use serin_analysis::{BuiltinProviders, KubernetesApi, QueryError};
use tokio::sync::OnceCell;

/// How this module names the API server in messages.
const ADDRESS: &str = "the Kubernetes API";

/// serin's providers with `client` as their Kubernetes API.
pub fn providers(client: Client) -> BuiltinProviders {
    BuiltinProviders::with_kubernetes(Arc::new(KubeMetricsApi::new(client)))
}

/// serin's providers with a Kubernetes API from the kubeconfig (or the pod's service account),
/// built on first use, so that `serin analyze` needs no cluster unless a check reads one.
pub fn providers_from_kubeconfig() -> BuiltinProviders {
    BuiltinProviders::with_kubernetes(Arc::new(KubeMetricsApi::from_kubeconfig()))
}

/// The [`KubernetesApi`] over kube's client.
pub struct KubeMetricsApi {
    client: OnceCell<Client>,
}

impl KubeMetricsApi {
    /// Calls through `client`.
    pub fn new(client: Client) -> Self {
        KubeMetricsApi {
            client: OnceCell::new_with(Some(client)),
        }
    }

    /// Calls through a client inferred from the environment on first use.
    pub fn from_kubeconfig() -> Self {
        KubeMetricsApi {
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&Client, QueryError> {
        self.client
            .get_or_try_init(|| async {
                Client::try_default()
                    .await
                    .map_err(|e| QueryError::Unreachable {
                        address: ADDRESS.to_owned(),
                        reason: format!("no usable kubeconfig or service account: {e}"),
                    })
            })
            .await
    }

    async fn call(&self, request: http::Request<Vec<u8>>) -> Result<Option<Value>, QueryError> {
        let client = self.client().await?;
        match client.request::<Value>(request).await {
            Ok(value) => Ok(Some(value)),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(e) => Err(query_error(&e)),
        }
    }
}

/// The [`QueryError`] for a failed API call.
fn query_error(error: &kube::Error) -> QueryError {
    let address = ADDRESS.to_owned();
    match error {
        kube::Error::Api(status) => match status.code {
            401 | 403 => QueryError::Unauthorized {
                address,
                status: status.code,
            },
            code @ 500..=599 => QueryError::Http {
                address,
                status: code,
            },
            _ => QueryError::Rejected(status.message.clone()),
        },
        other => QueryError::Unreachable {
            address,
            reason: other.to_string(),
        },
    }
}

fn request(
    method: http::Method,
    path: &str,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, QueryError> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| QueryError::InvalidQuery(format!("the API path {path}: {e}")))
}

impl KubernetesApi for KubeMetricsApi {
    fn address(&self) -> &str {
        ADDRESS
    }

    fn get<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<Option<Value>, QueryError>> {
        Box::pin(async move {
            self.call(request(http::Method::GET, path, Vec::new())?)
                .await
        })
    }

    fn create<'a>(
        &'a self,
        path: &'a str,
        object: &'a Value,
    ) -> ProviderFuture<'a, Result<Value, QueryError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(object)
                .map_err(|e| QueryError::Malformed(format!("the object to create: {e}")))?;
            self.call(request(http::Method::POST, path, body)?)
                .await?
                .ok_or_else(|| QueryError::Rejected(format!("{path} is not served")))
        })
    }

    fn delete<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<(), QueryError>> {
        Box::pin(async move {
            self.call(request(http::Method::DELETE, path, Vec::new())?)
                .await
                .map(|_| ())
        })
    }
}
