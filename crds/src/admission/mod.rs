//! The admission rules of the generated CRDs: CEL `x-kubernetes-validations` for every check of
//! `serin lint` that can be said about one object, added to the schemas after generation, with
//! the `maxItems`/`maxLength` bounds the API server's cost estimator needs for them.
//!
//! Each rule sits on the narrowest schema node that sees the fields it reads, so the API server
//! names the field; a rule that reads siblings names the field with `fieldPath`. Messages use the
//! words of `serin lint` (see `validation/`). Rules that need other objects (a MetricTemplate that
//! exists, the variables a template uses) or the query-template parser stay in the controller;
//! `docs/lint.md` lists both kinds.

mod routing;

use serde_json::Value;

/// One CEL rule at a schema node.
struct Rule {
    /// Where: `spec.analysis`, `spec.analysis.metrics[]` (`[]` is the list's items).
    at: &'static str,
    expression: &'static str,
    message: &'static str,
    /// The field the error names, relative to `at` (`.maxWeight`), when not `at` itself.
    field_path: Option<&'static str>,
}

/// A rule built from data (the router capability table), with a message naming the provider.
struct Generated {
    at: &'static str,
    field_path: &'static str,
    rule: String,
    message: String,
    message_expression: String,
}

const fn rule(at: &'static str, expression: &'static str, message: &'static str) -> Rule {
    Rule {
        at,
        expression,
        message,
        field_path: None,
    }
}

const fn rule_at(
    at: &'static str,
    field_path: &'static str,
    expression: &'static str,
    message: &'static str,
) -> Rule {
    Rule {
        at,
        expression,
        message,
        field_path: Some(field_path),
    }
}

/// A Go duration (`300ms`, `30s`, `1m`, `1h30m`, `1.5h`, `0`), as `parse_go_duration` reads it.
const DURATION: &str =
    r#"self.matches("^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$")"#;
const DURATION_MESSAGE: &str = "is not a duration; expected a number and a unit (ns, us, ms, s, m, h), such as 30s, 1m or 1h30m";
/// Some digit other than 0: the duration is longer than zero.
const NONZERO: &str = r#"self.matches("[1-9]")"#;
/// An absolute `http://` or `https://` URL with a host.
const HTTP_URL: &str = r#"self.matches("^[hH][tT][tT][pP][sS]?://[^\\s/?#]+([/?#][^\\s]*)?$")"#;
const HTTP_URL_MESSAGE: &str = "must be an http:// or https:// URL";
const NOT_EMPTY: &str = r#"self.matches("\\S")"#;
const WEIGHT: &str = "self >= 1.0 && self <= 100.0";
const WEIGHT_MESSAGE: &str = "must be between 1 and 100";
/// A cookie name: visible ASCII without separators.
const COOKIE: &str = r#"self.matches("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")"#;

/// The strategy keys set; exactly one must be.
const ONE_STRATEGY: &str = "(has(self.stepWeight) ? 1 : 0) + (has(self.stepWeights) ? 1 : 0) + (has(self.iterations) ? 1 : 0) == 1";
const PROGRESSIVE_ONLY: &str =
    "applies to progressive releases (stepWeight or stepWeights) only, not to iterations";

const CANARY: &[Rule] = &[
    // spec
    rule_at(
        "spec",
        ".provider",
        "!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2'])",
        "is not supported by serin: the project is retired",
    ),
    rule_at(
        "spec",
        ".provider",
        "!(self.targetRef.kind == 'Service' && self.targetRef.apiVersion.startsWith('serving.knative.dev/')) || (has(self.provider) && self.provider == 'knative')",
        "must be knative for a Knative Service target",
    ),
    rule_at(
        "spec",
        ".targetRef.apiVersion",
        "self.targetRef.kind != 'Service' || self.targetRef.apiVersion == 'v1' || self.targetRef.apiVersion.startsWith('serving.knative.dev/')",
        "does not serve Service; use v1, or serving.knative.dev/v1 for a Knative Service",
    ),
    rule_at(
        "spec",
        ".service",
        "has(self.service) || !(self.targetRef.kind in ['Deployment', 'DaemonSet'])",
        "is required for a Deployment or DaemonSet target: its port is needed to generate the Services",
    ),
    rule("spec.targetRef.name", NOT_EMPTY, "must not be empty"),
    rule("spec.metricsServer", HTTP_URL, HTTP_URL_MESSAGE),
    rule(
        "spec.progressDeadlineSeconds",
        "self >= 1.0",
        "must be at least 1",
    ),
    // spec.service
    rule(
        "spec.service.port",
        "self >= 1.0 && self <= 65535.0",
        "must be between 1 and 65535",
    ),
    rule("spec.service.timeout", DURATION, DURATION_MESSAGE),
    rule("spec.service.timeout", NONZERO, "must be longer than zero"),
    rule("spec.service.backendTimeout", DURATION, DURATION_MESSAGE),
    rule(
        "spec.service.backendTimeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.service.retries.perTryTimeout",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.service.retries.perTryTimeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule_at(
        "spec.service.mirror[]",
        ".backendRef",
        "has(self.backendRef)",
        "is required",
    ),
    rule_at(
        "spec.service.mirror[]",
        ".backendRef.port",
        "!has(self.backendRef) || has(self.backendRef.port) || (has(self.backendRef.kind) && self.backendRef.kind != 'Service') || (has(self.backendRef.group) && self.backendRef.group != '')",
        "is required for a Service backend",
    ),
    // spec.autoscalerRef
    rule_at(
        "spec.autoscalerRef",
        ".apiVersion",
        "self.kind != 'HorizontalPodAutoscaler' || self.apiVersion.startsWith('autoscaling/v2')",
        "does not serve HorizontalPodAutoscaler; use autoscaling/v2",
    ),
    rule_at(
        "spec.autoscalerRef",
        ".apiVersion",
        "self.kind != 'ScaledObject' || self.apiVersion.startsWith('keda.sh/')",
        "does not serve ScaledObject; use keda.sh/v1alpha1",
    ),
    rule("spec.autoscalerRef.name", NOT_EMPTY, "must not be empty"),
    rule(
        "spec.autoscalerRef.primaryScalerReplicas",
        "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
        "minReplicas must not exceed maxReplicas",
    ),
    // spec.analysis
    rule(
        "spec.analysis",
        ONE_STRATEGY,
        "set exactly one of stepWeight, stepWeights or iterations",
    ),
    rule_at(
        "spec.analysis",
        ".interval",
        "has(self.interval)",
        "is required (for example 1m)",
    ),
    rule_at(
        "spec.analysis",
        ".threshold",
        "has(self.threshold)",
        "is required: the number of failed checks before rollback",
    ),
    rule_at(
        "spec.analysis",
        ".maxWeight",
        "!has(self.maxWeight) || ((!has(self.stepWeight) || self.stepWeight <= self.maxWeight) && (!has(self.stepWeights) || self.stepWeights.size() == 0 || self.stepWeights[0] <= self.maxWeight))",
        "must be at least the first step",
    ),
    rule_at(
        "spec.analysis",
        ".maxWeight",
        "!has(self.iterations) || !has(self.maxWeight)",
        PROGRESSIVE_ONLY,
    ),
    rule_at(
        "spec.analysis",
        ".stepWeightPromotion",
        "!has(self.iterations) || !has(self.stepWeightPromotion)",
        PROGRESSIVE_ONLY,
    ),
    rule_at(
        "spec.analysis",
        ".mirrorWeight",
        "!has(self.mirrorWeight) || (has(self.mirror) && self.mirror)",
        "has no effect unless spec.analysis.mirror is true",
    ),
    rule_at(
        "spec.analysis",
        ".mirror",
        "!(has(self.mirror) && self.mirror && has(self.iterations) && has(self.match) && self.match.size() > 0)",
        "cannot be combined with A/B testing (match)",
    ),
    rule_at(
        "spec.analysis",
        ".sessionAffinity",
        "!has(self.sessionAffinity) || !has(self.iterations) || has(self.stepWeight) || has(self.stepWeights)",
        "applies to progressive releases (stepWeight or stepWeights) only",
    ),
    rule("spec.analysis.interval", DURATION, DURATION_MESSAGE),
    rule(
        "spec.analysis.interval",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.threshold",
        "self >= 1.0",
        "must be at least 1 (Flagger silently treats 0 as 1)",
    ),
    rule(
        "spec.analysis.iterations",
        "self >= 1.0",
        "must be at least 1",
    ),
    rule("spec.analysis.stepWeight", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.maxWeight", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.stepWeightPromotion", WEIGHT, WEIGHT_MESSAGE),
    rule("spec.analysis.mirrorWeight", WEIGHT, WEIGHT_MESSAGE),
    rule(
        "spec.analysis.stepWeights",
        "self.size() > 0",
        "must list at least one weight",
    ),
    rule(
        "spec.analysis.stepWeights",
        "self.isSorted() && self.all(w, self.exists_one(v, v == w))",
        "must be strictly ascending: each weight greater than the step before it",
    ),
    rule("spec.analysis.stepWeights[]", WEIGHT, WEIGHT_MESSAGE),
    rule(
        "spec.analysis.primaryReadyThreshold",
        "self >= 0.0 && self <= 100.0",
        "must be between 0 and 100",
    ),
    rule(
        "spec.analysis.canaryReadyThreshold",
        "self >= 0.0 && self <= 100.0",
        "must be between 0 and 100",
    ),
    // spec.analysis.metrics
    rule(
        "spec.analysis.metrics",
        "self.all(m, self.exists_one(n, n.name == m.name))",
        "metric names must be unique",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!(has(self.templateRef) && has(self.query))",
        "set templateRef or query, not both",
    ),
    rule(
        "spec.analysis.metrics[]",
        "has(self.templateRef) || has(self.query) || self.name in ['request-success-rate', 'request-duration']",
        "is not a built-in metric (request-success-rate, request-duration); give it a templateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "has(self.thresholdRange) || has(self.threshold) || has(self.comparison)",
        "needs thresholdRange (min, max or both) or a comparison to judge the value against",
    ),
    rule(
        "spec.analysis.metrics[].name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].interval",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.metrics[].interval",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.metrics[].templateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].thresholdRange",
        "has(self.min) || has(self.max)",
        "set min, max or both",
    ),
    rule(
        "spec.analysis.metrics[].thresholdRange",
        "!has(self.min) || !has(self.max) || self.min <= self.max",
        "min must not be greater than max",
    ),
    // spec.analysis.metrics[].comparison
    rule_at(
        "spec.analysis",
        ".metrics",
        "!has(self.match) || self.match.size() == 0 || !has(self.metrics) || self.metrics.all(m, !has(m.comparison))",
        "comparison cannot be combined with A/B testing (match): its traffic is not a random split",
    ),
    rule_at(
        "spec",
        ".analysis.metrics",
        "!has(self.provider) || self.provider != 'knative' || !has(self.analysis.metrics) || self.analysis.metrics.all(m, !has(m.comparison) || has(m.comparison.requestsTemplateRef) || has(m.templateRef) || has(m.query))",
        "knative has no per-revision selector in the built-in metrics; set requestsTemplateRef and errorsTemplateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || has(self.comparison.requestsTemplateRef) || (!has(self.templateRef) && !has(self.query))",
        "a comparison of a metric other than the built-in ones needs requestsTemplateRef and errorsTemplateRef",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || !has(self.comparison.slowerThan) || (self.name == 'request-duration' && !has(self.templateRef) && !has(self.query) && !has(self.comparison.requestsTemplateRef))",
        "comparison.slowerThan applies to the built-in request-duration metric only",
    ),
    rule(
        "spec.analysis.metrics[]",
        "!has(self.comparison) || self.name != 'request-duration' || has(self.templateRef) || has(self.query) || has(self.comparison.slowerThan) || has(self.comparison.requestsTemplateRef)",
        "comparison needs slowerThan for request-duration: the latency above which a request counts as an error",
    ),
    rule(
        "spec.analysis.metrics[].comparison",
        "has(self.requestsTemplateRef) == has(self.errorsTemplateRef)",
        "set requestsTemplateRef and errorsTemplateRef together",
    ),
    rule_at(
        "spec.analysis.metrics[].comparison",
        ".margin",
        "!has(self.margin) || !has(self.sides) || self.sides != 'TwoSided'",
        "applies to OneSided comparisons only",
    ),
    rule(
        "spec.analysis.metrics[].comparison.alpha",
        "self >= 0.000001 && self <= 0.2",
        "must be between 0.000001 and 0.2",
    ),
    rule(
        "spec.analysis.metrics[].comparison.margin",
        "self >= 1.0 && self <= 1000.0",
        "must be between 1 and 1000",
    ),
    rule(
        "spec.analysis.metrics[].comparison.slowerThan",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.metrics[].comparison.slowerThan",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.metrics[].comparison.requestsTemplateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.metrics[].comparison.errorsTemplateRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    // spec.analysis.webhooks, alerts, sessionAffinity
    rule(
        "spec.analysis.webhooks",
        "self.all(h, self.exists_one(g, g.name == h.name))",
        "webhook names must be unique",
    ),
    rule(
        "spec.analysis.webhooks[].name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule("spec.analysis.webhooks[].url", HTTP_URL, HTTP_URL_MESSAGE),
    rule(
        "spec.analysis.webhooks[].timeout",
        DURATION,
        DURATION_MESSAGE,
    ),
    rule(
        "spec.analysis.webhooks[].timeout",
        NONZERO,
        "must be longer than zero",
    ),
    rule(
        "spec.analysis.webhooks[].timeout",
        "!self.matches(\"^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$\") || duration(self) <= duration('5m')",
        "must be at most 5m",
    ),
    rule(
        "spec.analysis.webhooks[].retries",
        "self >= 0.0 && self <= 10.0",
        "must be at most 10",
    ),
    rule(
        "spec.analysis.alerts[].providerRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
    rule(
        "spec.analysis.sessionAffinity.cookieName",
        COOKIE,
        "is not a valid cookie name",
    ),
    rule(
        "spec.analysis.sessionAffinity.primaryCookieName",
        COOKIE,
        "is not a valid cookie name",
    ),
    rule_at(
        "spec.analysis.sessionAffinity",
        ".primaryCookieName",
        "!has(self.primaryCookieName) || self.primaryCookieName != self.cookieName",
        "must differ from cookieName",
    ),
    rule(
        "spec.analysis.sessionAffinity.maxAge",
        "self >= 1.0",
        "must be at least 1 second",
    ),
];

const METRIC_TEMPLATE: &[Rule] = &[
    rule("spec.query", NOT_EMPTY, "must not be empty"),
    rule(
        "spec.query",
        r#"!self.matches("[{][{]-?\\s*(if|else|end|range|with|define|template|block|break|continue)\\b")"#,
        "control structures (if, range, with, define, template, ...) are not allowed: query templates allow only values",
    ),
    rule_at(
        "spec.provider",
        ".address",
        r#"self.type != "prometheus" || !has(self.address) || self.address.matches("^[hH][tT][tT][pP][sS]?://[^\\s/?#]+([/?#][^\\s]*)?$")"#,
        HTTP_URL_MESSAGE,
    ),
    rule(
        "spec.provider.secretRef.name",
        NOT_EMPTY,
        "must not be empty",
    ),
];

const ALERT_PROVIDER: &[Rule] = &[
    rule(
        "spec",
        "has(self.address) || has(self.secretRef)",
        "set address or secretRef: where to send the alerts",
    ),
    rule("spec.address", HTTP_URL, HTTP_URL_MESSAGE),
    rule("spec.proxy", HTTP_URL, HTTP_URL_MESSAGE),
    rule("spec.secretRef.name", NOT_EMPTY, "must not be empty"),
];

/// Bounds on the lists and strings the rules read: the API server refuses a CRD whose rules'
/// estimated cost is unbounded. Each is far above what a manifest uses.
const BOUNDS: &[(&str, &str, &str, u64)] = &[
    ("Canary", "spec.analysis.stepWeights", "maxItems", 100),
    ("Canary", "spec.analysis.metrics", "maxItems", 100),
    ("Canary", "spec.analysis.webhooks", "maxItems", 100),
    ("Canary", "spec.analysis.alerts", "maxItems", 100),
    ("Canary", "spec.analysis.match", "maxItems", 100),
    ("Canary", "spec.service.mirror", "maxItems", 100),
    ("Canary", "spec.analysis.interval", "maxLength", 64),
    (
        "Canary",
        "spec.analysis.metrics[].interval",
        "maxLength",
        64,
    ),
    ("Canary", "spec.analysis.metrics[].name", "maxLength", 253),
    (
        "Canary",
        "spec.analysis.metrics[].templateRef.name",
        "maxLength",
        253,
    ),
    (
        "Canary",
        "spec.analysis.metrics[].comparison.slowerThan",
        "maxLength",
        64,
    ),
    (
        "Canary",
        "spec.analysis.metrics[].comparison.requestsTemplateRef.name",
        "maxLength",
        253,
    ),
    (
        "Canary",
        "spec.analysis.metrics[].comparison.errorsTemplateRef.name",
        "maxLength",
        253,
    ),
    ("Canary", "spec.analysis.webhooks[].name", "maxLength", 253),
    ("Canary", "spec.analysis.webhooks[].url", "maxLength", 2048),
    (
        "Canary",
        "spec.analysis.webhooks[].timeout",
        "maxLength",
        64,
    ),
    (
        "Canary",
        "spec.analysis.alerts[].providerRef.name",
        "maxLength",
        253,
    ),
    (
        "Canary",
        "spec.analysis.sessionAffinity.cookieName",
        "maxLength",
        256,
    ),
    (
        "Canary",
        "spec.analysis.sessionAffinity.primaryCookieName",
        "maxLength",
        256,
    ),
    ("Canary", "spec.targetRef.name", "maxLength", 253),
    ("Canary", "spec.autoscalerRef.name", "maxLength", 253),
    ("Canary", "spec.metricsServer", "maxLength", 2048),
    ("Canary", "spec.service.timeout", "maxLength", 64),
    ("Canary", "spec.service.backendTimeout", "maxLength", 64),
    (
        "Canary",
        "spec.service.retries.perTryTimeout",
        "maxLength",
        64,
    ),
    ("MetricTemplate", "spec.query", "maxLength", 16384),
    ("MetricTemplate", "spec.provider.address", "maxLength", 2048),
    (
        "MetricTemplate",
        "spec.provider.secretRef.name",
        "maxLength",
        253,
    ),
    ("AlertProvider", "spec.address", "maxLength", 2048),
    ("AlertProvider", "spec.proxy", "maxLength", 2048),
    ("AlertProvider", "spec.secretRef.name", "maxLength", 253),
];

/// The rules of a kind.
fn rules_of(kind: &str) -> &'static [Rule] {
    match kind {
        "Canary" => CANARY,
        "MetricTemplate" => METRIC_TEMPLATE,
        "AlertProvider" => ALERT_PROVIDER,
        _ => &[],
    }
}

/// The schema node at `path` (`spec.analysis.metrics[].interval`) under an `openAPIV3Schema`.
fn node<'a>(root: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut at = root;
    for segment in path.split('.') {
        let (name, items) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        at = at.get_mut("properties")?.get_mut(name)?;
        if items {
            at = at.get_mut("items")?;
        }
    }
    Some(at)
}

/// Adds the admission rules and bounds of `kind` to its `openAPIV3Schema`. Fails, naming the
/// path, when a rule points at a field the schema does not have.
pub(crate) fn add_rules(kind: &str, schema: &mut Value) -> Result<(), String> {
    for r in rules_of(kind) {
        let mut entry = serde_json::json!({ "rule": r.expression, "message": r.message });
        if let Some(path) = r.field_path {
            entry["fieldPath"] = Value::from(path);
        }
        push_rule(kind, schema, r.at, entry)?;
    }
    if kind == "Canary" {
        for g in routing::rules() {
            let entry = serde_json::json!({ "rule": g.rule, "message": g.message,
                "messageExpression": g.message_expression, "fieldPath": g.field_path });
            push_rule(kind, schema, g.at, entry)?;
        }
    }
    for (bounded, path, keyword, value) in BOUNDS {
        if *bounded == kind {
            let at = node(schema, path).ok_or_else(|| format!("{kind}: no field {path}"))?;
            at[*keyword] = Value::from(*value);
        }
    }
    Ok(())
}

fn push_rule(kind: &str, schema: &mut Value, at: &str, entry: Value) -> Result<(), String> {
    let node = node(schema, at).ok_or_else(|| format!("{kind}: no field {at}"))?;
    let list = node
        .as_object_mut()
        .ok_or_else(|| format!("{kind}: {at} is not a schema"))?
        .entry("x-kubernetes-validations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = list.as_array_mut() {
        list.push(entry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_and_bound_points_at_a_field_of_the_generated_schema() {
        // crds() panics otherwise; this names the broken path.
        for crd in crate::crds() {
            let crd = serde_json::to_value(crd).unwrap();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
            let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
            let count = serde_json::to_string(schema)
                .unwrap()
                .matches("\"rule\"")
                .count();
            let generated = if kind == "Canary" {
                routing::rules().len()
            } else {
                0
            };
            assert_eq!(count, rules_of(&kind).len() + generated, "{kind}");
        }
    }
}
