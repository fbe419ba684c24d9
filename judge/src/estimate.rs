//! What the evidence says about the error ratio theta (canary error rate over primary error
//! rate): a point estimate and a range, both read off the grid.
//!
//! The range is the set of ratios theta that the same test, run with theta as the null, has not
//! rejected: `ln M - l(theta) < ln(1/alpha)`, since `M / L(theta)` is the mixture likelihood
//! ratio against theta. It is a confidence sequence: with probability at least `1 - alpha` the
//! true ratio is in the range at every window, however often it is looked at. It is evaluated
//! at the grid points only, and its ends are rounded outward to the next grid point (or left
//! open where the grid ends), so it contains every ratio not yet ruled out. The margin (or 1)
//! is in the range exactly when the verdict is to continue.

use serde::{Deserialize, Serialize};

use super::evidence::Evidence;
use super::hypothesis::{Alpha, Sides};

/// A point estimate of the error ratio.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RatioEstimate {
    /// The ratio: the grid point with the largest likelihood.
    pub ratio: f64,
    /// Whether the ratio is the estimate or a bound the grid stops at.
    pub kind: EstimateKind,
}

/// How to read [`RatioEstimate::ratio`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EstimateKind {
    /// The most likely ratio on the grid.
    Point,
    /// The most likely ratio is this one or lower: the lowest point the test looks at (the
    /// margin, or 1, for the one-sided test).
    AtMost,
    /// The most likely ratio is this one or higher (the grid ends at e^4 = 54.6 times the
    /// margin), for example when the primary had no errors.
    AtLeast,
}

/// The ratios not ruled out at level alpha: more than `low` and less than `high`. `None` for
/// an end means the range reaches the end of the grid on that side (for the one-sided test
/// before a rollback, the margin or 1: ratios below it are not looked at).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RatioRange {
    /// This ratio and every lower one are ruled out.
    pub low: Option<f64>,
    /// This ratio and every higher one are ruled out.
    pub high: Option<f64>,
}

impl Evidence {
    /// The most likely error ratio on the grid, or `None` before any error was counted (no
    /// errors say nothing about their ratio). Ties go to the ratio closest to the null.
    pub fn estimate(&self) -> Option<RatioEstimate> {
        if self.canary.errors == 0 && self.primary.errors == 0 {
            return None;
        }
        let points = self.points();
        let best = (0..points.len()).max_by(|&a, &b| {
            let (ua, la) = points[a];
            let (ub, lb) = points[b];
            la.total_cmp(&lb).then(ub.abs().total_cmp(&ua.abs()))
        })?;
        let kind = if best == 0 {
            EstimateKind::AtMost
        } else if best == points.len() - 1 {
            EstimateKind::AtLeast
        } else {
            EstimateKind::Point
        };
        Some(RatioEstimate {
            ratio: self.grid.ratio_at(points[best].0),
            kind,
        })
    }

    /// The error ratios not ruled out at level `alpha` (see the module documentation).
    pub fn range(&self, alpha: Alpha) -> RatioRange {
        let points = self.points();
        let log_evidence = self.log_evidence();
        let threshold = alpha.threshold();
        let inside = |&(_, l): &(f64, f64)| log_evidence - l < threshold;
        let (Some(first), Some(last)) = (
            points.iter().position(inside),
            points.iter().rposition(inside),
        ) else {
            return RatioRange {
                low: None,
                high: None,
            };
        };
        RatioRange {
            low: first
                .checked_sub(1)
                .map(|j| self.grid.ratio_at(points[j].0)),
            high: points.get(last + 1).map(|&(u, _)| self.grid.ratio_at(u)),
        }
    }

    /// `(u, l)` for every ratio the test looks at, ascending in `u`: the null (`u = 0`, `l = 0`)
    /// and the grid. The two-sided grid holds the null already.
    fn points(&self) -> Vec<(f64, f64)> {
        let grid = self.grid.log_ratio.iter().copied().zip(self.log_ratios);
        match self.hypothesis.sides() {
            Sides::OneSided => std::iter::once((0.0, 0.0)).chain(grid).collect(),
            Sides::TwoSided => grid.collect(),
        }
    }
}
