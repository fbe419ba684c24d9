//! Drift repair: the generated Services are compared with what serin would apply each tick (from
//! the watch cache, so the comparison costs no request) and applied again when someone changed
//! or deleted them. Fields the API server or others add are not drift; only a field serin sets,
//! with another value or missing, is.

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::act::{Subject, app_label, service_inputs};
use super::context::{Context, FIELD_MANAGER};
use super::error::Result;
use crate::workloads::{ServiceRole, Target, service};

/// Whether `have` holds everything `want` says: every field of `want` with the same value in
/// `have` (recursively; lists element by element), whatever else `have` holds.
pub(super) fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| have.get(k).map_or(says_nothing(w), |h| contains(h, w))),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| contains(h, w))
        }
        (have, want) => have == want,
    }
}

/// Whether `want` sets no value at all (only nulls, possibly nested), so that its absence is
/// no difference.
fn says_nothing(want: &Value) -> bool {
    match want {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(says_nothing),
        _ => false,
    }
}

/// Applies again the generated Services (`<apex>`, `<apex>-primary`, `<apex>-canary`) of a
/// Deployment or DaemonSet target that differ from what serin generates, once the primary is
/// ready (before that, initialization is still creating them). Returns the names restored.
pub(super) async fn repair_services(ctx: &Context, s: &Subject<'_>) -> Result<Vec<String>> {
    let Some(observed) = &s.observed.services else {
        return Ok(Vec::new());
    };
    if matches!(s.observed.target, Target::Service(_))
        || s.observed.observations.primary != crate::decide::Readiness::Ready
    {
        return Ok(Vec::new());
    }
    let Some(spec) = s.canary.spec.service.as_ref() else {
        return Ok(Vec::new());
    };
    let (key, app) = app_label(ctx, s)?;
    let inputs = service_inputs(s, spec, (&key, &app));
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), s.route_ctx.namespace);
    let mut restored = Vec::new();
    for role in [ServiceRole::Apex, ServiceRole::Primary, ServiceRole::Canary] {
        let mut want = serde_json::to_value(service(role, &inputs))?;
        let name = want["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let have = observed
            .iter()
            .find(|o| o.metadata.name.as_deref() == Some(name.as_str()))
            .map(serde_json::to_value)
            .transpose()?;
        if have.as_ref().is_some_and(|h| contains(h, &want)) {
            continue;
        }
        want["apiVersion"] = json!("v1");
        want["kind"] = json!("Service");
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&want),
        )
        .await?;
        restored.push(name);
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_added_by_others_are_not_drift_but_changed_or_missing_ones_are() {
        let want = json!({"spec": {"selector": {"app": "podinfo-primary"},
                                   "ports": [{"port": 9898, "protocol": "TCP"}]}});
        let defaulted = json!({"spec": {"selector": {"app": "podinfo-primary"}, "clusterIP": "10.0.0.1",
                                        "ports": [{"port": 9898, "protocol": "TCP", "targetPort": 9898}]}});
        assert!(contains(&defaulted, &want));
        let edited = json!({"spec": {"selector": {"app": "podinfo"},
                                     "ports": [{"port": 9898, "protocol": "TCP"}]}});
        assert!(!contains(&edited, &want));
        let extra_port = json!({"spec": {"selector": {"app": "podinfo-primary"},
                                         "ports": [{"port": 9898, "protocol": "TCP"}, {"port": 80}]}});
        assert!(!contains(&extra_port, &want));
        assert!(!contains(&json!({"spec": {}}), &want));
        assert!(contains(
            &json!({}),
            &json!({"metadata": {"annotations": null}})
        ));
    }
}
