//! The admission rules of the generated CRDs: CEL `x-kubernetes-validations` for every check of
//! `serin lint` that can be said about one object, added to the schemas after generation, with
//! the `maxItems`/`maxLength` bounds the API server's cost estimator needs for them.
//!
//! Each rule sits on the narrowest schema node that sees the fields it reads, so the API server
//! names the field; a rule that reads siblings names the field with `fieldPath`. Messages use the
//! words of `serin lint` (see `validation/`). Rules that need other objects (a MetricTemplate that
//! exists, the variables a template uses) or the query-template parser stay in the controller;
//! `docs/lint.md` lists both kinds.

mod canary;
mod routing;

use canary::CANARY;

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
