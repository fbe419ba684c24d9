//! Tests of the judge: the design note's test vectors, invariants as properties, estimates and
//! the status form.

mod estimates;
mod properties;
mod status;
mod vectors;

use super::{Evidence, Hypothesis, Window};

/// Windows in the design note's order `(n_c, n_p, e_c, e_p)`.
pub(super) fn note_window(n_c: u64, n_p: u64, e_c: u64, e_p: u64) -> Window {
    Window::from_counts([n_c, e_c, n_p, e_p]).expect("valid counts")
}

/// The evidence after `windows`, and `ln M` after each.
pub(super) fn replay(hypothesis: Hypothesis, windows: &[Window]) -> (Evidence, Vec<f64>) {
    let mut evidence = Evidence::new(hypothesis);
    let trace = windows
        .iter()
        .map(|w| {
            evidence.observe(w);
            evidence.log_evidence()
        })
        .collect();
    (evidence, trace)
}
