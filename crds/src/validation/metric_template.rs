//! Validation of a MetricTemplate spec.

use crate::metric_template::{MetricProviderType, MetricTemplateSpec};
use crate::query_template::QueryTemplate;

use super::{Problems, ValidationErrors};

/// A MetricTemplate that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidMetricTemplate {
    /// The backend.
    pub provider: MetricProviderType,
    /// Address of the backend, when given (checked to be a URL for Prometheus).
    pub address: Option<String>,
    /// The parsed query.
    pub query: QueryTemplate,
}

/// Validates a MetricTemplate: the query parses and calls only known template functions, and the
/// provider's address is a URL.
pub fn validate_metric_template(
    spec: &MetricTemplateSpec,
) -> Result<ValidMetricTemplate, ValidationErrors> {
    let mut p = Problems::default();
    // Other providers' addresses are only handed to their SDK-style clients; Flagger's docs
    // show placeholders such as `https://api.<REALM>.signalfx.com` there.
    if let (MetricProviderType::Prometheus, Some(address)) =
        (spec.provider.type_, &spec.provider.address)
    {
        p.http_url("spec.provider.address", address);
    }
    let address = spec.provider.address.clone();
    if spec
        .provider
        .secret_ref
        .as_ref()
        .is_some_and(|s| s.name.trim().is_empty())
    {
        p.add("spec.provider.secretRef.name", "must not be empty");
    }
    let query = if spec.query.trim().is_empty() {
        p.add("spec.query", "must not be empty");
        None
    } else {
        match QueryTemplate::parse(&spec.query) {
            Ok(q) => Some(q),
            Err(e) => {
                p.add("spec.query", e.to_string());
                None
            }
        }
    };
    match query {
        Some(query) => p.finish(|| ValidMetricTemplate {
            provider: spec.provider.type_,
            address,
            query,
        }),
        None => Err(ValidationErrors(p.0)),
    }
}
