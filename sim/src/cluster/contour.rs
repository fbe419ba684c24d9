//! Contour's status on `HTTPProxies`: `currentStatus: valid` and a `Valid` condition at the
//! current generation, as Contour writes for a proxy it accepted (the simulation takes every
//! proxy as included from a root). A proxy annotated `sim.serin.dev/contour-status: invalid`
//! is reported invalid instead.

use serde_json::{Value, json};

/// The annotation that makes Contour refuse one HTTPProxy.
pub const STATUS_ANNOTATION: &str = "sim.serin.dev/contour-status";

/// The status the controller reports on `object`.
pub(crate) fn status(proxy: &Value) -> Value {
    let generation = proxy["metadata"]["generation"].clone();
    let invalid = proxy["metadata"]["annotations"][STATUS_ANNOTATION] == "invalid";
    let (current, description) = if invalid {
        (
            "invalid",
            "At least one error present, see Errors for details",
        )
    } else {
        ("valid", "Valid HTTPProxy")
    };
    let mut condition = json!({
        "type": "Valid",
        "status": if invalid { "False" } else { "True" },
        "reason": if invalid { "ErrorPresent" } else { "Valid" },
        "message": description,
        "observedGeneration": generation,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    });
    if invalid {
        condition["errors"] = json!([{"type": "ServiceError", "reason": "ServiceUnresolvedReference",
                                       "status": "True", "message": "simulated refusal"}]);
    }
    json!({"currentStatus": current, "description": description, "conditions": [condition]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contour_reports_the_generation_valid_unless_told_otherwise() {
        let proxy = |annotation: Option<&str>| json!({"metadata": {"generation": 4, "annotations": {STATUS_ANNOTATION: annotation}}});
        let ok = status(&proxy(None));
        assert_eq!(ok["currentStatus"], "valid");
        assert_eq!(ok["conditions"][0]["observedGeneration"], 4);
        let refused = status(&proxy(Some("invalid")));
        assert_eq!(refused["currentStatus"], "invalid");
        assert_eq!(refused["conditions"][0]["status"], "False");
    }
}
