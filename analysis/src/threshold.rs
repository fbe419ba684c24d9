//! The accepted range of a metric check and the judgement of a value against it, with
//! Flagger's semantics for the deprecated single `threshold`.

use std::fmt;

use serin_crds::canary::{CanaryMetric, ThresholdRange};

use crate::builtin::BuiltinMetric;

/// Inclusive bounds a value must stay within. A missing bound is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Thresholds {
    /// Lowest accepted value.
    pub min: Option<f64>,
    /// Highest accepted value.
    pub max: Option<f64>,
}

/// Where a value lies relative to its [`Thresholds`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Judgement {
    /// Within the range (bounds included).
    Within,
    /// Below the minimum.
    Below(f64),
    /// Above the maximum.
    Above(f64),
}

impl Thresholds {
    /// The range a check enforces. `thresholdRange` wins; otherwise the deprecated `threshold`
    /// is a minimum for `request-success-rate` and a maximum for every other metric. As in
    /// Flagger, a check with neither behaves as if `threshold` were 0.
    pub fn for_metric(metric: &CanaryMetric) -> Self {
        if let Some(ThresholdRange { min, max }) = metric.threshold_range {
            return Thresholds { min, max };
        }
        let threshold = metric.threshold.unwrap_or(0.0);
        match BuiltinMetric::from_name(&metric.name) {
            Some(BuiltinMetric::RequestSuccessRate) => Thresholds {
                min: Some(threshold),
                max: None,
            },
            Some(BuiltinMetric::RequestDuration) | None => Thresholds {
                min: None,
                max: Some(threshold),
            },
        }
    }

    /// Judges `value`; the bounds are inclusive.
    pub fn judge(&self, value: f64) -> Judgement {
        match (self.min, self.max) {
            (Some(min), _) if value < min => Judgement::Below(min),
            (_, Some(max)) if value > max => Judgement::Above(max),
            _ => Judgement::Within,
        }
    }

    /// The range as a `ThresholdRange` for the Canary's status.
    pub fn to_range(self) -> ThresholdRange {
        ThresholdRange {
            min: self.min,
            max: self.max,
        }
    }
}

impl fmt::Display for Thresholds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(f, "{} to {}", number(min), number(max)),
            (Some(min), None) => write!(f, ">= {}", number(min)),
            (None, Some(max)) => write!(f, "<= {}", number(max)),
            (None, None) => f.write_str("any"),
        }
    }
}

/// A number without needless decimals: `99`, `99.5`, `0.123457`.
pub fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.is_finite() {
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(
        name: &str,
        threshold: Option<f64>,
        range: Option<(Option<f64>, Option<f64>)>,
    ) -> CanaryMetric {
        CanaryMetric {
            name: name.into(),
            threshold,
            threshold_range: range.map(|(min, max)| ThresholdRange { min, max }),
            ..CanaryMetric::default()
        }
    }

    #[test]
    fn the_deprecated_threshold_is_a_minimum_for_success_rate() {
        let t = Thresholds::for_metric(&metric("request-success-rate", Some(99.0), None));
        assert_eq!(
            t,
            Thresholds {
                min: Some(99.0),
                max: None
            }
        );
        assert_eq!(t.judge(98.9), Judgement::Below(99.0));
        assert_eq!(t.judge(99.0), Judgement::Within);
    }

    #[test]
    fn the_deprecated_threshold_is_a_maximum_for_duration_and_templates() {
        for name in ["request-duration", "error-rate"] {
            let t = Thresholds::for_metric(&metric(name, Some(500.0), None));
            assert_eq!(t.judge(500.0), Judgement::Within, "{name}");
            assert_eq!(t.judge(501.0), Judgement::Above(500.0), "{name}");
        }
    }

    #[test]
    fn threshold_range_wins_over_threshold_and_bounds_are_inclusive() {
        let t = Thresholds::for_metric(&metric(
            "request-success-rate",
            Some(50.0),
            Some((Some(1.0), Some(5.0))),
        ));
        assert_eq!(t.judge(1.0), Judgement::Within);
        assert_eq!(t.judge(5.0), Judgement::Within);
        assert_eq!(t.judge(0.5), Judgement::Below(1.0));
        assert_eq!(t.judge(5.5), Judgement::Above(5.0));
        assert_eq!(t.to_string(), "1 to 5");
    }

    #[test]
    fn no_threshold_at_all_means_zero_as_in_flagger() {
        let t = Thresholds::for_metric(&metric("custom", None, None));
        assert_eq!(t.judge(0.1), Judgement::Above(0.0));
        let t = Thresholds::for_metric(&metric("request-success-rate", None, None));
        assert_eq!(t.judge(0.0), Judgement::Within);
    }

    #[test]
    fn numbers_print_without_needless_decimals() {
        assert_eq!(number(99.0), "99");
        assert_eq!(number(99.5), "99.5");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(f64::INFINITY), "inf");
    }
}
