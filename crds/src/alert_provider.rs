//! The `AlertProvider` custom resource: a chat service that receives a Canary's notifications.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metric_template::SecretRef;

/// AlertProvider is a chat service (Slack, Microsoft Teams, Discord, Rocket.Chat, Google Chat)
/// or a plain HTTP endpoint that receives notifications about Canaries.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "AlertProvider",
    namespaced,
    derive = "PartialEq",
    status = "AlertProviderStatus",
    category = "all",
    doc = "AlertProvider is a chat service or HTTP endpoint that receives notifications about Canaries.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type")
)]
#[serde(rename_all = "camelCase")]
pub struct AlertProviderSpec {
    /// Kind of service.
    #[serde(rename = "type")]
    pub type_: AlertProviderType,
    /// Channel the messages go to, where the service lets the sender choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Name the messages are sent under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Webhook URL of the service. Ignored when `secretRef` gives an `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP or HTTPS proxy to send the messages through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Secret in the provider's namespace with the webhook URL under `address` (and, for
    /// Slack's API, a bot `token`). Keeps the URL out of the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// Observed state of an AlertProvider (unused; kept for Flagger compatibility).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AlertProviderStatus {}

/// Services that can receive alerts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
#[serde(rename_all = "lowercase")]
pub enum AlertProviderType {
    /// Slack incoming webhook or `chat.postMessage`.
    #[default]
    Slack,
    /// Microsoft Teams incoming webhook or workflow.
    Msteams,
    /// Discord webhook (Slack-compatible endpoint).
    Discord,
    /// Rocket.Chat incoming webhook.
    Rocket,
    /// Google Chat webhook.
    Gchat,
    /// Any HTTP endpoint, sent a plain JSON document (serin only).
    Generic,
}
