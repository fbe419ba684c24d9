//! Builds a [`MetricsProvider`] from a MetricTemplate's `spec.provider` and its Secret's data.
//!
//! Provider kinds are matched exhaustively: a kind serin cannot query yet is an explicit error,
//! never a silent fallback to Prometheus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use crate::credentials::{Credentials, CredentialsError};
use crate::prometheus::PrometheusProvider;
use crate::provider::MetricsProvider;

/// The default time a provider may take to answer one query.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings that come from the controller, not from the MetricTemplate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderOptions {
    /// How long one request may take, connection included.
    pub timeout: Duration,
    /// Evaluate queries at this instant instead of the backend's "now" (for replays and tests).
    pub evaluation_time: Option<DateTime<Utc>>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            timeout: DEFAULT_QUERY_TIMEOUT,
            evaluation_time: None,
        }
    }
}

/// Why a provider cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider kind has no implementation in serin yet.
    #[error("metric provider type `{0}` is not supported by serin yet (supported: prometheus)")]
    Unsupported(&'static str),
    /// No address is set.
    #[error("the {0} provider has no address")]
    MissingAddress(&'static str),
    /// The address is not an http(s) URL.
    #[error("the provider address `{address}` is not a valid http(s) URL: {reason}")]
    InvalidAddress {
        /// The address as written.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `secretRef` is set but the caller passed no Secret data.
    #[error("the provider's secretRef `{0}` could not be read")]
    MissingSecret(String),
    /// The Secret's data holds no usable credentials.
    #[error("the provider's secretRef `{secret}`: {source}")]
    Credentials {
        /// Name of the Secret.
        secret: String,
        /// What is wrong with its data.
        source: CredentialsError,
    },
    /// A header name or value is not valid in HTTP.
    #[error("the provider header `{0}` is not a valid HTTP header")]
    InvalidHeader(String),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

impl ProviderError {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            ProviderError::Unsupported(_) => "unsupported_provider",
            ProviderError::MissingAddress(_) | ProviderError::InvalidAddress { .. } => {
                "invalid_address"
            }
            ProviderError::MissingSecret(_) => "secret_missing",
            ProviderError::Credentials { source, .. } => source.category(),
            ProviderError::InvalidHeader(_) => "invalid_header",
            ProviderError::Client(_) => "client",
        }
    }
}

/// Builds the provider described by `spec`.
///
/// `secret_data` is the (decoded) data of the Secret named by `spec.secretRef`, or `None` when
/// it could not be read; it is ignored when `secretRef` is unset.
pub fn build_provider(
    spec: &MetricProvider,
    secret_data: Option<&BTreeMap<String, Vec<u8>>>,
    options: &ProviderOptions,
) -> Result<Arc<dyn MetricsProvider>, ProviderError> {
    match spec.type_ {
        MetricProviderType::Prometheus => {
            let credentials = credentials(spec, secret_data)?;
            let provider = PrometheusProvider::new(spec, credentials.as_ref(), options)?;
            Ok(Arc::new(provider))
        }
        kind @ (MetricProviderType::Influxdb
        | MetricProviderType::Datadog
        | MetricProviderType::Externalmetrics
        | MetricProviderType::Stackdriver
        | MetricProviderType::Cloudwatch
        | MetricProviderType::Newrelic
        | MetricProviderType::Graphite
        | MetricProviderType::Dynatrace
        | MetricProviderType::Keptn
        | MetricProviderType::Splunk) => Err(ProviderError::Unsupported(kind.as_str())),
    }
}

fn credentials(
    spec: &MetricProvider,
    secret_data: Option<&BTreeMap<String, Vec<u8>>>,
) -> Result<Option<Credentials>, ProviderError> {
    let Some(secret) = &spec.secret_ref else {
        return Ok(None);
    };
    let data = secret_data.ok_or_else(|| ProviderError::MissingSecret(secret.name.clone()))?;
    Credentials::from_secret_data(data)
        .map(Some)
        .map_err(|source| ProviderError::Credentials {
            secret: secret.name.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serin_crds::metric_template::SecretRef;

    fn prometheus(address: &str) -> MetricProvider {
        MetricProvider {
            address: Some(address.into()),
            ..MetricProvider::default()
        }
    }

    #[test]
    fn every_kind_but_prometheus_is_reported_unsupported_by_name() {
        let spec = MetricProvider {
            type_: MetricProviderType::Datadog,
            ..prometheus("https://api.datadoghq.com")
        };
        let err = build_provider(&spec, None, &ProviderOptions::default()).err();
        assert_eq!(err, Some(ProviderError::Unsupported("datadog")));
    }

    #[test]
    fn a_secret_ref_without_secret_data_is_an_error() {
        let spec = MetricProvider {
            secret_ref: Some(SecretRef {
                name: "prom-auth".into(),
            }),
            ..prometheus("http://127.0.0.1:9090")
        };
        let err = build_provider(&spec, None, &ProviderOptions::default()).err();
        assert_eq!(err, Some(ProviderError::MissingSecret("prom-auth".into())));
    }

    #[test]
    fn a_missing_or_bad_address_is_an_error() {
        let options = ProviderOptions::default();
        let err = build_provider(&MetricProvider::default(), None, &options).err();
        assert_eq!(err, Some(ProviderError::MissingAddress("prometheus")));
        let err = build_provider(&prometheus("prometheus:9090"), None, &options).err();
        assert_eq!(err.map(|e| e.category()), Some("invalid_address"));
    }

    #[test]
    fn a_valid_spec_builds_a_prometheus_provider() {
        let provider = build_provider(
            &prometheus("http://127.0.0.1:9090"),
            None,
            &ProviderOptions::default(),
        )
        .unwrap();
        assert_eq!(provider.kind(), "prometheus");
    }
}
