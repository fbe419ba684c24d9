//! Which Canaries a changed workload or config concerns, so that its watch event wakes them.
//!
//! Scanning every Canary for each event would cost O(Canaries) per event, and the initial list
//! of a watch is one event per object: with 10,000 Canaries and their ConfigMaps that is 10^8
//! lookups. Instead an index from workloads and configs to Canaries is rebuilt from the caches at
//! most once a second (and sooner, at most ten times a second, when an event finds nothing in it),
//! so each event costs a hash lookup. A Canary the index does not know yet misses at most a
//! wake-up; its own creation and its next tick still reconcile it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use kube::api::DynamicObject;
use kube::core::ApiResource;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::workloads::{ConfigKind, config_refs};

/// How old the index may be before any event rebuilds it.
const MAX_AGE: Duration = Duration::from_secs(1);
/// How old the index may be before an event it knows nothing about rebuilds it.
const MAX_AGE_ON_MISS: Duration = Duration::from_millis(100);

type Refs = Vec<ObjectRef<DynamicObject>>;

/// The index: by namespace, kind and name of a workload (`Deployment`/`DaemonSet`, the target's
/// name) or of a config (`ConfigMap`/`Secret`).
#[derive(Default)]
struct Index {
    built: Option<Instant>,
    by_object: HashMap<(String, &'static str, String), Refs>,
}

/// Finds the Canaries a changed workload or config concerns.
#[derive(Clone)]
pub(super) struct Targets {
    canaries: Store<DynamicObject>,
    resource: ApiResource,
    deployments: Store<Deployment>,
    daemonsets: Store<DaemonSet>,
    index: Arc<Mutex<Index>>,
}

impl Targets {
    pub(super) fn new(
        canaries: Store<DynamicObject>,
        resource: ApiResource,
        deployments: Store<Deployment>,
        daemonsets: Store<DaemonSet>,
    ) -> Self {
        Self {
            canaries,
            resource,
            deployments,
            daemonsets,
            index: Arc::new(Mutex::new(Index::default())),
        }
    }

    /// The Canaries whose target is `workload` (a Deployment or DaemonSet) or whose primary it
    /// is.
    pub(super) fn using_workload<K>(&self, workload: &K) -> Refs
    where
        K: kube::Resource<DynamicType = ()>,
    {
        let kind = if K::kind(&()) == "DaemonSet" {
            "DaemonSet"
        } else {
            "Deployment"
        };
        let meta = workload.meta();
        let (Some(namespace), Some(name)) = (meta.namespace.as_ref(), meta.name.as_deref()) else {
            return Vec::new();
        };
        if let Some(target) = name.strip_suffix("-primary") {
            let found = self.lookup(namespace, kind, target);
            if !found.is_empty() {
                return found;
            }
        }
        self.lookup(namespace, kind, name)
    }

    /// The Canaries whose target workload (as cached) uses the ConfigMap or Secret `config`.
    pub(super) fn using_config<K>(&self, config: &K) -> Refs
    where
        K: kube::Resource<DynamicType = ()>,
    {
        let kind = if K::kind(&()) == "Secret" {
            "Secret"
        } else {
            "ConfigMap"
        };
        let meta = config.meta();
        match (meta.namespace.as_ref(), meta.name.as_deref()) {
            (Some(namespace), Some(name)) => self.lookup(namespace, kind, name),
            _ => Vec::new(),
        }
    }

    fn lookup(&self, namespace: &str, kind: &'static str, name: &str) -> Refs {
        let mut index = self
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (namespace.to_owned(), kind, name.to_owned());
        let age = |index: &Index| index.built.map_or(Duration::MAX, |b| b.elapsed());
        if age(&index) > MAX_AGE {
            *index = self.build();
        }
        if let Some(found) = index.by_object.get(&key) {
            return found.clone();
        }
        if age(&index) > MAX_AGE_ON_MISS {
            *index = self.build();
        }
        index.by_object.get(&key).cloned().unwrap_or_default()
    }

    fn build(&self) -> Index {
        let mut by_object: HashMap<(String, &'static str, String), Refs> = HashMap::new();
        for canary in self.canaries.state() {
            let target = &canary.data["spec"]["targetRef"];
            let (Some(namespace), Some(kind), Some(name)) = (
                canary.metadata.namespace.as_ref(),
                target["kind"].as_str(),
                target["name"].as_str(),
            ) else {
                continue;
            };
            let reference = ObjectRef::from_obj_with(canary.as_ref(), self.resource.clone());
            let (kind, configs) = match kind {
                "Deployment" => (
                    "Deployment",
                    self.deployments
                        .get(&ObjectRef::new(name).within(namespace))
                        .and_then(|d| d.spec.template.spec.as_ref().map(config_refs)),
                ),
                "DaemonSet" => (
                    "DaemonSet",
                    self.daemonsets
                        .get(&ObjectRef::new(name).within(namespace))
                        .and_then(|d| d.spec.template.spec.as_ref().map(config_refs)),
                ),
                _ => continue,
            };
            by_object
                .entry((namespace.clone(), kind, name.to_owned()))
                .or_default()
                .push(reference.clone());
            for config in configs.unwrap_or_default() {
                let kind = match config.kind {
                    ConfigKind::ConfigMap => "ConfigMap",
                    ConfigKind::Secret => "Secret",
                };
                by_object
                    .entry((namespace.clone(), kind, config.name))
                    .or_default()
                    .push(reference.clone());
            }
        }
        Index {
            built: Some(Instant::now()),
            by_object,
        }
    }
}
