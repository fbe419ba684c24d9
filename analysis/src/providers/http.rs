//! The HTTP client every HTTP provider shares: the provider's address, headers and
//! `insecureSkipVerify`, a timeout on every request (connection included), an answer read up to
//! [`MAX_BODY`] bytes, and HTTP statuses mapped to [`QueryError`]s.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serin_crds::metric_template::MetricProvider;

use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::QueryError;

/// The largest answer a provider reads (4 MiB); a larger one is [`QueryError::TooLarge`].
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// An HTTP client bound to one provider's base address.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    address: String,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An answer with a 2xx status, or the status and body of one without.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

impl HttpClient {
    /// A client for `spec.address` (or `default_address` when the spec has none) sending
    /// `spec.headers` and `headers` (credentials, marked sensitive so they never print) with
    /// every request.
    pub fn new(
        spec: &MetricProvider,
        default_address: Option<&str>,
        headers: HeaderMap,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let kind = spec.type_.as_str();
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .or(default_address)
            .ok_or(ProviderError::MissingAddress(kind))?;
        check_address(address)?;
        options.egress.check_address(address)?;
        let mut all = spec_headers(spec)?;
        for (name, mut value) in headers {
            value.set_sensitive(true);
            if let Some(name) = name {
                all.insert(name, value);
            }
        }
        let client = client_builder(spec, options)
            .default_headers(all)
            .build()
            .map_err(|e| ProviderError::Client(e.to_string()))?;
        Ok(HttpClient {
            client,
            address: address.trim_end_matches('/').to_owned(),
            timeout: options.timeout,
        })
    }

    /// The base address, without a trailing `/`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The underlying client, to start requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `path` (starting with `/`) under the base address.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `request` and reads its answer, all within the timeout.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, QueryError> {
        send(&self.address, self.timeout, request).await
    }

    /// Sends `request` and returns the body of a 2xx answer. Otherwise 401 and 403 are
    /// [`QueryError::Unauthorized`]; a 4xx whose body `reason` reads a message from is
    /// [`QueryError::Rejected`] with it; anything else [`QueryError::Http`].
    pub async fn fetch(
        &self,
        request: reqwest::RequestBuilder,
        reason: impl Fn(&[u8]) -> Option<String>,
    ) -> Result<Vec<u8>, QueryError> {
        let answer = self.send(request).await?;
        self.success(answer, reason)
    }

    /// The body of a 2xx `answer`, or the error its status means (see [`HttpClient::fetch`]).
    pub fn success(
        &self,
        answer: Answer,
        reason: impl Fn(&[u8]) -> Option<String>,
    ) -> Result<Vec<u8>, QueryError> {
        let address = self.address.clone();
        match answer.status {
            200..=299 => Ok(answer.body),
            status @ (401 | 403) => Err(QueryError::Unauthorized { address, status }),
            status @ 400..=499 if status != 404 && status != 429 => match reason(&answer.body) {
                Some(message) => Err(QueryError::Rejected(message)),
                None => Err(QueryError::Http { address, status }),
            },
            status => Err(QueryError::Http { address, status }),
        }
    }

    /// The error for a request that got no answer in time.
    pub fn timeout_error(&self) -> QueryError {
        timeout_error(&self.address, self.timeout)
    }

    /// The [`QueryError`] for a failed request.
    pub fn classify(&self, error: &reqwest::Error) -> QueryError {
        classify(&self.address, self.timeout, error)
    }
}

/// Sends `request` (to `address`, for messages) and reads its answer, all within `timeout`.
pub async fn send(
    address: &str,
    timeout: Duration,
    request: reqwest::RequestBuilder,
) -> Result<Answer, QueryError> {
    let exchange = async {
        let response = request
            .send()
            .await
            .map_err(|e| classify(address, timeout, &e))?;
        let status = response.status().as_u16();
        let body = read_bounded(response, address).await?;
        Ok(Answer { status, body })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(timeout_error(address, timeout)))
}

/// A client builder with the provider's TLS setting and the timeouts and egress policy of
/// `options`.
pub fn client_builder(spec: &MetricProvider, options: &ProviderOptions) -> reqwest::ClientBuilder {
    install_crypto_provider();
    let builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .tls_danger_accept_invalid_certs(spec.insecure_skip_verify.unwrap_or(false));
    options.egress.apply(builder)
}

/// reqwest (like kube) is built without a bundled crypto provider; use ring. A second
/// installation attempt (or one by another crate) fails harmlessly.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The timeout error for `address`.
pub fn timeout_error(address: &str, timeout: Duration) -> QueryError {
    QueryError::Timeout {
        address: address.to_owned(),
        timeout: humantime::format_duration(timeout).to_string(),
    }
}

/// The [`QueryError`] for a request to `address` that failed without an answer.
pub fn classify(address: &str, timeout: Duration, error: &reqwest::Error) -> QueryError {
    if error.is_timeout() {
        return timeout_error(address, timeout);
    }
    if let Some(status) = error.status() {
        let status = status.as_u16();
        let address = address.to_owned();
        return if status == 401 || status == 403 {
            QueryError::Unauthorized { address, status }
        } else {
            QueryError::Http { address, status }
        };
    }
    let mut reason = innermost_cause(error);
    if error.is_connect() || error.is_request() {
        if reason.contains("certificate") {
            reason.push_str(
                " (trust the server's CA, or set insecureSkipVerify: true on the provider)",
            );
        }
        return QueryError::Unreachable {
            address: address.to_owned(),
            reason,
        };
    }
    QueryError::Malformed(reason)
}

/// Reads the body of `response`, failing past [`MAX_BODY`] bytes.
async fn read_bounded(
    mut response: reqwest::Response,
    address: &str,
) -> Result<Vec<u8>, QueryError> {
    let too_large = || QueryError::TooLarge {
        address: address.to_owned(),
        limit: MAX_BODY,
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| QueryError::Unreachable {
            address: address.to_owned(),
            reason: format!("the answer broke off: {}", innermost_cause(&e)),
        })?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks that `address` is an absolute http(s) URL with a host.
pub fn check_address(address: &str) -> Result<(), ProviderError> {
    let invalid = |reason: &str| ProviderError::InvalidAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(address).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(()),
        "http" | "https" => Err(invalid("it has no host")),
        other => Err(invalid(&format!(
            "scheme `{other}` is not http or https (write e.g. https://{})",
            url.host_str().unwrap_or("example.com")
        ))),
    }
}

/// `spec.headers` as a header map.
pub fn spec_headers(spec: &MetricProvider) -> Result<HeaderMap, ProviderError> {
    let mut map = HeaderMap::new();
    for (name, values) in spec.headers.iter().flatten() {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ProviderError::InvalidHeader(name.clone()))?;
        for value in values {
            let value = HeaderValue::from_str(value)
                .map_err(|_| ProviderError::InvalidHeader(name.clone()))?;
            map.append(header.clone(), value);
        }
    }
    Ok(map)
}

/// One credential header, marked sensitive.
pub fn secret_header(name: &'static str, value: &str) -> Result<HeaderMap, ProviderError> {
    let mut map = HeaderMap::new();
    add_secret_header(&mut map, name, value)?;
    Ok(map)
}

/// Adds a credential header to `map`, marked sensitive. An invalid value is reported by the
/// header's name only.
pub fn add_secret_header(
    map: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), ProviderError> {
    let mut value =
        HeaderValue::from_str(value).map_err(|_| ProviderError::InvalidHeader(name.to_owned()))?;
    value.set_sensitive(true);
    map.insert(HeaderName::from_static(name), value);
    Ok(())
}

/// The deepest error in a chain, which is the one that names the actual problem.
pub fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// At most 300 characters of `body`, for a message quoting what the backend said.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}
