//! What the judge tests (one- or two-sided, with an optional tolerated margin) and at which
//! level (alpha): validated settings, built once from user input.

use serde::{Deserialize, Serialize};

/// Which differences between canary and primary count as evidence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Sides {
    /// Only a canary that is worse than the primary (more errors) builds evidence. The default.
    #[default]
    OneSided,
    /// A canary that differs from the primary in either direction builds evidence.
    TwoSided,
}

impl Sides {
    /// The name used in status and on the command line: `oneSided` or `twoSided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sides::OneSided => "oneSided",
            Sides::TwoSided => "twoSided",
        }
    }
}

/// The error ratio (canary error rate over primary error rate) that is tolerated: the judge
/// tests `theta <= margin` (one-sided). 1 tolerates nothing: any canary that is worse than
/// the primary is eventually caught.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Margin(f64);

impl Margin {
    /// No tolerance: the canary should be no worse than the primary.
    pub const NONE: Margin = Margin(1.0);

    /// A margin; it must be finite and at least 1 (and at most 1000, beyond which an error
    /// ratio cannot be told apart from "the canary always fails").
    pub fn new(margin: f64) -> Result<Self, ConfigError> {
        if margin.is_finite() && (1.0..=MAX_MARGIN).contains(&margin) {
            Ok(Margin(margin))
        } else {
            Err(ConfigError::Margin(margin))
        }
    }

    /// The tolerated error ratio.
    pub fn ratio(self) -> f64 {
        self.0
    }
}

impl Default for Margin {
    fn default() -> Self {
        Margin::NONE
    }
}

/// The largest margin accepted.
pub const MAX_MARGIN: f64 = 1000.0;

/// What the evidence is evidence against: the null hypothesis `theta <= margin` (one-sided) or
/// `theta = 1` (two-sided), where theta is the canary's error rate over the primary's.
///
/// The evidence of a release is only meaningful for the hypothesis it was gathered under, so
/// [`super::Evidence`] records it and its status form carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hypothesis {
    sides: Sides,
    margin: Margin,
}

impl Hypothesis {
    /// One-sided, no margin: the default.
    pub const ONE_SIDED: Hypothesis = Hypothesis {
        sides: Sides::OneSided,
        margin: Margin::NONE,
    };

    /// Two-sided, no margin.
    pub const TWO_SIDED: Hypothesis = Hypothesis {
        sides: Sides::TwoSided,
        margin: Margin::NONE,
    };

    /// A hypothesis. A margin other than 1 is only defined for the one-sided test (a
    /// two-sided test around a tolerated ratio would roll back canaries for being better
    /// than that ratio).
    pub fn new(sides: Sides, margin: Margin) -> Result<Self, ConfigError> {
        if sides == Sides::TwoSided && margin != Margin::NONE {
            return Err(ConfigError::MarginTwoSided(margin.ratio()));
        }
        Ok(Hypothesis { sides, margin })
    }

    /// One- or two-sided.
    pub fn sides(self) -> Sides {
        self.sides
    }

    /// The tolerated error ratio.
    pub fn margin(self) -> Margin {
        self.margin
    }
}

/// The level of the test: the probability, at most, that a canary no worse than the primary
/// (beyond the margin) is ever rolled back, however many windows are looked at.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Alpha(f64);

impl Alpha {
    /// 0.01, the default.
    pub const DEFAULT: Alpha = Alpha(0.01);

    /// An alpha strictly between 0 and 1. Very small values are accepted (down to 1e-300):
    /// they only make the judge slower to decide.
    pub fn new(alpha: f64) -> Result<Self, ConfigError> {
        if (MIN_ALPHA..1.0).contains(&alpha) {
            Ok(Alpha(alpha))
        } else {
            Err(ConfigError::Alpha(alpha))
        }
    }

    /// The level.
    pub fn value(self) -> f64 {
        self.0
    }

    /// `ln(1/alpha)`: the evidence at which the judge rolls back (4.60517 for 0.01).
    pub fn threshold(self) -> f64 {
        -self.0.ln()
    }
}

impl Default for Alpha {
    fn default() -> Self {
        Alpha::DEFAULT
    }
}

/// The smallest alpha accepted.
pub const MIN_ALPHA: f64 = 1e-300;

/// Settings the judge cannot work with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Alpha outside (0, 1).
    #[error("alpha must be a number greater than 0 and less than 1 (e.g. 0.01), not {0}")]
    Alpha(f64),
    /// Margin below 1, above the maximum, or not a number.
    #[error(
        "the margin is a tolerated error ratio, at least 1 and at most {MAX_MARGIN} (e.g. 1.2 tolerates 20% more errors), not {0}"
    )]
    Margin(f64),
    /// A margin with a two-sided test.
    #[error("a margin ({0}) only applies to the one-sided test")]
    MarginTwoSided(f64),
}

impl ConfigError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        "invalid_judge_settings"
    }
}
