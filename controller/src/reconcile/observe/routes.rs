//! The router's part of the observe step: the user objects it reads (fetched first, so that
//! building is pure), then the routing objects it writes, read back into a
//! [`RouteObservation`].

use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::ObjectRef;
use serde_json::Value;
use serin_crds::validation::ValidCanary;
use serin_decide::Routes;

use super::super::caches::{Caches, Lookup, lookup_in};
use super::super::context::Context;
use super::super::error::Result;
use super::super::subject::Identity;
use crate::routers::{ObjectKey, Referenced, RouteInput, RouteObservation, Router, TrafficSplit};

/// What the router's objects say.
pub(super) struct ObservedRouting {
    /// The objects the router reads, as fetched.
    pub(super) referenced: Referenced,
    /// The routing objects it writes that exist.
    pub(super) objects: Vec<Value>,
    /// What they say of the split.
    pub(super) observation: RouteObservation,
}

pub(super) async fn observe(
    ctx: &Context,
    caches: &Caches,
    id: &Identity,
    valid: &ValidCanary,
    router: &dyn Router,
) -> Result<ObservedRouting> {
    let mut referenced = Referenced::new();
    for key in router.references(&id.namespace, &valid.routing) {
        let object = fetch(ctx, caches, &key).await?;
        referenced.insert(key, object);
    }
    let input = RouteInput {
        canary: &id.name,
        namespace: &id.namespace,
        canary_uid: &id.uid,
        routing: &valid.routing,
        session_affinity: valid.session_affinity.as_ref(),
        annotations: &id.annotations,
        referenced: &referenced,
    };
    // The objects the router writes, named as for any split.
    let desired = router.desired_routes(&input, &TrafficSplit::new(Routes::all_primary()))?;
    let mut objects = Vec::new();
    for object in &desired {
        let key = ObjectKey {
            kind: object.kind,
            namespace: if object.kind.namespaced {
                id.namespace.clone()
            } else {
                String::new()
            },
            name: object.name.clone(),
        };
        objects.extend(fetch(ctx, caches, &key).await?);
    }
    let observation = router.observe(&input, &objects);
    Ok(ObservedRouting {
        referenced,
        objects,
        observation,
    })
}

/// One object, from the cache of its kind once synced, from the API otherwise. A kind the
/// cluster does not serve reads as no object: applying it then says what is missing.
pub(super) async fn fetch(
    ctx: &Context,
    caches: &Caches,
    key: &ObjectKey,
) -> Result<Option<Value>> {
    let resource = key.kind.api_resource();
    let reference = if key.kind.namespaced {
        ObjectRef::new_with(&key.name, resource.clone()).within(&key.namespace)
    } else {
        ObjectRef::new_with(&key.name, resource.clone())
    };
    // Absent from the cache is confirmed with the API, as in `cached_or_get`.
    let object = match lookup_in(caches.routes(&key.kind), &reference) {
        Lookup::Known(Some(object)) => Some((*object).clone()),
        Lookup::Known(None) | Lookup::Unknown => {
            let api: Api<DynamicObject> = if key.kind.namespaced {
                Api::namespaced_with(ctx.client.clone(), &key.namespace, &resource)
            } else {
                Api::all_with(ctx.client.clone(), &resource)
            };
            api.get_opt(&key.name).await?
        }
    };
    Ok(object.map(serde_json::to_value).transpose()?)
}
