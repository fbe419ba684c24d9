//! The Prometheus provider: instant queries over Prometheus's HTTP API (also Thanos, Mimir,
//! VictoriaMetrics), with custom headers, bearer or basic credentials, optional skipping of TLS
//! verification, a timeout on every request, and an answer read up to
//! [`MAX_BODY`](crate::providers::http::MAX_BODY) bytes.

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serin_crds::metric_template::MetricProvider;

use crate::credentials::Credentials;
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, Reading};
use crate::providers::http::HttpClient;

/// The query used to check that Prometheus answers.
const ONLINE_QUERY: &str = "vector(1)";

/// A Prometheus server answering instant queries.
#[derive(Debug)]
pub struct PrometheusProvider {
    http: HttpClient,
}

impl PrometheusProvider {
    /// Builds a provider for `spec.address`, sending `spec.headers` and `credentials` with every
    /// request.
    pub fn new(
        spec: &MetricProvider,
        credentials: Option<&Credentials>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        // The spec's headers are added by the client; the credentials go in as sensitive.
        let http = HttpClient::new(spec, None, credential_headers(credentials)?, options)?;
        Ok(PrometheusProvider { http })
    }

    async fn instant_query(&self, query: &str, at: Option<i64>) -> Result<Reading, QueryError> {
        // Let Prometheus give up on evaluation no later than the client does.
        let timeout_ms = self.http.timeout().as_millis();
        let mut params = vec![
            ("query", query.to_owned()),
            ("timeout", format!("{timeout_ms}ms")),
        ];
        if let Some(at) = at {
            params.push(("time", at.to_string()));
        }
        let request = self
            .http
            .client()
            .get(self.http.url("/api/v1/query"))
            .query(&params);
        let answer = self.http.send(request).await?;
        match serde_json::from_slice::<Envelope>(&answer.body) {
            Ok(Envelope {
                status,
                data: Some(data),
                ..
            }) if status == "success" => reading(&data),
            Ok(Envelope {
                status,
                error_type,
                error,
                ..
            }) if status == "error" => {
                let error_type = error_type.unwrap_or_default();
                if error_type == "timeout" {
                    return Err(self.http.timeout_error());
                }
                Err(QueryError::Rejected(format!(
                    "{error_type}: {}",
                    error.unwrap_or_default()
                )))
            }
            _ => {
                let body = self.http.success(answer, |_| None)?;
                Err(QueryError::Malformed(format!(
                    "not a Prometheus API answer: {}",
                    crate::providers::http::excerpt(&body)
                )))
            }
        }
    }
}

/// Prometheus's answer to `/api/v1/query`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    data: Option<Data>,
    error_type: Option<String>,
    error: Option<String>,
}

/// The `data` of a successful answer.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
#[allow(dead_code, reason = "matrices and strings are refused, not read")]
enum Data {
    Scalar(Sample),
    Vector(Vec<Series>),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

/// One series of an instant vector.
#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    value: Sample,
}

/// `[timestamp, "value"]`.
#[derive(Deserialize)]
struct Sample(
    #[allow(dead_code, reason = "part of the wire format")] f64,
    String,
);

impl Sample {
    /// The value; Prometheus writes `NaN`, `+Inf` and `-Inf` as such.
    fn value(&self) -> Result<f64, QueryError> {
        match self.1.as_str() {
            "+Inf" | "Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            text => text
                .parse()
                .map_err(|_| QueryError::Malformed(format!("{text:?} is not a number"))),
        }
    }
}

impl MetricsProvider for PrometheusProvider {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    fn address(&self) -> &str {
        self.http.address()
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

/// The reading of an answer's body when it is a success (`{"status":"success","data":...}`);
/// `None` for any other answer, which the provider reports from its status (pure: fuzzed).
pub fn success_reading(body: &[u8]) -> Option<Result<Reading, QueryError>> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope {
            status,
            data: Some(data),
            ..
        }) if status == "success" => Some(reading(&data)),
        _ => None,
    }
}

/// The single number in a query's answer.
fn reading(data: &Data) -> Result<Reading, QueryError> {
    let value = match data {
        Data::Scalar(sample) => sample.value()?,
        Data::Vector(series) => match series.as_slice() {
            [] => return Ok(Reading::Empty),
            [one] => one.value.value()?,
            [first, ..] => {
                let labels: Vec<_> = first
                    .metric
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                return Err(QueryError::MultipleSeries {
                    count: series.len(),
                    first: format!("{{{}}}", labels.join(", ")),
                });
            }
        },
        Data::Matrix(_) => return Err(QueryError::UnexpectedResultType("range vector".into())),
        Data::String(_) => return Err(QueryError::UnexpectedResultType("string".into())),
    };
    Ok(Reading::of(value))
}

/// The `Authorization` header for `credentials`, marked sensitive.
fn credential_headers(credentials: Option<&Credentials>) -> Result<HeaderMap, ProviderError> {
    let mut map = HeaderMap::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `body` at every path; returns its address.
    async fn serving(body: String) -> String {
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { body }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn provider(address: &str) -> PrometheusProvider {
        let spec = MetricProvider {
            address: Some(address.into()),
            ..MetricProvider::default()
        };
        PrometheusProvider::new(&spec, None, &ProviderOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_limit_is_an_error_not_read_whole() {
        let huge = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            "0,".repeat(3 * 1024 * 1024)
        );
        let p = provider(&serving(huge).await);
        let error = p.instant_query("x", None).await.unwrap_err();
        assert!(matches!(error, QueryError::TooLarge { .. }), "{error}");
    }

    #[tokio::test]
    async fn values_nan_infinity_and_errors_are_read_from_the_wire_format() {
        let answer = |v: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1.5,"{v}"]}}]}}}}"#
            )
        };
        let p = provider(&serving(answer("0.25")).await);
        assert_eq!(
            p.instant_query("x", Some(1)).await.unwrap(),
            Reading::Value(0.25)
        );
        let p = provider(&serving(answer("NaN")).await);
        assert_eq!(
            p.instant_query("x", None).await.unwrap(),
            Reading::NotANumber
        );
        let p = provider(&serving(answer("+Inf")).await);
        assert_eq!(
            p.instant_query("x", None).await.unwrap(),
            Reading::Value(f64::INFINITY)
        );
        let p = provider(
            &serving(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.into())
                .await,
        );
        assert_eq!(
            p.instant_query("x", None).await.unwrap_err(),
            QueryError::Rejected("bad_data: parse error".into())
        );
        let p = provider(&serving("<html>proxy</html>".into()).await);
        assert!(matches!(
            p.instant_query("x", None).await.unwrap_err(),
            QueryError::Malformed(_)
        ));
    }
}
