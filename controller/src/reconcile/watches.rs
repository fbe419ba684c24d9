//! The watches of a running controller: Canaries (untyped, so that one malformed object cannot
//! stop the list), and the kinds a reconcile reads, each into a cache (see [`super::caches`]).
//! A change to a target, its primary, or a ConfigMap or Secret a target uses wakes the Canaries
//! concerned at once; other cached kinds are read at the next tick.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::controller::Controller;
use serin_crds::Canary;

use super::caches::{self, Caches};
use super::context::Context;
use super::targets::Targets;

/// A kube-runtime controller over Canaries, with every watch the reconciles need; the caches
/// are published in `ctx` as they are created.
pub(super) fn controller(ctx: &Context) -> Controller<DynamicObject> {
    let resource = ApiResource::erase::<Canary>(&());
    let (deployments, deployment_events) = caches::watch(scoped(ctx), caches::drop_bulk);
    let (daemonsets, daemonset_events) = caches::watch(scoped(ctx), caches::drop_bulk);
    let (services, service_events) = caches::watch(scoped(ctx), caches::drop_bulk);
    let (config_maps, config_map_events) = caches::watch(scoped(ctx), caches::strip_config_map);
    let (secrets, secret_events) = caches::watch(scoped(ctx), caches::strip_secret);
    let (metric_templates, template_events) = caches::watch(scoped(ctx), caches::drop_bulk);
    let (alert_providers, provider_events) = caches::watch(scoped(ctx), caches::drop_bulk);
    let tracking = ctx.config.config_tracking;
    let (routes, route_events) = route_watches(ctx);
    *ctx.caches
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Caches {
        deployments: Some(deployments.clone()),
        daemonsets: Some(daemonsets.clone()),
        services: Some(services),
        config_maps: tracking.then_some(config_maps),
        secrets: tracking.then_some(secrets),
        metric_templates: Some(metric_templates),
        alert_providers: Some(alert_providers),
        routes,
        namespace: ctx.config.namespace.clone(),
    });
    let (canaries, canary_events) = caches::watch_canaries(canary_api(ctx, &resource), &resource);
    *ctx.canaries
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(canaries.clone());
    let targets = Targets::new(canaries.clone(), resource.clone(), deployments, daemonsets);
    let mut controller = Controller::for_stream_with(canary_events, canaries, resource)
        .watches_stream(deployment_events, {
            let t = targets.clone();
            move |d: Deployment| t.using_workload(&d)
        })
        .watches_stream(daemonset_events, {
            let t = targets.clone();
            move |d: DaemonSet| t.using_workload(&d)
        })
        // Only cached: read at the next tick, which repairs a generated Service changed by hand.
        .watches_stream(service_events, |_| Vec::new())
        // Only cached: a template or provider is read when it is needed.
        .watches_stream(template_events, |_| Vec::new())
        .watches_stream(provider_events, |_| Vec::new());
    if tracking {
        controller = controller
            .watches_stream(config_map_events, {
                let t = targets.clone();
                move |c: ConfigMap| t.using_config(&c)
            })
            .watches_stream(secret_events, move |c: Secret| targets.using_config(&c));
    }
    for (events, resource) in route_events {
        // Only cached: routes change when serin changes them, and the next tick reads them.
        controller = controller.watches_stream_with(events, |_| Vec::new(), resource);
    }
    controller
}

/// The Canaries of the watched namespace, or of all of them.
fn canary_api(ctx: &Context, resource: &ApiResource) -> Api<DynamicObject> {
    match &ctx.config.namespace {
        Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, resource),
        None => Api::all_with(ctx.client.clone(), resource),
    }
}

type RouteEvents = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<DynamicObject, kube::runtime::watcher::Error>> + Send>,
>;

type RouteStores =
    BTreeMap<crate::routers::RouteKind, kube::runtime::reflector::Store<DynamicObject>>;

/// A watch into a cache for every kind the routers declare. A kind the cluster does not serve
/// (a mesh not installed) is watched once discovery lists it; until then its objects are read
/// from the API, and a Canary needing it is stalled with the reason.
fn route_watches(ctx: &Context) -> (RouteStores, Vec<(RouteEvents, ApiResource)>) {
    let mut routes = BTreeMap::new();
    let mut events: Vec<(RouteEvents, ApiResource)> = Vec::new();
    for used in crate::routers::all_kinds() {
        let kind = used.kind;
        let resource = kind.api_resource();
        let api = match (&ctx.config.namespace, kind.namespaced) {
            (Some(ns), true) => Api::namespaced_with(ctx.client.clone(), ns, &resource),
            _ => Api::all_with(ctx.client.clone(), &resource),
        };
        let (store, stream) = caches::watch_routes(api, &resource);
        routes.insert(kind, store);
        let client = ctx.client.clone();
        let served = resource.clone();
        let gated = futures::stream::once(async move {
            until_served(&client, &served).await;
            stream
        })
        .flatten();
        events.push((Box::pin(gated), resource));
    }
    (routes, events)
}

/// How often discovery is asked again for a kind the cluster did not serve.
const DISCOVERY_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// Returns once the API server serves `resource`, asking discovery every
/// [`DISCOVERY_PERIOD`]; an unanswered discovery request counts as served, so that the watch's
/// own retries take over.
async fn until_served(client: &kube::Client, resource: &ApiResource) {
    loop {
        let listed = if resource.group.is_empty() {
            client.list_core_api_resources(&resource.version).await
        } else {
            client.list_api_group_resources(&resource.api_version).await
        };
        match listed {
            Ok(list) if list.resources.iter().any(|r| r.name == resource.plural) => return,
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                tracing::debug!(kind = %resource.kind, error = %e, "discovery did not answer");
                return;
            }
        }
        tracing::debug!(kind = %resource.kind, "not served; its routing objects are read from the API");
        tokio::time::sleep(DISCOVERY_PERIOD).await;
    }
}

/// An API for `K` in the watched namespace, or in all of them.
fn scoped<K>(ctx: &Context) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match &ctx.config.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    }
}
