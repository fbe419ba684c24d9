//! An upper bound on what evaluating a schema's CEL rules on one object costs, computed before
//! any rule runs, so that a hostile object cannot make the emulator spin (the API server has a
//! per-request cost budget for the same reason).
//!
//! A rule costs its length times `(n + 1)^k`, where `n` is the size of the value it is bound to
//! (its elements, fields and string bytes, counted through the whole subtree) and `k` the number
//! of comprehension macros (`all`, `exists`, `exists_one`, `map`, `filter`) it contains: each
//! comprehension can at most visit every element once per enclosing one.

use serde_json::Value;

const MACROS: [&str; 5] = [".all(", ".exists(", ".exists_one(", ".map(", ".filter("];

/// The cost bound of every rule of `schema` on `object`, saturating.
pub(crate) fn estimate(schema: &Value, object: &Value) -> u64 {
    let mut total = 0_u64;
    walk(schema, object, &mut total);
    total
}

/// Visits `value` under `schema`, adds the rules' cost to `total`, returns the value's size.
fn walk(schema: &Value, value: &Value, total: &mut u64) -> u64 {
    let size = match value {
        Value::Array(items) => items.iter().fold(1_u64, |acc, item| {
            acc.saturating_add(walk(&schema["items"], item, total))
        }),
        Value::Object(map) => map.iter().fold(1_u64, |acc, (name, field)| {
            let child = schema["properties"]
                .get(name)
                .unwrap_or(&schema["additionalProperties"]);
            acc.saturating_add(walk(child, field, total))
        }),
        Value::String(s) => 1 + s.len() as u64,
        _ => 1,
    };
    for rule in schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let text = |k: &str| rule[k].as_str().unwrap_or_default();
        for expression in [text("rule"), text("messageExpression")] {
            *total = total.saturating_add(rule_cost(expression, size));
        }
    }
    size
}

fn rule_cost(expression: &str, size: u64) -> u64 {
    let nesting = MACROS
        .iter()
        .map(|m| expression.matches(m).count())
        .sum::<usize>();
    let per_pass = (size + 1).saturating_pow(u32::try_from(nesting).unwrap_or(u32::MAX));
    (expression.len() as u64).saturating_mul(per_pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_comprehensions_over_a_long_list_cost_quadratically() {
        let schema = json!({"type": "array", "items": {"type": "integer"},
            "x-kubernetes-validations": [{"rule": "self.all(x, self.exists(y, y == x))"}]});
        let short = estimate(&schema, &json!([1, 2, 3]));
        let long = estimate(&schema, &json!((0..10_000).collect::<Vec<u32>>()));
        assert!(short < 1_000, "{short}");
        assert!(long > crate::schema::COST_BUDGET, "{long}");
        let flat = json!({"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]});
        assert_eq!(estimate(&flat, &json!(5)), 8);
    }
}
