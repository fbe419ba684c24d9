//! New Relic: NRQL over the Insights query API, as Flagger sends it (`GET
//! /v1/accounts/{id}/query` with a query key), or over NerdGraph (`POST /graphql` with a user
//! API key), which New Relic now recommends. The query covers one metric interval ending at the
//! evaluation time.
//!
//! The value is the one number of the one result: its `result` field (Flagger's only one) or
//! its only numeric field (`count`, `average`, `percentile.99`, ...).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, secret_header};
use super::secret::required_secret;
use super::series::{json_number, parse_json};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};

/// Insights' query API, Flagger's default address.
pub const INSIGHTS_ADDRESS: &str = "https://insights-api.newrelic.com";
/// NerdGraph's address (US region).
pub const NERDGRAPH_ADDRESS: &str = "https://api.newrelic.com";
/// Secret key of the account id.
pub const ACCOUNT_ID: &str = "newrelic_account_id";
/// Secret key of an Insights query key, sent as `X-Query-Key`.
pub const QUERY_KEY: &str = "newrelic_query_key";
/// Secret key of a user API key, sent to NerdGraph as `API-Key`. When present it wins over
/// the query key.
pub const API_KEY: &str = "newrelic_api_key";

const NERDGRAPH_QUERY: &str = "query($id: Int!, $nrql: Nrql!) { actor { account(id: $id) { nrql(query: $nrql) { results } } } }";
const ONLINE_NRQL: &str = "SELECT count(*) FROM Metric SINCE 1 minute ago";

/// Which API answers.
#[derive(Debug)]
enum Api {
    Insights,
    NerdGraph,
}

/// A New Relic account answering NRQL.
#[derive(Debug)]
pub struct NewRelicProvider {
    http: HttpClient,
    api: Api,
    account: u64,
}

impl NewRelicProvider {
    /// A provider for the account and key of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(
            spec,
            secret,
            "newrelic_account_id and newrelic_query_key (Insights) or newrelic_api_key (NerdGraph)",
        )?;
        let account_text = keys.required(ACCOUNT_ID)?;
        let account = account_text
            .parse()
            .map_err(|_| ProviderError::InvalidSetting {
                kind: "newrelic",
                setting: "newrelic_account_id",
                reason: "it is not a number".into(),
            })?;
        let (api, headers, default) = match keys.optional(API_KEY)? {
            Some(key) if !key.is_empty() => (
                Api::NerdGraph,
                secret_header("api-key", &key)?,
                NERDGRAPH_ADDRESS,
            ),
            _ => (
                Api::Insights,
                secret_header("x-query-key", &keys.required(QUERY_KEY)?)?,
                INSIGHTS_ADDRESS,
            ),
        };
        let http = HttpClient::new(spec, Some(default), headers, options)?;
        Ok(NewRelicProvider { http, api, account })
    }

    async fn nrql(&self, nrql: &str) -> Result<Value, QueryError> {
        match self.api {
            Api::Insights => {
                let url = self
                    .http
                    .url(&format!("/v1/accounts/{}/query", self.account));
                let request = self.http.client().get(url).query(&[("nrql", nrql)]);
                let body = self.http.fetch(request, insights_error).await?;
                parse_json(&body)
            }
            Api::NerdGraph => {
                let body = json!({
                    "query": NERDGRAPH_QUERY,
                    "variables": {"id": self.account, "nrql": nrql},
                });
                let request = self
                    .http
                    .client()
                    .post(self.http.url("/graphql"))
                    .json(&body);
                let body = self.http.fetch(request, nerdgraph_error).await?;
                let answer: Value = parse_json(&body)?;
                if let Some(message) = nerdgraph_error(&body) {
                    return Err(QueryError::Rejected(message));
                }
                Ok(json!({ "results": answer["data"]["actor"]["account"]["nrql"]["results"] }))
            }
        }
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let nrql = format!(
            "{} SINCE {} UNTIL {}",
            query.text,
            query.start(1).timestamp_millis(),
            query.at.timestamp_millis()
        );
        let answer = self.nrql(&nrql).await?;
        reading(&answer)
    }
}

/// The reading of an NRQL answer `{"results": [{...}]}`.
/// The reading of an NRQL answer's body, from the Insights API or `NerdGraph` (pure: fuzzed).
pub fn parse_answer(body: &[u8]) -> Result<Reading, QueryError> {
    reading(&parse_json(body)?)
}

fn reading(answer: &Value) -> Result<Reading, QueryError> {
    if let Some(facets) = answer.get("facets").and_then(Value::as_array)
        && facets.len() > 1
    {
        return Err(QueryError::MultipleSeries {
            count: facets.len(),
            first: facets[0]["name"].to_string(),
        });
    }
    let results = match answer.get("results") {
        Some(Value::Array(results)) => results.as_slice(),
        None | Some(Value::Null) => &[],
        Some(other) => {
            return Err(QueryError::Malformed(format!(
                "`results` is {other}, not a list"
            )));
        }
    };
    let result = match results {
        [] => return Ok(Reading::Empty),
        [one] => one,
        [first, ..] => {
            return Err(QueryError::MultipleSeries {
                count: results.len(),
                first: first.to_string(),
            });
        }
    };
    let value = match result.get("result") {
        Some(value) => value,
        None => only_number(result).ok_or_else(|| {
            QueryError::UnexpectedResultType(format!(
                "result with several fields ({result}); select one number, e.g. `AS result`"
            ))
        })?,
    };
    Ok(json_number(value, "the result")?.map_or(Reading::Empty, Reading::of))
}

/// The only field of `object` (looking into nested objects with one field), if there is one.
fn only_number(object: &Value) -> Option<&Value> {
    match object {
        Value::Object(map) if map.len() == 1 => map.values().next().and_then(|v| match v {
            Value::Object(_) => only_number(v),
            other => Some(other),
        }),
        _ => None,
    }
}

impl MetricsProvider for NewRelicProvider {
    fn kind(&self) -> &'static str {
        "newrelic"
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
        Box::pin(async move { self.nrql(ONLINE_NRQL).await.map(|_| ()) })
    }
}

/// Insights' `{"error": "..."}`.
fn insights_error(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Error {
        error: String,
    }
    serde_json::from_slice::<Error>(body).ok().map(|e| e.error)
}

/// NerdGraph's `{"errors": [{"message": "..."}]}`.
fn nerdgraph_error(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<Message>,
    }
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let errors = serde_json::from_slice::<Errors>(body).ok()?.errors;
    (!errors.is_empty()).then(|| {
        errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_the_result_field_or_the_only_number() {
        let r = |v: Value| reading(&v);
        assert_eq!(
            r(json!({"results": [{"result": 1.5}]})),
            Ok(Reading::Value(1.5))
        );
        assert_eq!(
            r(json!({"results": [{"count": 12}]})),
            Ok(Reading::Value(12.0))
        );
        assert_eq!(
            r(json!({"results": [{"percentile": {"99": 0.25}}]})),
            Ok(Reading::Value(0.25))
        );
        assert_eq!(
            r(json!({"results": [{"result": null}]})),
            Ok(Reading::Empty)
        );
        assert_eq!(r(json!({"results": []})), Ok(Reading::Empty));
        assert!(r(json!({"results": [{"a": 1, "b": 2}]})).is_err());
        assert_eq!(
            r(json!({"results": [{"result": 1}, {"result": 2}]}))
                .unwrap_err()
                .category(),
            "multiple_series"
        );
    }
}
