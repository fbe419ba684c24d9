//! The kinds routers write and read, each with its explicit group, version and plural: the watch
//! caches, the controller's RBAC and its test all follow from these declarations.

use kube::core::{ApiResource, GroupVersionKind};

/// A Kubernetes kind as served by the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Served version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource name in URLs and RBAC rules.
    pub plural: &'static str,
    /// Whether objects live in a namespace (otherwise cluster-scoped).
    pub namespaced: bool,
}

impl RouteKind {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kube-rs resource, with this declaration's plural.
    pub fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.group, self.version, self.kind);
        ApiResource::from_gvk_with_plural(&gvk, self.plural)
    }

    /// `kind.group`, as people name a kind (`HTTPRoute.gateway.networking.k8s.io`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// What a router does with a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// It creates, changes and deletes objects of the kind (and reads them back).
    Write,
    /// It only reads objects of the kind (a user's Ingress it copies, say).
    Read,
}

/// A kind a router uses, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindUse {
    /// The kind.
    pub kind: RouteKind,
    /// How the router uses it.
    pub access: Access,
}

impl KindUse {
    /// A kind the router writes.
    pub const fn write(kind: RouteKind) -> KindUse {
        KindUse {
            kind,
            access: Access::Write,
        }
    }

    /// A kind the router only reads.
    pub const fn read(kind: RouteKind) -> KindUse {
        KindUse {
            kind,
            access: Access::Read,
        }
    }
}

/// Gateway API `HTTPRoute`, `gateway.networking.k8s.io/v1`.
pub const HTTP_ROUTE_V1: RouteKind = RouteKind {
    group: "gateway.networking.k8s.io",
    version: "v1",
    kind: "HTTPRoute",
    plural: "httproutes",
    namespaced: true,
};

/// Gateway API `HTTPRoute`, `gateway.networking.k8s.io/v1beta1`.
pub const HTTP_ROUTE_V1BETA1: RouteKind = RouteKind {
    version: "v1beta1",
    ..HTTP_ROUTE_V1
};

/// Gateway API `GRPCRoute`, `gateway.networking.k8s.io/v1` (Gateway API v1.1 and later),
/// written instead of the HTTPRoute for `spec.service.routeKind: GRPCRoute`.
pub const GRPC_ROUTE_V1: RouteKind = RouteKind {
    kind: "GRPCRoute",
    plural: "grpcroutes",
    ..HTTP_ROUTE_V1
};

/// Istio `VirtualService`, `networking.istio.io/v1beta1` (the version Flagger writes; served by
/// every Istio since 1.8 beside `v1`).
pub const VIRTUAL_SERVICE: RouteKind = RouteKind {
    group: "networking.istio.io",
    version: "v1beta1",
    kind: "VirtualService",
    plural: "virtualservices",
    namespaced: true,
};

/// Istio `DestinationRule`, `networking.istio.io/v1beta1`.
pub const DESTINATION_RULE: RouteKind = RouteKind {
    kind: "DestinationRule",
    plural: "destinationrules",
    ..VIRTUAL_SERVICE
};

/// Kubernetes `Ingress`, `networking.k8s.io/v1`: read as `spec.ingressRef`, and written as the
/// NGINX and Skipper canary Ingress.
pub const INGRESS: RouteKind = RouteKind {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
};

/// Contour `HTTPProxy`, `projectcontour.io/v1`.
pub const HTTP_PROXY: RouteKind = RouteKind {
    group: "projectcontour.io",
    version: "v1",
    kind: "HTTPProxy",
    plural: "httpproxies",
    namespaced: true,
};

/// Traefik `TraefikService`, `traefik.io/v1alpha1`.
pub const TRAEFIK_SERVICE: RouteKind = RouteKind {
    group: "traefik.io",
    version: "v1alpha1",
    kind: "TraefikService",
    plural: "traefikservices",
    namespaced: true,
};

/// Apache APISIX `ApisixRoute`, `apisix.apache.org/v2`: read as `spec.routeRef`, and written as
/// its canary copy.
pub const APISIX_ROUTE: RouteKind = RouteKind {
    group: "apisix.apache.org",
    version: "v2",
    kind: "ApisixRoute",
    plural: "apisixroutes",
    namespaced: true,
};

/// Gloo Edge `RouteTable`, `gateway.solo.io/v1`.
pub const ROUTE_TABLE: RouteKind = RouteKind {
    group: "gateway.solo.io",
    version: "v1",
    kind: "RouteTable",
    plural: "routetables",
    namespaced: true,
};

/// Gloo `Upstream`, `gloo.solo.io/v1`: read as `spec.upstreamRef`, and written as the primary
/// and canary upstreams.
pub const UPSTREAM: RouteKind = RouteKind {
    group: "gloo.solo.io",
    version: "v1",
    kind: "Upstream",
    plural: "upstreams",
    namespaced: true,
};

/// SMI `TrafficSplit`, `split.smi-spec.io/v1alpha1`: written for `linkerd` and `smi:v1alpha1`
/// (the version linkerd-smi stores).
pub const TRAFFIC_SPLIT_V1ALPHA1: RouteKind = RouteKind {
    group: "split.smi-spec.io",
    version: "v1alpha1",
    kind: "TrafficSplit",
    plural: "trafficsplits",
    namespaced: true,
};

/// SMI `TrafficSplit`, `split.smi-spec.io/v1alpha2`: written for `osm` and `smi:v1alpha2`.
pub const TRAFFIC_SPLIT_V1ALPHA2: RouteKind = RouteKind {
    version: "v1alpha2",
    ..TRAFFIC_SPLIT_V1ALPHA1
};

/// SMI `TrafficSplit`, `split.smi-spec.io/v1alpha3`: written for `smi:v1alpha3` (no mesh
/// serves it today; see docs/routers.md).
pub const TRAFFIC_SPLIT_V1ALPHA3: RouteKind = RouteKind {
    version: "v1alpha3",
    ..TRAFFIC_SPLIT_V1ALPHA1
};

/// Kuma `TrafficRoute`, `kuma.io/v1alpha1`, **cluster-scoped**: written for `kuma` on clusters
/// that serve it (Kuma before 3.0), as Flagger writes it.
pub const TRAFFIC_ROUTE: RouteKind = RouteKind {
    group: "kuma.io",
    version: "v1alpha1",
    kind: "TrafficRoute",
    plural: "trafficroutes",
    namespaced: false,
};

/// Kuma `MeshHTTPRoute`, `kuma.io/v1alpha1`: written for `kuma` on clusters that serve it and
/// not `TrafficRoute` (Kuma 3.0 and later).
pub const MESH_HTTP_ROUTE: RouteKind = RouteKind {
    kind: "MeshHTTPRoute",
    plural: "meshhttproutes",
    namespaced: true,
    ..TRAFFIC_ROUTE
};

/// Knative `Service`, `serving.knative.dev/v1`: the target of a Knative Canary, whose
/// `spec.traffic` the knative router writes.
pub const KNATIVE_SERVICE: RouteKind = RouteKind {
    group: "serving.knative.dev",
    version: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resources_use_the_declared_plural() {
        let resource = DESTINATION_RULE.api_resource();
        assert_eq!(resource.plural, "destinationrules");
        assert_eq!(resource.api_version, "networking.istio.io/v1beta1");
        assert_eq!(
            HTTP_ROUTE_V1BETA1.api_version(),
            "gateway.networking.k8s.io/v1beta1"
        );
        assert_eq!(
            VIRTUAL_SERVICE.qualified(),
            "VirtualService.networking.istio.io"
        );
    }
}
