//! The announce step (I/O, after the status is written): Kubernetes events, `event` and
//! `post-rollout` hooks, and alerts. They run in a task of their own, at most a bounded number
//! at once across all Canaries, so that a slow chat service or hook delays neither this
//! Canary's status nor any other Canary's tick; and since they come after the status write, a
//! failed write does not announce twice (the next tick finds the transition still to make).
//! All of them are best effort: a failure is logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::Api;
use kube::runtime::events::{Event, EventType};
use serin_crds::AlertProvider;
use serin_crds::canary::{AlertRef, AlertSeverity, CanaryStatus};
use serin_crds::validation::{
    HookKind, Strategy, ValidCanary, WebhookPlan, validate_alert_provider,
};

use super::caches::cached_or_get;
use super::context::Context;
use super::subject::Identity;
use crate::decide::{Action, EventKind, HookCall, kind_name};
use crate::notifiers::{Alert, ResolvedProvider, Severity};
use crate::webhooks::{EventInfo, HookPayload};

/// How long the controller-wide event webhook may take, as in Flagger.
const EVENT_WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One tick's announcements, owned so that they can be sent on their own task.
struct Announcements {
    reference: ObjectReference,
    id: Identity,
    hooks: Vec<WebhookPlan>,
    alerts: Vec<AlertRef>,
    fields: Vec<(String, String)>,
    phase: serin_crds::canary::CanaryPhase,
    checksum: String,
    actions: Vec<Action>,
}

/// Sends the announcements of `actions` (the plan's events, alerts and fire-and-forget hooks)
/// on their own task.
pub(super) fn announce(
    ctx: &Arc<Context>,
    canary: &serin_crds::Canary,
    id: &Identity,
    valid: &ValidCanary,
    status: &CanaryStatus,
    actions: &[Action],
) {
    let actions: Vec<Action> = actions
        .iter()
        .filter(|a| a.is_announcement())
        .cloned()
        .collect();
    if actions.is_empty() {
        return;
    }
    let announcements = Announcements {
        reference: ObjectReference {
            api_version: Some("flagger.app/v1beta1".into()),
            kind: Some("Canary".into()),
            name: canary.metadata.name.clone(),
            namespace: canary.metadata.namespace.clone(),
            uid: canary.metadata.uid.clone(),
            resource_version: canary.metadata.resource_version.clone(),
            field_path: None,
        },
        id: id.clone(),
        hooks: valid.webhooks.clone(),
        alerts: valid.alerts.clone(),
        fields: fields(ctx, id, valid),
        phase: status.phase.unwrap_or_default(),
        checksum: checksum(status),
        actions,
    };
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move {
        let Ok(_permit) = ctx.announcers.acquire().await else {
            return;
        };
        announcements.send(&ctx).await;
    });
}

/// Identifies the revision and configs a release analyses, sent as the hooks' `checksum`.
pub(super) fn checksum(status: &CanaryStatus) -> String {
    crate::decide::revision::config_checksum(&serde_json::json!({
        "trackedConfigs": status.tracked_configs,
        "lastAppliedSpec": status.last_applied_spec,
    }))
}

impl Announcements {
    async fn send(&self, ctx: &Context) {
        for action in &self.actions {
            match action {
                Action::Event {
                    kind,
                    reason,
                    message,
                } => {
                    self.publish_event(ctx, *kind, reason, message).await;
                    self.event_hooks(ctx, *kind, message).await;
                }
                Action::Alert { severity, message } => self.alert(ctx, *severity, message).await,
                Action::CallHooks(calls) => self.call_hooks(ctx, calls).await,
                _ => {}
            }
        }
    }

    fn payload(&self, hook: &WebhookPlan, event: Option<&EventInfo>) -> HookPayload {
        HookPayload::new(
            &self.id.name,
            &self.id.namespace,
            self.phase,
            &self.checksum,
            hook,
            event,
        )
    }

    async fn publish_event(&self, ctx: &Context, kind: EventKind, reason: &str, message: &str) {
        let event = Event {
            type_: match kind {
                EventKind::Normal => EventType::Normal,
                EventKind::Warning => EventType::Warning,
            },
            reason: reason.to_owned(),
            note: Some(message.chars().take(1000).collect()),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &self.reference).await {
            tracing::warn!(error = %e, reason, "could not publish event");
        }
    }

    /// Calls hooks whose outcome does not feed back into the decision (`post-rollout`).
    async fn call_hooks(&self, ctx: &Context, calls: &[HookCall]) {
        for call in calls {
            let Some(hook) = self.hooks.iter().find(|h| h.name == call.name) else {
                continue;
            };
            if let Err(e) = ctx.hooks.call(hook, &self.payload(hook, None)).await {
                tracing::warn!(hook = %hook.name, error = %e, "webhook failed");
            }
        }
    }

    /// Sends an event to every `event` hook, and to the controller's `--event-webhook`.
    async fn event_hooks(&self, ctx: &Context, kind: EventKind, message: &str) {
        let event = EventInfo {
            message: message.to_owned(),
            event_type: match kind {
                EventKind::Normal => "Normal".into(),
                EventKind::Warning => "Warning".into(),
            },
            time: Utc::now(),
        };
        let global = ctx.config.event_webhook.as_ref().map(|url| WebhookPlan {
            name: "event-webhook".into(),
            kind: HookKind::Event,
            url: url.clone(),
            timeout: EVENT_WEBHOOK_TIMEOUT,
            retries: 0,
            disable_tls: false,
            mute_alert: false,
            metadata: BTreeMap::new(),
        });
        for hook in self
            .hooks
            .iter()
            .filter(|h| h.kind == HookKind::Event)
            .chain(global.as_ref())
        {
            if let Err(e) = ctx
                .hooks
                .call(hook, &self.payload(hook, Some(&event)))
                .await
            {
                tracing::warn!(hook = %hook.name, error = %e, "event webhook failed");
            }
        }
    }

    /// Sends an alert to every subscribed provider whose severity filter lets it through.
    async fn alert(&self, ctx: &Context, severity: AlertSeverity, message: &str) {
        let severity = match severity {
            AlertSeverity::Unset | AlertSeverity::Info => Severity::Info,
            AlertSeverity::Warn => Severity::Warn,
            AlertSeverity::Error => Severity::Error,
        };
        let alert = Alert {
            canary: self.id.name.clone(),
            namespace: self.id.namespace.clone(),
            message: message.to_owned(),
            severity,
            fields: self.fields.clone(),
            time: Utc::now(),
        };
        for subscription in &self.alerts {
            if !severity.reaches(subscription.severity) {
                continue;
            }
            let name = &subscription.provider_ref.name;
            let namespace = subscription
                .provider_ref
                .namespace
                .clone()
                .unwrap_or_else(|| self.id.namespace.clone());
            if ctx.config.no_cross_namespace_refs && namespace != self.id.namespace {
                tracing::warn!(provider = %name, "cross-namespace alert provider refused");
                continue;
            }
            match resolve(ctx, &namespace, name).await {
                Ok(provider) => {
                    if let Err(e) = ctx.alerts.send(&provider, &alert).await {
                        tracing::warn!(provider = %name, error = %e, "alert not delivered");
                    }
                }
                Err(reason) => {
                    tracing::warn!(provider = %name, %reason, "alert provider unusable");
                }
            }
        }
        if self.alerts.is_empty() {
            for provider in &ctx.config.default_alerts {
                if let Err(e) = ctx.alerts.send(provider, &alert).await {
                    tracing::warn!(
                        url = %serin_analysis::redact::webhook_origin(&provider.url),
                        error = %e,
                        "default alert not delivered"
                    );
                }
            }
        }
    }
}

async fn resolve(ctx: &Context, namespace: &str, name: &str) -> Result<ResolvedProvider, String> {
    let caches = ctx.caches();
    let cache = caches.covering(namespace, caches.alert_providers.as_ref());
    let provider = cached_or_get::<AlertProvider>(&ctx.client, cache, namespace, name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("alert provider {namespace}/{name} not found"))?;
    let valid = validate_alert_provider(&provider.spec).map_err(|e| e.to_string())?;
    let secret = match &valid.secret_name {
        Some(secret) => {
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
            let data = secrets
                .get(secret)
                .await
                .map_err(|e| e.to_string())?
                .data
                .unwrap_or_default();
            Some(
                data.into_iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                    .collect::<BTreeMap<_, _>>(),
            )
        }
        None => None,
    };
    ResolvedProvider::resolve(&valid, secret.as_ref()).map_err(|e| e.to_string())
}

/// The fields Flagger puts in alerts: the target by its own kind.
fn fields(ctx: &Context, id: &Identity, valid: &ValidCanary) -> Vec<(String, String)> {
    let target = format!(
        "{}/{}.{}",
        kind_name(valid.target.kind),
        valid.target.name,
        id.namespace
    );
    let routing = match &valid.strategy {
        Strategy::Progressive {
            steps, max_weight, ..
        } => {
            let first = steps.first().map_or(0, |w| w.get());
            format!("Weight step: {first} max: {}", max_weight.get())
        }
        Strategy::ABTesting { .. } => "A/B Testing".to_owned(),
        Strategy::BlueGreen { .. } => "Blue/Green".to_owned(),
    };
    let mut fields = vec![
        ("Target".to_owned(), target),
        (
            "Failed checks threshold".to_owned(),
            valid.threshold.to_string(),
        ),
        (
            "Progress deadline".to_owned(),
            format!("{}s", valid.progress_deadline.as_secs()),
        ),
        ("Traffic routing".to_owned(), routing),
    ];
    if let Some(cluster) = &ctx.config.cluster_name {
        fields.push(("Cluster".to_owned(), cluster.clone()));
    }
    fields
}
