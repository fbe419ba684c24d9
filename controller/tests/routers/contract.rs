//! The router contract: what every router must do, checked against the Kubernetes API emulator
//! with the router's upstream CRDs installed. One suite, many routers: each instantiates
//! [`Case`] and runs [`check`].

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use serin_controller::routers::{
    DesiredObject, Referenced, RouteInput, RouteObservation, Router, RouterOptions, TrafficSplit,
    router_for,
};
use serin_crds::canary::{Provider, SessionAffinity};
use serin_crds::routing::{Mirroring, route_capabilities};
use serin_crds::validation::{RoutingSpec, ValidCanary, Weight, validate_canary};
use serin_decide::Routes;
use serin_sim::Server;

/// One router under the contract.
pub(crate) struct Case {
    /// The provider.
    pub(crate) provider: Provider,
    /// The CRDs of its kinds, as a cluster operator installs them.
    pub(crate) crds: Vec<String>,
    /// A Canary spec for it (progressive, with `spec.service`), as YAML.
    pub(crate) spec: String,
    /// The user's objects the spec refers to (the Ingress in `spec.ingressRef`, say), as YAML
    /// documents in the namespace `test`.
    pub(crate) objects: Vec<String>,
    /// The status its controller writes once it has taken an object, or `None` when it reports
    /// none (then the spec is taken as live).
    pub(crate) accepted: fn(&Value) -> Option<Value>,
}

const FIELD_MANAGER: &str = serin_controller::FIELD_MANAGER;

struct World {
    /// Kept running for the client.
    _server: Server,
    client: kube::Client,
    /// UID of an object standing in for the Canary: routing objects are owned by it, and the
    /// emulator's garbage collector (like the API server's) deletes objects whose owner is gone.
    owner_uid: String,
}

impl World {
    async fn start(case: &Case) -> World {
        let server = Server::start_default().await.expect("emulator");
        for crd in &case.crds {
            server.apply_yaml(crd).expect("install the router's CRDs");
        }
        server
            .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: test}\n")
            .expect("namespace");
        for object in &case.objects {
            server.apply_yaml(object).expect("the user's objects");
        }
        let client = server.client().expect("client");
        let owner: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(client.clone(), "test");
        let owner = owner
            .create(
                &kube::api::PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "podinfo-owner"}}))
                    .expect("config map"),
            )
            .await
            .expect("the owner's stand-in");
        World {
            _server: server,
            client,
            owner_uid: owner.metadata.uid.expect("a uid"),
        }
    }

    fn api(&self, object: &DesiredObject) -> Api<DynamicObject> {
        let resource = object.kind.api_resource();
        if object.kind.namespaced {
            Api::namespaced_with(self.client.clone(), "test", &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        }
    }

    /// The objects `router` reads for `routing`, fetched as the observe step does.
    async fn referenced(&self, router: &dyn Router, routing: &RoutingSpec) -> Referenced {
        let mut referenced = Referenced::new();
        for key in router.references("test", routing) {
            let resource = key.kind.api_resource();
            let api: Api<DynamicObject> = if key.kind.namespaced {
                Api::namespaced_with(self.client.clone(), &key.namespace, &resource)
            } else {
                Api::all_with(self.client.clone(), &resource)
            };
            let object = api
                .get_opt(&key.name)
                .await
                .expect("read a referenced object");
            let object = object.map(|o| serde_json::to_value(o).expect("json"));
            referenced.insert(key, object);
        }
        referenced
    }

    /// Applies `objects` as serin does; returns them as stored.
    async fn apply(&self, objects: &[DesiredObject]) -> Vec<Value> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut stored = Vec::new();
        for object in objects {
            let written = self
                .api(object)
                .patch(&object.name, &params, &Patch::Apply(&object.object))
                .await;
            assert!(
                written.is_ok(),
                "apply {} {}: {written:?}",
                object.kind.kind,
                object.name
            );
            let written = written.expect("applied");
            stored.push(serde_json::to_value(written).expect("json"));
        }
        stored
    }

    /// Writes what the router's controller reports on each object, then reads them back.
    async fn accept(&self, case: &Case, objects: &[DesiredObject]) -> Vec<Value> {
        let mut read = Vec::new();
        for object in objects {
            let api = self.api(object);
            let stored =
                serde_json::to_value(api.get(&object.name).await.expect("get")).expect("json");
            if let Some(status) = (case.accepted)(&stored) {
                let patch = Patch::Merge(json!({ "status": status }));
                let params = PatchParams::default();
                match api.patch_status(&object.name, &params, &patch).await {
                    // A kind without a status subresource (Gloo's) takes status in the object.
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        api.patch(&object.name, &params, &patch)
                            .await
                            .expect("write the status in the object");
                    }
                    written => {
                        written.expect("write the status");
                    }
                }
            }
            read.push(
                serde_json::to_value(api.get(&object.name).await.expect("get")).expect("json"),
            );
        }
        read
    }
}

fn valid(case: &Case, change: impl FnOnce(&mut serin_crds::CanarySpec)) -> ValidCanary {
    let mut spec: serin_crds::CanarySpec = serde_yaml::from_str(&case.spec).expect("spec YAML");
    spec.provider = Some(case.provider);
    change(&mut spec);
    validate_canary(&spec, None).expect("the case's spec is valid")
}

fn input<'a>(
    uid: &'a str,
    routing: &'a RoutingSpec,
    affinity: Option<&'a SessionAffinity>,
    referenced: &'a Referenced,
) -> RouteInput<'a> {
    RouteInput {
        canary: "podinfo",
        namespace: "test",
        canary_uid: uid,
        routing,
        session_affinity: affinity,
        annotations: &serin_controller::routers::NO_ANNOTATIONS,
        referenced,
    }
}

fn split(canary: u32) -> TrafficSplit {
    TrafficSplit::new(Routes::split(Weight::new(canary).expect("weight")))
}

/// Runs the whole contract for `case`.
pub(crate) async fn check(case: Case) {
    check_with(case, &RouterOptions::default()).await;
}

/// Runs the whole contract for `case`, with the router built under `options`.
pub(crate) async fn check_with(case: Case, options: &RouterOptions) {
    let router = router_for(case.provider, options).expect("the router is built");
    let world = World::start(&case).await;
    let valid = valid(&case, |_| {});
    let route_kind = valid.routing.service.route_kind.unwrap_or_default();
    let caps = route_capabilities(case.provider, route_kind);
    let referenced = world.referenced(router.as_ref(), &valid.routing).await;
    let plain = input(&world.owner_uid, &valid.routing, None, &referenced);
    if !caps.weighted {
        let objects = router.desired_routes(&plain, &split(0)).expect("routes");
        assert!(
            objects.is_empty(),
            "a router without weights writes no routing objects"
        );
        assert_eq!(
            router.observe(&plain, &[]).live(),
            Some(Routes::all_primary()),
            "and all traffic is on the primary"
        );
        return;
    }
    weights_read_back(&world, &case, router.as_ref(), &plain).await;
    applying_twice_changes_nothing(&world, router.as_ref(), &plain).await;
    foreign_fields_survive(&world, &case, router.as_ref(), &plain).await;
    declared_kinds_cover_what_is_written(router.as_ref(), &plain);
    if caps.ab_matches.any() {
        ab_testing_reads_back_as_matched(&world, &case, router.as_ref(), &referenced).await;
    }
    if caps.mirroring != Mirroring::None {
        mirroring_reads_back(&world, &case, router.as_ref(), &plain).await;
    }
    if caps.session_affinity {
        cookies_are_written(&case, router.as_ref(), &referenced);
    }
}

async fn weights_read_back(
    world: &World,
    case: &Case,
    router: &dyn Router,
    input: &RouteInput<'_>,
) {
    for weight in [0, 10, 50, 100] {
        let objects = router
            .desired_routes(input, &split(weight))
            .expect("routes");
        assert!(
            !objects.is_empty(),
            "{}: a weighted router writes routing objects",
            case.provider
        );
        world.apply(&objects).await;
        let read = world.accept(case, &objects).await;
        let observed = router.observe(input, &read);
        assert!(
            matches!(observed, RouteObservation::Live { .. }),
            "{}: at {weight}% the routes read {observed:?}",
            case.provider
        );
        if let RouteObservation::Live { routes, .. } = observed {
            assert_eq!(
                u32::from(routes.canary.get()),
                weight,
                "{}: canary weight",
                case.provider
            );
            assert_eq!(
                u32::from(routes.primary.get()) + u32::from(routes.canary.get()),
                100,
                "{}: weights sum to 100",
                case.provider
            );
        }
    }
}

async fn applying_twice_changes_nothing(
    world: &World,
    router: &dyn Router,
    input: &RouteInput<'_>,
) {
    let objects = router.desired_routes(input, &split(30)).expect("routes");
    let first = world.apply(&objects).await;
    let second = world.apply(&objects).await;
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"],
            "a second apply of {} changed it",
            a["metadata"]["name"]
        );
    }
}

async fn foreign_fields_survive(
    world: &World,
    case: &Case,
    router: &dyn Router,
    input: &RouteInput<'_>,
) {
    let objects = router.desired_routes(input, &split(10)).expect("routes");
    world.apply(&objects).await;
    for object in &objects {
        let foreign = json!({
            "apiVersion": object.object["apiVersion"],
            "kind": object.object["kind"],
            "metadata": {
                "name": object.name,
                "annotations": {"example.com/owner": "team-a"},
                "labels": {"example.com/tier": "web"},
            },
        });
        world
            .api(object)
            .patch(
                &object.name,
                &PatchParams::apply("someone-else"),
                &Patch::Apply(&foreign),
            )
            .await
            .expect("another manager adds metadata");
    }
    let moved = router.desired_routes(input, &split(20)).expect("routes");
    let stored = world.apply(&moved).await;
    for object in &stored {
        assert_eq!(
            object["metadata"]["annotations"]["example.com/owner"], "team-a",
            "{}",
            case.provider
        );
        assert_eq!(
            object["metadata"]["labels"]["example.com/tier"], "web",
            "{}",
            case.provider
        );
    }
    let read = world.accept(case, &moved).await;
    assert_eq!(
        router.observe(input, &read).live().map(|r| r.canary),
        Weight::new(20),
        "{}: still read back after another manager's change",
        case.provider
    );
}

fn declared_kinds_cover_what_is_written(router: &dyn Router, input: &RouteInput<'_>) {
    let written: Vec<_> = router
        .desired_routes(input, &split(10))
        .expect("routes")
        .iter()
        .map(|o| o.kind)
        .collect();
    for kind in written {
        assert!(
            router
                .kinds()
                .iter()
                .any(|k| k.kind == kind && k.access == serin_controller::routers::Access::Write),
            "{} writes {kind:?} without declaring it",
            router.name()
        );
    }
}

async fn ab_testing_reads_back_as_matched(
    world: &World,
    case: &Case,
    router: &dyn Router,
    referenced: &Referenced,
) {
    let valid = valid(case, |spec| {
        spec.analysis.step_weight = None;
        spec.analysis.max_weight = None;
        spec.analysis.iterations = Some(3);
        spec.analysis.match_ = Some(vec![
            serde_json::from_value(json!({
                "headers": {"x-canary": {"exact": "insider"}}
            }))
            .expect("match"),
        ]);
    });
    let input = input(&world.owner_uid, &valid.routing, None, referenced);
    let objects = router
        .desired_routes(&input, &TrafficSplit::new(Routes::ab_testing()))
        .expect("routes");
    world.apply(&objects).await;
    let read = world.accept(case, &objects).await;
    let live = router.observe(&input, &read).live().expect("live");
    assert!(
        live.matched_to_canary,
        "{}: matching requests go to the canary: {live:?}",
        case.provider
    );
    assert!(
        serde_json::to_string(&objects.iter().map(|o| &o.object).collect::<Vec<_>>())
            .expect("json")
            .contains("insider"),
        "{}: the match is written",
        case.provider
    );
    let back = router.desired_routes(&input, &split(0)).expect("routes");
    world.apply(&back).await;
    let read = world.accept(case, &back).await;
    assert!(
        !router
            .observe(&input, &read)
            .live()
            .expect("live")
            .matched_to_canary
    );
}

async fn mirroring_reads_back(
    world: &World,
    case: &Case,
    router: &dyn Router,
    input: &RouteInput<'_>,
) {
    let objects = router
        .desired_routes(input, &TrafficSplit::new(Routes::mirrored(Weight::FULL)))
        .expect("routes");
    world.apply(&objects).await;
    let read = world.accept(case, &objects).await;
    let live = router.observe(input, &read).live().expect("live");
    assert!(
        live.mirror.is_some(),
        "{}: mirroring reads back",
        case.provider
    );
    assert_eq!(live.canary, Weight::ZERO);
}

fn cookies_are_written(case: &Case, router: &dyn Router, referenced: &Referenced) {
    let affinity = SessionAffinity {
        cookie_name: "flagger-cookie".into(),
        ..SessionAffinity::default()
    };
    let valid = valid(case, |_| {});
    let input = input("uid-podinfo", &valid.routing, Some(&affinity), referenced);
    let sticky = TrafficSplit {
        sticky_cookie: Some("flagger-cookie=abc123".into()),
        ..split(20)
    };
    let text = serde_json::to_string(
        &router
            .desired_routes(&input, &sticky)
            .expect("routes")
            .iter()
            .map(|o| &o.object)
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(
        text.contains("Set-Cookie"),
        "{}: the canary sets the cookie",
        case.provider
    );
    assert!(
        text.contains("abc123"),
        "{}: and routes on it",
        case.provider
    );
    let expired = TrafficSplit {
        expired_cookie: Some("flagger-cookie=abc123".into()),
        ..split(0)
    };
    let text = serde_json::to_string(
        &router
            .desired_routes(&input, &expired)
            .expect("routes")
            .iter()
            .map(|o| &o.object)
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(
        text.contains("Max-Age=-1"),
        "{}: the old cookie is expired",
        case.provider
    );
}

/// A Gateway API parent status accepting `route` at its generation.
#[allow(clippy::unnecessary_wraps, reason = "the signature of Case::accepted")]
pub(crate) fn gateway_accepted(route: &Value) -> Option<Value> {
    let generation = route["metadata"]["generation"].clone();
    let parents: Vec<Value> = route["spec"]["parentRefs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|parent| {
            json!({
                "parentRef": parent,
                "controllerName": "example.com/gateway",
                "conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                     "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "",
                     "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"}
                ]
            })
        })
        .collect();
    Some(json!({ "parents": parents }))
}

#[allow(
    dead_code,
    reason = "used by routers whose controllers report no status"
)]
pub(crate) fn no_status(_: &Value) -> Option<Value> {
    None
}
