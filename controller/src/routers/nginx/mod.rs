//! The NGINX router (`nginx`): a copy of the Ingress in `spec.ingressRef`, named
//! `<ingress>-canary`, whose paths to the apex Service lead to `<apex>-canary` instead, marked as
//! ingress-nginx's canary with annotations: `canary-weight` for a progressive release,
//! `canary-by-header` (`-value`, `-pattern`) and `canary-by-cookie` for A/B testing. The prefix of
//! the annotations is `--ingress-annotations-prefix` (`nginx.ingress.kubernetes.io` by default).
//!
//! The user's Ingress is read, never changed; the canary Ingress belongs to the Canary and goes
//! with it. ingress-nginx reports nothing about canary annotations (an Ingress has only
//! `status.loadBalancer`), so a split read back from them is taken as live, unconfirmed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::ingress_copy::{canary_copy, ingress_key, ingress_ref};
use super::{
    DesiredObject, INGRESS, KindUse, ObjectKey, RouteInput, RouteObservation, Router, RouterError,
    TrafficSplit, flux_opt_out,
};

/// ingress-nginx's own annotation prefix, Flagger's default for `-ingress-annotations-prefix`.
const DEFAULT_PREFIX: &str = "nginx.ingress.kubernetes.io";
/// kubectl's copy of what was last applied, never carried over to the canary Ingress.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Longest name of an object (a DNS subdomain).
const MAX_NAME: usize = 253;

/// The NGINX router.
#[derive(Clone, Debug)]
pub struct Nginx {
    prefix: String,
}

impl Nginx {
    /// A router writing annotations under `prefix` (the default one when `None`).
    pub fn new(prefix: Option<&str>) -> Nginx {
        let prefix = prefix
            .map(|p| p.trim_end_matches('/'))
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_PREFIX);
        Nginx {
            prefix: prefix.to_owned(),
        }
    }

    fn annotation(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// The user's annotations the canary Ingress keeps: all but the canary ones and kubectl's
    /// last-applied copy.
    fn kept_annotations(&self, ingress: &Value) -> BTreeMap<String, String> {
        let canary = self.annotation("canary");
        ingress["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| !key.starts_with(&canary) && *key != LAST_APPLIED)
            .filter_map(|(key, value)| value.as_str().map(|v| (key.clone(), v.to_owned())))
            .collect()
    }

    /// The canary annotations for `split`.
    fn canary_annotations(
        &self,
        routing: &RoutingSpec,
        split: &TrafficSplit,
    ) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::from([(self.annotation("canary"), "true".to_owned())]);
        let canary = split.routes.canary;
        if routing.ab_matches.is_empty() {
            annotations.insert(self.annotation("canary-weight"), canary.get().to_string());
            return annotations;
        }
        annotations.insert(self.annotation("canary-weight"), "0".to_owned());
        if canary == Weight::ZERO {
            return annotations;
        }
        let ab = ab_selector(routing);
        let mut set = |name: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                annotations.insert(self.annotation(name), value);
            }
        };
        set("canary-by-cookie", ab.cookie);
        set("canary-by-header", ab.header);
        set("canary-by-header-value", ab.value);
        set("canary-by-header-pattern", ab.pattern);
        annotations
    }
}

/// What A/B testing selects the canary by: one header (its exact value or a pattern) and one
/// cookie (by name), as validation allows for this router.
#[derive(Default)]
struct AbSelector {
    header: Option<String>,
    value: Option<String>,
    pattern: Option<String>,
    cookie: Option<String>,
}

fn ab_selector(routing: &RoutingSpec) -> AbSelector {
    let mut ab = AbSelector::default();
    let headers = routing
        .ab_matches
        .iter()
        .filter_map(|m| m.headers.as_ref())
        .flatten();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("cookie") {
            ab.cookie.clone_from(&value.exact);
        } else {
            ab.header = Some(name.clone());
            ab.value.clone_from(&value.exact);
            ab.pattern.clone_from(&value.regex);
        }
    }
    ab
}

/// Points every path of `spec` to the Service `from` at the Service `to`; whether one did.
fn retarget(spec: &mut Value, from: &str, to: &str) -> bool {
    let mut found = false;
    let rules = spec["rules"].as_array_mut().into_iter().flatten();
    for rule in rules {
        let paths = rule["http"]["paths"].as_array_mut().into_iter().flatten();
        for path in paths {
            let service = &mut path["backend"]["service"]["name"];
            if service.as_str() == Some(from) {
                *service = json!(to);
                found = true;
            }
        }
    }
    found
}

fn canary_ingress_name(ingress: &str) -> String {
    format!("{ingress}-canary")
}

const KINDS: &[KindUse] = &[KindUse::write(INGRESS)];

impl Router for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
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
        let source = ingress_ref(routing, "nginx")?;
        let name = canary_ingress_name(source);
        if name.len() > MAX_NAME {
            return Err(RouterError::Inexpressible {
                field: "spec.ingressRef.name".into(),
                message: format!("{name} would be longer than {MAX_NAME} characters"),
            });
        }
        let ingress = input
            .referenced(&ingress_key(input.namespace, source))
            .ok_or_else(|| RouterError::ReferenceMissing {
                kind: INGRESS.qualified(),
                name: source.to_owned(),
                field: "spec.ingressRef",
            })?;
        let mut spec = ingress["spec"].clone();
        if !retarget(&mut spec, &routing.names.apex, &routing.names.canary) {
            return Err(RouterError::Inexpressible {
                field: "spec.ingressRef".into(),
                message: format!(
                    "the Ingress {source} has no path to the Service {}",
                    routing.names.apex
                ),
            });
        }
        let mut annotations = self.kept_annotations(ingress);
        flux_opt_out(&mut annotations);
        annotations.extend(self.canary_annotations(routing, split));
        Ok(vec![canary_copy(input, name, &annotations, ingress, &spec)])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let Ok(source) = ingress_ref(input.routing, "nginx") else {
            return RouteObservation::Missing;
        };
        let name = canary_ingress_name(source);
        let Some(ingress) = observed
            .iter()
            .find(|o| o["kind"] == INGRESS.kind && o["metadata"]["name"] == name.as_str())
        else {
            return RouteObservation::Missing;
        };
        let annotations = &ingress["metadata"]["annotations"];
        let get = |key: &str| annotations[self.annotation(key)].as_str();
        if get("canary") != Some("true") {
            return RouteObservation::Rejected {
                reason: format!(
                    "the Ingress {name} is not marked as a canary ({})",
                    self.annotation("canary")
                ),
            };
        }
        let ab = !input.routing.ab_matches.is_empty()
            && (get("canary-by-header").is_some() || get("canary-by-cookie").is_some());
        if ab {
            return RouteObservation::Live {
                routes: Routes::ab_testing(),
                confirmed: false,
            };
        }
        let text = get("canary-weight").unwrap_or("0");
        let Some(weight) = text.trim().parse().ok().and_then(Weight::new) else {
            return RouteObservation::Rejected {
                reason: format!(
                    "the Ingress {name} has {} {text:?}, not a percentage",
                    self.annotation("canary-weight")
                ),
            };
        };
        RouteObservation::Live {
            routes: Routes::split(weight),
            confirmed: false,
        }
    }
}

#[cfg(test)]
mod tests;
