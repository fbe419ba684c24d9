//! One analysis window's counts: requests and errors of the canary and of the primary, taken
//! over the same stretch of time, validated before they reach the evidence.

use serde::{Deserialize, Serialize};

/// Requests and errors of one arm (canary or primary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArmCounts {
    /// Requests served.
    pub requests: u64,
    /// Requests that failed (counted in `requests` too).
    pub errors: u64,
}

impl ArmCounts {
    /// Counts of `errors` failed requests out of `requests`.
    pub fn new(requests: u64, errors: u64) -> Self {
        ArmCounts { requests, errors }
    }
}

/// Which workload a count belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arm {
    /// The new revision.
    Canary,
    /// The current revision.
    Primary,
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arm::Canary => "canary",
            Arm::Primary => "primary",
        })
    }
}

/// The counts of one window, with errors at most requests in each arm.
///
/// A window with no canary or no primary requests is valid: it carries no evidence, and
/// [`super::Evidence::observe`] skips it. Counts as large as `u64::MAX` are accepted; the
/// arithmetic is in `f64` and cannot overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    canary: ArmCounts,
    primary: ArmCounts,
}

impl Window {
    /// A window; errors greater than requests in either arm are refused (they mean that the
    /// queries do not count what they should: an error query that matches more series than
    /// the request query, or arms swapped), rather than clamped into evidence.
    pub fn new(canary: ArmCounts, primary: ArmCounts) -> Result<Self, WindowError> {
        for (arm, counts) in [(Arm::Canary, canary), (Arm::Primary, primary)] {
            if counts.errors > counts.requests {
                return Err(WindowError::ErrorsExceedRequests {
                    arm,
                    errors: counts.errors,
                    requests: counts.requests,
                });
            }
        }
        Ok(Window { canary, primary })
    }

    /// A window from `[canary_requests, canary_errors, primary_requests, primary_errors]`,
    /// the order `serin judge` reads.
    pub fn from_counts(counts: [u64; 4]) -> Result<Self, WindowError> {
        let [
            canary_requests,
            canary_errors,
            primary_requests,
            primary_errors,
        ] = counts;
        Window::new(
            ArmCounts::new(canary_requests, canary_errors),
            ArmCounts::new(primary_requests, primary_errors),
        )
    }

    /// The canary's counts.
    pub fn canary(&self) -> ArmCounts {
        self.canary
    }

    /// The primary's counts.
    pub fn primary(&self) -> ArmCounts {
        self.primary
    }
}

/// Counts that cannot be a window.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// More errors than requests in one arm.
    #[error("{arm} errors ({errors}) exceed {arm} requests ({requests})")]
    ErrorsExceedRequests {
        /// The arm.
        arm: Arm,
        /// Its errors.
        errors: u64,
        /// Its requests.
        requests: u64,
    },
}

impl WindowError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            WindowError::ErrorsExceedRequests { .. } => "errors_exceed_requests",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_above_requests_are_refused_with_the_arm_named() {
        let error = Window::from_counts([10, 11, 100, 1]).expect_err("canary errors > requests");
        assert_eq!(
            error.to_string(),
            "canary errors (11) exceed canary requests (10)"
        );
        let error = Window::from_counts([10, 1, 0, 1]).expect_err("primary errors > requests");
        assert_eq!(
            error.to_string(),
            "primary errors (1) exceed primary requests (0)"
        );
        assert_eq!(error.category(), "errors_exceed_requests");
    }

    #[test]
    fn every_request_failing_and_empty_arms_are_valid() {
        let window = Window::from_counts([10, 10, 0, 0]).expect("valid");
        assert_eq!(window.canary(), ArmCounts::new(10, 10));
        assert_eq!(window.primary(), ArmCounts::new(0, 0));
        assert!(Window::from_counts([u64::MAX, u64::MAX, u64::MAX, 0]).is_ok());
    }
}
