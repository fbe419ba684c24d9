//! Where an AlertProvider's messages go: its spec combined with its Secret (`address`, `token`).

use std::collections::BTreeMap;

use serin_crds::AlertProviderType;
use serin_crds::validation::ValidAlertProvider;

/// Slack's API endpoint, used with a bot `token` when no address is given.
pub const SLACK_POST_MESSAGE_URL: &str = "https://slack.com/api/chat.postMessage";

/// An AlertProvider ready to send to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedProvider {
    /// The service.
    pub kind: AlertProviderType,
    /// Webhook or API address.
    pub url: url::Url,
    /// Bot token (Slack's API).
    pub token: Option<String>,
    /// Channel, where the service lets the sender choose.
    pub channel: Option<String>,
    /// Name the messages are sent under.
    pub username: Option<String>,
    /// Proxy to send through.
    pub proxy: Option<url::Url>,
}

/// Why a provider cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Neither the spec nor the Secret has an address (and no Slack token).
    #[error("alert provider has no address: set spec.address or `address` in its Secret")]
    NoAddress,
    /// The Secret's address is not a URL.
    #[error("the address in the alert provider's Secret is not an http(s) URL")]
    InvalidSecretAddress,
}

impl ProviderError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            ProviderError::NoAddress => "no_address",
            ProviderError::InvalidSecretAddress => "invalid_secret_address",
        }
    }
}

impl ResolvedProvider {
    /// Combines a validated provider with its Secret's data (already decoded). The Secret's
    /// `address` wins over the spec's; a Slack `token` without an address posts to Slack's API.
    pub fn resolve(
        provider: &ValidAlertProvider,
        secret: Option<&BTreeMap<String, String>>,
    ) -> Result<Self, ProviderError> {
        let secret_value = |key: &str| {
            secret
                .and_then(|s| s.get(key))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let token = secret_value("token");
        let url = match secret_value("address") {
            Some(address) => url::Url::parse(&address)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or(ProviderError::InvalidSecretAddress)?,
            None => match (&provider.address, &token, provider.kind) {
                (Some(address), _, _) => address.clone(),
                (None, Some(_), AlertProviderType::Slack) => {
                    url::Url::parse(SLACK_POST_MESSAGE_URL).map_err(|_| ProviderError::NoAddress)?
                }
                _ => return Err(ProviderError::NoAddress),
            },
        };
        Ok(ResolvedProvider {
            kind: provider.kind,
            url,
            token,
            channel: provider.channel.clone(),
            username: provider.username.clone(),
            proxy: provider.proxy.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack(address: Option<&str>) -> ValidAlertProvider {
        ValidAlertProvider {
            kind: AlertProviderType::Slack,
            address: address.map(|a| url::Url::parse(a).unwrap()),
            proxy: None,
            secret_name: Some("on-call-url".into()),
            channel: Some("ops".into()),
            username: None,
        }
    }

    #[test]
    fn the_secret_address_overrides_the_spec() {
        let secret = BTreeMap::from([(
            "address".to_owned(),
            "https://hooks.slack.com/services/S".to_owned(),
        )]);
        let p = ResolvedProvider::resolve(
            &slack(Some("https://hooks.slack.com/services/X")),
            Some(&secret),
        )
        .unwrap();
        assert_eq!(p.url.as_str(), "https://hooks.slack.com/services/S");
    }

    #[test]
    fn a_slack_token_alone_posts_to_the_api() {
        let secret = BTreeMap::from([("token".to_owned(), "xoxb-1".to_owned())]);
        let p = ResolvedProvider::resolve(&slack(None), Some(&secret)).unwrap();
        assert_eq!(p.url.as_str(), SLACK_POST_MESSAGE_URL);
        assert_eq!(p.token.as_deref(), Some("xoxb-1"));
    }

    #[test]
    fn no_address_anywhere_is_an_error() {
        assert_eq!(
            ResolvedProvider::resolve(&slack(None), None),
            Err(ProviderError::NoAddress)
        );
        let bad = BTreeMap::from([("address".to_owned(), "not a url".to_owned())]);
        assert_eq!(
            ResolvedProvider::resolve(&slack(None), Some(&bad)),
            Err(ProviderError::InvalidSecretAddress)
        );
    }
}
