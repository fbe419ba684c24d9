//! Reading a Canary and what belongs to it from the API (I/O): the Canary, its Events, its
//! target and the objects it owns. Missing objects and refused calls become errors a person can
//! act on, or notes in the view.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, ListParams, ObjectList};
use kube::core::PartialObjectMeta;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serin_crds::Canary;
use serin_crds::canary::TargetKind;

use super::error::{CliError, Op};
use super::kube_args::{Cluster, Scope};
use super::view::{EventView, ObjectView, Related, WorkloadView};

/// RBAC's name of the Canary resource.
pub const CANARIES: &str = "canaries.flagger.app";
const EVENTS: &str = "events.events.k8s.io";

/// The Canary API in `scope`.
pub fn canaries(cluster: &Cluster, scope: &Scope) -> Api<Canary> {
    match scope {
        Scope::Namespace(ns) => Api::namespaced(cluster.client.clone(), ns),
        Scope::All => Api::all(cluster.client.clone()),
    }
}

/// Whether the cluster serves `flagger.app/v1beta1` canaries.
pub async fn serves_canaries(cluster: &Cluster) -> Result<bool, CliError> {
    match cluster
        .client
        .list_api_group_resources("flagger.app/v1beta1")
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "canaries")),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(CliError::from_kube(
            Op::new("get", "discovery (/apis/flagger.app/v1beta1)", None),
            &cluster.server,
            e,
        )),
    }
}

/// Turns a 404 from a Canary call into "no serin CRDs" when the cluster serves none.
async fn explain_404(cluster: &Cluster, error: CliError) -> CliError {
    if error.is_status(404) {
        match serves_canaries(cluster).await {
            Ok(false) => CliError::NoCrds {
                server: cluster.server.clone(),
            },
            Ok(true) => error,
            Err(e) => e,
        }
    } else {
        error
    }
}

/// Every Canary in `scope`, sorted by namespace and name.
pub async fn list_canaries(cluster: &Cluster, scope: &Scope) -> Result<Vec<Canary>, CliError> {
    let op = Op::new("list", CANARIES, scope.namespace());
    let result = canaries(cluster, scope).list(&ListParams::default()).await;
    let mut items = match result {
        Ok(list) => list.items,
        Err(e) => {
            let error = explain_404(cluster, CliError::from_kube(op, &cluster.server, e)).await;
            // A namespace that does not exist holds no Canaries.
            if error.is_status(404) {
                Vec::new()
            } else {
                return Err(error);
            }
        }
    };
    items.sort_by_key(|c| (c.namespace(), c.name_any()));
    Ok(items)
}

/// The Canary `name` in `namespace`; when there is none, an error naming those that exist.
pub async fn get_canary(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<Canary, CliError> {
    let api: Api<Canary> = Api::namespaced(cluster.client.clone(), namespace);
    match api.get(name).await {
        Ok(c) => Ok(c),
        Err(e) => {
            let error = CliError::from_kube(
                Op::new("get", CANARIES, Some(namespace)),
                &cluster.server,
                e,
            );
            let error = explain_404(cluster, error).await;
            if !error.is_status(404) {
                return Err(error);
            }
            Err(not_found(cluster, namespace, name).await)
        }
    }
}

async fn not_found(cluster: &Cluster, namespace: &str, name: &str) -> CliError {
    let names = |list: Vec<Canary>| list.iter().map(ResourceExt::name_any).collect::<Vec<_>>();
    let existing = list_canaries(cluster, &Scope::Namespace(namespace.to_owned()))
        .await
        .map(names)
        .unwrap_or_default();
    // Other namespaces, when the user may list them.
    let elsewhere = list_canaries(cluster, &Scope::All)
        .await
        .map(|all| {
            all.iter()
                .filter(|c| c.name_any() == name && c.namespace().as_deref() != Some(namespace))
                .map(|c| format!("{}/{}", c.namespace().unwrap_or_default(), c.name_any()))
                .collect()
        })
        .unwrap_or_default();
    CliError::NotFound {
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        existing,
        elsewhere,
    }
}

/// The field selector of a Canary's Events.
pub fn events_selector(name: &str) -> String {
    format!("regarding.kind=Canary,regarding.name={name}")
}

/// An Event as the view shows it.
pub fn event_view(e: &Event) -> EventView {
    let time = e
        .series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.deprecated_last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .and_then(|t| {
            chrono::DateTime::from_timestamp(
                t.as_second(),
                u32::try_from(t.subsec_nanosecond()).unwrap_or(0),
            )
        });
    EventView {
        time,
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        note: e.note.clone().unwrap_or_default(),
        count: e
            .series
            .as_ref()
            .map_or(1, |s| u32::try_from(s.count).unwrap_or(1)),
    }
}

/// The Events about a Canary.
pub async fn events(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<Vec<Event>, CliError> {
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    api.list(&ListParams::default().fields(&events_selector(name)))
        .await
        .map(|l| l.items)
        .map_err(|e| {
            CliError::from_kube(Op::new("list", EVENTS, Some(namespace)), &cluster.server, e)
        })
}

/// Everything the detail view shows beside the Canary. Calls that fail (not allowed, a kind
/// the cluster does not serve) leave a note instead of failing the command.
pub async fn related(cluster: &Cluster, canary: &Canary) -> Related {
    let namespace = canary.namespace().unwrap_or_default();
    let mut notes = Vec::new();
    let events = match events(cluster, &namespace, &canary.name_any()).await {
        Ok(list) => list.iter().map(event_view).collect(),
        Err(e) => {
            notes.push(format!("events: {e}"));
            Vec::new()
        }
    };
    let target_name = canary.spec.target_ref.name.clone();
    let kind = canary.spec.target_ref.kind;
    let target = workload(cluster, &namespace, kind, &target_name, &mut notes).await;
    let primary = match kind {
        TargetKind::Deployment | TargetKind::DaemonSet => Some(
            workload(
                cluster,
                &namespace,
                kind,
                &format!("{target_name}-primary"),
                &mut notes,
            )
            .await,
        ),
        TargetKind::Service => None,
    };
    let generated = owned(cluster, canary, &namespace, &mut notes).await;
    Related {
        target,
        primary,
        generated,
        events,
        notes,
    }
}

async fn workload(
    cluster: &Cluster,
    namespace: &str,
    kind: TargetKind,
    name: &str,
    notes: &mut Vec<String>,
) -> WorkloadView {
    let mut view = WorkloadView {
        kind: format!("{kind:?}"),
        name: name.to_owned(),
        ..WorkloadView::default()
    };
    let found = match kind {
        TargetKind::Deployment => {
            get_opt::<Deployment>(cluster, namespace, name, "deployments.apps")
                .await
                .map(|d| {
                    d.map(|d| {
                        let spec = d.spec;
                        let status = d.status.unwrap_or_default();
                        (
                            images(spec.template.spec.as_ref()),
                            Some(format!(
                                "{}/{} ready",
                                status.ready_replicas.unwrap_or(0),
                                spec.replicas.unwrap_or(1)
                            )),
                        )
                    })
                })
        }
        TargetKind::DaemonSet => get_opt::<DaemonSet>(cluster, namespace, name, "daemonsets.apps")
            .await
            .map(|d| {
                d.map(|d| {
                    let status = d.status.unwrap_or_default();
                    (
                        images(d.spec.template.spec.as_ref()),
                        Some(format!(
                            "{}/{} ready",
                            status.number_ready, status.desired_number_scheduled
                        )),
                    )
                })
            }),
        TargetKind::Service => get_opt::<Service>(cluster, namespace, name, "services")
            .await
            .map(|s| s.map(|_| (Vec::new(), None))),
    };
    match found {
        Ok(Some((images, ready))) => {
            view.exists = true;
            view.images = images;
            view.ready = ready;
        }
        Ok(None) => {}
        Err(e) => notes.push(format!("{} {name}: {e}", view.kind)),
    }
    view
}

fn images(pod: Option<&k8s_openapi::api::core::v1::PodSpec>) -> Vec<String> {
    pod.map(|p| {
        p.containers
            .iter()
            .filter_map(|c| c.image.clone())
            .collect()
    })
    .unwrap_or_default()
}

async fn get_opt<K>(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    resource: &'static str,
) -> Result<Option<K>, CliError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(cluster.client.clone(), namespace);
    api.get_opt(name).await.map_err(|e| {
        CliError::from_kube(
            Op::new("get", resource, Some(namespace)),
            &cluster.server,
            e,
        )
    })
}

/// Objects in the namespace whose owner is the Canary, by kind.
async fn owned(
    cluster: &Cluster,
    canary: &Canary,
    namespace: &str,
    notes: &mut Vec<String>,
) -> Vec<ObjectView> {
    let mut owned = Owned {
        cluster,
        namespace,
        uid: canary.uid().unwrap_or_default(),
        out: Vec::new(),
        notes,
    };
    owned
        .full::<Deployment>("deployments.apps", |d| {
            let status = d.status.clone().unwrap_or_default();
            let ready = format!(
                "{}/{} ready",
                status.ready_replicas.unwrap_or(0),
                d.spec.replicas.unwrap_or(1)
            );
            ("Deployment", ready)
        })
        .await;
    if canary.spec.target_ref.kind == TargetKind::DaemonSet {
        owned
            .full::<DaemonSet>("daemonsets.apps", |d| {
                let status = d.status.clone().unwrap_or_default();
                (
                    "DaemonSet",
                    format!(
                        "{}/{} ready",
                        status.number_ready, status.desired_number_scheduled
                    ),
                )
            })
            .await;
    }
    owned
        .full::<Service>("services", |s| {
            let selector: Vec<String> = s
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            ("Service", format!("selects {}", selector.join(",")))
        })
        .await;
    owned.metadata::<ConfigMap>("ConfigMap", "configmaps").await;
    owned.metadata::<Secret>("Secret", "secrets").await;
    owned
        .metadata::<HorizontalPodAutoscaler>(
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers.autoscaling",
        )
        .await;
    owned.routes().await;
    owned.out
}

fn owned_by(uid: &str, meta: &kube::core::ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// Collects the objects one Canary owns, kind by kind; a kind that cannot be listed leaves a
/// note.
struct Owned<'a> {
    cluster: &'a Cluster,
    namespace: &'a str,
    uid: String,
    out: Vec<ObjectView>,
    notes: &'a mut Vec<String>,
}

impl Owned<'_> {
    fn note(&mut self, resource: &'static str, e: kube::Error) {
        let op = Op::new("list", resource, Some(self.namespace));
        self.notes
            .push(CliError::from_kube(op, &self.cluster.server, e).to_string());
    }

    /// Lists whole objects, described by `describe` (kind, detail).
    async fn full<K>(
        &mut self,
        resource: &'static str,
        describe: impl Fn(&K) -> (&'static str, String),
    ) where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.cluster.client.clone(), self.namespace);
        match api.list(&ListParams::default()).await {
            Ok(list) => {
                for o in list.items.iter().filter(|o| owned_by(&self.uid, o.meta())) {
                    let (kind, detail) = describe(o);
                    self.out.push(ObjectView {
                        kind: kind.to_owned(),
                        name: o.name_any(),
                        detail,
                    });
                }
            }
            Err(e) => self.note(resource, e),
        }
    }

    /// Lists only the objects' metadata (ConfigMaps and Secrets carry data the view does not
    /// show).
    async fn metadata<K>(&mut self, kind: &str, resource: &'static str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.cluster.client.clone(), self.namespace);
        let listed: Result<ObjectList<PartialObjectMeta<K>>, kube::Error> =
            api.list_metadata(&ListParams::default()).await;
        match listed {
            Ok(list) => {
                for o in list
                    .items
                    .iter()
                    .filter(|o| owned_by(&self.uid, &o.metadata))
                {
                    self.out.push(ObjectView {
                        kind: kind.to_owned(),
                        name: o.name_any(),
                        detail: String::new(),
                    });
                }
            }
            Err(e) => self.note(resource, e),
        }
    }

    /// The routing objects of every router serin has (HTTPRoutes, VirtualServices, ...), for
    /// the kinds the cluster serves.
    async fn routes(&mut self) {
        let kinds = crate::routers::all_kinds();
        for used in kinds
            .iter()
            .filter(|k| k.access == crate::routers::Access::Write && k.kind.namespaced)
        {
            let resource = used.kind.api_resource();
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.cluster.client.clone(), self.namespace, &resource);
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    for r in list
                        .items
                        .iter()
                        .filter(|r| owned_by(&self.uid, &r.metadata))
                    {
                        // A kind served at two versions (HTTPRoute v1 and v1beta1) is listed once.
                        if self
                            .out
                            .iter()
                            .any(|o| o.kind == used.kind.kind && o.name == r.name_any())
                        {
                            continue;
                        }
                        self.out.push(ObjectView {
                            kind: used.kind.kind.to_owned(),
                            name: r.name_any(),
                            detail: route_backends(&r.data),
                        });
                    }
                }
                // The kind's CRD is not installed: nothing of it to show.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    let op = Op::new("list", "routing objects", Some(self.namespace));
                    let text = CliError::from_kube(op, &self.cluster.server, e).to_string();
                    self.notes.push(format!(
                        "{} ({}): {text}",
                        used.kind.qualified(),
                        used.kind.plural
                    ));
                }
            }
        }
    }
}

/// `podinfo-primary 80, podinfo-canary 20` for the first rule of an HTTPRoute; empty for
/// objects of other shapes.
fn route_backends(route: &serde_json::Value) -> String {
    let Some(rules) = route["spec"]["rules"].as_array() else {
        return String::new();
    };
    let backends: Vec<String> = rules
        .iter()
        .take(1)
        .flat_map(|rule| rule["backendRefs"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            format!(
                "{} {}",
                b["name"].as_str().unwrap_or("?"),
                b["weight"].as_i64().unwrap_or(1)
            )
        })
        .collect();
    format!("routes to {}", backends.join(", "))
}
