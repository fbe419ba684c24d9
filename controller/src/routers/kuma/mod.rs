//! The Kuma router (`kuma`): weights between `<apex>-primary` and `<apex>-canary` in one Kuma
//! policy named after the apex Service, in the mesh of the Canary's `kuma.io/mesh` annotation
//! (`default` without it). Which policy is chosen from discovery when the controller starts:
//!
//! - a `TrafficRoute` (Kuma before 3.0), as Flagger writes it: cluster-scoped, the mesh at the
//!   top level, every source, the apex's `kuma.io/service` tag as destination, and a split
//!   between the primary's and the canary's tags (`<service>_<namespace>_svc_<port>`);
//! - a `MeshHTTPRoute` (Kuma 3.0, which removes `TrafficRoute`), in the Canary's namespace and
//!   labelled with the mesh: one rule for the apex `MeshService` with weighted `backendRefs`.
//!
//! A cluster-scoped object cannot be owned by a namespaced Canary, so the `TrafficRoute` carries
//! no owner reference (the API server's garbage collector would never honour one); it is
//! labelled with the Canary's namespace and name instead. It is read before building, and one
//! labelled for another Canary (same apex name, another namespace) is refused, not taken over.
//!
//! Neither policy has a status in Kuma's CRDs, so the split read back from the spec is taken
//! as live, unconfirmed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::{
    DesiredObject, KindUse, MESH_HTTP_ROUTE, ObjectKey, RouteInput, RouteKind, RouteObservation,
    Router, RouterError, TRAFFIC_ROUTE, TrafficSplit, canary_share,
};

/// The Canary annotation naming its Kuma mesh (Flagger's).
const MESH_ANNOTATION: &str = "kuma.io/mesh";

/// The mesh of a Canary without [`MESH_ANNOTATION`].
const DEFAULT_MESH: &str = "default";

/// Label on a `TrafficRoute` naming the namespace of the Canary it belongs to.
const CANARY_NAMESPACE_LABEL: &str = "serin.dev/canary-namespace";

/// Label on a `TrafficRoute` naming the Canary it belongs to.
const CANARY_NAME_LABEL: &str = "serin.dev/canary-name";

/// Longest mesh name (a Kuma `Mesh` is a cluster-scoped object: a DNS-1123 subdomain).
const MAX_MESH_LEN: usize = 253;

/// The Kuma policy the router writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KumaApi {
    /// `TrafficRoute`, cluster-scoped (Kuma before 3.0; Flagger's).
    #[default]
    TrafficRoute,
    /// `MeshHTTPRoute`, namespaced (Kuma 3.0 and later).
    MeshHttpRoute,
}

/// The policy to write on the cluster behind `client`: `MeshHTTPRoute` when `kuma.io/v1alpha1`
/// serves it and not `TrafficRoute`; `TrafficRoute` otherwise, and when discovery fails.
pub async fn served(client: &kube::Client) -> KumaApi {
    match client
        .list_api_group_resources(&TRAFFIC_ROUTE.api_version())
        .await
    {
        Ok(list) => {
            let served = |plural: &str| list.resources.iter().any(|r| r.name == plural);
            if served(MESH_HTTP_ROUTE.plural) && !served(TRAFFIC_ROUTE.plural) {
                KumaApi::MeshHttpRoute
            } else {
                KumaApi::TrafficRoute
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "Kuma policies not discovered; kuma writes TrafficRoutes");
            KumaApi::TrafficRoute
        }
    }
}

/// The Kuma router, for one policy kind.
#[derive(Clone, Copy, Debug)]
pub struct Kuma {
    api: KumaApi,
}

/// Both kinds are declared whichever is written, so that RBAC and watches do not depend on
/// what discovery found.
const KINDS: &[KindUse] = &[
    KindUse::write(TRAFFIC_ROUTE),
    KindUse::write(MESH_HTTP_ROUTE),
];

impl Kuma {
    /// The router writing `api`.
    pub fn new(api: KumaApi) -> Kuma {
        Kuma { api }
    }

    fn kind(self) -> RouteKind {
        match self.api {
            KumaApi::TrafficRoute => TRAFFIC_ROUTE,
            KumaApi::MeshHttpRoute => MESH_HTTP_ROUTE,
        }
    }
}

impl Router for Kuma {
    fn name(&self) -> &'static str {
        "kuma"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    fn references(&self, _namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        match self.api {
            // Read first: the name is cluster-wide, and may be another Canary's.
            KumaApi::TrafficRoute => vec![ObjectKey {
                kind: TRAFFIC_ROUTE,
                namespace: String::new(),
                name: routing.names.apex.clone(),
            }],
            KumaApi::MeshHttpRoute => Vec::new(),
        }
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let mesh = mesh(input)?;
        let canary = split.routes.canary;
        let object = match self.api {
            KumaApi::TrafficRoute => {
                not_anothers(input)?;
                traffic_route(input, mesh, canary)
            }
            KumaApi::MeshHttpRoute => mesh_http_route(input, mesh, canary),
        };
        Ok(vec![DesiredObject {
            kind: self.kind(),
            name: input.routing.names.apex.clone(),
            object,
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let kind = self.kind();
        let names = &input.routing.names;
        let Some(policy) = observed
            .iter()
            .find(|o| o["kind"] == kind.kind && o["metadata"]["name"] == names.apex.as_str())
        else {
            return RouteObservation::Missing;
        };
        let weights = match self.api {
            KumaApi::TrafficRoute => traffic_route_weights(input, policy),
            KumaApi::MeshHttpRoute => mesh_http_route_weights(input, policy),
        };
        match weights.and_then(|(primary, canary)| canary_share(primary, canary)) {
            Some(canary) => RouteObservation::Live {
                routes: Routes::split(canary),
                confirmed: false,
            },
            None => RouteObservation::Rejected {
                reason: format!(
                    "the {} {} does not split traffic between {} and {} only",
                    kind.kind, names.apex, names.primary, names.canary
                ),
            },
        }
    }
}

/// The Canary's mesh: its `kuma.io/mesh` annotation, checked to be a name Kuma can have.
fn mesh<'a>(input: &RouteInput<'a>) -> Result<&'a str, RouterError> {
    let Some(mesh) = input.annotations.get(MESH_ANNOTATION) else {
        return Ok(DEFAULT_MESH);
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if mesh.len() <= MAX_MESH_LEN && mesh.split('.').all(label_ok) {
        Ok(mesh)
    } else {
        Err(RouterError::Inexpressible {
            field: format!("metadata.annotations[{MESH_ANNOTATION}]"),
            message: "is not a Kuma mesh name (lowercase letters, digits, '-' and '.', at most \
                      253 characters)"
                .to_owned(),
        })
    }
}

/// Refuses a `TrafficRoute` of the apex's name that is labelled for another Canary.
fn not_anothers(input: &RouteInput<'_>) -> Result<(), RouterError> {
    let key = ObjectKey {
        kind: TRAFFIC_ROUTE,
        namespace: String::new(),
        name: input.routing.names.apex.clone(),
    };
    let Some(existing) = input.referenced(&key) else {
        return Ok(());
    };
    let labels = &existing["metadata"]["labels"];
    let owner = (
        labels[CANARY_NAMESPACE_LABEL].as_str(),
        labels[CANARY_NAME_LABEL].as_str(),
    );
    match owner {
        (Some(ns), Some(name)) if (ns, name) != (input.namespace, input.canary) => {
            Err(RouterError::Inexpressible {
                field: "spec.service.name".to_owned(),
                message: format!(
                    "the cluster-scoped TrafficRoute {} belongs to Canary {ns}/{name}; give this \
                     Canary's apex Service another name",
                    key.name
                ),
            })
        }
        _ => Ok(()),
    }
}

/// `<service>_<namespace>_svc_<port>`: the `kuma.io/service` tag Kuma gives a Service's port.
fn service_tag(service: &str, namespace: &str, port: u16) -> String {
    format!("{service}_{namespace}_svc_{port}")
}

fn traffic_route(input: &RouteInput<'_>, mesh: &str, canary: Weight) -> Value {
    let names = &input.routing.names;
    let port = input.routing.service.port;
    let tag =
        |service: &str| json!({"kuma.io/service": service_tag(service, input.namespace, port)});
    // As Flagger: the apex's annotations, or the port's protocol when there are none.
    let annotations: BTreeMap<String, String> = input
        .routing
        .service
        .apex
        .as_ref()
        .and_then(|apex| apex.annotations.clone())
        .map_or_else(
            || BTreeMap::from([(format!("{port}.service.kuma.io"), "http".into())]),
            |a| a.into_iter().collect(),
        );
    json!({
        "apiVersion": TRAFFIC_ROUTE.api_version(),
        "kind": TRAFFIC_ROUTE.kind,
        "mesh": mesh,
        "metadata": {
            "name": names.apex,
            "labels": {
                CANARY_NAMESPACE_LABEL: input.namespace,
                CANARY_NAME_LABEL: input.canary,
            },
            "annotations": annotations,
        },
        "spec": {
            "sources": [{"match": {"kuma.io/service": "*"}}],
            "destinations": [{"match": tag(&names.apex)}],
            "conf": {"split": [
                {"weight": canary.complement().get(), "destination": tag(&names.primary)},
                {"weight": canary.get(), "destination": tag(&names.canary)},
            ]},
        },
    })
}

fn mesh_http_route(input: &RouteInput<'_>, mesh: &str, canary: Weight) -> Value {
    let names = &input.routing.names;
    let port = input.routing.service.port;
    let backend = |service: &str, weight: Weight| {
        json!({
            "kind": "MeshService",
            "name": service,
            "namespace": input.namespace,
            "port": port,
            "weight": weight.get(),
        })
    };
    json!({
        "apiVersion": MESH_HTTP_ROUTE.api_version(),
        "kind": MESH_HTTP_ROUTE.kind,
        "metadata": {
            "name": names.apex,
            "namespace": input.namespace,
            "labels": {"kuma.io/mesh": mesh},
            "ownerReferences": [input.owner()],
        },
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "to": [{
                "targetRef": {"kind": "MeshService", "name": names.apex, "namespace": input.namespace},
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "default": {"backendRefs": [
                        backend(&names.primary, canary.complement()),
                        backend(&names.canary, canary),
                    ]},
                }],
            }],
        },
    })
}

/// Adds `weight` to the primary's or the canary's share; `false` for any other backend.
fn add(weights: &mut (u64, u64), input: &RouteInput<'_>, backend: &str, weight: u64) -> bool {
    let names = &input.routing.names;
    let port = input.routing.service.port;
    let is = |service: &str| backend == service_tag(service, input.namespace, port);
    if is(&names.primary) {
        weights.0 = weights.0.saturating_add(weight);
    } else if is(&names.canary) {
        weights.1 = weights.1.saturating_add(weight);
    } else {
        return false;
    }
    true
}

/// `(primary, canary)` weights of a `TrafficRoute`'s split; `None` when it sends traffic
/// elsewhere or a weight is not a whole number.
fn traffic_route_weights(input: &RouteInput<'_>, route: &Value) -> Option<(u64, u64)> {
    let mut weights = (0, 0);
    for entry in route["spec"]["conf"]["split"].as_array()? {
        let service = entry["destination"]["kuma.io/service"].as_str()?;
        if !add(&mut weights, input, service, entry["weight"].as_u64()?) {
            return None;
        }
    }
    Some(weights)
}

/// `(primary, canary)` weights of a `MeshHTTPRoute`'s rules for the apex; `None` when a rule
/// sends traffic elsewhere or a weight is not a whole number. A backend
/// without a weight has Kuma's default, 1.
fn mesh_http_route_weights(input: &RouteInput<'_>, route: &Value) -> Option<(u64, u64)> {
    let port = input.routing.service.port;
    let mut weights = (0, 0);
    let to = route["spec"]["to"].as_array()?;
    let apex = to
        .iter()
        .find(|t| t["targetRef"]["name"] == input.routing.names.apex.as_str())?;
    for rule in apex["rules"].as_array()? {
        for backend in rule["default"]["backendRefs"].as_array()? {
            let weight = match &backend["weight"] {
                Value::Null => 1,
                w => w.as_u64()?,
            };
            let name = backend["name"].as_str()?;
            let namespace = backend["namespace"].as_str().unwrap_or(input.namespace);
            let backend_port = backend["port"].as_u64().unwrap_or(u64::from(port));
            if backend["kind"] != "MeshService" || backend_port != u64::from(port) {
                return None;
            }
            if !add(
                &mut weights,
                input,
                &service_tag(name, namespace, port),
                weight,
            ) {
                return None;
            }
        }
    }
    Some(weights)
}

#[cfg(test)]
mod tests;
