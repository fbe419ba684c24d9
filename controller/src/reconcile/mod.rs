//! The reconcile pipeline: a kube-runtime `Controller` over Canaries. One reconcile reads like
//! its table of contents: parse and validate (pure) -> observe (I/O, reads) -> decide (pure;
//! checks run in between when asked) -> act (I/O, writes) -> update status once (I/O).
//! Analysis ticks come from `Action::requeue`, never from a second timer.

mod act;
mod caches;
mod checks;
mod config;
mod context;
mod drift;
mod error;
mod notify;
mod observe;
mod status;
mod targets;

pub use caches::Caches;
pub use config::ControllerConfig;
pub use context::{Context, FIELD_MANAGER};
pub use error::{Error, Result};

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::controller::{Action, Controller};
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, CanaryStatus, Provider};
use serin_crds::validation::{Strategy, TargetKindPlan, ValidCanary, validate_canary};

use crate::decide::{Decision, decide};
use crate::routers::{RouteContext, Router, ServiceNames, router_for};

/// How long to wait before looking again at a Canary whose spec needs fixing, in case the
/// problem is outside it (a missing target appears).
const INVALID_RECHECK: Duration = Duration::from_secs(300);

/// Runs the controller until `shutdown` resolves.
///
/// Canaries are watched untyped, so that one malformed object cannot stop the list. The kinds a
/// reconcile reads are watched into caches (see [`caches`]); a change to a target, its primary,
/// or a ConfigMap or Secret a target uses wakes the Canaries concerned at once.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let resource = ApiResource::erase::<Canary>(&());
    let api: Api<DynamicObject> = match &ctx.config.namespace {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &resource),
        None => Api::all_with(ctx.client.clone(), &resource),
    };
    let (deployments, deployment_events) = caches::watch(scoped(&ctx), caches::drop_bulk);
    let (daemonsets, daemonset_events) = caches::watch(scoped(&ctx), caches::drop_bulk);
    let (services, service_events) = caches::watch(scoped(&ctx), caches::drop_bulk);
    let (config_maps, config_map_events) = caches::watch(scoped(&ctx), caches::strip_config_map);
    let (secrets, secret_events) = caches::watch(scoped(&ctx), caches::strip_secret);
    let (metric_templates, template_events) = caches::watch(scoped(&ctx), caches::drop_bulk);
    let (alert_providers, provider_events) = caches::watch(scoped(&ctx), caches::drop_bulk);
    let tracking = ctx.config.config_tracking;
    let mut route_events = Vec::new();
    let mut routes = Vec::new();
    for resource in crate::routers::route_resources() {
        let api = match &ctx.config.namespace {
            Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &resource),
            None => Api::all_with(ctx.client.clone(), &resource),
        };
        let (store, events) = caches::watch_routes(api, &resource);
        routes.push((resource.clone(), store));
        route_events.push((events, resource));
    }
    *ctx.caches
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Caches {
        deployments: Some(deployments.clone()),
        daemonsets: Some(daemonsets.clone()),
        services: Some(services),
        config_maps: tracking.then_some(config_maps),
        secrets: tracking.then_some(secrets),
        metric_templates: Some(metric_templates),
        alert_providers: Some(alert_providers),
        routes,
        namespace: ctx.config.namespace.clone(),
    });
    let concurrency = ctx.config.concurrency;
    let (canaries, canary_events) = caches::watch_canaries(api, &resource);
    let controller = Controller::for_stream_with(canary_events, canaries.clone(), resource.clone());
    *ctx.canaries
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(canaries.clone());
    let targets = targets::Targets::new(canaries, resource, deployments, daemonsets);
    let mut controller = controller
        .watches_stream(deployment_events, {
            let t = targets.clone();
            move |d: Deployment| t.using_workload(&d)
        })
        .watches_stream(daemonset_events, {
            let t = targets.clone();
            move |d: DaemonSet| t.using_workload(&d)
        })
        // Only cached: read at the next tick, which repairs a generated Service changed by hand.
        .watches_stream(service_events, |_| Vec::new())
        // Only cached: a template or provider is read when it is needed.
        .watches_stream(template_events, |_| Vec::new())
        .watches_stream(provider_events, |_| Vec::new());
    if tracking {
        controller = controller
            .watches_stream(config_map_events, {
                let t = targets.clone();
                move |c: ConfigMap| t.using_config(&c)
            })
            .watches_stream(secret_events, move |c: Secret| targets.using_config(&c));
    }
    for (events, resource) in route_events {
        // Only cached: routes change when serin changes them, and the next tick reads them.
        controller = controller.watches_stream_with(events, |_| Vec::new(), resource);
    }
    controller
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile stream");
            }
        })
        .await;
}

/// An API for `K` in the watched namespace, or in all of them.
fn scoped<K>(ctx: &Context) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match &ctx.config.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    }
}

/// One reconcile of one Canary. Steps that need the client: observe, checks, act, status.
pub async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = Box::pin(reconcile_inner(&object, &ctx)).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    result
}

async fn reconcile_inner(object: &DynamicObject, ctx: &Context) -> Result<Action> {
    // parse, validate, pick the router (pure)
    let (canary, valid, router) = match prepare(object, ctx.config.mesh_provider) {
        Ok(prepared) => prepared,
        Err(e) => {
            status::report_invalid(ctx, object, &e).await?;
            return Ok(Action::requeue(INVALID_RECHECK));
        }
    };
    let names = ServiceNames::new(&valid.target.name, canary.spec.service.as_ref());
    let namespace = canary.metadata.namespace.clone().unwrap_or_default();
    let name = canary.metadata.name.clone().unwrap_or_default();
    let uid = canary.metadata.uid.clone().unwrap_or_default();
    let default_service = serin_crds::canary::CanaryService::default();
    let route_ctx = RouteContext {
        canary: &name,
        namespace: &namespace,
        canary_uid: &uid,
        names: &names,
        service: canary.spec.service.as_ref().unwrap_or(&default_service),
        ab_matches: canary.spec.analysis.match_.as_deref().unwrap_or_default(),
        session_affinity: valid.session_affinity.as_ref(),
    };

    // observe (I/O)
    let observed = match observe::observe(
        &ctx.client,
        &canary,
        &valid,
        router.as_ref(),
        &route_ctx,
        ctx.config.config_tracking,
        &ctx.caches(),
    )
    .await
    {
        Ok(observed) => observed,
        Err(e @ (Error::TargetMissing { .. } | Error::Workload(_))) => {
            status::report_invalid(ctx, object, &e).await?;
            return Ok(Action::requeue(valid.interval));
        }
        Err(e) => return Err(e),
    };
    let subject = act::Subject {
        canary: &canary,
        valid: &valid,
        router: router.as_ref(),
        route_ctx: &route_ctx,
        observed: &observed,
    };

    // decide (pure), running the checks it asks for
    let status = canary.status.clone().unwrap_or_default();
    let now = Utc::now();
    let mut decision = decide(&valid, &status, &observed.observations, now);
    if let Decision::RunChecks(request) = &decision {
        let results = match checks::run_checks(ctx, &subject, request, &status, now).await {
            Ok(results) => results,
            Err(e @ Error::MetricCheck { .. }) => {
                status::report_invalid(ctx, object, &e).await?;
                return Ok(Action::requeue(valid.interval));
            }
            Err(e) => return Err(e),
        };
        let mut with_checks = observed.observations.clone();
        with_checks.checks = Some(results);
        decision = decide(&valid, &status, &with_checks, now);
    }
    let Decision::Act(mut plan) = decision else {
        return Ok(Action::requeue(valid.interval));
    };

    // act (I/O), then write status once (I/O)
    if valid.revert_on_deletion && canary.metadata.deletion_timestamp.is_none() {
        act::ensure_finalizer(ctx, &canary).await?;
    }
    act::act(ctx, &subject, &mut plan).await?;
    repair(ctx, &subject, &plan).await?;
    status::write(ctx, &canary, &plan.status).await?;
    if plan
        .actions
        .contains(&crate::decide::Action::FinalizeDeletion)
    {
        act::remove_finalizer(ctx, &canary).await?;
        return Ok(Action::await_change());
    }
    let previous = canary
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .unwrap_or_default();
    record(ctx, &valid, &namespace, &name, previous, &plan.status);
    Ok(Action::requeue(plan.requeue_after))
}

/// What depends on the Canary alone: its typed form, its validated spec, and its router. An
/// error here is a problem of the spec, reported on the Canary.
fn prepare(
    object: &DynamicObject,
    mesh_provider: Provider,
) -> Result<(Canary, ValidCanary, Box<dyn Router>)> {
    let canary = parse(object)?;
    let valid = validate(&canary)?;
    if valid.target.kind == TargetKindPlan::KnativeService {
        return Err(Error::Workload(
            crate::workloads::WorkloadError::UnsupportedTarget("Knative Service".into()),
        ));
    }
    let router = router_for(canary.spec.provider.unwrap_or(mesh_provider))?;
    Ok((canary, valid, router))
}

/// Applies again the generated Services someone changed, outside initialization and deletion,
/// with a warning Event naming them.
async fn repair(
    ctx: &Context,
    subject: &act::Subject<'_>,
    plan: &crate::decide::Plan,
) -> Result<()> {
    let phase = plan.status.phase.unwrap_or_default();
    let settled = !matches!(
        phase,
        CanaryPhase::Unset
            | CanaryPhase::Initializing
            | CanaryPhase::Terminating
            | CanaryPhase::Terminated
    ) && subject.canary.metadata.deletion_timestamp.is_none();
    if !settled {
        return Ok(());
    }
    let restored = drift::repair_services(ctx, subject).await?;
    if !restored.is_empty() {
        let message = format!(
            "Service {} differed from what serin generates and was applied again",
            restored.join(", ")
        );
        act::publish_event(
            ctx,
            subject.canary,
            crate::decide::EventKind::Warning,
            "ServicesRestored",
            &message,
        )
        .await;
    }
    Ok(())
}

fn parse(object: &DynamicObject) -> Result<Canary> {
    let value = serde_json::to_value(object)?;
    serde_path_to_error::deserialize(value)
        .map_err(|e| Error::Malformed(format!("{}: {}", e.path(), e.inner())))
}

fn validate(canary: &Canary) -> Result<ValidCanary> {
    Ok(validate_canary(&canary.spec)?)
}

fn record(
    ctx: &Context,
    valid: &ValidCanary,
    namespace: &str,
    name: &str,
    previous: CanaryPhase,
    status: &CanaryStatus,
) {
    use crate::metrics::{NamespaceLabels, OutcomeLabels};
    let phase = status.phase.unwrap_or_default();
    let m = &ctx.metrics;
    m.set_status(&valid.target.name, namespace, phase);
    if let Some(store) = ctx.canary_cache() {
        let total = store
            .state()
            .iter()
            .filter(|c| c.metadata.namespace.as_deref() == Some(namespace))
            .count();
        m.canary_total
            .get_or_create(&NamespaceLabels {
                namespace: namespace.to_owned(),
            })
            .set(i64::try_from(total).unwrap_or(i64::MAX));
    }
    let key = format!("{namespace}/{name}");
    let mut started = ctx
        .release_started
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if matches!(phase, CanaryPhase::Progressing | CanaryPhase::Waiting) {
        started.entry(key.clone()).or_insert_with(Instant::now);
    }
    if phase == previous || !matches!(phase, CanaryPhase::Succeeded | CanaryPhase::Failed) {
        return;
    }
    let labels = crate::metrics::CanaryLabels {
        name: valid.target.name.clone(),
        namespace: namespace.to_owned(),
    };
    if let Some(start) = started.remove(&key) {
        m.canary_duration
            .get_or_create(&labels)
            .observe(start.elapsed().as_secs_f64());
    }
    let strategy = match valid.strategy {
        Strategy::Progressive { .. } => "canary",
        Strategy::BlueGreen { .. } => "blue-green",
        Strategy::ABTesting { .. } => "ab-testing",
    };
    let outcome = OutcomeLabels {
        name: valid.target.name.clone(),
        namespace: namespace.to_owned(),
        deployment_strategy: strategy.to_owned(),
        analysis_status: if valid.skip_analysis {
            "skipped"
        } else {
            "completed"
        }
        .to_owned(),
    };
    let counter = if phase == CanaryPhase::Succeeded {
        &m.successes
    } else {
        &m.failures
    };
    counter.get_or_create(&outcome).inc();
}

/// Transient errors retry with a short backoff; the next successful reconcile resets it.
#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature kube-runtime's Controller::run expects"
)]
pub fn error_policy(_object: Arc<DynamicObject>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics
        .reconcile_errors
        .get_or_create(&crate::metrics::CategoryLabels {
            category: error.category().to_owned(),
        })
        .inc();
    tracing::warn!(error = %error, category = error.category(), "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}
