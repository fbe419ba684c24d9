//! The workload adapter (I/O, writes): what the executor does to a target, its primary and the
//! generated Services, whatever the target's kind. Each operation builds its objects with this
//! module's pure functions and applies them server-side under serin's field manager; the kinds
//! differ only inside the adapter (a DaemonSet "scales to zero" by node selector, a Service
//! target is copied rather than scaled).

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use serin_crds::canary::AutoscalerKind;
use serin_crds::validation::ValidCanary;
use serin_decide::ServiceRole;

use super::{
    ConfigKind, ConfigRef, KnativeService, PrimaryOptions, SCALE_TO_ZERO_NODE_SELECTOR,
    ServiceInputs, Target, WorkloadError, canary_owner, primary_autoscaler, primary_workload,
    selector_label, service, service_copy,
};
use crate::FIELD_MANAGER;

/// Why a write to a workload failed.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The target cannot be used as it is.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// An object could not be (de)serialized.
    #[error("serialization: {0}")]
    Serde(#[from] serde_json::Error),
}

impl AdapterError {
    /// A low-cardinality label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            AdapterError::Workload(e) => e.category(),
            AdapterError::Kube(_) => "kube_api",
            AdapterError::Serde(_) => "serialization",
        }
    }
}

/// Controller settings the workloads follow.
#[derive(Clone, Copy, Debug)]
pub struct WorkloadSettings<'a> {
    /// Label keys that name the app in selectors, in order of preference.
    pub selector_labels: &'a [String],
    /// Prefixes of the target's labels the primary gets (`*` for all).
    pub include_label_prefixes: &'a [String],
}

/// A generated Service as applied: its role, name and the resourceVersion the write returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedService {
    /// Which Service.
    pub role: ServiceRole,
    /// Its name.
    pub name: String,
    /// `metadata.resourceVersion` after the write.
    pub resource_version: String,
}

/// One Canary's target and primary, as observed, with what writing them needs.
#[derive(Clone, Copy)]
pub struct Workload<'a> {
    /// The client, with serin's rate limit and write fence.
    pub client: &'a kube::Client,
    /// The Canary's name and UID, for owner references.
    pub canary: (&'a str, &'a str),
    /// The Canary's namespace.
    pub namespace: &'a str,
    /// The validated spec.
    pub valid: &'a ValidCanary,
    /// The target.
    pub target: &'a Target,
    /// The primary, once created.
    pub primary: Option<&'a Target>,
    /// The tracked ConfigMaps and Secrets the target uses.
    pub configs: &'a [ConfigRef],
    /// Controller settings.
    pub settings: WorkloadSettings<'a>,
}

fn params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

impl Workload<'_> {
    /// Creates or updates the primary: `-primary` copies of the tracked configs, the primary
    /// workload (a copy of the target), and its autoscaler; for a Service target, its `-primary`
    /// Service; for a Knative Service, the primary-revision annotation naming its latest
    /// created revision. Also what promotion does: the canary's spec goes to the primary.
    pub async fn apply_primary(&self) -> Result<(), AdapterError> {
        if let Target::Knative(target) = self.target {
            return self.promote_knative_revision(target).await;
        }
        self.apply_config_copies().await?;
        if let Target::Service(target) = self.target {
            let name = format!("{}-primary", self.valid.target.name);
            return self.apply_service_copy(target, &name).await;
        }
        let selector_labels: Vec<&str> = self
            .settings
            .selector_labels
            .iter()
            .map(String::as_str)
            .collect();
        let primary_replicas = match self.primary {
            Some(Target::Deployment(p)) => p.spec.replicas,
            _ => None,
        };
        let options = PrimaryOptions {
            canary: self.canary.0,
            canary_uid: self.canary.1,
            selector_labels: &selector_labels,
            tracked: self.configs,
            replicas: primary_replicas,
            include_label_prefixes: self.settings.include_label_prefixes,
        };
        let (name, object) = match primary_workload(self.target, &options)? {
            Target::Deployment(primary) => (
                primary.metadata.name.clone(),
                typed(&primary, "apps/v1", "Deployment")?,
            ),
            Target::DaemonSet(primary) => (
                primary.metadata.name.clone(),
                typed(&primary, "apps/v1", "DaemonSet")?,
            ),
            Target::Service(_) | Target::Knative(_) => return Ok(()),
        };
        let name = name.unwrap_or_default();
        match self.target {
            Target::DaemonSet(_) => {
                Api::<DaemonSet>::namespaced(self.client.clone(), self.namespace)
                    .patch(&name, &params(), &Patch::Apply(&object))
                    .await?;
            }
            _ => {
                Api::<Deployment>::namespaced(self.client.clone(), self.namespace)
                    .patch(&name, &params(), &Patch::Apply(&object))
                    .await?;
                self.apply_primary_autoscaler(&name).await?;
            }
        }
        Ok(())
    }

    /// `-primary` copies of the tracked ConfigMaps and Secrets. The watch caches keep only
    /// checksums, so the content is read here, when a copy is written.
    async fn apply_config_copies(&self) -> Result<(), AdapterError> {
        for config in self.configs {
            let name = format!("{}-primary", config.name);
            let (kind, object) = match config.kind {
                ConfigKind::ConfigMap => (
                    "ConfigMap",
                    Api::<ConfigMap>::namespaced(self.client.clone(), self.namespace)
                        .get_opt(&config.name)
                        .await?
                        .map(serde_json::to_value)
                        .transpose()?,
                ),
                ConfigKind::Secret => (
                    "Secret",
                    Api::<Secret>::namespaced(self.client.clone(), self.namespace)
                        .get_opt(&config.name)
                        .await?
                        .map(serde_json::to_value)
                        .transpose()?,
                ),
            };
            // Deleted since it was observed: the next tick sees the change.
            let Some(object) = object else { continue };
            let mut copy = json!({
                "apiVersion": "v1",
                "kind": kind,
                "metadata": {
                    "name": name,
                    "namespace": self.namespace,
                    "ownerReferences": [canary_owner(self.canary.0, self.canary.1)],
                },
            });
            for key in ["data", "binaryData", "type"] {
                if let Some(v) = object.get(key) {
                    copy[key] = v.clone();
                }
            }
            match config.kind {
                ConfigKind::ConfigMap => {
                    Api::<ConfigMap>::namespaced(self.client.clone(), self.namespace)
                        .patch(&name, &params(), &Patch::Apply(&copy))
                        .await?;
                }
                ConfigKind::Secret => {
                    Api::<Secret>::namespaced(self.client.clone(), self.namespace)
                        .patch(&name, &params(), &Patch::Apply(&copy))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Copies the target's autoscaler (`autoscalerRef`) for the primary. A missing autoscaler is
    /// logged and skipped: the primary then keeps the target's replica count.
    async fn apply_primary_autoscaler(&self, primary: &str) -> Result<(), AdapterError> {
        let Some(reference) = &self.valid.autoscaler else {
            return Ok(());
        };
        let kind = match reference.kind {
            AutoscalerKind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            AutoscalerKind::ScaledObject => "ScaledObject",
        };
        let (group, version) = reference
            .api_version
            .split_once('/')
            .unwrap_or(("", &reference.api_version));
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), self.namespace, &resource);
        let Some(target) = api.get_opt(&reference.name).await? else {
            tracing::warn!(autoscaler = %reference.name, kind, "the target's autoscaler was not found; the primary is not autoscaled");
            return Ok(());
        };
        let copy = primary_autoscaler(
            reference,
            &serde_json::to_value(&target)?,
            &self.valid.target.name,
            primary,
            self.canary,
        );
        let name = format!("{}-primary", reference.name);
        api.patch(&name, &params(), &Patch::Apply(&copy)).await?;
        Ok(())
    }

    /// Applies a copy of a Service target as its `-primary` or `-canary` Service.
    async fn apply_service_copy(&self, target: &Service, name: &str) -> Result<(), AdapterError> {
        let copy = service_copy(
            target,
            name,
            self.canary,
            self.settings.include_label_prefixes,
        )?;
        Api::<Service>::namespaced(self.client.clone(), self.namespace)
            .patch(name, &params(), &Patch::Apply(&copy))
            .await?;
        Ok(())
    }

    /// The target's app label (`app: podinfo`), found by the selector label keys.
    pub fn app_label(&self) -> Result<(String, String), WorkloadError> {
        let labels = self.target.selector();
        let keys: Vec<&str> = self
            .settings
            .selector_labels
            .iter()
            .map(String::as_str)
            .collect();
        let (key, app) = selector_label(&labels, &keys).ok_or_else(|| {
            WorkloadError::NoSelectorLabel(self.settings.selector_labels.join(", "))
        })?;
        Ok((key.to_owned(), app.to_owned()))
    }

    /// The generated Service of `role` as serin applies it; `None` for a Service target, whose
    /// copies are made from the target itself.
    pub fn desired_service(&self, role: ServiceRole) -> Result<Option<Value>, AdapterError> {
        if matches!(self.target, Target::Service(_) | Target::Knative(_)) {
            return Ok(None);
        }
        let (key, app) = self.app_label()?;
        let inputs = ServiceInputs {
            canary: self.canary,
            namespace: self.namespace,
            names: &self.valid.routing.names,
            spec: &self.valid.routing.service,
            app_label: (&key, &app),
            pod_spec: self.target.pod_spec(),
        };
        Ok(Some(typed(&service(role, &inputs), "v1", "Service")?))
    }

    /// Applies the generated Services of `roles`, in order. For a Service target only the
    /// `-canary` copy applies; a Knative Service needs none (Knative routes its revisions).
    /// Returns what was written, for drift judgement.
    pub async fn apply_services(
        &self,
        roles: &[ServiceRole],
    ) -> Result<Vec<AppliedService>, AdapterError> {
        if matches!(self.target, Target::Knative(_)) {
            return Ok(Vec::new());
        }
        if let Target::Service(target) = self.target {
            if roles.contains(&ServiceRole::Canary) {
                let name = format!("{}-canary", self.valid.target.name);
                self.apply_service_copy(target, &name).await?;
            }
            return Ok(Vec::new());
        }
        let api: Api<Service> = Api::namespaced(self.client.clone(), self.namespace);
        let mut applied = Vec::new();
        for role in roles {
            let Some(object) = self.desired_service(*role)? else {
                continue;
            };
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let written = api.patch(&name, &params(), &Patch::Apply(&object)).await?;
            applied.push(AppliedService {
                role: *role,
                name,
                resource_version: written.metadata.resource_version.unwrap_or_default(),
            });
        }
        Ok(applied)
    }

    /// Scales the canary up for a release, or down to zero after one. A DaemonSet is taken off
    /// every node with the scale-to-zero node selector; a Service target is not scaled, but its
    /// `-canary` copy follows the target when a release starts. Knative scales its revisions
    /// itself.
    pub async fn scale_canary(&self, up: bool) -> Result<(), AdapterError> {
        let name = &self.valid.target.name;
        match self.target {
            Target::Deployment(target) => {
                let replicas = if up {
                    if target.spec.replicas.unwrap_or(1) > 0 {
                        return Ok(());
                    }
                    match self.primary {
                        Some(Target::Deployment(p)) => p.spec.replicas.filter(|r| *r > 0),
                        _ => None,
                    }
                    .unwrap_or(1)
                } else {
                    0
                };
                let patch = json!({ "spec": { "replicas": replicas } });
                Api::<Deployment>::namespaced(self.client.clone(), self.namespace)
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
            Target::DaemonSet(_) => {
                if up != self.target.scaled_to_zero() {
                    return Ok(());
                }
                let value = if up { json!(null) } else { json!("true") };
                let patch = json!({ "spec": { "template": { "spec": {
                    "nodeSelector": { SCALE_TO_ZERO_NODE_SELECTOR: value },
                }}}});
                Api::<DaemonSet>::namespaced(self.client.clone(), self.namespace)
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
            Target::Service(target) => {
                if up {
                    self.apply_service_copy(target, &format!("{name}-canary"))
                        .await?;
                }
            }
            Target::Knative(_) => {}
        }
        Ok(())
    }

    /// Gives the target its traffic back (`revertOnDeletion`): scaled up again, and the apex
    /// Service selecting its pods and no longer owned by the Canary, so that it outlives it. A
    /// Service target was never changed and keeps serving as it is; a Knative Service's
    /// traffic is given back by its router.
    pub async fn revert(&self) -> Result<(), AdapterError> {
        if matches!(self.target, Target::Service(_) | Target::Knative(_)) {
            return Ok(());
        }
        self.scale_canary(true).await?;
        let Ok((key, _)) = self.app_label() else {
            return Ok(());
        };
        let names = &self.valid.routing.names;
        // The canary Service's shape (it selects the target's pods) under the apex name. Applying
        // it whole, without owner references, keeps every field and drops the ownership.
        let Some(mut apex) = self.desired_service(ServiceRole::Canary)? else {
            return Ok(());
        };
        apex["metadata"]["name"] = json!(names.apex);
        apex["metadata"]["labels"][key.as_str()] = json!(names.apex);
        if let Some(meta) = apex["metadata"].as_object_mut() {
            meta.remove("ownerReferences");
        }
        Api::<Service>::namespaced(self.client.clone(), self.namespace)
            .patch(&names.apex, &params(), &Patch::Apply(&apex))
            .await?;
        Ok(())
    }
}

impl Workload<'_> {
    /// Makes the latest created revision of a Knative Service its primary. A merge patch, not
    /// server-side apply: the router owns `spec.traffic` under serin's field manager, and an
    /// apply of the annotation alone would drop it. Nothing to do before Knative created a
    /// revision (the primary stays missing).
    async fn promote_knative_revision(&self, target: &KnativeService) -> Result<(), AdapterError> {
        let Some(patch) = target.promotion_patch() else {
            return Ok(());
        };
        let resource = crate::routers::KNATIVE_SERVICE.api_resource();
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        Api::<DynamicObject>::namespaced_with(self.client.clone(), self.namespace, &resource)
            .patch(&self.valid.target.name, &params, &Patch::Merge(&patch))
            .await?;
        Ok(())
    }
}

/// `object` as JSON with its `apiVersion` and `kind`, ready for server-side apply.
fn typed(
    object: &impl serde::Serialize,
    api_version: &str,
    kind: &str,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(object)?;
    value["apiVersion"] = json!(api_version);
    value["kind"] = json!(kind);
    Ok(value)
}
