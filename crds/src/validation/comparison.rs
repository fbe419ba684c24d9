//! Validation of a metric's `comparison`: the judge's settings, and where the counts come from.

use std::time::Duration;

use serin_judge::{Alpha, Hypothesis, MAX_MARGIN, Margin, Sides};

use crate::canary::{ComparisonSides, CrossNamespaceRef, MetricComparison, Provider};

use super::{BuiltinMetric, MetricSource, Problems};

/// The smallest alpha accepted: below it, the judge would need more evidence than a release
/// gathers.
pub const MIN_COMPARISON_ALPHA: f64 = 1e-6;
/// The largest alpha accepted.
pub const MAX_COMPARISON_ALPHA: f64 = 0.2;

/// A metric's comparison of canary and primary, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The level.
    pub alpha: Alpha,
    /// One- or two-sided, and the tolerated margin.
    pub hypothesis: Hypothesis,
    /// Where the four counts of a window come from.
    pub counts: CountSource,
}

/// Where the requests and errors of each version come from.
#[derive(Clone, Debug, PartialEq)]
pub enum CountSource {
    /// The router's request counter; errors are the 5xx responses (`request-success-rate`).
    BuiltinErrors,
    /// The router's latency histogram; errors are the requests slower than this bound
    /// (`request-duration`).
    BuiltinSlowerThan(Duration),
    /// Two MetricTemplates, rendered once per version.
    Templates {
        /// Counts the requests.
        requests: CrossNamespaceRef,
        /// Counts the failed requests.
        errors: CrossNamespaceRef,
    },
}

/// Where a comparison is checked: the metric's source, and the Canary's strategy and router.
pub(crate) struct ComparisonContext<'a> {
    pub(crate) path: &'a str,
    pub(crate) source: Option<&'a MetricSource>,
    pub(crate) ab_testing: bool,
    pub(crate) provider: Option<Provider>,
}

pub(crate) fn comparison(
    c: &MetricComparison,
    at: &ComparisonContext<'_>,
    p: &mut Problems,
) -> Option<Comparison> {
    let path = format!("{}.comparison", at.path);
    let before = p.0.len();
    if at.ab_testing {
        p.add(
            &path,
            "cannot be combined with A/B testing (match): its traffic is not a random split",
        );
    }
    let alpha = c.alpha.unwrap_or(Alpha::DEFAULT.value());
    if !(MIN_COMPARISON_ALPHA..=MAX_COMPARISON_ALPHA).contains(&alpha) {
        p.add(
            format!("{path}.alpha"),
            format!("must be between {MIN_COMPARISON_ALPHA} and {MAX_COMPARISON_ALPHA}"),
        );
    }
    let sides = match c.sides.unwrap_or_default() {
        ComparisonSides::OneSided => Sides::OneSided,
        ComparisonSides::TwoSided => Sides::TwoSided,
    };
    if let Some(margin) = c.margin {
        if !(margin.is_finite() && (1.0..=MAX_MARGIN).contains(&margin)) {
            p.add(
                format!("{path}.margin"),
                format!("must be between 1 and {MAX_MARGIN}"),
            );
        } else if sides == Sides::TwoSided {
            p.add(
                format!("{path}.margin"),
                "applies to OneSided comparisons only",
            );
        }
    }
    let counts = counts(c, at, &path, p);
    if p.0.len() > before {
        return None;
    }
    let margin = Margin::new(c.margin.unwrap_or(1.0)).ok()?;
    Some(Comparison {
        alpha: Alpha::new(alpha).ok()?,
        hypothesis: Hypothesis::new(sides, margin).ok()?,
        counts: counts?,
    })
}

fn counts(
    c: &MetricComparison,
    at: &ComparisonContext<'_>,
    path: &str,
    p: &mut Problems,
) -> Option<CountSource> {
    let builtin = match at.source {
        Some(MetricSource::Builtin(b)) => Some(*b),
        Some(MetricSource::Template(_) | MetricSource::Query(_)) => None,
        None => return None,
    };
    let templates = match (&c.requests_template_ref, &c.errors_template_ref) {
        (Some(requests), Some(errors)) => {
            for (field, r) in [
                ("requestsTemplateRef", requests),
                ("errorsTemplateRef", errors),
            ] {
                if r.name.trim().is_empty() {
                    p.add(format!("{path}.{field}.name"), "must not be empty");
                }
            }
            Some(CountSource::Templates {
                requests: requests.clone(),
                errors: errors.clone(),
            })
        }
        (None, None) => None,
        _ => {
            p.add(
                path,
                "set requestsTemplateRef and errorsTemplateRef together",
            );
            return None;
        }
    };
    let slower_than = c
        .slower_than
        .as_deref()
        .and_then(|text| p.duration(&format!("{path}.slowerThan"), text));
    if c.slower_than.is_some()
        && (builtin != Some(BuiltinMetric::RequestDuration) || templates.is_some())
    {
        p.add(
            format!("{path}.slowerThan"),
            "applies to the built-in request-duration metric only",
        );
        return None;
    }
    if let Some(templates) = templates {
        return Some(templates);
    }
    if at.provider == Some(Provider::Knative) && builtin.is_some() {
        p.add(
            path,
            "knative has no per-revision selector in the built-in metrics; set \
             requestsTemplateRef and errorsTemplateRef",
        );
        return None;
    }
    match builtin {
        Some(BuiltinMetric::RequestSuccessRate) => Some(CountSource::BuiltinErrors),
        Some(BuiltinMetric::RequestDuration) => match slower_than {
            Some(bound) => Some(CountSource::BuiltinSlowerThan(bound)),
            None => {
                if c.slower_than.is_none() {
                    p.add(
                        path,
                        "needs slowerThan for request-duration: the latency above which a request counts as an error",
                    );
                }
                None
            }
        },
        None => {
            p.add(
                path,
                "a metric other than the built-in ones needs requestsTemplateRef and errorsTemplateRef",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validation::validate_canary;
    use crate::{Canary, CanarySpec};

    use super::*;

    fn spec(metrics: &str, extra: &str) -> CanarySpec {
        let canary: Canary = serde_yaml::from_str(&format!(
            "apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {{name: podinfo, namespace: test}}
spec:
  provider: istio
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
  service: {{port: 9898}}
  analysis:
    interval: 30s
    threshold: 5
{extra}
    metrics:
{metrics}"
        ))
        .expect("a Canary");
        canary.spec
    }

    fn problems(metrics: &str, extra: &str) -> Vec<String> {
        match validate_canary(&spec(metrics, extra), None) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors().iter().map(ToString::to_string).collect(),
        }
    }

    const PROGRESSIVE: &str = "    stepWeight: 10";

    #[test]
    fn an_empty_comparison_on_the_success_rate_takes_the_defaults_and_needs_no_threshold() {
        let valid = validate_canary(
            &spec(
                "      - {name: request-success-rate, comparison: {}}",
                PROGRESSIVE,
            ),
            None,
        )
        .expect("valid");
        let check = &valid.metrics[0];
        assert_eq!(check.range, None);
        let comparison = check.comparison.as_ref().expect("a comparison");
        assert_eq!(comparison.alpha, Alpha::DEFAULT);
        assert_eq!(comparison.hypothesis, Hypothesis::ONE_SIDED);
        assert_eq!(comparison.counts, CountSource::BuiltinErrors);
    }

    #[test]
    fn request_duration_counts_slow_requests_and_needs_a_bound() {
        let valid = validate_canary(
            &spec(
                "      - {name: request-duration, thresholdRange: {max: 500}, comparison: {slowerThan: 250ms, alpha: 0.05}}",
                PROGRESSIVE,
            ),
            None,
        )
        .expect("valid");
        let check = &valid.metrics[0];
        assert!(check.range.is_some(), "the threshold applies too");
        let comparison = check.comparison.as_ref().expect("a comparison");
        assert_eq!(
            comparison.counts,
            CountSource::BuiltinSlowerThan(Duration::from_millis(250))
        );
        assert!((comparison.alpha.value() - 0.05).abs() < f64::EPSILON);
        assert_eq!(
            problems(
                "      - {name: request-duration, comparison: {}}",
                PROGRESSIVE
            ),
            [
                "spec.analysis.metrics[0].comparison: needs slowerThan for request-duration: the latency above which a request counts as an error"
            ]
        );
    }

    #[test]
    fn out_of_range_settings_are_refused_with_their_field() {
        assert_eq!(
            problems(
                "      - {name: request-success-rate, comparison: {alpha: 0.5, margin: 0.9}}",
                PROGRESSIVE
            ),
            [
                "spec.analysis.metrics[0].comparison.alpha: must be between 0.000001 and 0.2",
                "spec.analysis.metrics[0].comparison.margin: must be between 1 and 1000",
            ]
        );
        assert_eq!(
            problems(
                "      - {name: request-success-rate, comparison: {sides: TwoSided, margin: 1.5}}",
                PROGRESSIVE
            ),
            ["spec.analysis.metrics[0].comparison.margin: applies to OneSided comparisons only"]
        );
        assert_eq!(
            problems(
                "      - {name: request-success-rate, comparison: {slowerThan: 1s}}",
                PROGRESSIVE
            ),
            [
                "spec.analysis.metrics[0].comparison.slowerThan: applies to the built-in request-duration metric only"
            ]
        );
    }

    #[test]
    fn a_comparison_is_refused_with_ab_testing() {
        assert_eq!(
            problems(
                "      - {name: request-success-rate, comparison: {}}",
                "    iterations: 5\n    match: [{headers: {x-canary: {exact: insider}}}]"
            ),
            [
                "spec.analysis.metrics[0].comparison: cannot be combined with A/B testing (match): its traffic is not a random split"
            ]
        );
    }

    #[test]
    fn template_metrics_need_both_count_templates() {
        assert_eq!(
            problems(
                "      - {name: errors, templateRef: {name: errors}, comparison: {}}",
                PROGRESSIVE
            ),
            [
                "spec.analysis.metrics[0].comparison: a metric other than the built-in ones needs requestsTemplateRef and errorsTemplateRef"
            ]
        );
        assert_eq!(
            problems(
                "      - {name: errors, templateRef: {name: errors}, comparison: {requestsTemplateRef: {name: requests}}}",
                PROGRESSIVE
            ),
            [
                "spec.analysis.metrics[0].comparison: set requestsTemplateRef and errorsTemplateRef together"
            ]
        );
        let valid = validate_canary(
            &spec(
                "      - {name: errors, templateRef: {name: errors}, comparison: {requestsTemplateRef: {name: requests}, errorsTemplateRef: {name: failures, namespace: ops}}}",
                PROGRESSIVE,
            ),
            None,
        )
        .expect("valid");
        assert!(matches!(
            valid.metrics[0].comparison.as_ref().map(|c| &c.counts),
            Some(CountSource::Templates { errors, .. }) if errors.namespace.as_deref() == Some("ops")
        ));
    }

    #[test]
    fn on_error_defaults_to_fail_and_reads_hold() {
        let valid = validate_canary(
            &spec(
                "      - {name: request-success-rate, thresholdRange: {min: 99}, onError: Hold}\n      - {name: request-duration, thresholdRange: {max: 500}}",
                PROGRESSIVE,
            ),
            None,
        )
        .expect("valid");
        assert_eq!(
            valid.metrics[0].on_error,
            crate::canary::MetricOnError::Hold
        );
        assert_eq!(
            valid.metrics[1].on_error,
            crate::canary::MetricOnError::Fail
        );
    }
}
