//! The default `PromQL` of the built-in metrics for each traffic router, as Flagger defines them.
//!
//! Whitespace is not significant: queries are sent with runs of whitespace collapsed to one
//! space. Tokens, including trailing commas inside selectors, match Flagger's queries so that
//! results are identical.

/// `request-success-rate` for Istio (`istio_requests_total`, destination reporter).
pub(super) const ISTIO_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      istio_requests_total{
        reporter="destination",
        destination_workload_namespace="{{ namespace }}",
        destination_workload=~"{{ target }}",
        response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      istio_requests_total{
        reporter="destination",
        destination_workload_namespace="{{ namespace }}",
        destination_workload=~"{{ target }}"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Istio, in milliseconds.
pub(super) const ISTIO_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        istio_request_duration_milliseconds_bucket{
          reporter="destination",
          destination_workload_namespace="{{ namespace }}",
          destination_workload=~"{{ target }}"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Linkerd (`response_total`, inbound).
pub(super) const LINKERD_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      response_total{
        namespace="{{ namespace }}",
        deployment=~"{{ target }}",
        classification!="failure",
        direction="inbound"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      response_total{
        namespace="{{ namespace }}",
        deployment=~"{{ target }}",
        direction="inbound"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Linkerd, in milliseconds.
pub(super) const LINKERD_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        response_latency_ms_bucket{
          namespace="{{ namespace }}",
          deployment=~"{{ target }}",
          direction="inbound"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for the NGINX ingress controller, by Ingress.
pub(super) const NGINX_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      nginx_ingress_controller_requests{
        namespace="{{ namespace }}",
        ingress="{{ ingress }}",
        status!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      nginx_ingress_controller_requests{
        namespace="{{ namespace }}",
        ingress="{{ ingress }}"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for NGINX: the mean upstream latency (not a P99), in milliseconds.
pub(super) const NGINX_DURATION: &str = r#"
  sum(
    rate(
      nginx_ingress_controller_ingress_upstream_latency_seconds_sum{
        namespace="{{ namespace }}",
        ingress="{{ ingress }}"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      nginx_ingress_controller_ingress_upstream_latency_seconds_count{
        namespace="{{ namespace }}",
        ingress="{{ ingress }}"
      }[{{ interval }}]
    )
  )
  * 1000"#;

/// `request-success-rate` for Contour (Envoy cluster `<namespace>_<target>-canary_<port>`).
pub(super) const CONTOUR_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}_{{ target }}-canary_[0-9a-zA-Z-]+",
        envoy_response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}_{{ target }}-canary_[0-9a-zA-Z-]+",
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Contour, in milliseconds.
pub(super) const CONTOUR_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        envoy_cluster_upstream_rq_time_bucket{
          envoy_cluster_name=~"{{ namespace }}_{{ target }}-canary_[0-9a-zA-Z-]+",
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Gloo (Envoy cluster `<namespace>-<target>-canary-<port>_<ns>`).
pub(super) const GLOO_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+",
        envoy_response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+",
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Gloo, in milliseconds.
pub(super) const GLOO_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        envoy_cluster_upstream_rq_time_bucket{
          envoy_cluster_name=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+",
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Kuma (Envoy `service` label `<target>-canary_<ns>_svc_<port>`).
pub(super) const KUMA_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      envoy_cluster_upstream_rq{
        service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+",
        envoy_response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      envoy_cluster_upstream_rq{
        service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+",
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Kuma, in milliseconds.
pub(super) const KUMA_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        envoy_cluster_upstream_rq_time_bucket{
          service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+",
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for App Mesh (Envoy sidecars, by pod name).
pub(super) const APPMESH_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      envoy_cluster_upstream_rq{
        kubernetes_namespace="{{ namespace }}",
        kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
        envoy_response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      envoy_cluster_upstream_rq{
        kubernetes_namespace="{{ namespace }}",
        kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for App Mesh, in milliseconds.
pub(super) const APPMESH_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        envoy_cluster_upstream_rq_time_bucket{
          kubernetes_namespace="{{ namespace }}",
          kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Knative (Envoy cluster `<namespace>/<route>`).
pub(super) const KNATIVE_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}/{{ route }}",
        envoy_response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      envoy_cluster_upstream_rq{
        envoy_cluster_name=~"{{ namespace }}/{{ route }}",
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Knative, in milliseconds.
pub(super) const KNATIVE_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        envoy_cluster_upstream_rq_time_bucket{
          envoy_cluster_name=~"{{ namespace }}/{{ route }}",
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Traefik (TraefikService `<namespace>-<target>-canary-<port>`).
pub(super) const TRAEFIK_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      traefik_service_request_duration_seconds_bucket{
        service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd",
        code!~"5..",
        le="+Inf"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      traefik_service_request_duration_seconds_bucket{
        service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd",
        le="+Inf"
      }[{{ interval }}]
    )
  ) * 100"#;

/// `request-duration` for Traefik. Traefik's histogram is in seconds; serin converts the
/// quantile to milliseconds (Flagger reads the seconds as milliseconds).
pub(super) const TRAEFIK_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        traefik_service_request_duration_seconds_bucket{
          service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Skipper: routes of the canary Ingress. The names in the context
/// have every non-word character replaced by `_` first, as Skipper does in route ids.
pub(super) const SKIPPER_SUCCESS_RATE: &str = r#"
  sum(rate(skipper_response_duration_seconds_bucket{route=~"{{ printf "kube(ew)?_%s__%s_canary__.*__%s_canary(_[0-9]+)?" namespace ingress service }}",code!~"5..",le="+Inf"}[{{ interval }}])) /
  sum(rate(skipper_response_duration_seconds_bucket{route=~"{{ printf "kube(ew)?_%s__%s_canary__.*__%s_canary(_[0-9]+)?" namespace ingress service }}",le="+Inf"}[{{ interval }}])) * 100"#;

/// `request-duration` for Skipper: the mean route latency, in milliseconds.
pub(super) const SKIPPER_DURATION: &str = r#"
  sum(rate(skipper_serve_route_duration_seconds_sum{route=~"{{ printf "kube(ew)?_%s__%s_canary__.*__%s_canary(_[0-9]+)?" namespace ingress service }}"}[{{ interval }}])) /
  sum(rate(skipper_serve_route_duration_seconds_count{route=~"{{ printf "kube(ew)?_%s__%s_canary__.*__%s_canary(_[0-9]+)?" namespace ingress service }}"}[{{ interval }}])) * 1000"#;

/// `request-success-rate` for Apache APISIX (route `<namespace>_<route>-<target>-canary_...`).
pub(super) const APISIX_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      apisix_http_status{
        route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+",
        code!~"5.."
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      apisix_http_status{
        route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"
      }[{{ interval }}]
    )
  ) * 100"#;

/// `request-duration` for Apache APISIX, in milliseconds.
pub(super) const APISIX_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        apisix_http_latency_bucket{
          type=~"request",
          route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` for Open Service Mesh (Deployment destinations).
pub(super) const OSM_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      osm_request_total{
        destination_namespace="{{ namespace }}",
        destination_kind="Deployment",
        destination_name="{{ target }}",
        response_code!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      osm_request_total{
        destination_namespace="{{ namespace }}",
        destination_kind="Deployment",
        destination_name="{{ target }}"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` for Open Service Mesh, in milliseconds.
pub(super) const OSM_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        osm_request_duration_ms_bucket{
          destination_namespace="{{ namespace }}",
          destination_kind="Deployment",
          destination_name="{{ target }}"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;

/// `request-success-rate` from the application's own `http_request_duration_seconds`
/// histogram, by pod name (providers `kubernetes` and Gateway API).
pub(super) const HTTP_SUCCESS_RATE: &str = r#"
  sum(
    rate(
      http_request_duration_seconds_count{
        kubernetes_namespace="{{ namespace }}",
        kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
        status!~"5.*"
      }[{{ interval }}]
    )
  )
  /
  sum(
    rate(
      http_request_duration_seconds_count{
        kubernetes_namespace="{{ namespace }}",
        kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
      }[{{ interval }}]
    )
  )
  * 100"#;

/// `request-duration` from the application's histogram, in seconds (converted to milliseconds).
pub(super) const HTTP_DURATION: &str = r#"
  histogram_quantile(
    0.99,
    sum(
      rate(
        http_request_duration_seconds_bucket{
          kubernetes_namespace="{{ namespace }}",
          kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
        }[{{ interval }}]
      )
    ) by (le)
  )"#;
