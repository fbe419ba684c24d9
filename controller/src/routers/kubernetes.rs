//! The `kubernetes` router: blue/green with plain Services. The apex Service always selects the
//! primary pods; the canary is reachable on `<apex>-canary` for tests and load, and promotion
//! copies it to the primary. There are no routing objects, and no weights: validation keeps
//! progressive releases away from this router (its row of the capability table says so).

use serin_decide::Routes;

use super::{
    DesiredObject, KindUse, RouteInput, RouteObservation, Router, RouterError, TrafficSplit,
};

/// Blue/green through the generated Services only.
#[derive(Clone, Copy, Debug, Default)]
pub struct KubernetesServices;

impl Router for KubernetesServices {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn kinds(&self) -> &'static [KindUse] {
        &[]
    }

    fn desired_routes(
        &self,
        _input: &RouteInput<'_>,
        _split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        Ok(Vec::new())
    }

    fn observe(
        &self,
        _input: &RouteInput<'_>,
        _observed: &[serde_json::Value],
    ) -> RouteObservation {
        // The apex Service is the routing, and it always selects the primary.
        RouteObservation::Live {
            routes: Routes::all_primary(),
            confirmed: true,
        }
    }
}
