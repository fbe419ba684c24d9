//! Traffic routers: each turns "this much traffic to the canary" into the routing objects of one
//! mesh or ingress, and reads back whether that split is live. Pure: the reconcile loop applies
//! the objects (server-side apply) and passes observed objects back in.
//!
//! Provider differences are answered here, through [`Capabilities`] and the router's own file,
//! never by matching on provider names elsewhere.

mod gateway_api;
mod kubernetes;

pub use gateway_api::{GatewayApi, GatewayApiVersion};
pub use kubernetes::KubernetesServices;

use serin_crds::canary::{CanaryService, HttpMatchRequest, Provider, SessionAffinity};
use serin_crds::validation::Weight;

/// What a router can do, so that the decision core and validation can ask instead of matching on
/// provider names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent capability flags"
)]
pub struct Capabilities {
    /// Splits traffic by weight (progressive releases).
    pub weighted: bool,
    /// Routes matching requests to the canary (A/B testing).
    pub header_match: bool,
    /// Copies requests to the canary.
    pub mirror: bool,
    /// Keeps a user on the canary with a cookie.
    pub session_affinity: bool,
}

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

/// Everything a router needs to know about a Canary.
#[derive(Clone, Debug)]
pub struct RouteContext<'a> {
    /// Name of the Canary (owner of the routing objects).
    pub canary: &'a str,
    /// Namespace of the Canary and its objects.
    pub namespace: &'a str,
    /// UID of the Canary, for owner references.
    pub canary_uid: &'a str,
    /// The generated Services.
    pub names: &'a ServiceNames,
    /// `spec.service`.
    pub service: &'a CanaryService,
    /// `spec.analysis.match`: requests routed to the canary during A/B testing.
    pub ab_matches: &'a [HttpMatchRequest],
    /// `spec.analysis.sessionAffinity`.
    pub session_affinity: Option<&'a SessionAffinity>,
}

/// The traffic split a router must put in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficSplit {
    /// Share of traffic for the canary; the primary gets the rest.
    pub canary: Weight,
    /// Copy this share of requests to the canary (blue/green mirroring).
    pub mirror: Option<Weight>,
    /// During a run with session affinity: the `name=value` cookie that pins users to the canary.
    pub sticky_cookie: Option<String>,
    /// After a run with session affinity: the previous run's cookie, to be expired.
    pub expired_cookie: Option<String>,
}

/// A routing object to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredObject {
    /// `apiVersion` of the object.
    pub api_version: String,
    /// `kind` of the object.
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// The whole object, as applied (server-side) under serin's field manager.
    pub object: serde_json::Value,
}

/// What the observed routing objects say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteState {
    /// The split is programmed and every parent reports it accepted for this generation.
    Live {
        /// Canary share in the object.
        canary: Weight,
        /// Whether requests are mirrored to the canary.
        mirrored: bool,
    },
    /// The object exists but its parents have not accepted this generation yet.
    Pending {
        /// Why, for a person.
        reason: String,
    },
    /// A parent rejected the route, or accepted it only in part.
    Rejected {
        /// Why, for a person.
        reason: String,
    },
    /// The routing object does not exist.
    Missing,
    /// The router has no routing objects: the generated Services are the routing, and weights
    /// are not enforced (blue/green with plain Services).
    ServicesOnly,
}

/// Why a router cannot produce routes for a Canary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// The provider is not implemented by serin.
    #[error("provider {0} is not supported by serin")]
    Unsupported(Provider),
    /// Something in the Canary cannot be expressed with this router.
    #[error("{field}: {message}")]
    Inexpressible {
        /// Field path.
        field: String,
        /// Why.
        message: String,
    },
}

impl RouterError {
    /// A low-cardinality label for metrics and condition reasons.
    pub fn category(&self) -> &'static str {
        match self {
            RouterError::Unsupported(_) => "unsupported_provider",
            RouterError::Inexpressible { .. } => "inexpressible",
        }
    }
}

/// A traffic router.
pub trait Router: Send + Sync {
    /// What it can do.
    fn capabilities(&self) -> Capabilities;
    /// The routing objects that realise `split`. Empty when the generated Services are enough.
    fn desired_routes(
        &self,
        ctx: &RouteContext<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError>;
    /// Reads the observed routing objects (those named by `desired_routes`, as fetched).
    fn observe(&self, ctx: &RouteContext<'_>, observed: &[serde_json::Value]) -> RouteState;
}

/// The routing kinds the controller watches into caches: HTTPRoutes as `gateway.networking.k8s.io/v1`
/// (the version current Gateway API installations serve; routes of other versions are read from
/// the API).
pub fn route_resources() -> Vec<kube::core::ApiResource> {
    vec![api_resource("gateway.networking.k8s.io/v1", "HTTPRoute")]
}

/// The API resource of `kind` served as `api_version` (its plural guessed as the API server
/// would for a CRD: lowercase kind plus `s`, which holds for every routing kind).
pub fn api_resource(api_version: &str, kind: &str) -> kube::core::ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
    kube::core::ApiResource::from_gvk(&gvk)
}

/// The router for a provider. Routers not built yet are reported as unsupported, never replaced
/// by a default.
pub fn router_for(provider: Provider) -> Result<Box<dyn Router>, RouterError> {
    match provider {
        Provider::Kubernetes => Ok(Box::new(KubernetesServices)),
        Provider::GatewayApiV1 => Ok(Box::new(GatewayApi::new(GatewayApiVersion::V1))),
        Provider::GatewayApiV1beta1 => Ok(Box::new(GatewayApi::new(GatewayApiVersion::V1beta1))),
        Provider::Apisix
        | Provider::AppMesh
        | Provider::AppMeshV1beta2
        | Provider::Contour
        | Provider::Gloo
        | Provider::Istio
        | Provider::Knative
        | Provider::Kuma
        | Provider::Linkerd
        | Provider::Nginx
        | Provider::Osm
        | Provider::Skipper
        | Provider::SmiV1alpha1
        | Provider::SmiV1alpha2
        | Provider::SmiV1alpha3
        | Provider::Traefik => Err(RouterError::Unsupported(provider)),
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

    #[test]
    fn unbuilt_routers_are_unsupported_not_defaulted() {
        assert!(router_for(Provider::Kubernetes).is_ok());
        assert!(router_for(Provider::GatewayApiV1).is_ok());
        assert!(matches!(
            router_for(Provider::Istio),
            Err(RouterError::Unsupported(Provider::Istio))
        ));
    }
}
