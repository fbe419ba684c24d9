//! The metrics backfilled into the test Prometheus: for every router's metric names and labels,
//! a canary `podinfo` in namespace `test` serving 95% non-5xx responses with a P99 of 290 ms
//! (a mean of 250 ms where the router's query is a mean), plus series for the MetricTemplates
//! of the Flagger corpus and for the no-data cases.

use std::fmt::Write as _;

/// Seconds between samples.
const STEP: i64 = 15;
/// Number of samples per series (20 minutes).
const SAMPLES: i64 = 81;

/// Histogram buckets per step with a P99 of 290 (in the histogram's unit): 50 requests up to
/// 100, 90 up to 200, all 100 up to 300.
const BUCKETS_MS: [(&str, i64); 4] = [("100", 50), ("200", 90), ("300", 100), ("+Inf", 100)];
/// The same histogram in seconds.
const BUCKETS_S: [(&str, i64); 4] = [("0.1", 50), ("0.2", 90), ("0.3", 100), ("+Inf", 100)];

struct Writer {
    text: String,
    end: i64,
}

impl Writer {
    /// A counter growing by `per_step` every step, ending at the evaluation time.
    fn counter(&mut self, name: &str, labels: &str, per_step: i64) {
        for i in 0..SAMPLES {
            let time = self.end - (SAMPLES - 1 - i) * STEP;
            let _ = writeln!(self.text, "{name}{{{labels}}} {} {time}", per_step * i);
        }
    }

    fn histogram(&mut self, name: &str, labels: &str, buckets: &[(&str, i64)]) {
        for (le, per_step) in buckets {
            self.counter(name, &format!("{labels},le=\"{le}\""), *per_step);
        }
    }

    /// Counters for 19 successful and 1 failed request per step, told apart by `code_label`.
    fn requests(&mut self, name: &str, labels: &str, code_label: &str, ok: &str, failed: &str) {
        self.counter(name, &format!("{labels},{code_label}=\"{ok}\""), 19);
        self.counter(name, &format!("{labels},{code_label}=\"{failed}\""), 1);
    }
}

/// The `OpenMetrics` text to backfill, with the last samples at `end` (Unix seconds).
pub(crate) fn openmetrics(end: i64) -> String {
    let mut w = Writer {
        text: String::new(),
        end,
    };
    istio_and_linkerd(&mut w);
    envoy_and_osm(&mut w);
    ingresses(&mut w);
    applications(&mut w);
    w.text.push_str("# EOF\n");
    w.text
}

/// Labels of the application's pod, as the usual pod scrape configs add them.
const POD: &str = r#"kubernetes_namespace="test",kubernetes_pod_name="podinfo-5d8f9c7b4-x2x9z""#;
/// Labels of the primary's pod.
const PRIMARY_POD: &str =
    r#"kubernetes_namespace="test",kubernetes_pod_name="podinfo-primary-7c9d8b6f5-q8w2k""#;

fn istio_and_linkerd(w: &mut Writer) {
    // Istio, both reporters (templates 021 and 022 use the source reporter).
    for reporter in ["destination", "source"] {
        let labels = format!(
            r#"reporter="{reporter}",destination_workload_namespace="test",destination_workload="podinfo""#
        );
        w.requests(
            "istio_requests_total",
            &labels,
            "response_code",
            "200",
            "503",
        );
        w.histogram(
            "istio_request_duration_milliseconds_bucket",
            &labels,
            &BUCKETS_MS,
        );
    }
    let istio = r#"reporter="destination",destination_workload_namespace="test",destination_workload="podinfo""#;
    w.histogram("istio_request_duration_seconds_bucket", istio, &BUCKETS_S);
    // The primary, for comparisons: 39 successful and 1 failed request per step.
    let primary = r#"reporter="destination",destination_workload_namespace="test",destination_workload="podinfo-primary""#;
    w.counter(
        "istio_requests_total",
        &format!("{primary},response_code=\"200\""),
        39,
    );
    w.counter(
        "istio_requests_total",
        &format!("{primary},response_code=\"503\""),
        1,
    );
    w.histogram(
        "istio_request_duration_milliseconds_bucket",
        primary,
        &BUCKETS_MS,
    );
    // A workload that got no requests in the window: its ratio is 0/0.
    let idle = r#"reporter="destination",destination_workload_namespace="test",destination_workload="idle",response_code="200""#;
    w.counter("istio_requests_total", idle, 0);

    // Linkerd: inbound 95% success, outbound 50%.
    let inbound = r#"namespace="test",deployment="podinfo",direction="inbound""#;
    w.requests(
        "response_total",
        inbound,
        "classification",
        "success",
        "failure",
    );
    w.histogram("response_latency_ms_bucket", inbound, &BUCKETS_MS);
    let outbound = r#"namespace="test",deployment="podinfo",direction="outbound""#;
    w.counter(
        "response_total",
        &format!("{outbound},classification=\"success\""),
        10,
    );
    w.counter(
        "response_total",
        &format!("{outbound},classification=\"failure\""),
        10,
    );
}

fn envoy_and_osm(w: &mut Writer) {
    // Contour, Gloo and Knative by cluster name, Kuma by service, App Mesh by pod.
    for labels in [
        r#"envoy_cluster_name="test_podinfo-canary_9898""#,
        r#"envoy_cluster_name="test-podinfo-canary-9898_gloo-system""#,
        r#"envoy_cluster_name="test/podinfo""#,
        r#"service="podinfo-canary_test_svc_9898""#,
        POD,
    ] {
        w.requests(
            "envoy_cluster_upstream_rq",
            labels,
            "envoy_response_code",
            "200",
            "503",
        );
        w.histogram("envoy_cluster_upstream_rq_time_bucket", labels, &BUCKETS_MS);
    }

    let osm =
        r#"destination_namespace="test",destination_kind="Deployment",destination_name="podinfo""#;
    w.requests("osm_request_total", osm, "response_code", "200", "503");
    w.histogram("osm_request_duration_ms_bucket", osm, &BUCKETS_MS);
}

fn ingresses(w: &mut Writer) {
    // NGINX: mean upstream latency 0.25 s.
    let ingress = r#"namespace="test",ingress="podinfo""#;
    w.requests(
        "nginx_ingress_controller_requests",
        ingress,
        "status",
        "200",
        "503",
    );
    w.counter(
        "nginx_ingress_controller_ingress_upstream_latency_seconds_sum",
        ingress,
        25,
    );
    w.counter(
        "nginx_ingress_controller_ingress_upstream_latency_seconds_count",
        ingress,
        100,
    );

    // Traefik: one histogram per status code, in seconds; together a P99 of 0.29 s.
    let traefik = r#"service="test-podinfo-canary-80@kubernetescrd""#;
    let name = "traefik_service_request_duration_seconds_bucket";
    let ok = [("0.1", 10), ("0.2", 17), ("0.3", 19), ("+Inf", 19)];
    let failed = [("0.1", 0), ("0.2", 1), ("0.3", 1), ("+Inf", 1)];
    w.histogram(name, &format!("{traefik},code=\"200\""), &ok);
    w.histogram(name, &format!("{traefik},code=\"500\""), &failed);

    // Skipper: route ids of the canary Ingress; mean route latency 0.25 s.
    let route = r#"route="kube_test__podinfo_canary__podinfo_example_com____podinfo_canary""#;
    let name = "skipper_response_duration_seconds_bucket";
    w.counter(name, &format!("{route},code=\"200\",le=\"+Inf\""), 19);
    w.counter(name, &format!("{route},code=\"500\",le=\"+Inf\""), 1);
    w.counter("skipper_serve_route_duration_seconds_sum", route, 25);
    w.counter("skipper_serve_route_duration_seconds_count", route, 100);
    let name = "skipper_serve_route_duration_seconds_bucket";
    w.counter(name, &format!("{route},le=\"+Inf\""), 100);

    // APISIX.
    let apisix = r#"route="test_podinfo-podinfo-canary_1""#;
    w.requests("apisix_http_status", apisix, "code", "200", "503");
    let latency = format!("type=\"request\",{apisix}");
    w.histogram("apisix_http_latency_bucket", &latency, &BUCKETS_MS);
}

fn applications(w: &mut Writer) {
    // The application's own histogram (providers kubernetes and Gateway API), in seconds.
    w.requests(
        "http_request_duration_seconds_count",
        POD,
        "status",
        "200",
        "500",
    );
    w.histogram("http_request_duration_seconds_bucket", POD, &BUCKETS_S);
    // The primary's pod, for comparisons (the canary's pod name pattern does not match it).
    w.requests(
        "http_request_duration_seconds_count",
        PRIMARY_POD,
        "status",
        "200",
        "500",
    );
    w.histogram(
        "http_request_duration_seconds_bucket",
        PRIMARY_POD,
        &BUCKETS_S,
    );

    // Prometheus-operator style labels (templates 050 and 051).
    let job = r#"namespace="test",job="podinfo-canary""#;
    w.requests("http_requests_total", job, "status", "200", "500");
    w.histogram("http_request_duration_seconds_bucket", job, &BUCKETS_S);

    // gRPC (template 063): 2 of 20 calls fail.
    w.counter(
        "grpc_server_handled_total",
        &format!("{POD},grpc_code=\"OK\""),
        18,
    );
    let failed = format!("{POD},grpc_code=\"Unavailable\"");
    w.counter("grpc_server_handled_total", &failed, 2);
    w.counter("grpc_server_started_total", POD, 20);
}
