//! Rolling a release back: all traffic to the primary, the canary scaled to zero, `Failed`.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::HookKind;

use crate::conditions::{event, reason};
use crate::decision::{Action, EventKind, Routes};
use crate::gates;
use crate::step::{Step, Tick};

/// Why a release is rolled back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rollback {
    /// Failed checks reached `analysis.threshold`.
    Threshold(u32),
    /// The canary did not become ready within the progress deadline.
    ProgressDeadline,
    /// A metric with `onNoData: Hold` returned no data for longer than the progress deadline.
    NoDataDeadline(Vec<String>),
    /// A `rollback` hook answered 2xx.
    Hook(String),
    /// The `serin.dev/abort` annotation asked for it.
    Aborted(String),
    /// The routes did not go live at the step's weights within the progress deadline.
    RoutesNotLive(String),
    /// A compared metric's evidence reached its threshold.
    Comparison {
        /// The metric.
        metric: String,
        /// The judge's explanation.
        explanation: String,
    },
    /// Metrics with `onError: Hold` failed to get an answer for longer than the progress
    /// deadline.
    ProviderErrorDeadline(Vec<String>),
}

impl Rollback {
    fn reason(&self) -> &'static str {
        match self {
            Rollback::Threshold(_) => event::FAILED_CHECKS_THRESHOLD_REACHED,
            Rollback::ProgressDeadline => reason::PROGRESS_DEADLINE_EXCEEDED,
            Rollback::NoDataDeadline(_) => event::NO_DATA_DEADLINE_EXCEEDED,
            Rollback::Hook(_) => event::ROLLBACK_HOOK_INVOKED,
            Rollback::Aborted(_) => event::ABORTED,
            Rollback::RoutesNotLive(_) => event::ROUTES_NOT_LIVE,
            Rollback::Comparison { .. } => event::COMPARISON_ROLLBACK,
            Rollback::ProviderErrorDeadline(_) => event::PROVIDER_ERROR_DEADLINE_EXCEEDED,
        }
    }

    fn message(&self) -> String {
        match self {
            Rollback::Threshold(n) => format!("Failed checks threshold reached {n}"),
            Rollback::ProgressDeadline => {
                "Progress deadline exceeded: the canary did not become ready".to_owned()
            }
            Rollback::NoDataDeadline(metrics) => format!(
                "Progress deadline exceeded: no data for metric {}",
                metrics.join(", ")
            ),
            Rollback::Hook(name) => {
                format!("Rolling back manual webhook invoked ({name})")
            }
            Rollback::Aborted(id) => format!("Rolling back: aborted with serin.dev/abort ({id})"),
            Rollback::RoutesNotLive(why) => {
                format!("Progress deadline exceeded: the routes did not go live. {why}")
            }
            Rollback::Comparison {
                metric,
                explanation,
            } => format!("Metric {metric} compared with the primary: {explanation}"),
            Rollback::ProviderErrorDeadline(errors) => format!(
                "Progress deadline exceeded: provider errors: {}",
                errors.join("; ")
            ),
        }
    }
}

/// Rolls the release back.
pub(crate) fn rollback(t: &Tick<'_>, s: &mut Step, why: &Rollback) {
    s.set_weights(Routes::all_primary());
    s.act(Action::ScaleCanaryToZero);
    let post = gates::hooks(t.canary, HookKind::PostRollout);
    if !post.is_empty() {
        s.act(Action::CallHooks(post));
    }
    s.status.iterations = Some(0);
    s.status.no_data_since = None;
    s.status.provider_error_since = None;
    s.status.routes_pending_since = None;
    s.phase(CanaryPhase::Failed);
    s.event(
        EventKind::Warning,
        why.reason(),
        format!(
            "{}. Canary failed! Scaling down {}",
            why.message(),
            t.target()
        ),
    );
    let severity = match why {
        Rollback::Aborted(_) | Rollback::Hook(_) => AlertSeverity::Warn,
        _ => AlertSeverity::Error,
    };
    s.alert(severity, why.message());
}
