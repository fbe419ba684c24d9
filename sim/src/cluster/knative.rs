//! Knative Serving, simulated: each change of a Knative Service's `spec.template` makes a
//! revision (`<service>-00001`, `-00002`, ...), ready `ready_delay` after it was created unless
//! its template says it never becomes ready; the Service's status reports the latest created and
//! ready revisions, `Ready`/`ConfigurationsReady`/`RoutesReady` and `observedGeneration`, and
//! `status.traffic` mirrors `spec.traffic` (latest revision resolved) once "programmed".
//!
//! A Knative Service annotated `sim.serin.dev/knative-routes: hold` keeps the `status.traffic`
//! last programmed, with `RoutesReady=Unknown` while `spec.traffic` asks for something else: the
//! routing Knative has not caught up with.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::revision::Profile;
use super::snapshot::{Kind, key_of};

/// The annotation that holds a Knative Service's routing as last programmed (`hold`).
pub const ROUTES_ANNOTATION: &str = "sim.serin.dev/knative-routes";

/// One revision of a Knative Service.
#[derive(Debug, Clone)]
pub(crate) struct Revision {
    pub(crate) name: String,
    pub(crate) profile: Profile,
    created: Instant,
}

#[derive(Debug, Default)]
struct ServiceState {
    revisions: Vec<Revision>,
    /// `status.traffic` as last programmed.
    programmed: Value,
}

/// The revisions a Knative Service's programmed traffic goes to, with their shares in percent.
#[derive(Debug)]
pub(crate) struct Routed<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) service: &'a str,
    pub(crate) revisions: Vec<(&'a Revision, f64)>,
}

/// The simulated Knative controller's state: revisions per Service.
#[derive(Debug, Default)]
pub(crate) struct Knative {
    services: HashMap<(String, String), ServiceState>,
}

impl Knative {
    /// Makes the revisions and writes the status of every Knative Service whose status is stale.
    pub(crate) async fn step(
        &mut self,
        client: &kube::Client,
        services: &[Arc<Value>],
        ready_delay: Duration,
        now: Instant,
    ) -> Result<(), kube::Error> {
        let live: std::collections::HashSet<_> = services.iter().map(|s| key_of(s)).collect();
        self.services.retain(|k, _| live.contains(k));
        let resource = Kind::KnativeService.resource();
        for service in services {
            let key = key_of(service);
            let state = self.services.entry(key.clone()).or_default();
            let status = state.status(service, ready_delay, now);
            if service["status"] == status {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &key.0, &resource);
            let patch = Patch::Merge(json!({ "status": status }));
            match api
                .patch_status(&key.1, &PatchParams::default(), &patch)
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Where each Knative Service's programmed traffic goes.
    pub(crate) fn routed(&self) -> Vec<Routed<'_>> {
        self.services
            .iter()
            .map(|((namespace, service), state)| Routed {
                namespace,
                service,
                revisions: state
                    .programmed
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| {
                        let name = entry["revisionName"].as_str()?;
                        let revision = state.revisions.iter().find(|r| r.name == name)?;
                        Some((revision, entry["percent"].as_f64().unwrap_or(0.0)))
                    })
                    .collect(),
            })
            .collect()
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    let mut c = json!({"type": type_, "status": status});
    if !reason.is_empty() {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    }
    c
}

impl ServiceState {
    fn status(&mut self, service: &Value, ready_delay: Duration, now: Instant) -> Value {
        let name = service["metadata"]["name"].as_str().unwrap_or_default();
        let profile = Profile::of(service);
        if self
            .revisions
            .last()
            .is_none_or(|r| r.profile.hash != profile.hash)
        {
            let number = self.revisions.len() + 1;
            self.revisions.push(Revision {
                name: format!("{name}-{number:05}"),
                profile,
                created: now,
            });
        }
        let ready = |r: &Revision| r.profile.becomes_ready && now >= r.created + ready_delay;
        let latest = self.revisions.last().cloned();
        let latest_ready = self.revisions.iter().rev().find(|r| ready(r)).cloned();
        let configurations = match &latest {
            Some(r) if ready(r) => condition("ConfigurationsReady", "True", "", ""),
            Some(r) if !r.profile.becomes_ready && now >= r.created + ready_delay => condition(
                "ConfigurationsReady",
                "False",
                "RevisionFailed",
                &format!("Revision \"{}\" failed to become ready.", r.name),
            ),
            _ => condition(
                "ConfigurationsReady",
                "Unknown",
                "RevisionMissing",
                "Configuration is waiting for a Revision to become ready.",
            ),
        };
        let hold = service["metadata"]["annotations"][ROUTES_ANNOTATION].as_str() == Some("hold");
        let routes = match self.resolve(service, latest_ready.as_ref()) {
            Ok(traffic) if !hold || traffic == self.programmed => {
                self.programmed = traffic;
                condition("RoutesReady", "True", "", "")
            }
            Ok(_) => condition(
                "RoutesReady",
                "Unknown",
                "Programming",
                "Waiting for the ingress to be programmed.",
            ),
            Err(message) => condition("RoutesReady", "False", "RevisionMissing", &message),
        };
        let all_true = configurations["status"] == "True" && routes["status"] == "True";
        let ready_condition = if all_true {
            condition("Ready", "True", "", "")
        } else {
            let other = if configurations["status"] == "True" {
                &routes
            } else {
                &configurations
            };
            condition(
                "Ready",
                other["status"].as_str().unwrap_or("Unknown"),
                other["reason"].as_str().unwrap_or_default(),
                other["message"].as_str().unwrap_or_default(),
            )
        };
        let mut status = json!({
            "observedGeneration": service["metadata"]["generation"],
            "conditions": [ready_condition, configurations, routes],
            "traffic": self.programmed,
        });
        if let Some(latest) = &latest {
            status["latestCreatedRevisionName"] = json!(latest.name);
        }
        if let Some(ready) = &latest_ready {
            status["latestReadyRevisionName"] = json!(ready.name);
        }
        status
    }

    /// `spec.traffic` with each entry naming its revision, as `status.traffic` shows it; all to
    /// the latest ready revision when the spec has none.
    fn resolve(&self, service: &Value, latest_ready: Option<&Revision>) -> Result<Value, String> {
        let default = json!([{"latestRevision": true, "percent": 100}]);
        let spec = match &service["spec"]["traffic"] {
            Value::Array(entries) if !entries.is_empty() => entries.clone(),
            _ => default.as_array().cloned().unwrap_or_default(),
        };
        let mut resolved = Vec::new();
        for entry in &spec {
            let latest = entry["latestRevision"].as_bool() == Some(true);
            let name = if latest {
                latest_ready
                    .map(|r| r.name.clone())
                    .ok_or("no revision is ready yet")?
            } else {
                let name = entry["revisionName"].as_str().unwrap_or_default();
                if !self.revisions.iter().any(|r| r.name == name) {
                    return Err(format!(
                        "Revision \"{name}\" referenced in traffic not found."
                    ));
                }
                name.to_owned()
            };
            resolved.push(json!({
                "revisionName": name,
                "latestRevision": latest,
                "percent": entry["percent"].as_i64().unwrap_or(if spec.len() == 1 { 100 } else { 0 }),
            }));
        }
        Ok(Value::Array(resolved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(image: &str, traffic: &Value, annotations: &Value) -> Value {
        json!({
            "metadata": {"name": "podinfo", "namespace": "test", "generation": 2,
                         "annotations": annotations},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}},
                     "traffic": traffic}
        })
    }

    #[test]
    fn each_template_makes_a_revision_that_becomes_ready_after_the_delay() {
        let mut state = ServiceState::default();
        let start = Instant::now();
        let delay = Duration::from_secs(1);
        let v1 = service("podinfo:1", &Value::Null, &json!({}));
        let status = state.status(&v1, delay, start);
        assert_eq!(status["latestCreatedRevisionName"], "podinfo-00001");
        assert_eq!(status["latestReadyRevisionName"], Value::Null);
        assert_eq!(status["conditions"][1]["status"], "Unknown");
        let status = state.status(&v1, delay, start + delay);
        assert_eq!(status["latestReadyRevisionName"], "podinfo-00001");
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(
            status["traffic"],
            json!([{"revisionName": "podinfo-00001", "latestRevision": true, "percent": 100}])
        );
        let v2 = service(
            "podinfo:2",
            &json!([{"latestRevision": true, "percent": 10},
                    {"revisionName": "podinfo-00001", "percent": 90}]),
            &json!({}),
        );
        let status = state.status(&v2, delay, start + delay * 2);
        assert_eq!(status["latestCreatedRevisionName"], "podinfo-00002");
        // The latest ready revision is still the first: 10% go to it.
        assert_eq!(status["traffic"][0]["revisionName"], "podinfo-00001");
        let status = state.status(&v2, delay, start + delay * 3);
        assert_eq!(status["traffic"][0]["revisionName"], "podinfo-00002");
        assert_eq!(status["traffic"][1]["percent"], 90);
    }

    #[test]
    fn held_routes_keep_the_traffic_last_programmed() {
        let mut state = ServiceState::default();
        let start = Instant::now();
        let delay = Duration::ZERO;
        let spec = |canary: i64| {
            json!([{"latestRevision": true, "percent": canary},
                   {"revisionName": "podinfo-00001", "percent": 100 - canary}])
        };
        state.status(&service("podinfo:1", &spec(0), &json!({})), delay, start);
        let held = service("podinfo:1", &spec(20), &json!({ROUTES_ANNOTATION: "hold"}));
        let status = state.status(&held, delay, start);
        assert_eq!(status["traffic"][0]["percent"], 0);
        assert_eq!(status["conditions"][2]["status"], "Unknown");
        let missing = service(
            "podinfo:1",
            &json!([{"revisionName": "podinfo-00009", "percent": 100}]),
            &json!({}),
        );
        assert_eq!(
            state.status(&missing, delay, start)["conditions"][2]["status"],
            "False"
        );
    }
}
