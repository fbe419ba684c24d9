//! Gates and hooks: `confirm-rollout`, `pre-rollout`, `rollout`, `confirm-traffic-increase`,
//! `confirm-promotion`, `post-rollout`, `rollback` and `event`.

use super::*;
use crate::{HookCall, RECONCILING, reason};
use serin_crds::validation::HookKind;

fn gated(kind: HookType) -> Fixture {
    canary().with_hook("gate", kind)
}

#[test]
fn confirm_rollout_is_asked_before_a_release_starts() {
    let request = gated(HookType::ConfirmRollout).with_new_revision().asks();
    assert_eq!(
        request.hooks,
        vec![HookCall {
            name: "gate".into(),
            kind: HookKind::ConfirmRollout
        }]
    );
    assert!(!request.metrics);
}

#[test]
fn confirm_rollout_closed_holds_the_release_in_waiting() {
    let plan = gated(HookType::ConfirmRollout)
        .hook_fails("gate")
        .with_new_revision()
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Waiting);
    assert!(!plan.has(&Action::ScaleCanaryUp));
    assert_eq!(
        plan.condition(RECONCILING).1,
        reason::AWAITING_ROLLOUT_APPROVAL
    );
}

#[test]
fn confirm_rollout_open_starts_progressing() {
    let plan = gated(HookType::ConfirmRollout).with_new_revision().decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.has(&Action::ScaleCanaryUp));
}

#[test]
fn waiting_for_approval_is_alerted_once() {
    let fixture = gated(HookType::ConfirmRollout)
        .hook_fails("gate")
        .with_new_revision();
    let first = fixture.decide();
    assert_eq!(first.alerts().len(), 1);
    let second = fixture.then(&first, 60).decide();
    assert_eq!(second.phase(), CanaryPhase::Waiting);
    assert!(second.alerts().is_empty());
    assert!(second.event_reasons().is_empty());
}

#[test]
fn waiting_approved_later_starts_progressing() {
    let fixture = gated(HookType::ConfirmRollout)
        .hook_fails("gate")
        .with_new_revision();
    let first = fixture.decide();
    let mut later = fixture.then(&first, 60);
    later.hook_outcomes.clear();
    let plan = later.decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.has(&Action::ScaleCanaryUp));
}

#[test]
fn waiting_asks_its_gate_only_once_per_interval() {
    let fixture = gated(HookType::ConfirmRollout)
        .hook_fails("gate")
        .in_phase(CanaryPhase::Waiting)
        .last_analysed_secs_ago(10);
    assert!(matches!(fixture.first_call(), Decision::Act(_)));
}

#[test]
fn pre_rollout_runs_before_any_traffic_instead_of_metrics() {
    let request = gated(HookType::PreRollout)
        .with_hook("tests", HookType::Rollout)
        .with_metric("error-rate")
        .progressing()
        .asks();
    let names: Vec<_> = request.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec!["gate"]);
    assert!(!request.metrics);
}

#[test]
fn pre_rollout_failure_counts_a_failed_check_and_keeps_weight_zero() {
    let plan = gated(HookType::PreRollout)
        .hook_fails("gate")
        .progressing()
        .decide();
    assert_eq!(plan.failed_checks(), 1);
    assert_eq!(plan.canary_weight(), 0);
    assert!(plan.weights().is_none());
}

#[test]
fn pre_rollout_success_moves_to_the_first_step() {
    let plan = gated(HookType::PreRollout).progressing().decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(10))));
}

#[test]
fn rollout_hooks_run_on_every_later_step() {
    let request = gated(HookType::Rollout).progressing().at_weight(20).asks();
    assert_eq!(request.hooks[0].kind, HookKind::Rollout);
}

#[test]
fn rollout_hook_failure_counts_a_failed_check_and_holds_the_weight() {
    let plan = gated(HookType::Rollout)
        .hook_fails("gate")
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.failed_checks(), 1);
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 20);
}

#[test]
fn confirm_traffic_increase_closed_holds_the_weight() {
    let plan = gated(HookType::ConfirmTrafficIncrease)
        .hook_fails("gate")
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.canary_weight(), 20);
    assert!(plan.weights().is_none());
    assert_eq!(
        plan.condition(RECONCILING).1,
        reason::AWAITING_TRAFFIC_APPROVAL
    );
}

#[test]
fn confirm_traffic_increase_closed_is_not_a_failed_check() {
    let plan = gated(HookType::ConfirmTrafficIncrease)
        .hook_fails("gate")
        .progressing()
        .at_weight(20)
        .with_failed_checks(1)
        .decide();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn confirm_traffic_increase_open_advances() {
    let plan = gated(HookType::ConfirmTrafficIncrease)
        .progressing()
        .at_weight(20)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(30))));
}

#[test]
fn confirm_traffic_increase_is_not_asked_at_max_weight() {
    let request = gated(HookType::ConfirmTrafficIncrease)
        .with_hook("tests", HookType::Rollout)
        .progressing()
        .at_weight(50)
        .asks();
    assert!(
        request
            .hooks
            .iter()
            .all(|h| h.kind != HookKind::ConfirmTrafficIncrease)
    );
}

#[test]
fn confirm_promotion_closed_moves_to_waiting_promotion() {
    let plan = gated(HookType::ConfirmPromotion)
        .hook_fails("gate")
        .progressing()
        .at_weight(50)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::WaitingPromotion);
    assert!(!plan.has(&Action::PromoteSpecToPrimary));
    assert_eq!(plan.canary_weight(), 50);
}

#[test]
fn waiting_promotion_keeps_analysing() {
    let request = gated(HookType::ConfirmPromotion)
        .with_metric("error-rate")
        .in_phase(CanaryPhase::WaitingPromotion)
        .at_weight(50)
        .asks();
    assert!(request.metrics);
    assert!(
        request
            .hooks
            .iter()
            .any(|h| h.kind == HookKind::ConfirmPromotion)
    );
}

#[test]
fn waiting_promotion_rolls_back_when_checks_reach_the_threshold() {
    let plan = gated(HookType::ConfirmPromotion)
        .hook_fails("gate")
        .with_metric("error-rate")
        .metric_gives("error-rate", MetricOutcome::Fail)
        .in_phase(CanaryPhase::WaitingPromotion)
        .at_weight(50)
        .with_failed_checks(2)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
}

#[test]
fn waiting_promotion_approved_promotes() {
    let plan = gated(HookType::ConfirmPromotion)
        .in_phase(CanaryPhase::WaitingPromotion)
        .at_weight(50)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.has(&Action::PromoteSpecToPrimary));
}

#[test]
fn waiting_for_promotion_is_alerted_once() {
    let fixture = gated(HookType::ConfirmPromotion)
        .hook_fails("gate")
        .progressing()
        .at_weight(50);
    let first = fixture.decide();
    assert_eq!(first.alerts().len(), 1);
    let second = fixture.then(&first, 60).decide();
    assert_eq!(second.phase(), CanaryPhase::WaitingPromotion);
    assert!(second.alerts().is_empty());
}

#[test]
fn a_rollback_hook_answering_2xx_rolls_back_now() {
    let plan = gated(HookType::Rollback)
        .progressing()
        .at_weight(30)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.event_reasons(), vec!["RollbackHookInvoked"]);
}

#[test]
fn a_rollback_hook_answering_otherwise_changes_nothing() {
    let plan = gated(HookType::Rollback)
        .hook_fails("gate")
        .progressing()
        .at_weight(30)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert_eq!(plan.canary_weight(), 40);
}

#[test]
fn a_rollback_hook_in_waiting_rolls_back() {
    let plan = gated(HookType::Rollback)
        .with_hook("approve", HookType::ConfirmRollout)
        .hook_fails("approve")
        .in_phase(CanaryPhase::Waiting)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn post_rollout_hooks_are_called_after_success() {
    let plan = gated(HookType::PostRollout)
        .in_phase(CanaryPhase::Finalising)
        .decide();
    assert_eq!(plan.called_hooks(), vec!["gate"]);
}

#[test]
fn post_rollout_hooks_are_called_after_a_rollback() {
    let plan = gated(HookType::PostRollout)
        .progressing()
        .at_weight(20)
        .with_failed_checks(3)
        .with_metric("error-rate")
        .metric_gives("error-rate", MetricOutcome::Fail)
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.called_hooks(), vec!["gate"]);
}

#[test]
fn post_rollout_hooks_are_not_gates() {
    let request = gated(HookType::PostRollout)
        .with_metric("error-rate")
        .progressing()
        .at_weight(20)
        .asks();
    assert!(request.hooks.is_empty());
}

#[test]
fn event_hooks_are_never_asked_as_checks() {
    let request = gated(HookType::Event)
        .with_metric("error-rate")
        .progressing()
        .at_weight(20)
        .asks();
    assert!(request.hooks.is_empty());
}

#[test]
fn a_hook_missing_from_the_results_counts_as_failed() {
    let fixture = gated(HookType::Rollout).progressing().at_weight(20);
    let mut observed = fixture.observations();
    observed.checks = Some(CheckResults::default());
    let decision = decide(&fixture.valid(), &fixture.status, &observed, fixture.now);
    let plan = decision.plan().unwrap();
    assert_eq!(plan.failed_checks(), 1);
}

#[test]
fn a_hook_still_answering_makes_the_tick_wait_for_it() {
    let fixtures = [
        (
            "confirm-rollout",
            gated(HookType::ConfirmRollout).with_new_revision(),
        ),
        ("pre-rollout", gated(HookType::PreRollout).progressing()),
        (
            "rollout",
            gated(HookType::Rollout).progressing().at_weight(20),
        ),
        (
            "confirm-promotion",
            gated(HookType::ConfirmPromotion)
                .progressing()
                .at_weight(50),
        ),
    ];
    for (kind, fixture) in fixtures {
        let pending = fixture.clone().hook_pending("gate");
        match pending.second_call() {
            Decision::RunChecks(request) => {
                assert_eq!(request.hooks[0].name, "gate", "{kind}");
            }
            Decision::Act(plan) => panic!("{kind}: acted on a pending hook: {plan:#?}"),
        }
        // Answered, the same tick acts.
        assert!(matches!(fixture.second_call(), Decision::Act(_)), "{kind}");
    }
}
