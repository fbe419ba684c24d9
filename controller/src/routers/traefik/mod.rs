//! The Traefik router (`traefik`): a TraefikService named after the apex Service whose weighted
//! round robin sends the split's shares to `<apex>-primary` and `<apex>-canary`, as Flagger
//! writes it. A Service with no share is left out rather than written with weight 0: Traefik
//! would give it its default weight. The user's `IngressRoute` sends traffic to the
//! TraefikService.
//!
//! Traefik reports nothing about a TraefikService (it has no status), so the split read back
//! from the spec is taken as live, unconfirmed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::validation::Weight;
use serin_decide::Routes;

use super::{
    DesiredObject, KindUse, RouteInput, RouteObservation, Router, RouterError, TRAEFIK_SERVICE,
    TrafficSplit, flux_opt_out,
};

/// The Traefik router.
#[derive(Clone, Copy, Debug, Default)]
pub struct Traefik;

const KINDS: &[KindUse] = &[KindUse::write(TRAEFIK_SERVICE)];

impl Router for Traefik {
    fn name(&self) -> &'static str {
        "traefik"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let routing = input.routing;
        let names = &routing.names;
        let canary = split.routes.canary;
        let services: Vec<Value> = [
            (&names.primary, canary.complement()),
            (&names.canary, canary),
        ]
        .into_iter()
        .filter(|(_, weight)| *weight != Weight::ZERO)
        .map(|(name, weight)| {
            json!({
                "name": name,
                "namespace": input.namespace,
                "port": routing.service.port,
                "weight": weight.get(),
            })
        })
        .collect();
        let apex = routing.service.apex.as_ref();
        let mut annotations: BTreeMap<String, String> = apex
            .and_then(|a| a.annotations.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        flux_opt_out(&mut annotations);
        let mut metadata = json!({
            "name": names.apex,
            "namespace": input.namespace,
            "annotations": annotations,
            "ownerReferences": [input.owner()],
        });
        if let Some(labels) = apex
            .and_then(|a| a.labels.as_ref())
            .filter(|l| !l.is_empty())
        {
            metadata["labels"] = json!(labels);
        }
        Ok(vec![DesiredObject {
            kind: TRAEFIK_SERVICE,
            name: names.apex.clone(),
            object: json!({
                "apiVersion": TRAEFIK_SERVICE.api_version(),
                "kind": TRAEFIK_SERVICE.kind,
                "metadata": metadata,
                "spec": {"weighted": {"services": services}},
            }),
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        let Some(service) = observed.iter().find(|o| {
            o["kind"] == TRAEFIK_SERVICE.kind && o["metadata"]["name"] == names.apex.as_str()
        }) else {
            return RouteObservation::Missing;
        };
        let services = service["spec"]["weighted"]["services"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Traefik's default weight for an entry without one is 1.
        let weight_of = |name: &str| {
            services
                .iter()
                .filter(|s| s["name"] == name)
                .map(|s| s["weight"].as_u64().unwrap_or(1))
                .sum::<u64>()
        };
        let (primary, canary) = (weight_of(&names.primary), weight_of(&names.canary));
        let others = services
            .iter()
            .any(|s| s["name"] != names.primary.as_str() && s["name"] != names.canary.as_str());
        let share = (canary * 200 + primary + canary).checked_div(2 * (primary + canary));
        match share
            .and_then(|s| u32::try_from(s).ok())
            .and_then(Weight::new)
        {
            Some(canary) if !others => RouteObservation::Live {
                routes: Routes::split(canary),
                confirmed: false,
            },
            _ => RouteObservation::Rejected {
                reason: format!(
                    "the TraefikService {} does not split traffic between {} and {} only",
                    names.apex, names.primary, names.canary
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests;
