//! Microsoft Teams: an incoming webhook taking a `MessageCard`, red for errors.

use serde_json::{Value, json};

use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider, Severity};

/// Sends to Microsoft Teams.
pub(super) struct Teams {
    provider: ResolvedProvider,
}

impl Teams {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        Teams {
            provider: provider.clone(),
        }
    }
}

impl Notifier for Teams {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        let facts: Vec<Value> = alert
            .fields
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        let color = match alert.severity {
            Severity::Info => "0076D7",
            Severity::Warn => "FFA500",
            Severity::Error => "FF0000",
        };
        let body = json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": color,
            "summary": alert.subject(),
            "sections": [{
                "activityTitle": alert.message,
                "activitySubtitle": alert.subject(),
                "facts": facts,
            }],
        });
        OutgoingMessage {
            url: self.provider.url.clone(),
            bearer: None,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{provider, rollback_alert};
    use super::*;
    use serin_crds::AlertProviderType;

    #[test]
    fn sends_a_message_card_with_facts() {
        let p = provider(
            AlertProviderType::Msteams,
            "https://example.webhook.office.com/webhookb2/x",
        );
        let message = Teams::new(&p).message(&rollback_alert());
        assert_eq!(
            message.body,
            json!({
                "@type": "MessageCard",
                "@context": "http://schema.org/extensions",
                "themeColor": "FF0000",
                "summary": "podinfo.test",
                "sections": [{
                    "activityTitle": "Canary analysis failed: 5 failed checks, rolling back",
                    "activitySubtitle": "podinfo.test",
                    "facts": [
                        {"name": "Target", "value": "Deployment/podinfo.test"},
                        {"name": "Failed checks threshold", "value": "5"}
                    ]
                }]
            })
        );
    }
}
