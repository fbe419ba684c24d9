//! The metric provider interface: run one query over a window ending at an instant, yielding
//! one value, and check that the backend answers.
//!
//! Each backend lives in its own module behind [`MetricsProvider`]; a
//! [`ProviderFactory`](crate::factory::ProviderFactory) builds one from a MetricTemplate's
//! `spec.provider`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A boxed future returned by provider methods, so providers can be used as trait objects.
pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a query returned, when the backend answered it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// One finite (or infinite) number.
    Value(f64),
    /// The query matched no series.
    Empty,
    /// The query returned `NaN`, usually a division by zero: no requests in the window.
    NotANumber,
}

impl Reading {
    /// The reading of one number: `NaN` is [`Reading::NotANumber`].
    pub fn of(value: f64) -> Self {
        if value.is_nan() {
            Reading::NotANumber
        } else {
            Reading::Value(value)
        }
    }
}

/// One query as a provider runs it: the rendered text, the window it looks back over (the
/// metric's `interval`) and the instant it is evaluated at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    /// The rendered query, whitespace collapsed.
    pub text: &'a str,
    /// The metric's `interval`. Providers that take a time range (Datadog, CloudWatch,
    /// Dynatrace, Splunk) ask for ten windows back from [`Query::at`], as Flagger does; New
    /// Relic one window.
    pub window: Duration,
    /// The end of the range; "now" in the controller, `--time` in `serin analyze`.
    pub at: DateTime<Utc>,
}

impl Query<'_> {
    /// The instant `windows` windows before [`Query::at`].
    pub fn start(&self, windows: u32) -> DateTime<Utc> {
        let back = self.window.saturating_mul(windows);
        chrono::Duration::from_std(back)
            .ok()
            .and_then(|back| self.at.checked_sub_signed(back))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// How many windows back providers with a time range look, as in Flagger.
pub const RANGE_WINDOWS: u32 = 10;

/// A metrics backend that answers queries with one number.
///
/// `check_online` is used by `serin analyze --check`, and by the check runner after a query
/// failed to reach the backend: when the online check fails too, the result is marked
/// [`ErrorKind::Unavailable`](crate::outcome::ErrorKind::Unavailable).
pub trait MetricsProvider: Send + Sync {
    /// The backend's kind, for messages and metric labels (e.g. `prometheus`).
    fn kind(&self) -> &'static str;

    /// Where the backend answers, for messages (never with credentials).
    fn address(&self) -> &str;

    /// Runs `query` and returns its single value.
    fn query<'a>(&'a self, query: &'a Query<'a>)
    -> ProviderFuture<'a, Result<Reading, QueryError>>;

    /// Checks that the backend is reachable and accepts the credentials.
    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>>;
}

/// Why a query could not produce a reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The request did not complete within the timeout.
    #[error("no answer from {address} within {timeout}")]
    Timeout {
        /// Address of the backend.
        address: String,
        /// The timeout, human readable.
        timeout: String,
    },
    /// The backend could not be reached (connection refused, DNS failure, TLS failure).
    #[error("cannot reach {address}: {reason}")]
    Unreachable {
        /// Address of the backend.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The backend refused the credentials (HTTP 401 or 403).
    #[error(
        "{address} refused the request with HTTP {status}: check the credentials in the provider's secretRef (for CloudWatch and Cloud Monitoring without one, the workload's cloud identity)"
    )]
    Unauthorized {
        /// Address of the backend.
        address: String,
        /// HTTP status code.
        status: u16,
    },
    /// The backend answered with an HTTP error that is not about credentials (and not a
    /// Prometheus API error, which is [`QueryError::Rejected`]).
    #[error("{address} answered HTTP {status}{}", http_hint(*status))]
    Http {
        /// Address of the backend.
        address: String,
        /// HTTP status code.
        status: u16,
    },
    /// The backend rejected the query itself (for Prometheus: a `PromQL` syntax or evaluation
    /// error), with the backend's message.
    #[error("the query was rejected: {0}")]
    Rejected(String),
    /// The query is not in the form the provider needs (for CloudWatch a JSON array of
    /// `MetricDataQuery`, for Keptn `keptnmetric/<namespace>/<name>`), so it was not sent.
    #[error("the query is not in the form this provider needs: {0}")]
    InvalidQuery(String),
    /// The answer was larger than the provider reads.
    #[error("{address} answered with more than {limit} bytes")]
    TooLarge {
        /// Address of the backend.
        address: String,
        /// The largest answer read, in bytes.
        limit: usize,
    },
    /// The answer could not be understood.
    #[error("the answer could not be read: {0}")]
    Malformed(String),
    /// The query returned several series where one value was expected.
    #[error(
        "the query returned {count} series where one was expected (first: {first}); aggregate it, e.g. with sum(...)"
    )]
    MultipleSeries {
        /// Number of series returned.
        count: usize,
        /// Labels of the first series.
        first: String,
    },
    /// The query returned a type of result that is not one number (a range vector or a string).
    #[error("the query returned a {0}, not a single number; use an instant vector or scalar query")]
    UnexpectedResultType(String),
}

/// What an unexpected HTTP status usually means, as a suffix for the message.
fn http_hint(status: u16) -> &'static str {
    match status {
        404 | 405 => ": is this the base address of the provider's API?",
        429 => ": the server is rate limiting queries",
        500..=599 => ": the server (or a proxy in front of it) is failing or not ready",
        _ => "",
    }
}

impl QueryError {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            QueryError::Timeout { .. } => "timeout",
            QueryError::Unreachable { .. } => "unreachable",
            QueryError::Unauthorized { .. } => "unauthorized",
            QueryError::Http { .. } => "http",
            QueryError::Rejected(_) => "rejected",
            QueryError::InvalidQuery(_) => "invalid_query",
            QueryError::TooLarge { .. } => "too_large",
            QueryError::Malformed(_) => "malformed",
            QueryError::MultipleSeries { .. } => "multiple_series",
            QueryError::UnexpectedResultType(_) => "result_type",
        }
    }

    /// Whether the query never reached an answer from the backend (no connection, no answer in
    /// time, or a 5xx from the server or a proxy), so that the backend itself may be down.
    pub fn is_transport(&self) -> bool {
        match self {
            QueryError::Timeout { .. } | QueryError::Unreachable { .. } => true,
            QueryError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
