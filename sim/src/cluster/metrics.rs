//! Traffic metrics under the names and labels Flagger's built-in queries read, per mesh or ingress.
//!
//! Every simulated request is recorded once per exporter that would see it in a real cluster:
//! Istio, Linkerd, Open Service Mesh, Envoy (named as Contour, Gloo, Kuma and App Mesh name their
//! clusters), Traefik, the application itself, NGINX and Skipper for Ingress traffic, and APISIX
//! for `ApisixRoute` traffic.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

const BUCKETS_MS: [f64; 17] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0, 1000.0,
    2000.0, 5000.0,
];

fn buckets_ms() -> Histogram {
    Histogram::new(BUCKETS_MS)
}

fn buckets_seconds() -> Histogram {
    Histogram::new(BUCKETS_MS.map(|ms| ms / 1000.0))
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn histograms_ms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(buckets_ms)
}

fn histograms_seconds<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(buckets_seconds)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IstioLabels {
    reporter: &'static str,
    destination_workload_namespace: String,
    destination_workload: String,
    destination_service_name: String,
    response_code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IstioLatencyLabels {
    reporter: &'static str,
    destination_workload_namespace: String,
    destination_workload: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkerdLabels {
    namespace: String,
    deployment: String,
    classification: &'static str,
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkerdLatencyLabels {
    namespace: String,
    deployment: String,
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OsmLabels {
    destination_namespace: String,
    destination_kind: &'static str,
    destination_name: String,
    response_code: String,
}

#[allow(clippy::struct_field_names, reason = "the label names are OSM's")]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OsmLatencyLabels {
    destination_namespace: String,
    destination_kind: &'static str,
    destination_name: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NginxLabels {
    namespace: String,
    ingress: String,
    canary: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NginxLatencyLabels {
    namespace: String,
    ingress: String,
    canary: String,
}

/// Envoy series; unused identity labels are empty (absent for Prometheus).
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvoyLabels {
    envoy_cluster_name: String,
    service: String,
    kubernetes_namespace: String,
    kubernetes_pod_name: String,
    envoy_response_code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraefikLabels {
    service: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SkipperLabels {
    route: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SkipperRouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApisixLabels {
    route: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApisixLatencyLabels {
    r#type: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    kubernetes_namespace: String,
    kubernetes_pod_name: String,
    status: String,
}

/// Where a batch of simulated requests went, as every exporter labels it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observation<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) deployment: &'a str,
    pub(crate) service: &'a str,
    pub(crate) port: i64,
    pub(crate) pod: &'a str,
    /// `(ingress, canary upstream or "")` for traffic through NGINX.
    pub(crate) nginx: Option<(&'a str, &'a str)>,
    /// Skipper's route id, for traffic through an Ingress.
    pub(crate) skipper_route: Option<&'a str>,
    /// APISIX's route name, for traffic through an `ApisixRoute`.
    pub(crate) apisix_route: Option<&'a str>,
}

/// Which exporters' metrics the simulation produces (all by default; fewer keep `/metrics` small
/// in scale runs). NGINX metrics only ever appear for Ingress traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools, reason = "one switch per exporter")]
pub struct Exporters {
    /// `istio_*`.
    pub istio: bool,
    /// Linkerd `response_*`.
    pub linkerd: bool,
    /// Open Service Mesh `osm_*`.
    pub osm: bool,
    /// `nginx_ingress_controller_*`.
    pub nginx: bool,
    /// `envoy_cluster_*` (Contour, Gloo, Kuma, App Mesh naming).
    pub envoy: bool,
    /// `traefik_*`.
    pub traefik: bool,
    /// `skipper_*`.
    pub skipper: bool,
    /// `apisix_*`.
    pub apisix: bool,
    /// Application-level `http_*`.
    pub app: bool,
}

impl Default for Exporters {
    fn default() -> Self {
        Self {
            istio: true,
            linkerd: true,
            osm: true,
            nginx: true,
            envoy: true,
            traefik: true,
            skipper: true,
            apisix: true,
            app: true,
        }
    }
}

impl Exporters {
    /// Parses a comma-separated list (`istio,app`); `all` enables everything.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut exporters = Self {
            istio: false,
            linkerd: false,
            osm: false,
            nginx: false,
            envoy: false,
            traefik: false,
            skipper: false,
            apisix: false,
            app: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => exporters = Self::default(),
                "istio" => exporters.istio = true,
                "linkerd" => exporters.linkerd = true,
                "osm" => exporters.osm = true,
                "nginx" => exporters.nginx = true,
                "envoy" => exporters.envoy = true,
                "traefik" => exporters.traefik = true,
                "skipper" => exporters.skipper = true,
                "apisix" => exporters.apisix = true,
                "app" => exporters.app = true,
                other => return Err(format!("unknown exporter {other:?}")),
            }
        }
        Ok(exporters)
    }
}

/// Requests of one batch grouped by status code: `(code, latencies in ms)`.
fn by_code(requests: &[(u16, f64)]) -> Vec<(u16, Vec<f64>)> {
    let mut groups: Vec<(u16, Vec<f64>)> = Vec::new();
    for &(code, latency) in requests {
        match groups.iter_mut().find(|(c, _)| *c == code) {
            Some((_, latencies)) => latencies.push(latency),
            None => groups.push((code, vec![latency])),
        }
    }
    groups
}

fn count(latencies: &[f64]) -> u64 {
    u64::try_from(latencies.len()).unwrap_or(u64::MAX)
}

fn gauge_count(latencies: &[f64]) -> i64 {
    i64::try_from(latencies.len()).unwrap_or(i64::MAX)
}

/// All traffic metric families.
#[derive(Debug, Clone)]
pub(crate) struct TrafficMetrics {
    exporters: Exporters,
    istio_requests: Family<IstioLabels, Counter>,
    istio_duration: Histograms<IstioLatencyLabels>,
    linkerd_responses: Family<LinkerdLabels, Counter>,
    linkerd_latency: Histograms<LinkerdLatencyLabels>,
    osm_requests: Family<OsmLabels, Counter>,
    osm_duration: Histograms<OsmLatencyLabels>,
    nginx_requests: Family<NginxLabels, Gauge>,
    nginx_duration: Histograms<NginxLatencyLabels>,
    nginx_upstream_latency: Histograms<NginxLatencyLabels>,
    envoy_requests: Family<EnvoyLabels, Gauge>,
    envoy_time: Histograms<EnvoyLabels>,
    traefik_duration: Histograms<TraefikLabels>,
    skipper_response: Histograms<SkipperLabels>,
    skipper_serve: Histograms<SkipperRouteLabels>,
    apisix_status: Family<ApisixLabels, Gauge>,
    apisix_latency: Histograms<ApisixLatencyLabels>,
    app_requests: Family<AppLabels, Counter>,
    app_duration: Histograms<AppLabels>,
}

impl TrafficMetrics {
    /// Families for the enabled exporters.
    pub(crate) fn new(exporters: Exporters) -> Self {
        Self {
            exporters,
            istio_requests: Family::default(),
            istio_duration: histograms_ms(),
            linkerd_responses: Family::default(),
            linkerd_latency: histograms_ms(),
            osm_requests: Family::default(),
            osm_duration: histograms_ms(),
            nginx_requests: Family::default(),
            nginx_duration: histograms_seconds(),
            nginx_upstream_latency: histograms_seconds(),
            envoy_requests: Family::default(),
            envoy_time: histograms_ms(),
            traefik_duration: histograms_seconds(),
            skipper_response: histograms_seconds(),
            skipper_serve: histograms_seconds(),
            apisix_status: Family::default(),
            apisix_latency: histograms_ms(),
            app_requests: Family::default(),
            app_duration: histograms_seconds(),
        }
    }
}

impl TrafficMetrics {
    /// Registers every family. Counters that real exporters publish without `_total`
    /// (NGINX, Envoy) are gauges here so their names match exactly.
    pub(crate) fn register(&self, registry: &mut Registry) {
        let help = |what: &str| format!("{what} (simulated by serin-sim)");
        let r = registry;
        r.register(
            "istio_requests",
            help("Istio requests"),
            self.istio_requests.clone(),
        );
        r.register(
            "istio_request_duration_milliseconds",
            help("Istio request duration"),
            self.istio_duration.clone(),
        );
        r.register(
            "response",
            help("Linkerd responses"),
            self.linkerd_responses.clone(),
        );
        r.register(
            "response_latency_ms",
            help("Linkerd response latency"),
            self.linkerd_latency.clone(),
        );
        r.register(
            "osm_request",
            help("Open Service Mesh requests"),
            self.osm_requests.clone(),
        );
        r.register(
            "osm_request_duration_ms",
            help("Open Service Mesh request duration"),
            self.osm_duration.clone(),
        );
        r.register(
            "nginx_ingress_controller_requests",
            help("NGINX requests"),
            self.nginx_requests.clone(),
        );
        r.register(
            "nginx_ingress_controller_request_duration_seconds",
            help("NGINX request duration"),
            self.nginx_duration.clone(),
        );
        r.register(
            "nginx_ingress_controller_ingress_upstream_latency_seconds",
            help("NGINX upstream latency"),
            self.nginx_upstream_latency.clone(),
        );
        r.register(
            "envoy_cluster_upstream_rq",
            help("Envoy upstream requests"),
            self.envoy_requests.clone(),
        );
        r.register(
            "envoy_cluster_upstream_rq_time",
            help("Envoy upstream request time"),
            self.envoy_time.clone(),
        );
        r.register(
            "traefik_service_request_duration_seconds",
            help("Traefik service request duration"),
            self.traefik_duration.clone(),
        );
        r.register(
            "skipper_response_duration_seconds",
            help("Skipper response duration"),
            self.skipper_response.clone(),
        );
        r.register(
            "skipper_serve_route_duration_seconds",
            help("Skipper route serving duration"),
            self.skipper_serve.clone(),
        );
        r.register(
            "apisix_http_status",
            help("APISIX responses"),
            self.apisix_status.clone(),
        );
        r.register(
            "apisix_http_latency",
            help("APISIX request latency"),
            self.apisix_latency.clone(),
        );
        r.register(
            "http_requests",
            help("Application requests"),
            self.app_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            help("Application request duration"),
            self.app_duration.clone(),
        );
    }

    /// Records a batch of requests served by one pod in every family that would see them.
    pub(crate) fn observe(&self, o: &Observation<'_>, requests: &[(u16, f64)]) {
        let groups = by_code(requests);
        let on = self.exporters;
        if on.istio || on.linkerd || on.osm {
            self.observe_meshes(o, &groups);
        }
        if on.envoy {
            self.observe_envoy(o, &groups);
        }
        for (code, latencies) in &groups {
            let code = code.to_string();
            if on.traefik {
                let service = format!("{}-{}-{}@kubernetescrd", o.namespace, o.service, o.port);
                let histogram = self.traefik_duration.get_or_create(&TraefikLabels {
                    service,
                    code: code.clone(),
                });
                for ms in latencies {
                    histogram.observe(ms / 1000.0);
                }
            }
            if on.app {
                let app = AppLabels {
                    kubernetes_namespace: o.namespace.to_owned(),
                    kubernetes_pod_name: o.pod.to_owned(),
                    status: code.clone(),
                };
                self.app_requests
                    .get_or_create(&app)
                    .inc_by(count(latencies));
                let histogram = self.app_duration.get_or_create(&app);
                for ms in latencies {
                    histogram.observe(ms / 1000.0);
                }
            }
            if let Some(route) = o.skipper_route.filter(|_| on.skipper) {
                let response = self.skipper_response.get_or_create(&SkipperLabels {
                    route: route.to_owned(),
                    code: code.clone(),
                });
                let serve = self.skipper_serve.get_or_create(&SkipperRouteLabels {
                    route: route.to_owned(),
                });
                for ms in latencies {
                    response.observe(ms / 1000.0);
                    serve.observe(ms / 1000.0);
                }
            }
            if let Some(route) = o.apisix_route.filter(|_| on.apisix) {
                self.apisix_status
                    .get_or_create(&ApisixLabels {
                        route: route.to_owned(),
                        code: code.clone(),
                    })
                    .inc_by(gauge_count(latencies));
                let latency = self.apisix_latency.get_or_create(&ApisixLatencyLabels {
                    r#type: "request",
                    route: route.to_owned(),
                });
                for ms in latencies {
                    latency.observe(*ms);
                }
            }
            if let Some((ingress, canary)) = o.nginx.filter(|_| on.nginx) {
                let labels = NginxLatencyLabels {
                    namespace: o.namespace.to_owned(),
                    ingress: ingress.to_owned(),
                    canary: canary.to_owned(),
                };
                let duration = self.nginx_duration.get_or_create(&labels);
                let upstream = self.nginx_upstream_latency.get_or_create(&labels);
                for ms in latencies {
                    duration.observe(ms / 1000.0);
                    upstream.observe(ms / 1000.0);
                }
                let counted = NginxLabels {
                    namespace: labels.namespace,
                    ingress: labels.ingress,
                    canary: labels.canary,
                    status: code,
                };
                self.nginx_requests
                    .get_or_create(&counted)
                    .inc_by(gauge_count(latencies));
            }
        }
    }

    /// Istio (both reporters: the Gateway API tutorial queries `source`), Linkerd and OSM.
    fn observe_meshes(&self, o: &Observation<'_>, groups: &[(u16, Vec<f64>)]) {
        let (ns, deployment) = (o.namespace.to_owned(), o.deployment.to_owned());
        let on = self.exporters;
        for (code, latencies) in groups {
            let response_code = code.to_string();
            if on.istio {
                for reporter in ["source", "destination"] {
                    let labels = IstioLabels {
                        reporter,
                        destination_workload_namespace: ns.clone(),
                        destination_workload: deployment.clone(),
                        destination_service_name: o.service.to_owned(),
                        response_code: response_code.clone(),
                    };
                    self.istio_requests
                        .get_or_create(&labels)
                        .inc_by(count(latencies));
                    let latency = IstioLatencyLabels {
                        reporter,
                        destination_workload_namespace: ns.clone(),
                        destination_workload: deployment.clone(),
                    };
                    let histogram = self.istio_duration.get_or_create(&latency);
                    for ms in latencies {
                        histogram.observe(*ms);
                    }
                }
            }
            if on.linkerd {
                let classification = if *code >= 500 { "failure" } else { "success" };
                let linkerd = LinkerdLabels {
                    namespace: ns.clone(),
                    deployment: deployment.clone(),
                    classification,
                    direction: "inbound",
                };
                self.linkerd_responses
                    .get_or_create(&linkerd)
                    .inc_by(count(latencies));
                let latency = LinkerdLatencyLabels {
                    namespace: ns.clone(),
                    deployment: deployment.clone(),
                    direction: "inbound",
                };
                let histogram = self.linkerd_latency.get_or_create(&latency);
                for ms in latencies {
                    histogram.observe(*ms);
                }
            }
            if on.osm {
                let osm = OsmLabels {
                    destination_namespace: ns.clone(),
                    destination_kind: "Deployment",
                    destination_name: deployment.clone(),
                    response_code,
                };
                self.osm_requests
                    .get_or_create(&osm)
                    .inc_by(count(latencies));
                let latency = OsmLatencyLabels {
                    destination_namespace: osm.destination_namespace,
                    destination_kind: osm.destination_kind,
                    destination_name: osm.destination_name,
                };
                let histogram = self.osm_duration.get_or_create(&latency);
                for ms in latencies {
                    histogram.observe(*ms);
                }
            }
        }
    }

    /// Requests to a revision of a Knative Service, as Kourier's Envoy counts them: under the
    /// cluster `<namespace>/<service>` (what Flagger's built-in Knative queries read) and
    /// `<namespace>/<revision>`.
    pub(crate) fn observe_knative(
        &self,
        namespace: &str,
        service: &str,
        revision: &str,
        requests: &[(u16, f64)],
    ) {
        if !self.exporters.envoy {
            return;
        }
        let groups = by_code(requests);
        for cluster in [service, revision] {
            let labels = EnvoyLabels {
                envoy_cluster_name: format!("{namespace}/{cluster}"),
                ..EnvoyLabels::default()
            };
            self.record_envoy(&labels, &groups);
        }
    }

    /// Envoy clusters as Contour (`ns_svc_port`, with Kuma's `service` label), Gloo (`ns-svc-port_ns`)
    /// and App Mesh (per pod) name them.
    fn observe_envoy(&self, o: &Observation<'_>, groups: &[(u16, Vec<f64>)]) {
        let (ns, svc, port) = (o.namespace, o.service, o.port);
        let series = [
            EnvoyLabels {
                envoy_cluster_name: format!("{ns}_{svc}_{port}"),
                service: format!("{svc}_{ns}_svc_{port}"),
                ..EnvoyLabels::default()
            },
            EnvoyLabels {
                envoy_cluster_name: format!("{ns}-{svc}-{port}_{ns}"),
                ..EnvoyLabels::default()
            },
            EnvoyLabels {
                kubernetes_namespace: ns.to_owned(),
                kubernetes_pod_name: o.pod.to_owned(),
                ..EnvoyLabels::default()
            },
        ];
        for labels in series {
            self.record_envoy(&labels, groups);
        }
    }

    /// Envoy's request counts by response code and its latency histogram, for one series.
    fn record_envoy(&self, labels: &EnvoyLabels, groups: &[(u16, Vec<f64>)]) {
        let histogram = self.envoy_time.get_or_create(labels);
        for (code, latencies) in groups {
            for ms in latencies {
                histogram.observe(*ms);
            }
            let counted = EnvoyLabels {
                envoy_response_code: code.to_string(),
                ..labels.clone()
            };
            self.envoy_requests
                .get_or_create(&counted)
                .inc_by(gauge_count(latencies));
        }
    }
}
