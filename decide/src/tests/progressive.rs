//! Progressive canary: steps, `maxWeight`, mirroring, pacing and readiness.

use std::time::Duration;

use super::*;
use crate::{RECONCILING, reason};

/// Runs ticks one interval apart until the phase leaves `Progressing`, collecting the canary
/// weights set on the way.
fn weights_until_promotion(mut fixture: Fixture) -> Vec<u8> {
    let mut seen = Vec::new();
    for _ in 0..30 {
        let plan = fixture.decide();
        if let Some(r) = plan.weights() {
            seen.push(r.canary.get());
        }
        if plan.phase() != CanaryPhase::Progressing {
            break;
        }
        fixture = fixture.then(&plan, 60);
    }
    seen
}

#[test]
fn the_first_passed_step_routes_the_first_step_weight() {
    let plan = canary().progressing().decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(10))));
    assert_eq!(plan.canary_weight(), 10);
}

#[test]
fn a_passed_step_advances_by_step_weight() {
    let plan = canary().progressing().at_weight(20).decide();
    assert!(plan.has(&split(30)));
}

#[test]
fn the_primary_gets_the_rest_of_the_traffic() {
    let plan = canary().progressing().at_weight(20).decide();
    let routes = plan.weights().unwrap();
    assert_eq!(routes.primary.get(), 70);
}

#[test]
fn weight_never_exceeds_max_weight_when_step_weight_does_not_divide_it() {
    let plan = canary()
        .with_step_weight(20)
        .progressing()
        .at_weight(40)
        .decide();
    assert!(plan.has(&split(50)));
}

#[test]
fn max_weight_50_with_step_weight_20_goes_20_40_50_where_flagger_goes_to_60() {
    let fixture = canary().with_step_weight(20).progressing();
    assert_eq!(weights_until_promotion(fixture), vec![20, 40, 50]);
}

#[test]
fn step_weights_are_followed_in_order() {
    let fixture = canary()
        .with_step_weights(&[1, 5, 25, 50])
        .with_max_weight(50)
        .progressing();
    assert_eq!(weights_until_promotion(fixture), vec![1, 5, 25, 50]);
}

#[test]
fn step_weights_above_max_weight_are_capped() {
    let fixture = canary()
        .with_step_weights(&[10, 40, 80])
        .with_max_weight(60)
        .progressing();
    assert_eq!(weights_until_promotion(fixture), vec![10, 40, 60]);
}

#[test]
fn at_max_weight_a_passed_step_promotes() {
    let plan = canary().progressing().at_weight(50).decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.has(&Action::PromoteSpecToPrimary));
    assert!(
        plan.weights().is_none(),
        "traffic stays until the primary is ready"
    );
}

#[test]
fn a_reconcile_before_the_interval_elapsed_does_nothing() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .last_analysed_secs_ago(20)
        .decide();
    assert!(plan.actions.is_empty());
    assert_eq!(plan.canary_weight(), 20);
}

#[test]
fn an_early_reconcile_requeues_for_the_rest_of_the_interval() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .last_analysed_secs_ago(20)
        .decide();
    assert_eq!(plan.requeue_after, Duration::from_secs(40));
}

#[test]
fn an_early_reconcile_keeps_the_reason_it_was_holding_for() {
    let fixture = canary()
        .with_hook("gate", HookType::ConfirmTrafficIncrease)
        .hook_fails("gate")
        .progressing()
        .at_weight(20);
    let held = fixture.decide();
    let early = fixture.then(&held, 10).decide();
    assert_eq!(
        early.condition(RECONCILING).1,
        reason::AWAITING_TRAFFIC_APPROVAL
    );
    assert!(early.event_reasons().is_empty());
}

#[test]
fn a_normal_step_requeues_after_the_interval() {
    let plan = canary().progressing().at_weight(20).decide();
    assert_eq!(plan.requeue_after, Duration::from_secs(60));
}

#[test]
fn a_step_records_when_it_ran() {
    let plan = canary().progressing().at_weight(20).decide();
    assert_eq!(plan.status.last_analysis_time, Some(now()));
}

#[test]
fn metric_results_are_recorded_in_status_analysis() {
    let plan = canary()
        .with_metric("error-rate")
        .with_metric("latency")
        .metric_gives("latency", MetricOutcome::Fail)
        .progressing()
        .at_weight(20)
        .decide();
    let analysis = plan.status.analysis.unwrap();
    assert_eq!(analysis.revision, Some(revision_id(&target(2))));
    let outcomes: Vec<_> = analysis.metrics.iter().map(|m| m.outcome).collect();
    assert_eq!(outcomes, vec![MetricOutcome::Pass, MetricOutcome::Fail]);
}

#[test]
fn metrics_are_asked_on_every_step_after_the_first() {
    let request = canary()
        .with_metric("error-rate")
        .progressing()
        .at_weight(10)
        .asks();
    assert!(request.metrics);
}

#[test]
fn the_second_call_of_a_tick_never_asks_again() {
    let fixture = canary()
        .with_metric("error-rate")
        .progressing()
        .at_weight(10);
    let mut observed = fixture.observed.clone();
    observed.checks = Some(CheckResults::default());
    let second = decide(&fixture.valid(), &fixture.status, &observed, fixture.now);
    assert!(matches!(second, Decision::Act(_)));
}

#[test]
fn mirroring_comes_before_any_traffic_shift() {
    let plan = canary().with_mirror(None).progressing().decide();
    assert_eq!(plan.weights(), Some(Routes::mirrored(Weight::FULL)));
    assert_eq!(plan.canary_weight(), 0);
}

#[test]
fn mirror_weight_limits_the_share_of_requests_copied() {
    let plan = canary().with_mirror(Some(30)).progressing().decide();
    assert_eq!(plan.weights(), Some(Routes::mirrored(weight(30))));
}

#[test]
fn after_a_mirrored_step_traffic_shifts_to_the_first_step() {
    let plan = canary()
        .with_mirror(None)
        .progressing()
        .with_live_routes(Routes::mirrored(Weight::FULL))
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(10))));
}

#[test]
fn a_mirrored_step_runs_the_metric_checks() {
    let request = canary()
        .with_mirror(None)
        .with_metric("error-rate")
        .progressing()
        .with_live_routes(Routes::mirrored(Weight::FULL))
        .asks();
    assert!(request.metrics);
}

#[test]
fn a_canary_not_ready_holds_without_a_failed_check() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .canary_not_ready_for_secs(30)
        .decide();
    assert_eq!(plan.failed_checks(), 0);
    assert_eq!(plan.canary_weight(), 20);
    assert_eq!(plan.condition(RECONCILING).1, reason::CANARY_NOT_READY);
}

#[test]
fn a_primary_not_ready_holds_the_analysis() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .primary_not_ready_for_secs(30)
        .decide();
    assert!(plan.weights().is_none());
    assert_eq!(plan.condition(RECONCILING).1, reason::PRIMARY_NOT_READY);
}

#[test]
fn weights_the_router_does_not_report_yet_are_set_again_before_judging() {
    let plan = canary()
        .with_metric("error-rate")
        .progressing()
        .at_weight(20)
        .with_live_routes(Routes::split(weight(10)))
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(20))));
    assert_eq!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
    assert_eq!(plan.requeue_after, Duration::from_secs(5));
}

#[test]
fn live_weights_matching_the_status_let_the_step_run() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .with_live_routes(Routes::split(weight(20)))
        .decide();
    assert!(plan.has(&split(30)));
}

#[test]
fn skip_analysis_promotes_once_the_canary_is_ready() {
    let plan = canary()
        .skipping_analysis()
        .with_metric("error-rate")
        .progressing()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.has(&Action::PromoteSpecToPrimary));
}

#[test]
fn skip_analysis_waits_for_the_canary_to_be_ready() {
    let plan = canary()
        .skipping_analysis()
        .progressing()
        .canary_not_ready_for_secs(10)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn skip_analysis_still_rolls_back_a_canary_past_its_deadline() {
    let plan = canary()
        .skipping_analysis()
        .progressing()
        .canary_deadline_exceeded()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn a_whole_progressive_release_ends_succeeded_with_all_traffic_on_the_primary() {
    let mut fixture = canary().with_new_revision();
    let mut phases = Vec::new();
    let mut last_weights = None;
    for _ in 0..20 {
        let plan = fixture.decide();
        phases.push(plan.phase());
        last_weights = plan.weights().or(last_weights);
        if plan.phase() == CanaryPhase::Succeeded {
            break;
        }
        fixture = fixture.then(&plan, 60);
    }
    assert_eq!(phases.last(), Some(&CanaryPhase::Succeeded));
    assert!(phases.contains(&CanaryPhase::Promoting));
    assert!(phases.contains(&CanaryPhase::Finalising));
    assert_eq!(last_weights, Some(Routes::all_primary()));
}
