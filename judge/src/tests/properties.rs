//! Invariants of the evidence, as properties.
//!
//! - More canary errors never lower the one-sided evidence (with or without a margin): one more
//!   canary error adds `u_j - ln(1 + s (theta_j - 1)) + ln(1 + s (margin - 1))` to `l_j`, which
//!   is positive because `theta_j > margin` and `(1 + s (t - 1)) / t` falls as t grows. So every
//!   `l_j`, and their mixture, rises. (Two-sided this does not hold: for `theta_j < 1` the term is
//!   negative, and extra canary errors lower the evidence that the canary is better; a unit test
//!   shows it.)
//! - Splitting a window in two whose halves have the same canary share changes nothing: the
//!   window's term `e_c u_j - N ln(1 + s (theta_j - 1))` is linear in `(e_c, N)` for a fixed
//!   share s, so the halves' terms add up to the whole's, however the errors fall between the
//!   halves. (With different shares in the halves the evidence differs: the share is part of
//!   what is observed.)
//! - The order of windows does not matter, any counts give finite evidence, the range contains
//!   the margin exactly when the verdict is to continue, and the status form reads back exactly.

use proptest::prelude::*;

use super::replay;
use crate::{Alpha, Evidence, EvidenceStatus, Hypothesis, Margin, Sides, Verdict, Window};

/// Realistic windows: up to 20,000 requests a side, error rates up to 20%.
fn window() -> impl Strategy<Value = Window> {
    (1..20_000_u64, 0..=200_u64, 1..20_000_u64, 0..=200_u64).prop_map(|(nc, ec, np, ep)| {
        Window::from_counts([nc, ec.min(nc / 5), np, ep.min(np / 5)]).expect("valid counts")
    })
}

/// Any valid counts, including empty arms and counts near `u64::MAX`.
fn any_window() -> impl Strategy<Value = Window> {
    let count = prop_oneof![0..10_u64, 0..1_000_000_u64, any::<u64>()];
    (count.clone(), count.clone(), count.clone(), count).prop_map(|(a, b, c, d)| {
        Window::from_counts([a.max(b), a.min(b), c.max(d), c.min(d)]).expect("valid counts")
    })
}

fn one_sided() -> impl Strategy<Value = Hypothesis> {
    prop_oneof![Just(1.0), Just(1.2), 1.0..3.0_f64].prop_map(|m| {
        Hypothesis::new(Sides::OneSided, Margin::new(m).expect("valid margin"))
            .expect("valid hypothesis")
    })
}

fn any_hypothesis() -> impl Strategy<Value = Hypothesis> {
    prop_oneof![one_sided(), Just(Hypothesis::TWO_SIDED)]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #[test]
    fn more_canary_errors_never_lower_the_one_sided_evidence(
        hypothesis in one_sided(),
        history in prop::collection::vec(window(), 1..6),
        pick in any::<prop::sample::Index>(),
        extra in 1..50_u64,
    ) {
        let (before, _) = replay(hypothesis, &history);
        let mut more = history.clone();
        let i = pick.index(more.len());
        let (canary, primary) = (more[i].canary(), more[i].primary());
        let errors = (canary.errors + extra).min(canary.requests);
        more[i] = Window::new(
            crate::ArmCounts::new(canary.requests, errors),
            primary,
        ).expect("valid counts");
        let (after, _) = replay(hypothesis, &more);
        prop_assert!(after.log_evidence() >= before.log_evidence() - 1e-12,
            "{} < {}", after.log_evidence(), before.log_evidence());
        for (a, b) in after.log_likelihood_ratios().iter().zip(before.log_likelihood_ratios()) {
            prop_assert!(a >= b);
        }
    }

    #[test]
    fn splitting_a_window_into_halves_of_the_same_share_changes_nothing(
        hypothesis in any_hypothesis(),
        (canary_part, primary_part) in (1..50_u64, 1..50_u64),
        (first, second) in (1..200_u64, 1..200_u64),
        errors in (0..=1000_u64, 0..=1000_u64, 0..=1000_u64, 0..=1000_u64),
    ) {
        // Halves with canary:primary = canary_part:primary_part; errors at most requests.
        let (nc1, np1) = (canary_part * first, primary_part * first);
        let (nc2, np2) = (canary_part * second, primary_part * second);
        let (ec1, ec2) = (errors.0.min(nc1), errors.1.min(nc2));
        let (ep1, ep2) = (errors.2.min(np1), errors.3.min(np2));
        let halves = [
            Window::from_counts([nc1, ec1, np1, ep1]).expect("valid"),
            Window::from_counts([nc2, ec2, np2, ep2]).expect("valid"),
        ];
        let whole = Window::from_counts([nc1 + nc2, ec1 + ec2, np1 + np2, ep1 + ep2])
            .expect("valid");
        let (split, _) = replay(hypothesis, &halves);
        let (joined, _) = replay(hypothesis, &[whole]);
        for (a, b) in split.log_likelihood_ratios().iter().zip(joined.log_likelihood_ratios()) {
            prop_assert!(close(*a, *b), "{a} vs {b}");
        }
        prop_assert!(close(split.log_evidence(), joined.log_evidence()));
        prop_assert_eq!(split.canary_totals(), joined.canary_totals());
        prop_assert_eq!(split.primary_totals(), joined.primary_totals());
    }

    #[test]
    fn the_order_of_windows_does_not_matter(
        hypothesis in any_hypothesis(),
        history in prop::collection::vec(window(), 1..8),
    ) {
        let (forward, _) = replay(hypothesis, &history);
        let reversed: Vec<_> = history.iter().rev().copied().collect();
        let (backward, _) = replay(hypothesis, &reversed);
        prop_assert!(close(forward.log_evidence(), backward.log_evidence()));
    }

    #[test]
    fn any_counts_give_finite_evidence_and_a_range_that_holds_the_margin_unless_rolling_back(
        hypothesis in any_hypothesis(),
        history in prop::collection::vec(any_window(), 0..8),
        alpha in prop_oneof![Just(0.01), 1e-12..0.5_f64],
    ) {
        let alpha = Alpha::new(alpha).expect("valid alpha");
        let (evidence, trace) = replay(hypothesis, &history);
        prop_assert!(trace.iter().all(|l| l.is_finite()), "{trace:?}");
        prop_assert!(evidence.log_likelihood_ratios().iter().all(|l| l.is_finite()));
        let margin = hypothesis.margin().ratio();
        let range = evidence.range(alpha);
        let holds_margin = range.low.is_none_or(|low| low < margin)
            && range.high.is_none_or(|high| high > margin);
        prop_assert_eq!(holds_margin, evidence.verdict(alpha) == Verdict::Continue,
            "{:?} {}", range, evidence.log_evidence());
        if let (Some(estimate), Some(low)) = (evidence.estimate(), range.low) {
            prop_assert!(low <= estimate.ratio);
        }
        if let (Some(estimate), Some(high)) = (evidence.estimate(), range.high) {
            prop_assert!(estimate.ratio <= high);
        }
        let _ = evidence.explain(alpha).to_string();
    }

    #[test]
    fn the_status_form_reads_back_exactly(
        hypothesis in any_hypothesis(),
        history in prop::collection::vec(any_window(), 0..8),
    ) {
        let (evidence, _) = replay(hypothesis, &history);
        let json = serde_json::to_string(&EvidenceStatus::from(&evidence)).expect("serialisable");
        let status: EvidenceStatus = serde_json::from_str(&json).expect("readable");
        prop_assert_eq!(Evidence::try_from(&status).expect("valid"), evidence);
    }
}

#[test]
fn two_sided_evidence_can_fall_with_more_canary_errors() {
    // The canary looks much better (0 of 40 errors at half the traffic): evidence of a
    // difference, which extra canary errors weaken.
    let counts =
        |canary_errors| Window::from_counts([5000, canary_errors, 5000, 40]).expect("valid");
    let (better, _) = replay(Hypothesis::TWO_SIDED, &[counts(0)]);
    let (less_better, _) = replay(Hypothesis::TWO_SIDED, &[counts(10)]);
    assert!(less_better.log_evidence() < better.log_evidence());
    assert_eq!(better.verdict(Alpha::DEFAULT), Verdict::Rollback);
}

#[test]
fn halves_with_different_shares_are_not_the_whole() {
    let halves = [
        Window::from_counts([100, 5, 900, 10]).expect("valid"),
        Window::from_counts([900, 10, 100, 5]).expect("valid"),
    ];
    let whole = Window::from_counts([1000, 15, 1000, 15]).expect("valid");
    let (split, _) = replay(Hypothesis::ONE_SIDED, &halves);
    let (joined, _) = replay(Hypothesis::ONE_SIDED, &[whole]);
    assert!((split.log_evidence() - joined.log_evidence()).abs() > 0.1);
}
