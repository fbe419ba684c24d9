//! Flagger's built-in metrics, `request-success-rate` and `request-duration`, and the default
//! `PromQL` each traffic router uses for them. Selection is an exhaustive match on the router.

pub mod counts;
mod promql;

use serin_crds::canary::Provider;
use serin_crds::query_template::TemplateContext;

/// A metric serin knows how to query without a MetricTemplate: the validated model's.
pub use serin_crds::validation::BuiltinMetric;

/// The family of default queries a router uses: several routers share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryFamily {
    /// Istio telemetry (also the family of the SMI providers, as in Flagger).
    Istio,
    /// Linkerd proxy metrics.
    Linkerd,
    /// NGINX ingress controller metrics.
    Nginx,
    /// Contour's Envoy metrics.
    Contour,
    /// Gloo's Envoy metrics.
    Gloo,
    /// Kuma's Envoy metrics.
    Kuma,
    /// App Mesh Envoy sidecar metrics.
    AppMesh,
    /// Knative (Kourier) Envoy metrics.
    Knative,
    /// Traefik service metrics.
    Traefik,
    /// Skipper route metrics.
    Skipper,
    /// Apache APISIX metrics.
    Apisix,
    /// Open Service Mesh metrics.
    Osm,
    /// The application's own `http_request_duration_seconds` histogram (`kubernetes`, Gateway API).
    Http,
}

impl QueryFamily {
    /// The family whose queries serve `provider`.
    pub fn for_provider(provider: Provider) -> Self {
        match provider {
            Provider::Istio
            | Provider::SmiV1alpha1
            | Provider::SmiV1alpha2
            | Provider::SmiV1alpha3 => QueryFamily::Istio,
            Provider::Linkerd => QueryFamily::Linkerd,
            Provider::Nginx => QueryFamily::Nginx,
            Provider::Contour => QueryFamily::Contour,
            Provider::Gloo => QueryFamily::Gloo,
            Provider::Kuma => QueryFamily::Kuma,
            Provider::AppMesh | Provider::AppMeshV1beta2 => QueryFamily::AppMesh,
            Provider::Knative => QueryFamily::Knative,
            Provider::Traefik => QueryFamily::Traefik,
            Provider::Skipper => QueryFamily::Skipper,
            Provider::Apisix => QueryFamily::Apisix,
            Provider::Osm => QueryFamily::Osm,
            Provider::Kubernetes
            | Provider::GatewayApi
            | Provider::GatewayApiV1
            | Provider::GatewayApiV1beta1 => QueryFamily::Http,
        }
    }
}

/// A built-in metric's query for one router, and how to read its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinQuery {
    /// The metric.
    pub metric: BuiltinMetric,
    /// The router family the query is written for.
    pub family: QueryFamily,
    /// The query template (Flagger syntax).
    pub template: &'static str,
    /// Multiply the query's value by this to get the metric's unit (1000 for seconds).
    pub scale: u32,
}

impl BuiltinQuery {
    /// The default query of `metric` for `provider`.
    pub fn new(metric: BuiltinMetric, provider: Provider) -> Self {
        use BuiltinMetric::{RequestDuration as D, RequestSuccessRate as S};
        let family = QueryFamily::for_provider(provider);
        let (template, scale) = match (family, metric) {
            (QueryFamily::Istio, S) => (promql::ISTIO_SUCCESS_RATE, 1),
            (QueryFamily::Istio, D) => (promql::ISTIO_DURATION, 1),
            (QueryFamily::Linkerd, S) => (promql::LINKERD_SUCCESS_RATE, 1),
            (QueryFamily::Linkerd, D) => (promql::LINKERD_DURATION, 1),
            (QueryFamily::Nginx, S) => (promql::NGINX_SUCCESS_RATE, 1),
            (QueryFamily::Nginx, D) => (promql::NGINX_DURATION, 1),
            (QueryFamily::Contour, S) => (promql::CONTOUR_SUCCESS_RATE, 1),
            (QueryFamily::Contour, D) => (promql::CONTOUR_DURATION, 1),
            (QueryFamily::Gloo, S) => (promql::GLOO_SUCCESS_RATE, 1),
            (QueryFamily::Gloo, D) => (promql::GLOO_DURATION, 1),
            (QueryFamily::Kuma, S) => (promql::KUMA_SUCCESS_RATE, 1),
            (QueryFamily::Kuma, D) => (promql::KUMA_DURATION, 1),
            (QueryFamily::AppMesh, S) => (promql::APPMESH_SUCCESS_RATE, 1),
            (QueryFamily::AppMesh, D) => (promql::APPMESH_DURATION, 1),
            (QueryFamily::Knative, S) => (promql::KNATIVE_SUCCESS_RATE, 1),
            (QueryFamily::Knative, D) => (promql::KNATIVE_DURATION, 1),
            (QueryFamily::Traefik, S) => (promql::TRAEFIK_SUCCESS_RATE, 1),
            (QueryFamily::Traefik, D) => (promql::TRAEFIK_DURATION, 1000),
            (QueryFamily::Skipper, S) => (promql::SKIPPER_SUCCESS_RATE, 1),
            (QueryFamily::Skipper, D) => (promql::SKIPPER_DURATION, 1),
            (QueryFamily::Apisix, S) => (promql::APISIX_SUCCESS_RATE, 1),
            (QueryFamily::Apisix, D) => (promql::APISIX_DURATION, 1),
            (QueryFamily::Osm, S) => (promql::OSM_SUCCESS_RATE, 1),
            (QueryFamily::Osm, D) => (promql::OSM_DURATION, 1),
            (QueryFamily::Http, S) => (promql::HTTP_SUCCESS_RATE, 1),
            (QueryFamily::Http, D) => (promql::HTTP_DURATION, 1000),
        };
        BuiltinQuery {
            metric,
            family,
            template,
            scale,
        }
    }

    /// The context the template is rendered with: Skipper route ids spell every non-word
    /// character of a name as `_`, so the names are encoded the same way.
    pub fn context(&self, context: &TemplateContext) -> TemplateContext {
        match self.family {
            QueryFamily::Skipper => {
                let encode = |s: &str| -> String {
                    s.chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '_' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect()
                };
                TemplateContext {
                    name: encode(&context.name),
                    namespace: encode(&context.namespace),
                    target: encode(&context.target),
                    service: encode(&context.service),
                    ingress: encode(&context.ingress),
                    ..context.clone()
                }
            }
            _ => context.clone(),
        }
    }

    /// Converts the query's value to the metric's unit. Durations are whole milliseconds,
    /// rounded down as Flagger does (after absorbing floating-point noise).
    pub fn to_unit(&self, value: f64) -> f64 {
        let scaled = value * f64::from(self.scale);
        if self.metric == BuiltinMetric::RequestDuration && scaled.is_finite() {
            (scaled + 1e-9).floor()
        } else {
            scaled
        }
    }
}

/// What a router's built-in queries read and what to check, for "no data" messages.
pub fn no_data_hint(family: QueryFamily) -> &'static str {
    match family {
        QueryFamily::Istio => {
            "istio_requests_total reported by the destination workload <target>: check that the canary is in the mesh and that this Prometheus scrapes Istio's telemetry"
        }
        QueryFamily::Linkerd => {
            "Linkerd's response_total with direction=\"inbound\" and deployment=<target>: check that the canary is meshed and that this Prometheus scrapes the Linkerd proxies"
        }
        QueryFamily::Nginx => {
            "nginx_ingress_controller_requests for ingress=<ingressRef>: check that traffic goes through that Ingress and that the controller's metrics are scraped"
        }
        QueryFamily::Contour | QueryFamily::Gloo | QueryFamily::Kuma | QueryFamily::Knative => {
            "Envoy's envoy_cluster_upstream_rq for the canary's cluster: check that Envoy's stats are scraped and that the cluster name matches the query"
        }
        QueryFamily::AppMesh => {
            "Envoy's envoy_cluster_upstream_rq with kubernetes_namespace and kubernetes_pod_name labels: check that the scrape config adds them"
        }
        QueryFamily::Traefik => {
            "traefik_service_request_duration_seconds for the canary's TraefikService: check that Traefik's service metrics are enabled and scraped"
        }
        QueryFamily::Skipper => {
            "skipper_response_duration_seconds for the canary Ingress's routes: check that Skipper's route metrics are enabled and scraped"
        }
        QueryFamily::Apisix => {
            "apisix_http_status for the canary's ApisixRoute: check that APISIX's prometheus plugin is enabled on the route"
        }
        QueryFamily::Osm => {
            "osm_request_total for the target Deployment: check that the canary is in the mesh"
        }
        QueryFamily::Http => {
            "the application's own http_request_duration_seconds histogram with kubernetes_namespace and kubernetes_pod_name labels: check that the app exports it and that the scrape config adds those labels"
        }
    }
}

#[cfg(test)]
mod tests;
