//! Validation of metric checks: where each value comes from and the range it must fall in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::canary::{
    CanaryMetric, CanarySpec, CrossNamespaceRef, MetricNoData, MetricOnError, Provider,
};
use crate::query_template::QueryTemplate;

use super::comparison::{Comparison, ComparisonContext, comparison};
use super::range::Range;
use super::service::ServiceNames;
use super::{Problems, ValidationErrors};

/// The window of a metric without `interval`, as in Flagger.
pub const DEFAULT_METRIC_WINDOW: Duration = Duration::from_secs(60);

/// [`DEFAULT_METRIC_WINDOW`] as a query template renders it.
pub const DEFAULT_METRIC_INTERVAL: &str = "1m";

/// One metric check, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCheck {
    /// Name of the check.
    pub name: String,
    /// Window the query looks back over (`1m` when the metric gives no interval).
    pub window: Duration,
    /// The window as written (`1m` when the metric gives no interval): what `{{ interval }}`
    /// renders to in a query.
    pub interval: String,
    /// Accepted range; `None` when the metric is judged by its comparison alone.
    pub range: Option<Range>,
    /// Where the value comes from.
    pub source: MetricSource,
    /// Values for `{{ variables.NAME }}`.
    pub variables: BTreeMap<String, String>,
    /// What no data means.
    pub on_no_data: MetricNoData,
    /// What a provider error means.
    pub on_error: MetricOnError,
    /// The comparison of canary and primary, when the metric has one.
    pub comparison: Option<Comparison>,
}

/// Where a metric's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSource {
    /// One of the metrics serin knows for every router.
    Builtin(BuiltinMetric),
    /// A MetricTemplate.
    Template(CrossNamespaceRef),
    /// A Prometheus query given inline (deprecated), run against the canary's metrics server.
    Query(QueryTemplate),
}

/// Metrics serin computes without a MetricTemplate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinMetric {
    /// Percentage of requests that did not answer 5xx.
    RequestSuccessRate,
    /// 99th percentile request duration, in milliseconds.
    RequestDuration,
}

impl BuiltinMetric {
    /// Both built-in metrics.
    pub const ALL: [BuiltinMetric; 2] = [
        BuiltinMetric::RequestSuccessRate,
        BuiltinMetric::RequestDuration,
    ];

    /// The name that selects this metric.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinMetric::RequestSuccessRate => "request-success-rate",
            BuiltinMetric::RequestDuration => "request-duration",
        }
    }

    /// The built-in metric with this check name, if any.
    pub fn from_name(name: &str) -> Option<BuiltinMetric> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The unit of the value, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            BuiltinMetric::RequestSuccessRate => "%",
            BuiltinMetric::RequestDuration => "ms",
        }
    }
}

/// What the metric checks of a Canary need, validated on their own: `serin analyze` runs the
/// checks of a Canary that need not be complete otherwise. The controller uses the same fields
/// of [`super::ValidCanary`].
#[derive(Clone, Debug, PartialEq)]
pub struct ValidChecks {
    /// The router in effect, as in [`super::ValidCanary::provider`].
    pub provider: Option<Provider>,
    /// Prometheus address for built-in metrics, overriding the controller's.
    pub metrics_server: Option<url::Url>,
    /// Metric checks, in spec order.
    pub metrics: Vec<MetricCheck>,
    /// The target's name.
    pub target: String,
    /// The apex Service's name.
    pub service: String,
    /// `spec.ingressRef.name`.
    pub ingress_ref: Option<String>,
    /// `spec.routeRef.name`.
    pub route_ref: Option<String>,
}

/// Validates what the metric checks of `spec` need: the metrics, `metricsServer` and the names
/// their queries may use. `default_provider` is as for [`super::validate_canary`].
pub fn validate_checks(
    spec: &CanarySpec,
    default_provider: Option<Provider>,
) -> Result<ValidChecks, ValidationErrors> {
    let mut p = Problems::default();
    let provider = spec.provider.or(default_provider);
    let (metrics, metrics_server) = spec_checks(spec, provider, &mut p);
    let target = spec.target_ref.name.clone();
    let names = ServiceNames::new(&target, spec.service.as_ref());
    p.finish(|| ValidChecks {
        provider,
        metrics_server,
        metrics,
        service: names.apex,
        target,
        ingress_ref: spec.ingress_ref.as_ref().map(|r| r.name.clone()),
        route_ref: spec.route_ref.as_ref().map(|r| r.name.clone()),
    })
}

/// The metric checks and `metricsServer` of `spec`, with `provider` the router in effect.
pub(crate) fn spec_checks(
    spec: &CanarySpec,
    provider: Option<Provider>,
    p: &mut Problems,
) -> (Vec<MetricCheck>, Option<url::Url>) {
    let a = &spec.analysis;
    let ab_testing = a.match_.as_ref().is_some_and(|m| !m.is_empty());
    let metrics = metric_checks(
        a.metrics.as_deref().unwrap_or_default(),
        ab_testing,
        provider,
        p,
    );
    let metrics_server = spec
        .metrics_server
        .as_deref()
        .and_then(|u| p.http_url("spec.metricsServer", u));
    (metrics, metrics_server)
}

/// Validates the metric checks; `ab_testing` when the Canary has `match` (no comparison then),
/// `provider` the router in effect when known.
fn metric_checks(
    metrics: &[CanaryMetric],
    ab_testing: bool,
    provider: Option<Provider>,
    p: &mut Problems,
) -> Vec<MetricCheck> {
    let mut names = BTreeSet::new();
    let mut checks = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let path = format!("spec.analysis.metrics[{i}]");
        if m.name.trim().is_empty() {
            p.add(format!("{path}.name"), "must not be empty");
        } else if !names.insert(m.name.as_str()) {
            p.add(
                format!("{path}.name"),
                format!(
                    "{:?} is used by another metric; names must be unique",
                    m.name
                ),
            );
        }
        let window = match &m.interval {
            Some(text) => p.duration(&format!("{path}.interval"), text),
            None => Some(DEFAULT_METRIC_WINDOW),
        };
        let source = source(m, &path, p);
        // `Some(None)`: a comparison that did not validate (its problems are recorded).
        let compared: Option<Option<Comparison>> = m.comparison.as_ref().map(|c| {
            let at = ComparisonContext {
                path: &path,
                source: source.as_ref(),
                ab_testing,
                provider,
            };
            comparison(c, &at, p)
        });
        // Without a threshold, a compared metric is judged by its comparison alone.
        let range = if compared.is_some() && m.threshold_range.is_none() && m.threshold.is_none() {
            Some(None)
        } else {
            range(m, source.as_ref(), &path, p).map(Some)
        };
        let comparison = match compared {
            None => Some(None),
            Some(valid) => valid.map(Some),
        };
        if let (Some(window), Some(source), Some(range), Some(comparison)) =
            (window, source, range, comparison)
        {
            checks.push(MetricCheck {
                name: m.name.clone(),
                window,
                interval: m
                    .interval
                    .clone()
                    .unwrap_or_else(|| DEFAULT_METRIC_INTERVAL.into()),
                range,
                source,
                variables: m.template_variables.clone().unwrap_or_default(),
                on_no_data: m.on_no_data.unwrap_or_default(),
                on_error: m.on_error.unwrap_or_default(),
                comparison,
            });
        }
    }
    checks
}

fn source(m: &CanaryMetric, path: &str, p: &mut Problems) -> Option<MetricSource> {
    match (&m.template_ref, &m.query) {
        (Some(_), Some(_)) => {
            p.add(path, "set templateRef or query, not both");
            None
        }
        (Some(r), None) => {
            if r.name.trim().is_empty() {
                p.add(format!("{path}.templateRef.name"), "must not be empty");
                return None;
            }
            Some(MetricSource::Template(r.clone()))
        }
        (None, Some(q)) => match QueryTemplate::parse(q) {
            Ok(t) => {
                let vars = m.template_variables.clone().unwrap_or_default();
                if let Err(e) = t.check_variables(&vars) {
                    p.add(format!("{path}.query"), e.to_string());
                }
                Some(MetricSource::Query(t))
            }
            Err(e) => {
                p.add(format!("{path}.query"), e.to_string());
                None
            }
        },
        (None, None) => match BuiltinMetric::from_name(&m.name) {
            Some(b) => Some(MetricSource::Builtin(b)),
            None => {
                p.add(
                    path,
                    format!(
                        "{:?} is not a built-in metric (request-success-rate, request-duration); \
                         give it a templateRef",
                        m.name
                    ),
                );
                None
            }
        },
    }
}

fn range(
    m: &CanaryMetric,
    source: Option<&MetricSource>,
    path: &str,
    p: &mut Problems,
) -> Option<Range> {
    let range = match (m.threshold_range, m.threshold) {
        (Some(r), _) => Range {
            min: r.min,
            max: r.max,
        },
        // The deprecated single threshold is a floor for the success rate, a ceiling otherwise.
        (None, Some(t))
            if source == Some(&MetricSource::Builtin(BuiltinMetric::RequestSuccessRate)) =>
        {
            Range {
                min: Some(t),
                max: None,
            }
        }
        (None, Some(t)) => Range {
            min: None,
            max: Some(t),
        },
        (None, None) => {
            p.add(
                path,
                "needs thresholdRange (min, max or both) or a comparison to judge the value against",
            );
            return None;
        }
    };
    if range.min.is_none() && range.max.is_none() {
        p.add(format!("{path}.thresholdRange"), "set min, max or both");
        return None;
    }
    for (bound, value) in [("min", range.min), ("max", range.max)] {
        if value.is_some_and(|v| !v.is_finite()) {
            p.add(
                format!("{path}.thresholdRange.{bound}"),
                "must be a finite number",
            );
            return None;
        }
    }
    if let (Some(min), Some(max)) = (range.min, range.max)
        && min > max
    {
        p.add(
            format!("{path}.thresholdRange"),
            format!("min ({min}) must not be greater than max ({max})"),
        );
        return None;
    }
    Some(range)
}
