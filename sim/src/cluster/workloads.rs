//! Deployment and DaemonSet status: rollouts become ready after a delay, unless the template says never.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::revision::Profile;
use super::snapshot::{Kind, key_of};

/// The rollout state of one workload.
#[derive(Debug, Clone)]
struct Rollout {
    /// `metadata.generation` the profile was read at (the template only changes with it).
    generation: i64,
    current: Profile,
    since: Instant,
    /// The last revision that became ready (serves traffic while `current` is not ready).
    ready: Option<Profile>,
}

/// Generation, replicas, new revision ready, stalled, old revision serving.
type Signature = (i64, i64, bool, bool, bool);

/// Tracks rollouts and writes workload status.
#[derive(Debug, Default)]
pub(crate) struct Workloads {
    rollouts: HashMap<(Kind, String, String), Rollout>,
    /// Last status written per workload, to write only on change.
    written: HashMap<(Kind, String, String), Value>,
    /// What the last written status was computed from: generation, replicas, new revision ready,
    /// stalled, old revision serving.
    signatures: HashMap<(Kind, String, String), Signature>,
}

/// Nodes of the simulated cluster, on which a DaemonSet runs.
const DAEMONSET_NODES: i64 = 3;

/// Labels every simulated node carries; a DaemonSet whose node selector asks for anything
/// else (such as `flagger.app/scale-to-zero`) is scheduled on no node.
const NODE_LABELS: [(&str, &str); 2] = [
    ("kubernetes.io/os", "linux"),
    ("kubernetes.io/arch", "amd64"),
];

/// How many nodes a DaemonSet's pod template selects.
pub(crate) fn scheduled_nodes(daemonset: &Value) -> i64 {
    let selector = daemonset["spec"]["template"]["spec"]["nodeSelector"].as_object();
    let fits = selector.into_iter().flatten().all(|(key, value)| {
        NODE_LABELS
            .iter()
            .any(|(k, v)| k == key && value.as_str() == Some(v))
    });
    if fits { DAEMONSET_NODES } else { 0 }
}
const DEFAULT_PROGRESS_DEADLINE: u64 = 600;

fn condition(kind: &str, status: bool, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": if status { "True" } else { "False" }, "reason": reason,
           "message": message, "lastUpdateTime": now, "lastTransitionTime": now})
}

/// The status fields compared to decide whether to write (timestamps excluded).
fn essence(status: &Value) -> Value {
    let mut essence = status.clone();
    if let Some(conditions) = essence.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastUpdateTime");
                m.remove("lastTransitionTime");
                m.remove("message");
            }
        }
    }
    essence
}

impl Workloads {
    /// Advances the rollout of one workload and returns the profile serving traffic, if any.
    fn observe(&mut self, kind: Kind, object: &Value, now: Instant) -> &Rollout {
        let (ns, name) = key_of(object);
        let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
        let key = (kind, ns, name);
        let known = self
            .rollouts
            .get(&key)
            .is_some_and(|r| r.generation == generation);
        if !known {
            let profile = Profile::of(object);
            let rollout = self.rollouts.entry(key.clone()).or_insert_with(|| Rollout {
                generation,
                current: profile.clone(),
                since: now,
                ready: None,
            });
            rollout.generation = generation;
            if rollout.current.hash != profile.hash {
                rollout.current = profile;
                rollout.since = now;
            }
        }
        &self.rollouts[&key]
    }

    /// The revision serving traffic for a Deployment or DaemonSet.
    pub(crate) fn serving(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Profile> {
        self.rollouts
            .get(&(kind, namespace.to_owned(), name.to_owned()))?
            .ready
            .as_ref()
    }

    /// A Deployment's live revisions with their readiness: the current one, and the previous ready
    /// one while the current one is not ready.
    pub(crate) fn revisions(&self, namespace: &str, name: &str) -> Vec<(&Profile, bool)> {
        let Some(rollout) =
            self.rollouts
                .get(&(Kind::Deployment, namespace.to_owned(), name.to_owned()))
        else {
            return Vec::new();
        };
        match &rollout.ready {
            Some(ready) if ready.hash == rollout.current.hash => vec![(&rollout.current, true)],
            Some(ready) => vec![(&rollout.current, false), (ready, true)],
            None => vec![(&rollout.current, false)],
        }
    }

    /// Computes and writes status for every Deployment and DaemonSet.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        deployments: &[Arc<Value>],
        daemonsets: &[Arc<Value>],
        ready_delay: Duration,
        now: Instant,
    ) -> Result<(), kube::Error> {
        let stamp = crate::ops::now();
        let mut seen = HashSet::new();
        for (kind, objects) in [
            (Kind::Deployment, deployments),
            (Kind::DaemonSet, daemonsets),
        ] {
            for object in objects {
                let (ns, name) = key_of(object);
                let rollout = self.observe(kind, object, now);
                let elapsed = now.saturating_duration_since(rollout.since);
                let new_ready = rollout.current.becomes_ready && elapsed >= ready_delay;
                let deadline = object["spec"]["progressDeadlineSeconds"]
                    .as_u64()
                    .unwrap_or(DEFAULT_PROGRESS_DEADLINE);
                let stalled = !new_ready && elapsed >= Duration::from_secs(deadline);
                let has_old = rollout
                    .ready
                    .as_ref()
                    .is_some_and(|r| r.hash != rollout.current.hash);
                let key = (kind, ns.clone(), name.clone());
                if new_ready {
                    let current = rollout.current.clone();
                    if let Some(r) = self.rollouts.get_mut(&key) {
                        r.ready = Some(current);
                    }
                }
                seen.insert(key.clone());
                let replicas = match kind {
                    Kind::DaemonSet => scheduled_nodes(object),
                    _ => object["spec"]["replicas"].as_i64().unwrap_or(1),
                };
                let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
                let signature = (generation, replicas, new_ready, stalled, has_old);
                if self.signatures.get(&key) == Some(&signature) {
                    // Nothing that shapes the status changed since it was written.
                    continue;
                }
                let status = match kind {
                    Kind::Deployment => {
                        deployment_status(object, new_ready, has_old, stalled, &stamp)
                    }
                    _ => daemonset_status(object, new_ready, has_old),
                };
                if self.written.get(&key).map(essence) == Some(essence(&status))
                    && object["status"]["observedGeneration"] == status["observedGeneration"]
                {
                    self.signatures.insert(key, signature);
                    continue;
                }
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), &ns, &kind.resource());
                match api
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": status})),
                    )
                    .await
                {
                    Ok(_) => {
                        self.written.insert(key.clone(), status);
                        self.signatures.insert(key, signature);
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        self.rollouts.retain(|k, _| seen.contains(k));
        self.written.retain(|k, _| seen.contains(k));
        self.signatures.retain(|k, _| seen.contains(k));
        Ok(())
    }
}

fn deployment_status(
    object: &Value,
    new_ready: bool,
    has_old: bool,
    stalled: bool,
    now: &str,
) -> Value {
    let desired = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let generation = object["metadata"]["generation"].clone();
    let (replicas, available) = if new_ready {
        (desired, desired)
    } else if has_old {
        (desired * 2, desired)
    } else {
        (desired, 0)
    };
    let available_ok = desired == 0 || available >= desired;
    let progressing = if stalled {
        condition(
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            "ReplicaSet has timed out progressing.",
            now,
        )
    } else if new_ready || desired == 0 {
        condition(
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            "ReplicaSet has successfully progressed.",
            now,
        )
    } else {
        condition(
            "Progressing",
            true,
            "ReplicaSetUpdated",
            "ReplicaSet is progressing.",
            now,
        )
    };
    let available_condition = if available_ok {
        condition(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
        )
    } else {
        condition(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            now,
        )
    };
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": desired,
        "readyReplicas": available,
        "availableReplicas": available,
        "conditions": [available_condition, progressing],
    });
    // Merge patches keep absent fields: write null to clear a stale count.
    status["unavailableReplicas"] = if replicas > available {
        json!(replicas - available)
    } else {
        Value::Null
    };
    status
}

/// A DaemonSet's status: its pods are all replaced by the current revision at once; until they
/// are ready, one node's old pod is gone and the others still serve.
fn daemonset_status(object: &Value, new_ready: bool, has_old: bool) -> Value {
    let desired = scheduled_nodes(object);
    let ready = if new_ready || desired == 0 {
        desired
    } else if has_old {
        desired - 1
    } else {
        0
    };
    json!({
        "observedGeneration": object["metadata"]["generation"],
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": desired,
        "updatedNumberScheduled": desired,
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": desired - ready,
        "numberMisscheduled": 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_rollout_reports_progress_deadline_exceeded_and_keeps_old_pods() {
        let object = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}});
        let status = deployment_status(&object, false, true, true, "t");
        assert_eq!(status["availableReplicas"], 2);
        assert_eq!(status["replicas"], 4);
        assert_eq!(
            status["conditions"][1]["reason"],
            "ProgressDeadlineExceeded"
        );
        let ready = deployment_status(&object, true, true, false, "t");
        assert_eq!(ready["conditions"][0]["status"], "True");
        assert_eq!(ready["observedGeneration"], 2);
        let zero = deployment_status(&json!({"spec": {"replicas": 0}}), false, false, false, "t");
        assert_eq!(zero["conditions"][0]["status"], "True");
    }

    #[test]
    fn a_daemonset_selecting_no_node_has_no_pods_and_one_rolling_out_is_not_available() {
        let daemonset = |node_selector: Value| {
            json!({"metadata": {"generation": 2},
                   "spec": {"template": {"spec": {"nodeSelector": node_selector}}}})
        };
        let everywhere = daemonset(json!({"kubernetes.io/os": "linux"}));
        assert_eq!(scheduled_nodes(&everywhere), DAEMONSET_NODES);
        let rolling = daemonset_status(&everywhere, false, true);
        assert_eq!(rolling["desiredNumberScheduled"], DAEMONSET_NODES);
        assert_eq!(rolling["numberAvailable"], DAEMONSET_NODES - 1);
        assert_eq!(
            daemonset_status(&everywhere, true, true)["numberAvailable"],
            DAEMONSET_NODES
        );
        let off = daemonset(json!({"flagger.app/scale-to-zero": "true"}));
        assert_eq!(scheduled_nodes(&off), 0);
        let status = daemonset_status(&off, false, true);
        assert_eq!(status["desiredNumberScheduled"], 0);
        assert_eq!(status["numberUnavailable"], 0);
    }
}
