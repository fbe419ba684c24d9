//! Google Chat: an incoming webhook taking a card with a header and one text section per field.

use serde_json::{Value, json};

use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider};

/// Sends to Google Chat.
pub(super) struct GoogleChat {
    provider: ResolvedProvider,
}

impl GoogleChat {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        GoogleChat {
            provider: provider.clone(),
        }
    }
}

fn paragraph(text: &str) -> Value {
    json!({ "widgets": [{ "textParagraph": { "text": text } }] })
}

impl Notifier for GoogleChat {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        let mut sections = vec![paragraph(&format!("<b>{}</b>", alert.message))];
        sections.extend(
            alert
                .fields
                .iter()
                .map(|(name, value)| paragraph(&format!("{name}<br><b>{value}</b>"))),
        );
        let body = json!({
            "cards": [{
                "header": { "title": "serin", "subtitle": alert.subject() },
                "sections": sections,
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
    fn sends_a_card_with_the_message_then_each_field() {
        let p = provider(
            AlertProviderType::Gchat,
            "https://chat.googleapis.com/v1/spaces/S/messages?key=k",
        );
        let message = GoogleChat::new(&p).message(&rollback_alert());
        assert_eq!(message.url.query(), Some("key=k"));
        assert_eq!(
            message.body,
            json!({"cards": [{
                "header": {"title": "serin", "subtitle": "podinfo.test"},
                "sections": [
                    {"widgets": [{"textParagraph": {"text": "<b>Canary analysis failed: 5 failed checks, rolling back</b>"}}]},
                    {"widgets": [{"textParagraph": {"text": "Target<br><b>Deployment/podinfo.test</b>"}}]},
                    {"widgets": [{"textParagraph": {"text": "Failed checks threshold<br><b>5</b>"}}]}
                ]
            }]})
        );
    }
}
