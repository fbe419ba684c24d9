//! The count queries of a comparison: for each router, the requests and errors of the canary
//! and of the primary over one exact window, as `sum(increase(...))` with Flagger's selectors
//! (the primary arm uses the same selectors on the primary's names).
//!
//! Errors are 5xx responses (`request-success-rate`) or requests slower than a bound
//! (`request-duration`): the latency histogram's `+Inf` bucket minus its bucket at the bound.

use std::time::Duration;

use serin_crds::query_template::TemplateContext;
use serin_judge::Arm;

use super::QueryFamily;

/// What counts as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCriterion {
    /// A 5xx response (a failure, for Linkerd).
    ServerError,
    /// A request slower than this.
    SlowerThan(Duration),
}

/// The queries that count one arm's requests and errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArmQueries {
    /// Requests, and requests that answered 5xx.
    Status {
        /// Counts the requests.
        requests: String,
        /// Counts the 5xx responses; no series means none.
        errors: String,
    },
    /// Requests (the `+Inf` bucket) and requests within the bound (the bucket at the bound):
    /// the slow ones are the difference.
    Latency {
        /// Counts the requests.
        requests: String,
        /// Counts the requests no slower than the bound; no series means the histogram has no
        /// bucket there.
        within: String,
        /// The bound as the `le` label spells it in this histogram's unit.
        bound: String,
    },
}

/// The count queries of both arms for one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountQueries {
    /// The canary's.
    pub canary: ArmQueries,
    /// The primary's.
    pub primary: ArmQueries,
}

impl CountQueries {
    /// The queries of `arm`.
    pub fn arm(&self, arm: Arm) -> &ArmQueries {
        match arm {
            Arm::Canary => &self.canary,
            Arm::Primary => &self.primary,
        }
    }
}

/// Why a router's built-in metrics cannot be counted per arm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CountQueryError {
    /// The router's built-in metric has no selector for one revision.
    #[error(
        "the {0:?} router's built-in metrics cannot tell the canary from the primary; use requestsTemplateRef and errorsTemplateRef"
    )]
    NoArmSelector(QueryFamily),
    /// A window shorter than a millisecond.
    #[error("the window is empty")]
    EmptyWindow,
}

/// The unit of a latency histogram's `le` bounds.
#[derive(Clone, Copy)]
enum Unit {
    Milliseconds,
    Seconds,
}

/// One router's count metric and selectors.
struct Selectors {
    /// The request counter (or a histogram's `+Inf` bucket, with its `le` matcher in the
    /// selectors).
    requests: &'static str,
    canary: String,
    primary: String,
    /// The matcher added for errors.
    errors: &'static str,
    /// The latency histogram, its unit, and matchers it needs beyond the arm's selector.
    histogram: (&'static str, Unit, &'static str),
}

/// The count queries for `family`, with the names of `context`, over exactly `window`.
pub fn count_queries(
    family: QueryFamily,
    criterion: ErrorCriterion,
    context: &TemplateContext,
    window: Duration,
) -> Result<CountQueries, CountQueryError> {
    if window.as_millis() == 0 {
        return Err(CountQueryError::EmptyWindow);
    }
    let range = format!("{}ms", window.as_millis());
    let s = selectors(family, context)?;
    let arm = |selector: &str| -> ArmQueries {
        match criterion {
            ErrorCriterion::ServerError => ArmQueries::Status {
                requests: count(s.requests, selector, "", &range),
                errors: count(s.requests, selector, s.errors, &range),
            },
            ErrorCriterion::SlowerThan(bound) => {
                let (histogram, unit, extra) = s.histogram;
                let spelled = spell_bound(bound, unit);
                // Traefik and Skipper count requests with the `+Inf` bucket already.
                let selector = selector.replace(",le=\"+Inf\"", "");
                let selector = format!("{selector}{extra}");
                ArmQueries::Latency {
                    requests: count(histogram, &selector, ",le=\"+Inf\"", &range),
                    within: count(
                        histogram,
                        &selector,
                        &format!(",le=~\"{}\"", bound_pattern(&spelled)),
                        &range,
                    ),
                    bound: spelled,
                }
            }
        }
    };
    Ok(CountQueries {
        canary: arm(&s.canary),
        primary: arm(&s.primary),
    })
}

fn count(metric: &str, selector: &str, extra: &str, range: &str) -> String {
    format!("sum(increase({metric}{{{selector}{extra}}}[{range}]))")
}

fn selectors(family: QueryFamily, c: &TemplateContext) -> Result<Selectors, CountQueryError> {
    let selectors = match family {
        QueryFamily::Istio | QueryFamily::Linkerd | QueryFamily::Osm | QueryFamily::Http => {
            mesh(family, c)
        }
        QueryFamily::Contour | QueryFamily::Gloo | QueryFamily::Kuma | QueryFamily::AppMesh => {
            envoy(family, c)
        }
        QueryFamily::Nginx | QueryFamily::Traefik | QueryFamily::Skipper | QueryFamily::Apisix => {
            ingress(family, c)
        }
        QueryFamily::Knative => None,
    };
    selectors.ok_or(CountQueryError::NoArmSelector(family))
}

/// Selectors by workload name: `<target>` and `<target>-primary`.
fn mesh(family: QueryFamily, c: &TemplateContext) -> Option<Selectors> {
    let (ns, t) = (c.namespace.as_str(), c.target.as_str());
    Some(match family {
        QueryFamily::Istio => {
            let arm = |w: &str| {
                format!(
                    "reporter=\"destination\",destination_workload_namespace=\"{ns}\",destination_workload=\"{w}\""
                )
            };
            Selectors {
                requests: "istio_requests_total",
                canary: arm(t),
                primary: arm(&format!("{t}-primary")),
                errors: ",response_code=~\"5..\"",
                histogram: (
                    "istio_request_duration_milliseconds_bucket",
                    Unit::Milliseconds,
                    "",
                ),
            }
        }
        QueryFamily::Linkerd => {
            let arm =
                |d: &str| format!("namespace=\"{ns}\",deployment=\"{d}\",direction=\"inbound\"");
            Selectors {
                requests: "response_total",
                canary: arm(t),
                primary: arm(&format!("{t}-primary")),
                errors: ",classification=\"failure\"",
                histogram: ("response_latency_ms_bucket", Unit::Milliseconds, ""),
            }
        }
        QueryFamily::Osm => {
            let arm = |d: &str| {
                format!(
                    "destination_namespace=\"{ns}\",destination_kind=\"Deployment\",destination_name=\"{d}\""
                )
            };
            Selectors {
                requests: "osm_request_total",
                canary: arm(t),
                primary: arm(&format!("{t}-primary")),
                errors: ",response_code=~\"5..\"",
                histogram: ("osm_request_duration_ms_bucket", Unit::Milliseconds, ""),
            }
        }
        QueryFamily::Http => Selectors {
            requests: "http_request_duration_seconds_count",
            canary: pods(ns, t),
            primary: pods(ns, &format!("{t}-primary")),
            errors: ",status=~\"5..\"",
            histogram: ("http_request_duration_seconds_bucket", Unit::Seconds, ""),
        },
        _ => return None,
    })
}

/// Selectors of Envoy's cluster metrics.
fn envoy(family: QueryFamily, c: &TemplateContext) -> Option<Selectors> {
    let (ns, t) = (c.namespace.as_str(), c.target.as_str());
    let envoy = "envoy_cluster_upstream_rq";
    let envoy_errors = ",envoy_response_code=~\"5..\"";
    let envoy_time = (
        "envoy_cluster_upstream_rq_time_bucket",
        Unit::Milliseconds,
        "",
    );
    Some(match family {
        QueryFamily::Contour => Selectors {
            requests: envoy,
            canary: format!("envoy_cluster_name=~\"{ns}_{t}-canary_[0-9a-zA-Z-]+\""),
            primary: format!("envoy_cluster_name=~\"{ns}_{t}-primary_[0-9a-zA-Z-]+\""),
            errors: envoy_errors,
            histogram: envoy_time,
        },
        QueryFamily::Gloo => Selectors {
            requests: envoy,
            canary: format!("envoy_cluster_name=~\"{ns}-{t}-canary-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+\""),
            primary: format!(
                "envoy_cluster_name=~\"{ns}-{t}-primary-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+\""
            ),
            errors: envoy_errors,
            histogram: envoy_time,
        },
        QueryFamily::Kuma => Selectors {
            requests: envoy,
            canary: format!("service=~\"{t}-canary_{ns}_svc_[0-9a-zA-Z-]+\""),
            primary: format!("service=~\"{t}-primary_{ns}_svc_[0-9a-zA-Z-]+\""),
            errors: envoy_errors,
            histogram: envoy_time,
        },
        QueryFamily::AppMesh => Selectors {
            requests: envoy,
            canary: pods(ns, t),
            primary: pods(ns, &format!("{t}-primary")),
            errors: envoy_errors,
            histogram: envoy_time,
        },
        _ => return None,
    })
}

/// Selectors of ingress controllers and gateways.
fn ingress(family: QueryFamily, c: &TemplateContext) -> Option<Selectors> {
    let (ns, t) = (c.namespace.as_str(), c.target.as_str());
    Some(match family {
        QueryFamily::Nginx => {
            let ingress = c.ingress.as_str();
            Selectors {
                requests: "nginx_ingress_controller_requests",
                canary: format!("namespace=\"{ns}\",ingress=\"{ingress}\",canary!=\"\""),
                primary: format!("namespace=\"{ns}\",ingress=\"{ingress}\",canary=\"\""),
                errors: ",status=~\"5..\"",
                histogram: (
                    "nginx_ingress_controller_request_duration_seconds_bucket",
                    Unit::Seconds,
                    "",
                ),
            }
        }
        QueryFamily::Traefik => {
            let arm = |role: &str| {
                format!("service=~\"{ns}-{t}-{role}-[0-9a-zA-Z-]+@kubernetescrd\",le=\"+Inf\"")
            };
            Selectors {
                requests: "traefik_service_request_duration_seconds_bucket",
                canary: arm("canary"),
                primary: arm("primary"),
                errors: ",code=~\"5..\"",
                histogram: (
                    "traefik_service_request_duration_seconds_bucket",
                    Unit::Seconds,
                    "",
                ),
            }
        }
        QueryFamily::Skipper => {
            // Route ids spell every non-word character as `_` (the context is encoded so).
            let (ingress, service) = (c.ingress.as_str(), c.service.as_str());
            Selectors {
                requests: "skipper_response_duration_seconds_bucket",
                canary: format!(
                    "route=~\"kube(ew)?_{ns}__{ingress}_canary__.*__{service}_canary(_[0-9]+)?\",le=\"+Inf\""
                ),
                primary: format!(
                    "route=~\"kube(ew)?_{ns}__{ingress}__.*__{service}_primary(_[0-9]+)?\",le=\"+Inf\""
                ),
                errors: ",code=~\"5..\"",
                histogram: (
                    "skipper_response_duration_seconds_bucket",
                    Unit::Seconds,
                    "",
                ),
            }
        }
        QueryFamily::Apisix => {
            let route = c.route.as_str();
            Selectors {
                requests: "apisix_http_status",
                canary: format!("route=~\"{ns}_{route}-{t}-canary_.+\""),
                primary: format!("route=~\"{ns}_{route}-{t}-primary_.+\""),
                errors: ",code=~\"5..\"",
                histogram: (
                    "apisix_http_latency_bucket",
                    Unit::Milliseconds,
                    ",type=\"request\"",
                ),
            }
        }
        _ => return None,
    })
}

/// Pods of a Deployment: `<target>-<replica set hash>-<pod hash>`.
fn pods(ns: &str, target: &str) -> String {
    format!(
        "kubernetes_namespace=\"{ns}\",kubernetes_pod_name=~\"{target}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)\""
    )
}

/// The bound in the histogram's unit, in its shortest decimal form (`250`, `0.25`, `1`).
fn spell_bound(bound: Duration, unit: Unit) -> String {
    let micros = bound.as_micros();
    let (whole, fraction, digits) = match unit {
        Unit::Milliseconds => (micros / 1000, micros % 1000, 3),
        Unit::Seconds => (micros / 1_000_000, micros % 1_000_000, 6),
    };
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// A regular expression matching the ways clients spell the bound: `1`, `1.0`, `0.25`,
/// `0.250`.
fn bound_pattern(spelled: &str) -> String {
    match spelled.split_once('.') {
        Some((whole, fraction)) => format!("{whole}\\\\.{fraction}0*"),
        None => format!("{spelled}(\\\\.0+)?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> TemplateContext {
        TemplateContext {
            name: "podinfo".into(),
            namespace: "test".into(),
            target: "podinfo".into(),
            service: "podinfo".into(),
            ingress: "podinfo".into(),
            route: "podinfo".into(),
            interval: "1m".into(),
            variables: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn istio_counts_both_arms_over_the_exact_window() {
        let q = count_queries(
            QueryFamily::Istio,
            ErrorCriterion::ServerError,
            &context(),
            Duration::from_millis(63_500),
        )
        .expect("istio has arm selectors");
        assert_eq!(
            q.canary,
            ArmQueries::Status {
                requests: r#"sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo"}[63500ms]))"#.into(),
                errors: r#"sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo",response_code=~"5.."}[63500ms]))"#.into(),
            }
        );
        let ArmQueries::Status { requests, .. } = &q.primary else {
            panic!("status queries")
        };
        assert!(requests.contains(r#"destination_workload="podinfo-primary""#));
    }

    #[test]
    fn slow_requests_are_read_at_the_bucket_in_the_histograms_unit() {
        let seconds = count_queries(
            QueryFamily::Http,
            ErrorCriterion::SlowerThan(Duration::from_millis(250)),
            &context(),
            Duration::from_secs(60),
        )
        .expect("http");
        let ArmQueries::Latency { within, bound, .. } = &seconds.canary else {
            panic!("latency queries")
        };
        assert_eq!(bound, "0.25");
        assert!(within.contains(r#"le=~"0\\.250*""#), "{within}");
        let millis = count_queries(
            QueryFamily::Traefik,
            ErrorCriterion::SlowerThan(Duration::from_secs(1)),
            &context(),
            Duration::from_secs(60),
        )
        .expect("traefik");
        let ArmQueries::Latency {
            requests, bound, ..
        } = &millis.primary
        else {
            panic!("latency queries")
        };
        assert_eq!(bound, "1");
        assert_eq!(
            requests.matches("le=").count(),
            1,
            "one +Inf matcher: {requests}"
        );
    }

    #[test]
    fn knative_and_an_empty_window_have_no_count_queries() {
        let c = context();
        assert_eq!(
            count_queries(
                QueryFamily::Knative,
                ErrorCriterion::ServerError,
                &c,
                Duration::from_secs(60)
            ),
            Err(CountQueryError::NoArmSelector(QueryFamily::Knative))
        );
        assert_eq!(
            count_queries(
                QueryFamily::Istio,
                ErrorCriterion::ServerError,
                &c,
                Duration::ZERO
            ),
            Err(CountQueryError::EmptyWindow)
        );
    }
}
