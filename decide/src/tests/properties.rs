//! Property tests: random specs driven through random observation sequences.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::controls::Pending;

/// A random valid spec, as a fixture.
fn spec() -> impl Strategy<Value = Fixture> {
    let strategy = prop_oneof![
        (1u32..=50, 0u32..=50).prop_map(|(step, extra)| (0u32, step, step + extra)),
        (1u32..=4).prop_map(|n| (1, n, 0)),
        (1u32..=4).prop_map(|n| (2, n, 0)),
        (1u32..=4).prop_map(|n| (3, n, 0)),
    ];
    (
        strategy,
        1u32..=4,
        any::<bool>(),
        proptest::option::of(1u32..=60),
        proptest::collection::vec(0usize..7, 0..4),
        0usize..=2,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(strategy, threshold, mirror, promotion, hooks, metrics, hold, skip)| {
                let mut f = canary().with_threshold(threshold);
                f = match strategy {
                    (0, step, max) => f.with_step_weight(step).with_max_weight(max),
                    (1, n, _) => f
                        .with_step_weights(&[n, n * 10, n * 20])
                        .with_max_weight(n * 20),
                    (2, n, _) => f.blue_green(n),
                    (_, n, _) => f.ab_testing(n),
                };
                let ab = f.spec.analysis.match_.is_some();
                if mirror && !ab {
                    f = f.with_mirror(None);
                }
                if let (Some(p), (0 | 1, ..)) = (promotion, strategy) {
                    f = f.with_promotion_step(p);
                }
                let kinds = [
                    HookType::ConfirmRollout,
                    HookType::PreRollout,
                    HookType::Rollout,
                    HookType::ConfirmTrafficIncrease,
                    HookType::ConfirmPromotion,
                    HookType::Rollback,
                    HookType::PostRollout,
                ];
                for (i, k) in hooks.into_iter().enumerate() {
                    f = f.with_hook(&format!("h{i}"), kinds[k]);
                }
                for i in 0..metrics {
                    let name = format!("m{i}");
                    f = if hold {
                        f.with_metric_holding_on_no_data(&name)
                    } else {
                        f.with_metric(&name)
                    };
                }
                if skip {
                    f = f.skipping_analysis();
                }
                f.in_phase(CanaryPhase::Unset)
            },
        )
}

/// What the world looks like in one tick.
#[derive(Clone, Debug)]
struct World {
    /// 0: a new revision; 1: back to the promoted one; otherwise unchanged.
    target: u8,
    primary_ready: bool,
    canary: u8,
    routes_reported: bool,
    hooks_pass: Vec<bool>,
    metrics: Vec<u8>,
    control: u8,
    secs: i64,
}

fn world() -> impl Strategy<Value = World> {
    (
        0u8..12,
        prop::bool::weighted(0.9),
        0u8..10,
        prop::bool::weighted(0.8),
        proptest::collection::vec(prop::bool::weighted(0.7), 4),
        proptest::collection::vec(0u8..8, 2),
        0u8..30,
        prop_oneof![Just(60i64), 0i64..200],
    )
        .prop_map(
            |(
                target,
                primary_ready,
                canary,
                routes_reported,
                hooks_pass,
                metrics,
                control,
                secs,
            )| {
                World {
                    target,
                    primary_ready,
                    canary,
                    routes_reported,
                    hooks_pass,
                    metrics,
                    control,
                    secs,
                }
            },
        )
}

fn outcome(n: u8) -> MetricOutcome {
    match n {
        0 => MetricOutcome::Fail,
        1 => MetricOutcome::NoData,
        2 => MetricOutcome::Error,
        _ => MetricOutcome::Pass,
    }
}

fn answer(
    request: &CheckRequest,
    valid: &ValidCanary,
    w: &World,
    now: DateTime<Utc>,
) -> CheckResults {
    let hooks = request
        .hooks
        .iter()
        .map(|h| {
            let i: usize = h.name[1..].parse().unwrap();
            let pass = w.hooks_pass[i % w.hooks_pass.len()];
            (
                h.name.clone(),
                if pass {
                    HookOutcome::Passed
                } else {
                    HookOutcome::Failed
                },
            )
        })
        .collect();
    let metrics = if request.metrics {
        valid
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| MetricResult {
                name: m.name.clone(),
                outcome: outcome(w.metrics[i % w.metrics.len()]),
                time: Some(now),
                ..MetricResult::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    CheckResults {
        hooks,
        metrics,
        ..CheckResults::default()
    }
}

/// Whether every answer was the good one: gates and tests passed, rollback hooks did not fire,
/// metrics in range.
fn all_good(results: &CheckResults, request: &CheckRequest) -> bool {
    request.hooks.iter().all(|h| {
        let passed = results.hooks.get(&h.name) == Some(&HookOutcome::Passed);
        if h.kind == serin_crds::validation::HookKind::Rollback {
            !passed
        } else {
            passed
        }
    }) && results
        .metrics
        .iter()
        .all(|m| m.outcome == MetricOutcome::Pass)
}

fn max_weight(valid: &ValidCanary) -> u32 {
    match &valid.strategy {
        serin_crds::validation::Strategy::Progressive { max_weight, .. } => {
            u32::from(max_weight.get())
        }
        _ => 100,
    }
}

/// Sets the fixture's observations for one tick of `w`.
fn observe(f: &mut Fixture, w: &World, tick: usize, revision: &mut u32, live: Routes) {
    match w.target {
        0 => *revision += 1,
        1 => {
            let promoted = f.status.last_promoted_spec.clone();
            if let Some(n) = (1..=*revision).find(|n| Some(rev(*n)) == promoted) {
                *revision = n;
            }
        }
        _ => {}
    }
    f.observed.target = target(*revision);
    f.observed.primary = if w.primary_ready {
        Readiness::Ready
    } else {
        Readiness::NotReady {
            since: Some(f.now - chrono::Duration::seconds(w.secs * 5)),
        }
    };
    f.observed.canary = match w.canary {
        0 => Readiness::NotReady {
            since: Some(f.now - chrono::Duration::seconds(30)),
        },
        1 => Readiness::DeadlineExceeded,
        _ => Readiness::Ready,
    };
    f.observed.routes = if w.routes_reported {
        RouteObservation::Live {
            routes: live,
            confirmed: true,
        }
    } else {
        RouteObservation::Pending {
            reason: "the Gateway has not processed the route yet".into(),
        }
    };
    f.observed.checks = None;
    f.observed.controls = ManualControls::default();
    let id = format!("req-{tick}");
    match w.control {
        0 => f.observed.controls.abort = Some(id),
        1 => f.observed.controls.promote = Some(id),
        2 => f.observed.controls.retry = Some(id),
        3 | 4 => f.observed.controls.pause = Some("true".into()),
        _ => {}
    }
}

/// Runs the protocol for one tick, checking that the same inputs give the same decision and
/// that the second call never asks again. Returns the plan and whether every check was good.
fn protocol(valid: &ValidCanary, f: &Fixture, w: &World) -> Result<(Plan, bool), TestCaseError> {
    let first = decide(valid, &f.status, &f.observed, f.now);
    prop_assert_eq!(&first, &decide(valid, &f.status, &f.observed, f.now));
    match first {
        Decision::Act(plan) => Ok((*plan, true)),
        Decision::RunChecks(request) => {
            let results = answer(&request, valid, w, f.now);
            let good = all_good(&results, &request);
            let mut observed = f.observed.clone();
            observed.checks = Some(results);
            let second = decide(valid, &f.status, &observed, f.now);
            prop_assert_eq!(&second, &decide(valid, &f.status, &observed, f.now));
            match second {
                Decision::Act(plan) => Ok((*plan, good)),
                Decision::RunChecks(r) => Err(TestCaseError::fail(format!("asked twice: {r:?}"))),
            }
        }
    }
}

/// The invariants between the status before a tick and its plan.
fn invariants(f: &Fixture, plan: &Plan, good: bool, max: u32) -> Result<(), TestCaseError> {
    let prev_phase = f.status.phase.unwrap_or_default();
    let prev_weight = f.status.canary_weight.unwrap_or(0).min(max);
    let weight = plan.canary_weight();

    // Weights always sum to 100, and the canary never gets more than maxWeight.
    for a in &plan.actions {
        if let Action::SetWeights(r) = a {
            prop_assert_eq!(
                u32::from(r.routes.primary.get()) + u32::from(r.routes.canary.get()),
                100
            );
            if !r.routes.matched_to_canary {
                prop_assert!(u32::from(r.routes.canary.get()) <= max, "{r:?} above {max}");
            }
        }
    }
    prop_assert!(weight <= max, "status weight {weight} above {max}");

    // Traffic only increases after a tick whose checks all passed.
    if weight > prev_weight {
        prop_assert!(
            good,
            "weight {prev_weight} -> {weight} after a failed check"
        );
    }

    // Every way out of analysis other than promotion ends with all traffic on the primary.
    let analysing =
        |p: CanaryPhase| matches!(p, CanaryPhase::Progressing | CanaryPhase::WaitingPromotion);
    if analysing(prev_phase) && !analysing(plan.phase()) && plan.phase() != CanaryPhase::Promoting {
        prop_assert_eq!(
            plan.weights(),
            Some(Routes::all_primary()),
            "{:?}",
            plan.phase()
        );
        prop_assert_eq!(weight, 0);
    }

    // A finished Canary whose target did not change stays put.
    let acks = f.status.manual_controls.clone().unwrap_or_default();
    let pending = Pending::new(&f.observed.controls, &acks);
    let requested = pending.abort.is_some() || pending.promote.is_some() || pending.retry.is_some();
    if matches!(prev_phase, CanaryPhase::Succeeded | CanaryPhase::Failed)
        && f.status.last_applied_spec == Some(f.observed.target.template.clone())
        && !requested
    {
        prop_assert_eq!(plan.phase(), prev_phase);
        prop_assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    }
    Ok(())
}

fn run(mut f: Fixture, worlds: &[World]) -> Result<(), TestCaseError> {
    let valid = f.valid();
    let max = max_weight(&valid);
    let mut revision = 1;
    let mut live = Routes::all_primary();
    for (tick, w) in worlds.iter().enumerate() {
        observe(&mut f, w, tick, &mut revision, live);
        let (plan, good) = protocol(&valid, &f, w)?;
        invariants(&f, &plan, good, max)?;
        if let Some(r) = plan.weights() {
            live = r;
        }
        f = f.then(&plan, w.secs);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn random_releases_keep_every_invariant(
        f in spec(),
        worlds in proptest::collection::vec(world(), 1..40),
    ) {
        run(f, &worlds)?;
    }

    #[test]
    fn a_release_with_every_check_passing_always_ends_succeeded(f in spec()) {
        let mut f = f;
        let mut phase = CanaryPhase::Unset;
        for tick in 0..300 {
            if tick == 3 {
                f = f.with_new_revision();
            }
            let plan = f.decide();
            phase = plan.phase();
            if phase == CanaryPhase::Succeeded && plan.status.last_promoted_spec == Some(rev(3)) {
                break;
            }
            f = f.then(&plan, 60);
        }
        // Rollback hooks "pass" in the fixture and roll back at once: skip those specs.
        let rollback_hooks = f.valid().webhooks.iter().any(|h| h.kind == serin_crds::validation::HookKind::Rollback);
        if !rollback_hooks {
            prop_assert_eq!(phase, CanaryPhase::Succeeded);
        }
    }

    #[test]
    fn the_revision_hash_is_stable_for_any_key_order(
        keys in proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..8),
    ) {
        let forward: serde_json::Map<String, serde_json::Value> =
            keys.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))).collect();
        let reversed: serde_json::Map<String, serde_json::Value> =
            keys.iter().rev().map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone()))).collect();
        prop_assert_eq!(
            template_hash(&serde_json::Value::Object(forward)),
            template_hash(&serde_json::Value::Object(reversed))
        );
    }
}
