//! Reads the objects the simulated cluster acts on, once per tick, through the Kubernetes API.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

/// The kinds read each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Deployment,
    DaemonSet,
    Service,
    Ingress,
    HttpRoute,
    VirtualService,
    TrafficSplit,
}

impl Kind {
    const ALL: [Self; 7] = [
        Self::Deployment,
        Self::DaemonSet,
        Self::Service,
        Self::Ingress,
        Self::HttpRoute,
        Self::VirtualService,
        Self::TrafficSplit,
    ];

    pub(crate) fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Self::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Self::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets"),
            Self::Service => ("", "v1", "Service", "services"),
            Self::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Self::HttpRoute => ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
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
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }
}

/// All objects of the watched kinds, as JSON.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snapshot {
    pub(crate) deployments: Vec<Value>,
    pub(crate) daemonsets: Vec<Value>,
    pub(crate) services: Vec<Value>,
    pub(crate) ingresses: Vec<Value>,
    pub(crate) httproutes: Vec<Value>,
    pub(crate) virtualservices: Vec<Value>,
    pub(crate) trafficsplits: Vec<Value>,
}

async fn list(client: &kube::Client, kind: Kind) -> Result<Vec<Value>, kube::Error> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.resource());
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list
            .items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect()),
        // The kind's CRD is not installed: nothing to simulate.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

impl Snapshot {
    /// Lists every kind; a kind whose CRD is missing is empty.
    pub(crate) async fn read(client: &kube::Client) -> Result<Self, kube::Error> {
        let mut snapshot = Self::default();
        for kind in Kind::ALL {
            let items = list(client, kind).await?;
            let slot = match kind {
                Kind::Deployment => &mut snapshot.deployments,
                Kind::DaemonSet => &mut snapshot.daemonsets,
                Kind::Service => &mut snapshot.services,
                Kind::Ingress => &mut snapshot.ingresses,
                Kind::HttpRoute => &mut snapshot.httproutes,
                Kind::VirtualService => &mut snapshot.virtualservices,
                Kind::TrafficSplit => &mut snapshot.trafficsplits,
            };
            *slot = items;
        }
        Ok(snapshot)
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
