//! Validation of an AlertProvider spec.

use crate::alert_provider::{AlertProviderSpec, AlertProviderType};

use super::{Problems, ValidationErrors};

/// An AlertProvider that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidAlertProvider {
    /// The service.
    pub kind: AlertProviderType,
    /// Webhook address in the spec, when given (a Secret's `address` overrides it).
    pub address: Option<url::Url>,
    /// Proxy to send through.
    pub proxy: Option<url::Url>,
    /// Secret holding the address, when given.
    pub secret_name: Option<String>,
    /// Channel, where the service lets the sender choose.
    pub channel: Option<String>,
    /// Name the messages are sent under.
    pub username: Option<String>,
}

/// Validates an AlertProvider: an address or a Secret is given, and URLs are URLs.
pub fn validate_alert_provider(
    spec: &AlertProviderSpec,
) -> Result<ValidAlertProvider, ValidationErrors> {
    let mut p = Problems::default();
    let address = spec
        .address
        .as_deref()
        .and_then(|a| p.http_url("spec.address", a));
    let proxy = spec
        .proxy
        .as_deref()
        .and_then(|a| p.http_url("spec.proxy", a));
    let secret_name = spec.secret_ref.as_ref().map(|s| s.name.clone());
    if secret_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        p.add("spec.secretRef.name", "must not be empty");
    }
    if spec.address.is_none() && secret_name.is_none() {
        p.add("spec", "set address or secretRef: where to send the alerts");
    }
    p.finish(|| ValidAlertProvider {
        kind: spec.type_,
        address,
        proxy,
        secret_name,
        channel: spec.channel.clone(),
        username: spec.username.clone(),
    })
}
