//! Manual controls: `serin.dev/abort`, `serin.dev/promote`, `serin.dev/retry` and
//! `serin.dev/pause`.

use super::*;
use crate::{RECONCILING, reason};

fn abort(f: Fixture, id: &str) -> Fixture {
    f.annotated(|c| c.abort = Some(id.to_owned()))
}

#[test]
fn abort_rolls_a_progressing_release_back() {
    let plan = abort(canary().progressing().at_weight(30), "1").decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.has(&Action::ScaleCanaryToZero));
}

#[test]
fn abort_is_acknowledged_in_status() {
    let plan = abort(canary().progressing(), "req-42").decide();
    let acks = plan.status.manual_controls.unwrap();
    assert_eq!(acks.abort.as_deref(), Some("req-42"));
}

#[test]
fn abort_acts_even_before_the_interval_elapsed() {
    let plan = abort(canary().progressing().last_analysed_secs_ago(1), "1").decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn an_acknowledged_abort_is_not_acted_on_again() {
    let plan = abort(canary().progressing().at_weight(20), "1")
        .with_acknowledged(|a| a.abort = Some("1".into()))
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn a_new_abort_value_is_a_new_request() {
    let plan = abort(canary().progressing().at_weight(20), "2")
        .with_acknowledged(|a| a.abort = Some("1".into()))
        .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn abort_while_waiting_for_approval_rolls_back() {
    let plan = abort(
        canary()
            .with_hook("gate", HookType::ConfirmRollout)
            .in_phase(CanaryPhase::Waiting),
        "1",
    )
    .decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn abort_without_a_release_is_acknowledged_and_ignored() {
    let plan = abort(canary().in_phase(CanaryPhase::Succeeded), "1").decide();
    assert_eq!(plan.phase(), CanaryPhase::Succeeded);
    assert_eq!(plan.event_reasons(), vec!["AbortIgnored"]);
    assert_eq!(
        plan.status.manual_controls.unwrap().abort.as_deref(),
        Some("1")
    );
}

#[test]
fn an_abort_acknowledged_while_idle_does_not_abort_the_next_release() {
    let idle = abort(canary(), "1");
    let acked = idle.decide();
    let plan = idle.then(&acked, 60).with_new_revision().decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn abort_is_alerted_as_a_warning() {
    let plan = abort(canary().progressing(), "1").decide();
    assert_eq!(plan.alerts()[0].0, AlertSeverity::Warn);
}

fn promote(f: Fixture) -> Fixture {
    f.annotated(|c| c.promote = Some("p1".to_owned()))
}

#[test]
fn promote_skips_the_remaining_steps() {
    let plan = promote(canary().progressing().at_weight(10)).decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
    assert!(plan.has(&Action::PromoteSpecToPrimary));
}

#[test]
fn promote_is_acknowledged() {
    let plan = promote(canary().progressing()).decide();
    assert_eq!(
        plan.status.manual_controls.unwrap().promote.as_deref(),
        Some("p1")
    );
}

#[test]
fn promote_skips_a_closed_confirm_promotion_gate() {
    let plan = promote(
        canary()
            .with_hook("gate", HookType::ConfirmPromotion)
            .hook_fails("gate")
            .in_phase(CanaryPhase::WaitingPromotion)
            .at_weight(50),
    )
    .decide();
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
}

#[test]
fn promote_waits_for_a_ready_canary_without_acknowledging() {
    let plan = promote(canary().progressing().canary_not_ready_for_secs(10)).decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert_eq!(plan.status.manual_controls, None);
}

#[test]
fn promote_while_waiting_opens_the_confirm_rollout_gate() {
    let plan = promote(
        canary()
            .with_hook("gate", HookType::ConfirmRollout)
            .hook_fails("gate")
            .in_phase(CanaryPhase::Waiting),
    )
    .decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.has(&Action::ScaleCanaryUp));
}

#[test]
fn promote_without_a_release_is_ignored() {
    let plan = promote(canary().in_phase(CanaryPhase::Failed)).decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.event_reasons(), vec!["PromoteIgnored"]);
}

fn retry(f: Fixture) -> Fixture {
    f.annotated(|c| c.retry = Some("r1".to_owned()))
}

#[test]
fn retry_releases_a_failed_revision_again() {
    let plan = retry(canary().in_phase(CanaryPhase::Failed).with_failed_checks(3)).decide();
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
    assert!(plan.has(&Action::ScaleCanaryUp));
    assert_eq!(plan.failed_checks(), 0);
}

#[test]
fn retry_is_acknowledged_once() {
    let fixture = retry(canary().in_phase(CanaryPhase::Failed));
    let plan = fixture.decide();
    assert_eq!(
        plan.status
            .manual_controls
            .clone()
            .unwrap()
            .retry
            .as_deref(),
        Some("r1")
    );
    let mut failed_again = plan.clone();
    failed_again.status.phase = Some(CanaryPhase::Failed);
    let next = fixture.then(&failed_again, 60).decide();
    assert_eq!(next.phase(), CanaryPhase::Failed);
}

#[test]
fn retry_goes_through_the_confirm_rollout_gate() {
    let plan = retry(
        canary()
            .with_hook("gate", HookType::ConfirmRollout)
            .hook_fails("gate")
            .in_phase(CanaryPhase::Failed),
    )
    .decide();
    assert_eq!(plan.phase(), CanaryPhase::Waiting);
}

#[test]
fn retry_outside_failed_is_ignored() {
    let plan = retry(canary().progressing().at_weight(20)).decide();
    assert_eq!(plan.canary_weight(), 30);
    assert_eq!(plan.event_reasons()[0], "RetryIgnored");
}

fn paused(f: Fixture) -> Fixture {
    f.annotated(|c| c.pause = Some("true".to_owned()))
}

#[test]
fn pause_holds_a_progressing_release_at_its_weight() {
    let plan = paused(canary().progressing().at_weight(20)).decide();
    assert!(plan.weights().is_none());
    assert_eq!(plan.canary_weight(), 20);
    assert_eq!(plan.condition(RECONCILING).1, reason::PAUSED);
}

#[test]
fn pause_is_shown_in_status() {
    let plan = paused(canary().progressing()).decide();
    assert_eq!(plan.status.manual_controls.unwrap().paused, Some(true));
}

#[test]
fn removing_the_pause_resumes_the_release() {
    let fixture = paused(canary().progressing().at_weight(20));
    let held = fixture.decide();
    let plan = fixture
        .then(&held, 60)
        .annotated(|c| c.pause = None)
        .decide();
    assert_eq!(plan.canary_weight(), 30);
    assert_eq!(plan.status.manual_controls, None);
}

#[test]
fn pause_blocks_a_new_release() {
    let plan = paused(canary().with_new_revision()).decide();
    assert_eq!(plan.phase(), CanaryPhase::Initialized);
    assert!(!plan.has(&Action::ScaleCanaryUp));
}

#[test]
fn pause_does_not_block_an_abort() {
    let plan = abort(paused(canary().progressing()), "1").decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
}

#[test]
fn pause_with_another_value_does_not_pause() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .annotated(|c| c.pause = Some("false".to_owned()))
        .decide();
    assert_eq!(plan.canary_weight(), 30);
}
