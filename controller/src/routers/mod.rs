//! Traffic routers: each turns a traffic split into the routing objects of one mesh or ingress,
//! and reads back whether that split is live. Pure: the reconcile loop fetches what a router
//! needs ([`Router::references`], then the objects it writes), applies what it builds
//! (server-side apply), and passes observed objects back in.
//!
//! A new router is one file (or folder) here and one line in [`router_for`]. What a router can
//! express is one table in the API crate ([`serin_crds::routing`]), read by validation; the
//! router contract test checks that each router does what the table says. Nothing outside this
//! module asks which router it is.

mod apisix;
mod contour;
mod cookies;
mod gateway_api;
mod gloo;
mod ingress_copy;
mod istio;
mod kinds;
mod knative;
mod kubernetes;
mod kuma;
mod nginx;
mod skipper;
mod smi;
mod traefik;

pub use apisix::Apisix;
pub use contour::Contour;
pub use gateway_api::{GatewayApi, GatewayApiVersion, newest_served as newest_gateway_api};
pub use gloo::Gloo;
pub use istio::Istio;
pub use kinds::{
    APISIX_ROUTE, Access, DESTINATION_RULE, GRPC_ROUTE_V1, HTTP_PROXY, HTTP_ROUTE_V1,
    HTTP_ROUTE_V1BETA1, INGRESS, KNATIVE_SERVICE, KindUse, MESH_HTTP_ROUTE, ROUTE_TABLE, RouteKind,
    TRAEFIK_SERVICE, TRAFFIC_ROUTE, TRAFFIC_SPLIT_V1ALPHA1, TRAFFIC_SPLIT_V1ALPHA2,
    TRAFFIC_SPLIT_V1ALPHA3, UPSTREAM, VIRTUAL_SERVICE,
};
pub use knative::Knative;
pub use kubernetes::KubernetesServices;
pub use kuma::{Kuma, KumaApi, served as served_kuma_api};
pub use nginx::Nginx;
pub use skipper::Skipper;
pub use smi::{Smi, SmiVersion};
pub use traefik::Traefik;

use std::collections::BTreeMap;

use serde_json::Value;
use serin_crds::canary::{Provider, SessionAffinity};
use serin_crds::validation::RoutingSpec;
pub use serin_decide::{RouteObservation, TrafficSplit};

/// One object of a kind, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Its kind.
    pub kind: RouteKind,
    /// Its namespace (empty for a cluster-scoped kind).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// The user objects a router reads before building (`spec.ingressRef`, a VirtualService it
/// takes over, ...), as fetched: `None` when one does not exist.
pub type Referenced = BTreeMap<ObjectKey, Option<Value>>;

/// Everything a router needs to know about a Canary.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    /// Name of the Canary (owner of the routing objects).
    pub canary: &'a str,
    /// Namespace of the Canary and its objects.
    pub namespace: &'a str,
    /// UID of the Canary, for owner references.
    pub canary_uid: &'a str,
    /// How the routes expose the target: Service names, `spec.service`, matches, references.
    pub routing: &'a RoutingSpec,
    /// `spec.analysis.sessionAffinity`.
    pub session_affinity: Option<&'a SessionAffinity>,
    /// The Canary's `metadata.annotations`, as written by its author (untrusted: a router
    /// validates what it reads, such as Kuma's `kuma.io/mesh`).
    pub annotations: &'a BTreeMap<String, String>,
    /// The objects [`Router::references`] named, as fetched.
    pub referenced: &'a Referenced,
}

impl RouteInput<'_> {
    /// The referenced object `key`, when it exists.
    pub fn referenced(&self, key: &ObjectKey) -> Option<&Value> {
        self.referenced.get(key).and_then(Option::as_ref)
    }

    /// The owner reference that makes an object belong to the Canary.
    pub fn owner(&self) -> Value {
        serde_json::json!({
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "name": self.canary,
            "uid": self.canary_uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }
}

/// The annotations of a Canary that has none, for [`RouteInput::annotations`].
pub static NO_ANNOTATIONS: BTreeMap<String, String> = BTreeMap::new();

#[cfg(test)]
impl<'a> RouteInput<'a> {
    /// The input of the routers' unit tests: Canary `podinfo` (uid `uid-1`) in `test`, without
    /// session affinity or annotations.
    pub(crate) fn for_test(routing: &'a RoutingSpec, referenced: &'a Referenced) -> Self {
        RouteInput {
            canary: "podinfo",
            namespace: "test",
            canary_uid: "uid-1",
            routing,
            session_affinity: None,
            annotations: &NO_ANNOTATIONS,
            referenced,
        }
    }
}

/// A routing object to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredObject {
    /// Its kind.
    pub kind: RouteKind,
    /// Its name (in the Canary's namespace, unless the kind is cluster-scoped).
    pub name: String,
    /// The whole object, as applied (server-side) under serin's field manager.
    pub object: Value,
}

/// Settings of the routers that come from the controller's flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterOptions {
    /// Prefix of the NGINX canary annotations (`--ingress-annotations-prefix`).
    pub ingress_annotations_prefix: Option<String>,
    /// Ingress class set on the objects of ingress routers (`--ingress-class`).
    pub ingress_class: Option<String>,
    /// The HTTPRoute version a bare `gatewayapi` provider writes: the newest the cluster
    /// serves, asked of discovery when the controller starts (`v1` until then, and offline).
    pub gateway_api: GatewayApiVersion,
    /// The Kuma policy `kuma` writes: `MeshHTTPRoute` when discovery finds the cluster serving
    /// it and not `TrafficRoute` (Kuma 3.0), `TrafficRoute` otherwise (and offline).
    pub kuma: KumaApi,
}

/// Why a router cannot produce routes for a Canary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// The provider is not implemented by serin.
    #[error("provider {0} is not supported by serin yet")]
    Unsupported(Provider),
    /// Something in the Canary cannot be expressed with this router.
    #[error("{field}: {message}")]
    Inexpressible {
        /// Field path.
        field: String,
        /// Why.
        message: String,
    },
    /// An object the spec refers to does not exist.
    #[error("{kind} {name} (from {field}) does not exist")]
    ReferenceMissing {
        /// `Kind.group` of the object.
        kind: String,
        /// Its name.
        name: String,
        /// The spec field that names it.
        field: &'static str,
    },
}

impl RouterError {
    /// A low-cardinality label for metrics and condition reasons.
    pub fn category(&self) -> &'static str {
        match self {
            RouterError::Unsupported(_) => "unsupported_provider",
            RouterError::Inexpressible { .. } => "inexpressible",
            RouterError::ReferenceMissing { .. } => "reference_missing",
        }
    }
}

/// A traffic router.
pub trait Router: Send + Sync {
    /// The provider it serves, as in metric labels and messages.
    fn name(&self) -> &'static str;

    /// The kinds it writes and reads.
    fn kinds(&self) -> &'static [KindUse];

    /// The user objects it must read before building; fetched by the observe step and passed in
    /// [`RouteInput::referenced`].
    fn references(&self, _namespace: &str, _routing: &RoutingSpec) -> Vec<ObjectKey> {
        Vec::new()
    }

    /// The routing objects that realise `split`. Empty when the generated Services are enough.
    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError>;

    /// What the observed routing objects (those [`Router::desired_routes`] names, as fetched)
    /// say of the split and whether it is live.
    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation;

    /// What to apply on `revertOnDeletion` to give back objects the router took over (a user's
    /// VirtualService, say). Objects serin created belong to the Canary and go with it.
    fn finalize(&self, _input: &RouteInput<'_>, _observed: &[Value]) -> Vec<DesiredObject> {
        Vec::new()
    }
}

/// The router for a provider. Routers not built yet are reported as unsupported, never replaced
/// by a default.
pub fn router_for(
    provider: Provider,
    options: &RouterOptions,
) -> Result<Box<dyn Router>, RouterError> {
    match provider {
        Provider::Kubernetes => Ok(Box::new(KubernetesServices)),
        Provider::GatewayApi => Ok(Box::new(GatewayApi::newest(options.gateway_api))),
        Provider::GatewayApiV1 => Ok(Box::new(GatewayApi::new(GatewayApiVersion::V1))),
        Provider::GatewayApiV1beta1 => Ok(Box::new(GatewayApi::new(GatewayApiVersion::V1beta1))),
        Provider::Istio => Ok(Box::new(Istio)),
        Provider::Contour => Ok(Box::new(Contour::new(options.ingress_class.as_deref()))),
        Provider::Traefik => Ok(Box::new(Traefik)),
        Provider::Apisix => Ok(Box::new(Apisix)),
        Provider::Gloo => Ok(Box::new(Gloo)),
        Provider::Skipper => Ok(Box::new(Skipper)),
        Provider::Nginx => Ok(Box::new(Nginx::new(
            options.ingress_annotations_prefix.as_deref(),
        ))),
        Provider::Linkerd | Provider::SmiV1alpha1 => {
            Ok(Box::new(Smi::new(provider.as_str(), SmiVersion::V1alpha1)))
        }
        Provider::Osm | Provider::SmiV1alpha2 => {
            Ok(Box::new(Smi::new(provider.as_str(), SmiVersion::V1alpha2)))
        }
        Provider::SmiV1alpha3 => Ok(Box::new(Smi::new(provider.as_str(), SmiVersion::V1alpha3))),
        Provider::Kuma => Ok(Box::new(Kuma::new(options.kuma))),
        Provider::Knative => Ok(Box::new(Knative)),
        Provider::AppMesh | Provider::AppMeshV1beta2 => Err(RouterError::Unsupported(provider)),
    }
}

/// Flux's annotations that keep it from reverting or pruning an object it did not write (a copy
/// of a user's object carries the user's Flux labels), as Flagger sets them on its copies.
pub(crate) fn flux_opt_out(annotations: &mut BTreeMap<String, String>) {
    for key in [
        "kustomize.toolkit.fluxcd.io/reconcile",
        "helm.toolkit.fluxcd.io/driftDetection",
    ] {
        annotations.insert(key.to_owned(), "disabled".to_owned());
    }
}

/// The canary's share, in percent rounded to the nearest, of weights `primary` and `canary`
/// (relative, as Envoy reads them); `None` when both are 0.
pub(crate) fn canary_share(primary: u64, canary: u64) -> Option<serin_crds::validation::Weight> {
    let total = primary.checked_add(canary).filter(|t| *t > 0)?;
    let share = (canary.checked_mul(200)? + total) / (2 * total);
    serin_crds::validation::Weight::new(u32::try_from(share).ok()?)
}

/// Every kind some router uses, each once with the widest access any router needs: what the
/// controller watches into caches and what its RBAC must allow.
pub fn all_kinds() -> Vec<KindUse> {
    let mut kinds: BTreeMap<RouteKind, Access> = BTreeMap::new();
    for provider in Provider::ALL {
        let Ok(router) = router_for(provider, &RouterOptions::default()) else {
            continue;
        };
        for used in router.kinds() {
            let access = kinds.entry(used.kind).or_insert(used.access);
            if used.access == Access::Write {
                *access = Access::Write;
            }
        }
    }
    kinds
        .into_iter()
        .map(|(kind, access)| KindUse { kind, access })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbuilt_routers_are_unsupported_not_defaulted() {
        let options = RouterOptions::default();
        assert!(router_for(Provider::Kubernetes, &options).is_ok());
        assert!(router_for(Provider::GatewayApiV1, &options).is_ok());
        assert!(matches!(
            router_for(Provider::AppMesh, &options),
            Err(RouterError::Unsupported(Provider::AppMesh))
        ));
    }

    #[test]
    fn every_kind_is_listed_once_with_the_widest_access() {
        let kinds = all_kinds();
        let mut seen = std::collections::BTreeSet::new();
        for k in &kinds {
            assert!(seen.insert(k.kind), "{:?} twice", k.kind);
        }
        assert!(kinds.contains(&KindUse::write(HTTP_ROUTE_V1)));
    }
}
