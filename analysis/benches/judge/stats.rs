//! Proportions with exact (Clopper-Pearson) 95% confidence intervals, and medians.

use statrs::distribution::{Beta, ContinuousCDF};

use crate::traffic::as_f64;

/// `hits` out of `trials`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proportion {
    pub(crate) hits: u64,
    pub(crate) trials: u64,
}

impl Proportion {
    /// The proportion and its 95% interval, in percent.
    pub(crate) fn percent(self) -> (f64, f64, f64) {
        let (x, n) = (as_f64(self.hits), as_f64(self.trials));
        let low = if self.hits == 0 {
            0.0
        } else {
            Beta::new(x, n - x + 1.0)
                .expect("positive shape parameters")
                .inverse_cdf(0.025)
        };
        let high = if self.hits == self.trials {
            1.0
        } else {
            Beta::new(x + 1.0, n - x)
                .expect("positive shape parameters")
                .inverse_cdf(0.975)
        };
        (100.0 * x / n, 100.0 * low, 100.0 * high)
    }
}

impl std::fmt::Display for Proportion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (p, low, high) = self.percent();
        let digits = if high < 10.0 { 2 } else { 1 };
        write!(f, "{p:.digits$}% [{low:.digits$}, {high:.digits$}]")
    }
}

/// The median of `values` (the lower middle for an even count), or `None` when empty.
pub(crate) fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}
