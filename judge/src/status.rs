//! The evidence's status form: plain data that a Canary's status can hold (JSON, camelCase) so
//! that the evidence survives restarts of the controller, and its validation on the way back.
//!
//! ```json
//! {"version": 1, "sides": "oneSided", "margin": 1.0, "windows": 2, "skippedWindows": 0,
//!  "canary": {"requests": 1799, "errors": 23}, "primary": {"requests": 10211, "errors": 49},
//!  "logLikelihoodRatios": [0.31, 0.64, ...]}
//! ```
//!
//! `logLikelihoodRatios` has one entry per grid point, in grid order; version 1 is the grid of
//! K = 41 points, L = 4 and prior weights `exp(-u^2/2)`. The numbers are written in their
//! shortest form that reads back to the same `f64`, so a restart resumes exactly where the
//! evidence was. A status that does not fit (another version, a wrong length, a number that is
//! not finite, errors above requests) is refused with a [`StatusError`], never half-used.

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, MAX_TOTAL};
use super::grid::{GRID_POINTS, Grid};
use super::hypothesis::{ConfigError, Hypothesis, Margin, Sides};
use super::window::{Arm, ArmCounts};

/// The format version written by this code.
pub const STATUS_VERSION: u32 = 1;

/// The evidence as plain data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceStatus {
    /// Format version; 1 is the grid of 41 points up to e^4 with Gaussian prior weights.
    pub version: u32,
    /// One- or two-sided.
    pub sides: Sides,
    /// The tolerated error ratio the evidence was gathered against.
    pub margin: f64,
    /// Windows counted.
    pub windows: u64,
    /// Windows skipped for lack of requests in an arm.
    #[serde(default)]
    pub skipped_windows: u64,
    /// The canary's totals over the windows counted.
    pub canary: ArmCounts,
    /// The primary's totals over the windows counted.
    pub primary: ArmCounts,
    /// `l_j`, the log-likelihood ratio of each grid point against the null.
    pub log_likelihood_ratios: Vec<f64>,
}

impl From<&Evidence> for EvidenceStatus {
    fn from(evidence: &Evidence) -> Self {
        EvidenceStatus {
            version: STATUS_VERSION,
            sides: evidence.hypothesis.sides(),
            margin: evidence.hypothesis.margin().ratio(),
            windows: evidence.windows,
            skipped_windows: evidence.skipped_windows,
            canary: evidence.canary,
            primary: evidence.primary,
            log_likelihood_ratios: evidence.log_ratios.to_vec(),
        }
    }
}

impl TryFrom<&EvidenceStatus> for Evidence {
    type Error = StatusError;

    fn try_from(status: &EvidenceStatus) -> Result<Self, StatusError> {
        if status.version != STATUS_VERSION {
            return Err(StatusError::Version(status.version));
        }
        let hypothesis = Hypothesis::new(status.sides, Margin::new(status.margin)?)?;
        let log_ratios: [f64; GRID_POINTS] = status
            .log_likelihood_ratios
            .as_slice()
            .try_into()
            .map_err(|_| StatusError::Length(status.log_likelihood_ratios.len()))?;
        if let Some(index) = log_ratios.iter().position(|l| !l.is_finite()) {
            return Err(StatusError::NotFinite(index));
        }
        for (arm, counts) in [(Arm::Canary, status.canary), (Arm::Primary, status.primary)] {
            if counts.errors > counts.requests || counts.requests > MAX_TOTAL {
                return Err(StatusError::Counts(arm));
            }
        }
        Ok(Evidence {
            hypothesis,
            grid: Grid::new(hypothesis),
            log_ratios,
            canary: status.canary,
            primary: status.primary,
            windows: status.windows,
            skipped_windows: status.skipped_windows,
        })
    }
}

/// A status form that cannot be evidence.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StatusError {
    /// Written by another version of the grid.
    #[error(
        "evidence format version {0} is not known (this serin writes version {STATUS_VERSION})"
    )]
    Version(u32),
    /// Sides or margin out of range.
    #[error("evidence settings: {0}")]
    Settings(#[from] ConfigError),
    /// Not one ratio per grid point.
    #[error("logLikelihoodRatios has {0} entries, not {GRID_POINTS}")]
    Length(usize),
    /// A ratio that is not a finite number.
    #[error("logLikelihoodRatios[{0}] is not a finite number")]
    NotFinite(usize),
    /// Totals with more errors than requests, or beyond the largest total kept.
    #[error("the {0} totals have more errors than requests, or more than {MAX_TOTAL} requests")]
    Counts(Arm),
}

impl StatusError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        "invalid_evidence_status"
    }
}
