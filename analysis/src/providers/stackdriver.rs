//! Google Cloud Monitoring (Flagger's `stackdriver`): MQL over the REST `timeSeries:query`
//! method, authorized with an `OAuth2` access token from the Secret's service-account key or,
//! without one, from the metadata server (GKE Workload Identity, Compute Engine).
//!
//! The value is the first value of the newest point of the one time series returned, a double
//! or an int64 (Flagger read int64 results as 0).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use serin_crds::metric_template::MetricProvider;
use tokio::sync::Mutex;

use super::http::{HttpClient, client_builder};
use super::secret::required_secret;
use super::series::{Series, json_number, parse_json, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};

/// Cloud Monitoring's API.
pub const DEFAULT_ADDRESS: &str = "https://monitoring.googleapis.com";
/// Secret key of the project id (required).
pub const PROJECT: &str = "project";
/// Secret key of a service-account key (JSON); without it the metadata server gives tokens.
pub const SERVICE_ACCOUNT_KEY: &str = "serviceAccountKey";
/// The `OAuth2` scope requested.
pub const SCOPE: &str = "https://www.googleapis.com/auth/monitoring.read";
/// Where the metadata server answers, unless `GCE_METADATA_HOST` names another host.
const METADATA_HOST: &str = "metadata.google.internal";

/// A Google Cloud project's Cloud Monitoring.
pub struct CloudMonitoringProvider {
    http: HttpClient,
    tokens: TokenSource,
    project: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for CloudMonitoringProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudMonitoringProvider")
            .field("address", &self.http.address())
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

/// Where access tokens come from.
enum TokenSource {
    /// A service-account key: a signed JWT exchanged at the key's `token_uri`.
    Key {
        email: String,
        key: jsonwebtoken::EncodingKey,
        token_uri: String,
        client: reqwest::Client,
    },
    /// The metadata server.
    Metadata {
        url: String,
        client: reqwest::Client,
    },
}

/// A token answer.
#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

impl CloudMonitoringProvider {
    /// A provider for the project (and service-account key) of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(spec, secret, "project (and optionally serviceAccountKey)")?;
        let project = keys.required(PROJECT)?;
        let client = client_builder(spec, options)
            .build()
            .map_err(|e| ProviderError::Client(e.to_string()))?;
        let invalid_key = |reason: String| ProviderError::InvalidSetting {
            kind: "stackdriver",
            setting: "serviceAccountKey",
            reason,
        };
        let tokens = match keys
            .optional(SERVICE_ACCOUNT_KEY)?
            .filter(|k| !k.is_empty())
        {
            Some(text) => {
                // serde_json's message names a position, never the key's content.
                let key: ServiceAccountKey = serde_json::from_str(&text)
                    .map_err(|e| invalid_key(format!("not a service-account key JSON: {e}")))?;
                let signing =
                    jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes())
                        .map_err(|_| invalid_key("private_key is not an RSA key in PEM".into()))?;
                TokenSource::Key {
                    email: key.client_email,
                    key: signing,
                    token_uri: key.token_uri,
                    client,
                }
            }
            None => {
                let host = std::env::var("GCE_METADATA_HOST")
                    .ok()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| METADATA_HOST.to_owned());
                TokenSource::Metadata {
                    url: format!(
                        "http://{host}/computeMetadata/v1/instance/service-accounts/default/token?scopes={SCOPE}"
                    ),
                    client,
                }
            }
        };
        let http = HttpClient::new(
            spec,
            Some(DEFAULT_ADDRESS),
            reqwest::header::HeaderMap::new(),
            options,
        )?;
        Ok(CloudMonitoringProvider {
            http,
            tokens,
            project,
            cached: Mutex::new(None),
        })
    }

    /// A valid access token, fetched again a minute before the last one expires.
    async fn token(&self) -> Result<String, QueryError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + Duration::from_secs(60) < *expires
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.fetch_token().await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<(String, Duration), QueryError> {
        let (address, request) = match &self.tokens {
            TokenSource::Key {
                email,
                key,
                token_uri,
                client,
            } => {
                let now = chrono::Utc::now().timestamp();
                let claims = json!({
                    "iss": email, "scope": SCOPE, "aud": token_uri,
                    "iat": now, "exp": now + 3600,
                });
                let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                let assertion = jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
                    QueryError::Malformed(format!("signing the token request: {e}"))
                })?;
                let form = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ];
                (token_uri.as_str(), client.post(token_uri).form(&form))
            }
            TokenSource::Metadata { url, client } => (
                url.as_str(),
                client.get(url).header("metadata-flavor", "Google"),
            ),
        };
        let answer = super::http::send(address, self.http.timeout(), request).await?;
        let (status, body) = (answer.status, answer.body);
        match status {
            200..=299 => {}
            // The token endpoint refused the key (its answer names why, never the assertion).
            400 | 401 | 403 => {
                return Err(QueryError::Unauthorized {
                    address: address.to_owned(),
                    status,
                });
            }
            _ => {
                return Err(QueryError::Http {
                    address: address.to_owned(),
                    status,
                });
            }
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|e| QueryError::Malformed(format!("the token answer: {e}")))?;
        Ok((
            token.access_token,
            Duration::from_secs(token.expires_in.unwrap_or(300)),
        ))
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let token = self.token().await?;
        let url = self
            .http
            .url(&format!("/v3/projects/{}/timeSeries:query", self.project));
        let request = self
            .http
            .client()
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query.text }));
        let body = self.http.fetch(request, error_message).await?;
        parse_answer(&body)
    }
}

/// The reading of a `timeSeries:query` answer's body (pure: fuzzed).
pub fn parse_answer(body: &[u8]) -> Result<Reading, QueryError> {
    let answer: Answer = parse_json(body)?;
    let mut series = Vec::with_capacity(answer.time_series_data.len());
    for data in &answer.time_series_data {
        // Points come newest first; order them by end time, oldest first, to be sure.
        let mut points: Vec<(&str, Option<f64>)> = Vec::with_capacity(data.point_data.len());
        for point in &data.point_data {
            let value = match point.values.first() {
                Some(v) => typed_value(v)?,
                None => None,
            };
            let end = point
                .time_interval
                .as_ref()
                .map_or("", |t| t.end_time.as_str());
            points.push((end, value));
        }
        points.sort_by(|a, b| a.0.cmp(b.0));
        let label = data
            .label_values
            .iter()
            .map(|l| {
                l.as_object()
                    .and_then(|o| o.values().next())
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(",");
        series.push(Series::new(
            format!("{{{label}}}"),
            points.into_iter().map(|(_, v)| v).collect(),
        ));
    }
    reading(&series)
}

/// A `TypedValue`: `doubleValue`, `int64Value` (a string in JSON) or `boolValue`.
fn typed_value(value: &serde_json::Value) -> Result<Option<f64>, QueryError> {
    if let Some(v) = value.get("doubleValue") {
        return json_number(v, "doubleValue");
    }
    if let Some(v) = value.get("int64Value") {
        return json_number(v, "int64Value");
    }
    if let Some(v) = value.get("boolValue").and_then(serde_json::Value::as_bool) {
        return Ok(Some(if v { 1.0 } else { 0.0 }));
    }
    Err(QueryError::UnexpectedResultType(format!(
        "point value {value}, not a double or int64"
    )))
}

impl MetricsProvider for CloudMonitoringProvider {
    fn kind(&self) -> &'static str {
        "stackdriver"
    }

    fn address(&self) -> &str {
        self.http.address()
    }

    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(self.run(query))
    }

    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async move {
            let token = self.token().await?;
            let url = self
                .http
                .url(&format!("/v3/projects/{}/metricDescriptors", self.project));
            let request = self
                .http
                .client()
                .get(url)
                .query(&[("pageSize", "1")])
                .bearer_auth(token);
            self.http.fetch(request, error_message).await.map(|_| ())
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    time_series_data: Vec<TimeSeriesData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeSeriesData {
    #[serde(default)]
    label_values: Vec<serde_json::Value>,
    #[serde(default)]
    point_data: Vec<PointData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PointData {
    #[serde(default)]
    values: Vec<serde_json::Value>,
    #[serde(default)]
    time_interval: Option<TimeInterval>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeInterval {
    #[serde(default)]
    end_time: String,
}

/// Google's `{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error.message)
}
