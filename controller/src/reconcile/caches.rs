//! The watch caches a reconcile reads from instead of the API: targets and primaries, the
//! ConfigMaps and Secrets targets use, routing objects, MetricTemplates and AlertProviders.
//!
//! A cache answers only once its first list has arrived; before that (and for kinds the
//! controller does not watch) the reconcile reads from the API. ConfigMaps and Secrets are cached
//! without their data, which can be large and which a tick only needs as a checksum: the checksum
//! is kept in an annotation of the cached copy, and the data is read from the API when a
//! `-primary` copy is written.

use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, NamespaceResourceScope};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store, store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use serde_json::json;
use serin_crds::{AlertProvider, MetricTemplate};

use crate::decide::revision::config_checksum;
use crate::routers::RouteKind;

/// Annotation of a cached ConfigMap or Secret holding the checksum of its `data` and
/// `binaryData`, which the cache drops. Never written to the cluster.
pub(super) const DATA_CHECKSUM: &str = "serin.dev/cached-data-checksum";

/// The checksum of a ConfigMap's or Secret's content (`data` and `binaryData` as JSON), the
/// part whose change starts a release.
pub(super) fn content_checksum(
    data: Option<&impl serde::Serialize>,
    binary_data: Option<&impl serde::Serialize>,
) -> String {
    config_checksum(&json!({ "data": data, "binaryData": binary_data }))
}

/// The caches of a running controller. Each is `None` when not watched.
#[derive(Clone, Default)]
pub struct Caches {
    /// Deployments.
    pub deployments: Option<Store<Deployment>>,
    /// DaemonSets.
    pub daemonsets: Option<Store<DaemonSet>>,
    /// Services: Service targets and the generated Services.
    pub services: Option<Store<Service>>,
    /// ConfigMaps, without their data (watched with config tracking on).
    pub config_maps: Option<Store<ConfigMap>>,
    /// Secrets, without their data (watched with config tracking on).
    pub secrets: Option<Store<Secret>>,
    /// MetricTemplates.
    pub metric_templates: Option<Store<MetricTemplate>>,
    /// AlertProviders.
    pub alert_providers: Option<Store<AlertProvider>>,
    /// Routing objects, by the kind the routers declare them as.
    pub routes: std::collections::BTreeMap<RouteKind, Store<DynamicObject>>,
    /// The namespace the caches are limited to (`--namespace`), if any.
    pub namespace: Option<String>,
}

/// What a cache knows of one object.
pub(super) enum Lookup<K> {
    /// The cache has synced: the object, or `None` when it does not exist.
    Known(Option<Arc<K>>),
    /// No cache, or not synced yet: ask the API.
    Unknown,
}

/// Looks `namespace/name` up in `store`, whose objects are of `dyntype`.
pub(super) fn lookup<K>(
    store: Option<&Store<K>>,
    namespace: &str,
    name: &str,
    dyntype: K::DynamicType,
) -> Lookup<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    lookup_in(store, &ObjectRef::new_with(name, dyntype).within(namespace))
}

/// Looks `reference` up in `store`.
pub(super) fn lookup_in<K>(store: Option<&Store<K>>, reference: &ObjectRef<K>) -> Lookup<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let synced = |s: &&Store<K>| {
        s.wait_until_ready()
            .now_or_never()
            .is_some_and(|r| r.is_ok())
    };
    match store.filter(synced) {
        Some(store) => Lookup::Known(store.get(reference)),
        None => Lookup::Unknown,
    }
}

/// A namespaced object from its cache once that has synced, from the API before that.
pub(super) async fn cached_or_get<K>(
    client: &kube::Client,
    store: Option<&Store<K>>,
    namespace: &str,
    name: &str,
) -> Result<Option<K>, kube::Error>
where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + 'static,
{
    match lookup(store, namespace, name, ()) {
        Lookup::Known(object) => Ok(object.map(|o| (*o).clone())),
        Lookup::Unknown => {
            Api::<K>::namespaced(client.clone(), namespace)
                .get_opt(name)
                .await
        }
    }
}

impl Caches {
    /// `store`, when it may hold objects of `namespace`: a controller limited to one namespace
    /// reads references to other namespaces from the API.
    pub(super) fn covering<'a, K>(
        &self,
        namespace: &str,
        store: Option<&'a Store<K>>,
    ) -> Option<&'a Store<K>>
    where
        K: kube::Resource + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        match &self.namespace {
            Some(scope) if scope != namespace => None,
            _ => store,
        }
    }

    /// The cache of routing objects of `kind`, if watched.
    pub(super) fn routes(&self, kind: &RouteKind) -> Option<&Store<DynamicObject>> {
        self.routes.get(kind)
    }
}

/// A watch of `api` into a new cache, each object changed by `modify` before it is stored; the
/// stream yields the applied objects and must be polled for the cache to fill.
pub(super) fn watch<K>(
    api: Api<K>,
    modify: impl FnMut(&mut K) + Send + 'static,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync,
    K: 'static,
{
    let (reader, writer) = store();
    let stream = reflected(api, writer, modify);
    (reader, without_errors(stream, K::plural(&()).into_owned()))
}

/// A watch of routing objects served as `resource` into a new cache.
pub(super) fn watch_routes(
    api: Api<DynamicObject>,
    resource: &ApiResource,
) -> (
    Store<DynamicObject>,
    impl Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static,
) {
    let writer = Writer::new(resource.clone());
    let reader = writer.as_reader();
    let stream = reflected(api, writer, drop_bulk);
    (reader, without_errors(stream, resource.plural.clone()))
}

/// A watch of Canaries (untyped, so that one malformed object cannot stop the list) into a new
/// cache. Errors are passed on: the controller's own watch has no cache to fall back on.
pub(super) fn watch_canaries(
    api: Api<DynamicObject>,
    resource: &ApiResource,
) -> (
    Store<DynamicObject>,
    impl Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static,
) {
    let writer = Writer::new(resource.clone());
    let reader = writer.as_reader();
    (reader, reflected(api, writer, drop_bulk))
}

/// The applied objects of a watch of `api`, changed by `modify` and then stored by `writer`.
fn reflected<K>(
    api: Api<K>,
    writer: Writer<K>,
    modify: impl FnMut(&mut K) + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash + Send + Sync,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(modify)
        .reflect(writer)
        .applied_objects()
}

/// The stream without its errors, which are logged: a watch that fails (a kind whose CRD is not
/// installed, a kind RBAC does not allow) retries with backoff on its own, and its cache stays
/// unsynced, so reads fall back to the API. Passed on, the errors would reach the controller's
/// queue, where they hold up the triggers of every other watch.
fn without_errors<K: Send + 'static>(
    stream: impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    what: String,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    stream.filter_map(move |event| {
        let kept = match event {
            Ok(object) => Some(Ok(object)),
            Err(e) => {
                tracing::debug!(resource = %what, error = %e, "watch failed; retrying with backoff");
                None
            }
        };
        std::future::ready(kept)
    })
}

/// Drops what no reader of a cache uses and what is large: managed fields, and the last-applied
/// annotation (a second copy of the object).
pub(super) fn drop_bulk<K: kube::Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Drops a ConfigMap's data, keeping its checksum.
pub(super) fn strip_config_map(object: &mut ConfigMap) {
    let checksum = content_checksum(object.data.as_ref(), object.binary_data.as_ref());
    object.data = None;
    object.binary_data = None;
    keep_checksum(object, checksum);
}

/// Drops a Secret's data, keeping its checksum.
pub(super) fn strip_secret(object: &mut Secret) {
    let none: Option<&()> = None;
    let checksum = content_checksum(object.data.as_ref(), none);
    object.data = None;
    object.string_data = None;
    keep_checksum(object, checksum);
}

fn keep_checksum<K: kube::Resource>(object: &mut K, checksum: String) {
    drop_bulk(object);
    object
        .meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(DATA_CHECKSUM.to_owned(), checksum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stripped_config_keeps_the_checksum_of_the_data_it_drops() {
        let full: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "podinfo-config", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}",
                "flagger.app/config-tracking": "disabled"}},
            "data": {"color": "blue"}
        }))
        .unwrap();
        let as_read = serde_json::to_value(&full).unwrap();
        let expected = config_checksum(
            &json!({ "data": as_read.get("data"), "binaryData": as_read.get("binaryData") }),
        );
        let mut cached = full.clone();
        strip_config_map(&mut cached);
        assert!(cached.data.is_none());
        let annotations = cached.metadata.annotations.unwrap();
        assert_eq!(annotations[DATA_CHECKSUM], expected);
        assert_eq!(annotations["flagger.app/config-tracking"], "disabled");
        assert!(!annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"));

        let mut changed = full;
        changed.data = Some([("color".to_owned(), "green".to_owned())].into());
        strip_config_map(&mut changed);
        assert_ne!(
            changed.metadata.annotations.unwrap()[DATA_CHECKSUM],
            expected
        );
    }

    #[test]
    fn a_stripped_secret_keeps_the_checksum_of_its_data_as_the_api_returns_it() {
        let full: Secret = serde_json::from_value(json!({
            "metadata": {"name": "podinfo-token"},
            "data": {"token": "c2VjcmV0"}
        }))
        .unwrap();
        let as_read = serde_json::to_value(&full).unwrap();
        let expected = config_checksum(
            &json!({ "data": as_read.get("data"), "binaryData": as_read.get("binaryData") }),
        );
        let mut cached = full;
        strip_secret(&mut cached);
        assert!(cached.data.is_none());
        assert_eq!(
            cached.metadata.annotations.unwrap()[DATA_CHECKSUM],
            expected
        );
    }
}
