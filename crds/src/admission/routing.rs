//! Admission rules generated from the router capability table ([`crate::routing`]): what a
//! Canary may ask of the router its `spec.provider` names (weights, A/B matches, mirroring,
//! session affinity, the references the router needs). A Canary without `spec.provider` uses the
//! controller's `--mesh-provider`, which the API server cannot see: only the controller checks it.

use crate::canary::Provider;
use crate::routing::{Mirroring, RequiredRef, capabilities};

use super::Generated;

/// `['a', 'b']`, for CEL.
fn list(providers: &[Provider]) -> String {
    let quoted: Vec<String> = providers
        .iter()
        .map(|p| format!("'{}'", p.as_str()))
        .collect();
    format!("[{}]", quoted.join(", "))
}

fn providers_where(test: impl Fn(Provider) -> bool) -> Vec<Provider> {
    Provider::ALL.into_iter().filter(|p| test(*p)).collect()
}

/// `spec.provider` is one of `providers`.
fn provider_in(providers: &[Provider]) -> String {
    format!("has(self.provider) && self.provider in {}", list(providers))
}

fn rule(
    field_path: &'static str,
    providers: &[Provider],
    allowed: &str,
    message: &str,
) -> Option<Generated> {
    if providers.is_empty() {
        return None;
    }
    Some(Generated {
        at: "spec",
        field_path,
        rule: format!("!({}) || ({allowed})", provider_in(providers)),
        message: format!("this provider {message}"),
        message_expression: format!("'provider ' + self.provider + ' {message}'"),
    })
}

/// Every generated rule, in a stable order.
pub(super) fn rules() -> Vec<Generated> {
    let unweighted = providers_where(|p| !capabilities(p).weighted);
    let no_ab = providers_where(|p| !capabilities(p).ab_matches.any());
    let no_mirror = providers_where(|p| capabilities(p).mirroring == Mirroring::None);
    let mirror_all = providers_where(|p| capabilities(p).mirroring == Mirroring::AllRequests);
    let no_cookies = providers_where(|p| !capabilities(p).session_affinity);
    let weights = "use iterations for a blue/green release, or a router that splits traffic (istio, gatewayapi, linkerd, ...)";
    let mut rules = vec![
        rule(
            ".analysis.stepWeight",
            &unweighted,
            "!has(self.analysis.stepWeight)",
            &format!("cannot shift traffic by weight: {weights}"),
        ),
        rule(
            ".analysis.stepWeights",
            &unweighted,
            "!has(self.analysis.stepWeights)",
            &format!("cannot shift traffic by weight: {weights}"),
        ),
        rule(
            ".analysis.match",
            &no_ab,
            "!has(self.analysis.match) || self.analysis.match.size() == 0",
            "cannot route requests by header or cookie (A/B testing); istio, gatewayapi, nginx, contour and gloo can",
        ),
        rule(
            ".analysis.mirror",
            &no_mirror,
            "!has(self.analysis.mirror) || !self.analysis.mirror",
            "cannot mirror traffic (istio and gatewayapi can)",
        ),
        rule(
            ".analysis.mirrorWeight",
            &mirror_all,
            "!has(self.analysis.mirror) || !self.analysis.mirror || !has(self.analysis.mirrorWeight) || self.analysis.mirrorWeight == 100.0",
            "mirrors every request; remove mirrorWeight",
        ),
        rule(
            ".analysis.sessionAffinity",
            &no_cookies,
            "!has(self.analysis.sessionAffinity)",
            "cannot pin users with a cookie (istio and gatewayapi can)",
        ),
    ];
    for required in [
        RequiredRef::IngressRef,
        RequiredRef::RouteRef,
        RequiredRef::GatewayRefs,
        RequiredRef::KnativeTarget,
    ] {
        let needing = providers_where(|p| capabilities(p).required.contains(&required));
        let (field, what) = required.field_and_reason();
        let (field_path, present, message) = match required {
            RequiredRef::IngressRef => (".ingressRef", "has(self.ingressRef)".to_owned(), format!("requires spec.ingressRef: {what}")),
            RequiredRef::RouteRef => (".routeRef", "has(self.routeRef)".to_owned(), format!("requires spec.routeRef: {what}")),
            RequiredRef::GatewayRefs => (".service.gatewayRefs", "has(self.service) && has(self.service.gatewayRefs) && self.service.gatewayRefs.size() > 0".to_owned(), format!("requires spec.service.gatewayRefs: {what}")),
            RequiredRef::KnativeTarget => (".targetRef", "self.targetRef.kind == 'Service' && self.targetRef.apiVersion.startsWith('serving.knative.dev/')".to_owned(), format!("needs {what}")),
        };
        debug_assert!(field.ends_with(field_path.trim_start_matches('.')));
        rules.push(rule(field_path, &needing, &present, &message));
    }
    rules.into_iter().flatten().collect()
}
