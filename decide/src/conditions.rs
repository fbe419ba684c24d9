//! Status conditions: Flagger's `Promoted`, and `Ready`, `Reconciling` and `Stalled` for
//! kstatus-based tools. Types and reasons are constants.

use chrono::{DateTime, Utc};
use serin_crds::canary::{CanaryCondition, CanaryPhase};
use serin_crds::validation::TargetKindPlan;

/// Flagger's condition: `True` once a release is promoted (or the Canary initialized).
pub const PROMOTED: &str = "Promoted";
/// kstatus: `True` when nothing is in progress and the last release did not fail.
pub const READY: &str = "Ready";
/// kstatus: `True` while a release is in progress.
pub const RECONCILING: &str = "Reconciling";
/// kstatus: `True` when the Canary cannot progress without help.
pub const STALLED: &str = "Stalled";

/// Condition status `True`.
pub const TRUE: &str = "True";
/// Condition status `False`.
pub const FALSE: &str = "False";
/// Condition status `Unknown`.
pub const UNKNOWN: &str = "Unknown";

/// Reasons beyond the phase names, used by `Reconciling` and `Stalled`.
pub mod reason {
    /// The spec sets `suspend: true`.
    pub const SUSPENDED: &str = "Suspended";
    /// The `serin.dev/pause` annotation holds the release.
    pub const PAUSED: &str = "Paused";
    /// A `confirm-rollout` gate holds the release.
    pub const AWAITING_ROLLOUT_APPROVAL: &str = "AwaitingRolloutApproval";
    /// A new revision waits for one of the `--max-concurrent-releases` slots.
    pub const RELEASE_QUEUED: &str = "ReleaseQueued";
    /// A `confirm-traffic-increase` gate holds the weight.
    pub const AWAITING_TRAFFIC_APPROVAL: &str = "AwaitingTrafficIncreaseApproval";
    /// A `confirm-promotion` gate holds the promotion.
    pub const AWAITING_PROMOTION_APPROVAL: &str = "AwaitingPromotionApproval";
    /// The canary workload is not ready yet.
    pub const CANARY_NOT_READY: &str = "CanaryNotReady";
    /// The primary workload is not ready yet.
    pub const PRIMARY_NOT_READY: &str = "PrimaryNotReady";
    /// The routes are not live with the weights set yet.
    pub const ROUTES_PENDING: &str = "RoutesPending";
    /// The router's controller refused the routes.
    pub const ROUTES_REJECTED: &str = "RoutesRejected";
    /// A metric with `onNoData: Hold` returned no data.
    pub const NO_DATA: &str = "NoData";
    /// A metric with `onError: Hold` could not be read from its provider; the weight holds.
    pub const PROVIDER_ERROR: &str = "ProviderError";
    /// The last analysis step ran less than one interval ago.
    pub const AWAITING_INTERVAL: &str = "AwaitingInterval";
    /// A workload did not become ready within the progress deadline.
    pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// Nothing holds or blocks the Canary.
    pub const AS_EXPECTED: &str = "AsExpected";
}

/// Reasons of the Kubernetes events serin records on a Canary, besides the condition reasons
/// above (which events also use when they report a hold).
pub mod event {
    /// A step of a release: initialization, a weight, an iteration, promotion. Flagger's reason.
    pub const SYNCED: &str = "Synced";
    /// The primary is being created.
    pub const INITIALIZING: &str = "Initializing";
    /// A step's checks failed.
    pub const CHECK_FAILED: &str = "CheckFailed";
    /// The target went back to the promoted revision.
    pub const REVERTED: &str = "Reverted";
    /// Routes that sent traffic to the canary outside a release were set back.
    pub const ROUTES_RESTORED: &str = "RoutesRestored";
    /// Generated Services that someone changed were applied again.
    pub const SERVICES_RESTORED: &str = "ServicesRestored";
    /// A `serin.dev/retry` request starts a new release.
    pub const RETRY_REQUESTED: &str = "RetryRequested";
    /// A new revision waits for a release slot (`--max-concurrent-releases`).
    pub const RELEASE_QUEUED: &str = "ReleaseQueued";
    /// A `serin.dev/retry` request was ignored.
    pub const RETRY_IGNORED: &str = "RetryIgnored";
    /// A `serin.dev/abort` request was ignored.
    pub const ABORT_IGNORED: &str = "AbortIgnored";
    /// A `serin.dev/promote` request promotes the release.
    pub const PROMOTION_REQUESTED: &str = "PromotionRequested";
    /// A `serin.dev/promote` request was ignored.
    pub const PROMOTE_IGNORED: &str = "PromoteIgnored";
    /// The Canary is being deleted and the target restored.
    pub const TERMINATING: &str = "Terminating";
    /// The target was restored; the deletion completes.
    pub const TERMINATED: &str = "Terminated";
    /// Rollback: failed checks reached the threshold.
    pub const FAILED_CHECKS_THRESHOLD_REACHED: &str = "FailedChecksThresholdReached";
    /// Rollback: a metric held on no data for the whole progress deadline.
    pub const NO_DATA_DEADLINE_EXCEEDED: &str = "NoDataDeadlineExceeded";
    /// Rollback: a `rollback` hook asked for it.
    pub const ROLLBACK_HOOK_INVOKED: &str = "RollbackHookInvoked";
    /// Rollback: `serin.dev/abort` asked for it.
    pub const ABORTED: &str = "Aborted";
    /// Rollback: the routes did not go live within the progress deadline.
    pub const ROUTES_NOT_LIVE: &str = "RoutesNotLive";
    /// The comparison of canary and primary found the canary worse: rolled back.
    pub const COMPARISON_ROLLBACK: &str = "ComparisonRollback";
    /// A provider error on a metric with `onError: Hold` lasted past the progress deadline.
    pub const PROVIDER_ERROR_DEADLINE_EXCEEDED: &str = "ProviderErrorDeadlineExceeded";
    /// A comparison's evidence in status could not be read back; it starts again from zero.
    pub const COMPARISON_EVIDENCE_RESET: &str = "ComparisonEvidenceReset";
}

/// Why the Canary waits in its phase this tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hold {
    pub reason: String,
    pub message: String,
}

/// The four conditions for `phase`, keeping each one's transition time while its status stays.
pub(crate) fn conditions(
    previous: &[CanaryCondition],
    phase: CanaryPhase,
    kind: TargetKindPlan,
    hold: Option<&Hold>,
    stall: Option<&Hold>,
    now: DateTime<Utc>,
) -> Vec<CanaryCondition> {
    let (promoted_status, promoted_message) = promoted(phase, kind);
    let steady = matches!(
        phase,
        CanaryPhase::Initialized | CanaryPhase::Succeeded | CanaryPhase::Failed
    ) || phase == CanaryPhase::Terminated;
    let ready = match phase {
        CanaryPhase::Initialized | CanaryPhase::Succeeded => TRUE,
        CanaryPhase::Failed | CanaryPhase::Terminated => FALSE,
        _ if stall.is_some() => FALSE,
        _ => UNKNOWN,
    };
    let phase_reason = phase_reason(phase);
    let reconciling = match hold {
        Some(h) => (
            if steady { FALSE } else { TRUE },
            h.reason.as_str(),
            h.message.clone(),
        ),
        None if steady => (
            FALSE,
            phase_reason,
            format!("No release in progress ({phase_reason})."),
        ),
        None => (
            TRUE,
            phase_reason,
            format!("Release in progress ({phase_reason})."),
        ),
    };
    let stalled = match stall {
        Some(s) => (TRUE, s.reason.as_str(), s.message.clone()),
        None => (
            FALSE,
            reason::AS_EXPECTED,
            "The Canary is progressing.".to_owned(),
        ),
    };
    let wanted = [
        (PROMOTED, promoted_status, phase_reason, promoted_message),
        (
            READY,
            ready,
            phase_reason,
            promoted_message_for_ready(phase),
        ),
        (RECONCILING, reconciling.0, reconciling.1, reconciling.2),
        (STALLED, stalled.0, stalled.1, stalled.2),
    ];
    wanted
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let old = previous.iter().find(|c| c.type_ == type_);
            let unchanged = old.is_some_and(|o| {
                o.status == status && o.reason == reason && o.message.as_deref() == Some(&message)
            });
            if let (true, Some(old)) = (unchanged, old) {
                return old.clone();
            }
            let transition = match old {
                Some(o) if o.status == status => o.last_transition_time.or(Some(now)),
                _ => Some(now),
            };
            CanaryCondition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message: Some(message),
                last_transition_time: transition,
                last_update_time: Some(now),
            }
        })
        .collect()
}

/// The reason of the condition `type_`, when present.
pub(crate) fn reason_of<'a>(conditions: &'a [CanaryCondition], type_: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.reason.as_str())
}

fn phase_reason(phase: CanaryPhase) -> &'static str {
    match phase {
        CanaryPhase::Unset => "Initializing",
        p => p.as_str(),
    }
}

/// Kind name as Flagger writes it in its messages.
pub fn kind_name(kind: TargetKindPlan) -> &'static str {
    match kind {
        TargetKindPlan::Deployment => "Deployment",
        TargetKindPlan::DaemonSet => "DaemonSet",
        TargetKindPlan::Service | TargetKindPlan::KnativeService => "Service",
    }
}

/// Status and message of `Promoted`, as Flagger sets them for each phase.
fn promoted(phase: CanaryPhase, kind: TargetKindPlan) -> (&'static str, String) {
    let kind = kind_name(kind);
    match phase {
        CanaryPhase::Unset | CanaryPhase::Initializing => (
            UNKNOWN,
            format!("New {kind} detected, starting initialization."),
        ),
        CanaryPhase::Initialized => (TRUE, format!("{kind} initialization completed.")),
        CanaryPhase::Waiting | CanaryPhase::WaitingPromotion => {
            (UNKNOWN, "Waiting for approval.".to_owned())
        }
        CanaryPhase::Progressing => (
            UNKNOWN,
            "New revision detected, progressing canary analysis.".to_owned(),
        ),
        CanaryPhase::Promoting => (
            UNKNOWN,
            "Canary analysis completed, starting primary rolling update.".to_owned(),
        ),
        CanaryPhase::Finalising => (
            UNKNOWN,
            "Canary analysis completed, routing all traffic to primary.".to_owned(),
        ),
        CanaryPhase::Succeeded => (
            TRUE,
            "Canary analysis completed successfully, promotion finished.".to_owned(),
        ),
        CanaryPhase::Failed => (
            FALSE,
            format!("Canary analysis failed, {kind} scaled to zero."),
        ),
        CanaryPhase::Terminating => (
            UNKNOWN,
            "Canary is being deleted, reverting its changes.".to_owned(),
        ),
        CanaryPhase::Terminated => (UNKNOWN, "Canary changes reverted.".to_owned()),
    }
}

fn promoted_message_for_ready(phase: CanaryPhase) -> String {
    match phase {
        CanaryPhase::Initialized | CanaryPhase::Succeeded => {
            "The primary serves all traffic.".to_owned()
        }
        CanaryPhase::Failed => "The last release was rolled back.".to_owned(),
        p => format!("Release in progress ({}).", phase_reason(p)),
    }
}
