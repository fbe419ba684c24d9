//! Reading an HTTPRoute back: which split it holds, and whether its Gateways accepted it.

use serde_json::Value;
use serin_crds::validation::{ServiceNames, Weight};
use serin_decide::Routes;

use crate::routers::RouteObservation;

/// The state of an observed route. `ab_testing`: the Canary routes matching requests (A/B).
pub(super) fn route_state(
    route: &Value,
    names: &ServiceNames,
    ab_testing: bool,
) -> RouteObservation {
    let generation = route["metadata"]["generation"].as_i64();
    let parents = route["status"]["parents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let wanted = route["spec"]["parentRefs"].as_array().map_or(0, Vec::len);
    if parents.is_empty() {
        return RouteObservation::Pending {
            reason: "no Gateway has reported on the HTTPRoute yet".into(),
        };
    }
    for parent in parents {
        let gateway = parent["parentRef"]["name"].as_str().unwrap_or("?");
        let condition = |kind: &str| {
            parent["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == kind)
        };
        if let Some(c) = condition("PartiallyInvalid").filter(|c| c["status"] == "True") {
            return RouteObservation::Rejected {
                reason: format!(
                    "Gateway {gateway} accepted the HTTPRoute only in part: {}",
                    message(c)
                ),
            };
        }
        match condition("Accepted") {
            Some(c) if c["status"] == "True" => {
                if c["observedGeneration"].as_i64() != generation {
                    return RouteObservation::Pending {
                        reason: format!(
                            "Gateway {gateway} has not yet processed the latest HTTPRoute"
                        ),
                    };
                }
            }
            Some(c) if c["status"] == "False" => {
                return RouteObservation::Rejected {
                    reason: format!(
                        "Gateway {gateway} did not accept the HTTPRoute: {}",
                        message(c)
                    ),
                };
            }
            _ => {
                return RouteObservation::Pending {
                    reason: format!("Gateway {gateway} has not accepted the HTTPRoute yet"),
                };
            }
        }
        if let Some(c) = condition("ResolvedRefs").filter(|c| c["status"] == "False") {
            return RouteObservation::Rejected {
                reason: format!(
                    "Gateway {gateway} cannot resolve the HTTPRoute's backends: {}",
                    message(c)
                ),
            };
        }
    }
    if parents.len() < wanted {
        return RouteObservation::Pending {
            reason: format!("{} of {wanted} Gateways have reported", parents.len()),
        };
    }
    split_in(route, names, ab_testing)
}

fn message(condition: &Value) -> String {
    let reason = condition["reason"].as_str().unwrap_or_default();
    match condition["message"].as_str().filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason} ({m})"),
        None => reason.to_owned(),
    }
}

/// The canary share of the rule that splits traffic between primary and canary by weight; the
/// sticky cookie rule (canary at 100) is not that rule.
fn split_in(route: &Value, names: &ServiceNames, ab_testing: bool) -> RouteObservation {
    let rules = route["spec"]["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let weight_of = |rule: &Value, service: &str| -> Option<u64> {
        rule["backendRefs"]
            .as_array()?
            .iter()
            .find(|b| b["name"] == service)
            .map(|b| b["weight"].as_u64().unwrap_or(1))
    };
    let is_sticky = |rule: &Value| {
        rule["matches"].as_array().into_iter().flatten().any(|m| {
            m["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|h| h["name"] == "Cookie")
        })
    };
    let mirrored = rules.iter().any(|r| {
        r["filters"].as_array().into_iter().flatten().any(|f| {
            f["type"] == "RequestMirror"
                && f["requestMirror"]["backendRef"]["name"] == names.canary.as_str()
        })
    });
    for rule in rules.iter().filter(|r| !is_sticky(r)) {
        if let (Some(p), Some(c)) = (
            weight_of(rule, &names.primary),
            weight_of(rule, &names.canary),
        ) {
            // Rounded to the nearest percent.
            let share = (c * 200 + p + c).checked_div(2 * (p + c)).unwrap_or(0);
            let canary = Weight::new(u32::try_from(share).unwrap_or(100)).unwrap_or(Weight::FULL);
            let routes = Routes {
                primary: canary.complement(),
                canary,
                mirror: mirrored.then_some(Weight::FULL),
                matched_to_canary: ab_testing && canary == Weight::FULL,
            };
            return RouteObservation::Live {
                routes,
                confirmed: true,
            };
        }
    }
    RouteObservation::Rejected {
        reason: "the HTTPRoute has no rule splitting traffic between primary and canary".into(),
    }
}
