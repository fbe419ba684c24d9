//! The accepted range of a metric check and the judgement of a value against it.

use std::fmt;

use crate::canary::ThresholdRange;

/// An accepted range; either bound may be absent. Bounds are inclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    /// Lowest accepted value.
    pub min: Option<f64>,
    /// Highest accepted value.
    pub max: Option<f64>,
}

/// Where a value lies relative to a [`Range`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Judgement {
    /// Within the range (bounds included).
    Within,
    /// Below the minimum.
    Below(f64),
    /// Above the maximum.
    Above(f64),
}

impl Range {
    /// Whether `value` is within the range (bounds included).
    pub fn contains(&self, value: f64) -> bool {
        self.judge(value) == Judgement::Within
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

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(f, "{} to {}", number(min), number(max)),
            (Some(min), None) => write!(f, ">= {}", number(min)),
            (None, Some(max)) => write!(f, "<= {}", number(max)),
            (None, None) => f.write_str("any"),
        }
    }
}

/// A number without needless decimals: `99`, `99.5`, `0.333333`.
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

    #[test]
    fn bounds_are_inclusive() {
        let r = Range {
            min: Some(1.0),
            max: Some(5.0),
        };
        assert_eq!(r.judge(1.0), Judgement::Within);
        assert_eq!(r.judge(5.0), Judgement::Within);
        assert_eq!(r.judge(0.5), Judgement::Below(1.0));
        assert_eq!(r.judge(5.5), Judgement::Above(5.0));
        assert!(!r.contains(5.5));
        assert_eq!(r.to_string(), "1 to 5");
        let floor = Range {
            min: Some(99.0),
            max: None,
        };
        assert_eq!(floor.to_string(), ">= 99");
        assert_eq!(floor.judge(1e9), Judgement::Within);
    }

    #[test]
    fn numbers_print_without_needless_decimals() {
        assert_eq!(number(99.0), "99");
        assert_eq!(number(99.5), "99.5");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(f64::INFINITY), "inf");
    }
}
