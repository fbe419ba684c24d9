//! The APISIX ingress controller's status on `ApisixRoutes`: a `ResourcesAvailable` condition
//! with reason `ResourcesSynced` at the current generation, as the controller writes once it
//! has pushed a route to APISIX.

use serde_json::{Value, json};

/// The status the controller reports on `object`.
pub(crate) fn status(route: &Value) -> Value {
    json!({"conditions": [{
        "type": "ResourcesAvailable",
        "status": "True",
        "reason": "ResourcesSynced",
        "message": "Sync Successfully",
        "observedGeneration": route["metadata"]["generation"],
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_controller_reports_the_current_generation_synced() {
        let synced = status(&json!({"metadata": {"generation": 3}}));
        assert_eq!(synced["conditions"][0]["reason"], "ResourcesSynced");
        assert_eq!(synced["conditions"][0]["observedGeneration"], 3);
    }
}
