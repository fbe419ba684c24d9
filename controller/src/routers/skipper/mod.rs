//! The Skipper router (`skipper`): a copy of the Ingress in `spec.ingressRef`, named
//! `<ingress>-canary`, in which every path to the apex Service goes to `<apex>-primary` and gains
//! a twin to `<apex>-canary`. Skipper splits between them by `zalando.org/backend-weights`.
//! During a release the copy's `zalando.org/skipper-predicate` starts with `Weight(100)`, so its
//! routes outrank the user's Ingress for the same host. Outside one it starts with `False()`,
//! and the user's Ingress serves again. This is the object Flagger writes.
//!
//! The user's Ingress is read, never changed; the copy belongs to the Canary and goes with it.
//! Skipper reports nothing about Ingress annotations, so a split read back from them is taken
//! as live, unconfirmed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::ingress_copy::{canary_copy, ingress_key, ingress_ref};
use super::{
    DesiredObject, INGRESS, KindUse, ObjectKey, RouteInput, RouteObservation, Router, RouterError,
    TrafficSplit, flux_opt_out,
};

const BACKEND_WEIGHTS: &str = "zalando.org/backend-weights";
const PREDICATE: &str = "zalando.org/skipper-predicate";
const ENABLED: &str = "Weight(100)";
const DISABLED: &str = "False()";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The Skipper router.
#[derive(Clone, Copy, Debug, Default)]
pub struct Skipper;

const KINDS: &[KindUse] = &[KindUse::write(INGRESS)];

/// `predicates` with `first` in front, and neither `Weight(100)` nor `False()` elsewhere.
fn with_first_predicate(predicates: &str, first: &str) -> String {
    std::iter::once(first)
        .chain(
            predicates
                .split("&&")
                .map(str::trim)
                .filter(|p| !p.is_empty() && *p != ENABLED && *p != DISABLED),
        )
        .collect::<Vec<_>>()
        .join(" && ")
}

/// Splits every path of `spec` to `apex` into one to `primary` and, at the end of its rule, one
/// to `canary`; whether there was one.
fn split_paths(spec: &mut Value, apex: &str, primary: &str, canary: &str) -> bool {
    let mut found = false;
    for rule in spec["rules"].as_array_mut().into_iter().flatten() {
        let Some(paths) = rule["http"]["paths"].as_array_mut() else {
            continue;
        };
        let mut twins = Vec::new();
        for path in paths.iter_mut() {
            if path["backend"]["service"]["name"].as_str() == Some(apex) {
                path["backend"]["service"]["name"] = json!(primary);
                let mut twin = path.clone();
                twin["backend"]["service"]["name"] = json!(canary);
                twins.push(twin);
                found = true;
            }
        }
        paths.extend(twins);
    }
    found
}

impl Router for Skipper {
    fn name(&self) -> &'static str {
        "skipper"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    /// The Ingress in `spec.ingressRef`, which the canary Ingress copies.
    fn references(&self, namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        routing
            .ingress_ref
            .iter()
            .map(|name| ingress_key(namespace, name))
            .collect()
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let routing = input.routing;
        let names = &routing.names;
        let source = ingress_ref(routing, "skipper")?;
        let ingress = input
            .referenced(&ingress_key(input.namespace, source))
            .ok_or_else(|| RouterError::ReferenceMissing {
                kind: INGRESS.qualified(),
                name: source.to_owned(),
                field: "spec.ingressRef",
            })?;
        let mut spec = ingress["spec"].clone();
        if !split_paths(&mut spec, &names.apex, &names.primary, &names.canary) {
            return Err(RouterError::Inexpressible {
                field: "spec.ingressRef".into(),
                message: format!(
                    "the Ingress {source} has no path to the Service {}",
                    names.apex
                ),
            });
        }
        let mut annotations: BTreeMap<String, String> = ingress["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| *key != LAST_APPLIED)
            .filter_map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())))
            .collect();
        flux_opt_out(&mut annotations);
        let canary = split.routes.canary;
        let weights = BTreeMap::from([
            (names.primary.as_str(), canary.complement().get()),
            (names.canary.as_str(), canary.get()),
        ]);
        annotations.insert(BACKEND_WEIGHTS.into(), json!(weights).to_string());
        let first = if canary == Weight::ZERO {
            DISABLED
        } else {
            ENABLED
        };
        let predicates = annotations.get(PREDICATE).cloned().unwrap_or_default();
        annotations.insert(PREDICATE.into(), with_first_predicate(&predicates, first));
        let name = format!("{source}-canary");
        Ok(vec![canary_copy(input, name, &annotations, ingress, &spec)])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        let Ok(source) = ingress_ref(input.routing, "skipper") else {
            return RouteObservation::Missing;
        };
        let name = format!("{source}-canary");
        let Some(ingress) = observed
            .iter()
            .find(|o| o["kind"] == INGRESS.kind && o["metadata"]["name"] == name.as_str())
        else {
            return RouteObservation::Missing;
        };
        let annotations = &ingress["metadata"]["annotations"];
        let weights: Option<BTreeMap<String, f64>> = annotations[BACKEND_WEIGHTS]
            .as_str()
            .and_then(|w| serde_json::from_str(w).ok());
        let weight_of = |service: &str| weights.as_ref().and_then(|w| w.get(service)).copied();
        let (Some(primary), Some(canary)) = (weight_of(&names.primary), weight_of(&names.canary))
        else {
            return RouteObservation::Rejected {
                reason: format!(
                    "the Ingress {name} has no {BACKEND_WEIGHTS} for {} and {}",
                    names.primary, names.canary
                ),
            };
        };
        let disabled = annotations[PREDICATE]
            .as_str()
            .is_some_and(|p| p.contains(DISABLED));
        let total = primary.max(0.0) + canary.max(0.0);
        let share = if disabled || total <= 0.0 {
            0.0
        } else {
            (canary.max(0.0) * 100.0 / total).round()
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a rounded share between 0 and 100"
        )]
        let share = share as u32;
        match Weight::new(share) {
            Some(canary) => RouteObservation::Live {
                routes: Routes::split(canary),
                confirmed: false,
            },
            None => RouteObservation::Rejected {
                reason: format!("the Ingress {name} has unusable {BACKEND_WEIGHTS}"),
            },
        }
    }
}

#[cfg(test)]
mod tests;
