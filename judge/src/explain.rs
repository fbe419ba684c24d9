//! The judge's verdict explained for a person: the estimated error ratio with its range, the
//! evidence against the threshold, and the counts behind them.

use std::fmt;

use serde::Serialize;

use super::estimate::{EstimateKind, RatioEstimate, RatioRange};
use super::evidence::{Evidence, Verdict};
use super::hypothesis::{Alpha, Margin, Sides};
use super::window::ArmCounts;

/// Everything behind a verdict. `Display` gives one line for status messages and events.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Roll back or continue.
    pub verdict: Verdict,
    /// `ln M`, the evidence.
    pub log_evidence: f64,
    /// `ln(1/alpha)`, the evidence at which the judge rolls back.
    pub threshold: f64,
    /// The level.
    pub alpha: f64,
    /// One- or two-sided.
    pub sides: Sides,
    /// The tolerated error ratio.
    pub margin: f64,
    /// The most likely error ratio, when any error was counted.
    pub estimate: Option<RatioEstimate>,
    /// The error ratios not ruled out.
    pub range: RatioRange,
    /// The canary's totals over the windows counted.
    pub canary: ArmCounts,
    /// The primary's totals over the windows counted.
    pub primary: ArmCounts,
    /// Windows counted.
    pub windows: u64,
    /// Windows skipped for lack of requests in an arm.
    pub skipped_windows: u64,
}

impl Evidence {
    /// The verdict at level `alpha`, with what it rests on.
    pub fn explain(&self, alpha: Alpha) -> Explanation {
        Explanation {
            verdict: self.verdict(alpha),
            log_evidence: self.log_evidence(),
            threshold: alpha.threshold(),
            alpha: alpha.value(),
            sides: self.hypothesis.sides(),
            margin: self.hypothesis.margin().ratio(),
            estimate: self.estimate(),
            range: self.range(alpha),
            canary: self.canary,
            primary: self.primary,
            windows: self.windows,
            skipped_windows: self.skipped_windows,
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.verdict {
            Verdict::Rollback => f.write_str("roll back: ")?,
            Verdict::Continue => f.write_str("continue: ")?,
        }
        match self.estimate {
            None => f.write_str("no errors yet in either version")?,
            Some(estimate) => {
                write!(
                    f,
                    "the canary's error rate is {} the primary's ({})",
                    Estimate(estimate),
                    Range(self.range)
                )?;
                if Margin::new(self.margin).is_ok_and(|m| m != Margin::NONE) {
                    write!(f, ", {}x tolerated", Ratio(self.margin))?;
                }
            }
        }
        let (compared, sides) = (
            match self.verdict {
                Verdict::Rollback => "reached",
                Verdict::Continue => "is below",
            },
            match self.sides {
                Sides::OneSided => "",
                Sides::TwoSided => ", two-sided",
            },
        );
        write!(
            f,
            "; evidence {:.2} {compared} the threshold {:.2} (alpha {}{sides}); canary {} errors in {} requests ({}), primary {} in {} ({}), over {} window{}",
            self.log_evidence,
            self.threshold,
            self.alpha,
            self.canary.errors,
            self.canary.requests,
            Rate(self.canary),
            self.primary.errors,
            self.primary.requests,
            Rate(self.primary),
            self.windows,
            if self.windows == 1 { "" } else { "s" },
        )?;
        if self.skipped_windows > 0 {
            write!(f, " ({} skipped without traffic)", self.skipped_windows)?;
        }
        Ok(())
    }
}

struct Ratio(f64);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

struct Estimate(RatioEstimate);

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ratio = Ratio(self.0.ratio);
        match self.0.kind {
            EstimateKind::Point => write!(f, "{ratio}x"),
            EstimateKind::AtMost => write!(f, "at most {ratio}x"),
            EstimateKind::AtLeast => write!(f, "at least {ratio}x"),
        }
    }
}

struct Range(RatioRange);

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.low, self.0.high) {
            (Some(low), Some(high)) => write!(
                f,
                "range: more than {}x, less than {}x",
                Ratio(low),
                Ratio(high)
            ),
            (None, Some(high)) => write!(f, "range: less than {}x", Ratio(high)),
            (Some(low), None) => write!(f, "range: more than {}x", Ratio(low)),
            (None, None) => f.write_str("range: not bounded yet"),
        }
    }
}

struct Rate(ArmCounts);

impl fmt::Display for Rate {
    #[allow(clippy::cast_precision_loss)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.requests == 0 {
            f.write_str("no requests")
        } else {
            let rate = self.0.errors as f64 / self.0.requests as f64;
            write!(f, "{:.2}%", 100.0 * rate)
        }
    }
}
