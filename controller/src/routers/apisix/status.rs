//! Reading a canary ApisixRoute back: the weights of its rule, and whether the APISIX ingress
//! controller reports the current generation synced.

use serde_json::Value;
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::super::RouteObservation;

/// The controller's condition on the route: `ResourcesSynced` (controller 1.x, type
/// `ResourcesAvailable`) or `Accepted` (2.x).
fn sync_condition(route: &Value) -> Option<&Value> {
    route["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c["reason"] == "ResourcesSynced"
                || c["type"] == "ResourcesAvailable"
                || c["type"] == "Accepted"
        })
}

pub(super) fn observe(route: &Value, routing: &RoutingSpec) -> RouteObservation {
    let name = route["metadata"]["name"].as_str().unwrap_or_default();
    let condition = sync_condition(route);
    if let Some(condition) = condition {
        let generation = route["metadata"]["generation"].as_i64().unwrap_or(0);
        if condition["observedGeneration"]
            .as_i64()
            .is_some_and(|o| o < generation)
        {
            return RouteObservation::Pending {
                reason: format!(
                    "the APISIX ingress controller has not synced generation {generation} of the ApisixRoute {name} yet"
                ),
            };
        }
        if condition["status"] != "True" {
            return RouteObservation::Rejected {
                reason: format!(
                    "the APISIX ingress controller refused the ApisixRoute {name}: {}",
                    condition["message"].as_str().unwrap_or("not synced")
                ),
            };
        }
    }
    let names = &routing.names;
    let weights = route["spec"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|rule| {
            let backends = rule["backends"].as_array()?;
            // APISIX's default weight is 100.
            let weight_of = |service: &str| {
                backends
                    .iter()
                    .find(|b| b["serviceName"] == service)
                    .map(|b| b["weight"].as_u64().unwrap_or(100))
            };
            Some((weight_of(&names.primary)?, weight_of(&names.canary)?))
        });
    let share = weights.and_then(|(primary, canary)| {
        let share = (canary * 200 + primary + canary).checked_div(2 * (primary + canary))?;
        Weight::new(u32::try_from(share).ok()?)
    });
    match share {
        Some(canary) => RouteObservation::Live {
            routes: Routes::split(canary),
            confirmed: condition.is_some(),
        },
        None => RouteObservation::Rejected {
            reason: format!(
                "the ApisixRoute {name} has no rule with weighted backends {} and {}",
                names.primary, names.canary
            ),
        },
    }
}
