//! Tests of the decide step: table-style `#[test]`s named as sentences, driven by a fixture that
//! reads like one (`canary().with_step_weight(10).at_weight(30).with_failed_checks(2)`), and
//! property tests over random specs and observation sequences.

mod ab_testing;
mod blue_green;
mod comparison;
mod conditions;
mod controls;
mod deletion;
mod failures;
mod gates;
mod idle;
mod initialize;
mod plan_ext;
mod progressive;
mod promotion;
mod properties;
mod revisions;
mod routes;

pub(crate) use plan_ext::{PlanExt, split, warning_events, weight};

use std::collections::BTreeMap;

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};
use serde_json::json;
use serin_crds::CanarySpec;
use serin_crds::canary::{
    AlertSeverity, CanaryMetric, CanaryPhase, CanaryStatus, CrossNamespaceRef, HookType,
    HttpMatchRequest, ManualControlsStatus, MetricNoData, MetricOutcome, MetricResult, Provider,
    ThresholdRange, Webhook,
};
use serin_crds::validation::{ValidCanary, Weight, validate_canary};

use super::revision::{revision_id, template_hash};
use super::{
    Action, CheckRequest, CheckResults, ComparisonCounts, ComparisonObservation, Decision,
    Generated, HookOutcome, ManualControls, Observations, Plan, Readiness, RouteObservation,
    Routes, ServiceRole, TargetRevision, TrafficSplit, decide,
};

/// A window of `[canary requests, canary errors, primary requests, primary errors]`.
pub(super) fn window(counts: [u64; 4]) -> serin_judge::Window {
    serin_judge::Window::from_counts(counts).expect("errors at most requests")
}

/// A moment all tests share.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

/// Hash of revision `n` of the target's pod template.
pub(super) fn rev(n: u32) -> String {
    template_hash(&json!({"spec": {"containers": [{"name": "app", "image": format!("app:{n}")}]}}))
}

pub(super) fn target(n: u32) -> TargetRevision {
    TargetRevision {
        template: rev(n),
        configs: BTreeMap::new(),
    }
}

/// A Canary under test: spec, status and this tick's observations.
#[derive(Clone, Debug)]
pub(super) struct Fixture {
    pub(super) spec: CanarySpec,
    pub(super) status: CanaryStatus,
    pub(super) observed: Observations,
    pub(super) now: DateTime<Utc>,
    /// Outcome each hook gives when called; hooks not listed pass.
    pub(super) hook_outcomes: BTreeMap<String, HookOutcome>,
    /// Outcome each metric gives when checked; metrics not listed pass.
    pub(super) metric_outcomes: BTreeMap<String, MetricOutcome>,
    /// What the router reports; when not set, the routes are live with the split serin set last
    /// (the status's).
    pub(super) routes: Option<RouteObservation>,
    /// Counts each compared metric gives, as `[canary requests, canary errors, primary
    /// requests, primary errors]`, or a provider error; compared metrics not listed give
    /// identical counts without errors.
    pub(super) comparison_counts: BTreeMap<String, ComparisonCounts>,
}

/// A progressive Canary (`stepWeight: 10`, `maxWeight: 50`, `threshold: 3`, `interval: 1m`)
/// that finished initializing with revision 1, the target still on revision 1.
pub(super) fn canary() -> Fixture {
    let spec: CanarySpec = serde_yaml::from_str(
        "targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n\
         service: {port: 9898}\n\
         analysis: {interval: 1m, threshold: 3, stepWeight: 10, maxWeight: 50}\n",
    )
    .unwrap();
    let status = CanaryStatus {
        phase: Some(CanaryPhase::Initialized),
        canary_weight: Some(0),
        failed_checks: Some(0),
        iterations: Some(0),
        last_applied_spec: Some(rev(1)),
        last_promoted_spec: Some(rev(1)),
        last_attempted_spec: Some(revision_id(&target(1))),
        last_analysis_time: Some(now() - TimeDelta::hours(1)),
        ..CanaryStatus::default()
    };
    Fixture {
        spec,
        status,
        observed: Observations {
            generation: Some(1),
            target: target(1),
            ..Observations::default()
        },
        now: now(),
        hook_outcomes: BTreeMap::new(),
        metric_outcomes: BTreeMap::new(),
        routes: None,
        comparison_counts: BTreeMap::new(),
    }
}

impl Fixture {
    // --- spec ---

    pub(super) fn with_step_weight(mut self, w: u32) -> Self {
        self.spec.analysis.step_weight = Some(w);
        self.spec.analysis.step_weights = None;
        self
    }
    pub(super) fn with_step_weights(mut self, ws: &[u32]) -> Self {
        self.spec.analysis.step_weight = None;
        self.spec.analysis.step_weights = Some(ws.to_vec());
        self
    }
    pub(super) fn with_max_weight(mut self, w: u32) -> Self {
        self.spec.analysis.max_weight = Some(w);
        self
    }
    pub(super) fn with_threshold(mut self, n: u32) -> Self {
        self.spec.analysis.threshold = Some(n);
        self
    }
    pub(super) fn with_promotion_step(mut self, w: u32) -> Self {
        self.spec.analysis.step_weight_promotion = Some(w);
        self
    }
    pub(super) fn with_mirror(mut self, percent: Option<u32>) -> Self {
        self.spec.provider = Some(Provider::Istio);
        self.spec.analysis.mirror = Some(true);
        self.spec.analysis.mirror_weight = percent;
        self
    }
    /// Blue/green: `iterations` without `match`.
    pub(super) fn blue_green(mut self, iterations: u32) -> Self {
        let a = &mut self.spec.analysis;
        (a.step_weight, a.max_weight, a.iterations) = (None, None, Some(iterations));
        self
    }
    /// A/B testing: `iterations` with `match`.
    pub(super) fn ab_testing(mut self, iterations: u32) -> Self {
        self = self.blue_green(iterations);
        self.spec.analysis.match_ = Some(vec![HttpMatchRequest::default()]);
        self
    }
    pub(super) fn with_metric(mut self, name: &str) -> Self {
        self.spec
            .analysis
            .metrics
            .get_or_insert_with(Vec::new)
            .push(CanaryMetric {
                name: name.to_owned(),
                template_ref: Some(CrossNamespaceRef {
                    name: name.to_owned(),
                    namespace: None,
                }),
                threshold_range: Some(ThresholdRange {
                    min: Some(99.0),
                    max: None,
                }),
                ..CanaryMetric::default()
            });
        self
    }
    /// The built-in `request-success-rate`, compared with the primary (default settings) and
    /// without a threshold.
    pub(super) fn with_compared_success_rate(mut self) -> Self {
        self.spec
            .analysis
            .metrics
            .get_or_insert_with(Vec::new)
            .push(CanaryMetric {
                name: "request-success-rate".to_owned(),
                comparison: Some(serin_crds::canary::MetricComparison::default()),
                ..CanaryMetric::default()
            });
        self
    }
    /// The last metric holds on provider errors (`onError: Hold`).
    pub(super) fn holding_on_error(mut self) -> Self {
        if let Some(m) = self
            .spec
            .analysis
            .metrics
            .as_mut()
            .and_then(|m| m.last_mut())
        {
            m.on_error = Some(serin_crds::canary::MetricOnError::Hold);
        }
        self
    }
    /// This tick's window of the compared metric `name` has these counts.
    pub(super) fn window_counts(mut self, name: &str, counts: [u64; 4]) -> Self {
        self.comparison_counts
            .insert(name.to_owned(), ComparisonCounts::Counted(window(counts)));
        self
    }
    /// This tick's counts of the compared metric `name` could not be read.
    pub(super) fn counts_fail(mut self, name: &str) -> Self {
        self.comparison_counts.insert(
            name.to_owned(),
            ComparisonCounts::ProviderError("cannot reach prometheus".to_owned()),
        );
        self
    }
    pub(super) fn with_provider_error_since_secs(mut self, secs: i64) -> Self {
        self.status.provider_error_since = Some(self.now - TimeDelta::seconds(secs));
        self
    }
    pub(super) fn with_metric_holding_on_no_data(mut self, name: &str) -> Self {
        self = self.with_metric(name);
        if let Some(m) = self
            .spec
            .analysis
            .metrics
            .as_mut()
            .and_then(|m| m.last_mut())
        {
            m.on_no_data = Some(MetricNoData::Hold);
        }
        self
    }
    pub(super) fn with_hook(mut self, name: &str, kind: HookType) -> Self {
        self.spec
            .analysis
            .webhooks
            .get_or_insert_with(Vec::new)
            .push(Webhook {
                name: name.to_owned(),
                type_: Some(kind),
                url: format!("http://loadtester.test/{name}"),
                ..Webhook::default()
            });
        self
    }
    /// The target is a core Service (not a Deployment).
    pub(super) fn with_service_target(mut self) -> Self {
        self.spec.target_ref.kind = serin_crds::canary::TargetKind::Service;
        self.spec.target_ref.api_version = "v1".into();
        self
    }
    pub(super) fn skipping_analysis(mut self) -> Self {
        self.spec.skip_analysis = Some(true);
        self
    }
    pub(super) fn suspended(mut self) -> Self {
        self.spec.suspend = Some(true);
        self
    }
    pub(super) fn reverting_on_deletion(mut self) -> Self {
        self.spec.revert_on_deletion = Some(true);
        self
    }
    pub(super) fn with_progress_deadline_secs(mut self, secs: u32) -> Self {
        self.spec.progress_deadline_seconds = Some(secs);
        self
    }

    // --- status ---

    /// In `phase`. A release phase means revision 2 is being released (status and target).
    pub(super) fn in_phase(mut self, phase: CanaryPhase) -> Self {
        self.status.phase = Some(phase);
        let releasing = !matches!(
            phase,
            CanaryPhase::Unset
                | CanaryPhase::Initializing
                | CanaryPhase::Initialized
                | CanaryPhase::Succeeded
        );
        if releasing {
            self.status.last_applied_spec = Some(rev(2));
            self.status.last_attempted_spec = Some(revision_id(&target(2)));
            self.observed.target = target(2);
        }
        if matches!(phase, CanaryPhase::Unset | CanaryPhase::Initializing) {
            self.status = CanaryStatus {
                phase: Some(phase).filter(|p| *p != CanaryPhase::Unset),
                ..CanaryStatus::default()
            };
        }
        self
    }
    pub(super) fn progressing(self) -> Self {
        self.in_phase(CanaryPhase::Progressing)
    }
    pub(super) fn at_weight(mut self, w: u32) -> Self {
        self.status.canary_weight = Some(w);
        self
    }
    pub(super) fn with_failed_checks(mut self, n: u32) -> Self {
        self.status.failed_checks = Some(n);
        self
    }
    pub(super) fn with_iterations_done(mut self, n: u32) -> Self {
        self.status.iterations = Some(n);
        self
    }
    pub(super) fn last_analysed_secs_ago(mut self, secs: i64) -> Self {
        self.status.last_analysis_time = Some(self.now - TimeDelta::seconds(secs));
        self
    }
    pub(super) fn with_no_data_since_secs(mut self, secs: i64) -> Self {
        self.status.no_data_since = Some(self.now - TimeDelta::seconds(secs));
        self
    }
    pub(super) fn with_acknowledged(mut self, f: impl FnOnce(&mut ManualControlsStatus)) -> Self {
        f(self
            .status
            .manual_controls
            .get_or_insert_with(Default::default));
        self
    }

    // --- observations ---

    /// The target moves to revision `n`.
    pub(super) fn with_target_at(mut self, n: u32) -> Self {
        self.observed.target = target(n);
        self
    }
    /// The target has a new revision nobody saw before.
    pub(super) fn with_new_revision(self) -> Self {
        self.with_target_at(3)
    }
    pub(super) fn with_config(mut self, name: &str, checksum: &str) -> Self {
        self.observed
            .target
            .configs
            .insert(name.to_owned(), template_hash(&json!(checksum)));
        self
    }
    pub(super) fn canary_not_ready_for_secs(mut self, secs: i64) -> Self {
        self.observed.canary = Readiness::NotReady {
            since: Some(self.now - TimeDelta::seconds(secs)),
        };
        self
    }
    pub(super) fn canary_deadline_exceeded(mut self) -> Self {
        self.observed.canary = Readiness::DeadlineExceeded;
        self
    }
    pub(super) fn primary_not_ready_for_secs(mut self, secs: i64) -> Self {
        self.observed.primary = Readiness::NotReady {
            since: Some(self.now - TimeDelta::seconds(secs)),
        };
        self
    }
    pub(super) fn with_live_routes(mut self, routes: Routes) -> Self {
        self.routes = Some(RouteObservation::Live {
            routes,
            confirmed: true,
        });
        self
    }
    pub(super) fn with_routes(mut self, routes: RouteObservation) -> Self {
        self.routes = Some(routes);
        self
    }
    pub(super) fn without_primary(mut self) -> Self {
        self.observed.primary = Readiness::Missing;
        self
    }
    pub(super) fn with_services(mut self, services: &[(ServiceRole, Generated)]) -> Self {
        self.observed.services = services.to_vec();
        self
    }
    pub(super) fn with_finalizer(mut self) -> Self {
        self.observed.finalizer = true;
        self
    }
    pub(super) fn hook_pending(mut self, name: &str) -> Self {
        self.hook_outcomes
            .insert(name.to_owned(), HookOutcome::Pending);
        self
    }
    pub(super) fn hook_fails(mut self, name: &str) -> Self {
        self.hook_outcomes
            .insert(name.to_owned(), HookOutcome::Failed);
        self
    }
    pub(super) fn metric_gives(mut self, name: &str, outcome: MetricOutcome) -> Self {
        self.metric_outcomes.insert(name.to_owned(), outcome);
        self
    }
    pub(super) fn annotated(mut self, f: impl FnOnce(&mut ManualControls)) -> Self {
        f(&mut self.observed.controls);
        self
    }
    pub(super) fn deleting(mut self) -> Self {
        self.observed.deleting = true;
        self
    }
    pub(super) fn with_generation(mut self, g: i64) -> Self {
        self.observed.generation = Some(g);
        self
    }

    // --- running ---

    pub(super) fn valid(&self) -> ValidCanary {
        validate_canary(&self.spec, None).expect("the fixture's spec is valid")
    }

    /// This tick's observations, with the routes the fixture reports.
    pub(super) fn observations(&self) -> Observations {
        let canary = self.valid();
        let mut observed = self.observed.clone();
        observed.routes = self.routes.clone().unwrap_or_else(|| {
            let tick = crate::step::Tick::new(&canary, &self.status, &self.observed, self.now);
            RouteObservation::Live {
                routes: crate::phases::expected_routes(&tick).unwrap_or_else(Routes::all_primary),
                confirmed: true,
            }
        });
        observed
    }

    /// The first call of the protocol: a plan, or the checks it asks for.
    pub(super) fn first_call(&self) -> Decision {
        decide(&self.valid(), &self.status, &self.observations(), self.now)
    }

    /// What the first call asks for (panics when it decides at once).
    pub(super) fn asks(&self) -> CheckRequest {
        match self.first_call() {
            Decision::RunChecks(r) => r,
            Decision::Act(p) => panic!("expected a request for checks, got {p:#?}"),
        }
    }

    /// The whole protocol: checks are run with the fixture's outcomes when asked for.
    pub(super) fn decide(&self) -> Plan {
        let canary = self.valid();
        let observed = self.observations();
        match decide(&canary, &self.status, &observed, self.now) {
            Decision::Act(plan) => *plan,
            Decision::RunChecks(request) => {
                let mut observed = observed;
                observed.checks = Some(self.answer(&request));
                match decide(&canary, &self.status, &observed, self.now) {
                    Decision::Act(plan) => *plan,
                    Decision::RunChecks(r) => panic!("asked twice: {r:?}"),
                }
            }
        }
    }

    /// The second call of the protocol, with the checks answered as the fixture says.
    pub(super) fn second_call(&self) -> Decision {
        let request = self.asks();
        let mut observed = self.observations();
        observed.checks = Some(self.answer(&request));
        decide(&self.valid(), &self.status, &observed, self.now)
    }

    fn answer(&self, request: &CheckRequest) -> CheckResults {
        let hooks = request
            .hooks
            .iter()
            .map(|h| {
                let outcome = self
                    .hook_outcomes
                    .get(&h.name)
                    .copied()
                    .unwrap_or(HookOutcome::Passed);
                (h.name.clone(), outcome)
            })
            .collect();
        let metrics = if request.metrics {
            self.valid()
                .metrics
                .iter()
                .map(|m| MetricResult {
                    name: m.name.clone(),
                    outcome: self
                        .metric_outcomes
                        .get(&m.name)
                        .copied()
                        .unwrap_or(MetricOutcome::Pass),
                    time: Some(self.now),
                    ..MetricResult::default()
                })
                .collect()
        } else {
            Vec::new()
        };
        let comparisons = if request.metrics {
            self.valid()
                .metrics
                .iter()
                .filter(|m| m.comparison.is_some())
                .map(|m| ComparisonObservation {
                    name: m.name.clone(),
                    window_end: self.now - TimeDelta::seconds(30),
                    counts: self
                        .comparison_counts
                        .get(&m.name)
                        .cloned()
                        .unwrap_or_else(|| ComparisonCounts::Counted(window([1000, 0, 1000, 0]))),
                })
                .collect()
        } else {
            Vec::new()
        };
        CheckResults {
            hooks,
            metrics,
            comparisons,
        }
    }

    /// Applies a plan's status and moves time on by `secs`: the next tick.
    pub(super) fn then(mut self, plan: &Plan, secs: i64) -> Self {
        self.status = plan.status.clone();
        self.now += TimeDelta::seconds(secs);
        self
    }
}
