//! Graphite: the render API (`GET /render?<query>&format=json`), the query being the render
//! parameters as written (`target=...`, optionally `from=...`), with `from` and `until` set to
//! ten metric intervals back from the evaluation time when the query sets neither. Optional
//! basic authentication.
//!
//! The value is the newest non-null datapoint of the one target returned (Flagger took the
//! last non-null datapoint of any target, over Graphite's default 24 hours).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, excerpt, secret_header};
use super::secret::SecretKeys;
use super::series::{Series, json_number, parse_json, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, RANGE_WINDOWS, Reading};

/// Secret key of the basic-auth user name (with [`PASSWORD`]).
pub const USERNAME: &str = "username";
/// Secret key of the basic-auth password.
pub const PASSWORD: &str = "password";

/// A Graphite (graphite-web or compatible) render API.
#[derive(Debug)]
pub struct GraphiteProvider {
    http: HttpClient,
}

impl GraphiteProvider {
    /// A provider for `spec.address`; with a `secretRef`, its `username` and `password`.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let headers = match SecretKeys::of(spec, secret)? {
            Some(keys) => {
                let pair = format!("{}:{}", keys.required(USERNAME)?, keys.required(PASSWORD)?);
                let value = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                );
                secret_header("authorization", &value)?
            }
            None => reqwest::header::HeaderMap::new(),
        };
        let http = HttpClient::new(spec, None, headers, options)?;
        Ok(GraphiteProvider { http })
    }

    async fn render(&self, parameters: Vec<(String, String)>) -> Result<Vec<Target>, QueryError> {
        let request = self
            .http
            .client()
            .get(self.http.url("/render"))
            .query(&parameters);
        let body = self
            .http
            .fetch(request, |body| {
                Some(excerpt(body)).filter(|m| !m.is_empty())
            })
            .await?;
        parse_json(&body)
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let mut parameters: Vec<(String, String)> =
            url::form_urlencoded::parse(query.text.trim().as_bytes())
                .filter(|(k, _)| k != "format")
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
        if !parameters.iter().any(|(k, _)| k == "target") {
            return Err(QueryError::InvalidQuery(
                "a Graphite query is render parameters with at least one `target=...`".into(),
            ));
        }
        if !parameters.iter().any(|(k, _)| k == "from" || k == "until") {
            parameters.push((
                "from".into(),
                query.start(RANGE_WINDOWS).timestamp().to_string(),
            ));
            parameters.push(("until".into(), query.at.timestamp().to_string()));
        }
        parameters.push(("format".into(), "json".into()));
        let targets = self.render(parameters).await?;
        targets_reading(&targets)
    }
}

/// The reading of a `/render?format=json` answer's body (pure: fuzzed).
pub fn parse_answer(body: &[u8]) -> Result<Reading, QueryError> {
    let targets: Vec<Target> = parse_json(body)?;
    targets_reading(&targets)
}

fn targets_reading(targets: &[Target]) -> Result<Reading, QueryError> {
    let mut series = Vec::with_capacity(targets.len());
    for target in targets {
        let mut points = Vec::with_capacity(target.datapoints.len());
        for point in &target.datapoints {
            let value = point.first().unwrap_or(&serde_json::Value::Null);
            points.push(json_number(value, "a datapoint value")?);
        }
        series.push(Series::new(target.target.clone(), points));
    }
    reading(&series)
}

impl MetricsProvider for GraphiteProvider {
    fn kind(&self) -> &'static str {
        "graphite"
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
            let parameters = vec![
                ("target".to_owned(), "test".to_owned()),
                ("from".to_owned(), "-1min".to_owned()),
                ("format".to_owned(), "json".to_owned()),
            ];
            self.render(parameters).await.map(|_| ())
        })
    }
}

#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    target: String,
    #[serde(default)]
    datapoints: Vec<Vec<serde_json::Value>>,
}
