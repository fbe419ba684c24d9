//! Validation of webhooks: their kind, address, timeout and retries.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::canary::{HookType, Webhook};

use super::Problems;

/// A webhook, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookPlan {
    /// Name of the hook.
    pub name: String,
    /// When it is called.
    pub kind: HookKind,
    /// Where it is sent, with POST.
    pub url: url::Url,
    /// How long to wait for an answer.
    pub timeout: Duration,
    /// How many times a failure is retried.
    pub retries: u32,
    /// Skip TLS verification.
    pub disable_tls: bool,
    /// Send no alerts about its failures.
    pub mute_alert: bool,
    /// Payload metadata.
    pub metadata: BTreeMap<String, String>,
}

/// When a webhook is called (an unset type means `Rollout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// Gate before a release starts.
    ConfirmRollout,
    /// Before any traffic reaches the canary.
    PreRollout,
    /// At every analysis step.
    Rollout,
    /// Gate before each traffic increase.
    ConfirmTrafficIncrease,
    /// Gate before promotion.
    ConfirmPromotion,
    /// After promotion or rollback.
    PostRollout,
    /// A 2xx answer rolls back.
    Rollback,
    /// On every event.
    Event,
}

impl HookKind {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::ConfirmRollout => "confirm-rollout",
            HookKind::PreRollout => "pre-rollout",
            HookKind::Rollout => "rollout",
            HookKind::ConfirmTrafficIncrease => "confirm-traffic-increase",
            HookKind::ConfirmPromotion => "confirm-promotion",
            HookKind::PostRollout => "post-rollout",
            HookKind::Rollback => "rollback",
            HookKind::Event => "event",
        }
    }
}

impl From<HookType> for HookKind {
    fn from(t: HookType) -> Self {
        match t {
            HookType::Unset | HookType::Rollout => HookKind::Rollout,
            HookType::ConfirmRollout => HookKind::ConfirmRollout,
            HookType::PreRollout => HookKind::PreRollout,
            HookType::ConfirmPromotion => HookKind::ConfirmPromotion,
            HookType::PostRollout => HookKind::PostRollout,
            HookType::Event => HookKind::Event,
            HookType::Rollback => HookKind::Rollback,
            HookType::ConfirmTrafficIncrease => HookKind::ConfirmTrafficIncrease,
        }
    }
}

/// Default time a webhook may take to answer.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest timeout a webhook may ask for: a hook is called while its Canary's tick waits.
pub const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// Most retries a webhook may ask for.
pub const MAX_WEBHOOK_RETRIES: u32 = 10;

pub(crate) fn webhooks(hooks: &[Webhook], p: &mut Problems) -> Vec<WebhookPlan> {
    let mut names = BTreeSet::new();
    let mut plans = Vec::new();
    for (i, h) in hooks.iter().enumerate() {
        let path = format!("spec.analysis.webhooks[{i}]");
        if h.name.trim().is_empty() {
            p.add(format!("{path}.name"), "must not be empty");
        } else if !names.insert(h.name.as_str()) {
            p.add(
                format!("{path}.name"),
                format!(
                    "{:?} is used by another webhook; names must be unique",
                    h.name
                ),
            );
        }
        let url = p.http_url(&format!("{path}.url"), &h.url);
        let timeout = match &h.timeout {
            Some(t) => p.duration(&format!("{path}.timeout"), t),
            None => Some(DEFAULT_WEBHOOK_TIMEOUT),
        };
        let timeout = timeout.filter(|t| {
            let within = *t <= MAX_WEBHOOK_TIMEOUT;
            if !within {
                p.add(format!("{path}.timeout"), "must be at most 5m");
            }
            within
        });
        let retries = h.retries.unwrap_or(0);
        if retries > MAX_WEBHOOK_RETRIES {
            p.add(format!("{path}.retries"), "must be at most 10");
        }
        if let (Some(url), Some(timeout), true) = (url, timeout, retries <= MAX_WEBHOOK_RETRIES) {
            plans.push(WebhookPlan {
                name: h.name.clone(),
                kind: h.type_.map_or(HookKind::Rollout, HookKind::from),
                url,
                timeout,
                retries,
                disable_tls: h.disable_tls.unwrap_or(false),
                mute_alert: h.mute_alert.unwrap_or(false),
                metadata: h.metadata.clone().unwrap_or_default(),
            });
        }
    }
    plans
}
