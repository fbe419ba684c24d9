//! Validation of how the target is exposed (`spec.service` and the routers' references) into a
//! [`RoutingSpec`], the one input the routers and the generated Services read.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::canary::{CanaryService, CanarySpec, HttpMatchRequest, UpstreamRef};

use super::Problems;
use super::canary::{Target, TargetKindPlan};

/// Names of the Services serin generates for a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNames {
    /// The apex Service, which clients use.
    pub apex: String,
    /// The Service that selects the primary pods.
    pub primary: String,
    /// The Service that selects the canary pods.
    pub canary: String,
}

impl ServiceNames {
    /// `spec.service.name` (or the target's name), with `-primary` and `-canary` suffixes.
    pub fn new(target: &str, service: Option<&CanaryService>) -> Self {
        let apex = service
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| target.to_owned());
        ServiceNames {
            primary: format!("{apex}-primary"),
            canary: format!("{apex}-canary"),
            apex,
        }
    }
}

/// How the routes and the generated Services expose the target, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingSpec {
    /// `spec.targetRef.name`: the target (a Knative Service is its own route).
    pub target: String,
    /// The generated Services' names.
    pub names: ServiceNames,
    /// `spec.service` as written (ports checked, durations parse); the default for a Service
    /// target that has none.
    pub service: CanaryService,
    /// Whether the spec has a `spec.service` (a Deployment or DaemonSet target always does).
    pub has_service: bool,
    /// `spec.service.match`: the requests the routes serve.
    pub service_matches: Vec<HttpMatchRequest>,
    /// `spec.analysis.match`: the requests routed to the canary (A/B testing).
    pub ab_matches: Vec<HttpMatchRequest>,
    /// `spec.ingressRef.name`: the Ingress the NGINX and Skipper routers copy.
    pub ingress_ref: Option<String>,
    /// `spec.routeRef.name`: the ApisixRoute the APISIX router copies.
    pub route_ref: Option<String>,
    /// `spec.upstreamRef`: the Gloo Upstream the generated upstreams are copied from.
    pub upstream_ref: Option<UpstreamRef>,
}

/// The routing spec of `spec`, recording problems with `spec.service` in `p`.
pub(crate) fn routing_spec(
    spec: &CanarySpec,
    target: Option<&Target>,
    p: &mut Problems,
) -> RoutingSpec {
    service_rules(spec, target, p);
    let target_name = target.map_or(spec.target_ref.name.as_str(), |t| t.name.as_str());
    let service = spec.service.clone().unwrap_or_default();
    RoutingSpec {
        target: target_name.to_owned(),
        names: ServiceNames::new(target_name, spec.service.as_ref()),
        service_matches: service.match_.clone().unwrap_or_default(),
        ab_matches: spec.analysis.match_.clone().unwrap_or_default(),
        has_service: spec.service.is_some(),
        service,
        ingress_ref: spec.ingress_ref.as_ref().map(|r| r.name.clone()),
        route_ref: spec.route_ref.as_ref().map(|r| r.name.clone()),
        upstream_ref: spec.upstream_ref.clone(),
    }
}

fn service_rules(spec: &CanarySpec, target: Option<&Target>, p: &mut Problems) {
    let Some(service) = &spec.service else {
        if target.is_some_and(|t| {
            matches!(
                t.kind,
                TargetKindPlan::Deployment | TargetKindPlan::DaemonSet
            )
        }) {
            p.add("spec.service", "is required for a Deployment or DaemonSet target: its port is needed to generate the Services");
        }
        return;
    };
    if service.port == 0 {
        p.add("spec.service.port", "must be between 1 and 65535");
    }
    match &service.target_port {
        Some(IntOrString::Int(port)) if !(1..=65535).contains(port) => {
            p.add(
                "spec.service.targetPort",
                "must be a port number between 1 and 65535 or a port name",
            );
        }
        Some(IntOrString::String(name)) if name.trim().is_empty() => {
            p.add("spec.service.targetPort", "must not be empty");
        }
        _ => {}
    }
    for (field, value) in [
        ("timeout", &service.timeout),
        ("backendTimeout", &service.backend_timeout),
    ] {
        if let Some(v) = value {
            p.duration(&format!("spec.service.{field}"), v);
        }
    }
    if let Some(t) = service
        .retries
        .as_ref()
        .and_then(|r| r.per_try_timeout.as_ref())
    {
        p.duration("spec.service.retries.perTryTimeout", t);
    }
    for (i, m) in service.mirror.iter().flatten().enumerate() {
        match &m.backend_ref {
            None => p.add(
                format!("spec.service.mirror[{i}].backendRef"),
                "is required",
            ),
            Some(b)
                if b.port.is_none()
                    && b.kind.as_deref().is_none_or(|k| k == "Service")
                    && b.group.as_deref().is_none_or(str::is_empty) =>
            {
                p.add(
                    format!("spec.service.mirror[{i}].backendRef.port"),
                    "is required for a Service backend",
                );
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_the_apex_name() {
        let names = ServiceNames::new("podinfo", None);
        assert_eq!(
            (
                names.apex.as_str(),
                names.primary.as_str(),
                names.canary.as_str()
            ),
            ("podinfo", "podinfo-primary", "podinfo-canary")
        );
        let service = CanaryService {
            name: Some("frontend".into()),
            port: 80,
            ..Default::default()
        };
        assert_eq!(
            ServiceNames::new("podinfo", Some(&service)).canary,
            "frontend-canary"
        );
    }
}
