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

/// The version of each Canary that serin read before its last status write, by
/// `namespace/name`. The watch cache a reconcile reads from can lag behind serin's own write;
/// a Canary seen again at that version is stale, and deciding from it would undo the write
/// (a rollback just written as `Failed` read back as `Progressing`).
#[derive(Debug, Default)]
pub struct StatusWrites(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl StatusWrites {
    fn record(&self, key: String, version_before: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, version_before);
    }

    /// Whether `version` of the Canary `key` is one serin's own status write made obsolete.
    /// Once a newer version is seen, the entry is dropped.
    pub(super) fn is_stale(&self, key: &str, version: Option<&str>) -> bool {
        let mut written = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (written.get(key), version) {
            (Some(before), Some(version)) if before == version => true,
            (Some(_), _) => {
                written.remove(key);
                false
            }
            (None, _) => false,
        }
    }

    /// Forgets the Canary `key` (it was deleted).
    pub(super) fn forget(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// Writes `status` as the Canary's status.
pub(super) async fn write(ctx: &Context, canary: &Canary, status: &CanaryStatus) -> Result<()> {
    let namespace = canary.metadata.namespace.clone().unwrap_or_default();
    let name = canary.metadata.name.clone().unwrap_or_default();
    if canary.status.as_ref() == Some(status) {
        return Ok(());
    }
    let patch = json!({ "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "status": status });
    let written = api(ctx, &namespace)
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    // A write the server found to change nothing leaves the version as it was: not stale.
    if let Some(before) = &canary.metadata.resource_version
        && written.metadata.resource_version.as_ref() != Some(before)
    {
        ctx.status_writes
            .record(format!("{namespace}/{name}"), before.clone());
    }
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

#[cfg(test)]
mod tests {
    use super::StatusWrites;

    #[test]
    fn a_canary_seen_at_the_version_before_serins_write_is_stale_until_a_newer_one_comes() {
        let writes = StatusWrites::default();
        assert!(
            !writes.is_stale("test/podinfo", Some("7")),
            "nothing written"
        );
        writes.record("test/podinfo".into(), "7".into());
        assert!(writes.is_stale("test/podinfo", Some("7")));
        assert!(writes.is_stale("test/podinfo", Some("7")), "still stale");
        assert!(
            !writes.is_stale("other/podinfo", Some("7")),
            "another Canary"
        );
        assert!(
            !writes.is_stale("test/podinfo", Some("9")),
            "the write seen"
        );
        assert!(
            !writes.is_stale("test/podinfo", Some("7")),
            "forgotten once caught up"
        );
        writes.record("test/podinfo".into(), "9".into());
        writes.forget("test/podinfo");
        assert!(!writes.is_stale("test/podinfo", Some("9")), "deleted");
    }
}
