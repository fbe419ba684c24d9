//! `ReplicaSets` and `Pods` for each Deployment revision, so `kubectl get pods` and `kubectl wait` on
//! pods work. Pod names match the ones in the traffic metrics; owner references let the garbage
//! collector remove them with their Deployment.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use serde_json::{Value, json};

use super::revision::Profile;
use super::snapshot::key_of;
use super::workloads::Workloads;

const MANAGER: &str = "serin-sim";

/// `(kind, namespace, name)` of a written object.
type ObjectId = (&'static str, String, String);

/// What was last written for each `ReplicaSet` and `Pod`, and their uids.
#[derive(Debug, Default)]
pub(crate) struct Pods {
    written: HashMap<ObjectId, (Value, String)>,
    /// Per Deployment: what its objects were last computed from, and their ids.
    plans: HashMap<(String, String), (String, Vec<ObjectId>)>,
}

fn resource(kind: &str) -> ApiResource {
    let gvk = match kind {
        "ReplicaSet" => GroupVersionKind::gvk("apps", "v1", "ReplicaSet"),
        _ => GroupVersionKind::gvk("", "v1", "Pod"),
    };
    ApiResource::from_gvk(&gvk)
}

fn owner(api_version: &str, kind: &str, name: &str, uid: &str) -> Value {
    json!([{"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}])
}

/// The desired `ReplicaSet` and `Pods` (with their status) of one revision.
fn revision_objects(
    deployment: &Value,
    profile: &Profile,
    ready: bool,
    rs_uid: Option<&str>,
) -> Vec<(ObjectId, Value, Value)> {
    let (namespace, name) = key_of(deployment);
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let template = &deployment["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!(profile.hash);
    let rs_name = format!("{name}-{}", profile.hash);
    let ready_count = if ready { replicas } else { 0 };
    let deployment_uid = deployment["metadata"]["uid"].as_str().unwrap_or_default();
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": namespace, "labels": labels,
                     "ownerReferences": owner("apps/v1", "Deployment", &name, deployment_uid)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": template["spec"]}},
    });
    let rs_status = json!({"replicas": replicas, "readyReplicas": ready_count, "availableReplicas": ready_count,
                           "fullyLabeledReplicas": replicas, "observedGeneration": 1});
    let mut objects = vec![(
        ("ReplicaSet", namespace.clone(), rs_name.clone()),
        rs,
        rs_status,
    )];
    let Some(rs_uid) = rs_uid else { return objects };
    let condition = if ready { "True" } else { "False" };
    for pod_name in profile.pod_names(&name, usize::try_from(replicas).unwrap_or(0)) {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": namespace, "labels": labels,
                         "ownerReferences": owner("apps/v1", "ReplicaSet", &rs_name, rs_uid)},
            "spec": template["spec"],
        });
        let status = json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": condition}, {"type": "ContainersReady", "status": condition},
                           {"type": "PodScheduled", "status": "True"}],
        });
        objects.push((("Pod", namespace.clone(), pod_name), pod, status));
    }
    objects
}

impl Pods {
    /// What a Deployment's objects depend on; unchanged means nothing to write.
    fn signature(&self, deployment: &Value, revisions: &[(&Profile, bool)]) -> String {
        let (namespace, name) = key_of(deployment);
        let mut signature = format!(
            "{}/{}/{}",
            deployment["metadata"]["uid"].as_str().unwrap_or_default(),
            deployment["metadata"]["generation"],
            deployment["spec"]["replicas"],
        );
        for (profile, ready) in revisions {
            let replica_set = (
                "ReplicaSet",
                namespace.clone(),
                format!("{name}-{}", profile.hash),
            );
            let created = self.written.contains_key(&replica_set);
            let _ = write!(signature, "/{}:{ready}:{created}", profile.hash);
        }
        signature
    }

    /// Server-side applies one object and its status unless exactly that was written last.
    async fn write(
        &mut self,
        client: &kube::Client,
        id: &ObjectId,
        object: &Value,
        status: &Value,
    ) -> Result<(), kube::Error> {
        let wanted = json!({"object": object, "status": status});
        if self
            .written
            .get(id)
            .is_some_and(|(written, _)| *written == wanted)
        {
            return Ok(());
        }
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &id.1, &resource(id.0));
        let params = PatchParams::apply(MANAGER).force();
        let stored = api.patch(&id.2, &params, &Patch::Apply(object)).await?;
        let status_patch =
            json!({"apiVersion": object["apiVersion"], "kind": id.0, "status": status});
        api.patch_status(&id.2, &params, &Patch::Apply(&status_patch))
            .await?;
        self.written.insert(
            id.clone(),
            (wanted, stored.metadata.uid.unwrap_or_default()),
        );
        Ok(())
    }

    /// Creates, updates and deletes `ReplicaSets` and `Pods` to match every Deployment's revisions.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        deployments: &[Arc<Value>],
        workloads: &Workloads,
    ) -> Result<(), kube::Error> {
        let mut desired_ids = HashSet::new();
        let mut seen = HashSet::new();
        for deployment in deployments {
            let key = key_of(deployment);
            seen.insert(key.clone());
            let revisions = workloads.revisions(&key.0, &key.1);
            let signature = self.signature(deployment, &revisions);
            if let Some((planned, ids)) = self.plans.get(&key)
                && *planned == signature
                && ids.iter().all(|id| self.written.contains_key(id))
            {
                desired_ids.extend(ids.iter().cloned());
                continue;
            }
            let mut ids = Vec::new();
            for (profile, ready) in revisions {
                let replica_set = (
                    "ReplicaSet",
                    key.0.clone(),
                    format!("{}-{}", key.1, profile.hash),
                );
                let rs_uid = self.written.get(&replica_set).map(|(_, uid)| uid.clone());
                for (id, object, status) in
                    revision_objects(deployment, profile, ready, rs_uid.as_deref())
                {
                    self.write(client, &id, &object, &status).await?;
                    ids.push(id);
                }
            }
            desired_ids.extend(ids.iter().cloned());
            self.plans.insert(key, (signature, ids));
        }
        self.plans.retain(|key, _| seen.contains(key));
        let stale: Vec<ObjectId> = self
            .written
            .keys()
            .filter(|id| !desired_ids.contains(*id))
            .cloned()
            .collect();
        for id in stale {
            self.written.remove(&id);
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &id.1, &resource(id.0));
            match api.delete(&id.2, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
