//! The mixture's grid: the alternative error ratios the evidence is kept for, their prior
//! weights, and the per-window log-likelihood ratio of each against the null.

use super::hypothesis::{Hypothesis, Sides};

/// Number of grid points (K).
pub const GRID_POINTS: usize = 41;
/// K as a number, for the grid's arithmetic.
const K: u32 = 41;
const _: () = assert!(K as usize == GRID_POINTS);
/// Half-width of the grid in `ln(theta / margin)` (L): the grid reaches ratios of e^4 = 54.6.
pub const GRID_HALF_WIDTH: f64 = 4.0;

/// The alternatives of one hypothesis, with everything a window's update needs precomputed.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Grid {
    /// `u_j = ln(theta_j / margin)`, ascending.
    pub(super) log_ratio: [f64; GRID_POINTS],
    /// `ln pi_j`: the normalised weights `exp(-u_j^2 / 2)`.
    pub(super) log_prior: [f64; GRID_POINTS],
    /// `theta_j - 1`, for `ln(1 + s (theta_j - 1)) = ln_1p(s * (theta_j - 1))`.
    ratio_minus_one: [f64; GRID_POINTS],
    /// `margin - 1`.
    null_minus_one: f64,
    /// `ln margin`.
    log_margin: f64,
}

impl Grid {
    /// The grid of `hypothesis`: one-sided `u_j = j L / K` for `j = 1..=K`; two-sided
    /// `u_j = -L + 2 L (j - 1) / (K - 1)`, which includes the null `u = 0`.
    pub(super) fn new(hypothesis: Hypothesis) -> Self {
        let mut log_ratio = [0.0; GRID_POINTS];
        for (j, u) in (0_u32..).zip(log_ratio.iter_mut()) {
            let j = f64::from(j);
            *u = match hypothesis.sides() {
                Sides::OneSided => (j + 1.0) * GRID_HALF_WIDTH / f64::from(K),
                Sides::TwoSided => -GRID_HALF_WIDTH + 2.0 * GRID_HALF_WIDTH * j / f64::from(K - 1),
            };
        }
        let mut log_prior = log_ratio.map(|u| -u * u / 2.0);
        let max = log_prior.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_total = max + log_prior.iter().map(|p| (p - max).exp()).sum::<f64>().ln();
        for p in &mut log_prior {
            *p -= log_total;
        }
        let log_margin = hypothesis.margin().ratio().ln();
        Grid {
            log_ratio,
            log_prior,
            ratio_minus_one: log_ratio.map(|u| (log_margin + u).exp_m1()),
            null_minus_one: log_margin.exp_m1(),
            log_margin,
        }
    }

    /// Adds one window's log-likelihood ratios to `log_ratios`: canary errors `canary_errors`
    /// out of `errors` in the window, with the canary's share `share` of its requests
    /// (strictly between 0 and 1, or 1 after rounding when the primary's share is negligible).
    ///
    /// `ln L(theta_j) = e_c u_j - N [ln(1 + s (theta_j - 1)) - ln(1 + s (margin - 1))]`.
    pub(super) fn add_window(
        &self,
        log_ratios: &mut [f64; GRID_POINTS],
        canary_errors: f64,
        errors: f64,
        share: f64,
    ) {
        let null = (share * self.null_minus_one).ln_1p();
        for ((l, u), m1) in log_ratios
            .iter_mut()
            .zip(&self.log_ratio)
            .zip(&self.ratio_minus_one)
        {
            *l += canary_errors * u - errors * ((share * m1).ln_1p() - null);
        }
    }

    /// The error ratio `theta = margin * e^u` at grid coordinate `u`.
    pub(super) fn ratio_at(&self, u: f64) -> f64 {
        (self.log_margin + u).exp()
    }
}

/// `ln sum_j exp(x_j)`, without overflow.
pub(super) fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + values.map(|x| (x - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Index of the null (u = 0) on the two-sided grid.
    const TWO_SIDED_NULL: usize = (GRID_POINTS - 1) / 2;

    #[test]
    fn one_sided_grid_runs_from_l_over_k_to_l() {
        let grid = Grid::new(Hypothesis::ONE_SIDED);
        assert!((grid.log_ratio[0] - 4.0 / 41.0).abs() < 1e-15);
        assert!((grid.log_ratio[GRID_POINTS - 1] - 4.0).abs() < 1e-15);
    }

    #[test]
    fn two_sided_grid_is_symmetric_around_the_null() {
        let grid = Grid::new(Hypothesis::TWO_SIDED);
        assert!((grid.log_ratio[0] + 4.0).abs() < 1e-15);
        assert!(grid.log_ratio[TWO_SIDED_NULL].abs() < 1e-15);
        for j in 0..GRID_POINTS {
            let mirrored = grid.log_ratio[GRID_POINTS - 1 - j];
            assert!((grid.log_ratio[j] + mirrored).abs() < 1e-12);
            assert!((grid.log_prior[j] - grid.log_prior[GRID_POINTS - 1 - j]).abs() < 1e-12);
        }
    }

    #[test]
    fn prior_weights_sum_to_one_and_fall_away_from_the_null() {
        for hypothesis in [Hypothesis::ONE_SIDED, Hypothesis::TWO_SIDED] {
            let grid = Grid::new(hypothesis);
            let total: f64 = grid.log_prior.iter().map(|p| p.exp()).sum();
            assert!((total - 1.0).abs() < 1e-12, "{total}");
        }
        let grid = Grid::new(Hypothesis::ONE_SIDED);
        assert!(grid.log_prior.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn log_sum_exp_handles_large_and_empty_inputs() {
        let values = [1000.0, 1000.0];
        assert!((log_sum_exp(values.iter().copied()) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!(log_sum_exp(std::iter::empty::<f64>()).is_infinite());
    }
}
