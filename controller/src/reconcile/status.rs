//! The status step (I/O): one server-side apply of the status per reconcile, under serin's
//! field manager.

use chrono::Utc;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use serin_crds::Canary;
use serin_crds::canary::{CanaryCondition, CanaryStatus};

use super::context::{Context, FIELD_MANAGER};
use super::error::{Error, Result};
use crate::decide::{FALSE, READY, RECONCILING, STALLED, TRUE};

fn api(ctx: &Context, namespace: &str) -> Api<Canary> {
    Api::namespaced(ctx.client.clone(), namespace)
}

/// Writes `status` as the Canary's status.
pub(super) async fn write(ctx: &Context, canary: &Canary, status: &CanaryStatus) -> Result<()> {
    let namespace = canary.metadata.namespace.clone().unwrap_or_default();
    let name = canary.metadata.name.clone().unwrap_or_default();
    if canary.status.as_ref() == Some(status) {
        return Ok(());
    }
    let patch = json!({ "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "status": status });
    api(ctx, &namespace)
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(())
}

/// Records that the Canary cannot be acted on: `Stalled=True` and `Ready=False` with the error,
/// keeping the rest of the status (traffic stays where it is).
pub(super) async fn report_invalid(
    ctx: &Context,
    object: &DynamicObject,
    error: &Error,
) -> Result<()> {
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    let name = object.metadata.name.clone().unwrap_or_default();
    let now = Utc::now();
    let reason = match error {
        Error::TargetMissing { .. } => "TargetNotFound",
        Error::Malformed(_) | Error::InvalidSpec(_) => "InvalidSpec",
        Error::Workload(_) => "UnsupportedTarget",
        Error::Router(_) => "UnsupportedProvider",
        Error::MetricCheck { .. } => "MetricCheckInvalid",
        Error::Kube(_) | Error::Serde(_) => "ReconcileError",
    };
    let message = error.to_string();
    let condition = |type_: &str, status: &str| CanaryCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: Some(message.clone()),
        last_transition_time: Some(now),
        last_update_time: Some(now),
    };
    let existing = object
        .data
        .get("status")
        .and_then(|s| s.get("conditions"))
        .cloned();
    let already = existing
        .as_ref()
        .and_then(|c| c.as_array())
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c["type"] == STALLED && c["status"] == TRUE && c["message"] == message.as_str()
            })
        });
    if already {
        return Ok(());
    }
    // Keep the conditions of other types (Flagger's Promoted above all, which
    // `kubectl wait --for=condition=promoted` reads) and replace serin's three.
    let ours = [STALLED, READY, RECONCILING];
    let mut conditions: Vec<CanaryCondition> = existing
        .and_then(|c| serde_json::from_value::<Vec<CanaryCondition>>(c).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !ours.contains(&c.type_.as_str()))
        .collect();
    conditions.extend([
        condition(STALLED, TRUE),
        condition(READY, FALSE),
        condition(RECONCILING, FALSE),
    ]);
    let patch = json!({
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "status": { "conditions": conditions, "observedGeneration": object.metadata.generation },
    });
    api(ctx, &namespace)
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    Ok(())
}
