//! Reading a RouteTable back: the split of its route, and whether Gloo accepted it.
//!
//! Gloo writes one status per reporter under `status.statuses` (keyed by the reporter's
//! namespace; older releases wrote a single status in `status` itself): a `state` of `Pending`,
//! `Accepted`, `Rejected` or `Warning` (or their numbers 0 to 3), a `reason` and `reportedBy`.
//! The split is live once every reporter accepted the table (`Warning` is accepted with
//! warnings). Gloo's CRDs have no status subresource: writing status changes the generation, so
//! no status can name the generation it judged, and the reporters' latest word is taken.

use serde_json::Value;
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::super::RouteObservation;

/// The reporters' statuses, with the reporter's name.
fn statuses(table: &Value) -> Vec<(String, &Value)> {
    let status = &table["status"];
    if let Some(map) = status["statuses"].as_object().filter(|m| !m.is_empty()) {
        return map.iter().map(|(k, v)| (k.clone(), v)).collect();
    }
    if status["state"].is_null() {
        return Vec::new();
    }
    vec![(String::new(), status)]
}

fn state(status: &Value) -> &str {
    match &status["state"] {
        Value::String(s) => s.as_str(),
        Value::Number(n) => match n.as_u64() {
            Some(1) => "Accepted",
            Some(2) => "Rejected",
            Some(3) => "Warning",
            _ => "Pending",
        },
        _ => "Pending",
    }
}

fn reporter(key: &str, status: &Value) -> String {
    match status["reportedBy"].as_str() {
        Some(by) if !key.is_empty() => format!("{by} ({key})"),
        Some(by) => by.to_owned(),
        None if key.is_empty() => "Gloo".to_owned(),
        None => key.to_owned(),
    }
}

/// Whether every reporter accepted the current generation, or why the RouteTable is not live.
fn accepted(table: &Value, name: &str) -> Result<(), RouteObservation> {
    let statuses = statuses(table);
    if statuses.is_empty() {
        return Err(RouteObservation::Pending {
            reason: format!("Gloo has not reported on the RouteTable {name} yet"),
        });
    }
    for (key, status) in &statuses {
        let by = reporter(key, status);
        let reason = status["reason"].as_str().unwrap_or("no reason given");
        match state(status) {
            "Rejected" => {
                return Err(RouteObservation::Rejected {
                    reason: format!("{by} rejected the RouteTable {name}: {reason}"),
                });
            }
            "Accepted" | "Warning" => {}
            _ => {
                return Err(RouteObservation::Pending {
                    reason: format!("{by} has not accepted the RouteTable {name} yet"),
                });
            }
        }
    }
    Ok(())
}

/// The canary's share of the route's weighted destinations to `primary` and `canary`
/// (Upstream names). A destination without a weight gets none of the traffic.
fn split_in(table: &Value, primary: &str, canary: &str, routing: &RoutingSpec) -> Option<Routes> {
    let destinations =
        table["spec"]["routes"][0]["routeAction"]["multi"]["destinations"].as_array()?;
    let weight_of = |upstream: &str| {
        destinations
            .iter()
            .find(|d| d["destination"]["upstream"]["name"] == upstream)
            .map(|d| d["weight"].as_u64().unwrap_or(0))
    };
    let canary = super::super::canary_share(weight_of(primary)?, weight_of(canary)?)?;
    Some(Routes {
        matched_to_canary: !routing.ab_matches.is_empty() && canary == Weight::FULL,
        ..Routes::split(canary)
    })
}

pub(super) fn observe(
    table: &Value,
    primary: &str,
    canary: &str,
    routing: &RoutingSpec,
) -> RouteObservation {
    let name = table["metadata"]["name"].as_str().unwrap_or_default();
    if let Err(not_live) = accepted(table, name) {
        return not_live;
    }
    match split_in(table, primary, canary, routing) {
        Some(routes) => RouteObservation::Live {
            routes,
            confirmed: true,
        },
        None => RouteObservation::Rejected {
            reason: format!(
                "the RouteTable {name} has no route with weighted destinations {primary} and {canary}"
            ),
        },
    }
}
