//! Failed checks, the threshold, the progress deadline and metrics without data.

use super::*;
use crate::{PROMOTED, RECONCILING, reason};

fn with_error_rate(outcome: MetricOutcome) -> Fixture {
    canary()
        .with_metric("error-rate")
        .metric_gives("error-rate", outcome)
        .progressing()
        .at_weight(20)
}

#[test]
fn a_failed_metric_counts_one_failed_check() {
    let plan = with_error_rate(MetricOutcome::Fail).decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn a_metric_error_counts_a_failed_check() {
    let plan = with_error_rate(MetricOutcome::Error).decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn no_data_counts_a_failed_check_by_default_as_in_flagger() {
    let plan = with_error_rate(MetricOutcome::NoData).decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn several_failed_metrics_in_one_step_count_once() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_metric("latency")
        .metric_gives("latency", MetricOutcome::Fail)
        .decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn a_failed_step_holds_the_weight() {
    let plan = with_error_rate(MetricOutcome::Fail).decide();
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 20);
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn a_failed_check_emits_a_warning_event_naming_the_metric() {
    let plan = with_error_rate(MetricOutcome::Fail).decide();
    assert_eq!(warning_events(&plan), 1);
    assert!(plan.event_messages()[0].contains("metric error-rate out of range"));
}

#[test]
fn failed_checks_below_the_threshold_keep_progressing() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(1)
        .decide();
    assert_eq!(plan.failed_checks(), 2);
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn a_passed_step_keeps_the_failed_checks_count() {
    let plan = with_error_rate(MetricOutcome::Pass)
        .with_failed_checks(2)
        .decide();
    assert_eq!(plan.failed_checks(), 2);
    assert_eq!(plan.canary_weight(), 30);
}

#[test]
fn canary_over_threshold_rolls_back_and_restores_primary_traffic() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(2)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn reaching_the_threshold_rolls_back_in_the_same_step_not_the_next() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_threshold(1)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn a_rollback_scales_the_canary_to_zero() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(2)
        .decide();
    assert!(plan.has(&Action::ScaleCanaryToZero));
}

#[test]
fn a_rollback_alerts_that_the_threshold_was_reached_as_an_error() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(2)
        .decide();
    assert_eq!(
        plan.alerts(),
        vec![(
            AlertSeverity::Error,
            "Failed checks threshold reached 3".to_owned()
        )]
    );
    assert!(
        plan.event_reasons()
            .contains(&"FailedChecksThresholdReached")
    );
}

#[test]
fn a_rollback_sets_the_promoted_condition_false_with_reason_failed() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(2)
        .decide();
    assert_eq!(
        plan.condition(PROMOTED),
        ("False".to_owned(), "Failed".to_owned())
    );
}

#[test]
fn a_rollback_keeps_the_attempted_revision_apart_from_the_promoted_one() {
    let plan = with_error_rate(MetricOutcome::Fail)
        .with_failed_checks(2)
        .decide();
    assert_eq!(
        plan.status.last_attempted_spec,
        Some(revision_id(&target(2)))
    );
    assert_eq!(plan.status.last_promoted_spec, Some(rev(1)));
}

#[test]
fn a_canary_not_ready_past_the_deadline_rolls_back_with_its_own_reason() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .canary_not_ready_for_secs(600)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.event_reasons().contains(&"ProgressDeadlineExceeded"));
}

#[test]
fn a_canary_reporting_its_deadline_exceeded_rolls_back() {
    let plan = canary().progressing().canary_deadline_exceeded().decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn the_progress_deadline_rollback_alerts_progress_deadline_exceeded() {
    let plan = canary()
        .with_progress_deadline_secs(60)
        .progressing()
        .canary_not_ready_for_secs(61)
        .decide();
    let alerts = plan.alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].0, AlertSeverity::Error);
    assert!(alerts[0].1.starts_with("Progress deadline exceeded"));
}

#[test]
fn a_canary_not_ready_within_the_deadline_is_not_rolled_back() {
    let plan = canary()
        .with_progress_deadline_secs(60)
        .progressing()
        .canary_not_ready_for_secs(59)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn no_data_on_a_holding_metric_holds_the_weight_without_a_failed_check() {
    let plan = canary()
        .with_metric_holding_on_no_data("error-rate")
        .metric_gives("error-rate", MetricOutcome::NoData)
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.failed_checks(), 0);
    assert!(plan.weights().is_none());
    assert_eq!(plan.condition(RECONCILING).1, reason::NO_DATA);
}

#[test]
fn a_no_data_hold_records_since_when() {
    let plan = canary()
        .with_metric_holding_on_no_data("error-rate")
        .metric_gives("error-rate", MetricOutcome::NoData)
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.status.no_data_since, Some(now()));
}

#[test]
fn a_no_data_hold_past_the_progress_deadline_rolls_back() {
    let plan = canary()
        .with_metric_holding_on_no_data("error-rate")
        .metric_gives("error-rate", MetricOutcome::NoData)
        .progressing()
        .at_weight(20)
        .with_no_data_since_secs(600)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert!(plan.event_reasons().contains(&"NoDataDeadlineExceeded"));
}

#[test]
fn data_returning_clears_the_no_data_hold_and_advances() {
    let plan = canary()
        .with_metric_holding_on_no_data("error-rate")
        .progressing()
        .at_weight(20)
        .with_no_data_since_secs(120)
        .decide();
    assert_eq!(plan.status.no_data_since, None);
    assert_eq!(plan.canary_weight(), 30);
}

#[test]
fn a_no_data_hold_is_reported_once() {
    let fixture = canary()
        .with_metric_holding_on_no_data("error-rate")
        .metric_gives("error-rate", MetricOutcome::NoData)
        .progressing()
        .at_weight(20);
    let first = fixture.decide();
    assert_eq!(first.event_reasons(), vec![reason::NO_DATA]);
    let second = fixture.then(&first, 60).decide();
    assert!(second.event_reasons().is_empty());
    assert_eq!(second.status.no_data_since, Some(now()));
}

#[test]
fn a_holding_metric_that_fails_still_counts_a_failed_check() {
    let plan = canary()
        .with_metric_holding_on_no_data("error-rate")
        .metric_gives("error-rate", MetricOutcome::Fail)
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn a_missing_metric_result_counts_as_failed() {
    let fixture = canary()
        .with_metric("error-rate")
        .progressing()
        .at_weight(20);
    let mut observed = fixture.observations();
    observed.checks = Some(CheckResults::default());
    let decision = decide(&fixture.valid(), &fixture.status, &observed, fixture.now);
    let plan = decision.plan().unwrap();
    assert_eq!(plan.failed_checks(), 1);
    assert_eq!(
        plan.status.analysis.as_ref().unwrap().metrics[0].outcome,
        MetricOutcome::Error
    );
}
