//! The observe step (I/O, reads only): the target (a Deployment, DaemonSet or Service), the
//! primary, the tracked configs and the
//! routing objects, turned into the decision core's [`Observations`].

use k8s_openapi::api::core::v1::{PodSpec, Service};
use kube::api::{Api, DynamicObject};
use serin_crds::Canary;
use serin_crds::validation::{TargetKindPlan, ValidCanary};

use super::caches::{Caches, DATA_CHECKSUM, Lookup, cached_or_get, content_checksum, lookup};
use super::error::{Error, Result};
use crate::decide::revision::template_hash;
use crate::decide::{ManualControls, Observations, Readiness, Routes, TargetRevision};
use crate::routers::{RouteContext, RouteState, Router, TrafficSplit};
use crate::workloads::{ConfigKind, ConfigRef, TRACKING_ANNOTATION, Target, config_refs};

/// A tracked config as observed: which it is and the checksum of its content (the content
/// itself is read when the `-primary` copy is written).
#[derive(Clone, Debug)]
pub(super) struct TrackedConfig {
    /// Which config.
    pub(super) reference: ConfigRef,
    /// Checksum of its `data` and `binaryData`.
    pub(super) checksum: String,
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
    /// The generated Services (apex, primary, canary) that exist, when the Service cache has
    /// synced (`None` before).
    pub(super) services: Option<Vec<Service>>,
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
    caches: &Caches,
) -> Result<Observed> {
    let namespace = route_ctx.namespace;
    let name = &valid.target.name;
    let primary_name = format!("{name}-primary");
    let (target, primary) = match valid.target.kind {
        TargetKindPlan::Deployment => (
            cached_or_get(client, caches.deployments.as_ref(), namespace, name)
                .await?
                .map(Target::Deployment),
            cached_or_get(
                client,
                caches.deployments.as_ref(),
                namespace,
                &primary_name,
            )
            .await?
            .map(Target::Deployment),
        ),
        TargetKindPlan::DaemonSet => (
            cached_or_get(client, caches.daemonsets.as_ref(), namespace, name)
                .await?
                .map(Target::DaemonSet),
            cached_or_get(client, caches.daemonsets.as_ref(), namespace, &primary_name)
                .await?
                .map(Target::DaemonSet),
        ),
        TargetKindPlan::Service => (
            cached_or_get(client, caches.services.as_ref(), namespace, name)
                .await?
                .map(Target::Service),
            cached_or_get(client, caches.services.as_ref(), namespace, &primary_name)
                .await?
                .map(Target::Service),
        ),
        TargetKindPlan::KnativeService => {
            return Err(Error::Workload(
                crate::workloads::WorkloadError::UnsupportedTarget("Knative Service".into()),
            ));
        }
    };
    let target = target.ok_or_else(|| Error::TargetMissing {
        kind: crate::decide::kind_name(valid.target.kind),
        name: name.clone(),
    })?;

    let configs = match target.pod_spec() {
        Some(pod_spec) if config_tracking => {
            tracked_configs(client, caches, namespace, pod_spec).await?
        }
        _ => Vec::new(),
    };
    let revision = TargetRevision {
        template: template_hash(&target.revision_source()?),
        configs: configs
            .iter()
            .map(|c| (c.reference.tracking_key(), c.checksum.clone()))
            .collect(),
    };

    let live_routes = observe_routes(client, caches, router, route_ctx).await?;
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
        services: generated_services(caches, namespace, route_ctx.names),
        observations,
    })
}

/// The generated Services that exist, from the cache; `None` until it has synced.
fn generated_services(
    caches: &Caches,
    namespace: &str,
    names: &crate::routers::ServiceNames,
) -> Option<Vec<Service>> {
    let known = |name: &String| match lookup(caches.services.as_ref(), namespace, name, ()) {
        Lookup::Known(service) => Some(service.map(|s| (*s).clone())),
        Lookup::Unknown => None,
    };
    [&names.apex, &names.primary, &names.canary]
        .into_iter()
        .map(known)
        .collect::<Option<Vec<_>>>()
        .map(|found| found.into_iter().flatten().collect())
}

/// The tracked configs `pod_spec` uses, with their checksums: from the caches (which keep only
/// the checksum) once synced, from the API before that.
async fn tracked_configs(
    client: &kube::Client,
    caches: &Caches,
    namespace: &str,
    pod_spec: &PodSpec,
) -> Result<Vec<TrackedConfig>> {
    let mut out = Vec::new();
    for reference in config_refs(pod_spec) {
        let name = &reference.name;
        let read = match reference.kind {
            ConfigKind::ConfigMap => {
                cached_or_get(client, caches.config_maps.as_ref(), namespace, name)
                    .await?
                    .map(|c| {
                        let checksum = content_checksum(c.data.as_ref(), c.binary_data.as_ref());
                        (c.metadata, checksum)
                    })
            }
            ConfigKind::Secret => cached_or_get(client, caches.secrets.as_ref(), namespace, name)
                .await?
                .map(|c| {
                    let none: Option<&()> = None;
                    (c.metadata, content_checksum(c.data.as_ref(), none))
                }),
        };
        // A missing config is the workload's problem (its pods will not start); an opted-out
        // one is not tracked.
        let Some((metadata, read_checksum)) = read else {
            continue;
        };
        let annotations = metadata.annotations.unwrap_or_default();
        if annotations.get(TRACKING_ANNOTATION).map(String::as_str) == Some("disabled") {
            continue;
        }
        let checksum = annotations
            .get(DATA_CHECKSUM)
            .cloned()
            .unwrap_or(read_checksum);
        out.push(TrackedConfig {
            reference,
            checksum,
        });
    }
    Ok(out)
}

async fn observe_routes(
    client: &kube::Client,
    caches: &Caches,
    router: &dyn Router,
    ctx: &RouteContext<'_>,
) -> Result<Option<Routes>> {
    let mut observed = Vec::new();
    for desired in router.desired_routes(ctx, &TrafficSplit::default())? {
        let cache = caches.routes(&desired.api_version, &desired.kind);
        let dyntype = crate::routers::api_resource(&desired.api_version, &desired.kind);
        let object = match lookup(cache, ctx.namespace, &desired.name, dyntype) {
            Lookup::Known(object) => object.map(|o| (*o).clone()),
            Lookup::Unknown => {
                dynamic_api(client, ctx.namespace, &desired.api_version, &desired.kind)
                    .get_opt(&desired.name)
                    .await?
            }
        };
        if let Some(object) = object {
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
    let resource = crate::routers::api_resource(api_version, kind);
    Api::namespaced_with(client.clone(), namespace, &resource)
}
