//! The primary's autoscaler: a copy of the target's HorizontalPodAutoscaler or KEDA ScaledObject
//! that scales `<target>-primary` instead.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::canary::{AutoscalerKind, AutoscalerRef};

use super::canary_owner;

/// The primary's copy of `target_autoscaler` (the object `reference` names), as an object to
/// apply: named `<name>-primary`, scaling `primary_workload`, with the replica bounds of
/// `primaryScalerReplicas` and, for KEDA, the trigger queries of `primaryScalerQueries` (or the
/// target's with the target's name replaced by the primary's).
pub fn primary_autoscaler(
    reference: &AutoscalerRef,
    target_autoscaler: &Value,
    target_workload: &str,
    primary_workload: &str,
    owner: (&str, &str),
) -> Value {
    let mut spec = target_autoscaler["spec"].clone();
    spec["scaleTargetRef"]["name"] = Value::from(primary_workload);
    let (min_key, max_key) = match reference.kind {
        AutoscalerKind::HorizontalPodAutoscaler => ("minReplicas", "maxReplicas"),
        AutoscalerKind::ScaledObject => ("minReplicaCount", "maxReplicaCount"),
    };
    if let Some(bounds) = &reference.primary_scaler_replicas {
        if let Some(min) = bounds.min_replicas {
            spec[min_key] = Value::from(min);
        }
        if let Some(max) = bounds.max_replicas {
            spec[max_key] = Value::from(max);
        }
    }
    if reference.kind == AutoscalerKind::ScaledObject {
        let queries = reference.primary_scaler_queries.clone().unwrap_or_default();
        rewrite_triggers(&mut spec, &queries, target_workload, primary_workload);
    }
    json!({
        "apiVersion": reference.api_version,
        "kind": match reference.kind {
            AutoscalerKind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            AutoscalerKind::ScaledObject => "ScaledObject",
        },
        "metadata": {
            "name": format!("{}-primary", reference.name),
            "namespace": target_autoscaler["metadata"]["namespace"],
            "labels": target_autoscaler["metadata"]["labels"],
            "ownerReferences": [canary_owner(owner.0, owner.1)],
        },
        "spec": spec,
    })
}

/// Each trigger's `metadata.query`: the one given for it by name, or the target's with the
/// target's name replaced by the primary's.
fn rewrite_triggers(
    spec: &mut Value,
    queries: &BTreeMap<String, String>,
    target: &str,
    primary: &str,
) {
    let Some(triggers) = spec["triggers"].as_array_mut() else {
        return;
    };
    for trigger in triggers {
        let name = trigger["name"].as_str().unwrap_or_default().to_owned();
        let query = match queries.get(&name) {
            Some(q) => Some(q.clone()),
            None => trigger["metadata"]["query"]
                .as_str()
                .map(|q| q.replace(target, primary)),
        };
        if let Some(query) = query {
            trigger["metadata"]["query"] = Value::from(query);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serin_crds::canary::PrimaryScalerReplicas;

    fn reference(kind: AutoscalerKind, api_version: &str) -> AutoscalerRef {
        AutoscalerRef {
            api_version: api_version.into(),
            kind,
            name: "podinfo".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_hpa_copy_scales_the_primary_with_the_primary_bounds() {
        let hpa = json!({"metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                     "minReplicas": 2, "maxReplicas": 4,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}});
        let mut r = reference(AutoscalerKind::HorizontalPodAutoscaler, "autoscaling/v2");
        r.primary_scaler_replicas = Some(PrimaryScalerReplicas {
            min_replicas: Some(3),
            max_replicas: None,
        });
        let copy = primary_autoscaler(&r, &hpa, "podinfo", "podinfo-primary", ("podinfo", "uid-1"));
        assert_eq!(copy["metadata"]["name"], "podinfo-primary");
        assert_eq!(copy["kind"], "HorizontalPodAutoscaler");
        assert_eq!(copy["spec"]["scaleTargetRef"]["name"], "podinfo-primary");
        assert_eq!(
            (
                copy["spec"]["minReplicas"].clone(),
                copy["spec"]["maxReplicas"].clone()
            ),
            (json!(3), json!(4))
        );
        assert_eq!(copy["spec"]["metrics"], hpa["spec"]["metrics"]);
        assert_eq!(copy["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    }

    #[test]
    fn keda_trigger_queries_are_replaced_or_pointed_at_the_primary() {
        let so = json!({"metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"scaleTargetRef": {"name": "podinfo"}, "minReplicaCount": 1,
                     "triggers": [
                         {"name": "rps", "type": "prometheus", "metadata": {"query": "sum(rate(http_requests_total{app=\"podinfo\"}[1m]))"}},
                         {"name": "custom", "type": "prometheus", "metadata": {"query": "up"}}]}});
        let mut r = reference(AutoscalerKind::ScaledObject, "keda.sh/v1alpha1");
        r.primary_scaler_queries = Some([("custom".to_owned(), "vector(1)".to_owned())].into());
        r.primary_scaler_replicas = Some(PrimaryScalerReplicas {
            min_replicas: Some(2),
            max_replicas: Some(9),
        });
        let copy = primary_autoscaler(&r, &so, "podinfo", "podinfo-primary", ("podinfo", "uid-1"));
        assert_eq!(
            copy["spec"]["triggers"][0]["metadata"]["query"],
            "sum(rate(http_requests_total{app=\"podinfo-primary\"}[1m]))"
        );
        assert_eq!(
            copy["spec"]["triggers"][1]["metadata"]["query"],
            "vector(1)"
        );
        assert_eq!(
            (
                copy["spec"]["minReplicaCount"].clone(),
                copy["spec"]["maxReplicaCount"].clone()
            ),
            (json!(2), json!(9))
        );
    }
}
