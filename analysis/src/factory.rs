//! Builds a [`MetricsProvider`] from a MetricTemplate's `spec.provider` and its Secret's data,
//! behind [`ProviderFactory`], so that the caller decides what providers can reach: the
//! controller gives [`BuiltinProviders`] a Kubernetes API for Keptn and the External Metrics
//! API, and tests can build fakes.
//!
//! Provider kinds are matched exhaustively: one that cannot be built is an explicit error,
//! never a silent fallback to Prometheus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serin_crds::metric_template::{MetricProvider, MetricProviderType};

use crate::credentials::{Credentials, CredentialsError};
use crate::prometheus::PrometheusProvider;
use crate::provider::MetricsProvider;
use crate::providers::{
    KubernetesApi, cloudwatch, datadog, dynatrace, external_metrics, graphite, influxdb, keptn,
    newrelic, splunk, stackdriver,
};

/// The default time a provider may take to answer one query.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings that come from the controller, not from the MetricTemplate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderOptions {
    /// How long one request may take, connection included.
    pub timeout: Duration,
    /// Where providers may send requests.
    pub egress: crate::egress::EgressPolicy,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            timeout: DEFAULT_QUERY_TIMEOUT,
            egress: crate::egress::EgressPolicy::default(),
        }
    }
}

/// Why a provider cannot be built. Every variant but [`ProviderError::Client`] is a problem of
/// configuration: only a change to the MetricTemplate, its Secret or the caller's setup fixes
/// it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No address is set, and the provider has no default.
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
    /// The address is refused by the operator's egress policy.
    #[error("the provider address is refused: {0}")]
    Egress(#[from] crate::egress::EgressError),
    /// `secretRef` is set but the caller could not read the Secret.
    #[error("the provider's secretRef `{0}` could not be read")]
    MissingSecret(String),
    /// The provider needs a Secret and has no `secretRef`.
    #[error("the {kind} provider needs a secretRef to a Secret with {keys}")]
    SecretRequired {
        /// The provider kind.
        kind: &'static str,
        /// The keys it needs, for the message.
        keys: &'static str,
    },
    /// The Secret lacks a key the provider needs.
    #[error("the provider's secretRef `{secret}` has no `{key}` key (found keys: {found})")]
    MissingSecretKey {
        /// Name of the Secret.
        secret: String,
        /// The key looked for.
        key: &'static str,
        /// The keys the Secret has.
        found: String,
    },
    /// A Secret value is not UTF-8 text.
    #[error("the provider's secretRef `{secret}`: the `{key}` value is not UTF-8 text")]
    SecretKeyNotUtf8 {
        /// Name of the Secret.
        secret: String,
        /// The key.
        key: &'static str,
    },
    /// The Secret's data holds no usable credentials (Prometheus: a token, or a username and a
    /// password).
    #[error("the provider's secretRef `{secret}`: {source}")]
    Credentials {
        /// Name of the Secret.
        secret: String,
        /// What is wrong with its data.
        source: CredentialsError,
    },
    /// A setting of the provider (or a Secret value it reads) is missing or invalid.
    #[error("the {kind} provider's {setting}: {reason}")]
    InvalidSetting {
        /// The provider kind.
        kind: &'static str,
        /// The setting, e.g. `region`.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The provider reads Kubernetes objects and the caller gave no Kubernetes API.
    #[error(
        "the {0} provider reads Kubernetes objects, and no Kubernetes API is configured here (serin analyze reads the current kubeconfig context)"
    )]
    NeedsKubernetes(&'static str),
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
            ProviderError::MissingAddress(_) | ProviderError::InvalidAddress { .. } => {
                "invalid_address"
            }
            ProviderError::Egress(_) => "egress_refused",
            ProviderError::MissingSecret(_) => "secret_missing",
            ProviderError::SecretRequired { .. } => "secret_required",
            ProviderError::MissingSecretKey { .. } => "secret_key_missing",
            ProviderError::SecretKeyNotUtf8 { .. } => "secret_not_utf8",
            ProviderError::Credentials { source, .. } => source.category(),
            ProviderError::InvalidSetting { .. } => "invalid_setting",
            ProviderError::NeedsKubernetes(_) => "kubernetes_unavailable",
            ProviderError::InvalidHeader(_) => "invalid_header",
            ProviderError::Client(_) => "client",
        }
    }

    /// Whether only a change of configuration fixes the error (everything but a failure to
    /// build the HTTP client).
    pub fn is_configuration(&self) -> bool {
        !matches!(self, ProviderError::Client(_))
    }
}

/// Builds providers. The controller and `serin analyze` pass one to
/// [`ProviderCache::with_factory`](crate::cache::ProviderCache::with_factory).
pub trait ProviderFactory: Send + Sync {
    /// Builds the provider described by `spec`. `secret_data` is the (decoded) data of the
    /// Secret named by `spec.secretRef`, or `None` when it could not be read; it is ignored
    /// when `secretRef` is unset.
    fn build(
        &self,
        spec: &MetricProvider,
        secret_data: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Arc<dyn MetricsProvider>, ProviderError>;
}

/// serin's providers, one per `spec.provider.type`. Keptn, and the External Metrics API without
/// an `address`, need the Kubernetes API given by [`BuiltinProviders::with_kubernetes`].
#[derive(Clone, Default)]
pub struct BuiltinProviders {
    kubernetes: Option<Arc<dyn KubernetesApi>>,
}

impl std::fmt::Debug for BuiltinProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinProviders")
            .field("kubernetes", &self.kubernetes.as_ref().map(|k| k.address()))
            .finish()
    }
}

impl BuiltinProviders {
    /// The providers, with `kubernetes` for those that read Kubernetes objects.
    pub fn with_kubernetes(kubernetes: Arc<dyn KubernetesApi>) -> Self {
        BuiltinProviders {
            kubernetes: Some(kubernetes),
        }
    }

    fn kubernetes(
        &self,
        kind: MetricProviderType,
    ) -> Result<Arc<dyn KubernetesApi>, ProviderError> {
        self.kubernetes
            .clone()
            .ok_or(ProviderError::NeedsKubernetes(kind.as_str()))
    }
}

impl ProviderFactory for BuiltinProviders {
    fn build(
        &self,
        spec: &MetricProvider,
        secret_data: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Arc<dyn MetricsProvider>, ProviderError> {
        let kind = spec.type_;
        Ok(match kind {
            MetricProviderType::Prometheus => {
                let credentials = credentials(spec, secret_data)?;
                Arc::new(PrometheusProvider::new(
                    spec,
                    credentials.as_ref(),
                    options,
                )?)
            }
            MetricProviderType::Datadog => {
                Arc::new(datadog::DatadogProvider::new(spec, secret_data, options)?)
            }
            MetricProviderType::Cloudwatch => Arc::new(cloudwatch::CloudWatchProvider::new(
                spec,
                secret_data,
                options,
            )?),
            MetricProviderType::Newrelic => {
                Arc::new(newrelic::NewRelicProvider::new(spec, secret_data, options)?)
            }
            MetricProviderType::Graphite => {
                Arc::new(graphite::GraphiteProvider::new(spec, secret_data, options)?)
            }
            MetricProviderType::Stackdriver => Arc::new(stackdriver::CloudMonitoringProvider::new(
                spec,
                secret_data,
                options,
            )?),
            MetricProviderType::Influxdb => {
                Arc::new(influxdb::InfluxDbProvider::new(spec, secret_data, options)?)
            }
            MetricProviderType::Dynatrace => Arc::new(dynatrace::DynatraceProvider::new(
                spec,
                secret_data,
                options,
            )?),
            MetricProviderType::Splunk => {
                Arc::new(splunk::SplunkProvider::new(spec, secret_data, options)?)
            }
            MetricProviderType::Keptn => {
                Arc::new(keptn::KeptnProvider::new(self.kubernetes(kind)?, options))
            }
            MetricProviderType::Externalmetrics => {
                let has_address = spec
                    .address
                    .as_deref()
                    .is_some_and(|a| !a.trim().is_empty());
                let kubernetes = if has_address {
                    None
                } else {
                    Some(self.kubernetes(kind)?)
                };
                Arc::new(external_metrics::ExternalMetricsProvider::new(
                    spec,
                    secret_data,
                    kubernetes,
                    options,
                )?)
            }
        })
    }
}

/// Builds the provider described by `spec` with [`BuiltinProviders`] (without a Kubernetes API).
pub fn build_provider(
    spec: &MetricProvider,
    secret_data: Option<&BTreeMap<String, Vec<u8>>>,
    options: &ProviderOptions,
) -> Result<Arc<dyn MetricsProvider>, ProviderError> {
    BuiltinProviders::default().build(spec, secret_data, options)
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
    fn kubernetes_backed_kinds_need_a_kubernetes_api() {
        let spec = MetricProvider {
            type_: MetricProviderType::Keptn,
            ..MetricProvider::default()
        };
        let err = build_provider(&spec, None, &ProviderOptions::default()).err();
        assert_eq!(err, Some(ProviderError::NeedsKubernetes("keptn")));
        assert!(err.is_some_and(|e| e.is_configuration()));
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
