//! Turns a Canary's validated metric checks into checks ready to run: each metric's query is
//! found (built-in, MetricTemplate or the deprecated inline query), rendered, and paired with
//! the provider that answers it and the range it must stay within. Pure: no I/O. The input is
//! the validated model ([`serin_crds::validation::ValidCanary`]); nothing here reads the raw
//! Canary spec.

use std::collections::BTreeMap;
use std::time::Duration;

use serin_crds::canary::{MetricNoData, Provider};
use serin_crds::metric_template::{MetricProvider, MetricProviderType};
use serin_crds::query_template::{QueryTemplate, TemplateError};
use serin_crds::validation::{
    self, MetricSource, ValidChecks, ValidationErrors, parse_go_duration, validate_checks,
};
use serin_crds::{Canary, MetricTemplate};

use crate::builtin::BuiltinQuery;
use crate::context::{ContextOverrides, PlanSubject, normalize_query};
use crate::threshold::Thresholds;

/// Where a check's query comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckSource {
    /// A built-in metric, with the router's default query.
    Builtin(BuiltinQuery),
    /// A MetricTemplate.
    Template {
        /// Namespace of the template.
        namespace: String,
        /// Name of the template.
        name: String,
    },
    /// The deprecated `query` field, run as written against the metrics server.
    InlineQuery,
}

/// A metric check ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCheck {
    /// Name of the check (`spec.analysis.metrics[].name`).
    pub name: String,
    /// Where the query comes from.
    pub source: CheckSource,
    /// The rendered query, whitespace collapsed.
    pub query: String,
    /// The window the query looks back over: the metric's `interval` (one minute by default).
    pub window: Duration,
    /// The backend that answers it. For built-in metrics and inline queries, a Prometheus
    /// provider at the metrics server's address.
    pub provider: MetricProvider,
    /// Namespace of the Secret in `provider.secretRef` (the template's namespace).
    pub secret_namespace: String,
    /// The accepted range.
    pub thresholds: Thresholds,
    /// What no data means for this check.
    pub on_no_data: MetricNoData,
}

impl MetricCheck {
    /// The Secret (namespace, name) whose data the check's provider needs, if any: the caller
    /// reads it and passes it to [`crate::check::run_planned`] or [`crate::build_provider`].
    pub fn secret(&self) -> Option<(&str, &str)> {
        self.provider
            .secret_ref
            .as_ref()
            .map(|r| (self.secret_namespace.as_str(), r.name.as_str()))
    }

    /// The built-in query, when the check is a built-in metric.
    pub fn builtin(&self) -> Option<&BuiltinQuery> {
        match &self.source {
            CheckSource::Builtin(query) => Some(query),
            CheckSource::Template { .. } | CheckSource::InlineQuery => None,
        }
    }
}

/// Why a metric cannot be turned into a check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// `templateRef` names a MetricTemplate that does not exist.
    #[error("MetricTemplate {namespace}/{name} was not found")]
    TemplateNotFound {
        /// Namespace looked in.
        namespace: String,
        /// Name looked for.
        name: String,
    },
    /// The query template does not parse or render.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The metric's `interval`, as overridden by `serin analyze --set interval=...`, is not a
    /// duration longer than zero.
    #[error("interval `{interval}` is not a duration: {reason}")]
    InvalidInterval {
        /// The interval as written.
        interval: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl PlanError {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            PlanError::TemplateNotFound { .. } => "template_not_found",
            PlanError::Template(_) => "template",
            PlanError::InvalidInterval { .. } => "invalid_interval",
        }
    }
}

/// A metric that could not be planned, with what is known of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFailure {
    /// Name of the check.
    pub name: String,
    /// Accepted range of the check.
    pub thresholds: Thresholds,
    /// What went wrong.
    pub error: PlanError,
}

/// What planning needs besides the Canary.
#[derive(Clone, Copy, Debug)]
pub struct PlanInputs<'a> {
    /// MetricTemplates that `templateRef`s may name.
    pub templates: &'a [MetricTemplate],
    /// The controller's metrics server, used unless the Canary sets `spec.metricsServer`.
    pub metrics_server: &'a str,
    /// The router to assume when the Canary sets no `spec.provider`.
    pub default_router: Provider,
    /// Values that replace the Canary's in every template context.
    pub overrides: &'a ContextOverrides,
}

/// Plans the threshold checks of `subject`, in spec order. A metric judged by its comparison
/// alone (no threshold) has no check here: the comparison counts it.
pub fn plan_checks(
    subject: &PlanSubject<'_>,
    inputs: &PlanInputs<'_>,
) -> Vec<Result<MetricCheck, PlanFailure>> {
    subject
        .metrics
        .iter()
        .filter_map(|metric| {
            let range = metric.range?;
            let planned = plan_check(subject, metric, range, inputs).map_err(|error| PlanFailure {
                name: metric.name.clone(),
                thresholds: range,
                error,
            });
            Some(planned)
        })
        .collect()
}

/// Validates the checks of `canary` as the controller does (`inputs.default_router` standing
/// for `--mesh-provider`) and plans them: for `serin analyze` and tests, which start from a
/// Canary document that may be incomplete outside its metrics.
pub fn plan_canary(
    canary: &Canary,
    inputs: &PlanInputs<'_>,
) -> Result<(ValidChecks, Vec<Result<MetricCheck, PlanFailure>>), ValidationErrors> {
    let checks = validate_checks(&canary.spec, Some(inputs.default_router))?;
    let subject = PlanSubject::of_checks(
        canary.metadata.name.as_deref().unwrap_or_default(),
        canary.metadata.namespace.as_deref().unwrap_or_default(),
        &checks,
    );
    let planned = plan_checks(&subject, inputs);
    Ok((checks, planned))
}

/// Plans one validated metric of `subject` with the accepted `range`.
fn plan_check(
    subject: &PlanSubject<'_>,
    metric: &validation::MetricCheck,
    range: Thresholds,
    inputs: &PlanInputs<'_>,
) -> Result<MetricCheck, PlanError> {
    let mut context = subject.template_context(&metric.interval, metric.variables.clone());
    inputs.overrides.apply(&mut context);
    let window = if context.interval == metric.interval {
        metric.window
    } else {
        overridden_window(&context.interval)?
    };
    let canary_namespace = context.namespace.clone();
    let metrics_server = subject.metrics_server(inputs.metrics_server);
    let metrics_server_provider = MetricProvider {
        type_: MetricProviderType::Prometheus,
        address: Some(metrics_server.to_owned()),
        ..MetricProvider::default()
    };

    let (source, query, provider, secret_namespace) = match &metric.source {
        MetricSource::Template(reference) => {
            let namespace = reference
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| canary_namespace.clone());
            let template = find_template(inputs.templates, &namespace, &reference.name)
                .ok_or_else(|| PlanError::TemplateNotFound {
                    namespace: namespace.clone(),
                    name: reference.name.clone(),
                })?;
            let query = QueryTemplate::parse(&template.spec.query)?.render(&context)?;
            let source = CheckSource::Template {
                namespace: namespace.clone(),
                name: reference.name.clone(),
            };
            (source, query, template.spec.provider.clone(), namespace)
        }
        MetricSource::Builtin(builtin) => {
            let router = subject.router.unwrap_or(inputs.default_router);
            let builtin = BuiltinQuery::new(*builtin, router);
            let query =
                QueryTemplate::parse(builtin.template)?.render(&builtin.context(&context))?;
            let source = CheckSource::Builtin(builtin);
            (source, query, metrics_server_provider, canary_namespace)
        }
        // As in Flagger, the deprecated inline query runs as written, unrendered.
        MetricSource::Query(template) => (
            CheckSource::InlineQuery,
            template.source().to_owned(),
            metrics_server_provider,
            canary_namespace,
        ),
    };

    Ok(MetricCheck {
        name: metric.name.clone(),
        source,
        query: normalize_query(&query),
        window,
        provider,
        secret_namespace,
        thresholds: range,
        on_no_data: metric.on_no_data,
    })
}

/// The window `serin analyze --set interval=...` asks for.
fn overridden_window(interval: &str) -> Result<Duration, PlanError> {
    match parse_go_duration(interval) {
        Ok(window) if !window.is_zero() => Ok(window),
        Ok(_) => Err(PlanError::InvalidInterval {
            interval: interval.to_owned(),
            reason: "it must be longer than zero".into(),
        }),
        Err(e) => Err(PlanError::InvalidInterval {
            interval: interval.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// The template `namespace/name`. A template without a namespace (as in a file given to
/// `serin analyze`) matches any namespace.
fn find_template<'a>(
    templates: &'a [MetricTemplate],
    namespace: &str,
    name: &str,
) -> Option<&'a MetricTemplate> {
    let named = |t: &&MetricTemplate| t.metadata.name.as_deref() == Some(name);
    templates
        .iter()
        .filter(named)
        .find(|t| t.metadata.namespace.as_deref() == Some(namespace))
        .or_else(|| {
            templates
                .iter()
                .filter(named)
                .find(|t| t.metadata.namespace.as_deref().is_none_or(str::is_empty))
        })
}

/// Secrets by namespace and name, as the caller read them: the data of each, decoded.
pub type SecretData = BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(metrics: &str) -> Canary {
        serde_yaml::from_str(&format!(
            "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: linkerd
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 80}}
  analysis:
    interval: 30s
    threshold: 2
    stepWeight: 10
    maxWeight: 50
    metrics:
{metrics}"
        ))
        .unwrap()
    }

    fn template(namespace: Option<&str>, query: &str) -> MetricTemplate {
        let mut t: MetricTemplate = serde_yaml::from_str(&format!(
            "apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata: {{name: errors}}
spec:
  provider: {{type: prometheus, address: 'http://templates:9090', secretRef: {{name: auth}}}}
  query: '{query}'"
        ))
        .unwrap();
        t.metadata.namespace = namespace.map(str::to_owned);
        t
    }

    fn plan(
        canary: &Canary,
        templates: &[MetricTemplate],
    ) -> Vec<Result<MetricCheck, PlanFailure>> {
        let overrides = ContextOverrides::default();
        plan_canary(canary, &inputs(templates, &overrides))
            .unwrap()
            .1
    }

    fn inputs<'a>(
        templates: &'a [MetricTemplate],
        overrides: &'a ContextOverrides,
    ) -> PlanInputs<'a> {
        PlanInputs {
            templates,
            metrics_server: "http://controller-default:9090",
            default_router: Provider::Istio,
            overrides,
        }
    }

    #[test]
    fn builtins_use_the_routers_query_the_metrics_server_and_a_one_minute_window() {
        let mut c = canary("      - {name: request-success-rate, threshold: 99}");
        let check = plan(&c, &[]).remove(0).unwrap();
        assert!(
            check.query.starts_with("sum( rate( response_total{"),
            "{}",
            check.query
        );
        assert!(
            check.query.contains("[1m]"),
            "not the 30s analysis interval"
        );
        assert_eq!(
            check.provider.address.as_deref(),
            Some("http://controller-default:9090")
        );
        assert_eq!(
            check.thresholds,
            Thresholds {
                min: Some(99.0),
                max: None
            }
        );

        c.spec.metrics_server = Some("http://canary-own:9090".into());
        let check = plan(&c, &[]).remove(0).unwrap();
        assert_eq!(
            check.provider.address.as_deref(),
            Some("http://canary-own:9090")
        );
    }

    #[test]
    fn a_template_ref_wins_and_its_namespace_defaults_to_the_canarys() {
        let c = canary(
            "      - {name: request-success-rate, interval: 2m, templateRef: {name: errors}, threshold: 1}",
        );
        let templates = [
            template(Some("other"), "wrong"),
            template(
                Some("test"),
                "rate(x{ns=\"{{ namespace }}\"}[{{ interval }}])",
            ),
        ];
        let check = plan(&c, &templates).remove(0).unwrap();
        assert_eq!(check.query, "rate(x{ns=\"test\"}[2m])");
        assert_eq!(check.window, Duration::from_secs(120));
        assert_eq!(
            check.provider.address.as_deref(),
            Some("http://templates:9090")
        );
        assert_eq!(check.secret(), Some(("test", "auth")));
        assert_eq!(
            check.source,
            CheckSource::Template {
                namespace: "test".into(),
                name: "errors".into()
            }
        );
    }

    #[test]
    fn a_missing_template_is_a_plan_failure_and_a_metric_without_a_query_is_invalid() {
        let c = canary(
            "      - {name: errors, templateRef: {name: errors, namespace: ops}, threshold: 1}",
        );
        let planned = plan(&c, &[template(Some("test"), "x")]);
        let first = planned[0].as_ref().unwrap_err();
        assert_eq!(first.error.category(), "template_not_found");
        assert_eq!(
            first.error.to_string(),
            "MetricTemplate ops/errors was not found"
        );
        let c = canary("      - {name: custom, threshold: 1}");
        let errors = plan_canary(&c, &inputs(&[], &ContextOverrides::default())).unwrap_err();
        assert_eq!(errors.errors()[0].path, "spec.analysis.metrics[0]");
    }

    #[test]
    fn a_metric_judged_by_its_comparison_alone_has_no_threshold_check() {
        let c = canary(
            "      - {name: request-success-rate, comparison: {}}\n      - {name: request-duration, threshold: 500}",
        );
        let planned = plan(&c, &[]);
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].as_ref().unwrap().name, "request-duration");
    }

    #[test]
    fn an_interval_set_by_analyze_replaces_the_window() {
        let c = canary("      - {name: request-duration, threshold: 500, interval: 2m}");
        let mut overrides = ContextOverrides::default();
        overrides.set("interval", "5m").unwrap();
        let check = plan_canary(&c, &inputs(&[], &overrides))
            .unwrap()
            .1
            .remove(0)
            .unwrap();
        assert_eq!(check.window, Duration::from_secs(300));
        assert!(check.query.contains("[5m]"), "{}", check.query);
        overrides.set("interval", "0s").unwrap();
        let planned = plan_canary(&c, &inputs(&[], &overrides)).unwrap().1;
        let failure = planned[0].as_ref().unwrap_err();
        assert_eq!(failure.error.category(), "invalid_interval");
    }

    #[test]
    fn an_inline_query_runs_as_written_against_the_metrics_server() {
        let c = canary(
            "      - {name: custom, query: 'sum(up{job=\"{{ namespace }}\"})', threshold: 1}",
        );
        let check = plan(&c, &[]).remove(0).unwrap();
        assert_eq!(check.query, "sum(up{job=\"{{ namespace }}\"})");
        assert_eq!(check.source, CheckSource::InlineQuery);
        assert_eq!(
            check.thresholds,
            Thresholds {
                min: None,
                max: Some(1.0)
            }
        );
    }
}
