//! Reading an HTTPProxy back: the split of its first route, and whether Contour reports the
//! current generation valid.
//!
//! Contour writes `status.currentStatus` (`valid`, `invalid`, `orphaned`, `NotReconciled`) and a
//! `Valid` condition with `observedGeneration` and, when refused, `errors`. A proxy with no
//! status at all (no Contour watching it) is taken as live, unconfirmed.

use serde_json::Value;
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::super::RouteObservation;

pub(super) fn observe(proxy: &Value, routing: &RoutingSpec) -> RouteObservation {
    let confirmed = match contour_status(proxy) {
        Ok(confirmed) => confirmed,
        Err(not_live) => return not_live,
    };
    match split_in(proxy, routing) {
        Some(routes) => RouteObservation::Live { routes, confirmed },
        None => RouteObservation::Rejected {
            reason: format!(
                "the HTTPProxy {} has no route to {} and {}",
                routing.names.apex, routing.names.primary, routing.names.canary
            ),
        },
    }
}

/// Whether Contour confirmed the current generation (`Ok(false)`: it reports nothing), or why
/// the proxy is not live.
fn contour_status(proxy: &Value) -> Result<bool, RouteObservation> {
    let status = &proxy["status"];
    let current = status["currentStatus"].as_str().unwrap_or_default();
    let valid = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Valid");
    if current.is_empty() && valid.is_none() {
        return Ok(false);
    }
    let generation = proxy["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = valid.and_then(|c| c["observedGeneration"].as_i64());
    if observed.is_some_and(|o| o < generation) || current.eq_ignore_ascii_case("NotReconciled") {
        return Err(RouteObservation::Pending {
            reason: format!(
                "Contour has not processed generation {generation} of the HTTPProxy yet"
            ),
        });
    }
    let description = status["description"].as_str().unwrap_or_default();
    let errors: Vec<&str> = valid
        .and_then(|c| c["errors"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().or_else(|| e["reason"].as_str()))
        .collect();
    let detail = if errors.is_empty() {
        description.to_owned()
    } else {
        errors.join("; ")
    };
    if current.eq_ignore_ascii_case("orphaned") {
        return Err(RouteObservation::Rejected {
            reason: format!(
                "Contour reports the HTTPProxy orphaned: no root HTTPProxy includes it, so no traffic reaches it ({detail})"
            ),
        });
    }
    let refused =
        current.eq_ignore_ascii_case("invalid") || valid.is_some_and(|c| c["status"] == "False");
    if refused {
        return Err(RouteObservation::Rejected {
            reason: format!("Contour refused the HTTPProxy: {detail}"),
        });
    }
    Ok(true)
}

/// The split of the first route (the weighted one, or the one matching A/B requests). A
/// Service without a weight gets none of the traffic when another has one.
fn split_in(proxy: &Value, routing: &RoutingSpec) -> Option<Routes> {
    let names = &routing.names;
    let services = proxy["spec"]["routes"][0]["services"].as_array()?;
    let weight_of = |name: &str| {
        services
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["weight"].as_u64().unwrap_or(0))
    };
    let (primary, canary) = (weight_of(&names.primary)?, weight_of(&names.canary)?);
    // All weights absent: Contour splits evenly.
    let (primary, canary) = if primary + canary == 0 {
        (1, 1)
    } else {
        (primary, canary)
    };
    let share = (canary * 200 + primary + canary) / (2 * (primary + canary));
    let canary = Weight::new(u32::try_from(share).ok()?)?;
    Some(Routes {
        primary: canary.complement(),
        canary,
        mirror: None,
        matched_to_canary: !routing.ab_matches.is_empty() && canary == Weight::FULL,
    })
}
