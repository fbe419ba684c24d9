//! Validation of a whole Canary spec into a [`ValidCanary`].

use std::time::Duration;

use crate::canary::{
    AlertRef, AlertSeverity, AutoscalerKind, AutoscalerRef, CanarySpec, Provider, SessionAffinity,
    TargetKind,
};

use super::analysis::{mirror, strategy};
use super::metrics::spec_checks;
use super::routing::router_rules;
use super::service::{RoutingSpec, routing_spec};
use super::webhooks::webhooks;
use super::{MetricCheck, MirrorPlan, Problems, Strategy, ValidationErrors, WebhookPlan, Weight};

/// Default time a workload may take to become ready.
pub const DEFAULT_PROGRESS_DEADLINE: Duration = Duration::from_secs(600);

/// A Canary spec that passed validation, with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidCanary {
    /// The workload released.
    pub target: Target,
    /// The router in effect: `spec.provider`, or the default validation was given; `None` only
    /// when neither is known (`serin lint` without `--mesh-provider`).
    pub provider: Option<Provider>,
    /// How the generated Services and the routes expose the target.
    pub routing: RoutingSpec,
    /// Prometheus address for built-in metrics, overriding the controller's.
    pub metrics_server: Option<url::Url>,
    /// Time between analysis steps.
    pub interval: Duration,
    /// Failed checks that roll the release back.
    pub threshold: u32,
    /// How long a workload may take to become ready.
    pub progress_deadline: Duration,
    /// How traffic moves.
    pub strategy: Strategy,
    /// Mirroring before traffic shifts, when enabled.
    pub mirror: Option<MirrorPlan>,
    /// Share of primary pods that must be available.
    pub primary_ready_threshold: Weight,
    /// Share of canary pods that must be available.
    pub canary_ready_threshold: Weight,
    /// Metric checks, in spec order.
    pub metrics: Vec<MetricCheck>,
    /// Webhooks, in spec order.
    pub webhooks: Vec<WebhookPlan>,
    /// Alert targets, severity resolved (unset means `info`).
    pub alerts: Vec<AlertRef>,
    /// Cookie-based session affinity.
    pub session_affinity: Option<SessionAffinity>,
    /// Autoscaler copied for the primary.
    pub autoscaler: Option<AutoscalerRef>,
    /// Promote new revisions without analysis.
    pub skip_analysis: bool,
    /// Start no new release.
    pub suspend: bool,
    /// Restore the target on deletion.
    pub revert_on_deletion: bool,
}

/// The workload a Canary releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// What kind of workload.
    pub kind: TargetKindPlan,
    /// Its name.
    pub name: String,
}

/// Kinds of target, with Knative Services told apart from core Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetKindPlan {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// Core `v1` Service.
    Service,
    /// Knative `serving.knative.dev/v1` Service.
    KnativeService,
}

/// Validates a Canary spec: everything Flagger's schema checks, the rules Flagger enforces at
/// run time or silently coerces, and what the router in effect cannot express.
///
/// `default_provider` is the router used when `spec.provider` is not set (the controller's
/// `--mesh-provider`); `None` when it is not known, as for `serin lint` without
/// `--mesh-provider`: router rules then apply only to Canaries that name their provider.
pub fn validate_canary(
    spec: &CanarySpec,
    default_provider: Option<Provider>,
) -> Result<ValidCanary, ValidationErrors> {
    let mut p = Problems::default();
    let provider = spec.provider.or(default_provider);
    let target = target(spec, &mut p);
    provider_rules(provider, target.as_ref(), &mut p);
    let routing = routing_spec(spec, target.as_ref(), &mut p);
    let progress_deadline = match spec.progress_deadline_seconds {
        Some(0) => {
            p.add("spec.progressDeadlineSeconds", "must be at least 1");
            None
        }
        Some(s) => Some(Duration::from_secs(u64::from(s))),
        None => Some(DEFAULT_PROGRESS_DEADLINE),
    };
    let a = &spec.analysis;
    let interval = match &a.interval {
        Some(i) => p.duration("spec.analysis.interval", i),
        None => {
            p.add("spec.analysis.interval", "is required (for example 1m)");
            None
        }
    };
    let threshold = match a.threshold {
        Some(0) => {
            p.add(
                "spec.analysis.threshold",
                "must be at least 1 (Flagger silently treats 0 as 1)",
            );
            None
        }
        Some(t) => Some(t),
        None => {
            p.add(
                "spec.analysis.threshold",
                "is required: the number of failed checks before rollback",
            );
            None
        }
    };
    let strategy = strategy(a, &mut p);
    let mirror = mirror(a, strategy.as_ref(), &mut p);
    router_rules(spec, provider, strategy.as_ref(), target.as_ref(), &mut p);
    let ready = |p: &mut Problems, field: &str, v: Option<u32>| match v {
        Some(v) => p.weight(&format!("spec.analysis.{field}"), v, 0),
        None => Some(Weight::FULL),
    };
    let primary_ready = ready(&mut p, "primaryReadyThreshold", a.primary_ready_threshold);
    let canary_ready = ready(&mut p, "canaryReadyThreshold", a.canary_ready_threshold);
    let (metrics, metrics_server) = spec_checks(spec, provider, &mut p);
    let webhooks = webhooks(a.webhooks.as_deref().unwrap_or_default(), &mut p);
    let alerts = alerts(a.alerts.as_deref().unwrap_or_default(), &mut p);
    session_affinity(a.session_affinity.as_ref(), strategy.as_ref(), &mut p);
    autoscaler(spec.autoscaler_ref.as_ref(), &mut p);
    let (Some(target), Some(interval), Some(threshold), Some(strategy), Some(progress_deadline)) =
        (target, interval, threshold, strategy, progress_deadline)
    else {
        return Err(ValidationErrors(p.0));
    };
    let (Some(primary_ready_threshold), Some(canary_ready_threshold)) =
        (primary_ready, canary_ready)
    else {
        return Err(ValidationErrors(p.0));
    };
    p.finish(|| ValidCanary {
        target,
        provider,
        routing,
        metrics_server,
        interval,
        threshold,
        progress_deadline,
        strategy,
        mirror,
        primary_ready_threshold,
        canary_ready_threshold,
        metrics,
        webhooks,
        alerts,
        session_affinity: a.session_affinity.clone(),
        autoscaler: spec.autoscaler_ref.clone(),
        skip_analysis: spec.skip_analysis.unwrap_or(false),
        suspend: spec.suspend.unwrap_or(false),
        revert_on_deletion: spec.revert_on_deletion.unwrap_or(false),
    })
}

fn target(spec: &CanarySpec, p: &mut Problems) -> Option<Target> {
    let t = &spec.target_ref;
    if t.name.trim().is_empty() {
        p.add("spec.targetRef.name", "must not be empty");
        return None;
    }
    // Flagger reads Deployments and DaemonSets through apps/v1 whatever apiVersion says (its own
    // FAQ shows `apiVersion: v1`), so only a Service's apiVersion matters: it tells a Knative
    // Service from a core one.
    let kind = match t.kind {
        TargetKind::Deployment => TargetKindPlan::Deployment,
        TargetKind::DaemonSet => TargetKindPlan::DaemonSet,
        TargetKind::Service if t.api_version.starts_with("serving.knative.dev/") => {
            TargetKindPlan::KnativeService
        }
        TargetKind::Service if t.api_version == "v1" => TargetKindPlan::Service,
        TargetKind::Service => {
            p.add(
                "spec.targetRef.apiVersion",
                format!("{:?} does not serve Service; use v1, or serving.knative.dev/v1 for a Knative Service", t.api_version),
            );
            return None;
        }
    };
    Some(Target {
        kind,
        name: t.name.clone(),
    })
}

/// Rules about the provider itself, on the one in effect: retired routers, and a Knative target
/// with another router.
fn provider_rules(provider: Option<Provider>, target: Option<&Target>, p: &mut Problems) {
    let field = "spec.provider";
    if let Some(provider @ (Provider::AppMesh | Provider::AppMeshV1beta2)) = provider {
        p.add(
            field,
            format!("{provider} is not supported by serin: the project is retired"),
        );
    }
    let knative_target = target.is_some_and(|t| t.kind == TargetKindPlan::KnativeService);
    if knative_target && provider.is_some_and(|p| p != Provider::Knative) {
        p.add(field, "must be knative for a Knative Service target");
    }
}

fn alerts(alerts: &[AlertRef], p: &mut Problems) -> Vec<AlertRef> {
    alerts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            if a.provider_ref.name.trim().is_empty() {
                p.add(
                    format!("spec.analysis.alerts[{i}].providerRef.name"),
                    "must not be empty",
                );
                return None;
            }
            let severity = match a.severity {
                None | Some(AlertSeverity::Unset) => AlertSeverity::Info,
                Some(s) => s,
            };
            Some(AlertRef {
                severity: Some(severity),
                ..a.clone()
            })
        })
        .collect()
}

fn session_affinity(s: Option<&SessionAffinity>, strategy: Option<&Strategy>, p: &mut Problems) {
    let Some(s) = s else { return };
    let valid_cookie = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    };
    if !valid_cookie(&s.cookie_name) {
        p.add(
            "spec.analysis.sessionAffinity.cookieName",
            format!("{:?} is not a valid cookie name", s.cookie_name),
        );
    }
    if let Some(primary) = &s.primary_cookie_name {
        if !valid_cookie(primary) {
            p.add(
                "spec.analysis.sessionAffinity.primaryCookieName",
                format!("{primary:?} is not a valid cookie name"),
            );
        } else if *primary == s.cookie_name {
            p.add(
                "spec.analysis.sessionAffinity.primaryCookieName",
                "must differ from cookieName",
            );
        }
    }
    if s.max_age == Some(0) {
        p.add(
            "spec.analysis.sessionAffinity.maxAge",
            "must be at least 1 second",
        );
    }
    if strategy.is_some_and(|s| !matches!(s, Strategy::Progressive { .. })) {
        p.add(
            "spec.analysis.sessionAffinity",
            "applies to progressive releases (stepWeight or stepWeights) only",
        );
    }
}

fn autoscaler(a: Option<&AutoscalerRef>, p: &mut Problems) {
    let Some(a) = a else { return };
    let ok = match a.kind {
        AutoscalerKind::HorizontalPodAutoscaler => a.api_version.starts_with("autoscaling/v2"),
        AutoscalerKind::ScaledObject => a.api_version.starts_with("keda.sh/"),
    };
    if !ok {
        let expected = match a.kind {
            AutoscalerKind::HorizontalPodAutoscaler => "autoscaling/v2",
            AutoscalerKind::ScaledObject => "keda.sh/v1alpha1",
        };
        p.add(
            "spec.autoscalerRef.apiVersion",
            format!(
                "{:?} does not serve {:?}; use {expected}",
                a.api_version, a.kind
            ),
        );
    }
    if a.name.trim().is_empty() {
        p.add("spec.autoscalerRef.name", "must not be empty");
    }
    if let Some(r) = &a.primary_scaler_replicas {
        if let (Some(min), Some(max)) = (r.min_replicas, r.max_replicas)
            && min > max
        {
            p.add(
                "spec.autoscalerRef.primaryScalerReplicas",
                format!("minReplicas ({min}) must not exceed maxReplicas ({max})"),
            );
        }
        for (field, v) in [
            ("minReplicas", r.min_replicas),
            ("maxReplicas", r.max_replicas),
        ] {
            if v.is_some_and(|v| v < 1) {
                p.add(
                    format!("spec.autoscalerRef.primaryScalerReplicas.{field}"),
                    "must be at least 1",
                );
            }
        }
    }
}
