//! Reading a VirtualService back: the split of its weighted route, its mirroring, and whether
//! istiod reports the current generation reconciled.
//!
//! istiod writes status only with `PILOT_ENABLE_STATUS=true` (off by default): then
//! `status.observedGeneration` and a `Reconciled` condition tell whether the proxies have the
//! current generation, and `validationMessages` of level `Error` say it was refused. Without any
//! status the spec is taken as live (`confirmed: false`).

use serde_json::Value;
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::super::RouteObservation;
use super::spec::{PRIMARY_STICKY_ROUTE, STICKY_ROUTE};

pub(super) fn observe(vs: &Value, routing: &RoutingSpec) -> RouteObservation {
    if let Some(not_live) = istiod_status(vs) {
        return not_live;
    }
    let Some(routes) = split_in(vs, routing) else {
        return RouteObservation::Rejected {
            reason: format!(
                "the VirtualService {} has no route to {} and {}",
                routing.names.apex, routing.names.primary, routing.names.canary
            ),
        };
    };
    RouteObservation::Live {
        routes,
        confirmed: vs["status"]["observedGeneration"].is_number()
            || vs["status"]["observedGeneration"].is_string(),
    }
}

/// What istiod reports, when it reports that the current generation is not live yet.
fn istiod_status(vs: &Value) -> Option<RouteObservation> {
    let status = &vs["status"];
    let refused: Vec<&str> = status["validationMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["level"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case("error"))
        })
        .filter_map(|m| {
            m["type"]["name"]
                .as_str()
                .or_else(|| m["type"]["code"].as_str())
        })
        .collect();
    if !refused.is_empty() {
        return Some(RouteObservation::Rejected {
            reason: format!("istiod refused the VirtualService: {}", refused.join(", ")),
        });
    }
    let observed = number(&status["observedGeneration"])?;
    let generation = number(&vs["metadata"]["generation"]).unwrap_or(0);
    if observed < generation {
        return Some(RouteObservation::Pending {
            reason: format!(
                "istiod has not processed generation {generation} of the VirtualService yet"
            ),
        });
    }
    let reconciled = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Reconciled")?;
    if reconciled["status"] == "True" {
        return None;
    }
    let message = reconciled["message"].as_str().unwrap_or_default();
    let reason = reconciled["reason"].as_str().unwrap_or("not reconciled");
    Some(RouteObservation::Pending {
        reason: format!("istiod is distributing the VirtualService: {reason} {message}")
            .trim()
            .to_owned(),
    })
}

/// Istio writes int64 fields either as numbers or as strings.
fn number(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// The split of the weighted route (not the sticky ones): the first HTTP or TCP route with a
/// destination on the canary.
fn split_in(vs: &Value, routing: &RoutingSpec) -> Option<Routes> {
    let names = &routing.names;
    let host_is = |d: &Value, name: &str| {
        d["destination"]["host"]
            .as_str()
            .is_some_and(|h| h == name || h.starts_with(&format!("{name}.")))
    };
    let routes = vs["spec"]["http"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] != STICKY_ROUTE && r["name"] != PRIMARY_STICKY_ROUTE)
        .chain(vs["spec"]["tcp"].as_array().into_iter().flatten());
    for route in routes {
        let destinations = route["route"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !destinations.iter().any(|d| host_is(d, &names.canary)) {
            continue;
        }
        let weight_of = |name: &str| {
            destinations
                .iter()
                .find(|d| host_is(d, name))
                .map_or(0, |d| d["weight"].as_u64().unwrap_or(0))
        };
        let (primary, canary) = (weight_of(&names.primary), weight_of(&names.canary));
        let share = (canary * 200 + primary + canary).checked_div(2 * (primary + canary))?;
        let canary = Weight::new(u32::try_from(share).ok()?)?;
        let mirrored = route["mirror"]["host"]
            .as_str()
            .is_some_and(|h| h == names.canary || h.starts_with(&format!("{}.", names.canary)));
        return Some(Routes {
            primary: canary.complement(),
            canary,
            mirror: mirrored.then_some(Weight::FULL),
            matched_to_canary: !routing.ab_matches.is_empty() && canary == Weight::FULL,
        });
    }
    None
}
