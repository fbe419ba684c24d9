//! Admission of custom resources against their CRD version's `openAPIV3Schema`, as the API server
//! does it: the structural checks first, then the `x-kubernetes-validations` CEL rules (evaluated
//! by kube-cel, with `oldSelf` on updates), under a cost bound. Pure: no store, no I/O.
//!
//! On updates an error the stored object already has is not held against the write (the API
//! server's validation ratcheting), so a controller can still write the status of, or remove a
//! finalizer from, an object that was stored before a stricter CRD was applied.

mod cost;
mod structural;

use serde_json::Value;

use crate::error::Cause;
use structural::{Patterns, type_name};

/// The evaluation budget of one write, in the units of [`cost::estimate`]. The estimate is a loose
/// upper bound (a rule's length times the size of its subtree to the power of its nested
/// comprehensions), so the budget is set well above what real objects reach: an HTTPRoute with
/// A/B matches, mirroring and session affinity under the upstream Gateway API rules estimates
/// at about 1.1e7, while an evaluation of 1e9 units runs in well under a second.
pub const COST_BUDGET: u64 = 1_000_000_000;

/// The compiled schema of one CRD version.
pub struct SchemaValidator {
    schema: Value,
    compiled: kube_cel::CompiledSchema,
    patterns: Patterns,
    has_rules: bool,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("has_rules", &self.has_rules)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SchemaValidator {
    fn eq(&self, other: &Self) -> bool {
        self.schema == other.schema
    }
}

impl Eq for SchemaValidator {}

impl SchemaValidator {
    /// Compiles a version's `openAPIV3Schema`; `None` for a schema that checks nothing
    /// (`x-kubernetes-preserve-unknown-fields` at the root with no properties).
    pub fn new(schema: &Value) -> Option<Self> {
        let open = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            && schema.get("properties").is_none()
            && schema.get("x-kubernetes-validations").is_none();
        if open || !schema.is_object() {
            return None;
        }
        Some(Self {
            schema: schema.clone(),
            compiled: kube_cel::compile_schema(schema),
            patterns: Patterns::default(),
            has_rules: serde_json::to_string(schema)
                .is_ok_and(|s| s.contains("x-kubernetes-validations")),
        })
    }

    /// Every problem of `object`; on an update (`old` given) those `old` has too are left out.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<Cause> {
        let causes = self.problems(object, old);
        match old {
            Some(old) if !causes.is_empty() => {
                let before = self.problems(old, None);
                causes.into_iter().filter(|c| !before.contains(c)).collect()
            }
            _ => causes,
        }
    }

    fn problems(&self, object: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = Vec::new();
        structural::check(object, &self.schema, "", &self.patterns, &mut causes);
        // As on the API server, the rules see only objects of the declared shape: a list longer
        // than its maxItems could otherwise make them arbitrarily expensive.
        if !causes.is_empty() || !self.has_rules {
            return causes;
        }
        let cost = cost::estimate(&self.schema, object);
        if cost > COST_BUDGET {
            causes.push(Cause {
                reason: "FieldValueForbidden",
                field: String::new(),
                message: format!(
                    "Forbidden: evaluating the validation rules of this object would cost about \
                     {cost}, over the budget of {COST_BUDGET}; no rule was evaluated"
                ),
            });
            return causes;
        }
        if let Err(errors) = kube_cel::validate_compiled(&self.compiled, object, old) {
            causes.extend(errors.iter().filter_map(|e| rule_cause(e, object)));
        }
        causes
    }
}

/// The cause of one failed rule. Rules the emulator cannot evaluate (a function or macro kube-cel
/// lacks, a rule that does not compile) are skipped: a real API server would have refused such a
/// CRD, or evaluates the rule.
fn rule_cause(error: &kube_cel::ValidationError, object: &Value) -> Option<Cause> {
    use kube_cel::ErrorKind;
    match error.kind {
        ErrorKind::ValidationFailure | ErrorKind::InvalidResult | ErrorKind::EvaluationError => {}
        _ => return None,
    }
    let reason = match error.reason.as_deref() {
        Some("FieldValueForbidden") => "FieldValueForbidden",
        Some("FieldValueRequired") => "FieldValueRequired",
        Some("FieldValueDuplicate") => "FieldValueDuplicate",
        _ => "FieldValueInvalid",
    };
    let shown = value_at(object, &error.field_path).map_or("object", type_name);
    let label = match reason {
        "FieldValueForbidden" => "Forbidden".to_owned(),
        "FieldValueRequired" => "Required value".to_owned(),
        "FieldValueDuplicate" => format!("Duplicate value: \"{shown}\""),
        _ => format!("Invalid value: \"{shown}\""),
    };
    Some(Cause {
        reason,
        field: error.field_path.clone(),
        message: format!("{label}: {}", error.message),
    })
}

/// The value at a field path such as `spec.analysis.stepWeights[1]`.
fn value_at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut value = object;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (name, indices) = segment.split_once('[').unwrap_or((segment, ""));
        if !name.is_empty() {
            value = value.get(name)?;
        }
        for index in indices.split('[').filter(|i| !i.is_empty()) {
            value = value.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "!has(self.max) || self.min <= self.max",
                "message": "min must not be greater than max", "fieldPath": ".min"}],
            "properties": {
                "min": {"type": "number"},
                "max": {"type": "number"},
                "steps": {"type": "array", "maxItems": 10, "items": {"type": "number",
                    "x-kubernetes-validations": [{"rule": "self >= 1.0", "message": "must be at least 1"}]}},
                "name": {"type": "string", "x-kubernetes-validations": [
                    {"rule": "self == oldSelf", "message": "is immutable"}]}}}}})
    }

    #[test]
    fn rules_name_the_field_and_say_what_is_wrong() {
        let v = SchemaValidator::new(&schema()).unwrap();
        let object = json!({"spec": {"min": 5, "max": 1, "steps": [1, 0]}});
        let causes = v.validate(&object, None);
        let shown: Vec<(&str, &str)> = causes
            .iter()
            .map(|c| (c.field.as_str(), c.message.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "spec.min",
                    "Invalid value: \"integer\": min must not be greater than max"
                ),
                (
                    "spec.steps[1]",
                    "Invalid value: \"integer\": must be at least 1"
                ),
            ]
        );
        assert!(
            v.validate(&json!({"spec": {"min": 1, "max": 5}}), None)
                .is_empty()
        );
    }

    #[test]
    fn transition_rules_see_the_stored_object_and_old_errors_do_not_block_updates() {
        let v = SchemaValidator::new(&schema()).unwrap();
        let old = json!({"spec": {"name": "a", "min": 5, "max": 1}});
        let renamed = json!({"spec": {"name": "b", "min": 5, "max": 1}});
        let causes = v.validate(&renamed, Some(&old));
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec.name");
        let status_only = json!({"spec": {"name": "a", "min": 5, "max": 1}, "status": {}});
        assert!(v.validate(&status_only, Some(&old)).is_empty());
    }

    #[test]
    fn structural_errors_come_first_and_long_lists_are_not_evaluated() {
        let v = SchemaValidator::new(&schema()).unwrap();
        let long = json!({"spec": {"steps": vec![0; 11]}});
        let causes = v.validate(&long, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].reason, "FieldValueTooMany");
    }

    #[test]
    fn a_hostile_object_is_refused_by_the_cost_bound_without_evaluating() {
        let quadratic = json!({"type": "object", "properties": {"items": {"type": "array",
            "items": {"type": "integer"},
            "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x != y || x == y))"}]}}});
        let v = SchemaValidator::new(&quadratic).unwrap();
        let object = json!({"items": (0..20_000).collect::<Vec<u32>>()});
        let causes = v.validate(&object, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].reason, "FieldValueForbidden");
        assert!(
            causes[0].message.contains("budget"),
            "{}",
            causes[0].message
        );
        let small = json!({"items": [1, 2, 3]});
        assert!(v.validate(&small, None).is_empty());
    }

    #[test]
    fn value_at_follows_fields_and_indices() {
        let object = json!({"spec": {"a": [{"b": 1}, {"b": 2}]}});
        assert_eq!(value_at(&object, "spec.a[1].b"), Some(&json!(2)));
        assert_eq!(value_at(&object, "spec.c"), None);
    }
}
