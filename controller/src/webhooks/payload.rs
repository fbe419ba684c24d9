//! The JSON body of a webhook call, as Flagger sends it: `name`, `namespace`, `phase`,
//! `checksum` and `metadata`; event hooks add `eventMessage`, `eventType` and `timestamp` to the
//! metadata.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serin_crds::canary::CanaryPhase;
use serin_crds::validation::WebhookPlan;

/// The JSON body sent to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookPayload {
    /// Name of the Canary.
    pub name: String,
    /// Namespace of the Canary.
    pub namespace: String,
    /// Phase of the Canary when the hook is called.
    pub phase: CanaryPhase,
    /// Identifies the revision and tracked configs under analysis, so that a receiver can tell
    /// two releases apart.
    pub checksum: String,
    /// The hook's metadata (and, for event hooks, the event).
    pub metadata: BTreeMap<String, String>,
}

/// An event reported to `event` hooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInfo {
    /// The event's message.
    pub message: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// When it happened.
    pub time: DateTime<Utc>,
}

impl HookPayload {
    /// The payload for `hook`; with `event`, the event's fields are added to the metadata (the
    /// hook's own metadata does not override them).
    pub fn new(
        name: &str,
        namespace: &str,
        phase: CanaryPhase,
        checksum: &str,
        hook: &WebhookPlan,
        event: Option<&EventInfo>,
    ) -> Self {
        let mut metadata = BTreeMap::new();
        if let Some(event) = event {
            metadata.insert("eventMessage".to_owned(), event.message.clone());
            metadata.insert("eventType".to_owned(), event.event_type.clone());
            metadata.insert(
                "timestamp".to_owned(),
                event.time.timestamp_millis().to_string(),
            );
        }
        for (key, value) in &hook.metadata {
            metadata.entry(key.clone()).or_insert_with(|| value.clone());
        }
        HookPayload {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            phase,
            checksum: checksum.to_owned(),
            metadata,
        }
    }
}
