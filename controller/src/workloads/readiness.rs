//! How ready a Deployment or DaemonSet is, from its status alone.

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};

/// Readiness of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Enough pods of the current revision are available.
    Ready,
    /// Still rolling out; `reason` says what is awaited.
    Progressing {
        /// What is awaited, for a person.
        reason: String,
        /// When the Deployment last made progress (its `Progressing` condition's last update),
        /// from which a progress deadline counts.
        since: Option<DateTime<Utc>>,
    },
    /// The Deployment controller gave up (`Progressing=False`, `ProgressDeadlineExceeded`).
    DeadlineExceeded {
        /// The condition's message.
        message: String,
    },
}

/// Readiness of `deployment`, where `threshold_percent` of the updated replicas must be available
/// (`canaryReadyThreshold`/`primaryReadyThreshold`, 100 by default).
pub fn deployment_readiness(deployment: &Deployment, threshold_percent: u8) -> Readiness {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = &deployment.status else {
        return Readiness::Progressing {
            reason: "no status reported yet".into(),
            since: None,
        };
    };
    let deadline = status.conditions.iter().flatten().find(|c| {
        c.type_.as_deref() == Some("Progressing")
            && c.status.as_deref() == Some("False")
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let Some(condition) = deadline {
        return Readiness::DeadlineExceeded {
            message: condition
                .message
                .clone()
                .unwrap_or_else(|| "progress deadline exceeded".into()),
        };
    }
    let since = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing"))
        .and_then(|c| {
            c.last_update_time
                .as_ref()
                .or(c.last_transition_time.as_ref())
        })
        .and_then(|t| {
            DateTime::from_timestamp(
                t.0.as_second(),
                t.0.subsec_nanosecond().try_into().unwrap_or(0),
            )
        });
    if status.observed_generation.unwrap_or(0) < generation {
        return Readiness::Progressing {
            reason: "waiting for the Deployment controller to see the change".into(),
            since,
        };
    }
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        let reason = format!("{updated} of {wanted} replicas updated");
        return Readiness::Progressing { reason, since };
    }
    if total > updated {
        let reason = format!("{} old replicas pending termination", total - updated);
        return Readiness::Progressing { reason, since };
    }
    // available / updated >= threshold / 100, in integers.
    if i64::from(available) * 100 < i64::from(updated) * i64::from(threshold_percent) {
        let reason = format!("{available} of {updated} updated replicas available");
        return Readiness::Progressing { reason, since };
    }
    Readiness::Ready
}

/// Readiness of `daemonset`: every node that should run it runs the current revision, and
/// `threshold_percent` of those pods are available. DaemonSets report no time of progress, so
/// `since` is always `None`.
pub fn daemonset_readiness(daemonset: &DaemonSet, threshold_percent: u8) -> Readiness {
    let progressing = |reason: String| Readiness::Progressing {
        reason,
        since: None,
    };
    let Some(status) = &daemonset.status else {
        return progressing("no status reported yet".into());
    };
    if status.observed_generation.unwrap_or(0) < daemonset.metadata.generation.unwrap_or(0) {
        return progressing("waiting for the DaemonSet controller to see the change".into());
    }
    let desired = status.desired_number_scheduled;
    let updated = status.updated_number_scheduled.unwrap_or(0);
    let available = status.number_available.unwrap_or(0);
    if updated < desired {
        return progressing(format!("{updated} of {desired} pods updated"));
    }
    if i64::from(available) * 100 < i64::from(desired) * i64::from(threshold_percent) {
        return progressing(format!("{available} of {desired} updated pods available"));
    }
    Readiness::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(status: &serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "podinfo", "generation": 2},
            "spec": {"replicas": 4, "selector": {}, "template": {}},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn all_updated_replicas_available_is_ready() {
        let d = deployment(
            &json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 4}),
        );
        assert_eq!(deployment_readiness(&d, 100), Readiness::Ready);
    }

    #[test]
    fn a_partial_threshold_accepts_fewer_available_replicas() {
        let d = deployment(
            &json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 2}),
        );
        assert_eq!(deployment_readiness(&d, 50), Readiness::Ready);
        assert!(
            matches!(deployment_readiness(&d, 100), Readiness::Progressing { reason, .. } if reason == "2 of 4 updated replicas available")
        );
    }

    #[test]
    fn an_unobserved_generation_or_old_replicas_are_still_progressing() {
        let stale = deployment(
            &json!({"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 4}),
        );
        assert!(matches!(
            deployment_readiness(&stale, 100),
            Readiness::Progressing { .. }
        ));
        let rolling = deployment(
            &json!({"observedGeneration": 2, "replicas": 6, "updatedReplicas": 4, "availableReplicas": 6}),
        );
        assert!(
            matches!(deployment_readiness(&rolling, 100), Readiness::Progressing { reason, .. } if reason.contains("2 old replicas"))
        );
    }

    #[test]
    fn progress_is_timed_from_the_progressing_conditions_last_update() {
        let d = deployment(
            &json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                            "lastUpdateTime": "2026-11-22T10:00:05Z", "lastTransitionTime": "2026-11-22T09:00:00Z"}]}),
        );
        let Readiness::Progressing { since, .. } = deployment_readiness(&d, 100) else {
            panic!("not progressing")
        };
        assert_eq!(
            since,
            DateTime::parse_from_rfc3339("2026-11-22T10:00:05Z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        );
    }

    #[test]
    fn a_progress_deadline_condition_is_reported_as_such() {
        let d = deployment(
            &json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 0,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"podinfo-5d\" has timed out progressing."}]}),
        );
        assert_eq!(
            deployment_readiness(&d, 100),
            Readiness::DeadlineExceeded {
                message: "ReplicaSet \"podinfo-5d\" has timed out progressing.".into()
            }
        );
    }

    fn daemonset(generation: i64, status: &serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "agent", "generation": generation},
            "spec": {"selector": {}, "template": {}},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_daemonset_is_ready_when_every_scheduled_pod_is_updated_and_available() {
        let status = |updated: i32, available: i32| {
            json!({"observedGeneration": 3, "desiredNumberScheduled": 4, "currentNumberScheduled": 4,
                   "numberMisscheduled": 0, "numberReady": available,
                   "updatedNumberScheduled": updated, "numberAvailable": available})
        };
        assert_eq!(
            daemonset_readiness(&daemonset(3, &status(4, 4)), 100),
            Readiness::Ready
        );
        assert_eq!(
            daemonset_readiness(&daemonset(3, &status(2, 4)), 100),
            Readiness::Progressing {
                reason: "2 of 4 pods updated".into(),
                since: None
            }
        );
        let half = daemonset(3, &status(4, 2));
        assert_eq!(daemonset_readiness(&half, 50), Readiness::Ready);
        assert_eq!(
            daemonset_readiness(&half, 100),
            Readiness::Progressing {
                reason: "2 of 4 updated pods available".into(),
                since: None
            }
        );
        assert!(matches!(
            daemonset_readiness(&daemonset(4, &status(4, 4)), 100),
            Readiness::Progressing { reason, .. } if reason.contains("see the change")
        ));
    }

    #[test]
    fn a_daemonset_scheduled_on_no_node_is_ready() {
        let scaled_down = daemonset(
            2,
            &json!({"observedGeneration": 2, "desiredNumberScheduled": 0, "currentNumberScheduled": 0,
                    "numberMisscheduled": 0, "numberReady": 0}),
        );
        assert_eq!(daemonset_readiness(&scaled_down, 100), Readiness::Ready);
    }
}
