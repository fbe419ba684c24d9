//! Slack: an incoming webhook, or `chat.postMessage` with a bot token. One attachment carrying
//! the message, coloured by severity, with the alert's fields.

use serde_json::{Value, json};

use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider, Severity};

/// Default name messages are sent under.
pub(super) const DEFAULT_USERNAME: &str = "serin";

/// Sends to Slack.
pub(super) struct Slack {
    provider: ResolvedProvider,
}

impl Slack {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        Slack {
            provider: provider.clone(),
        }
    }
}

impl Notifier for Slack {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        OutgoingMessage {
            url: self.provider.url.clone(),
            bearer: self.provider.token.clone(),
            body: slack_body(alert, &self.provider),
        }
    }
}

/// Slack's message format, which Discord and Rocket.Chat also accept.
pub(super) fn slack_body(alert: &Alert, provider: &ResolvedProvider) -> Value {
    let color = match alert.severity {
        Severity::Info => "good",
        Severity::Warn => "warning",
        Severity::Error => "danger",
    };
    let fields: Vec<Value> = alert
        .fields
        .iter()
        .map(|(title, value)| json!({ "title": title, "value": value, "short": false }))
        .collect();
    let mut body = json!({
        "username": provider.username.as_deref().unwrap_or(DEFAULT_USERNAME),
        "icon_emoji": ":rocket:",
        "attachments": [{
            "color": color,
            "author_name": alert.subject(),
            "text": alert.message,
            "mrkdwn_in": ["text"],
            "fields": fields,
        }],
    });
    if let (Some(channel), Some(object)) = (&provider.channel, body.as_object_mut()) {
        object.insert("channel".into(), Value::from(channel.as_str()));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{provider, rollback_alert};
    use super::*;
    use serin_crds::AlertProviderType;

    #[test]
    fn sends_one_danger_attachment_with_the_fields() {
        let p = provider(
            AlertProviderType::Slack,
            "https://hooks.slack.com/services/T/B/X",
        );
        let message = Slack::new(&p).message(&rollback_alert());
        assert_eq!(
            message.url.as_str(),
            "https://hooks.slack.com/services/T/B/X"
        );
        assert_eq!(message.bearer, None);
        assert_eq!(
            message.body,
            json!({
                "channel": "releases",
                "username": "serin",
                "icon_emoji": ":rocket:",
                "attachments": [{
                    "color": "danger",
                    "author_name": "podinfo.test",
                    "text": "Canary analysis failed: 5 failed checks, rolling back",
                    "mrkdwn_in": ["text"],
                    "fields": [
                        {"title": "Target", "value": "Deployment/podinfo.test", "short": false},
                        {"title": "Failed checks threshold", "value": "5", "short": false}
                    ]
                }]
            })
        );
    }

    #[test]
    fn a_token_is_sent_as_bearer_authorization() {
        let mut p = provider(
            AlertProviderType::Slack,
            "https://slack.com/api/chat.postMessage",
        );
        p.token = Some("xoxb-123".into());
        assert_eq!(
            Slack::new(&p).message(&rollback_alert()).bearer.as_deref(),
            Some("xoxb-123")
        );
    }
}
