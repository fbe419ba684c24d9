//! Datadog: the v1 timeseries query API (`GET /api/v1/query`) over ten metric intervals back
//! from the evaluation time, authenticated with an API key and an application key.
//!
//! The value is the newest non-null point of the one series returned (Flagger took the
//! oldest point of the first series).

use std::collections::BTreeMap;

use serde::Deserialize;
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, add_secret_header};
use super::secret::required_secret;
use super::series::{Series, json_number, parse_json, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, RANGE_WINDOWS, Reading};

/// Datadog's API in its default site (US1).
pub const DEFAULT_ADDRESS: &str = "https://api.datadoghq.com";
/// Secret key of the API key, sent as `DD-API-KEY`.
pub const API_KEY: &str = "datadog_api_key";
/// Secret key of the application key, sent as `DD-APPLICATION-KEY`.
pub const APPLICATION_KEY: &str = "datadog_application_key";

/// A Datadog site answering metric queries.
#[derive(Debug)]
pub struct DatadogProvider {
    http: HttpClient,
}

impl DatadogProvider {
    /// A provider for `spec.address` (default [`DEFAULT_ADDRESS`]) with the keys of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(spec, secret, "datadog_api_key and datadog_application_key")?;
        let mut headers = reqwest::header::HeaderMap::new();
        add_secret_header(&mut headers, "dd-api-key", &keys.required(API_KEY)?)?;
        add_secret_header(
            &mut headers,
            "dd-application-key",
            &keys.required(APPLICATION_KEY)?,
        )?;
        let http = HttpClient::new(spec, Some(DEFAULT_ADDRESS), headers, options)?;
        Ok(DatadogProvider { http })
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let from = query.start(RANGE_WINDOWS).timestamp().to_string();
        let to = query.at.timestamp().to_string();
        let request = self
            .http
            .client()
            .get(self.http.url("/api/v1/query"))
            .query(&[
                ("from", from.as_str()),
                ("to", to.as_str()),
                ("query", query.text),
            ]);
        let body = self.http.fetch(request, error_message).await?;
        parse_answer(&body)
    }
}

/// The reading of a `/api/v1/query` answer's body (pure: fuzzed).
pub fn parse_answer(body: &[u8]) -> Result<Reading, QueryError> {
    let answer: Answer = parse_json(body)?;
    if answer.status.as_deref() == Some("error") {
        return Err(QueryError::Rejected(
            answer.error.unwrap_or_else(|| "status: error".into()),
        ));
    }
    let mut series = Vec::with_capacity(answer.series.len());
    for s in &answer.series {
        let mut points = Vec::with_capacity(s.pointlist.len());
        for point in &s.pointlist {
            let value = point.get(1).unwrap_or(&serde_json::Value::Null);
            points.push(json_number(value, "a pointlist value")?);
        }
        let label = s
            .scope
            .clone()
            .or_else(|| s.expression.clone())
            .unwrap_or_default();
        series.push(Series::new(label, points));
    }
    reading(&series)
}

impl MetricsProvider for DatadogProvider {
    fn kind(&self) -> &'static str {
        "datadog"
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
            let request = self.http.client().get(self.http.url("/api/v1/validate"));
            let body = self.http.fetch(request, error_message).await?;
            let answer: Validation = parse_json(&body)?;
            if answer.valid {
                Ok(())
            } else {
                Err(QueryError::Malformed(
                    "/api/v1/validate did not say the API key is valid".into(),
                ))
            }
        })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    series: Vec<AnswerSeries>,
}

#[derive(Deserialize)]
struct AnswerSeries {
    #[serde(default)]
    pointlist: Vec<Vec<serde_json::Value>>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct Validation {
    #[serde(default)]
    valid: bool,
}

/// Datadog's `{"errors": ["..."]}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    serde_json::from_slice::<Errors>(body)
        .ok()
        .map(|e| e.errors.join("; "))
        .filter(|m| !m.is_empty())
}
