//! The Kubernetes External Metrics API (`external.metrics.k8s.io/v1beta1`), e.g. served by the
//! Datadog Cluster Agent or KEDA: through the caller's Kubernetes API, or straight at
//! `spec.address` with a bearer token (the Secret's `token`, else the pod's service-account
//! token). The query is `<namespace>/<metric>?labelSelector=<selector>`; the namespace defaults
//! to `default`.
//!
//! The value is the one item's `value`, a Kubernetes quantity (`1500m` is 1.5).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, excerpt, secret_header};
use super::kubernetes::KubernetesApi;
use super::secret::SecretKeys;
use super::series::parse_json;
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};

const API: &str = "/apis/external.metrics.k8s.io/v1beta1";
/// Secret key of a bearer token for `spec.address`.
pub const TOKEN: &str = "token";
/// The pod's service-account token, sent to `spec.address` without a Secret token.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Where the API is reached.
enum Backend {
    Kubernetes(Arc<dyn KubernetesApi>),
    Http(HttpClient),
}

/// An External Metrics API.
pub struct ExternalMetricsProvider {
    backend: Backend,
}

impl std::fmt::Debug for ExternalMetricsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalMetricsProvider")
            .field("address", &self.address())
            .finish()
    }
}

impl ExternalMetricsProvider {
    /// A provider for `spec.address` when set, otherwise through `kubernetes`.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        kubernetes: Option<Arc<dyn KubernetesApi>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let backend = match kubernetes {
            Some(kubernetes) => Backend::Kubernetes(kubernetes),
            None => {
                let token = match SecretKeys::of(spec, secret)? {
                    Some(keys) => Some(keys.required(TOKEN)?),
                    None => std::fs::read_to_string(SERVICE_ACCOUNT_TOKEN)
                        .ok()
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty()),
                };
                let headers = match token {
                    Some(token) => secret_header("authorization", &format!("Bearer {token}"))?,
                    None => reqwest::header::HeaderMap::new(),
                };
                Backend::Http(HttpClient::new(spec, None, headers, options)?)
            }
        };
        Ok(ExternalMetricsProvider { backend })
    }

    async fn get(&self, path: &str) -> Result<Option<serde_json::Value>, QueryError> {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.get(path).await,
            Backend::Http(http) => {
                let answer = http.send(http.client().get(http.url(path))).await?;
                if answer.status == 404 {
                    return Ok(None);
                }
                let body = http.success(answer, status_message)?;
                parse_json(&body).map(Some)
            }
        }
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let path = path(query.text)?;
        let list = self.get(&path).await?.ok_or_else(|| {
            QueryError::Rejected(format!(
                "{path} was not found: is an external metrics server installed and does it serve this metric?"
            ))
        })?;
        let list: ValueList = serde_json::from_value(list)
            .map_err(|e| QueryError::Malformed(format!("an ExternalMetricValueList: {e}")))?;
        match list.items.as_slice() {
            [] => Ok(Reading::Empty),
            [one] => parse_quantity(&one.value)
                .map(Reading::of)
                .ok_or_else(|| QueryError::Malformed(format!("`{}` is not a quantity", one.value))),
            [first, ..] => Err(QueryError::MultipleSeries {
                count: list.items.len(),
                first: format!("{} {:?}", first.metric_name, first.metric_labels),
            }),
        }
    }
}

/// The API path of a query `<namespace>/<metric>?labelSelector=...`.
fn path(query: &str) -> Result<String, QueryError> {
    let query = query.trim();
    let (target, parameters) = query.split_once('?').unwrap_or((query, ""));
    let (namespace, metric) = target.split_once('/').unwrap_or(("default", target));
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '@' | ':'))
    };
    if !name_ok(namespace) || !name_ok(metric) {
        return Err(QueryError::InvalidQuery(format!(
            "`{query}` is not <namespace>/<metric>?labelSelector=<selector>"
        )));
    }
    let mut path = format!("{API}/namespaces/{namespace}/{metric}");
    if !parameters.is_empty() {
        let selector: Vec<(String, String)> = url::form_urlencoded::parse(parameters.as_bytes())
            .filter(|(k, _)| k == "labelSelector")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !selector.is_empty() {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(selector)
                .finish();
            path.push('?');
            path.push_str(&encoded);
        }
    }
    Ok(path)
}

/// A Kubernetes quantity as a number: decimal SI suffixes (`n`, `u`, `m`, `k`, `M`, `G`, `T`,
/// `P`, `E`), binary ones (`Ki` ... `Ei`) and exponents (`1e3`).
pub fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

impl MetricsProvider for ExternalMetricsProvider {
    fn kind(&self) -> &'static str {
        "externalmetrics"
    }

    fn address(&self) -> &str {
        match &self.backend {
            Backend::Kubernetes(kubernetes) => kubernetes.address(),
            Backend::Http(http) => http.address(),
        }
    }

    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(self.run(query))
    }

    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async move {
            match self.get(API).await? {
                Some(_) => Ok(()),
                None => Err(QueryError::Rejected(
                    "external.metrics.k8s.io/v1beta1 is not served: is an external metrics server installed?".into(),
                )),
            }
        })
    }
}

#[derive(Deserialize)]
struct ValueList {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    metric_name: String,
    #[serde(default)]
    metric_labels: BTreeMap<String, String>,
    value: String,
}

/// A Kubernetes `Status` message.
fn status_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Status {
        message: String,
    }
    serde_json::from_slice::<Status>(body)
        .ok()
        .map(|s| s.message)
        .or_else(|| Some(excerpt(body)).filter(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_numbers() {
        assert_eq!(parse_quantity("1500m"), Some(1.5));
        assert_eq!(parse_quantity("2k"), Some(2000.0));
        assert_eq!(parse_quantity("1Ki"), Some(1024.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("42"), Some(42.0));
        assert_eq!(parse_quantity("1x"), None);
    }

    #[test]
    fn queries_become_api_paths() {
        assert_eq!(
            path("webapp-frontend/job-success-rate?labelSelector=env%3Dproduction").unwrap(),
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/webapp-frontend/job-success-rate?labelSelector=env%3Dproduction"
        );
        assert_eq!(
            path("datadogmetric@ns:name").unwrap(),
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@ns:name"
        );
        assert!(path("a/b/c").is_err());
    }
}
