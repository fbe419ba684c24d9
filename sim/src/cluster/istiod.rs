//! istiod's status on VirtualServices, as istiod writes it with `PILOT_ENABLE_STATUS=true`:
//! `observedGeneration` and a `Reconciled` condition once the proxies have the configuration.
//! Off unless [`SimConfig::istio_status`](super::SimConfig::istio_status) is set.
//!
//! A VirtualService annotated `sim.serin.dev/istio-status` gets another status: `propagating`
//! keeps it not reconciled (`stillPropagating`), `invalid` reports a validation error.

use serde_json::{Value, json};

/// The annotation that chooses the status of one VirtualService.
pub const STATUS_ANNOTATION: &str = "sim.serin.dev/istio-status";

/// The status the controller reports on `object`.
pub(crate) fn status(vs: &Value) -> Value {
    let generation = vs["metadata"]["generation"].clone();
    let wanted = vs["metadata"]["annotations"][STATUS_ANNOTATION].as_str();
    let reconciled = |ok: bool, reason: &str, message: &str| {
        json!([{"type": "Reconciled", "status": if ok { "True" } else { "False" },
                "reason": reason, "message": message}])
    };
    match wanted {
        Some("propagating") => json!({
            "observedGeneration": generation,
            "conditions": reconciled(false, "stillPropagating", "1/2 proxies up to date"),
        }),
        Some("invalid") => json!({
            "observedGeneration": generation,
            "validationMessages": [{"level": "ERROR", "type": {"code": "IST0101", "name": "ReferencedResourceNotFound"}}],
            "conditions": reconciled(false, "invalid", ""),
        }),
        _ => json!({
            "observedGeneration": generation,
            "conditions": reconciled(true, "", "2/2 proxies up to date"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istiod_reports_the_generation_reconciled_unless_told_otherwise() {
        let vs = |annotation: Option<&str>| json!({"metadata": {"generation": 4, "annotations": {STATUS_ANNOTATION: annotation}}});
        let ok = status(&vs(None));
        assert_eq!(ok["observedGeneration"], 4);
        assert_eq!(ok["conditions"][0]["status"], "True");
        assert_eq!(
            status(&vs(Some("propagating")))["conditions"][0]["reason"],
            "stillPropagating"
        );
        assert_eq!(
            status(&vs(Some("invalid")))["validationMessages"][0]["level"],
            "ERROR"
        );
    }
}
