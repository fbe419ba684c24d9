//! What serin last applied to each generated Service, so that drift is judged against serin's
//! own writes rather than against a watch cache that may not have seen them yet.
//!
//! For each Service serin writes it keeps the `resourceVersion` the cache held when the write
//! was decided and the one the write returned. Until the cache shows the written version, it may
//! still hold the one from before (or nothing, for a Service serin just created): that is not
//! drift, and the Service is reported [`Generated::Unknown`]. Once the cache has shown serin's
//! write, any other version is someone else's change, compared field by field with what serin
//! applies. After a restart nothing is known of earlier writes and the cache, freshly listed,
//! is compared directly.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Service;
use serde_json::Value;
use serin_decide::Generated;

/// One write serin made.
#[derive(Clone, Debug)]
struct Write {
    /// The version the cache held when the write was decided (`None`: no object).
    before: Option<String>,
    /// The version the write returned.
    written: String,
    /// Whether the cache has shown the written version since.
    seen: bool,
}

/// serin's last writes of generated Services, by namespace and name.
#[derive(Debug, Default)]
pub struct AppliedServices {
    writes: Mutex<HashMap<(String, String), Write>>,
}

impl AppliedServices {
    /// Records that serin wrote `namespace/name`: the cache held `before`, the write returned
    /// `written`.
    pub(super) fn record(
        &self,
        namespace: &str,
        name: &str,
        before: Option<String>,
        written: String,
    ) {
        self.lock().insert(
            (namespace.to_owned(), name.to_owned()),
            Write {
                before,
                written,
                seen: false,
            },
        );
    }

    /// Forgets the writes to the Services of a namespace and names (a Canary that went away).
    pub(super) fn forget(&self, namespace: &str, names: &[&str]) {
        let mut writes = self.lock();
        for name in names {
            writes.remove(&(namespace.to_owned(), (*name).to_owned()));
        }
    }

    /// How the cached `namespace/name` compares with `want`, what serin applies.
    pub(super) fn judge(
        &self,
        namespace: &str,
        name: &str,
        cached: Option<&Service>,
        want: &Value,
    ) -> Result<Generated, serde_json::Error> {
        let mut writes = self.lock();
        let write = writes.get_mut(&(namespace.to_owned(), name.to_owned()));
        let version = cached.and_then(|c| c.metadata.resource_version.clone());
        if let Some(write) = write {
            if version.as_deref() == Some(write.written.as_str()) {
                write.seen = true;
            } else if !write.seen && version == write.before {
                // The cache still holds what was there before serin's write.
                return Ok(Generated::Unknown);
            }
        }
        drop(writes);
        let Some(cached) = cached else {
            return Ok(Generated::Missing);
        };
        Ok(if contains(&serde_json::to_value(cached)?, want) {
            Generated::InSync
        } else {
            Generated::Drifted
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Write>> {
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `have` holds everything `want` says: every field of `want` with the same value in
/// `have` (recursively; lists element by element), whatever else `have` holds. Fields the API
/// server or others add are not drift; only a field serin sets, with another value or missing,
/// is.
pub(super) fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| have.get(k).map_or(says_nothing(w), |h| contains(h, w))),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| contains(h, w))
        }
        (have, want) => have == want,
    }
}

/// Whether `want` sets no value at all (only nulls, possibly nested), so that its absence is
/// no difference.
fn says_nothing(want: &Value) -> bool {
    match want {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(says_nothing),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(version: &str, selector: &str) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "podinfo", "resourceVersion": version},
            "spec": {"selector": {"app": selector}},
        }))
        .unwrap()
    }

    fn want() -> Value {
        json!({"metadata": {"name": "podinfo"}, "spec": {"selector": {"app": "podinfo-primary"}}})
    }

    #[test]
    fn fields_added_by_others_are_not_drift_but_changed_or_missing_ones_are() {
        let want = json!({"spec": {"selector": {"app": "podinfo-primary"},
                                   "ports": [{"port": 9898, "protocol": "TCP"}]}});
        let defaulted = json!({"spec": {"selector": {"app": "podinfo-primary"}, "clusterIP": "10.0.0.1",
                                        "ports": [{"port": 9898, "protocol": "TCP", "targetPort": 9898}]}});
        assert!(contains(&defaulted, &want));
        let edited = json!({"spec": {"selector": {"app": "podinfo"},
                                     "ports": [{"port": 9898, "protocol": "TCP"}]}});
        assert!(!contains(&edited, &want));
        let extra_port = json!({"spec": {"selector": {"app": "podinfo-primary"},
                                         "ports": [{"port": 9898, "protocol": "TCP"}, {"port": 80}]}});
        assert!(!contains(&extra_port, &want));
        assert!(!contains(&json!({"spec": {}}), &want));
        assert!(contains(
            &json!({}),
            &json!({"metadata": {"annotations": null}})
        ));
    }

    #[test]
    fn a_cache_that_has_not_seen_serins_write_is_not_drift() {
        let applied = AppliedServices::default();
        // serin took over a Service that selected the target, version 5; its write made 6.
        applied.record("test", "podinfo", Some("5".into()), "6".into());
        let stale = service("5", "podinfo");
        assert_eq!(
            applied
                .judge("test", "podinfo", Some(&stale), &want())
                .unwrap(),
            Generated::Unknown
        );
        // A Service serin created is not in the cache yet.
        applied.record("test", "new", None, "1".into());
        assert_eq!(
            applied.judge("test", "new", None, &want()).unwrap(),
            Generated::Unknown
        );
    }

    #[test]
    fn once_the_cache_has_seen_serins_write_a_change_or_a_deletion_is_drift() {
        let applied = AppliedServices::default();
        applied.record("test", "podinfo", Some("5".into()), "6".into());
        assert_eq!(
            applied
                .judge(
                    "test",
                    "podinfo",
                    Some(&service("6", "podinfo-primary")),
                    &want()
                )
                .unwrap(),
            Generated::InSync
        );
        // Someone set the selector back to the old value: a version serin did not write.
        assert_eq!(
            applied
                .judge("test", "podinfo", Some(&service("5", "podinfo")), &want())
                .unwrap(),
            Generated::Drifted
        );
        assert_eq!(
            applied.judge("test", "podinfo", None, &want()).unwrap(),
            Generated::Missing
        );
    }

    #[test]
    fn without_a_record_the_cache_is_compared_directly() {
        let applied = AppliedServices::default();
        assert_eq!(
            applied
                .judge("test", "podinfo", Some(&service("9", "podinfo")), &want())
                .unwrap(),
            Generated::Drifted
        );
        assert_eq!(
            applied.judge("test", "podinfo", None, &want()).unwrap(),
            Generated::Missing
        );
    }
}
