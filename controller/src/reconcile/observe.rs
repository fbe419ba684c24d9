//! The observe step (I/O, reads only): the target (a Deployment, DaemonSet or Service), the
//! primary, the tracked configs and the
//! routing objects, turned into the decision core's [`Observations`].

use futures::FutureExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Secret, Service};
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
use crate::workloads::{ConfigKind, ConfigRef, TRACKING_ANNOTATION, Target, config_refs};

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
    /// The target.
    pub(super) target: Target,
    /// The primary (a workload of the target's kind, or the `-primary` Service of a Service
    /// target), once created.
    pub(super) primary: Option<Target>,
    /// Tracked ConfigMaps and Secrets.
    pub(super) configs: Vec<TrackedConfig>,
    /// What the decision core needs.
    pub(super) observations: Observations,
}

/// The watch caches the observe step reads from, when the controller runs them.
#[derive(Clone, Default)]
pub(super) struct Caches {
    /// Deployments.
    pub(super) deployments: Option<Store<Deployment>>,
    /// DaemonSets.
    pub(super) daemonsets: Option<Store<DaemonSet>>,
}

/// Reads the world for `canary`.
pub(super) async fn observe(
    client: &kube::Client,
    canary: &Canary,
    valid: &ValidCanary,
    router: &dyn Router,
    route_ctx: &RouteContext<'_>,
    config_tracking: bool,
    caches: &Caches,
) -> Result<Observed> {
    let namespace = route_ctx.namespace;
    let name = &valid.target.name;
    let primary_name = format!("{name}-primary");
    let (target, primary) = match valid.target.kind {
        TargetKindPlan::Deployment => (
            cached(client, caches.deployments.as_ref(), namespace, name)
                .await?
                .map(Target::Deployment),
            cached(
                client,
                caches.deployments.as_ref(),
                namespace,
                &primary_name,
            )
            .await?
            .map(Target::Deployment),
        ),
        TargetKindPlan::DaemonSet => (
            cached(client, caches.daemonsets.as_ref(), namespace, name)
                .await?
                .map(Target::DaemonSet),
            cached(client, caches.daemonsets.as_ref(), namespace, &primary_name)
                .await?
                .map(Target::DaemonSet),
        ),
        TargetKindPlan::Service => {
            let api: Api<Service> = Api::namespaced(client.clone(), namespace);
            (
                api.get_opt(name).await?.map(Target::Service),
                api.get_opt(&primary_name).await?.map(Target::Service),
            )
        }
        TargetKindPlan::KnativeService => {
            return Err(Error::Workload(
                crate::workloads::WorkloadError::UnsupportedTarget("Knative Service".into()),
            ));
        }
    };
    let target = target.ok_or_else(|| Error::TargetMissing {
        kind: match valid.target.kind {
            TargetKindPlan::Deployment => "Deployment",
            TargetKindPlan::DaemonSet => "DaemonSet",
            TargetKindPlan::Service | TargetKindPlan::KnativeService => "Service",
        },
        name: name.clone(),
    })?;

    let configs = match target.pod_spec() {
        Some(pod_spec) if config_tracking => tracked_configs(client, namespace, pod_spec).await?,
        _ => Vec::new(),
    };
    let revision = TargetRevision {
        template: template_hash(&target.revision_source()?),
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
    // DaemonSets report no time of progress; as in Flagger, their deadline counts from the
    // Canary's last transition.
    let last_transition = canary.status.as_ref().and_then(|s| s.last_transition_time);
    let readiness = |t: &Target, threshold: u8| match t.readiness(threshold) {
        crate::workloads::Readiness::Ready => Readiness::Ready,
        crate::workloads::Readiness::Progressing { since, .. } => Readiness::NotReady {
            since: since.or(last_transition),
        },
        crate::workloads::Readiness::DeadlineExceeded { .. } => Readiness::DeadlineExceeded,
    };
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

/// An object from its watch cache once that has synced, from the API before that.
async fn cached<K>(
    client: &kube::Client,
    cache: Option<&Store<K>>,
    namespace: &str,
    name: &str,
) -> Result<Option<K>>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let synced = |s: &&Store<K>| {
        s.wait_until_ready()
            .now_or_never()
            .is_some_and(|r| r.is_ok())
    };
    if let Some(store) = cache.filter(synced) {
        let key = ObjectRef::new(name).within(namespace);
        return Ok(store.get(&key).map(|d| (*d).clone()));
    }
    Ok(Api::<K>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?)
}

/// `data` and `binaryData` of a ConfigMap or Secret, the part whose change starts a release.
fn config_data(object: &Value) -> Value {
    serde_json::json!({ "data": object.get("data"), "binaryData": object.get("binaryData") })
}

async fn tracked_configs(
    client: &kube::Client,
    namespace: &str,
    pod_spec: &PodSpec,
) -> Result<Vec<TrackedConfig>> {
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
