//! The Prometheus provider: instant queries over Prometheus's HTTP API (also Thanos, Mimir,
//! VictoriaMetrics), with custom headers, bearer or basic credentials, optional skipping of TLS
//! verification, and a timeout on every request.

use std::error::Error as _;
use std::time::Duration;

use base64::Engine as _;
use prometheus_http_query::response::Data;
use prometheus_http_query::{Client, Error as PromError};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serin_crds::metric_template::MetricProvider;

use crate::credentials::Credentials;
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};
use crate::providers::http::{check_address, client_builder, innermost_cause, spec_headers};

/// The query used to check that Prometheus answers.
const ONLINE_QUERY: &str = "vector(1)";

/// A Prometheus server answering instant queries.
pub struct PrometheusProvider {
    client: Client,
    address: String,
    timeout: Duration,
}

impl std::fmt::Debug for PrometheusProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusProvider")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PrometheusProvider {
    /// Builds a provider for `spec.address`, sending `spec.headers` and `credentials` with every
    /// request.
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<&Credentials>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let kind = spec.type_.as_str();
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or(ProviderError::MissingAddress(kind))?;
        check_address(address)?;
        options.egress.check_address(address)?;
        let headers = headers(spec, credentials)?;

        let http = client_builder(spec, options)
            .default_headers(headers)
            .build()
            .map_err(|e| ProviderError::Client(e.to_string()))?;
        let client = Client::from(http, address).map_err(|e| ProviderError::InvalidAddress {
            address: address.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(PrometheusProvider {
            client,
            address: address.to_owned(),
            timeout: options.timeout,
        })
    }

    async fn instant_query(&self, query: &str, at: Option<i64>) -> Result<Reading, QueryError> {
        let mut request = self.client.query(query);
        if let Some(at) = at {
            request = request.at(at);
        }
        // Let Prometheus give up on evaluation no later than the client does.
        let timeout_ms = i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX);
        let request = request.timeout(timeout_ms).get();
        let Ok(answer) = tokio::time::timeout(self.timeout, request).await else {
            return Err(self.timeout_error());
        };
        let result = answer.map_err(|e| self.classify(&e))?;
        reading(result.data())
    }

    fn timeout_error(&self) -> QueryError {
        QueryError::Timeout {
            address: self.address.clone(),
            timeout: humantime::format_duration(self.timeout).to_string(),
        }
    }

    fn classify(&self, error: &PromError) -> QueryError {
        let address = self.address.clone();
        match error {
            PromError::Prometheus(e) if e.is_timeout() => self.timeout_error(),
            PromError::Prometheus(e) => QueryError::Rejected(e.to_string()),
            _ => {
                let Some(http) = error
                    .source()
                    .and_then(|s| s.downcast_ref::<reqwest::Error>())
                else {
                    return QueryError::Malformed(error.to_string());
                };
                if http.is_timeout() {
                    return self.timeout_error();
                }
                if let Some(status) = http.status() {
                    let status = status.as_u16();
                    return if status == 401 || status == 403 {
                        QueryError::Unauthorized { address, status }
                    } else {
                        QueryError::Http { address, status }
                    };
                }
                if http.is_connect() || http.is_request() {
                    let mut reason = innermost_cause(http);
                    if reason.contains("certificate") {
                        reason.push_str(
                            " (trust the server's CA, or set insecureSkipVerify: true on the provider)",
                        );
                    }
                    return QueryError::Unreachable { address, reason };
                }
                QueryError::Malformed(format!("{error}: {}", innermost_cause(http)))
            }
        }
    }
}

impl MetricsProvider for PrometheusProvider {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    fn address(&self) -> &str {
        &self.address
    }

    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(self.instant_query(query.text, Some(query.at.timestamp())))
    }

    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async move {
            match self.instant_query(ONLINE_QUERY, None).await? {
                Reading::Value(v) if (v - 1.0).abs() < f64::EPSILON => Ok(()),
                other => Err(QueryError::Malformed(format!(
                    "`{ONLINE_QUERY}` returned {other:?}, not 1"
                ))),
            }
        })
    }
}

/// The single number in a query's answer.
fn reading(data: &Data) -> Result<Reading, QueryError> {
    let value = match data {
        Data::Scalar(sample) => sample.value(),
        Data::Vector(series) => match series.as_slice() {
            [] => return Ok(Reading::Empty),
            [one] => one.sample().value(),
            [first, ..] => {
                let mut labels: Vec<_> = first
                    .metric()
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                labels.sort();
                return Err(QueryError::MultipleSeries {
                    count: series.len(),
                    first: format!("{{{}}}", labels.join(", ")),
                });
            }
        },
        Data::Matrix(_) => return Err(QueryError::UnexpectedResultType("range vector".into())),
    };
    Ok(Reading::of(value))
}

fn headers(
    spec: &MetricProvider,
    credentials: Option<&Credentials>,
) -> Result<HeaderMap, ProviderError> {
    let mut map: HeaderMap = spec_headers(spec)?;
    if let Some(credentials) = credentials {
        let value = match credentials {
            Credentials::Bearer(token) => format!("Bearer {token}"),
            Credentials::Basic { username, password } => {
                let pair = format!("{username}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| ProviderError::InvalidHeader("Authorization".into()))?;
        value.set_sensitive(true);
        map.insert(AUTHORIZATION, value);
    }
    Ok(map)
}
