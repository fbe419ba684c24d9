//! Metrics compared with the primary: the judge's verdict rolls back, the evidence carries over
//! from status and restarts on a new revision or an unreadable status, windows are spent only
//! when counted, and `onError: Hold` holds on provider errors.

use serin_crds::canary::{CanaryPhase, ComparisonVerdict};

use super::*;
use crate::conditions::{RECONCILING, event, reason};

const SR: &str = "request-success-rate";

fn comparison(plan: &Plan) -> serin_crds::canary::ComparisonStatus {
    plan.status
        .analysis
        .as_ref()
        .and_then(|a| a.comparisons.iter().find(|c| c.name == SR))
        .cloned()
        .expect("a comparison in status")
}

#[test]
fn a_canary_failing_far_more_than_the_primary_is_rolled_back_by_the_comparison() {
    let plan = canary()
        .with_compared_success_rate()
        .window_counts(SR, [1000, 60, 9000, 90])
        .progressing()
        .at_weight(10)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.failed_checks(), 0, "a verdict, not a failed check");
    assert!(plan.event_reasons().contains(&event::COMPARISON_ROLLBACK));
    let message = plan
        .event_messages()
        .into_iter()
        .find(|m| m.contains("compared with the primary"))
        .expect("the rollback event");
    assert!(
        message.contains("roll back: the canary's error rate is"),
        "{message}"
    );
    assert_eq!(comparison(&plan).verdict, Some(ComparisonVerdict::Rollback));
}

#[test]
fn an_identical_canary_advances_and_its_evidence_is_kept_in_status() {
    let plan = canary()
        .with_compared_success_rate()
        .window_counts(SR, [1000, 5, 9000, 45])
        .progressing()
        .at_weight(10)
        .decide();
    assert_eq!(plan.canary_weight(), 20);
    let c = comparison(&plan);
    assert_eq!(c.verdict, Some(ComparisonVerdict::Continue));
    assert!((c.alpha - 0.01).abs() < f64::EPSILON);
    assert_eq!(c.window_end, Some(now() - TimeDelta::seconds(30)));
    let evidence = c.evidence.expect("evidence");
    assert_eq!(evidence.windows, 1);
    assert_eq!(evidence.canary.requests, 1000);
    assert_eq!(evidence.primary.errors, 45);
    assert_eq!(
        evidence.log_likelihood_ratios.len(),
        serin_judge::GRID_POINTS
    );
}

#[test]
fn evidence_accumulates_over_steps_until_it_rolls_back() {
    // Twice the primary's error rate: no single window is enough, together they are.
    let step = [2000, 20, 8000, 40];
    let mut fixture = canary()
        .with_compared_success_rate()
        .window_counts(SR, step)
        .progressing()
        .at_weight(10);
    let first = fixture.decide();
    assert_eq!(
        first.phase(),
        CanaryPhase::Progressing,
        "one window is not enough"
    );
    let mut windows = 1;
    let mut plan = first;
    while plan.phase() == CanaryPhase::Progressing && windows < 30 {
        fixture = fixture.then(&plan, 60).window_counts(SR, step);
        plan = fixture.decide();
        windows += 1;
    }
    assert_eq!(plan.phase(), CanaryPhase::Failed, "after {windows} windows");
    assert!(windows > 1);
    assert!(plan.event_reasons().contains(&event::COMPARISON_ROLLBACK));
}

#[test]
fn a_new_revision_restarts_the_evidence() {
    let fixture = canary()
        .with_compared_success_rate()
        .window_counts(SR, [1000, 10, 9000, 45])
        .progressing()
        .at_weight(10);
    let plan = fixture.decide();
    assert_eq!(comparison(&plan).evidence.map(|e| e.windows), Some(1));
    let restarted = fixture.then(&plan, 60).with_new_revision().decide();
    let analysis = restarted.status.analysis.expect("analysis");
    assert!(analysis.comparisons.is_empty(), "{analysis:?}");
}

#[test]
fn an_unreadable_evidence_restarts_from_zero_with_a_warning() {
    let fixture = canary()
        .with_compared_success_rate()
        .progressing()
        .at_weight(10);
    let plan = fixture.decide();
    let mut next = fixture.then(&plan, 60);
    let analysis = next.status.analysis.as_mut().expect("analysis");
    analysis.comparisons[0]
        .evidence
        .as_mut()
        .expect("evidence")
        .log_likelihood_ratios
        .pop();
    let plan = next.decide();
    assert!(
        plan.event_reasons()
            .contains(&event::COMPARISON_EVIDENCE_RESET)
    );
    assert_eq!(
        comparison(&plan).evidence.map(|e| e.windows),
        Some(1),
        "this step's window only"
    );
    assert_eq!(plan.canary_weight(), 30);
}

#[test]
fn a_window_without_primary_requests_is_no_data() {
    let fixture = canary()
        .with_compared_success_rate()
        .window_counts(SR, [1000, 10, 0, 0])
        .progressing()
        .at_weight(10);
    assert_eq!(fixture.decide().failed_checks(), 1, "onNoData: Fail");
    let mut holding = fixture.clone();
    holding.spec.analysis.metrics.as_mut().expect("metrics")[0].on_no_data =
        Some(serin_crds::canary::MetricNoData::Hold);
    let plan = holding.decide();
    assert_eq!(plan.failed_checks(), 0);
    assert_eq!(plan.condition(RECONCILING).1, reason::NO_DATA);
    assert_eq!(
        comparison(&plan).window_end,
        Some(now() - TimeDelta::seconds(30)),
        "an empty window is spent"
    );
}

#[test]
fn a_provider_error_counts_a_failed_check_by_default() {
    let plan = canary()
        .with_compared_success_rate()
        .counts_fail(SR)
        .progressing()
        .at_weight(10)
        .decide();
    assert_eq!(plan.failed_checks(), 1);
    assert!(plan.weights().is_none());
}

#[test]
fn on_error_hold_holds_without_a_failed_check_and_keeps_the_window_open() {
    let fixture = canary()
        .with_compared_success_rate()
        .holding_on_error()
        .progressing()
        .at_weight(10);
    let counted = fixture.decide();
    let window_end = comparison(&counted).window_end;
    let failing = fixture.then(&counted, 60).counts_fail(SR);
    let plan = failing.decide();
    assert_eq!(plan.failed_checks(), 0);
    assert!(plan.weights().is_none(), "no weight change");
    assert_eq!(plan.canary_weight(), 20);
    assert_eq!(plan.condition(RECONCILING).1, reason::PROVIDER_ERROR);
    assert_eq!(plan.status.provider_error_since, Some(failing.now));
    assert_eq!(comparison(&plan).window_end, window_end, "not spent");
    assert_eq!(comparison(&plan).evidence.map(|e| e.windows), Some(1));

    // The provider answers again: the hold ends and the release goes on.
    let resumed = failing.then(&plan, 60);
    let mut resumed = resumed;
    resumed.comparison_counts.clear();
    let plan = resumed.decide();
    assert_eq!(plan.status.provider_error_since, None);
    assert_eq!(plan.canary_weight(), 30);
    assert_eq!(comparison(&plan).evidence.map(|e| e.windows), Some(2));
}

#[test]
fn on_error_hold_on_a_threshold_metric_holds_too() {
    let plan = canary()
        .with_metric("error-rate")
        .holding_on_error()
        .metric_gives("error-rate", MetricOutcome::Error)
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.failed_checks(), 0);
    assert!(plan.weights().is_none());
    assert_eq!(plan.condition(RECONCILING).1, reason::PROVIDER_ERROR);
}

#[test]
fn provider_errors_past_the_progress_deadline_roll_back() {
    let plan = canary()
        .with_compared_success_rate()
        .holding_on_error()
        .counts_fail(SR)
        .progressing()
        .at_weight(20)
        .with_provider_error_since_secs(600)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert!(
        plan.event_reasons()
            .contains(&event::PROVIDER_ERROR_DEADLINE_EXCEEDED)
    );
    assert_eq!(plan.status.provider_error_since, None);
}
