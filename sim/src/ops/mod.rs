//! The API operations of the emulator (get, list, create, update, patch, apply, delete) on the store.

mod delete;
mod list;
mod manifests;
mod prepare;
mod scale;
mod write;

pub use delete::DeleteOptions;
pub use list::ListOptions;
pub use write::PatchOptions;

pub(crate) use prepare::now;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;
use tokio::sync::Notify;

use crate::error::{ApiError, ApiResult};
use crate::resources::{GroupResource, Registry, ResourceInfo};
use crate::store::{ObjectKey, Store};

/// The addressed resource of a request: kind, version, namespace, name and subresource.
#[derive(Debug, Clone)]
pub struct Target {
    /// The kind.
    pub info: Arc<ResourceInfo>,
    /// Requested version.
    pub version: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name from the path.
    pub name: Option<String>,
    /// Subresource (`status`) from the path.
    pub subresource: Option<String>,
    /// `dryRun=All`: validate and compute, store nothing.
    pub dry_run: bool,
}

impl Target {
    /// Storage key of the named object.
    pub fn key(&self) -> ObjectKey {
        (
            self.namespace.clone().unwrap_or_default(),
            self.name.clone().unwrap_or_default(),
        )
    }

    /// `resource.group` for messages.
    pub fn describe(&self) -> String {
        self.info.group_resource().describe()
    }

    /// Whether the request addresses the `/status` subresource.
    pub fn is_status(&self) -> bool {
        self.subresource.as_deref() == Some("status")
    }

    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// The emulated API server's state: store, served kinds and the garbage collector's wake-up.
#[derive(Debug)]
pub struct Emulator {
    pub(crate) store: Store,
    registry: RwLock<Registry>,
    pub(crate) gc_wakeup: Notify,
}

pub(crate) fn namespaces_gr() -> GroupResource {
    GroupResource::new("", "namespaces")
}

pub(crate) fn crds_gr() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

impl Emulator {
    /// An emulator with the built-in kinds and the `default`, `kube-system` and `kube-public` namespaces.
    pub fn new(history_limit: usize) -> Self {
        let emulator = Self {
            store: Store::new(history_limit),
            registry: RwLock::new(Registry::default()),
            gc_wakeup: Notify::new(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let target = emulator.target(&namespaces_gr(), None, None);
            if let Some(target) = target {
                let body = serde_json::json!({"metadata": {"name": ns}});
                // The store is empty, creating cannot fail.
                let _ = emulator.create(&target, body);
            }
        }
        emulator
    }

    pub(crate) fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn registry_mut(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A target for `gr` in its preferred version.
    pub fn target(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Option<Target> {
        let info = self.registry().get(gr)?;
        Some(Target {
            version: info.versions.first()?.clone(),
            info,
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            subresource: None,
            dry_run: false,
        })
    }

    /// Reads one object.
    pub fn get(&self, target: &Target) -> ApiResult<Arc<Value>> {
        self.store
            .get(&target.info.group_resource(), &target.key())
            .ok_or_else(|| ApiError::not_found(&target.describe(), target.name()))
    }

    /// Applies a write decision to the store, or only computes it for a dry run.
    fn commit<F>(
        &self,
        target: &Target,
        key: &ObjectKey,
        decide: F,
    ) -> ApiResult<Option<Arc<Value>>>
    where
        F: FnOnce(Option<&Arc<Value>>, u64) -> ApiResult<crate::store::Write>,
    {
        let gr = target.info.group_resource();
        if target.dry_run {
            self.store.preview(&gr, key, decide)
        } else {
            self.store.mutate(&gr, key, decide)
        }
    }

    /// Fails unless `namespace` exists and is not terminating.
    fn check_namespace(&self, target: &Target) -> ApiResult<()> {
        let Some(ns) = target
            .namespace
            .as_deref()
            .filter(|_| target.info.namespaced)
        else {
            return Ok(());
        };
        let namespace = self
            .store
            .get(&namespaces_gr(), &(String::new(), ns.to_owned()))
            .ok_or_else(|| ApiError::not_found("namespaces", ns))?;
        if namespace["metadata"]["deletionTimestamp"].is_string() {
            return Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                target.describe(),
                target.name()
            )));
        }
        Ok(())
    }

    /// Keeps the registry in sync after a CRD was written or removed.
    fn crd_changed(&self, crd: &Value, removed: bool) {
        let Ok(info) = ResourceInfo::from_crd(crd) else {
            return;
        };
        if removed {
            let gr = info.group_resource();
            self.registry_mut().unregister(&gr);
            self.store.drop_collection(&gr);
        } else {
            self.registry_mut().register(info);
        }
    }

    /// Number of stored objects.
    pub fn object_count(&self) -> usize {
        self.store.len()
    }
}
