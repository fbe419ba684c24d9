//! Dynatrace: the Metrics API v2 (`GET /api/v2/metrics/query`) with `resolution=Inf` over ten
//! metric intervals back from the evaluation time, authenticated with an API token.
//!
//! The value is the newest non-null value of the one series (metric and dimension tuple)
//! returned.

use std::collections::BTreeMap;

use serde::Deserialize;
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, secret_header};
use super::secret::required_secret;
use super::series::{Series, json_number, parse_json, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, RANGE_WINDOWS, Reading};

/// Secret key of the API token, sent as `Authorization: Api-Token <token>`.
pub const TOKEN: &str = "dynatrace_token";

/// A Dynatrace environment answering metric selectors.
#[derive(Debug)]
pub struct DynatraceProvider {
    http: HttpClient,
}

impl DynatraceProvider {
    /// A provider for the environment at `spec.address` with the token of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(spec, secret, "dynatrace_token")?;
        let token = format!("Api-Token {}", keys.required(TOKEN)?);
        let headers = secret_header("authorization", &token)?;
        let http = HttpClient::new(spec, None, headers, options)?;
        Ok(DynatraceProvider { http })
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let from = query.start(RANGE_WINDOWS).timestamp_millis().to_string();
        let to = query.at.timestamp_millis().to_string();
        let request = self
            .http
            .client()
            .get(self.http.url("/api/v2/metrics/query"))
            .query(&[
                ("metricSelector", query.text),
                ("resolution", "Inf"),
                ("from", from.as_str()),
                ("to", to.as_str()),
            ]);
        let body = self.http.fetch(request, error_message).await?;
        parse_answer(&body)
    }
}

/// The reading of a `/api/v2/metrics/query` answer's body (pure: fuzzed).
pub fn parse_answer(body: &[u8]) -> Result<Reading, QueryError> {
    let answer: Answer = parse_json(body)?;
    let mut series = Vec::new();
    for metric in &answer.result {
        for data in &metric.data {
            let mut points = Vec::with_capacity(data.values.len());
            for value in &data.values {
                points.push(json_number(value, "a value")?);
            }
            let label = format!("{} {}", metric.metric_id, data.dimensions.join(","));
            series.push(Series::new(label.trim().to_owned(), points));
        }
    }
    reading(&series)
}

impl MetricsProvider for DynatraceProvider {
    fn kind(&self) -> &'static str {
        "dynatrace"
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
            let request = self
                .http
                .client()
                .get(self.http.url("/api/v2/metrics"))
                .query(&[("pageSize", "1")]);
            self.http.fetch(request, error_message).await.map(|_| ())
        })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    result: Vec<MetricResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricResult {
    #[serde(default)]
    metric_id: String,
    #[serde(default)]
    data: Vec<MetricData>,
}

#[derive(Deserialize)]
struct MetricData {
    #[serde(default)]
    dimensions: Vec<String>,
    #[serde(default)]
    values: Vec<serde_json::Value>,
}

/// Dynatrace's `{"error": {"code": 400, "message": "..."}}`.
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
