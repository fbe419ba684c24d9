//! Amazon CloudWatch: `GetMetricData` over the awsJson1.0 protocol (`POST /` with
//! `X-Amz-Target: GraniteServiceVersion20100801.GetMetricData`), signed with SigV4 (service
//! `monitoring`, the provider's `region`) by the `aws-sigv4` crate. The query is Flagger's: a
//! JSON array of `MetricDataQuery`, run over ten metric intervals back from the evaluation time
//! with at most 20 datapoints, newest first.
//!
//! The value is the newest value of the one result returned (`ReturnData`), as in Flagger.
//! Credentials come from the provider's Secret when it has `aws_access_key_id` and
//! `aws_secret_access_key` (a serin addition), otherwise from AWS's default credential chain as
//! the `aws-config` crate reads it: environment variables, the shared config and credentials
//! files, web identity (EKS IRSA), ECS container credentials and the EC2 instance metadata
//! service. Credentials are reused until five minutes before they expire.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Deserialize;
use serde_json::{Value, json};
use serin_crds::metric_template::MetricProvider;
use tokio::sync::{Mutex, OnceCell};

use super::http::HttpClient;
use super::secret::SecretKeys;
use super::series::{Series, json_number, parse_json, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, RANGE_WINDOWS, Reading};

const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const SERVICE: &str = "monitoring";
/// `MaxDatapoints` of every request, as in Flagger.
const MAX_DATAPOINTS: u32 = 20;

/// Secret key of a static access key id (with [`SECRET_ACCESS_KEY`]).
pub const ACCESS_KEY_ID: &str = "aws_access_key_id";
/// Secret key of a static secret access key.
pub const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
/// Secret key of an optional session token.
pub const SESSION_TOKEN: &str = "aws_session_token";

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// CloudWatch in one region.
pub struct CloudWatchProvider {
    http: HttpClient,
    region: String,
    /// The Secret's credentials, when it has them.
    credentials: Option<Credentials>,
    /// AWS's default chain, built on first use.
    chain: OnceCell<DefaultCredentialsChain>,
    /// The chain's last credentials.
    cached: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for CloudWatchProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchProvider")
            .field("address", &self.http.address())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl CloudWatchProvider {
    /// A provider for `spec.region`, at `spec.address` when set (a VPC endpoint, or a local
    /// server in tests), otherwise at `https://monitoring.<region>.amazonaws.com`.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let credentials = match SecretKeys::of(spec, secret)? {
            Some(keys) => Some(Credentials::new(
                keys.required(ACCESS_KEY_ID)?,
                keys.required(SECRET_ACCESS_KEY)?,
                keys.optional(SESSION_TOKEN)?.filter(|t| !t.is_empty()),
                None,
                "secret",
            )),
            None => None,
        };
        let region = spec
            .region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ProviderError::InvalidSetting {
                kind: "cloudwatch",
                setting: "region",
                reason: "it is required (e.g. region: us-east-1)".into(),
            })?
            .to_owned();
        if !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ProviderError::InvalidSetting {
                kind: "cloudwatch",
                setting: "region",
                reason: format!("`{region}` is not an AWS region name"),
            });
        }
        let default = format!("https://monitoring.{region}.amazonaws.com");
        let http = HttpClient::new(
            spec,
            Some(&default),
            reqwest::header::HeaderMap::new(),
            options,
        )?;
        Ok(CloudWatchProvider {
            http,
            region,
            credentials,
            chain: OnceCell::new(),
            cached: Mutex::new(None),
        })
    }

    /// The Secret's credentials, or the default chain's (cached until shortly before they
    /// expire).
    async fn credentials(&self) -> Result<Credentials, QueryError> {
        if let Some(credentials) = &self.credentials {
            return Ok(credentials.clone());
        }
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_some_and(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let chain = self
            .chain
            .get_or_init(|| async {
                super::http::install_crypto_provider();
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let region = aws_config::Region::new(self.region.clone());
                let config = ProviderConfig::without_region()
                    .with_region(Some(region.clone()))
                    .with_http_client(http);
                DefaultCredentialsChain::builder()
                    .region(region)
                    .configure(config)
                    .build()
                    .await
            })
            .await;
        let credentials = chain.provide_credentials().await.map_err(|e| {
            QueryError::Unauthorized {
                address: format!(
                    "{} (no AWS credentials from the environment, web identity, container or instance role: {})",
                    self.http.address(),
                    super::http::innermost_cause(&e)
                ),
                status: 403,
            }
        })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Signs and sends one awsJson1.0 call of `operation`.
    async fn call(&self, operation: &str, body: &Value) -> Result<Vec<u8>, QueryError> {
        let credentials = self.credentials().await?;
        let body = serde_json::to_vec(body)
            .map_err(|e| QueryError::Malformed(format!("the request body: {e}")))?;
        let url = self.http.url("/");
        let target = format!("{TARGET_PREFIX}.{operation}");
        let headers = [
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", target.as_str()),
        ];
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| QueryError::Malformed(format!("signing: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| QueryError::Malformed(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| QueryError::Malformed(format!("signing: {e}")))?
            .into_parts();
        let mut request = self.http.client().post(&url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| QueryError::Malformed(format!("signing: {e}")))?;
            value.set_sensitive(
                name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("x-amz-security-token"),
            );
            request = request.header(name, value);
        }
        let answer = self.http.send(request).await?;
        if (answer.status == 400 || answer.status == 403)
            && let Some(error) = aws_error(&answer.body)
        {
            return Err(if error.is_auth() {
                QueryError::Unauthorized {
                    address: self.http.address().to_owned(),
                    status: answer.status,
                }
            } else {
                QueryError::Rejected(error.to_string())
            });
        }
        self.http
            .success(answer, |b| aws_error(b).map(|e| e.to_string()))
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let queries: Value = serde_json::from_str(query.text).map_err(|e| {
            QueryError::InvalidQuery(format!("a JSON array of MetricDataQuery: {e}"))
        })?;
        if !queries.is_array() {
            return Err(QueryError::InvalidQuery(
                "a JSON array of MetricDataQuery, not a single object".into(),
            ));
        }
        let request = json!({
            "MetricDataQueries": queries,
            "StartTime": query.start(RANGE_WINDOWS).timestamp(),
            "EndTime": query.at.timestamp(),
            "MaxDatapoints": MAX_DATAPOINTS,
            "ScanBy": "TimestampDescending",
        });
        let body = self.call("GetMetricData", &request).await?;
        parse_answer(&body, self.http.address())
    }
}

/// The reading of a `GetMetricData` answer's body from the endpoint `address` (pure: fuzzed).
pub fn parse_answer(body: &[u8], address: &str) -> Result<Reading, QueryError> {
    let answer: Answer = parse_json(body)?;
    let mut series = Vec::with_capacity(answer.metric_data_results.len());
    for result in &answer.metric_data_results {
        if result.status_code.as_deref() == Some("InternalError") {
            return Err(QueryError::Http {
                address: address.to_owned(),
                status: 500,
            });
        }
        // Newest first: reverse to oldest first.
        let mut points = Vec::with_capacity(result.values.len());
        for value in result.values.iter().rev() {
            points.push(json_number(value, "a value")?);
        }
        series.push(Series::new(
            format!("{} ({})", result.id, result.label),
            points,
        ));
    }
    reading(&series)
}

impl MetricsProvider for CloudWatchProvider {
    fn kind(&self) -> &'static str {
        "cloudwatch"
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
            let body = json!({"Namespace": "serin/online-check"});
            self.call("ListMetrics", &body).await.map(|_| ())
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    metric_data_results: Vec<DataResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataResult {
    #[serde(default)]
    id: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    values: Vec<Value>,
    #[serde(default)]
    status_code: Option<String>,
}

/// An awsJson error: `{"__type": "...#Code", "message": "..."}`.
struct AwsError {
    code: String,
    message: String,
}

impl AwsError {
    fn is_auth(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "AccessDenied"
                | "AccessDeniedException"
                | "SignatureDoesNotMatch"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
                | "ExpiredToken"
                | "ExpiredTokenException"
        )
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

fn aws_error(body: &[u8]) -> Option<AwsError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let kind = value.get("__type")?.as_str()?;
    let code = kind.rsplit('#').next().unwrap_or(kind).to_owned();
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some(AwsError { code, message })
}
