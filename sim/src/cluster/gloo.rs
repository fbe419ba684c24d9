//! Gloo's status on `RouteTables`: one reporter (the gateway in `gloo-system`) accepting the
//! table, as Gloo Edge writes it (in the object: the CRD has no status subresource). A RouteTable annotated
//! `sim.serin.dev/gloo-status: rejected` is rejected instead.

use serde_json::{Value, json};

use super::snapshot::{Kind, Snapshot};
use super::status_writer::StatusWriter;

/// The annotation that makes Gloo reject one RouteTable.
pub const STATUS_ANNOTATION: &str = "sim.serin.dev/gloo-status";

/// Writes RouteTable status when it differs from what Gloo would report.
#[derive(Debug, Default)]
pub(crate) struct Gloo(StatusWriter);

fn status(table: &Value) -> Value {
    let rejected = table["metadata"]["annotations"][STATUS_ANNOTATION] == "rejected";
    let mut reporter = json!({
        "state": if rejected { "Rejected" } else { "Accepted" },
        "reportedBy": "gateway",
    });
    if rejected {
        reporter["reason"] = json!("simulated rejection");
    }
    json!({"statuses": {"gloo-system": reporter}})
}

impl Gloo {
    /// Updates the status of every RouteTable whose status is missing or stale.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        snapshot: &Snapshot,
    ) -> Result<(), kube::Error> {
        self.0
            .step(client, Kind::RouteTable, &snapshot.routetables, status)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gloo_accepts_the_table_unless_told_otherwise() {
        let table = |annotation: Option<&str>| json!({"metadata": {"generation": 4, "annotations": {STATUS_ANNOTATION: annotation}}});
        let ok = &status(&table(None))["statuses"]["gloo-system"];
        assert_eq!(
            (ok["state"].as_str(), ok["observedGeneration"].as_i64()),
            (Some("Accepted"), Some(4))
        );
        let refused = &status(&table(Some("rejected")))["statuses"]["gloo-system"];
        assert_eq!(refused["state"], "Rejected");
        assert_eq!(refused["reason"], "simulated rejection");
    }
}
