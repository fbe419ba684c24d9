//! The point estimate, the range and the explanation.

use super::{note_window, replay};
use crate::{Alpha, EstimateKind, Evidence, Hypothesis, Verdict, Window};

fn windows(counts: &[[u64; 4]]) -> Vec<Window> {
    counts
        .iter()
        .map(|&c| Window::from_counts(c).expect("valid counts"))
        .collect()
}

#[test]
fn the_estimate_is_the_most_likely_grid_ratio_and_the_range_excludes_one_at_rollback() {
    let (evidence, _) = replay(
        Hypothesis::ONE_SIDED,
        &[
            note_window(612, 5391, 9, 24),
            note_window(1187, 4820, 14, 25),
        ],
    );
    let estimate = evidence.estimate().expect("errors were counted");
    assert_eq!(estimate.kind, EstimateKind::Point);
    // Observed: 23/1799 canary against 49/10211 primary, 2.67x.
    assert!((2.4..2.9).contains(&estimate.ratio), "{estimate:?}");
    let range = evidence.range(Alpha::DEFAULT);
    let (low, high) = (
        range.low.expect("bounded below"),
        range.high.expect("bounded"),
    );
    assert!(
        1.0 <= low && low < estimate.ratio && estimate.ratio < high,
        "{range:?}"
    );
    assert_eq!(evidence.verdict(Alpha::DEFAULT), Verdict::Rollback);
}

#[test]
fn before_rollback_the_one_sided_range_is_open_below() {
    let (evidence, _) = replay(Hypothesis::ONE_SIDED, &[note_window(612, 5391, 9, 24)]);
    let range = evidence.range(Alpha::DEFAULT);
    assert_eq!(
        range.low, None,
        "ratios down to 1 are not ruled out: {range:?}"
    );
    assert!(range.high.is_some_and(|h| h > 2.0), "{range:?}");
}

#[test]
fn no_errors_give_no_estimate_and_an_unbounded_range() {
    let (evidence, trace) = replay(Hypothesis::TWO_SIDED, &windows(&[[100, 0, 900, 0]]));
    assert!(trace[0].abs() < 1e-12, "{trace:?}");
    assert_eq!(evidence.estimate(), None);
    let range = evidence.range(Alpha::DEFAULT);
    assert_eq!((range.low, range.high), (None, None));
    let text = evidence.explain(Alpha::DEFAULT).to_string();
    assert!(
        text.starts_with("continue: no errors yet in either version;"),
        "{text}"
    );
}

#[test]
fn errors_only_on_the_canary_estimate_at_least_the_top_of_the_grid() {
    let (evidence, _) = replay(Hypothesis::ONE_SIDED, &windows(&[[1000, 30, 1000, 0]]));
    let estimate = evidence.estimate().expect("errors were counted");
    assert_eq!(estimate.kind, EstimateKind::AtLeast);
    assert!((estimate.ratio - 4f64.exp()).abs() < 1e-9);
    assert_eq!(evidence.range(Alpha::DEFAULT).high, None);
}

#[test]
fn a_better_canary_one_sided_is_at_most_one_and_two_sided_is_a_point_below_one() {
    let counts = windows(&[[3000, 5, 3000, 40]]);
    let (one, _) = replay(Hypothesis::ONE_SIDED, &counts);
    let estimate = one.estimate().expect("errors were counted");
    assert_eq!((estimate.kind, estimate.ratio), (EstimateKind::AtMost, 1.0));
    assert_eq!(one.verdict(Alpha::DEFAULT), Verdict::Continue);

    let (two, _) = replay(Hypothesis::TWO_SIDED, &counts);
    let estimate = two.estimate().expect("errors were counted");
    assert_eq!(estimate.kind, EstimateKind::Point);
    assert!(
        (0.08..0.2).contains(&estimate.ratio),
        "5/40 = 0.125: {estimate:?}"
    );
    // Two-sided, a much better canary is a difference too.
    assert_eq!(two.verdict(Alpha::DEFAULT), Verdict::Rollback);
    assert!(two.range(Alpha::DEFAULT).high.is_some_and(|h| h <= 1.0));
}

#[test]
fn the_explanation_gives_ratio_range_evidence_threshold_and_counts() {
    let (evidence, _) = replay(
        Hypothesis::ONE_SIDED,
        &[
            note_window(612, 5391, 9, 24),
            note_window(0, 6000, 0, 31),
            note_window(1187, 4820, 14, 25),
        ],
    );
    let explanation = evidence.explain(Alpha::DEFAULT);
    let text = explanation.to_string();
    let estimate = explanation.estimate.expect("errors were counted").ratio;
    let range = explanation.range;
    let expected = format!(
        "roll back: the canary's error rate is {estimate:.2}x the primary's (range: more than {:.2}x, less than {:.2}x); \
         evidence 5.19 reached the threshold 4.61 (alpha 0.01); canary 23 errors in 1799 requests \
         (1.28%), primary 49 in 10211 (0.48%), over 2 windows (1 skipped without traffic)",
        range.low.expect("bounded"),
        range.high.expect("bounded"),
    );
    assert_eq!(text, expected);
    let json = serde_json::to_value(&explanation).expect("serialisable");
    assert_eq!(json["verdict"], "rollback");
    assert_eq!(json["canary"]["errors"], 23);
    assert_eq!(json["skippedWindows"], 1);
}

#[test]
fn the_explanation_names_a_margin_and_the_two_sided_test() {
    let margin = crate::Margin::new(1.25).expect("valid margin");
    let hypothesis = Hypothesis::new(crate::Sides::OneSided, margin).expect("valid hypothesis");
    let (evidence, _) = replay(hypothesis, &windows(&[[600, 9, 5400, 24]]));
    let text = evidence.explain(Alpha::DEFAULT).to_string();
    assert!(text.contains(", 1.25x tolerated; evidence"), "{text}");

    let (evidence, _) = replay(Hypothesis::TWO_SIDED, &windows(&[[600, 9, 5400, 24]]));
    let text = evidence.explain(Alpha::DEFAULT).to_string();
    assert!(text.contains("(alpha 0.01, two-sided)"), "{text}");
    assert!(text.starts_with("continue: "), "{text}");
}

#[test]
fn fresh_evidence_is_zero() {
    let evidence = Evidence::new(Hypothesis::ONE_SIDED);
    assert!(evidence.log_evidence().abs() < 1e-12);
    assert_eq!(evidence.verdict(Alpha::DEFAULT), Verdict::Continue);
    assert!(evidence.log_likelihood_ratios().iter().all(|&l| l == 0.0));
}
