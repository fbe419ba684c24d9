//! InfluxDB 2: Flux over `POST /api/v2/query`, authenticated with a token, answered in
//! annotated CSV.
//!
//! The value is `_value` of the one table returned, in its newest row: a `double`, `long` or
//! `unsignedLong` (Flagger read only doubles, so `count()` was an error, and returned 0 for an
//! empty answer, which is no data here).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use serin_crds::metric_template::MetricProvider;

use super::http::{HttpClient, excerpt, secret_header};
use super::secret::required_secret;
use super::series::{Series, parse_number, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};

/// Secret key of the API token, sent as `Authorization: Token <token>`.
pub const TOKEN: &str = "token";
/// Secret key of the organization the query runs in.
pub const ORG: &str = "org";

/// An InfluxDB 2 server answering Flux queries.
#[derive(Debug)]
pub struct InfluxDbProvider {
    http: HttpClient,
    org: Option<String>,
}

impl InfluxDbProvider {
    /// A provider for `spec.address` with the token (and organization) of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(spec, secret, "token and org")?;
        let headers = secret_header("authorization", &format!("Token {}", keys.required(TOKEN)?))?;
        let org = keys.optional(ORG)?.filter(|o| !o.is_empty());
        let http = HttpClient::new(spec, None, headers, options)?;
        Ok(InfluxDbProvider { http, org })
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let body = json!({
            "query": query.text,
            "type": "flux",
            "dialect": {
                "annotations": ["datatype", "group", "default"],
                "delimiter": ",",
                "header": true,
            },
        });
        let mut request = self
            .http
            .client()
            .post(self.http.url("/api/v2/query"))
            .header("accept", "application/csv")
            .json(&body);
        if let Some(org) = &self.org {
            request = request.query(&[("org", org)]);
        }
        let csv = self.http.fetch(request, error_message).await?;
        parse_answer(&csv)
    }
}

/// The reading of a `/api/v2/query` answer's body, annotated CSV (pure: fuzzed).
pub fn parse_answer(csv: &[u8]) -> Result<Reading, QueryError> {
    reading(&tables(csv)?)
}

impl MetricsProvider for InfluxDbProvider {
    fn kind(&self) -> &'static str {
        "influxdb"
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
            let request = self.http.client().get(self.http.url("/health"));
            self.http.fetch(request, error_message).await.map(|_| ())
        })
    }
}

/// Rows `(time, value)` of one table.
type Rows = Vec<(String, Option<f64>)>;

/// The tables of an annotated CSV answer, one [`Series`] of `_value`s per `(result, table)`,
/// rows ordered by `_time` when the table has one.
fn tables(csv_text: &[u8]) -> Result<Vec<Series>, QueryError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text);
    let mut datatypes: Vec<String> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut groups: BTreeMap<(String, String), Rows> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| QueryError::Malformed(format!("the CSV answer: {e}")))?;
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        if fields.iter().all(String::is_empty) {
            // A blank line ends a table; the next has its own annotations and header.
            header = None;
            continue;
        }
        match fields.first().map(String::as_str) {
            Some("#datatype") => {
                datatypes = fields;
                header = None;
                continue;
            }
            Some(annotation) if annotation.starts_with('#') => continue,
            _ => {}
        }
        let Some(columns) = &header else {
            if datatypes.is_empty() {
                return Err(QueryError::Malformed(format!(
                    "not annotated CSV (no #datatype row before `{}`)",
                    excerpt(fields.join(",").as_bytes())
                )));
            }
            header = Some(fields);
            continue;
        };
        let column = |name: &str| columns.iter().position(|c| c == name);
        if let Some(error) = column("error") {
            let message = fields.get(error).cloned().unwrap_or_default();
            return Err(QueryError::Rejected(message));
        }
        let Some(value_column) = column("_value") else {
            return Err(QueryError::UnexpectedResultType(
                "table without a `_value` column".into(),
            ));
        };
        let datatype = datatypes.get(value_column).map_or("", String::as_str);
        let raw = fields.get(value_column).map_or("", String::as_str);
        let value = match datatype {
            _ if raw.is_empty() => None,
            "double" | "long" | "unsignedLong" | "" => {
                Some(parse_number(raw).ok_or_else(|| {
                    QueryError::Malformed(format!("_value `{raw}` is not a number"))
                })?)
            }
            other => {
                return Err(QueryError::UnexpectedResultType(format!(
                    "`_value` of type {other}"
                )));
            }
        };
        let key = |name: &str| {
            column(name)
                .and_then(|i| fields.get(i))
                .cloned()
                .unwrap_or_default()
        };
        groups
            .entry((key("result"), key("table")))
            .or_default()
            .push((key("_time"), value));
    }
    Ok(groups
        .into_iter()
        .map(|((result, table), mut rows)| {
            // RFC 3339 times of one table sort as text.
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            Series::new(
                format!("result {result}, table {table}"),
                rows.into_iter().map(|(_, v)| v).collect(),
            )
        })
        .collect())
}

/// InfluxDB's `{"code": "invalid", "message": "..."}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Error {
        message: String,
    }
    serde_json::from_slice::<Error>(body)
        .ok()
        .map(|e| e.message)
        .or_else(|| Some(excerpt(body)).filter(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,long\r\n\
#group,false,false,true,true,false\r\n\
#default,count,,,,\r\n\
,result,table,_start,_stop,_value\r\n\
,,0,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,42\r\n\r\n";

    #[test]
    fn a_long_value_is_a_number() {
        let series = tables(LONG.as_bytes()).unwrap();
        assert_eq!(reading(&series), Ok(Reading::Value(42.0)));
    }

    #[test]
    fn an_empty_answer_is_no_data_and_an_error_table_is_rejected() {
        assert_eq!(reading(&tables(b"\r\n").unwrap()), Ok(Reading::Empty));
        let error = "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n,type error: bad,897\r\n";
        assert_eq!(
            tables(error.as_bytes()).unwrap_err(),
            QueryError::Rejected("type error: bad".into())
        );
    }
}
