//! The `kubernetes` router: blue/green with plain Services. The apex Service always selects the
//! primary pods; the canary is reachable on `<apex>-canary` for tests and load, and promotion
//! copies it to the primary. There is no weighted traffic, so there are no routing objects.

use super::{
    Capabilities, DesiredObject, RouteContext, RouteState, Router, RouterError, TrafficSplit,
};

/// Blue/green through the generated Services only.
#[derive(Clone, Copy, Debug, Default)]
pub struct KubernetesServices;

impl Router for KubernetesServices {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            weighted: false,
            header_match: false,
            mirror: false,
            session_affinity: false,
        }
    }

    fn desired_routes(
        &self,
        _ctx: &RouteContext<'_>,
        _split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        // Weights cannot be expressed with Services; validation keeps progressive releases away
        // from this router through `capabilities().weighted`.
        Ok(Vec::new())
    }

    fn observe(&self, _ctx: &RouteContext<'_>, _observed: &[serde_json::Value]) -> RouteState {
        RouteState::ServicesOnly
    }
}
