//! The observe step (I/O, reads only): the target (a Deployment, DaemonSet, Service or Knative
//! Service), the primary, the tracked configs, the objects the router reads and writes, and the
//! generated Services, turned into the decision core's [`Observations`]. Reads come from the
//! watch caches once they have synced, from the API before that.

mod routes;
mod services;

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;
use serin_crds::Canary;
use serin_crds::validation::{TargetKindPlan, ValidCanary};

use super::caches::{Caches, DATA_CHECKSUM, cached_or_get, content_checksum};
use super::context::Context;
use super::error::{Error, Result};
use super::finalizer::FINALIZER;
use super::subject::Identity;
use crate::decide::revision::template_hash;
use crate::decide::{ManualControls, Observations, Readiness, TargetRevision};
use crate::routers::{KNATIVE_SERVICE, ObjectKey, Referenced, Router};
use crate::workloads::{
    ConfigKind, ConfigRef, KnativeService, TRACKING_ANNOTATION, Target, config_refs,
};

pub(super) use services::ObservedService;

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
    /// The tracked ConfigMaps and Secrets, by reference.
    pub(super) config_refs: Vec<ConfigRef>,
    /// The objects the router reads, as fetched.
    pub(super) referenced: Referenced,
    /// The routing objects that exist, as fetched.
    pub(super) routes: Vec<Value>,
    /// The generated Services as the cache holds them, for drift judgement.
    pub(super) services: Vec<ObservedService>,
    /// What the decision core needs.
    pub(super) observations: Observations,
}

/// Reads the world for `canary`, whose spec `valid` is.
pub(super) async fn observe(
    ctx: &Context,
    canary: &Canary,
    id: &Identity,
    valid: &ValidCanary,
    router: &dyn Router,
) -> Result<Observed> {
    let caches = ctx.caches();
    let (target, primary) = workloads(ctx, &caches, &id.namespace, valid).await?;
    let configs = match target.pod_spec() {
        Some(pod_spec) if ctx.config.config_tracking => {
            tracked_configs(ctx, &caches, &id.namespace, pod_spec).await?
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
    let config_refs: Vec<ConfigRef> = configs.into_iter().map(|c| c.reference).collect();
    let routing = routes::observe(ctx, &caches, id, valid, router).await?;
    let services = services::observe(
        ctx,
        &caches,
        id,
        valid,
        &target,
        primary.as_ref(),
        &config_refs,
    )?;
    let meta = &canary.metadata;
    let observations = Observations {
        generation: meta.generation,
        target: revision,
        primary: primary.as_ref().map_or(Readiness::Missing, |p| {
            readiness(
                canary,
                &p.primary_readiness(valid.primary_ready_threshold.get()),
            )
        }),
        canary: readiness(
            canary,
            &target.readiness(valid.canary_ready_threshold.get()),
        ),
        routes: routing.observation,
        services: services.iter().map(|s| (s.role, s.state)).collect(),
        finalizer: meta.finalizers.iter().flatten().any(|f| f == FINALIZER),
        checks: None,
        controls: ManualControls::from_annotations(&meta.annotations.clone().unwrap_or_default()),
        deleting: meta.deletion_timestamp.is_some(),
        release_slot: ctx.release_slots.slot(
            ctx,
            &format!("{}/{}", id.namespace, id.name),
            canary
                .status
                .as_ref()
                .and_then(|s| s.phase)
                .unwrap_or_default(),
            ctx.config.max_concurrent_releases,
        ),
    };
    Ok(Observed {
        target,
        primary,
        config_refs,
        referenced: routing.referenced,
        routes: routing.objects,
        services,
        observations,
    })
}

/// How ready a workload is. DaemonSets report no time of progress; as in Flagger, their
/// deadline counts from the Canary's last transition.
fn readiness(canary: &Canary, workload: &crate::workloads::Readiness) -> Readiness {
    let last_transition = canary.status.as_ref().and_then(|s| s.last_transition_time);
    match workload {
        crate::workloads::Readiness::Ready => Readiness::Ready,
        crate::workloads::Readiness::Progressing { since, .. } => Readiness::NotReady {
            since: since.or(last_transition),
        },
        crate::workloads::Readiness::DeadlineExceeded { .. } => Readiness::DeadlineExceeded,
    }
}

/// The target and its primary, of the target's kind.
async fn workloads(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    valid: &ValidCanary,
) -> Result<(Target, Option<Target>)> {
    let client = &ctx.client;
    let name = &valid.target.name;
    let primary_name = format!("{name}-primary");
    let (target, primary) = match valid.target.kind {
        TargetKindPlan::Deployment => {
            let store = caches.deployments.as_ref();
            (
                cached_or_get(client, store, namespace, name)
                    .await?
                    .map(Target::Deployment),
                cached_or_get(client, store, namespace, &primary_name)
                    .await?
                    .map(Target::Deployment),
            )
        }
        TargetKindPlan::DaemonSet => {
            let store = caches.daemonsets.as_ref();
            (
                cached_or_get(client, store, namespace, name)
                    .await?
                    .map(Target::DaemonSet),
                cached_or_get(client, store, namespace, &primary_name)
                    .await?
                    .map(Target::DaemonSet),
            )
        }
        TargetKindPlan::Service => {
            let store = caches.services.as_ref();
            (
                cached_or_get(client, store, namespace, name)
                    .await?
                    .map(Target::Service),
                cached_or_get(client, store, namespace, &primary_name)
                    .await?
                    .map(Target::Service),
            )
        }
        // Its own primary: a revision named on it, present once the annotation is.
        TargetKindPlan::KnativeService => {
            let key = ObjectKey {
                kind: KNATIVE_SERVICE,
                namespace: namespace.to_owned(),
                name: name.clone(),
            };
            let target = routes::fetch(ctx, caches, &key)
                .await?
                .map(|v| KnativeService::from_value(&v))
                .transpose()?;
            let primary = target
                .as_ref()
                .filter(|t| t.primary_revision().is_some())
                .cloned()
                .map(Target::Knative);
            (target.map(Target::Knative), primary)
        }
    };
    let target = target.ok_or_else(|| Error::TargetMissing {
        kind: crate::decide::kind_name(valid.target.kind),
        name: name.clone(),
    })?;
    Ok((target, primary))
}

/// The tracked configs `pod_spec` uses, with their checksums: from the caches (which keep only
/// the checksum) once synced, from the API before that.
async fn tracked_configs(
    ctx: &Context,
    caches: &Caches,
    namespace: &str,
    pod_spec: &PodSpec,
) -> Result<Vec<TrackedConfig>> {
    let client = &ctx.client;
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
