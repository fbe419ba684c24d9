//! The APISIX ingress controller's status on `ApisixRoutes`: a `ResourcesAvailable` condition
//! with reason `ResourcesSynced` at the current generation, as the controller writes once it
//! has pushed a route to APISIX.

use serde_json::{Value, json};

use super::snapshot::{Kind, Snapshot};
use super::status_writer::StatusWriter;

/// Writes `ApisixRoute` status when it differs from what the controller would report.
#[derive(Debug, Default)]
pub(crate) struct ApisixController(StatusWriter);

fn status(route: &Value) -> Value {
    json!({"conditions": [{
        "type": "ResourcesAvailable",
        "status": "True",
        "reason": "ResourcesSynced",
        "message": "Sync Successfully",
        "observedGeneration": route["metadata"]["generation"],
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }]})
}

impl ApisixController {
    /// Updates the status of every `ApisixRoute` whose status is missing or stale.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        snapshot: &Snapshot,
    ) -> Result<(), kube::Error> {
        self.0
            .step(client, Kind::ApisixRoute, &snapshot.apisixroutes, status)
            .await
    }
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
