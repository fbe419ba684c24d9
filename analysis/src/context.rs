//! The values a query template is rendered with, taken from a Canary as Flagger does, and the
//! overrides `serin analyze --set` applies on top.

use std::collections::BTreeMap;

use serin_crds::Canary;
use serin_crds::query_template::TemplateContext;

/// The window a metric looks back over when the metric sets none (Flagger's default).
pub const DEFAULT_INTERVAL: &str = "1m";

/// The context for one metric of `canary`: `service` defaults to the target's name, and so do
/// `ingress` and `route` when the Canary has no `ingressRef` or `routeRef`.
pub fn template_context(
    canary: &Canary,
    interval: &str,
    variables: BTreeMap<String, String>,
) -> TemplateContext {
    let spec = &canary.spec;
    let target = spec.target_ref.name.clone();
    let or_target = |name: Option<&String>| {
        name.filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| target.clone())
    };
    TemplateContext {
        name: canary.metadata.name.clone().unwrap_or_default(),
        namespace: canary.metadata.namespace.clone().unwrap_or_default(),
        service: or_target(spec.service.as_ref().and_then(|s| s.name.as_ref())),
        ingress: or_target(spec.ingress_ref.as_ref().map(|r| &r.name)),
        route: or_target(spec.route_ref.as_ref().map(|r| &r.name)),
        target: target.clone(),
        interval: interval.to_owned(),
        variables,
    }
}

/// A `--set` key that names no context value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a template value (use name, namespace, target, service, ingress, route, interval or variables.NAME)"
)]
pub struct UnknownKey(pub String);

impl UnknownKey {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        "unknown_key"
    }
}

/// Overrides applied to every metric's context, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextOverrides(Vec<(String, String)>);

impl ContextOverrides {
    /// Adds `key = value`, checking that `key` names a context value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), UnknownKey> {
        let known = matches!(
            key,
            "name" | "namespace" | "target" | "service" | "ingress" | "route" | "interval"
        ) || key
            .strip_prefix("variables.")
            .is_some_and(|v| !v.is_empty());
        if !known {
            return Err(UnknownKey(key.to_owned()));
        }
        self.0.push((key.to_owned(), value.to_owned()));
        Ok(())
    }

    /// The value set for `key`, if any (the last one wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Applies the overrides to `context`.
    pub fn apply(&self, context: &mut TemplateContext) {
        for (key, value) in &self.0 {
            let value = value.clone();
            match key.as_str() {
                "name" => context.name = value,
                "namespace" => context.namespace = value,
                "target" => context.target = value,
                "service" => context.service = value,
                "ingress" => context.ingress = value,
                "route" => context.route = value,
                "interval" => context.interval = value,
                other => {
                    if let Some(variable) = other.strip_prefix("variables.") {
                        context.variables.insert(variable.to_owned(), value);
                    }
                }
            }
        }
    }
}

/// `query` with every run of whitespace collapsed to one space and the ends trimmed: the form
/// sent to the backend and shown to users.
pub fn normalize_query(query: &str) -> String {
    query.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serin_crds::canary::{IngressKind, LocalObjectReference};

    fn canary() -> Canary {
        let mut canary: Canary = serde_yaml::from_str(
            "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\n\
             spec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo-app}\n  analysis: {}\n",
        )
        .unwrap();
        canary.spec.ingress_ref = Some(LocalObjectReference {
            api_version: "networking.k8s.io/v1".into(),
            kind: IngressKind::default(),
            name: "podinfo-ing".into(),
        });
        canary
    }

    #[test]
    fn service_and_route_default_to_the_target_and_ingress_comes_from_ingress_ref() {
        let c = template_context(&canary(), "2m", BTreeMap::new());
        assert_eq!(c.name, "podinfo");
        assert_eq!(c.namespace, "test");
        assert_eq!(c.target, "podinfo-app");
        assert_eq!(c.service, "podinfo-app");
        assert_eq!(c.route, "podinfo-app");
        assert_eq!(c.ingress, "podinfo-ing");
        assert_eq!(c.interval, "2m");
    }

    #[test]
    fn overrides_replace_values_and_add_variables() {
        let mut overrides = ContextOverrides::default();
        overrides.set("namespace", "prod").unwrap();
        overrides.set("variables.direction", "inbound").unwrap();
        let mut c = template_context(&canary(), "1m", BTreeMap::new());
        overrides.apply(&mut c);
        assert_eq!(c.namespace, "prod");
        assert_eq!(c.variables["direction"], "inbound");
        assert_eq!(overrides.get("namespace"), Some("prod"));
        assert_eq!(
            overrides.set("namespcae", "x"),
            Err(UnknownKey("namespcae".into()))
        );
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(
            normalize_query("\n  sum(\n\trate(x[1m])\n  )  * 100"),
            "sum( rate(x[1m]) ) * 100"
        );
    }
}
