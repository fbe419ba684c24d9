//! A whole release replayed through the judge: windows in order, stopping at the first window
//! whose evidence reaches the threshold. What `serin judge` and the benchmark run.

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, Verdict};
use super::hypothesis::{Alpha, Hypothesis};
use super::window::Window;

/// How a replayed release ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReleaseOutcome {
    /// The evidence reached the threshold after this window (1-based, counting skipped windows).
    Rollback {
        /// The window of the decision.
        window: usize,
    },
    /// The windows ran out without the evidence reaching the threshold.
    Promote,
}

/// Replays `windows` from no evidence; windows after a rollback are not looked at. Returns the
/// outcome and the evidence at the end (at the rollback, or after the last window).
pub fn replay<'a>(
    hypothesis: Hypothesis,
    alpha: Alpha,
    windows: impl IntoIterator<Item = &'a Window>,
) -> (ReleaseOutcome, Evidence) {
    let mut evidence = Evidence::new(hypothesis);
    for (index, window) in windows.into_iter().enumerate() {
        evidence.observe(window);
        if evidence.verdict(alpha) == Verdict::Rollback {
            return (ReleaseOutcome::Rollback { window: index + 1 }, evidence);
        }
    }
    (ReleaseOutcome::Promote, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(counts: [u64; 4]) -> Window {
        Window::from_counts(counts).expect("valid counts")
    }

    #[test]
    fn a_release_rolls_back_at_the_first_window_over_the_threshold_and_stops_there() {
        let windows = [
            window([612, 9, 5391, 24]),
            window([1187, 14, 4820, 25]),
            window([1795, 22, 4203, 20]),
        ];
        let (outcome, evidence) = replay(Hypothesis::ONE_SIDED, Alpha::DEFAULT, &windows);
        assert_eq!(outcome, ReleaseOutcome::Rollback { window: 2 });
        assert_eq!(evidence.windows(), 2, "the third window was not looked at");
    }

    #[test]
    fn skipped_windows_count_in_the_window_number_and_no_windows_promote() {
        let windows = [window([0, 0, 6000, 30]), window([3000, 60, 3000, 5])];
        let (outcome, _) = replay(Hypothesis::ONE_SIDED, Alpha::DEFAULT, &windows);
        assert_eq!(outcome, ReleaseOutcome::Rollback { window: 2 });
        let (outcome, evidence) = replay(Hypothesis::ONE_SIDED, Alpha::DEFAULT, &[]);
        assert_eq!(outcome, ReleaseOutcome::Promote);
        assert_eq!(evidence.windows(), 0);
    }
}
