//! A Knative `serving.knative.dev/v1` Service target, read through a typed view of the fields
//! serin uses: its revisions (the primary is the one named in an annotation, the canary the
//! latest created), its readiness from Knative's conditions, and the traffic it routes.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::readiness::Readiness;

/// The annotation on a Knative Service naming its primary revision (Flagger's key, kept so
/// that Services Flagger released are recognised).
pub const PRIMARY_REVISION_ANNOTATION: &str = "flagger.app/primary-revision";

/// The fields of a Knative Service serin reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeService {
    /// Name, generation and annotations.
    #[serde(default)]
    pub metadata: KnativeMeta,
    /// The desired routing.
    #[serde(default)]
    pub spec: KnativeSpec,
    /// What Knative reports.
    #[serde(default)]
    pub status: KnativeStatus,
}

/// The metadata serin reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `metadata.annotations`.
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// `spec` of a Knative Service, as far as serin reads it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeSpec {
    /// `spec.traffic`: the desired split.
    #[serde(default)]
    pub traffic: Vec<TrafficTarget>,
}

/// `status` of a Knative Service, as far as serin reads it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeStatus {
    /// The generation Knative last reconciled.
    pub observed_generation: Option<i64>,
    /// The newest revision, ready or not.
    pub latest_created_revision_name: Option<String>,
    /// The newest revision that became ready.
    pub latest_ready_revision_name: Option<String>,
    /// `Ready`, `ConfigurationsReady`, `RoutesReady`.
    #[serde(default)]
    pub conditions: Vec<KnativeCondition>,
    /// The split Knative programmed (each entry names its revision).
    #[serde(default)]
    pub traffic: Vec<TrafficTarget>,
}

/// One entry of `spec.traffic` or `status.traffic`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficTarget {
    /// The revision, when named.
    pub revision_name: Option<String>,
    /// Whether the entry follows the latest ready revision.
    pub latest_revision: Option<bool>,
    /// Its share; absent reads as 0.
    pub percent: Option<i64>,
}

/// A Knative condition.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KnativeCondition {
    /// `Ready`, `ConfigurationsReady`, `RoutesReady`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Why, in CamelCase.
    pub reason: Option<String>,
    /// Why, for a person.
    pub message: Option<String>,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: Option<String>,
}

/// Shares of traffic, in percent, as a Knative Service's traffic entries give them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevisionShares {
    /// To the primary revision.
    pub primary: i64,
    /// To the latest revision.
    pub latest: i64,
    /// To any other revision.
    pub other: i64,
}

impl KnativeService {
    /// Reads the fields serin uses from a Knative Service as JSON.
    pub fn from_value(value: &Value) -> Result<Self, serde_json::Error> {
        KnativeService::deserialize(value)
    }

    /// The revision named in [`PRIMARY_REVISION_ANNOTATION`], when set.
    pub fn primary_revision(&self) -> Option<&str> {
        self.metadata
            .annotations
            .get(PRIMARY_REVISION_ANNOTATION)
            .map(String::as_str)
            .filter(|r| !r.is_empty())
    }

    /// The newest revision Knative created.
    pub fn latest_created(&self) -> Option<&str> {
        self.status
            .latest_created_revision_name
            .as_deref()
            .filter(|r| !r.is_empty())
    }

    /// The condition of `type_`.
    pub fn condition(&self, type_: &str) -> Option<&KnativeCondition> {
        self.status.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether Knative has reconciled the current generation.
    pub fn observed_current(&self) -> bool {
        self.status.observed_generation.unwrap_or(0) >= self.metadata.generation.unwrap_or(0)
    }

    /// How ready the latest created revision (the canary) is: Knative has seen the current
    /// spec, created a revision for it, and that revision became ready. A failed revision
    /// reads as progressing since its condition changed, so that the Canary's progress
    /// deadline decides.
    pub fn readiness(&self) -> Readiness {
        if !self.observed_current() {
            return progressing("waiting for Knative to see the change", None);
        }
        let Some(latest) = self.latest_created() else {
            return progressing("Knative has not created a revision yet", None);
        };
        if let Some(c) = self.condition("ConfigurationsReady")
            && c.status == "False"
        {
            let reason = format!(
                "revision {latest} is not ready: {}",
                c.message
                    .as_deref()
                    .unwrap_or("ConfigurationsReady is False")
            );
            return progressing(&reason, c.last_transition_time.as_deref());
        }
        if self.status.latest_ready_revision_name.as_deref() != Some(latest) {
            let since = self
                .condition("ConfigurationsReady")
                .and_then(|c| c.last_transition_time.as_deref());
            return progressing(&format!("revision {latest} is not ready yet"), since);
        }
        Readiness::Ready
    }

    /// The shares `entries` give to `primary` and to the latest revision. A `status.traffic`
    /// entry marked `latestRevision` counts as the latest even though it names its revision.
    pub fn shares(entries: &[TrafficTarget], primary: Option<&str>) -> RevisionShares {
        let mut shares = RevisionShares::default();
        for entry in entries {
            let percent = entry.percent.unwrap_or(0).clamp(0, 100);
            if entry.latest_revision == Some(true) {
                shares.latest += percent;
            } else if primary.is_some() && entry.revision_name.as_deref() == primary {
                shares.primary += percent;
            } else {
                shares.other += percent;
            }
        }
        shares
    }

    /// The merge patch that makes the latest created revision the primary: the annotation,
    /// and `spec.traffic` entries naming the previous primary moved to it (so the traffic the
    /// primary held stays on the primary). `None` before Knative created a revision.
    pub fn promotion_patch(&self) -> Option<Value> {
        let latest = self.latest_created()?;
        let mut patch = json!({ "metadata": { "annotations": {
            PRIMARY_REVISION_ANNOTATION: latest,
        }}});
        let previous = self.primary_revision();
        let names_previous =
            |t: &TrafficTarget| previous.is_some() && t.revision_name.as_deref() == previous;
        if self.spec.traffic.iter().any(names_previous) {
            let traffic: Vec<Value> = self
                .spec
                .traffic
                .iter()
                .map(|t| {
                    let mut entry = json!({ "percent": t.percent.unwrap_or(0) });
                    if t.latest_revision == Some(true) {
                        entry["latestRevision"] = json!(true);
                    } else if names_previous(t) {
                        entry["revisionName"] = json!(latest);
                    } else if let Some(name) = &t.revision_name {
                        entry["revisionName"] = json!(name);
                    }
                    entry
                })
                .collect();
            patch["spec"] = json!({ "traffic": traffic });
        }
        Some(patch)
    }
}

fn progressing(reason: &str, since: Option<&str>) -> Readiness {
    Readiness::Progressing {
        reason: reason.to_owned(),
        since: since
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(value: &Value) -> KnativeService {
        KnativeService::from_value(value).unwrap()
    }

    fn ready(generation: i64, created: &str, ready: &str) -> Value {
        json!({
            "metadata": {"name": "podinfo", "generation": generation,
                         "annotations": {PRIMARY_REVISION_ANNOTATION: "podinfo-00001"}},
            "spec": {"template": {}, "traffic": [
                {"latestRevision": true, "percent": 20},
                {"revisionName": "podinfo-00001", "percent": 80}]},
            "status": {"observedGeneration": generation,
                       "latestCreatedRevisionName": created,
                       "latestReadyRevisionName": ready,
                       "conditions": [{"type": "ConfigurationsReady", "status": "True",
                                       "lastTransitionTime": "2026-12-07T10:00:00Z"}]}
        })
    }

    #[test]
    fn the_canary_is_ready_once_its_latest_revision_is() {
        let s = service(&ready(2, "podinfo-00002", "podinfo-00002"));
        assert_eq!(s.readiness(), Readiness::Ready);
        assert_eq!(s.primary_revision(), Some("podinfo-00001"));
        assert_eq!(s.latest_created(), Some("podinfo-00002"));
        let pending = service(&ready(2, "podinfo-00002", "podinfo-00001"));
        assert!(matches!(
            pending.readiness(),
            Readiness::Progressing { since: Some(_), .. }
        ));
    }

    #[test]
    fn a_generation_knative_has_not_seen_is_not_ready() {
        let mut v = ready(3, "podinfo-00002", "podinfo-00002");
        v["status"]["observedGeneration"] = json!(2);
        assert!(matches!(
            service(&v).readiness(),
            Readiness::Progressing { since: None, .. }
        ));
        assert!(!service(&v).observed_current());
    }

    #[test]
    fn a_failed_revision_is_progressing_since_it_failed() {
        let mut v = ready(2, "podinfo-00002", "podinfo-00001");
        v["status"]["conditions"][0] = json!({"type": "ConfigurationsReady", "status": "False",
            "message": "image pull failed", "lastTransitionTime": "2026-12-07T11:00:00Z"});
        let Readiness::Progressing { reason, since } = service(&v).readiness() else {
            panic!("not progressing");
        };
        assert!(reason.contains("image pull failed"), "{reason}");
        assert_eq!(since.unwrap().to_rfc3339(), "2026-12-07T11:00:00+00:00");
    }

    #[test]
    fn shares_tell_the_latest_the_primary_and_others_apart() {
        let entries: Vec<TrafficTarget> = serde_json::from_value(json!([
            {"revisionName": "podinfo-00002", "latestRevision": true, "percent": 30},
            {"revisionName": "podinfo-00001", "latestRevision": false, "percent": 60},
            {"revisionName": "podinfo-00000", "percent": 10},
            {"revisionName": "podinfo-00001"}]))
        .unwrap();
        let shares = KnativeService::shares(&entries, Some("podinfo-00001"));
        assert_eq!(
            shares,
            RevisionShares {
                primary: 60,
                latest: 30,
                other: 10
            }
        );
        assert_eq!(KnativeService::shares(&entries, None).other, 70);
    }

    #[test]
    fn promotion_moves_the_annotation_and_the_primarys_traffic_to_the_latest_revision() {
        let s = service(&ready(2, "podinfo-00002", "podinfo-00002"));
        assert_eq!(
            s.promotion_patch().unwrap(),
            json!({
                "metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: "podinfo-00002"}},
                "spec": {"traffic": [
                    {"latestRevision": true, "percent": 20},
                    {"revisionName": "podinfo-00002", "percent": 80}]}
            })
        );
        // Before any routing, only the annotation is set.
        let mut fresh = ready(1, "podinfo-00001", "podinfo-00001");
        fresh["metadata"]["annotations"] = json!({});
        fresh["spec"]["traffic"] = json!([{"latestRevision": true, "percent": 100}]);
        assert_eq!(
            service(&fresh).promotion_patch().unwrap(),
            json!({"metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: "podinfo-00001"}}})
        );
        // Nothing to promote before Knative created a revision.
        assert_eq!(
            service(&json!({"metadata": {"name": "p"}})).promotion_patch(),
            None
        );
    }
}
