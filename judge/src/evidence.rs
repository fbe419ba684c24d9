//! The evidence of one release: a log-likelihood ratio per grid point, updated window by
//! window, and the mixture over them (`ln M`) that the verdict compares with `ln(1/alpha)`.

use serde::{Deserialize, Serialize};

use super::grid::{GRID_POINTS, Grid, log_sum_exp};
use super::hypothesis::{Alpha, Hypothesis};
use super::window::{ArmCounts, Window};

/// Largest count kept in the totals: they saturate at `i64::MAX`, the largest integer the
/// Kubernetes API stores exactly.
pub const MAX_TOTAL: u64 = i64::MAX as u64;

/// The evidence gathered over a release, for one hypothesis.
///
/// Starts at zero for each new canary revision ([`Evidence::new`]); survives restarts through
/// its status form ([`super::EvidenceStatus`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub(super) hypothesis: Hypothesis,
    pub(super) grid: Grid,
    /// `l_j`: the log-likelihood ratio of `theta_j` against the null, summed over windows.
    pub(super) log_ratios: [f64; GRID_POINTS],
    pub(super) canary: ArmCounts,
    pub(super) primary: ArmCounts,
    pub(super) windows: u64,
    pub(super) skipped_windows: u64,
}

/// What one window did to the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Observed {
    /// The window was added (possibly with no errors, which changes nothing but is data).
    Counted,
    /// The window was not added: without requests in both arms there is nothing to compare.
    /// The no-data policy decides what happens.
    Skipped(SkipReason),
}

/// Why a window carried no evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    /// Neither the canary nor the primary served requests.
    NoRequests,
    /// The canary served no requests.
    NoCanaryRequests,
    /// The primary served no requests.
    NoPrimaryRequests,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::NoRequests => "neither the canary nor the primary served requests",
            SkipReason::NoCanaryRequests => "the canary served no requests",
            SkipReason::NoPrimaryRequests => "the primary served no requests",
        })
    }
}

/// The judge's verdict after a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The evidence is below `ln(1/alpha)`: go on as scheduled.
    Continue,
    /// The evidence reached `ln(1/alpha)`: roll back now.
    Rollback,
}

impl Evidence {
    /// No evidence yet, for a new canary revision.
    pub fn new(hypothesis: Hypothesis) -> Self {
        Evidence {
            hypothesis,
            grid: Grid::new(hypothesis),
            log_ratios: [0.0; GRID_POINTS],
            canary: ArmCounts::default(),
            primary: ArmCounts::default(),
            windows: 0,
            skipped_windows: 0,
        }
    }

    /// Adds one window. A window without canary or without primary requests adds nothing
    /// (and is counted as skipped).
    pub fn observe(&mut self, window: &Window) -> Observed {
        let (canary, primary) = (window.canary(), window.primary());
        let skip = match (canary.requests, primary.requests) {
            (0, 0) => Some(SkipReason::NoRequests),
            (0, _) => Some(SkipReason::NoCanaryRequests),
            (_, 0) => Some(SkipReason::NoPrimaryRequests),
            _ => None,
        };
        if let Some(reason) = skip {
            self.skipped_windows = self.skipped_windows.saturating_add(1);
            return Observed::Skipped(reason);
        }
        let canary_requests = as_f64(canary.requests);
        let share = canary_requests / (canary_requests + as_f64(primary.requests));
        let canary_errors = as_f64(canary.errors);
        let errors = canary_errors + as_f64(primary.errors);
        self.grid
            .add_window(&mut self.log_ratios, canary_errors, errors, share);
        self.canary = add(self.canary, canary);
        self.primary = add(self.primary, primary);
        self.windows = self.windows.saturating_add(1);
        Observed::Counted
    }

    /// `ln M = ln sum_j pi_j exp(l_j)`: the log of the mixture likelihood ratio. 0 (up to
    /// rounding) before any error was seen; under the null it exceeds `ln(1/alpha)` with probability at most alpha,
    /// ever.
    pub fn log_evidence(&self) -> f64 {
        log_sum_exp(
            self.log_ratios
                .iter()
                .zip(&self.grid.log_prior)
                .map(|(l, p)| l + p),
        )
    }

    /// Roll back when `ln M >= ln(1/alpha)`.
    pub fn verdict(&self, alpha: Alpha) -> Verdict {
        if self.log_evidence() >= alpha.threshold() {
            Verdict::Rollback
        } else {
            Verdict::Continue
        }
    }

    /// The hypothesis the evidence was gathered under.
    pub fn hypothesis(&self) -> Hypothesis {
        self.hypothesis
    }

    /// `l_j` for each grid point, in grid order.
    pub fn log_likelihood_ratios(&self) -> &[f64; GRID_POINTS] {
        &self.log_ratios
    }

    /// The canary's requests and errors over the windows counted (saturating at
    /// [`MAX_TOTAL`]).
    pub fn canary_totals(&self) -> ArmCounts {
        self.canary
    }

    /// The primary's requests and errors over the windows counted.
    pub fn primary_totals(&self) -> ArmCounts {
        self.primary
    }

    /// Windows added to the evidence.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// Windows skipped for lack of requests in an arm.
    pub fn skipped_windows(&self) -> u64 {
        self.skipped_windows
    }
}

/// A count as a float (exact up to 2^53, rounded beyond: far past any real window).
#[allow(clippy::cast_precision_loss)]
fn as_f64(count: u64) -> f64 {
    count as f64
}

fn add(total: ArmCounts, window: ArmCounts) -> ArmCounts {
    ArmCounts {
        requests: total
            .requests
            .saturating_add(window.requests)
            .min(MAX_TOTAL),
        errors: total.errors.saturating_add(window.errors).min(MAX_TOTAL),
    }
}
