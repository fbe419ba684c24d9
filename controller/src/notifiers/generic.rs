//! A plain JSON document for any HTTP endpoint (serin's `generic` provider type).

use serde_json::{Map, Value, json};

use super::{Alert, Notifier, OutgoingMessage, ResolvedProvider};

/// Sends a plain JSON document.
pub(super) struct Generic {
    provider: ResolvedProvider,
}

impl Generic {
    pub(super) fn new(provider: &ResolvedProvider) -> Self {
        Generic {
            provider: provider.clone(),
        }
    }
}

impl Notifier for Generic {
    fn message(&self, alert: &Alert) -> OutgoingMessage {
        let fields: Map<String, Value> = alert
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let body = json!({
            "canary": alert.canary,
            "namespace": alert.namespace,
            "severity": alert.severity.as_str(),
            "message": alert.message,
            "fields": fields,
            "timestamp": alert.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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
    fn sends_every_alert_field_as_plain_json() {
        let p = provider(
            AlertProviderType::Generic,
            "http://audit.example.com/events",
        );
        assert_eq!(
            Generic::new(&p).message(&rollback_alert()).body,
            json!({
                "canary": "podinfo",
                "namespace": "test",
                "severity": "error",
                "message": "Canary analysis failed: 5 failed checks, rolling back",
                "fields": {"Target": "Deployment/podinfo.test", "Failed checks threshold": "5"},
                "timestamp": "2026-11-22T10:00:00Z"
            })
        );
    }
}
