//! Drift repair of the generated Services: outside initialization and deletion, a Service someone
//! changed or deleted since serin applied it is applied again, with a warning event.

use serin_crds::canary::CanaryPhase;
use serin_crds::validation::TargetKindPlan;

use crate::conditions::event;
use crate::decision::{Action, EventKind, ServiceRole};
use crate::observations::{Generated, Readiness};
use crate::step::{Step, Tick};

pub(super) fn restore_services(t: &Tick<'_>, s: &mut Step) {
    let creating = |phase| {
        matches!(
            phase,
            CanaryPhase::Unset
                | CanaryPhase::Initializing
                | CanaryPhase::Terminating
                | CanaryPhase::Terminated
        )
    };
    // The tick that finishes initialization applies the Services itself.
    let settled = !creating(t.phase) && !creating(s.phase);
    // A Service target's copies are replaced when releases start; the Services of a workload
    // target exist once the primary is ready.
    if !settled
        || t.canary.target.kind == TargetKindPlan::Service
        || t.observed.primary != Readiness::Ready
    {
        return;
    }
    let roles: Vec<ServiceRole> = t
        .observed
        .services
        .iter()
        .filter(|(_, state)| matches!(state, Generated::Drifted | Generated::Missing))
        .map(|(role, _)| *role)
        .collect();
    if roles.is_empty() {
        return;
    }
    let names = &t.canary.routing.names;
    let restored: Vec<&str> = roles
        .iter()
        .map(|role| match role {
            ServiceRole::Apex => names.apex.as_str(),
            ServiceRole::Primary => names.primary.as_str(),
            ServiceRole::Canary => names.canary.as_str(),
        })
        .collect();
    s.act(Action::ApplyServices(roles));
    s.event(
        EventKind::Warning,
        event::SERVICES_RESTORED,
        format!(
            "Service {} differed from what serin generates and was applied again",
            restored.join(", ")
        ),
    );
}
