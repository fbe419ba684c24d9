//! The act step (I/O, writes; leader only): executes a plan's actions in order with
//! server-side apply under serin's field manager.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret, Service};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use serde_json::json;
use serin_crds::Canary;
use serin_crds::canary::CanaryStatus;
use serin_crds::validation::ValidCanary;

use super::context::{Context, FIELD_MANAGER};
use super::error::Result;
use super::notify;
use super::observe::{Observed, dynamic_api};
use crate::decide::{Action, EventKind, Plan, Routes};
use crate::routers::{RouteContext, Router, TrafficSplit};
use crate::workloads::{
    ConfigKind, PrimaryOptions, SCALE_TO_ZERO_NODE_SELECTOR, ServiceInputs, ServiceRole, Target,
    primary_workload, selector_label, service, service_copy,
};

/// What the executor works on.
pub(super) struct Subject<'a> {
    /// The Canary.
    pub(super) canary: &'a Canary,
    /// Its validated spec.
    pub(super) valid: &'a ValidCanary,
    /// Its router.
    pub(super) router: &'a dyn Router,
    /// Routing context.
    pub(super) route_ctx: &'a RouteContext<'a>,
    /// What was observed.
    pub(super) observed: &'a Observed,
}

/// Executes `plan`'s actions; may fill in status fields that only the executor knows (the
/// session affinity cookies).
pub(super) async fn act(ctx: &Context, s: &Subject<'_>, plan: &mut Plan) -> Result<()> {
    for action in plan.actions.clone() {
        match action {
            Action::Initialize => initialize(ctx, s).await?,
            Action::ScaleCanaryUp => scale_canary(ctx, s, true).await?,
            Action::ScaleCanaryToZero => scale_canary(ctx, s, false).await?,
            Action::SetWeights(routes) => set_weights(ctx, s, routes, &mut plan.status).await?,
            Action::PromoteSpecToPrimary => promote(ctx, s).await?,
            Action::CallHooks(calls) => notify::call_hooks(ctx, s, &calls, &plan.status).await,
            Action::Event {
                kind,
                reason,
                message,
            } => {
                publish_event(ctx, s.canary, kind, reason, &message).await;
                notify::event_hooks(ctx, s, kind, &message, &plan.status).await;
            }
            Action::Alert { severity, message } => notify::alert(ctx, s, severity, &message).await,
            Action::RevertTarget => revert_target(ctx, s).await?,
            // Done by the caller after the status is written: the object may go away with it.
            Action::FinalizeDeletion => {}
        }
    }
    Ok(())
}

fn params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

fn namespace(s: &Subject<'_>) -> String {
    s.route_ctx.namespace.to_owned()
}

fn tracked(s: &Subject<'_>) -> Vec<crate::workloads::ConfigRef> {
    s.observed
        .configs
        .iter()
        .map(|c| c.reference.clone())
        .collect()
}

async fn apply_primary(ctx: &Context, s: &Subject<'_>) -> Result<()> {
    let ns = namespace(s);
    // The cache keeps only checksums: the content is read here, when the copy is written.
    for config in &s.observed.configs {
        let name = format!("{}-primary", config.reference.name);
        let object = match config.reference.kind {
            ConfigKind::ConfigMap => Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
                .get_opt(&config.reference.name)
                .await?
                .map(serde_json::to_value)
                .transpose()?,
            ConfigKind::Secret => Api::<Secret>::namespaced(ctx.client.clone(), &ns)
                .get_opt(&config.reference.name)
                .await?
                .map(serde_json::to_value)
                .transpose()?,
        };
        // Deleted since it was observed: the next tick sees the change.
        let Some(object) = object else { continue };
        let mut copy = json!({
            "apiVersion": "v1",
            "kind": if config.reference.kind == ConfigKind::ConfigMap { "ConfigMap" } else { "Secret" },
            "metadata": {
                "name": name,
                "namespace": ns,
                "ownerReferences": [crate::workloads::canary_owner(s.route_ctx.canary, s.route_ctx.canary_uid)],
            },
        });
        for key in ["data", "binaryData", "type"] {
            if let Some(v) = object.get(key) {
                copy[key] = v.clone();
            }
        }
        match config.reference.kind {
            ConfigKind::ConfigMap => {
                Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
                    .patch(&name, &params(), &Patch::Apply(&copy))
                    .await?;
            }
            ConfigKind::Secret => {
                Api::<Secret>::namespaced(ctx.client.clone(), &ns)
                    .patch(&name, &params(), &Patch::Apply(&copy))
                    .await?;
            }
        }
    }
    if let Target::Service(target) = &s.observed.target {
        let name = format!("{}-primary", s.valid.target.name);
        return apply_service_copy(ctx, s, target, &name).await;
    }
    let selector_labels: Vec<&str> = ctx
        .config
        .selector_labels
        .iter()
        .map(String::as_str)
        .collect();
    let tracked = tracked(s);
    let primary_replicas = match &s.observed.primary {
        Some(Target::Deployment(p)) => p.spec.replicas,
        _ => None,
    };
    let options = PrimaryOptions {
        canary: s.route_ctx.canary,
        canary_uid: s.route_ctx.canary_uid,
        selector_labels: &selector_labels,
        tracked: &tracked,
        replicas: primary_replicas,
        include_label_prefixes: &ctx.config.include_label_prefixes,
    };
    match primary_workload(&s.observed.target, &options)? {
        Target::Deployment(primary) => {
            let name = primary.metadata.name.clone().unwrap_or_default();
            let mut object = serde_json::to_value(&primary)?;
            object["apiVersion"] = json!("apps/v1");
            object["kind"] = json!("Deployment");
            Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
                .patch(&name, &params(), &Patch::Apply(&object))
                .await?;
            apply_primary_autoscaler(ctx, s, &name).await
        }
        Target::DaemonSet(primary) => {
            let name = primary.metadata.name.clone().unwrap_or_default();
            let mut object = serde_json::to_value(&primary)?;
            object["apiVersion"] = json!("apps/v1");
            object["kind"] = json!("DaemonSet");
            Api::<DaemonSet>::namespaced(ctx.client.clone(), &ns)
                .patch(&name, &params(), &Patch::Apply(&object))
                .await?;
            Ok(())
        }
        Target::Service(_) => Ok(()),
    }
}

/// Applies a copy of a Service target as its `-primary` or `-canary` Service.
async fn apply_service_copy(
    ctx: &Context,
    s: &Subject<'_>,
    target: &Service,
    name: &str,
) -> Result<()> {
    let copy = service_copy(
        target,
        name,
        (s.route_ctx.canary, s.route_ctx.canary_uid),
        &ctx.config.include_label_prefixes,
    )?;
    Api::<Service>::namespaced(ctx.client.clone(), s.route_ctx.namespace)
        .patch(name, &params(), &Patch::Apply(&copy))
        .await?;
    Ok(())
}

/// Copies the target's autoscaler (`autoscalerRef`) for the primary. A missing autoscaler is
/// logged and skipped: the primary then keeps the target's replica count.
async fn apply_primary_autoscaler(ctx: &Context, s: &Subject<'_>, primary: &str) -> Result<()> {
    let Some(reference) = &s.valid.autoscaler else {
        return Ok(());
    };
    let kind = match reference.kind {
        serin_crds::canary::AutoscalerKind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
        serin_crds::canary::AutoscalerKind::ScaledObject => "ScaledObject",
    };
    let api = dynamic_api(
        &ctx.client,
        s.route_ctx.namespace,
        &reference.api_version,
        kind,
    );
    let Some(target) = api.get_opt(&reference.name).await? else {
        tracing::warn!(autoscaler = %reference.name, kind, "the target's autoscaler was not found; the primary is not autoscaled");
        return Ok(());
    };
    let copy = crate::workloads::primary_autoscaler(
        reference,
        &serde_json::to_value(&target)?,
        &s.valid.target.name,
        primary,
        (s.route_ctx.canary, s.route_ctx.canary_uid),
    );
    let name = format!("{}-primary", reference.name);
    api.patch(&name, &params(), &Patch::Apply(&copy)).await?;
    Ok(())
}

/// The target's app label (`app: podinfo`), found by the configured selector label keys.
pub(super) fn app_label(ctx: &Context, s: &Subject<'_>) -> Result<(String, String)> {
    let labels = s.observed.target.selector();
    let keys: Vec<&str> = ctx
        .config
        .selector_labels
        .iter()
        .map(String::as_str)
        .collect();
    let (key, app) = selector_label(&labels, &keys).ok_or_else(|| {
        crate::workloads::WorkloadError::NoSelectorLabel(ctx.config.selector_labels.join(", "))
    })?;
    Ok((key.to_owned(), app.to_owned()))
}

pub(super) fn service_inputs<'a>(
    s: &'a Subject<'a>,
    spec: &'a serin_crds::canary::CanaryService,
    app_label: (&'a str, &'a str),
) -> ServiceInputs<'a> {
    ServiceInputs {
        canary: (s.route_ctx.canary, s.route_ctx.canary_uid),
        namespace: s.route_ctx.namespace,
        names: s.route_ctx.names,
        spec,
        app_label,
        pod_spec: s.observed.target.pod_spec(),
    }
}

async fn initialize(ctx: &Context, s: &Subject<'_>) -> Result<()> {
    if s.observed.primary.is_none() {
        apply_primary(ctx, s).await?;
    }
    if let Target::Service(target) = &s.observed.target {
        // A Service target is its own apex: serin adds only its `-canary` copy (the `-primary`
        // one is made above) and the routes between the two.
        let canary = format!("{}-canary", s.valid.target.name);
        apply_service_copy(ctx, s, target, &canary).await?;
        if s.observed.primary.is_some() && s.observed.observations.routes.is_none() {
            apply_routes(ctx, s, &TrafficSplit::default()).await?;
        }
        return Ok(());
    }
    let (key, app) = app_label(ctx, s)?;
    let Some(spec) = s.canary.spec.service.as_ref() else {
        return Ok(());
    };
    let inputs = service_inputs(s, spec, (&key, &app));
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), s.route_ctx.namespace);
    // The apex Service moves to the primary only once the primary can serve, so that taking
    // over an existing Service causes no downtime.
    let primary_ready = matches!(
        s.observed.observations.primary,
        crate::decide::Readiness::Ready
    );
    let roles: &[ServiceRole] = if primary_ready {
        &[ServiceRole::Primary, ServiceRole::Canary, ServiceRole::Apex]
    } else {
        &[ServiceRole::Primary, ServiceRole::Canary]
    };
    for role in roles {
        let mut object = serde_json::to_value(service(*role, &inputs))?;
        object["apiVersion"] = json!("v1");
        object["kind"] = json!("Service");
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        services
            .patch(&name, &params(), &Patch::Apply(&object))
            .await?;
    }
    if primary_ready && s.observed.observations.routes.is_none() {
        apply_routes(ctx, s, &TrafficSplit::default()).await?;
    }
    Ok(())
}

/// The finalizer serin (like Flagger) puts on Canaries with `revertOnDeletion`, so that the
/// target is restored before the Canary and its generated objects go away.
pub(super) const FINALIZER: &str = "finalizer.flagger.app";

/// Puts the finalizer on a Canary that asks for `revertOnDeletion` and does not have it yet.
pub(super) async fn ensure_finalizer(ctx: &Context, canary: &Canary) -> Result<()> {
    let finalizers = canary.metadata.finalizers.clone().unwrap_or_default();
    if finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut updated = finalizers;
    updated.push(FINALIZER.to_owned());
    patch_finalizers(ctx, canary, updated).await
}

/// Removes the finalizer, letting the API server delete the Canary.
pub(super) async fn remove_finalizer(ctx: &Context, canary: &Canary) -> Result<()> {
    let finalizers = canary.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let remaining = finalizers.into_iter().filter(|f| f != FINALIZER).collect();
    patch_finalizers(ctx, canary, remaining).await
}

async fn patch_finalizers(ctx: &Context, canary: &Canary, finalizers: Vec<String>) -> Result<()> {
    // The resourceVersion makes this a compare-and-swap: another writer's change is not lost.
    let patch = json!({ "metadata": {
        "finalizers": finalizers,
        "resourceVersion": canary.metadata.resource_version,
    }});
    let name = canary.metadata.name.clone().unwrap_or_default();
    let namespace = canary.metadata.namespace.clone().unwrap_or_default();
    Api::<Canary>::namespaced(ctx.client.clone(), &namespace)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Gives the target its traffic back: scaled up again, and the apex Service selecting its pods
/// and no longer owned by the Canary, so that it outlives it.
async fn revert_target(ctx: &Context, s: &Subject<'_>) -> Result<()> {
    if matches!(s.observed.target, Target::Service(_)) {
        // Never changed by serin: it keeps serving as it is.
        return Ok(());
    }
    scale_canary(ctx, s, true).await?;
    let Ok((key, app)) = app_label(ctx, s) else {
        return Ok(());
    };
    let Some(spec) = s.canary.spec.service.as_ref() else {
        return Ok(());
    };
    let inputs = service_inputs(s, spec, (&key, &app));
    // The canary Service's shape (it selects the target's pods) under the apex name. Applying
    // it whole, without owner references, keeps every field and drops the ownership.
    let mut apex = service(ServiceRole::Canary, &inputs);
    apex.metadata.name = Some(s.route_ctx.names.apex.clone());
    apex.metadata.owner_references = None;
    if let Some(labels) = apex.metadata.labels.as_mut() {
        labels.insert(key.clone(), s.route_ctx.names.apex.clone());
    }
    let mut object = serde_json::to_value(&apex)?;
    object["apiVersion"] = json!("v1");
    object["kind"] = json!("Service");
    Api::<Service>::namespaced(ctx.client.clone(), s.route_ctx.namespace)
        .patch(&s.route_ctx.names.apex, &params(), &Patch::Apply(&object))
        .await?;
    Ok(())
}

/// Scales the canary up for a release, or down to zero after one. A DaemonSet is taken off
/// every node with the scale-to-zero node selector; a Service target is not scaled, but its
/// `-canary` copy follows the target when a release starts.
async fn scale_canary(ctx: &Context, s: &Subject<'_>, up: bool) -> Result<()> {
    let ns = s.route_ctx.namespace;
    let name = &s.valid.target.name;
    match &s.observed.target {
        Target::Deployment(target) => {
            let replicas = if up {
                if target.spec.replicas.unwrap_or(1) > 0 {
                    return Ok(());
                }
                match &s.observed.primary {
                    Some(Target::Deployment(p)) => p.spec.replicas.filter(|r| *r > 0),
                    _ => None,
                }
                .unwrap_or(1)
            } else {
                0
            };
            let patch = json!({ "spec": { "replicas": replicas } });
            Api::<Deployment>::namespaced(ctx.client.clone(), ns)
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Target::DaemonSet(_) => {
            if up != s.observed.target.scaled_to_zero() {
                return Ok(());
            }
            let value = if up { json!(null) } else { json!("true") };
            let patch = json!({ "spec": { "template": { "spec": {
                "nodeSelector": { SCALE_TO_ZERO_NODE_SELECTOR: value },
            }}}});
            Api::<DaemonSet>::namespaced(ctx.client.clone(), ns)
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Target::Service(target) => {
            if up {
                apply_service_copy(ctx, s, target, &format!("{name}-canary")).await?;
            }
        }
    }
    Ok(())
}

async fn set_weights(
    ctx: &Context,
    s: &Subject<'_>,
    routes: Routes,
    status: &mut CanaryStatus,
) -> Result<()> {
    let mut split = TrafficSplit {
        canary: routes.canary,
        mirror: routes.mirror,
        ..TrafficSplit::default()
    };
    if let Some(affinity) = &s.valid.session_affinity {
        if routes.canary.get() > 0 {
            let cookie = status.session_affinity_cookie.clone().unwrap_or_else(|| {
                let revision = status.last_applied_spec.clone().unwrap_or_default();
                let id: String = revision
                    .chars()
                    .rev()
                    .filter(char::is_ascii_alphanumeric)
                    .take(16)
                    .collect();
                format!("{}={id}", affinity.cookie_name)
            });
            status.session_affinity_cookie = Some(cookie.clone());
            split.sticky_cookie = Some(cookie);
        } else if let Some(previous) = status.session_affinity_cookie.take() {
            status.previous_session_affinity_cookie = Some(previous);
            split.expired_cookie = status.previous_session_affinity_cookie.clone();
        } else {
            split.expired_cookie = status.previous_session_affinity_cookie.clone();
        }
    }
    ctx.metrics.set_weights(
        &s.valid.target.name,
        s.route_ctx.namespace,
        routes.primary.get(),
        routes.canary.get(),
    );
    apply_routes(ctx, s, &split).await
}

async fn apply_routes(ctx: &Context, s: &Subject<'_>, split: &TrafficSplit) -> Result<()> {
    let router = s
        .canary
        .spec
        .provider
        .unwrap_or(ctx.config.mesh_provider)
        .as_str();
    for desired in s.router.desired_routes(s.route_ctx, split)? {
        let api = dynamic_api(
            &ctx.client,
            s.route_ctx.namespace,
            &desired.api_version,
            &desired.kind,
        );
        let result = api
            .patch(&desired.name, &params(), &Patch::Apply(&desired.object))
            .await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        ctx.metrics
            .router_calls
            .get_or_create(&crate::metrics::RouterCallLabels {
                router: router.to_owned(),
                result: outcome.to_owned(),
            })
            .inc();
        result?;
    }
    Ok(())
}

async fn promote(ctx: &Context, s: &Subject<'_>) -> Result<()> {
    apply_primary(ctx, s).await
}

/// Publishes a Kubernetes Event on the Canary. Events are best effort: a failure is logged.
pub(super) async fn publish_event(
    ctx: &Context,
    canary: &Canary,
    kind: EventKind,
    reason: &str,
    message: &str,
) {
    let reference = ObjectReference {
        api_version: Some("flagger.app/v1beta1".into()),
        kind: Some("Canary".into()),
        name: canary.metadata.name.clone(),
        namespace: canary.metadata.namespace.clone(),
        uid: canary.metadata.uid.clone(),
        resource_version: canary.metadata.resource_version.clone(),
        field_path: None,
    };
    let event = Event {
        type_: match kind {
            EventKind::Normal => EventType::Normal,
            EventKind::Warning => EventType::Warning,
        },
        reason: reason.to_owned(),
        note: Some(message.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        tracing::warn!(error = %e, reason, "could not publish event");
    }
}
