//! Reading a plan in assertions.

use serin_crds::canary::{AlertSeverity, CanaryPhase};
use serin_crds::validation::Weight;

use crate::{Action, EventKind, Plan, Routes, TrafficSplit};

/// Reading a plan in assertions.
pub(crate) trait PlanExt {
    fn phase(&self) -> CanaryPhase;
    fn canary_weight(&self) -> u32;
    fn failed_checks(&self) -> u32;
    fn iterations(&self) -> u32;
    fn event_reasons(&self) -> Vec<&'static str>;
    fn event_messages(&self) -> Vec<String>;
    fn alerts(&self) -> Vec<(AlertSeverity, String)>;
    fn condition(&self, type_: &str) -> (String, String);
    fn called_hooks(&self) -> Vec<String>;
}

impl PlanExt for Plan {
    fn phase(&self) -> CanaryPhase {
        self.status.phase.unwrap_or_default()
    }
    fn canary_weight(&self) -> u32 {
        self.status.canary_weight.unwrap_or(0)
    }
    fn failed_checks(&self) -> u32 {
        self.status.failed_checks.unwrap_or(0)
    }
    fn iterations(&self) -> u32 {
        self.status.iterations.unwrap_or(0)
    }
    fn event_reasons(&self) -> Vec<&'static str> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Event { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }
    fn event_messages(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Event { message, kind, .. } => Some(format!("{kind:?}: {message}")),
                _ => None,
            })
            .collect()
    }
    fn alerts(&self) -> Vec<(AlertSeverity, String)> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Alert { severity, message } => Some((*severity, message.clone())),
                _ => None,
            })
            .collect()
    }
    /// `(status, reason)` of the condition `type_`.
    fn condition(&self, type_: &str) -> (String, String) {
        let c = self
            .status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition"));
        (c.status.clone(), c.reason.clone())
    }
    fn called_hooks(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CallHooks(h) => Some(h.iter().map(|h| h.name.clone())),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

pub(crate) fn weight(w: u8) -> Weight {
    Weight::new(u32::from(w)).unwrap()
}

pub(crate) fn split(w: u8) -> Action {
    Action::SetWeights(TrafficSplit::new(Routes::split(weight(w))))
}

pub(crate) fn warning_events(plan: &Plan) -> usize {
    plan.actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Event {
                    kind: EventKind::Warning,
                    ..
                }
            )
        })
        .count()
}
