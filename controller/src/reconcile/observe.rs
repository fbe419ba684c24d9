//! The observe step (I/O, reads only): the target, the primary, the tracked configs and the
//! routing objects, turned into the decision core's [`Observations`].

use futures::FutureExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::Value;
use serin_crds::Canary;
use serin_crds::validation::{TargetKindPlan, ValidCanary};

use super::error::{Error, Result};
use crate::decide::revision::{config_checksum, template_hash};
use crate::decide::{ManualControls, Observations, Readiness, Routes, TargetRevision};
use crate::routers::{RouteContext, RouteState, Router, TrafficSplit};
use crate::workloads::{
    ConfigKind, ConfigRef, TRACKING_ANNOTATION, config_refs, deployment_readiness,
};

/// A tracked config as read: what it is and its content.
#[derive(Clone, Debug)]
pub(super) struct TrackedConfig {
    /// Which config.
    pub(super) reference: ConfigRef,
    /// The object, to copy for the primary.
    pub(super) object: Value,
}

/// Everything observed this tick.
#[derive(Clone, Debug)]
pub(super) struct Observed {
    /// The target Deployment.
    pub(super) target: Deployment,
    /// The primary Deployment, once created.
    pub(super) primary: Option<Deployment>,
    /// Tracked ConfigMaps and Secrets.
    pub(super) configs: Vec<TrackedConfig>,
    /// What the decision core needs.
    pub(super) observations: Observations,
}

/// Reads the world for `canary`.
pub(super) async fn observe(
    client: &kube::Client,
    canary: &Canary,
    valid: &ValidCanary,
    router: &dyn Router,
    route_ctx: &RouteContext<'_>,
    config_tracking: bool,
    cache: Option<&Store<Deployment>>,
) -> Result<Observed> {
    let namespace = route_ctx.namespace;
    if valid.target.kind != TargetKindPlan::Deployment {
        return Err(Error::Workload(
            crate::workloads::WorkloadError::UnsupportedTarget(format!("{:?}", valid.target.kind)),
        ));
    }
    let target = deployment(client, cache, namespace, &valid.target.name)
        .await?
        .ok_or_else(|| Error::TargetMissing {
            kind: "Deployment",
            name: valid.target.name.clone(),
        })?;
    let primary = deployment(
        client,
        cache,
        namespace,
        &format!("{}-primary", valid.target.name),
    )
    .await?;

    let configs = if config_tracking {
        tracked_configs(client, namespace, &target).await?
    } else {
        Vec::new()
    };
    let template = serde_json::to_value(&target.spec.template)?;
    let revision = TargetRevision {
        template: template_hash(&template),
        configs: configs
            .iter()
            .map(|c| {
                (
                    c.reference.tracking_key(),
                    config_checksum(&config_data(&c.object)),
                )
            })
            .collect(),
    };

    let live_routes = observe_routes(client, router, route_ctx).await?;
    let annotations = canary.metadata.annotations.clone().unwrap_or_default();
    let observations = Observations {
        generation: canary.metadata.generation,
        target: revision,
        primary: primary
            .as_ref()
            .map_or(Readiness::NotReady { since: None }, |p| {
                readiness(p, valid.primary_ready_threshold.get())
            }),
        canary: readiness(&target, valid.canary_ready_threshold.get()),
        routes: live_routes,
        checks: None,
        controls: ManualControls::from_annotations(&annotations),
        deleting: canary.metadata.deletion_timestamp.is_some(),
    };
    Ok(Observed {
        target,
        primary,
        configs,
        observations,
    })
}

/// A Deployment from the watch cache once it has synced, from the API before that.
async fn deployment(
    client: &kube::Client,
    cache: Option<&Store<Deployment>>,
    namespace: &str,
    name: &str,
) -> Result<Option<Deployment>> {
    let synced = |s: &&Store<Deployment>| {
        s.wait_until_ready()
            .now_or_never()
            .is_some_and(|r| r.is_ok())
    };
    if let Some(store) = cache.filter(synced) {
        let key = ObjectRef::new(name).within(namespace);
        return Ok(store.get(&key).map(|d| (*d).clone()));
    }
    Ok(Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?)
}

fn readiness(deployment: &Deployment, threshold: u8) -> Readiness {
    match deployment_readiness(deployment, threshold) {
        crate::workloads::Readiness::Ready => Readiness::Ready,
        crate::workloads::Readiness::Progressing { since, .. } => Readiness::NotReady { since },
        crate::workloads::Readiness::DeadlineExceeded { .. } => Readiness::DeadlineExceeded,
    }
}

/// `data` and `binaryData` of a ConfigMap or Secret, the part whose change starts a release.
fn config_data(object: &Value) -> Value {
    serde_json::json!({ "data": object.get("data"), "binaryData": object.get("binaryData") })
}

async fn tracked_configs(
    client: &kube::Client,
    namespace: &str,
    target: &Deployment,
) -> Result<Vec<TrackedConfig>> {
    let Some(pod_spec) = target.spec.template.spec.as_ref() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for reference in config_refs(pod_spec) {
        let object = match reference.kind {
            ConfigKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await?
                    .map(serde_json::to_value)
                    .transpose()?
            }
            ConfigKind::Secret => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await?
                    .map(serde_json::to_value)
                    .transpose()?
            }
        };
        // A missing config is the Deployment's problem (its pods will not start); an opted-out
        // one is not tracked.
        let Some(object) = object else { continue };
        let disabled = object["metadata"]["annotations"][TRACKING_ANNOTATION] == "disabled";
        if !disabled {
            out.push(TrackedConfig { reference, object });
        }
    }
    Ok(out)
}

async fn observe_routes(
    client: &kube::Client,
    router: &dyn Router,
    ctx: &RouteContext<'_>,
) -> Result<Option<Routes>> {
    let mut observed = Vec::new();
    for desired in router.desired_routes(ctx, &TrafficSplit::default())? {
        let api = dynamic_api(client, ctx.namespace, &desired.api_version, &desired.kind);
        if let Some(object) = api.get_opt(&desired.name).await? {
            observed.push(serde_json::to_value(object)?);
        }
    }
    Ok(match router.observe(ctx, &observed) {
        RouteState::Live { canary, mirrored } => Some(Routes {
            primary: canary.complement(),
            canary,
            mirror: mirrored.then_some(serin_crds::validation::Weight::FULL),
            matched_to_canary: !ctx.ab_matches.is_empty()
                && canary == serin_crds::validation::Weight::FULL,
        }),
        RouteState::ServicesOnly => Some(Routes::all_primary()),
        RouteState::Pending { .. } | RouteState::Rejected { .. } | RouteState::Missing => None,
    })
}

/// A namespaced API for any kind, by `apiVersion` and `kind`.
pub(super) fn dynamic_api(
    client: &kube::Client,
    namespace: &str,
    api_version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let resource = ApiResource::from_gvk(&gvk);
    Api::namespaced_with(client.clone(), namespace, &resource)
}
