//! Webhook calls and alerts made while executing a plan. Both are best effort at this point:
//! gate outcomes that matter come back through the checks protocol, and a chat service that is
//! down must not stop a rollback.

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serin_crds::AlertProvider;
use serin_crds::canary::{AlertSeverity, CanaryStatus};
use serin_crds::validation::{HookKind, Strategy, WebhookPlan, validate_alert_provider};

use super::act::Subject;
use super::caches::cached_or_get;
use super::context::Context;
use crate::decide::{EventKind, HookCall};
use crate::notifiers::{Alert, ResolvedProvider, Severity};
use crate::webhooks::{EventInfo, HookPayload};

/// Identifies the revision and configs a release analyses, sent as the hooks' `checksum`.
pub(super) fn checksum(status: &CanaryStatus) -> String {
    crate::decide::revision::config_checksum(&serde_json::json!({
        "trackedConfigs": status.tracked_configs,
        "lastAppliedSpec": status.last_applied_spec,
    }))
}

fn payload(
    s: &Subject<'_>,
    hook: &WebhookPlan,
    status: &CanaryStatus,
    event: Option<&EventInfo>,
) -> HookPayload {
    HookPayload::new(
        s.route_ctx.canary,
        s.route_ctx.namespace,
        status.phase.unwrap_or_default(),
        &checksum(status),
        hook,
        event,
    )
}

/// Calls hooks whose outcome does not feed back into the decision (post-rollout and the like).
pub(super) async fn call_hooks(
    ctx: &Context,
    s: &Subject<'_>,
    calls: &[HookCall],
    status: &CanaryStatus,
) {
    for call in calls {
        let Some(hook) = s.valid.webhooks.iter().find(|h| h.name == call.name) else {
            continue;
        };
        if let Err(e) = ctx.hooks.call(hook, &payload(s, hook, status, None)).await {
            tracing::warn!(hook = %hook.name, error = %e, "webhook failed");
        }
    }
}

/// How long the controller-wide event webhook may take, as in Flagger.
const EVENT_WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends an event to every `event` hook, and to the controller's `--event-webhook`.
pub(super) async fn event_hooks(
    ctx: &Context,
    s: &Subject<'_>,
    kind: EventKind,
    message: &str,
    status: &CanaryStatus,
) {
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
        metadata: std::collections::BTreeMap::new(),
    });
    for hook in s
        .valid
        .webhooks
        .iter()
        .filter(|h| h.kind == HookKind::Event)
        .chain(global.as_ref())
    {
        if let Err(e) = ctx
            .hooks
            .call(hook, &payload(s, hook, status, Some(&event)))
            .await
        {
            tracing::warn!(hook = %hook.name, error = %e, "event webhook failed");
        }
    }
}

/// Sends an alert to every subscribed provider whose severity filter lets it through.
pub(super) async fn alert(ctx: &Context, s: &Subject<'_>, severity: AlertSeverity, message: &str) {
    let severity = match severity {
        AlertSeverity::Unset | AlertSeverity::Info => Severity::Info,
        AlertSeverity::Warn => Severity::Warn,
        AlertSeverity::Error => Severity::Error,
    };
    let alert = Alert {
        canary: s.route_ctx.canary.to_owned(),
        namespace: s.route_ctx.namespace.to_owned(),
        message: message.to_owned(),
        severity,
        fields: fields(ctx, s),
        time: Utc::now(),
    };
    for subscription in &s.valid.alerts {
        if !severity.reaches(subscription.severity) {
            continue;
        }
        let namespace = subscription
            .provider_ref
            .namespace
            .clone()
            .unwrap_or_else(|| s.route_ctx.namespace.to_owned());
        if ctx.config.no_cross_namespace_refs && namespace != s.route_ctx.namespace {
            tracing::warn!(provider = %subscription.provider_ref.name, "cross-namespace alert provider refused");
            continue;
        }
        match resolve(ctx, &namespace, &subscription.provider_ref.name).await {
            Ok(provider) => {
                if let Err(e) = ctx.alerts.send(&provider, &alert).await {
                    tracing::warn!(provider = %subscription.provider_ref.name, error = %e, "alert not delivered");
                }
            }
            Err(reason) => {
                tracing::warn!(provider = %subscription.provider_ref.name, %reason, "alert provider unusable");
            }
        }
    }
    if s.valid.alerts.is_empty() {
        for provider in &ctx.config.default_alerts {
            if let Err(e) = ctx.alerts.send(provider, &alert).await {
                tracing::warn!(url = %provider.url, error = %e, "default alert not delivered");
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

/// The fields Flagger puts in alerts.
fn fields(ctx: &Context, s: &Subject<'_>) -> Vec<(String, String)> {
    let target = format!(
        "Deployment/{}.{}",
        s.valid.target.name, s.route_ctx.namespace
    );
    let routing = match &s.valid.strategy {
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
            s.valid.threshold.to_string(),
        ),
        (
            "Progress deadline".to_owned(),
            format!("{}s", s.valid.progress_deadline.as_secs()),
        ),
        ("Traffic routing".to_owned(), routing),
    ];
    if let Some(cluster) = &ctx.config.cluster_name {
        fields.push(("Cluster".to_owned(), cluster.clone()));
    }
    fields
}
