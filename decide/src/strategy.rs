//! How traffic advances after a step whose checks passed: progressive steps (with mirroring
//! first), A/B iterations, blue/green iterations then a full switch; and the gates on the way.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::{HookKind, Strategy, Weight};

use super::conditions::{event, reason};
use super::decision::{EventKind, Routes};
use super::gates;
use super::phases::promote_now;
use super::step::{Step, Tick, max_weight};

/// The move a passed step makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Progressive with mirroring: copy this share of requests before shifting any.
    Mirror(Weight),
    /// Progressive: route this much to the canary (behind `confirm-traffic-increase`).
    Increase(Weight),
    /// A/B or blue/green: one more iteration with these routes.
    Iterate(Routes),
    /// Blue/green after its iterations: all traffic to the canary (behind
    /// `confirm-promotion`).
    SwitchAll,
    /// Promote; `gated` when `confirm-promotion` still has to approve.
    Promote {
        /// Whether the `confirm-promotion` hooks decide.
        gated: bool,
    },
}

/// The next move for the tick's state.
pub(crate) fn next(t: &Tick<'_>) -> Next {
    let iterations = t.prev.iterations.unwrap_or(0);
    match &t.canary.strategy {
        Strategy::Progressive { steps, .. } => {
            let max = max_weight(t.canary);
            if t.weight >= max {
                Next::Promote { gated: true }
            } else if let (Some(m), 0, false) = (t.canary.mirror, t.weight.get(), t.mirrored()) {
                Next::Mirror(m.percent)
            } else {
                Next::Increase(steps.iter().copied().find(|w| *w > t.weight).unwrap_or(max))
            }
        }
        Strategy::ABTesting { iterations: n, .. } if iterations < *n => {
            Next::Iterate(Routes::ab_testing())
        }
        Strategy::ABTesting { .. } => Next::Promote { gated: true },
        Strategy::BlueGreen { iterations: n } if iterations < *n => Next::Iterate(
            t.canary
                .mirror
                .map_or_else(Routes::all_primary, |m| Routes::mirrored(m.percent)),
        ),
        Strategy::BlueGreen { iterations: n } if iterations == *n => Next::SwitchAll,
        Strategy::BlueGreen { .. } => Next::Promote { gated: false },
    }
}

/// Makes the move, through its gate.
pub(crate) fn advance(t: &Tick<'_>, s: &mut Step, next: Next) {
    match next {
        Next::Mirror(percent) => {
            s.set_weights(Routes::mirrored(percent));
            // Progressive releases count their mirrored step in `iterations`.
            s.status.iterations = Some(1);
            s.phase(CanaryPhase::Progressing);
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!("Advance {} mirroring {percent} of requests", t.target()),
            );
        }
        Next::Increase(weight) => {
            if !gates::all_passed(t, HookKind::ConfirmTrafficIncrease) {
                let new = s.hold(
                    t,
                    reason::AWAITING_TRAFFIC_APPROVAL,
                    format!("Waiting for the confirm-traffic-increase hooks to approve {weight}."),
                );
                if new {
                    s.event(
                        EventKind::Normal,
                        reason::AWAITING_TRAFFIC_APPROVAL,
                        format!(
                            "Halt {} advancement waiting for traffic increase approval",
                            t.target()
                        ),
                    );
                }
                return;
            }
            s.set_weights(Routes::split(weight));
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!("Advance {} canary weight {}", t.target(), weight.get()),
            );
        }
        Next::Iterate(routes) => {
            if routes != Routes::all_primary() {
                s.set_weights(routes);
            }
            let done = t.prev.iterations.unwrap_or(0) + 1;
            s.status.iterations = Some(done);
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!(
                    "Advance {} canary iteration {done}/{}",
                    t.target(),
                    iterations(t)
                ),
            );
        }
        Next::SwitchAll => {
            if !promotion_approved(t, s) {
                return;
            }
            s.set_weights(Routes::split(Weight::FULL));
            s.status.iterations = Some(t.prev.iterations.unwrap_or(0) + 1);
            s.phase(CanaryPhase::Progressing);
            s.event(
                EventKind::Normal,
                event::SYNCED,
                format!("Routing all traffic to {}", t.target()),
            );
        }
        Next::Promote { gated } => {
            if gated && !promotion_approved(t, s) {
                return;
            }
            promote_now(t, s);
        }
    }
}

fn iterations(t: &Tick<'_>) -> u32 {
    match &t.canary.strategy {
        Strategy::ABTesting { iterations, .. } | Strategy::BlueGreen { iterations } => *iterations,
        Strategy::Progressive { .. } => 0,
    }
}

/// The `confirm-promotion` gate; when closed, the release waits in `WaitingPromotion` while
/// analysis goes on.
fn promotion_approved(t: &Tick<'_>, s: &mut Step) -> bool {
    if gates::all_passed(t, HookKind::ConfirmPromotion) {
        return true;
    }
    s.phase(CanaryPhase::WaitingPromotion);
    let new = s.hold(
        t,
        reason::AWAITING_PROMOTION_APPROVAL,
        "Waiting for the confirm-promotion hooks to approve the promotion.",
    );
    if new || t.phase != CanaryPhase::WaitingPromotion {
        s.event(
            EventKind::Normal,
            reason::AWAITING_PROMOTION_APPROVAL,
            format!(
                "Halt {} advancement waiting for promotion approval",
                t.target()
            ),
        );
        s.alert(
            AlertSeverity::Info,
            "Canary promotion is waiting for approval.",
        );
    }
    false
}
