//! `spec.service`: how the generated Services and routing objects expose the target.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    CorsPolicy, ExtensionFilterRef, GatewayRouteKind, Headers, HttpMatchRequest, HttpRequestMirror,
    HttpRetry, HttpRewrite, ParentReference, StringMap, TrafficPolicy,
};

/// How the generated Services (`<name>`, `<name>-primary`, `<name>-canary`) and routing objects
/// expose the target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryService {
    /// Name of the apex Service; defaults to the target's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port the Services listen on.
    #[schemars(schema_with = "crate::schema::number")]
    pub port: u16,
    /// Name of the Service port; defaults to `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// Application protocol of the port (`appProtocol` of the Service port), for example `http`
    /// or `kubernetes.io/h2c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Traffic distribution preference of the generated Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_distribution: Option<TrafficDistribution>,
    /// Container port (number or name) the Services send traffic to; defaults to `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// Also expose every other container port of the target on the generated Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_discovery: Option<bool>,
    /// Generate headless Services (`clusterIP: None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headless: Option<bool>,
    /// Request timeout on the route, as a duration such as `30s` (Istio, Gateway API, Contour;
    /// not Gloo, whose route Flagger and serin write without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Timeout for one request to a backend, as a duration (Gateway API only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_timeout: Option<String>,
    /// App Mesh mesh name (App Mesh only; not supported by serin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh_name: Option<String>,
    /// App Mesh backends (App Mesh only; not supported by serin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<Vec<String>>,
    /// Host names routed to the target (Istio VirtualService hosts, Gateway API HTTPRoute
    /// hostnames, Contour virtual hosts; Gloo's come from the user's VirtualService).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Generate a delegate Istio VirtualService, to be included by a root VirtualService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<bool>,
    /// Request match conditions that select the traffic the route applies to (Istio).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_: Option<Vec<HttpMatchRequest>>,
    /// Retry policy for requests on the route (Istio, Gateway API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
    /// URI or authority rewrite on the route (Istio, Gateway API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<HttpRewrite>,
    /// Additional backends that receive a copy of the traffic (Gateway API RequestMirror
    /// filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Vec<HttpRequestMirror>>,
    /// Request and response header operations on the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// Istio Gateways the VirtualService is bound to (`mesh` for in-mesh traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<Vec<String>>,
    /// Gateways the generated HTTPRoute attaches to (Gateway API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub gateway_refs: Option<Vec<ParentReference>>,
    /// Gateway API extension filters (`ExtensionRef`) added to every rule of the generated
    /// HTTPRoute, after the filters serin derives from `headers`, `rewrite`, `mirror` and
    /// `corsPolicy`, in this order (serin addition; Gateway API routers only). At most 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub extension_filters: Option<Vec<ExtensionFilterRef>>,
    /// The kind of route the Gateway API routers write: `HTTPRoute` (the default, as Flagger)
    /// or `GRPCRoute` for gRPC services (serin addition; Gateway API routers only, needs
    /// Gateway API v1.1 or later). A GRPCRoute matches gRPC methods: `match` and
    /// `analysis.match` take headers, and a `uri` exact (`/package.Service/Method`) or prefix
    /// (`/package.Service/`) becomes a method match; `timeout`, `backendTimeout`, `rewrite`
    /// and `corsPolicy`, which GRPCRoute lacks, are refused. `appProtocol: grpc` alone keeps
    /// the HTTPRoute, so that a Canary moved from Flagger keeps the route it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_kind: Option<GatewayRouteKind>,
    /// Cross-origin resource sharing policy of the route (Istio, Gateway API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_policy: Option<CorsPolicy>,
    /// Istio DestinationRule traffic policy for the primary and canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_policy: Option<TrafficPolicy>,
    /// Labels and annotations added to the apex Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apex: Option<CustomMetadata>,
    /// Labels and annotations added to the primary Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<CustomMetadata>,
    /// Labels and annotations added to the canary Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CustomMetadata>,
    /// Label and annotation keys on generated objects that serin leaves alone, so that other
    /// controllers may own them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_metadata: Option<UnmanagedMetadata>,
}

/// Traffic distribution preference of a Service (`spec.trafficDistribution`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transform = crate::schema::without_description)]
pub enum TrafficDistribution {
    /// Prefer endpoints topologically close to the client.
    PreferClose,
    /// Prefer endpoints in the client's zone.
    PreferSameZone,
    /// Prefer endpoints on the client's node.
    PreferSameNode,
}

/// Labels and annotations to add to a generated object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CustomMetadata {
    /// Labels to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub labels: Option<StringMap>,
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_map")]
    pub annotations: Option<StringMap>,
}

/// Label and annotation keys that serin does not manage on generated objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct UnmanagedMetadata {
    /// Annotation keys left to other controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<String>>,
    /// Label keys left to other controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}
