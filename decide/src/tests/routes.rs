//! What the router reports: a step counts only while the routes are live; holds are bounded by
//! the progress deadline; routes and Services changed outside a release are set back.

use super::*;
use crate::{RECONCILING, event, reason};

fn pending(why: &str) -> RouteObservation {
    RouteObservation::Pending { reason: why.into() }
}

fn rejected(why: &str) -> RouteObservation {
    RouteObservation::Rejected { reason: why.into() }
}

#[test]
fn pending_routes_hold_the_step_with_a_condition_and_one_event_saying_why() {
    let fixture = canary()
        .with_metric("error-rate")
        .progressing()
        .at_weight(20)
        .with_routes(pending("Gateway public has not accepted the HTTPRoute yet"));
    let plan = fixture.decide();
    assert!(
        plan.weights().is_none(),
        "nothing is set while the router works"
    );
    assert_eq!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
    assert_eq!(plan.failed_checks(), 0, "no step is judged");
    assert_eq!(plan.event_reasons(), [reason::ROUTES_PENDING]);
    assert!(
        plan.event_messages()[0].contains("Gateway public has not accepted the HTTPRoute yet"),
        "{:?}",
        plan.event_messages()
    );
    assert_eq!(plan.status.routes_pending_since, Some(fixture.now));
    // The next tick holds too, without a second event.
    let next = fixture.then(&plan, 5).decide();
    assert!(
        next.event_reasons().is_empty(),
        "{:?}",
        next.event_reasons()
    );
    assert_eq!(next.status.routes_pending_since, Some(now()));
}

#[test]
fn rejected_routes_hold_with_a_warning() {
    let plan = canary()
        .progressing()
        .at_weight(20)
        .with_routes(rejected(
            "Gateway public did not accept the HTTPRoute: NotAllowedByListeners",
        ))
        .decide();
    assert_eq!(plan.condition(RECONCILING).1, reason::ROUTES_REJECTED);
    assert_eq!(warning_events(&plan), 1);
    assert_eq!(plan.phase(), CanaryPhase::Progressing);
}

#[test]
fn routes_not_live_for_a_whole_progress_deadline_roll_the_release_back_with_the_reason() {
    let mut fixture = canary()
        .with_progress_deadline_secs(60)
        .progressing()
        .at_weight(20)
        .with_routes(rejected("the HTTPRoute has no rule splitting traffic"));
    fixture.status.routes_pending_since = Some(fixture.now - TimeDelta::seconds(61));
    let plan = fixture.decide();
    assert_eq!(plan.phase(), CanaryPhase::Failed);
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert!(plan.event_reasons().contains(&event::ROUTES_NOT_LIVE));
    assert!(
        plan.event_messages()
            .iter()
            .any(|m| m.contains("the HTTPRoute has no rule splitting traffic")),
        "{:?}",
        plan.event_messages()
    );
    assert_eq!(plan.status.routes_pending_since, None);
}

#[test]
fn a_missing_route_during_a_release_is_applied_again() {
    let plan = canary()
        .progressing()
        .at_weight(30)
        .with_routes(RouteObservation::Missing)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::split(weight(30))));
    assert_eq!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
}

#[test]
fn live_routes_again_clear_the_hold_and_the_step_runs() {
    let mut fixture = canary().progressing().at_weight(20);
    fixture.status.routes_pending_since = Some(fixture.now - TimeDelta::seconds(30));
    let plan = fixture.decide();
    assert!(plan.has(&split(30)));
    assert_eq!(plan.status.routes_pending_since, None);
}

#[test]
fn routes_one_step_ahead_of_the_status_are_judged_and_not_moved_back() {
    // The last tick set 30 and failed to write its status, which still says 20.
    let plan = canary()
        .progressing()
        .at_weight(20)
        .with_live_routes(Routes::split(weight(30)))
        .decide();
    assert_ne!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
    assert!(plan.has(&split(30)), "the step is made again, at 30");
    // Two steps ahead is not serin's move: set back.
    let plan = canary()
        .progressing()
        .at_weight(20)
        .with_live_routes(Routes::split(weight(40)))
        .decide();
    assert_eq!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
    assert_eq!(plan.weights(), Some(Routes::split(weight(20))));
}

#[test]
fn blue_green_with_plain_services_never_waits_for_routes() {
    // The kubernetes router has no weights to report: switching all traffic is its promotion.
    let mut fixture = canary()
        .blue_green(2)
        .progressing()
        .with_iterations_done(3)
        .with_live_routes(Routes::all_primary());
    fixture.spec.provider = Some(serin_crds::canary::Provider::Kubernetes);
    let plan = fixture.decide();
    assert_ne!(plan.condition(RECONCILING).1, reason::ROUTES_PENDING);
    assert_eq!(plan.phase(), CanaryPhase::Promoting);
}

#[test]
fn a_deleted_route_outside_a_release_is_applied_again_with_all_traffic_on_the_primary() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_routes(RouteObservation::Missing)
        .decide();
    assert_eq!(plan.weights(), Some(Routes::all_primary()));
    assert_eq!(plan.event_reasons(), [event::ROUTES_RESTORED]);
}

#[test]
fn pending_routes_outside_a_release_are_left_to_their_controller() {
    let plan = canary()
        .in_phase(CanaryPhase::Initialized)
        .with_routes(pending("no Gateway has reported on the HTTPRoute yet"))
        .decide();
    assert!(plan.weights().is_none());
    assert!(plan.event_reasons().is_empty());
}

#[test]
fn a_changed_or_deleted_service_outside_a_release_is_applied_again() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_services(&[
            (ServiceRole::Apex, Generated::Drifted),
            (ServiceRole::Primary, Generated::InSync),
            (ServiceRole::Canary, Generated::Missing),
        ])
        .decide();
    assert!(plan.has(&Action::ApplyServices(vec![
        ServiceRole::Apex,
        ServiceRole::Canary
    ])));
    assert_eq!(plan.event_reasons(), [event::SERVICES_RESTORED]);
    assert!(
        plan.event_messages()[0].contains("Service podinfo, podinfo-canary differed"),
        "{:?}",
        plan.event_messages()
    );
}

#[test]
fn a_service_the_cache_has_not_seen_since_serins_write_is_not_drift() {
    let plan = canary()
        .in_phase(CanaryPhase::Succeeded)
        .with_services(&[(ServiceRole::Apex, Generated::Unknown)])
        .decide();
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::ApplyServices(_)))
    );
}

#[test]
fn revert_on_deletion_puts_the_finalizer_on_once() {
    let plan = canary().reverting_on_deletion().decide();
    assert!(plan.has(&Action::AddFinalizer));
    let plan = canary().reverting_on_deletion().with_finalizer().decide();
    assert!(!plan.has(&Action::AddFinalizer));
    let plan = canary().decide();
    assert!(!plan.has(&Action::AddFinalizer));
}

#[test]
fn session_affinity_pins_users_with_a_cookie_from_the_revision_and_expires_it_after() {
    let mut fixture = canary().progressing().at_weight(10);
    fixture.spec.provider = Some(serin_crds::canary::Provider::Istio);
    fixture.spec.analysis.session_affinity = Some(serin_crds::canary::SessionAffinity {
        cookie_name: "flagger-cookie".into(),
        ..Default::default()
    });
    let plan = fixture.decide();
    let Some(Action::SetWeights(split)) = plan
        .actions
        .iter()
        .find(|a| matches!(a, Action::SetWeights(_)))
    else {
        panic!("no weights set: {:?}", plan.actions)
    };
    let cookie = split.sticky_cookie.clone().expect("a sticky cookie");
    assert!(cookie.starts_with("flagger-cookie="), "{cookie}");
    assert_eq!(plan.status.session_affinity_cookie.as_ref(), Some(&cookie));
    // Rolled back: the cookie is expired.
    let failed = fixture
        .then(&plan, 60)
        .metric_gives("error-rate", MetricOutcome::Fail)
        .with_metric("error-rate")
        .with_threshold(1)
        .decide();
    let expired = failed
        .actions
        .iter()
        .find_map(|a| match a {
            Action::SetWeights(s) => s.expired_cookie.clone(),
            _ => None,
        })
        .expect("an expired cookie");
    assert_eq!(expired, cookie);
    assert_eq!(failed.status.previous_session_affinity_cookie, Some(cookie));
    assert_eq!(failed.status.session_affinity_cookie, None);
}
