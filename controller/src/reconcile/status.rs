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
    let existing = object
        .data
        .get("status")
        .and_then(|s| s.get("conditions"))
        .cloned();
    let Some(conditions) = stalled_conditions(existing, error, Utc::now()) else {
        return Ok(());
    };
    // A merge patch, not an apply: an apply under serin's field manager that carries only the
    // conditions would remove every other status field serin owns (the phase, the counters),
    // and the next tick would initialize the Canary again.
    let patch = json!({
        "status": { "conditions": conditions, "observedGeneration": object.metadata.generation },
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api(ctx, &namespace)
        .patch_status(&name, &params, &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The conditions saying that `error` stalls the Canary; `None` when they already say so.
/// The conditions of other types are kept (Flagger's `Promoted` above all, which
/// `kubectl wait --for=condition=promoted` reads) and serin's three replaced.
fn stalled_conditions(
    existing: Option<serde_json::Value>,
    error: &Error,
    now: chrono::DateTime<Utc>,
) -> Option<Vec<CanaryCondition>> {
    let reason = error.reason();
    let message = error.to_string();
    let already = existing
        .as_ref()
        .and_then(|c| c.as_array())
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c["type"] == STALLED && c["status"] == TRUE && c["message"] == message.as_str()
            })
        });
    if already {
        return None;
    }
    let condition = |type_: &str, status: &str| CanaryCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: Some(message.clone()),
        last_transition_time: Some(now),
        last_update_time: Some(now),
    };
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
    Some(conditions)
}
