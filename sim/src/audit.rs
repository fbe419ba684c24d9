//! The write audit: every mutating request the emulator carried out, in order, with who sent it
//! (its User-Agent). Tests read it through [`crate::Server::audit`] to check, for example, that
//! only the leader of a Lease wrote. Bounded: the oldest entries are dropped first. The object
//! written is kept only for the resources a test asks for ([`AuditLog::keep_objects_of`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Entries kept when no limit is configured.
pub const DEFAULT_AUDIT_LIMIT: usize = 100_000;

/// One write that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps (also across dropped entries).
    pub seq: u64,
    /// When the write was recorded (just after it was stored).
    pub time: DateTime<Utc>,
    /// The request's `User-Agent` header; empty when absent.
    pub user_agent: String,
    /// `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: String,
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    /// Subresource (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// Namespace, for namespaced resources.
    pub namespace: Option<String>,
    /// Object name (from the stored object for creates); `None` for collection deletes.
    pub name: Option<String>,
    /// For `coordination.k8s.io` Leases: `spec.holderIdentity` after the write (`None` when
    /// unset, empty or deleted).
    pub lease_holder: Option<String>,
    /// The object after the write (before it, for a delete), for the resources named with
    /// [`AuditLog::keep_objects_of`]; `None` otherwise.
    pub object: Option<Value>,
}

impl AuditEntry {
    /// Whether the entry is a write to a `coordination.k8s.io` Lease.
    pub fn is_lease(&self) -> bool {
        self.group == "coordination.k8s.io" && self.resource == "leases"
    }
}

/// What a handler knows about a write it carried out.
#[derive(Debug)]
pub(crate) struct Write<'a> {
    pub(crate) user_agent: &'a str,
    pub(crate) verb: &'a str,
    pub(crate) group: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) subresource: Option<&'a str>,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    /// The object after the write (before it, for a delete), when there is one.
    pub(crate) object: Option<&'a Value>,
}

/// A ring buffer of [`AuditEntry`]s behind a mutex, held only to push or copy.
#[derive(Debug)]
pub struct AuditLog {
    limit: usize,
    state: Mutex<Ring>,
    /// Plural resource names whose written objects are kept.
    objects_of: Mutex<Vec<String>>,
}

#[derive(Debug, Default)]
struct Ring {
    last_seq: u64,
    entries: VecDeque<AuditEntry>,
}

impl AuditLog {
    /// An empty log keeping the last `limit` entries (at least one).
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            state: Mutex::new(Ring::default()),
            objects_of: Mutex::new(Vec::new()),
        }
    }

    /// From now on, keeps the object written with each entry for `resource` (a plural, such
    /// as `httproutes`).
    pub fn keep_objects_of(&self, resource: &str) {
        let mut kept = self
            .objects_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !kept.iter().any(|r| r == resource) {
            kept.push(resource.to_owned());
        }
    }

    fn keeps_objects_of(&self, resource: &str) -> bool {
        self.objects_of
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|r| r == resource)
    }

    pub(crate) fn record(&self, write: &Write<'_>) {
        let name = write.name.map(str::to_owned).or_else(|| {
            write
                .object
                .and_then(|o| o["metadata"]["name"].as_str())
                .map(str::to_owned)
        });
        let is_lease = write.group == "coordination.k8s.io" && write.resource == "leases";
        let lease_holder = if is_lease && write.verb != "delete" {
            write
                .object
                .and_then(|o| o["spec"]["holderIdentity"].as_str())
                .filter(|holder| !holder.is_empty())
                .map(str::to_owned)
        } else {
            None
        };
        let mut entry = AuditEntry {
            seq: 0,
            time: Utc::now(),
            user_agent: write.user_agent.to_owned(),
            verb: write.verb.to_owned(),
            group: write.group.to_owned(),
            resource: write.resource.to_owned(),
            subresource: write.subresource.map(str::to_owned),
            namespace: write.namespace.map(str::to_owned),
            name,
            lease_holder,
            object: if self.keeps_objects_of(write.resource) {
                write.object.cloned()
            } else {
                None
            },
        };
        let mut ring = self.lock();
        ring.last_seq += 1;
        entry.seq = ring.last_seq;
        if ring.entries.len() == self.limit {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    /// A copy of the entries kept, oldest first.
    pub fn snapshot(&self) -> Vec<AuditEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn write<'a>(verb: &'a str, resource: &'a str, object: Option<&'a Value>) -> Write<'a> {
        Write {
            user_agent: "serin/0.1.0 (serin-a)",
            verb,
            group: if resource == "leases" {
                "coordination.k8s.io"
            } else {
                "apps"
            },
            resource,
            subresource: None,
            namespace: Some("default"),
            name: None,
            object,
        }
    }

    #[test]
    fn entries_are_numbered_in_order_and_name_the_created_object() {
        let log = AuditLog::new(10);
        let deployment = json!({"metadata": {"name": "podinfo"}});
        log.record(&write("create", "deployments", Some(&deployment)));
        log.record(&Write {
            name: Some("podinfo"),
            subresource: Some("scale"),
            ..write("patch", "deployments", None)
        });
        let entries = log.snapshot();
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(entries[0].name.as_deref(), Some("podinfo"));
        assert_eq!(entries[0].user_agent, "serin/0.1.0 (serin-a)");
        assert_eq!(entries[1].verb, "patch");
        assert_eq!(entries[1].subresource.as_deref(), Some("scale"));
        assert!(entries[0].time <= entries[1].time);
        assert_eq!(
            entries[0].object, None,
            "objects are not kept unless asked for"
        );
    }

    #[test]
    fn objects_are_kept_for_the_resources_asked_for() {
        let log = AuditLog::new(10);
        log.keep_objects_of("httproutes");
        let route = json!({"metadata": {"name": "podinfo"}, "spec": {"rules": []}});
        log.record(&Write {
            group: "gateway.networking.k8s.io",
            ..write("update", "httproutes", Some(&route))
        });
        log.record(&write("update", "deployments", Some(&route)));
        let objects: Vec<_> = log.snapshot().into_iter().map(|e| e.object).collect();
        assert_eq!(objects, [Some(route), None]);
    }

    #[test]
    fn lease_writes_carry_the_holder_after_the_write() {
        let log = AuditLog::new(10);
        let held =
            json!({"metadata": {"name": "serin-leader"}, "spec": {"holderIdentity": "serin-b"}});
        let released =
            json!({"metadata": {"name": "serin-leader"}, "spec": {"holderIdentity": ""}});
        log.record(&write("update", "leases", Some(&held)));
        log.record(&write("update", "leases", Some(&released)));
        log.record(&write("delete", "leases", Some(&held)));
        log.record(&write("update", "deployments", Some(&held)));
        let holders: Vec<_> = log
            .snapshot()
            .into_iter()
            .map(|e| (e.is_lease(), e.lease_holder))
            .collect();
        assert_eq!(
            holders,
            [
                (true, Some("serin-b".to_owned())),
                (true, None),
                (true, None),
                (false, None)
            ]
        );
    }

    #[test]
    fn the_log_keeps_only_the_newest_entries() {
        let log = AuditLog::new(3);
        for _ in 0..5 {
            log.record(&write("create", "deployments", None));
        }
        let seqs: Vec<u64> = log.snapshot().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
    }
}
