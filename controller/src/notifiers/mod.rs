//! Alerts: a Canary's notifications, filtered by severity and sent to chat services in each
//! service's own wire format. Each notifier only builds its message (pure); [`Sender`] posts it.

mod discord;
mod gchat;
mod generic;
mod provider;
mod rocket;
mod sender;
mod slack;
mod teams;

pub use provider::{ProviderError, ResolvedProvider, SLACK_POST_MESSAGE_URL};
pub use sender::{ALERT_TIMEOUT, ANSWER_EXCERPT, SendError, Sender};

use chrono::{DateTime, Utc};
use serin_crds::AlertProviderType;
use serin_crds::canary::AlertSeverity;

/// How serious an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Progress worth knowing about.
    Info,
    /// Something needs attention but the release goes on (a gate holds, a hook fails once).
    Warn,
    /// The release failed or was rolled back.
    Error,
}

impl Severity {
    /// Whether an alert of this severity reaches a subscription with `minimum` (`info` receives
    /// all, `warn` warnings and errors, `error` only errors; unset means `info`).
    pub fn reaches(self, minimum: Option<AlertSeverity>) -> bool {
        match minimum {
            None | Some(AlertSeverity::Unset | AlertSeverity::Info) => true,
            Some(AlertSeverity::Warn) => self >= Severity::Warn,
            Some(AlertSeverity::Error) => self == Severity::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One notification about one Canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Name of the Canary.
    pub canary: String,
    /// Namespace of the Canary.
    pub namespace: String,
    /// What happened.
    pub message: String,
    /// How serious it is.
    pub severity: Severity,
    /// Details shown as labelled fields (target, thresholds, routing, cluster).
    pub fields: Vec<(String, String)>,
    /// When it happened.
    pub time: DateTime<Utc>,
}

impl Alert {
    /// `name.namespace`, as chat messages name a Canary.
    fn subject(&self) -> String {
        format!("{}.{}", self.canary, self.namespace)
    }
}

/// A message ready to POST.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMessage {
    /// Where to send it.
    pub url: url::Url,
    /// `Authorization: Bearer` token, for Slack's API.
    pub bearer: Option<String>,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// Builds a service's message for an alert.
pub trait Notifier {
    /// The message for `alert`.
    fn message(&self, alert: &Alert) -> OutgoingMessage;
}

/// The notifier for a provider's type.
pub fn notifier(provider: &ResolvedProvider) -> Box<dyn Notifier + Send + Sync> {
    match provider.kind {
        AlertProviderType::Slack => Box::new(slack::Slack::new(provider)),
        AlertProviderType::Msteams => Box::new(teams::Teams::new(provider)),
        AlertProviderType::Discord => Box::new(discord::Discord::new(provider)),
        AlertProviderType::Rocket => Box::new(rocket::Rocket::new(provider)),
        AlertProviderType::Gchat => Box::new(gchat::GoogleChat::new(provider)),
        AlertProviderType::Generic => Box::new(generic::Generic::new(provider)),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// The alert every notifier test renders.
    pub(crate) fn rollback_alert() -> Alert {
        Alert {
            canary: "podinfo".into(),
            namespace: "test".into(),
            message: "Canary analysis failed: 5 failed checks, rolling back".into(),
            severity: Severity::Error,
            fields: vec![
                ("Target".into(), "Deployment/podinfo.test".into()),
                ("Failed checks threshold".into(), "5".into()),
            ],
            time: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    pub(crate) fn provider(kind: AlertProviderType, address: &str) -> ResolvedProvider {
        ResolvedProvider {
            kind,
            url: url::Url::parse(address).unwrap(),
            token: None,
            channel: Some("releases".into()),
            username: Some("serin".into()),
            proxy: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_filter_matches_the_documented_levels() {
        use AlertSeverity as Min;
        let table = [
            (Severity::Info, None, true),
            (Severity::Info, Some(Min::Unset), true),
            (Severity::Info, Some(Min::Info), true),
            (Severity::Info, Some(Min::Warn), false),
            (Severity::Warn, Some(Min::Warn), true),
            (Severity::Error, Some(Min::Warn), true),
            (Severity::Warn, Some(Min::Error), false),
            (Severity::Error, Some(Min::Error), true),
        ];
        for (severity, minimum, expected) in table {
            assert_eq!(
                severity.reaches(minimum),
                expected,
                "{severity:?} vs {minimum:?}"
            );
        }
    }
}
