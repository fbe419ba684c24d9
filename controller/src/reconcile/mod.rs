//! The reconcile pipeline: a kube-runtime `Controller` over Canaries. One reconcile reads like
//! its table of contents: prepare (pure: parse, validate, pick the router) -> observe (I/O,
//! reads) -> decide (pure; the checks it asks for run in between, I/O) -> act (I/O, writes) ->
//! write the status once (I/O) -> announce (I/O, on its own task). Analysis ticks come from
//! `Action::requeue`, never from a second timer.

mod act;
mod announce;
mod applied;
mod backoff;
mod caches;
mod checks;
mod comparisons;
mod config;
mod context;
mod error;
mod finalizer;
mod observe;
mod prepare;
mod record;
mod slots;
mod status;
mod subject;
mod targets;
mod unfinished;
mod watches;

pub use applied::AppliedServices;
pub use backoff::Backoff;
pub use caches::Caches;
pub use config::ControllerConfig;
pub use context::{Context, FIELD_MANAGER};
pub use error::{Error, Result};
pub use unfinished::Unfinished;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::controller::{self, Action};
use serin_crds::Canary;
use serin_crds::canary::CanaryStatus;
use serin_crds::validation::ValidCanary;

use crate::decide::{CheckResults, Decision, Plan, decide};
use prepare::{Prepared, prepare};
use subject::{Identity, Subject};
use unfinished::UnwrittenPlan;

/// How long to wait before looking again at a Canary whose spec needs fixing, in case the
/// problem is outside it (a missing target appears).
const INVALID_RECHECK: Duration = Duration::from_secs(300);
/// When to look again at a Canary whose cached copy predates serin's own status write, should
/// the watch event that brings the write be lost.
const STALE_RECHECK: Duration = Duration::from_secs(1);

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let config = controller::Config::default().concurrency(ctx.config.concurrency);
    watches::controller(&ctx)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile stream");
            }
        })
        .await;
}

/// One reconcile of one Canary.
pub async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = Box::pin(reconcile_inner(&object, &ctx)).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    if result.is_ok() {
        ctx.backoff.reset(&key(&object));
    }
    result
}

async fn reconcile_inner(object: &DynamicObject, ctx: &Arc<Context>) -> Result<Action> {
    // The cache has not yet seen serin's last status write: its watch event wakes the Canary.
    if ctx
        .status_writes
        .is_stale(&key(object), object.metadata.resource_version.as_deref())
    {
        return Ok(Action::requeue(STALE_RECHECK));
    }
    // prepare (pure)
    let Prepared {
        canary,
        valid,
        router,
    } = match prepare(
        object,
        ctx.config.mesh_provider,
        &ctx.config.routers,
        !ctx.config.no_cross_namespace_refs,
    ) {
        Ok(prepared) => prepared,
        Err(e) => return stalled(ctx, object, &e, INVALID_RECHECK).await,
    };
    let id = Identity::of(&canary.metadata);
    let canary_key = key(object);

    // A tick whose status write failed ran its actions: its plan is written now, not decided
    // again (which would repeat its hooks and undo a rollback).
    if let Some(left) = ctx
        .unfinished
        .take_plan(&canary_key, &id.uid, canary.status.as_ref())
    {
        return finish(ctx, &canary, &id, &valid, left).await;
    }

    // observe (I/O, reads)
    let observed = match observe::observe(ctx, &canary, &id, &valid, router.as_ref()).await {
        Ok(observed) => observed,
        Err(e) if e.is_for_the_user() => return stalled(ctx, object, &e, valid.interval).await,
        Err(e) => return Err(e),
    };
    let subject = Subject {
        id: &id,
        valid: &valid,
        router: router.as_ref(),
        observed: &observed,
    };

    // decide (pure), with the checks it asks for (I/O), or those a tick that failed in its
    // actions ran from this same status
    let status = canary.status.clone().unwrap_or_default();
    let kept = ctx
        .unfinished
        .take_checks(&canary_key, &id.uid, canary.status.as_ref());
    let (plan, checks) = match decide_with_checks(ctx, &subject, &status, kept, Utc::now()).await {
        Ok(Some(decided)) => decided,
        // A hook is still answering on its own task: look again shortly.
        Ok(None) => return Ok(Action::requeue(HOOK_POLL)),
        Err(e) if e.is_for_the_user() => return stalled(ctx, object, &e, valid.interval).await,
        Err(e) => return Err(e),
    };

    // act (I/O, writes), then the status and the announcements
    if let Err(e) = act::act(ctx, &canary, &subject, &plan).await {
        if let Some(checks) = checks {
            ctx.unfinished
                .keep_checks(&canary_key, &id.uid, canary.status.as_ref(), checks);
        }
        if e.is_for_the_user() {
            return stalled(ctx, object, &e, valid.interval).await;
        }
        return Err(e);
    }
    let previous = status.phase.unwrap_or_default();
    finish(ctx, &canary, &id, &valid, UnwrittenPlan { previous, plan }).await
}

/// The end of a tick whose actions ran: the status written once (I/O), then the
/// announcements (I/O, on their own task) and the finalizer. A failed status write keeps the
/// plan for the next tick.
async fn finish(
    ctx: &Arc<Context>,
    canary: &Canary,
    id: &Identity,
    valid: &ValidCanary,
    left: UnwrittenPlan,
) -> Result<Action> {
    let key = format!("{}/{}", id.namespace, id.name);
    let plan = &left.plan;
    if let Err(e) = status::write(ctx, canary, &plan.status).await {
        ctx.unfinished
            .keep_plan(&key, &id.uid, canary.status.as_ref(), left);
        return Err(e);
    }
    announce::announce(ctx, canary, id, valid, &plan.status, &plan.actions);
    if plan.has(&crate::decide::Action::FinalizeDeletion) {
        finalizer::remove(ctx, canary).await?;
        let names = &valid.routing.names;
        let generated = [&*names.apex, &*names.primary, &*names.canary];
        ctx.applied.forget(&id.namespace, &generated);
        ctx.status_writes.forget(&key);
        ctx.release_slots.forget(&key);
        ctx.unfinished.forget(&key);
        return Ok(Action::await_change());
    }
    record::record(ctx, valid, id, left.previous, &plan.status);
    record::record_evidence_resets(ctx, valid, id, &plan.actions);
    Ok(Action::requeue(plan.requeue_after))
}

/// How soon a Canary whose tick waits on a hook looks again.
const HOOK_POLL: Duration = Duration::from_secs(1);

/// Decides the tick; when the decision core asks for checks, runs them (or takes `kept`, the
/// results a failed tick got from the same status) and decides again. Returns the plan and
/// the check results it was decided with; `None` when a hook has not answered yet: the tick
/// does nothing.
async fn decide_with_checks(
    ctx: &Context,
    s: &Subject<'_>,
    status: &CanaryStatus,
    kept: Option<CheckResults>,
    now: DateTime<Utc>,
) -> Result<Option<(Plan, Option<CheckResults>)>> {
    let mut decision = decide(s.valid, status, &s.observed.observations, now);
    let mut checks = None;
    if let Decision::RunChecks(request) = &decision {
        let results = match kept {
            Some(kept) => kept,
            None => checks::run_checks(ctx, s, request, status, now).await?,
        };
        let mut with_checks = s.observed.observations.clone();
        with_checks.checks = Some(results.clone());
        checks = Some(results);
        decision = decide(s.valid, status, &with_checks, now);
    }
    let Decision::Act(plan) = decision else {
        return Ok(None);
    };
    Ok(Some((
        take_release_slot(ctx, s, status, *plan, now),
        checks,
    )))
}

/// A plan that starts a release takes a slot of `--max-concurrent-releases`; when another
/// Canary's tick took the last one meanwhile, the tick is decided again without it (the
/// release then waits).
fn take_release_slot(
    ctx: &Context,
    s: &Subject<'_>,
    status: &CanaryStatus,
    plan: Plan,
    now: DateTime<Utc>,
) -> Plan {
    let starts = !slots::releasing(status.phase.unwrap_or_default())
        && slots::releasing(plan.status.phase.unwrap_or_default());
    if !starts {
        return plan;
    }
    let key = format!("{}/{}", s.id.namespace, s.id.name);
    let slot = ctx
        .release_slots
        .take(ctx, &key, ctx.config.max_concurrent_releases);
    if slot == crate::decide::ReleaseSlot::Free {
        return plan;
    }
    let mut observations = s.observed.observations.clone();
    observations.release_slot = slot;
    match decide(s.valid, status, &observations, now) {
        Decision::Act(queued) => *queued,
        Decision::RunChecks(_) => plan,
    }
}

/// Reports a problem only the user can fix on the Canary (`Stalled`), and looks again after
/// `recheck` in case it went away outside the Canary.
async fn stalled(
    ctx: &Context,
    object: &DynamicObject,
    error: &Error,
    recheck: Duration,
) -> Result<Action> {
    status::report_invalid(ctx, object, error).await?;
    Ok(Action::requeue(recheck))
}

fn key(object: &DynamicObject) -> String {
    format!(
        "{}/{}",
        object.metadata.namespace.as_deref().unwrap_or_default(),
        object.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Transient errors retry with a backoff of their own per Canary (doubling, with jitter, reset
/// by the next successful reconcile); a conflict retries after a second.
#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature kube-runtime's Controller::run expects"
)]
pub fn error_policy(object: Arc<DynamicObject>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics
        .reconcile_errors
        .get_or_create(&crate::metrics::CategoryLabels {
            category: error.category().to_owned(),
        })
        .inc();
    let delay = if error.is_conflict() {
        Backoff::CONFLICT
    } else {
        ctx.backoff.next(&key(&object))
    };
    tracing::warn!(
        canary = %key(&object),
        error = %error,
        category = error.category(),
        retry_in = ?delay,
        "reconcile failed"
    );
    Action::requeue(delay)
}
