//! The canary-versus-primary judge: an anytime-valid sequential test on error counts that rolls
//! a canary back as soon as the evidence that it fails more often than the primary reaches
//! `ln(1/alpha)`. Pure: no client, no clock; the controller and `serin judge` run the same code.
//!
//! Per window (counts over the same stretch of time for both versions), with the canary's share
//! of requests `s = n_c / (n_c + n_p)` and the window's errors `N = e_c + e_p`, the canary's
//! errors given `N` are binomial with probability `theta s / (1 + s (theta - 1))`, where theta is
//! the canary's error rate over the primary's. [`Evidence`] keeps, for each of 41 alternatives
//! `theta_j` on a grid ([`GRID_POINTS`]), the log-likelihood ratio `l_j` against the null (theta =
//! 1, or theta = the margin), and the evidence is the log of their mixture with Gaussian prior
//! weights, `ln M = logsumexp_j(l_j + ln pi_j)`. Under the null, M is a nonnegative
//! supermartingale, so it ever reaches `1/alpha` with probability at most alpha (Ville's
//! inequality), however many windows are looked at, with holds, pauses, restarts and changing
//! weights. `docs/analysis.md` gives the method, its assumptions and its measured behaviour.
//!
//! Counts are checked when a [`Window`] is made: errors above requests in either arm are an
//! error ([`WindowError`]), not evidence. A window without canary or primary requests is
//! skipped ([`Observed::Skipped`]); counts up to `u64::MAX` are fine (the arithmetic is in
//! `f64`, totals saturate at `i64::MAX`). No input makes the judge panic or produce a
//! non-finite evidence.
//!
//! ```
//! use serin_judge::{Alpha, Evidence, Hypothesis, Verdict, Window};
//!
//! let mut evidence = Evidence::new(Hypothesis::ONE_SIDED);
//! for counts in [[612, 9, 5391, 24], [1187, 14, 4820, 25]] {
//!     evidence.observe(&Window::from_counts(counts).expect("errors <= requests"));
//! }
//! assert_eq!(evidence.verdict(Alpha::DEFAULT), Verdict::Rollback);
//! println!("{}", evidence.explain(Alpha::DEFAULT));
//! ```

mod estimate;
mod evidence;
mod explain;
mod grid;
mod hypothesis;
mod replay;
mod status;
mod window;

#[cfg(test)]
mod tests;

pub use estimate::{EstimateKind, RatioEstimate, RatioRange};
pub use evidence::{Evidence, MAX_TOTAL, Observed, SkipReason, Verdict};
pub use explain::Explanation;
pub use grid::{GRID_HALF_WIDTH, GRID_POINTS};
pub use hypothesis::{Alpha, ConfigError, Hypothesis, MAX_MARGIN, MIN_ALPHA, Margin, Sides};
pub use replay::{ReleaseOutcome, replay};
pub use status::{EvidenceStatus, STATUS_VERSION, StatusError};
pub use window::{Arm, ArmCounts, Window, WindowError};
