//! The Knative router (`knative`): the Canary's target, a Knative Service, routes its own
//! revisions. Its `spec.traffic` gets the canary's share on the latest revision and the rest on
//! the primary revision (named in the `flagger.app/primary-revision` annotation), as Flagger
//! writes it: `[{latestRevision: true, percent: C}, {revisionName: <primary>, percent: P}]`.
//!
//! Serin's field manager owns only `spec.traffic` (the annotation is written by the workload
//! adapter with a merge patch), and no owner reference is set: the Service is the user's. The
//! split counts as live only once Knative programmed it: `status.traffic` holds the same
//! shares, for the current generation, with `RoutesReady` true.

use serde_json::{Value, json};
use serin_crds::validation::{RoutingSpec, Weight};
use serin_decide::Routes;

use super::{
    DesiredObject, KNATIVE_SERVICE, KindUse, ObjectKey, RouteInput, RouteObservation, Router,
    RouterError, TrafficSplit,
};
use crate::workloads::KnativeService;

/// The Knative router.
#[derive(Clone, Copy, Debug)]
pub struct Knative;

const KINDS: &[KindUse] = &[KindUse::write(KNATIVE_SERVICE)];

fn service_key(namespace: &str, routing: &RoutingSpec) -> ObjectKey {
    ObjectKey {
        kind: KNATIVE_SERVICE,
        namespace: namespace.to_owned(),
        name: routing.target.clone(),
    }
}

/// The primary revision of `service`: the annotation, or before it is written (the tick that
/// writes it) the latest created revision, which is what it will name.
fn primary_revision(service: &KnativeService) -> Option<&str> {
    service
        .primary_revision()
        .or_else(|| service.latest_created())
}

impl Router for Knative {
    fn name(&self) -> &'static str {
        "knative"
    }

    fn kinds(&self) -> &'static [KindUse] {
        KINDS
    }

    fn references(&self, namespace: &str, routing: &RoutingSpec) -> Vec<ObjectKey> {
        vec![service_key(namespace, routing)]
    }

    fn desired_routes(
        &self,
        input: &RouteInput<'_>,
        split: &TrafficSplit,
    ) -> Result<Vec<DesiredObject>, RouterError> {
        let key = service_key(input.namespace, input.routing);
        let Some(service) = input.referenced(&key) else {
            return Err(RouterError::ReferenceMissing {
                kind: KNATIVE_SERVICE.qualified(),
                name: key.name,
                field: "spec.targetRef",
            });
        };
        let service =
            KnativeService::from_value(service).map_err(|e| RouterError::Inexpressible {
                field: "spec.targetRef".into(),
                message: format!("the Knative Service cannot be read: {e}"),
            })?;
        let canary = split.routes.canary;
        // Before Knative created any revision there is nothing to split: all to the latest.
        let traffic = match primary_revision(&service) {
            Some(primary) => json!([
                {"latestRevision": true, "percent": canary.get()},
                {"revisionName": primary, "percent": canary.complement().get()},
            ]),
            None => json!([{"latestRevision": true, "percent": 100}]),
        };
        Ok(vec![traffic_object(input.namespace, &key.name, &traffic)])
    }

    fn observe(&self, input: &RouteInput<'_>, observed: &[Value]) -> RouteObservation {
        let name = input.routing.target.as_str();
        let Some(value) = observed
            .iter()
            .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == name)
        else {
            return RouteObservation::Missing;
        };
        let Ok(service) = KnativeService::from_value(value) else {
            return RouteObservation::Rejected {
                reason: format!("the Knative Service {name} cannot be read"),
            };
        };
        observe_service(&service)
    }

    fn finalize(&self, input: &RouteInput<'_>, observed: &[Value]) -> Vec<DesiredObject> {
        // Knative's own default: everything to the latest ready revision.
        let name = &input.routing.target;
        if !observed
            .iter()
            .any(|o| o["metadata"]["name"] == name.as_str())
        {
            return Vec::new();
        }
        let traffic = json!([{"latestRevision": true, "percent": 100}]);
        vec![traffic_object(input.namespace, name, &traffic)]
    }
}

/// The Knative Service `name` with only `spec.traffic`, as serin applies it.
fn traffic_object(namespace: &str, name: &str, traffic: &Value) -> DesiredObject {
    DesiredObject {
        kind: KNATIVE_SERVICE,
        name: name.to_owned(),
        object: json!({
            "apiVersion": KNATIVE_SERVICE.api_version(),
            "kind": KNATIVE_SERVICE.kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"traffic": traffic},
        }),
    }
}

/// What a Knative Service says of its split: live once `status.traffic` matches `spec.traffic`
/// for the generation Knative reconciled and its routes are ready.
fn observe_service(service: &KnativeService) -> RouteObservation {
    let Some(primary) = primary_revision(service) else {
        return RouteObservation::Pending {
            reason: "Knative has not created a revision yet".into(),
        };
    };
    if !service.observed_current() {
        return RouteObservation::Pending {
            reason: format!(
                "Knative has not reconciled generation {} yet",
                service.metadata.generation.unwrap_or(0)
            ),
        };
    }
    if let Some(routes) = service.condition("RoutesReady")
        && routes.status != "True"
    {
        let why = routes
            .message
            .clone()
            .unwrap_or_else(|| format!("RoutesReady is {}", routes.status));
        return if routes.status == "False" {
            RouteObservation::Rejected { reason: why }
        } else {
            RouteObservation::Pending { reason: why }
        };
    }
    let wanted = KnativeService::shares(&service.spec.traffic, Some(primary));
    let programmed = KnativeService::shares(&service.status.traffic, Some(primary));
    if wanted != programmed {
        return RouteObservation::Pending {
            reason: format!(
                "Knative has not programmed the split yet (status.traffic: {} primary, {} latest)",
                programmed.primary, programmed.latest
            ),
        };
    }
    let canary = u32::try_from(programmed.latest).ok().and_then(Weight::new);
    match canary {
        Some(canary) if programmed.other == 0 && programmed.primary + programmed.latest == 100 => {
            RouteObservation::Live {
                routes: Routes::split(canary),
                confirmed: true,
            }
        }
        _ => RouteObservation::Rejected {
            reason: format!(
                "the Knative Service's traffic is not split between the latest revision and {primary} only"
            ),
        },
    }
}

#[cfg(test)]
mod tests;
