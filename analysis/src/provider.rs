//! The metric provider interface: run one query that yields one value, and check reachability.
//!
//! Each backend lives in its own module behind [`MetricsProvider`]; [`crate::factory`] builds
//! one from a MetricTemplate's `spec.provider`.

use std::future::Future;
use std::pin::Pin;

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

/// A metrics backend that answers queries with one number.
pub trait MetricsProvider: Send + Sync {
    /// The backend's kind, for messages and metric labels (e.g. `prometheus`).
    fn kind(&self) -> &'static str;

    /// Runs `query` and returns its single value.
    fn query<'a>(&'a self, query: &'a str) -> ProviderFuture<'a, Result<Reading, QueryError>>;

    /// Checks that the backend is reachable and answers queries.
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
        "{address} refused the request with HTTP {status}: check the credentials in the provider's secretRef"
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
    /// The backend rejected the query itself (for Prometheus: a `PromQL` syntax or evaluation error).
    #[error("the query was rejected: {0}")]
    Rejected(String),
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
        404 | 405 => ": is this the base address of a Prometheus-compatible API?",
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
            QueryError::Malformed(_) => "malformed",
            QueryError::MultipleSeries { .. } => "multiple_series",
            QueryError::UnexpectedResultType(_) => "result_type",
        }
    }
}
