//! References from a Canary to the objects it manages or reads, and the traffic router choice.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to an object in the Canary's namespace, with a kind from a fixed set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference<K> {
    /// API version of the referenced object, for example `apps/v1`.
    pub api_version: String,
    /// Kind of the referenced object.
    pub kind: K,
    /// Name of the referenced object.
    pub name: String,
}

/// Kinds a Canary can release.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum TargetKind {
    /// An `apps/v1` Deployment.
    #[default]
    Deployment,
    /// An `apps/v1` DaemonSet.
    DaemonSet,
    /// A core `v1` Service (traffic is shifted between two Services) or a Knative Service.
    Service,
}

/// The only kind an `ingressRef` may name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum IngressKind {
    /// A `networking.k8s.io/v1` Ingress.
    #[default]
    Ingress,
}

/// The only kind a `routeRef` may name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum ApisixRouteKind {
    /// An `apisix.apache.org/v2` ApisixRoute.
    #[default]
    ApisixRoute,
}

/// The only kind an `upstreamRef` may name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum UpstreamKind {
    /// A Gloo `gloo.solo.io/v1` Upstream.
    #[default]
    Upstream,
}

/// Kinds of autoscaler a Canary can copy for its primary.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum AutoscalerKind {
    /// An `autoscaling/v2` HorizontalPodAutoscaler.
    #[default]
    HorizontalPodAutoscaler,
    /// A KEDA `keda.sh/v1alpha1` ScaledObject.
    ScaledObject,
}

/// A reference to a Gloo Upstream, possibly in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamRef {
    /// API version of the Upstream, `gloo.solo.io/v1`.
    pub api_version: String,
    /// Kind of the referenced object, `Upstream`.
    pub kind: UpstreamKind,
    /// Name of the Upstream.
    pub name: String,
    /// Namespace of the Upstream; defaults to the Canary's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The autoscaler of the target, copied for the primary workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerRef {
    /// API version of the autoscaler: `autoscaling/v2` for a HorizontalPodAutoscaler,
    /// `keda.sh/v1alpha1` for a ScaledObject.
    pub api_version: String,
    /// Kind of the autoscaler.
    pub kind: AutoscalerKind,
    /// Name of the autoscaler.
    pub name: String,
    /// Replacement queries for the primary's ScaledObject triggers, keyed by trigger name (KEDA
    /// only). Without them, the target's queries are copied with the target name replaced by the
    /// primary's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub primary_scaler_queries: Option<BTreeMap<String, String>>,
    /// Replica bounds for the primary's autoscaler, overriding those copied from the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_scaler_replicas: Option<PrimaryScalerReplicas>,
}

/// Replica bounds for the primary's autoscaler.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryScalerReplicas {
    /// Fewest replicas of the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_replicas: Option<i32>,
    /// Most replicas of the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
}

/// Traffic routers. Each name selects how traffic is split between primary and canary.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum Provider {
    /// Apache APISIX ingress (ApisixRoute weights).
    #[serde(rename = "apisix")]
    Apisix,
    /// AWS App Mesh v1beta1 (retired; not supported by serin).
    #[serde(rename = "appmesh")]
    AppMesh,
    /// AWS App Mesh v1beta2 (retired; not supported by serin).
    #[serde(rename = "appmesh:v1beta2")]
    AppMeshV1beta2,
    /// Contour (HTTPProxy weights).
    #[serde(rename = "contour")]
    Contour,
    /// Gateway API HTTPRoute weights, in the newest version the cluster serves (serin
    /// addition: in Flagger a bare `gatewayapi` falls back to Istio).
    #[serde(rename = "gatewayapi")]
    GatewayApi,
    /// Gateway API `gateway.networking.k8s.io/v1` HTTPRoute weights.
    #[serde(rename = "gatewayapi:v1")]
    GatewayApiV1,
    /// Gateway API `gateway.networking.k8s.io/v1beta1` HTTPRoute weights.
    #[serde(rename = "gatewayapi:v1beta1")]
    GatewayApiV1beta1,
    /// Gloo Edge (RouteTable weights).
    #[serde(rename = "gloo")]
    Gloo,
    /// Istio (VirtualService weights and DestinationRules).
    #[serde(rename = "istio")]
    Istio,
    /// Knative Serving (traffic split between Knative revisions).
    #[serde(rename = "knative")]
    Knative,
    /// Plain Kubernetes Services: blue/green only, no weighted traffic.
    #[serde(rename = "kubernetes")]
    Kubernetes,
    /// Kuma (TrafficRoute weights; a `MeshHTTPRoute` on Kuma 3).
    #[serde(rename = "kuma")]
    Kuma,
    /// Linkerd (SMI TrafficSplit `v1alpha1` weights; Linkerd 2.12 and later also serve `gatewayapi`).
    #[serde(rename = "linkerd")]
    Linkerd,
    /// NGINX ingress controller (canary Ingress annotations).
    #[serde(rename = "nginx")]
    Nginx,
    /// Open Service Mesh (SMI TrafficSplit `v1alpha2` weights; the project is retired).
    #[serde(rename = "osm")]
    Osm,
    /// Skipper ingress (Ingress backend weights).
    #[serde(rename = "skipper")]
    Skipper,
    /// SMI TrafficSplit `v1alpha1` weights.
    #[serde(rename = "smi:v1alpha1")]
    SmiV1alpha1,
    /// SMI TrafficSplit `v1alpha2` weights.
    #[serde(rename = "smi:v1alpha2")]
    SmiV1alpha2,
    /// SMI TrafficSplit `v1alpha3` weights.
    #[serde(rename = "smi:v1alpha3")]
    SmiV1alpha3,
    /// Traefik (TraefikService weights).
    #[serde(rename = "traefik")]
    Traefik,
}

impl Provider {
    /// Every provider, in the order of Flagger's CRD enum (with serin's bare `gatewayapi`).
    pub const ALL: [Provider; 20] = [
        Provider::Apisix,
        Provider::AppMesh,
        Provider::AppMeshV1beta2,
        Provider::Contour,
        Provider::GatewayApi,
        Provider::GatewayApiV1,
        Provider::GatewayApiV1beta1,
        Provider::Gloo,
        Provider::Istio,
        Provider::Knative,
        Provider::Kubernetes,
        Provider::Kuma,
        Provider::Linkerd,
        Provider::Nginx,
        Provider::Osm,
        Provider::Skipper,
        Provider::SmiV1alpha1,
        Provider::SmiV1alpha2,
        Provider::SmiV1alpha3,
        Provider::Traefik,
    ];

    /// The name used in manifests, for example `gatewayapi:v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Apisix => "apisix",
            Provider::AppMesh => "appmesh",
            Provider::AppMeshV1beta2 => "appmesh:v1beta2",
            Provider::Contour => "contour",
            Provider::GatewayApi => "gatewayapi",
            Provider::GatewayApiV1 => "gatewayapi:v1",
            Provider::GatewayApiV1beta1 => "gatewayapi:v1beta1",
            Provider::Gloo => "gloo",
            Provider::Istio => "istio",
            Provider::Knative => "knative",
            Provider::Kubernetes => "kubernetes",
            Provider::Kuma => "kuma",
            Provider::Linkerd => "linkerd",
            Provider::Nginx => "nginx",
            Provider::Osm => "osm",
            Provider::Skipper => "skipper",
            Provider::SmiV1alpha1 => "smi:v1alpha1",
            Provider::SmiV1alpha2 => "smi:v1alpha2",
            Provider::SmiV1alpha3 => "smi:v1alpha3",
            Provider::Traefik => "traefik",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

/// A provider name that is not one of [`Provider::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?}")]
pub struct UnknownProvider(pub String);
