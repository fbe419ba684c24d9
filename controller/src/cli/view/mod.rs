//! The release as a person reads it: a Canary, its events and the objects serin generated,
//! turned into plain data (pure, no client). The text renderers, `-o json|yaml` and the
//! dashboard all show this.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serin_crds::Canary;
use serin_crds::canary::{CanaryPhase, MetricOutcome, ThresholdRange};
use serin_crds::validation::{HookKind, Strategy, ValidCanary, validate_canary};

use crate::decide::{PAUSE_ANNOTATION, reason};

/// One line of `serin get canaries`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.phase` (empty until the controller has seen the Canary).
    pub phase: String,
    /// Traffic to the canary, in percent.
    pub weight: u32,
    /// `done/total` steps of the release.
    pub step: String,
    /// Failed checks in the current analysis.
    pub failed_checks: u32,
    /// Failed checks that roll back (`analysis.threshold`).
    pub threshold: Option<u32>,
    /// When the phase last changed.
    pub last_transition: Option<DateTime<Utc>>,
    /// Short revision the primary runs (`lastPromotedSpec`).
    pub primary_revision: Option<String>,
    /// Short revision of the target (`lastAppliedSpec`).
    pub canary_revision: Option<String>,
    /// Whether `serin.dev/pause` holds it.
    pub paused: bool,
}

/// Where a step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    /// Done in this release.
    Done,
    /// Running now.
    Current,
    /// Still to come.
    Next,
}

/// One step of the release plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepView {
    /// `mirror`, `10%`, `iteration 2`, `promote`.
    pub label: String,
    /// Done, current or to come.
    pub state: StepState,
}

/// A workload: the target or the primary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadView {
    /// `Deployment`, `DaemonSet`, `Service`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Container images.
    pub images: Vec<String>,
    /// `2/2 ready`, when the workload has replicas.
    pub ready: Option<String>,
    /// Whether it was found.
    pub exists: bool,
}

/// An object serin generated for the Canary (owned by it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectView {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// What it says, for a person: readiness, backends and weights.
    pub detail: String,
}

/// A metric check and its last result.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricView {
    /// Name.
    pub name: String,
    /// Accepted range, `>= 99`, `<= 500`, `1..5`.
    pub range: String,
    /// Lowest accepted value.
    pub min: Option<f64>,
    /// Highest accepted value.
    pub max: Option<f64>,
    /// Query window.
    pub interval: String,
    /// Last value, when there is one.
    pub value: Option<f64>,
    /// `Pass`, `Fail`, `NoData`, `Error`; `None` before the first check.
    pub outcome: Option<MetricOutcome>,
    /// The controller's explanation.
    pub message: Option<String>,
    /// When it was last checked.
    pub time: Option<DateTime<Utc>>,
}

/// A webhook; gates are the `confirm-*` kinds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    /// Name.
    pub name: String,
    /// `confirm-rollout`, `pre-rollout`, `rollout`, ...
    pub kind: String,
    /// Address.
    pub url: String,
    /// Whether it is a gate (its answer opens or holds the release).
    pub gate: bool,
    /// Whether the Canary is held by this kind of gate now.
    pub holding: bool,
}

/// A status condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConditionView {
    /// Type.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// An Event about the Canary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventView {
    /// When it (last) happened.
    pub time: Option<DateTime<Utc>>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// What happened.
    pub note: String,
    /// How often it happened.
    pub count: u32,
}

/// The manual controls: requests set and acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlsView {
    /// Held by `serin.dev/pause`.
    pub paused: bool,
    /// Requests set that serin has not acted on yet, as `annotation=value`.
    pub pending: Vec<String>,
}

/// Everything `serin get canary NAME` shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryView {
    /// The summary line.
    #[serde(flatten)]
    pub row: CanaryRow,
    /// The released workload.
    pub target: WorkloadView,
    /// Its `-primary` copy.
    pub primary: Option<WorkloadView>,
    /// Objects serin generated.
    pub generated: Vec<ObjectView>,
    /// `progressive`, `A/B testing`, `blue/green`, or why the spec is invalid.
    pub strategy: String,
    /// Time between steps.
    pub interval: Option<String>,
    /// The steps, done and to come.
    pub steps: Vec<StepView>,
    /// Metric checks.
    pub metrics: Vec<MetricView>,
    /// Webhooks and gates.
    pub webhooks: Vec<WebhookView>,
    /// Status conditions.
    pub conditions: Vec<ConditionView>,
    /// Manual controls.
    pub controls: ControlsView,
    /// Recent Events, oldest first.
    pub events: Vec<EventView>,
    /// Validation problems of the spec, when it is invalid.
    pub problems: Vec<String>,
    /// What could not be read (for example a kind the user may not list).
    pub notes: Vec<String>,
}

/// What was read beside the Canary.
#[derive(Clone, Debug, Default)]
pub struct Related {
    /// The target workload.
    pub target: WorkloadView,
    /// The primary workload.
    pub primary: Option<WorkloadView>,
    /// Generated objects.
    pub generated: Vec<ObjectView>,
    /// Events, any order.
    pub events: Vec<EventView>,
    /// What could not be read.
    pub notes: Vec<String>,
}

/// How many Events the view keeps (the latest).
pub const EVENTS_SHOWN: usize = 15;

/// A short form of a revision hash (`fnv1a128:0123456789abcdef...` is `0123456789`).
pub fn short_revision(hash: &str) -> String {
    let digits = hash.rsplit(':').next().unwrap_or(hash);
    digits.chars().take(10).collect()
}

/// A range as a person writes it.
pub fn range_text(range: Option<&ThresholdRange>) -> String {
    match range.map(|r| (r.min, r.max)) {
        Some((Some(min), Some(max))) => format!("{min}..{max}"),
        Some((Some(min), None)) => format!(">= {min}"),
        Some((None, Some(max))) => format!("<= {max}"),
        _ => "any".to_owned(),
    }
}

fn phase_of(canary: &Canary) -> CanaryPhase {
    canary
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .unwrap_or_default()
}

/// The summary line of a Canary.
pub fn row(canary: &Canary) -> CanaryRow {
    let status = canary.status.clone().unwrap_or_default();
    let valid = validate_canary(&canary.spec, None).ok();
    let steps = valid
        .as_ref()
        .map(|v| steps(v, &canary.status.clone().unwrap_or_default()))
        .unwrap_or_default();
    let countable: Vec<&StepView> = steps.iter().filter(|s| s.label != PROMOTE).collect();
    let done = countable
        .iter()
        .filter(|s| {
            s.state == StepState::Done
                || (s.state == StepState::Current && phase_of(canary) == CanaryPhase::Progressing)
        })
        .count();
    let step = if valid.is_none() {
        "invalid".to_owned()
    } else {
        format!("{done}/{}", countable.len())
    };
    CanaryRow {
        namespace: canary.metadata.namespace.clone().unwrap_or_default(),
        name: canary.metadata.name.clone().unwrap_or_default(),
        phase: status.phase.unwrap_or_default().as_str().to_owned(),
        weight: status.canary_weight.unwrap_or(0),
        step,
        failed_checks: status.failed_checks.unwrap_or(0),
        threshold: valid.as_ref().map(|v| v.threshold),
        last_transition: status.last_transition_time,
        primary_revision: status.last_promoted_spec.as_deref().map(short_revision),
        canary_revision: status.last_applied_spec.as_deref().map(short_revision),
        paused: status
            .manual_controls
            .as_ref()
            .and_then(|c| c.paused)
            .unwrap_or(false),
    }
}

const PROMOTE: &str = "promote";

/// The steps of the release, done and to come, as the status places them.
fn steps(valid: &ValidCanary, status: &serin_crds::CanaryStatus) -> Vec<StepView> {
    let phase = status.phase.unwrap_or_default();
    let weight = status.canary_weight.unwrap_or(0);
    let iterations = status.iterations.unwrap_or(0);
    let analysing = phase == CanaryPhase::Progressing;
    let finished_analysis = matches!(
        phase,
        CanaryPhase::WaitingPromotion
            | CanaryPhase::Promoting
            | CanaryPhase::Finalising
            | CanaryPhase::Succeeded
    );
    let state = |done: bool, current: bool| {
        if finished_analysis || done {
            StepState::Done
        } else if analysing && current {
            StepState::Current
        } else {
            StepState::Next
        }
    };
    let mut out = Vec::new();
    match &valid.strategy {
        Strategy::Progressive { steps, .. } => {
            if valid.mirror.is_some() {
                out.push(StepView {
                    label: "mirror".into(),
                    state: state(weight > 0, weight == 0),
                });
            }
            for w in steps {
                let w = u32::from(w.get());
                out.push(StepView {
                    label: format!("{w}%"),
                    state: state(w < weight, w == weight),
                });
            }
        }
        Strategy::ABTesting { iterations: n, .. } | Strategy::BlueGreen { iterations: n } => {
            for i in 1..=*n {
                out.push(StepView {
                    label: format!("iteration {i}"),
                    state: state(i <= iterations, i == iterations + 1),
                });
            }
        }
    }
    let promote = match phase {
        CanaryPhase::Succeeded => StepState::Done,
        CanaryPhase::WaitingPromotion | CanaryPhase::Promoting | CanaryPhase::Finalising => {
            StepState::Current
        }
        _ => StepState::Next,
    };
    out.push(StepView {
        label: PROMOTE.into(),
        state: promote,
    });
    out
}

fn strategy_name(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Progressive { .. } => "progressive",
        Strategy::ABTesting { .. } => "A/B testing",
        Strategy::BlueGreen { .. } => "blue/green",
    }
}

/// Which gate kind a `Reconciling` reason says holds the Canary.
fn gate_holding(reason_now: &str) -> Option<HookKind> {
    match reason_now {
        r if r == reason::AWAITING_ROLLOUT_APPROVAL => Some(HookKind::ConfirmRollout),
        r if r == reason::AWAITING_TRAFFIC_APPROVAL => Some(HookKind::ConfirmTrafficIncrease),
        r if r == reason::AWAITING_PROMOTION_APPROVAL => Some(HookKind::ConfirmPromotion),
        _ => None,
    }
}

/// What the spec plans, placed by the status.
#[derive(Default)]
struct Plan {
    strategy: String,
    interval: Option<String>,
    steps: Vec<StepView>,
    metrics: Vec<MetricView>,
    webhooks: Vec<WebhookView>,
    problems: Vec<String>,
}

fn plan(canary: &Canary, status: &serin_crds::CanaryStatus, holding: Option<HookKind>) -> Plan {
    let valid = match validate_canary(&canary.spec, None) {
        Ok(valid) => valid,
        Err(errors) => {
            return Plan {
                strategy: "invalid".to_owned(),
                problems: errors.errors().iter().map(ToString::to_string).collect(),
                ..Plan::default()
            };
        }
    };
    Plan {
        strategy: strategy_name(&valid.strategy).to_owned(),
        interval: Some(humantime::format_duration(valid.interval).to_string()),
        steps: steps(&valid, status),
        metrics: metrics(canary, &valid, status),
        webhooks: webhooks(&valid, holding),
        problems: Vec::new(),
    }
}

fn metrics(
    canary: &Canary,
    valid: &ValidCanary,
    status: &serin_crds::CanaryStatus,
) -> Vec<MetricView> {
    let results = status.analysis.clone().unwrap_or_default().metrics;
    valid
        .metrics
        .iter()
        .map(|m| {
            let last = results.iter().find(|r| r.name == m.name);
            let spec_range = canary
                .spec
                .analysis
                .metrics
                .as_ref()
                .and_then(|ms| ms.iter().find(|s| s.name == m.name))
                .and_then(|s| s.threshold_range);
            let range = last.and_then(|l| l.threshold_range).or(spec_range);
            MetricView {
                name: m.name.clone(),
                range: range_text(range.as_ref()),
                min: range.and_then(|r| r.min),
                max: range.and_then(|r| r.max),
                interval: humantime::format_duration(m.window).to_string(),
                value: last.and_then(|l| l.value),
                outcome: last.map(|l| l.outcome),
                message: last.and_then(|l| l.message.clone()),
                time: last.and_then(|l| l.time),
            }
        })
        .collect()
}

fn webhooks(valid: &ValidCanary, holding: Option<HookKind>) -> Vec<WebhookView> {
    valid
        .webhooks
        .iter()
        .map(|w| {
            let gate = matches!(
                w.kind,
                HookKind::ConfirmRollout
                    | HookKind::ConfirmTrafficIncrease
                    | HookKind::ConfirmPromotion
            );
            WebhookView {
                name: w.name.clone(),
                kind: w.kind.as_str().to_owned(),
                url: w.url.to_string(),
                gate,
                holding: gate && holding == Some(w.kind),
            }
        })
        .collect()
}

/// Requests in the annotations that serin has not acknowledged yet.
fn pending_requests(canary: &Canary, status: &serin_crds::CanaryStatus) -> Vec<String> {
    let annotations = canary.metadata.annotations.clone().unwrap_or_default();
    let acks = status.manual_controls.clone().unwrap_or_default();
    [
        (crate::decide::ABORT_ANNOTATION, acks.abort.as_ref()),
        (crate::decide::PROMOTE_ANNOTATION, acks.promote.as_ref()),
        (crate::decide::RETRY_ANNOTATION, acks.retry.as_ref()),
    ]
    .into_iter()
    .filter_map(|(key, acked)| {
        let value = annotations
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())?;
        (Some(value) != acked.map(String::as_str)).then(|| format!("{key}={value}"))
    })
    .chain(
        annotations
            .get(PAUSE_ANNOTATION)
            .filter(|v| v.trim().eq_ignore_ascii_case("true") && acks.paused != Some(true))
            .map(|v| format!("{PAUSE_ANNOTATION}={v}")),
    )
    .collect()
}

/// The whole view of a Canary with what was read beside it.
pub fn canary_view(canary: &Canary, related: Related) -> CanaryView {
    let status = canary.status.clone().unwrap_or_default();
    let row = row(canary);
    let conditions: Vec<ConditionView> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| ConditionView {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone().unwrap_or_default(),
        })
        .collect();
    let holding = conditions
        .iter()
        .filter(|c| c.status == crate::decide::TRUE)
        .find_map(|c| gate_holding(&c.reason));
    let plan = plan(canary, &status, holding);
    let mut events = related.events;
    events.sort_by_key(|e| e.time);
    let skip = events.len().saturating_sub(EVENTS_SHOWN);
    CanaryView {
        controls: ControlsView {
            paused: row.paused,
            pending: pending_requests(canary, &status),
        },
        row,
        target: related.target,
        primary: related.primary,
        generated: related.generated,
        strategy: plan.strategy,
        interval: plan.interval,
        steps: plan.steps,
        metrics: plan.metrics,
        webhooks: plan.webhooks,
        conditions,
        events: events.into_iter().skip(skip).collect(),
        problems: plan.problems,
        notes: related.notes,
    }
}

#[cfg(test)]
mod tests;
