//! The values a query template is rendered with, taken from a Canary as Flagger does, and the
//! overrides `serin analyze --set` applies on top.

use std::collections::BTreeMap;

use serin_crds::canary::Provider;
use serin_crds::query_template::TemplateContext;
use serin_crds::validation::{MetricCheck, ValidCanary, ValidChecks};

/// The Canary a query template is rendered for: its name and namespace, and the validated
/// fields its checks read (from [`ValidCanary`] in the controller, [`ValidChecks`] in
/// `serin analyze`).
#[derive(Clone, Copy, Debug)]
pub struct PlanSubject<'a> {
    /// The Canary's name.
    pub name: &'a str,
    /// The Canary's namespace.
    pub namespace: &'a str,
    /// The router in effect, when known.
    pub router: Option<Provider>,
    /// The Canary's own `metricsServer`.
    pub metrics_server: Option<&'a url::Url>,
    /// Its validated metric checks.
    pub metrics: &'a [MetricCheck],
    /// The target's name (`{{ target }}`).
    pub target: &'a str,
    /// The apex Service's name (`{{ service }}`).
    pub service: &'a str,
    /// `spec.ingressRef.name` (`{{ ingress }}`, the target's name without one).
    pub ingress: Option<&'a str>,
    /// `spec.routeRef.name` (`{{ route }}`, the target's name without one).
    pub route: Option<&'a str>,
}

impl<'a> PlanSubject<'a> {
    /// The subject of a Canary validated whole, as the controller has it.
    pub fn of_canary(name: &'a str, namespace: &'a str, valid: &'a ValidCanary) -> Self {
        PlanSubject {
            name,
            namespace,
            router: valid.provider,
            metrics_server: valid.metrics_server.as_ref(),
            metrics: &valid.metrics,
            target: &valid.target.name,
            service: &valid.routing.names.apex,
            ingress: valid.routing.ingress_ref.as_deref(),
            route: valid.routing.route_ref.as_deref(),
        }
    }

    /// The subject of a Canary whose checks alone were validated.
    pub fn of_checks(name: &'a str, namespace: &'a str, checks: &'a ValidChecks) -> Self {
        PlanSubject {
            name,
            namespace,
            router: checks.provider,
            metrics_server: checks.metrics_server.as_ref(),
            metrics: &checks.metrics,
            target: &checks.target,
            service: &checks.service,
            ingress: checks.ingress_ref.as_deref(),
            route: checks.route_ref.as_deref(),
        }
    }

    /// The context for one metric: `ingress` and `route` are the target's name when the Canary
    /// has no `ingressRef` or `routeRef`.
    pub fn template_context(
        &self,
        interval: &str,
        variables: BTreeMap<String, String>,
    ) -> TemplateContext {
        let or_target = |name: Option<&str>| {
            name.filter(|n| !n.is_empty())
                .unwrap_or(self.target)
                .to_owned()
        };
        TemplateContext {
            name: self.name.to_owned(),
            namespace: self.namespace.to_owned(),
            service: or_target(Some(self.service)),
            ingress: or_target(self.ingress),
            route: or_target(self.route),
            target: self.target.to_owned(),
            interval: interval.to_owned(),
            variables,
        }
    }

    /// The Prometheus server of the built-in metrics and inline queries: the Canary's
    /// `metricsServer` (as written), or `default`, the controller's.
    pub fn metrics_server<'s>(&'s self, default: &'s str) -> &'s str {
        self.metrics_server.map_or(default, written_address)
    }
}

/// `url` without the `/` the URL parser adds to a bare address, so that the address reads as
/// the user wrote it (`http://prometheus:9090`).
fn written_address(url: &url::Url) -> &str {
    let text = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        text.strip_suffix('/').unwrap_or(text)
    } else {
        text
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

    fn valid() -> ValidCanary {
        let canary: serin_crds::Canary = serde_yaml::from_str(
            r"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: nginx
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo-app}
  ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: podinfo-ing}
  service: {port: 80}
  analysis: {interval: 1m, threshold: 2, stepWeight: 10, maxWeight: 50}
",
        )
        .unwrap();
        serin_crds::validation::validate_canary(&canary.spec, None).unwrap()
    }

    fn context(interval: &str) -> TemplateContext {
        let valid = valid();
        let subject = PlanSubject::of_canary("podinfo", "test", &valid);
        subject.template_context(interval, BTreeMap::new())
    }

    #[test]
    fn service_and_route_default_to_the_target_and_ingress_comes_from_ingress_ref() {
        let c = context("2m");
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
        let mut c = context("1m");
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
