//! Gloo's status on `RouteTables`: one reporter (the gateway in `gloo-system`) accepting the
//! table, as Gloo Edge writes it (in the object: the CRD has no status subresource). A RouteTable annotated
//! `sim.serin.dev/gloo-status: rejected` is rejected instead.

use serde_json::{Value, json};

/// The annotation that makes Gloo reject one RouteTable.
pub const STATUS_ANNOTATION: &str = "sim.serin.dev/gloo-status";

/// The status the controller reports on `object`.
pub(crate) fn status(table: &Value) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gloo_accepts_the_table_unless_told_otherwise() {
        let table = |annotation: Option<&str>| json!({"metadata": {"generation": 4, "annotations": {STATUS_ANNOTATION: annotation}}});
        let ok = &status(&table(None))["statuses"]["gloo-system"];
        assert_eq!(ok["state"], "Accepted");
        assert_eq!(ok["reportedBy"], "gateway");
        let refused = &status(&table(Some("rejected")))["statuses"]["gloo-system"];
        assert_eq!(refused["state"], "Rejected");
        assert_eq!(refused["reason"], "simulated rejection");
    }
}
