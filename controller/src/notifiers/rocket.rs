//! Rocket.Chat: an incoming webhook that takes Slack's message format.

use super::slack::slack_body;
use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider};

/// Sends to Rocket.Chat.
pub(super) struct Rocket {
    provider: ResolvedProvider,
}

impl Rocket {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        Rocket {
            provider: provider.clone(),
        }
    }
}

impl Notifier for Rocket {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        OutgoingMessage {
            url: self.provider.url.clone(),
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
    fn posts_slack_format_to_the_hook_as_given() {
        let p = provider(
            AlertProviderType::Rocket,
            "https://chat.example.com/hooks/abc/def",
        );
        let message = Rocket::new(&p).message(&rollback_alert());
        assert_eq!(
            message.url.as_str(),
            "https://chat.example.com/hooks/abc/def"
        );
        assert_eq!(
            message.body["attachments"][0]["author_name"],
            "podinfo.test"
        );
        assert_eq!(message.body["channel"], "releases");
    }
}
