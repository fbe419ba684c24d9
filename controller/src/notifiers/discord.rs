//! Discord: its Slack-compatible webhook endpoint (the hook URL with `/slack` appended).

use super::slack::slack_body;
use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider};

/// Sends to Discord.
pub(super) struct Discord {
    provider: ResolvedProvider,
    url: url::Url,
}

impl Discord {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        let mut url = provider.url.clone();
        if !url.path().ends_with("/slack") {
            let path = format!("{}/slack", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        Discord {
            provider: provider.clone(),
            url,
        }
    }
}

impl Notifier for Discord {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        OutgoingMessage {
            url: self.url.clone(),
            bearer: None,
            body: slack_body(alert, &self.provider),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{provider, rollback_alert};
    use super::*;
    use serin_crds::AlertProviderType;

    #[test]
    fn posts_to_the_slack_compatible_endpoint_once() {
        let p = provider(
            AlertProviderType::Discord,
            "https://discord.com/api/webhooks/1/tok",
        );
        let message = Discord::new(&p).message(&rollback_alert());
        assert_eq!(
            message.url.as_str(),
            "https://discord.com/api/webhooks/1/tok/slack"
        );
        assert_eq!(message.body["attachments"][0]["color"], "danger");
        let already = provider(
            AlertProviderType::Discord,
            "https://discord.com/api/webhooks/1/tok/slack",
        );
        assert_eq!(
            Discord::new(&already).url.as_str(),
            "https://discord.com/api/webhooks/1/tok/slack"
        );
    }
}
