//! The act step (I/O, writes; leader only): executes a plan's writes in order, through the
//! workload adapter for the target and its Services, and the router for the routes. It decides
//! nothing: what to write, and in which order, is the decision core's. Announcements (events,
//! alerts, hooks) are sent after the status is written ([`super::announce`]), and the finalizer
//! is removed last.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serin_crds::Canary;

use super::context::Context;
use super::error::{Error, Result};
use super::finalizer;
use super::subject::Subject;
use crate::FIELD_MANAGER;
use crate::decide::{Action, Plan, ServiceRole, TrafficSplit};
use crate::routers::DesiredObject;
use crate::workloads::Workload;

/// Executes the writes of `plan`.
pub(super) async fn act(
    ctx: &Context,
    canary: &Canary,
    s: &Subject<'_>,
    plan: &Plan,
) -> Result<()> {
    let workload = s.workload(ctx);
    // The routing objects as this tick wrote them, when it did: a revert gives back what they
    // say was the user's, and they may have been taken over again in this very tick (a tick
    // repeated after its status write failed sees the user's object already given back).
    let mut written_routes: Option<Vec<serde_json::Value>> = None;
    for action in &plan.actions {
        match action {
            Action::AddFinalizer => finalizer::add(ctx, canary).await?,
            Action::ApplyPrimary | Action::PromoteSpecToPrimary => workload.apply_primary().await?,
            Action::ApplyServices(roles) => apply_services(ctx, s, &workload, roles).await?,
            Action::ScaleCanaryUp => workload.scale_canary(true).await?,
            Action::ScaleCanaryToZero => workload.scale_canary(false).await?,
            Action::SetWeights(split) => written_routes = Some(set_weights(ctx, s, split).await?),
            Action::RevertTarget => {
                workload.revert().await?;
                let routes = written_routes.as_deref().unwrap_or(&s.observed.routes);
                let restored = s.router.finalize(&s.route_input(), routes);
                apply_routes(ctx, s, &restored).await?;
            }
            // Announced after the status is written, and the finalizer removed last.
            Action::Event { .. }
            | Action::Alert { .. }
            | Action::CallHooks(_)
            | Action::FinalizeDeletion => {}
        }
    }
    Ok(())
}

/// Applies generated Services and records each write, so that the next ticks judge drift
/// against it.
async fn apply_services(
    ctx: &Context,
    s: &Subject<'_>,
    workload: &Workload<'_>,
    roles: &[ServiceRole],
) -> Result<()> {
    for written in workload.apply_services(roles).await? {
        let before = s
            .observed
            .services
            .iter()
            .find(|o| o.name == written.name)
            .and_then(|o| o.resource_version.clone());
        ctx.applied.record(
            &s.id.namespace,
            &written.name,
            before,
            written.resource_version,
        );
    }
    Ok(())
}

async fn set_weights(
    ctx: &Context,
    s: &Subject<'_>,
    split: &TrafficSplit,
) -> Result<Vec<serde_json::Value>> {
    ctx.metrics.set_weights(
        &s.valid.target.name,
        &s.id.namespace,
        split.routes.primary.get(),
        split.routes.canary.get(),
    );
    let desired = s.router.desired_routes(&s.route_input(), split)?;
    apply_routes(ctx, s, &desired).await
}

/// Applies routing objects, counting each call by router and outcome; returns them as stored. A
/// kind the cluster does not serve is reported as such: its CRDs are missing.
async fn apply_routes(
    ctx: &Context,
    s: &Subject<'_>,
    objects: &[DesiredObject],
) -> Result<Vec<serde_json::Value>> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut stored = Vec::with_capacity(objects.len());
    for desired in objects {
        let resource = desired.kind.api_resource();
        let api: Api<DynamicObject> = if desired.kind.namespaced {
            Api::namespaced_with(ctx.client.clone(), &s.id.namespace, &resource)
        } else {
            Api::all_with(ctx.client.clone(), &resource)
        };
        let result = api
            .patch(&desired.name, &params, &Patch::Apply(&desired.object))
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(kube::Error::Api(status)) if status.code == 404 => "not_served",
            Err(_) => "error",
        };
        ctx.metrics.router_call(s.router.name(), outcome);
        match result {
            Ok(object) => stored.push(serde_json::to_value(object)?),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(Error::KindNotServed {
                    kind: desired.kind.kind.to_owned(),
                    api_version: desired.kind.api_version(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(stored)
}
