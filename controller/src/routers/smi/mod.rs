//! The SMI router (`linkerd`, `osm`, `smi:v1alpha1`, `smi:v1alpha2`, `smi:v1alpha3`): an SMI
//! TrafficSplit named after the apex Service that sends the split's shares to `<apex>-primary`
//! and `<apex>-canary`, as Flagger writes it. The split's root service is the first of
//! `spec.service.hosts`, or the apex Service. Both backends are always listed, the canary
//! first, a backend with no share at weight 0.
//!
//! The providers differ only in the API version written: `linkerd` and `smi:v1alpha1` write
//! `v1alpha1` (whose weights are quantities, written as strings as Flagger does), `osm` and
//! `smi:v1alpha2` write `v1alpha2`, `smi:v1alpha3` writes `v1alpha3`.
//!
//! No mesh reports anything about a TrafficSplit (it has no status), so the split read back
//! from the spec is taken as live, unconfirmed.

use serde_json::{Value, json};
use serin_crds::validation::Weight;
use serin_decide::Routes;

use super::{
    DesiredObject, KindUse, RouteInput, RouteKind, RouteObservation, Router, RouterError,
    TRAFFIC_SPLIT_V1ALPHA1, TRAFFIC_SPLIT_V1ALPHA2, TRAFFIC_SPLIT_V1ALPHA3, TrafficSplit,
};

/// The SMI `TrafficSplit` API version a provider writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmiVersion {
    /// `split.smi-spec.io/v1alpha1` (`linkerd`, `smi:v1alpha1`).
    V1alpha1,
    /// `split.smi-spec.io/v1alpha2` (`osm`, `smi:v1alpha2`).
    V1alpha2,
    /// `split.smi-spec.io/v1alpha3` (`smi:v1alpha3`).
    V1alpha3,
}

/// The SMI router, for one API version.
#[derive(Clone, Copy, Debug)]
pub struct Smi {
    name: &'static str,
    version: SmiVersion,
}

const V1ALPHA1: &[KindUse] = &[KindUse::write(TRAFFIC_SPLIT_V1ALPHA1)];
const V1ALPHA2: &[KindUse] = &[KindUse::write(TRAFFIC_SPLIT_V1ALPHA2)];
const V1ALPHA3: &[KindUse] = &[KindUse::write(TRAFFIC_SPLIT_V1ALPHA3)];

/// Longest weight string read back (a quantity such as `500m`); longer ones are not weights.
const MAX_QUANTITY_LEN: usize = 24;

impl Smi {
    /// The router of provider `name` (as in metric labels), writing `version`.
    pub fn new(name: &'static str, version: SmiVersion) -> Smi {
        Smi { name, version }
    }

    fn kind(self) -> RouteKind {
        self.kinds()[0].kind
    }

    /// A backend's weight as written: a quantity string for `v1alpha1`, a number after.
    fn weight(self, weight: Weight) -> Value {
        match self.version {
            SmiVersion::V1alpha1 => json!(weight.get().to_string()),
            SmiVersion::V1alpha2 | SmiVersion::V1alpha3 => json!(weight.get()),
        }
    }
}

impl Router for Smi {
    fn name(&self) -> &'static str {
        self.name
    }

    fn kinds(&self) -> &'static [KindUse] {
        match self.version {
            SmiVersion::V1alpha1 => V1ALPHA1,
            SmiVersion::V1alpha2 => V1ALPHA2,
            SmiVersion::V1alpha3 => V1ALPHA3,
        }
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let routing = input.routing;
        let names = &routing.names;
        let canary = split.routes.canary;
        let root = routing
            .service
            .hosts
            .as_ref()
            .and_then(|hosts| hosts.first())
            .unwrap_or(&names.apex);
        let kind = self.kind();
        Ok(vec![DesiredObject {
            kind,
            name: names.apex.clone(),
            object: json!({
                "apiVersion": kind.api_version(),
                "kind": kind.kind,
                "metadata": {
                    "name": names.apex,
                    "namespace": input.namespace,
                    "ownerReferences": [input.owner()],
                },
                "spec": {
                    "service": root,
                    "backends": [
                        {"service": names.canary, "weight": self.weight(canary)},
                        {"service": names.primary, "weight": self.weight(canary.complement())},
                    ],
                },
            }),
        }])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let names = &input.routing.names;
        let Some(split) = observed
            .iter()
            .find(|o| o["kind"] == "TrafficSplit" && o["metadata"]["name"] == names.apex.as_str())
        else {
            return RouteObservation::Missing;
        };
        let backends = split["spec"]["backends"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut weights = (0.0, 0.0);
        let mut unexpected = false;
        for backend in backends {
            let weight = quantity(&backend["weight"]);
            match (backend["service"].as_str(), weight) {
                (Some(s), Some(w)) if s == names.primary => weights.0 += w,
                (Some(s), Some(w)) if s == names.canary => weights.1 += w,
                _ => unexpected = true,
            }
        }
        match canary_share(weights.0, weights.1) {
            Some(canary) if !unexpected => RouteObservation::Live {
                routes: Routes::split(canary),
                confirmed: false,
            },
            _ => RouteObservation::Rejected {
                reason: format!(
                    "the TrafficSplit {} does not split traffic between {} and {} only",
                    names.apex, names.primary, names.canary
                ),
            },
        }
    }
}

/// A backend weight: a number, or a Kubernetes quantity string (`100`, `500m`).
fn quantity(value: &Value) -> Option<f64> {
    let weight = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.len() <= MAX_QUANTITY_LEN => match s.strip_suffix('m') {
            Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
            None => s.parse::<f64>().ok(),
        },
        _ => None,
    }?;
    (weight.is_finite() && weight >= 0.0).then_some(weight)
}

/// The canary's share of `primary + canary`, rounded to a whole percent; `None` when both are 0.
fn canary_share(primary: f64, canary: f64) -> Option<Weight> {
    let total = primary + canary;
    if !total.is_finite() || total <= 0.0 {
        return None;
    }
    let percent = (canary * 100.0 / total).round();
    // A share of a finite positive total lies in 0..=100.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "rounded, in 0..=100"
    )]
    Weight::new(percent as u32)
}

#[cfg(test)]
mod tests;
