//! Scenarios through the public API of the decide step, following the protocol the reconcile
//! loop uses: observe, decide, run the checks asked for, decide again, execute, write status.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use serin_crds::canary::{CanaryPhase, CanaryStatus, MetricOutcome, MetricResult};
use serin_crds::validation::{ValidCanary, validate_canary};
use serin_decide::{
    Action, CheckResults, Decision, HookOutcome, Observations, Plan, RouteObservation, Routes,
    TargetRevision, decide, revision,
};

const SPEC: &str = "
targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
service: {port: 9898}
analysis:
  interval: 30s
  threshold: 2
  stepWeight: 20
  maxWeight: 50
  metrics:
    - name: error-rate
      templateRef: {name: error-rate}
      thresholdRange: {max: 1}
  webhooks:
    - name: approve
      type: confirm-promotion
      url: http://gate.test/approve
";

/// A cluster reduced to what the decide step observes, and an executor for its plans.
struct World {
    canary: ValidCanary,
    status: CanaryStatus,
    now: DateTime<Utc>,
    image: String,
    routes: Routes,
    metric: MetricOutcome,
    approved: bool,
    log: Vec<Action>,
}

impl World {
    fn new(spec: &str) -> World {
        World {
            canary: validate_canary(&serde_yaml::from_str(spec).expect("YAML"), None)
                .expect("a valid spec"),
            status: CanaryStatus::default(),
            now: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            image: "podinfo:1".into(),
            routes: Routes::all_primary(),
            metric: MetricOutcome::Pass,
            approved: true,
            log: Vec::new(),
        }
    }

    fn observe(&self) -> Observations {
        Observations {
            generation: Some(1),
            target: TargetRevision {
                template: revision::template_hash(&json!({"containers": [{"image": self.image}]})),
                configs: BTreeMap::new(),
            },
            routes: RouteObservation::Live {
                routes: self.routes,
                confirmed: true,
            },
            ..Observations::default()
        }
    }

    /// One reconcile, `secs` after the previous one.
    fn tick(&mut self, secs: i64) -> Plan {
        self.now += Duration::seconds(secs);
        let mut observed = self.observe();
        let plan = match decide(&self.canary, &self.status, &observed, self.now) {
            Decision::Act(plan) => *plan,
            Decision::RunChecks(request) => {
                let hooks = request
                    .hooks
                    .iter()
                    .map(|h| {
                        let outcome = if self.approved {
                            HookOutcome::Passed
                        } else {
                            HookOutcome::Failed
                        };
                        (h.name.clone(), outcome)
                    })
                    .collect();
                let metrics = self
                    .canary
                    .metrics
                    .iter()
                    .filter(|_| request.metrics)
                    .map(|m| MetricResult {
                        name: m.name.clone(),
                        outcome: self.metric,
                        ..MetricResult::default()
                    })
                    .collect();
                observed.checks = Some(CheckResults {
                    hooks,
                    metrics,
                    ..CheckResults::default()
                });
                match decide(&self.canary, &self.status, &observed, self.now) {
                    Decision::Act(plan) => *plan,
                    Decision::RunChecks(r) => unreachable!("the second call asked again: {r:?}"),
                }
            }
        };
        for action in &plan.actions {
            if let Action::SetWeights(r) = action {
                self.routes = r.routes;
            }
        }
        self.log.extend(plan.actions.iter().cloned());
        self.status = plan.status.clone();
        plan
    }

    fn phase(&self) -> CanaryPhase {
        self.status.phase.unwrap_or_default()
    }

    /// Ticks one interval apart until `phase`, returning the canary weights routed on the way.
    fn run_until(&mut self, phase: CanaryPhase) -> Vec<u8> {
        let mut weights = Vec::new();
        for _ in 0..50 {
            let plan = self.tick(30);
            if let Some(r) = plan.weights() {
                weights.push(r.canary.get());
            }
            if self.phase() == phase {
                return weights;
            }
        }
        assert_eq!(self.phase(), phase, "never reached {phase}");
        weights
    }
}

#[test]
fn a_release_goes_from_initialization_to_success_within_max_weight() {
    let mut world = World::new(SPEC);
    world.run_until(CanaryPhase::Initialized);
    world.image = "podinfo:2".into();
    let weights = world.run_until(CanaryPhase::Succeeded);
    assert_eq!(weights, vec![20, 40, 50, 0]);
    assert_eq!(world.routes, Routes::all_primary());
    assert_eq!(
        world.status.last_promoted_spec,
        world.status.last_applied_spec
    );
    assert!(world.log.contains(&Action::PromoteSpecToPrimary));
}

#[test]
fn a_closed_promotion_gate_holds_until_it_opens() {
    let mut world = World::new(SPEC);
    world.run_until(CanaryPhase::Initialized);
    world.image = "podinfo:2".into();
    world.approved = false;
    world.run_until(CanaryPhase::WaitingPromotion);
    for _ in 0..3 {
        world.tick(30);
        assert_eq!(world.phase(), CanaryPhase::WaitingPromotion);
        assert_eq!(world.routes.canary.get(), 50);
    }
    world.approved = true;
    world.run_until(CanaryPhase::Succeeded);
}

#[test]
fn a_failing_release_rolls_back_and_the_next_revision_is_released() {
    let mut world = World::new(SPEC);
    world.run_until(CanaryPhase::Initialized);
    world.image = "podinfo:2".into();
    world.metric = MetricOutcome::Fail;
    world.run_until(CanaryPhase::Failed);
    assert_eq!(world.routes, Routes::all_primary());
    for _ in 0..3 {
        let plan = world.tick(30);
        assert!(plan.actions.is_empty(), "a failed canary stays put");
    }
    world.image = "podinfo:3".into();
    world.metric = MetricOutcome::Pass;
    world.run_until(CanaryPhase::Succeeded);
}

#[test]
fn watch_events_between_intervals_do_not_speed_the_release_up() {
    let mut world = World::new(SPEC);
    world.run_until(CanaryPhase::Initialized);
    world.image = "podinfo:2".into();
    world.tick(30);
    world.tick(30);
    assert_eq!(world.routes.canary.get(), 20);
    for _ in 0..5 {
        world.tick(1);
    }
    assert_eq!(world.routes.canary.get(), 20);
}

#[test]
fn a_canary_flagger_left_mid_release_is_resumed_without_a_restart() {
    let mut world = World::new(SPEC);
    world.image = "podinfo:2".into();
    world.routes = Routes::split(serin_crds::validation::Weight::new(40).unwrap());
    world.status = serde_json::from_value(json!({
        "phase": "Progressing",
        "canaryWeight": 40,
        "failedChecks": 0,
        "iterations": 0,
        "lastAppliedSpec": "5d4f8c9b7",
        "lastPromotedSpec": "7c6b5f9d8",
        "lastTransitionTime": "2026-03-01T08:59:00Z",
    }))
    .unwrap();
    let plan = world.tick(30);
    assert_eq!(
        plan.weights(),
        Some(Routes::split(
            serin_crds::validation::Weight::new(50).unwrap()
        ))
    );
    world.run_until(CanaryPhase::Succeeded);
}
