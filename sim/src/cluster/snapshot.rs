//! Watch-based caches of the objects the simulated cluster acts on, read through the Kubernetes API.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::Writer;
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, reflector as reflect, watcher};
use serde_json::Value;
use tokio::task::JoinHandle;

/// The kinds read each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Deployment,
    DaemonSet,
    Service,
    Ingress,
    HttpRoute,
    GrpcRoute,
    VirtualService,
    TrafficSplit,
    HttpProxy,
    TraefikService,
    ApisixRoute,
    RouteTable,
    Upstream,
    TrafficRoute,
    MeshHttpRoute,
    KnativeService,
}

impl Kind {
    const ALL: [Self; 16] = [
        Self::Deployment,
        Self::DaemonSet,
        Self::Service,
        Self::Ingress,
        Self::HttpRoute,
        Self::GrpcRoute,
        Self::VirtualService,
        Self::TrafficSplit,
        Self::HttpProxy,
        Self::TraefikService,
        Self::ApisixRoute,
        Self::RouteTable,
        Self::Upstream,
        Self::TrafficRoute,
        Self::MeshHttpRoute,
        Self::KnativeService,
    ];

    /// Whether the kind's CRD serves status as a subresource (Gloo's do not).
    pub(crate) fn has_status_subresource(self) -> bool {
        !matches!(self, Self::RouteTable | Self::Upstream)
    }

    pub(crate) fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Self::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Self::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets"),
            Self::Service => ("", "v1", "Service", "services"),
            Self::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Self::HttpRoute => ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
            Self::GrpcRoute => ("gateway.networking.k8s.io", "v1", "GRPCRoute", "grpcroutes"),
            Self::VirtualService => (
                "networking.istio.io",
                "v1beta1",
                "VirtualService",
                "virtualservices",
            ),
            Self::TrafficSplit => (
                "split.smi-spec.io",
                "v1alpha2",
                "TrafficSplit",
                "trafficsplits",
            ),
            Self::HttpProxy => ("projectcontour.io", "v1", "HTTPProxy", "httpproxies"),
            Self::TraefikService => (
                "traefik.io",
                "v1alpha1",
                "TraefikService",
                "traefikservices",
            ),
            Self::ApisixRoute => ("apisix.apache.org", "v2", "ApisixRoute", "apisixroutes"),
            Self::RouteTable => ("gateway.solo.io", "v1", "RouteTable", "routetables"),
            Self::Upstream => ("gloo.solo.io", "v1", "Upstream", "upstreams"),
            Self::TrafficRoute => ("kuma.io", "v1alpha1", "TrafficRoute", "trafficroutes"),
            Self::MeshHttpRoute => ("kuma.io", "v1alpha1", "MeshHTTPRoute", "meshhttproutes"),
            Self::KnativeService => ("serving.knative.dev", "v1", "Service", "services"),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }
}

/// All objects of the watched kinds, as JSON.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snapshot {
    pub(crate) deployments: Vec<Arc<Value>>,
    pub(crate) daemonsets: Vec<Arc<Value>>,
    pub(crate) services: Vec<Arc<Value>>,
    pub(crate) ingresses: Vec<Arc<Value>>,
    pub(crate) httproutes: Vec<Arc<Value>>,
    pub(crate) grpcroutes: Vec<Arc<Value>>,
    pub(crate) virtualservices: Vec<Arc<Value>>,
    pub(crate) trafficsplits: Vec<Arc<Value>>,
    pub(crate) httpproxies: Vec<Arc<Value>>,
    pub(crate) traefikservices: Vec<Arc<Value>>,
    pub(crate) apisixroutes: Vec<Arc<Value>>,
    pub(crate) routetables: Vec<Arc<Value>>,
    pub(crate) upstreams: Vec<Arc<Value>>,
    pub(crate) trafficroutes: Vec<Arc<Value>>,
    pub(crate) meshhttproutes: Vec<Arc<Value>>,
    pub(crate) knative_services: Vec<Arc<Value>>,
}

impl Snapshot {
    /// The objects of `kind`.
    pub(crate) fn objects(&self, kind: Kind) -> &[Arc<Value>] {
        match kind {
            Kind::Deployment => &self.deployments,
            Kind::DaemonSet => &self.daemonsets,
            Kind::Service => &self.services,
            Kind::Ingress => &self.ingresses,
            Kind::HttpRoute => &self.httproutes,
            Kind::GrpcRoute => &self.grpcroutes,
            Kind::VirtualService => &self.virtualservices,
            Kind::TrafficSplit => &self.trafficsplits,
            Kind::HttpProxy => &self.httpproxies,
            Kind::TraefikService => &self.traefikservices,
            Kind::ApisixRoute => &self.apisixroutes,
            Kind::RouteTable => &self.routetables,
            Kind::Upstream => &self.upstreams,
            Kind::TrafficRoute => &self.trafficroutes,
            Kind::MeshHttpRoute => &self.meshhttproutes,
            Kind::KnativeService => &self.knative_services,
        }
    }
}

/// Retries a failing watch (typically: the kind's CRD is not installed yet) at a fixed pace.
#[derive(Debug, Clone)]
struct Retry(Duration);

impl Iterator for Retry {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.0)
    }
}

impl Backoff for Retry {
    fn reset(&mut self) {}
}

/// Watch-based caches (kube-runtime reflectors) of every kind the simulation reads.
#[derive(Debug)]
pub(crate) struct Informers {
    stores: Vec<(Kind, Store<DynamicObject>)>,
    tasks: Vec<JoinHandle<()>>,
    /// JSON of each cached object by uid and resourceVersion, converted once per change.
    converted: HashMap<String, (String, Arc<Value>)>,
}

impl Informers {
    /// Starts one reflector per kind; kinds whose CRD is missing are retried every `retry`.
    pub(crate) fn start(client: &kube::Client, retry: Duration) -> Self {
        let mut stores = Vec::new();
        let mut tasks = Vec::new();
        for kind in Kind::ALL {
            let resource = kind.resource();
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let writer = Writer::new(resource);
            stores.push((kind, writer.as_reader()));
            let events =
                reflect(writer, watcher(api, watcher::Config::default())).backoff(Retry(retry));
            tasks.push(tokio::spawn(events.for_each(|_| std::future::ready(()))));
        }
        Self {
            stores,
            tasks,
            converted: HashMap::new(),
        }
    }

    /// The cached objects of every kind, as JSON (converted again only when they change).
    pub(crate) fn snapshot(&mut self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        let mut seen = HashSet::new();
        for (kind, store) in &self.stores {
            let mut items = Vec::new();
            for object in store.state() {
                let uid = object.metadata.uid.clone().unwrap_or_default();
                let rv = object.metadata.resource_version.clone().unwrap_or_default();
                seen.insert(uid.clone());
                match self.converted.get(&uid) {
                    Some((cached_rv, value)) if *cached_rv == rv => items.push(Arc::clone(value)),
                    _ => {
                        let Ok(value) = serde_json::to_value(&*object) else {
                            continue;
                        };
                        let value = Arc::new(value);
                        self.converted.insert(uid, (rv, Arc::clone(&value)));
                        items.push(value);
                    }
                }
            }
            let slot = match kind {
                Kind::Deployment => &mut snapshot.deployments,
                Kind::DaemonSet => &mut snapshot.daemonsets,
                Kind::Service => &mut snapshot.services,
                Kind::Ingress => &mut snapshot.ingresses,
                Kind::HttpRoute => &mut snapshot.httproutes,
                Kind::GrpcRoute => &mut snapshot.grpcroutes,
                Kind::VirtualService => &mut snapshot.virtualservices,
                Kind::TrafficSplit => &mut snapshot.trafficsplits,
                Kind::HttpProxy => &mut snapshot.httpproxies,
                Kind::TraefikService => &mut snapshot.traefikservices,
                Kind::ApisixRoute => &mut snapshot.apisixroutes,
                Kind::RouteTable => &mut snapshot.routetables,
                Kind::Upstream => &mut snapshot.upstreams,
                Kind::TrafficRoute => &mut snapshot.trafficroutes,
                Kind::MeshHttpRoute => &mut snapshot.meshhttproutes,
                Kind::KnativeService => &mut snapshot.knative_services,
            };
            *slot = items;
        }
        self.converted.retain(|uid, _| seen.contains(uid));
        snapshot
    }
}

impl Drop for Informers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `(namespace, name)` of an object.
pub(crate) fn key_of(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}
