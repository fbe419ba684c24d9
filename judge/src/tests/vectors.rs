//! The test vectors of the design note (`sequential-judge.md`), to 1e-5, and the margin's
//! formula against a direct computation.

// The expected values keep the note's digits as written there.
#![allow(clippy::unreadable_literal)]

use super::{note_window, replay};
use crate::{Alpha, Evidence, Hypothesis, Margin, Observed, Sides, SkipReason, Verdict};

fn rising_canary() -> Vec<crate::Window> {
    vec![
        note_window(612, 5391, 9, 24),
        note_window(1187, 4820, 14, 25),
        note_window(1795, 4203, 22, 20),
        note_window(2410, 3588, 27, 17),
        note_window(3004, 2999, 31, 14),
    ]
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() < 1e-5,
            "window {}: ln M {a}, expected {e}",
            i + 1
        );
    }
}

fn first_rollback(hypothesis: Hypothesis, windows: &[crate::Window]) -> Option<usize> {
    let mut evidence = Evidence::new(hypothesis);
    windows.iter().position(|w| {
        evidence.observe(w);
        evidence.verdict(Alpha::DEFAULT) == Verdict::Rollback
    })
}

#[test]
fn one_sided_evidence_matches_the_note_and_rolls_back_at_the_second_window() {
    let (_, trace) = replay(Hypothesis::ONE_SIDED, &rising_canary());
    assert_close(
        &trace,
        &[2.931128, 5.188914, 9.518353, 13.340027, 16.456298],
    );
    assert_eq!(
        first_rollback(Hypothesis::ONE_SIDED, &rising_canary()),
        Some(1)
    );
}

#[test]
fn two_sided_evidence_matches_the_note_and_rolls_back_at_the_third_window() {
    let (_, trace) = replay(Hypothesis::TWO_SIDED, &rising_canary());
    assert_close(
        &trace,
        &[2.207732, 4.456689, 8.785501, 12.607164, 15.723399],
    );
    assert_eq!(
        first_rollback(Hypothesis::TWO_SIDED, &rising_canary()),
        Some(2)
    );
}

#[test]
fn a_window_without_canary_traffic_adds_nothing() {
    let windows = [
        note_window(600, 5400, 3, 27),
        note_window(1200, 4800, 7, 23),
        note_window(0, 6000, 0, 31),
        note_window(2400, 3600, 13, 17),
    ];
    let (evidence, trace) = replay(Hypothesis::ONE_SIDED, &windows);
    assert_close(&trace, &[-0.773508, -0.900561, -0.900561, -1.037238]);
    assert_eq!((evidence.windows(), evidence.skipped_windows()), (3, 1));
    assert_eq!(evidence.primary_totals().errors, 27 + 23 + 17);
}

#[test]
fn skipped_windows_say_which_arm_had_no_requests() {
    let mut evidence = Evidence::new(Hypothesis::ONE_SIDED);
    let observe = |e: &mut Evidence, counts| e.observe(&note_window_counts(counts));
    assert_eq!(
        observe(&mut evidence, [0, 0, 0, 0]),
        Observed::Skipped(SkipReason::NoRequests)
    );
    assert_eq!(
        observe(&mut evidence, [0, 0, 10, 1]),
        Observed::Skipped(SkipReason::NoCanaryRequests)
    );
    assert_eq!(
        observe(&mut evidence, [10, 10, 0, 0]),
        Observed::Skipped(SkipReason::NoPrimaryRequests)
    );
    assert_eq!(observe(&mut evidence, [10, 0, 10, 0]), Observed::Counted);
    assert!(
        evidence.log_evidence().abs() < 1e-12,
        "a window without errors is no evidence"
    );
    assert_eq!((evidence.windows(), evidence.skipped_windows()), (1, 3));
}

fn note_window_counts(counts: [u64; 4]) -> crate::Window {
    crate::Window::from_counts(counts).expect("valid counts")
}

/// `ln L(theta) - ln L(theta_0)` summed over windows, with plain logarithms.
fn direct_log_ratio(theta: f64, theta_0: f64, windows: &[(u32, u32, u32, u32)]) -> f64 {
    windows
        .iter()
        .map(|&counts| {
            let (n_c, n_p, e_c, e_p) = (
                f64::from(counts.0),
                f64::from(counts.1),
                f64::from(counts.2),
                f64::from(counts.3),
            );
            let s = n_c / (n_c + n_p);
            let n = e_c + e_p;
            let l = |t: f64| e_c * t.ln() - n * (1.0 + s * (t - 1.0)).ln();
            l(theta) - l(theta_0)
        })
        .sum()
}

#[test]
fn with_a_margin_each_grid_point_is_tested_against_the_margin() {
    let counts = [(612, 5391, 9, 24), (1187, 4820, 14, 25)];
    let windows: Vec<_> = counts
        .iter()
        .map(|&(a, b, c, d)| note_window(a.into(), b.into(), c.into(), d.into()))
        .collect();
    let margin = Margin::new(1.5).expect("valid margin");
    let hypothesis = Hypothesis::new(Sides::OneSided, margin).expect("valid hypothesis");
    let (evidence, _) = replay(hypothesis, &windows);
    for (j, l) in (1..=41_u32).zip(evidence.log_likelihood_ratios()) {
        let u = f64::from(j) * 4.0 / 41.0;
        let expected = direct_log_ratio(1.5 * u.exp(), 1.5, &counts);
        assert!((l - expected).abs() < 1e-9, "point {j}: {l} vs {expected}");
    }
    let (plain, _) = replay(Hypothesis::ONE_SIDED, &windows);
    assert!(
        evidence.log_evidence() < plain.log_evidence() - 1.0,
        "tolerating 1.5x leaves less evidence against a canary at about 2.7x: {} vs {}",
        evidence.log_evidence(),
        plain.log_evidence()
    );
    assert_eq!(evidence.verdict(Alpha::DEFAULT), Verdict::Continue);
}

#[test]
fn the_threshold_is_ln_one_over_alpha() {
    assert!((Alpha::DEFAULT.threshold() - 4.60517).abs() < 1e-5);
    let alpha = Alpha::new(0.05).expect("valid alpha");
    assert!((alpha.threshold() - 20f64.ln()).abs() < 1e-12);
    // Window 1 of the rising canary (2.93) crosses at alpha 0.1 (2.30) but not at 0.05 (3.00).
    let mut evidence = Evidence::new(Hypothesis::ONE_SIDED);
    evidence.observe(&rising_canary()[0]);
    assert_eq!(evidence.verdict(alpha), Verdict::Continue);
    let loose = Alpha::new(0.1).expect("valid alpha");
    assert_eq!(evidence.verdict(loose), Verdict::Rollback);
}

#[test]
fn invalid_settings_are_refused() {
    for alpha in [0.0, 1.0, -0.1, f64::NAN, f64::INFINITY, 1e-301] {
        assert!(Alpha::new(alpha).is_err(), "alpha {alpha}");
    }
    for margin in [0.99, 0.0, f64::NAN, f64::INFINITY, 1000.5] {
        assert!(Margin::new(margin).is_err(), "margin {margin}");
    }
    let margin = Margin::new(1.2).expect("valid margin");
    let error = Hypothesis::new(Sides::TwoSided, margin).expect_err("two-sided with a margin");
    assert_eq!(
        error.to_string(),
        "a margin (1.2) only applies to the one-sided test"
    );
    assert_eq!(error.category(), "invalid_judge_settings");
    assert_eq!(
        Hypothesis::new(Sides::TwoSided, Margin::NONE),
        Ok(Hypothesis::TWO_SIDED)
    );
}
