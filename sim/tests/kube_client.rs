//! Drives the emulator through the real kube-rs client: CRUD, conflicts, status, SSA, finalizers, GC.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use serin_sim::Server;
use std::time::{Duration, Instant};

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}}
    }))
    .expect("valid deployment")
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn crud_generation_and_optimistic_concurrency() {
    let server = Server::start_default().await.unwrap();
    let api: Api<Deployment> = Api::namespaced(server.client().unwrap(), "default");
    let created = api
        .create(&PostParams::default(), &deployment("web", "app:1"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    let err = api
        .create(&PostParams::default(), &deployment("web", "app:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );

    let mut changed = created.clone();
    changed.spec.replicas = Some(3);
    let updated = api
        .replace("web", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(updated.metadata.generation, Some(2));
    // The stale copy now conflicts.
    let err = api
        .replace("web", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"),
        "{err:?}"
    );

    // Status and metadata changes do not bump the generation; the main endpoint ignores status.
    let status = json!({"status": {"readyReplicas": 3, "observedGeneration": 2}});
    let with_status = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(with_status.status.as_ref().unwrap().ready_replicas, Some(3));
    assert_eq!(with_status.metadata.generation, Some(2));
    let sneaky = json!({"metadata": {"labels": {"x": "y"}}, "status": {"readyReplicas": 9}});
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Merge(&sneaky))
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref().unwrap().ready_replicas, Some(3));
    assert_eq!(patched.metadata.generation, Some(2));

    let err = api.get("missing").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
    api.delete("web", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("web").await.unwrap().is_none());
}

#[tokio::test]
async fn list_selectors_and_pagination() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    for i in 0..5 {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("cm{i}"),
            "labels": {"parity": if i % 2 == 0 { "even" } else { "odd" }}}}))
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let even = api
        .list(&ListParams::default().labels("parity=even"))
        .await
        .unwrap();
    assert_eq!(even.items.len(), 3);
    let named = api
        .list(&ListParams::default().fields("metadata.name=cm1"))
        .await
        .unwrap();
    assert_eq!(named.items.len(), 1);
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().unwrap();
    let second = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.metadata.continue_.is_none());
    let all: Api<ConfigMap> = Api::all(server.client().unwrap());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        5
    );
    let odd = ListParams::default().labels("parity=odd");
    api.delete_collection(&DeleteParams::default(), &odd)
        .await
        .unwrap();
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );
    let nameless: ConfigMap = serde_json::from_value(json!({"metadata": {}})).unwrap();
    let err = api
        .create(&PostParams::default(), &nameless)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 422 && s.reason == "Invalid"),
        "{err:?}"
    );
}

#[tokio::test]
async fn strategic_merge_and_json_patch() {
    let server = Server::start_default().await.unwrap();
    let api: Api<Deployment> = Api::namespaced(server.client().unwrap(), "default");
    let mut d = deployment("web", "app:1");
    d.spec
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers
        .push(serde_json::from_value(json!({"name": "sidecar", "image": "proxy:1"})).unwrap());
    api.create(&PostParams::default(), &d).await.unwrap();
    let set_image = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}});
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(&set_image),
        )
        .await
        .unwrap();
    let containers = &patched.spec.template.spec.unwrap().containers;
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0].image.as_deref(), Some("app:2"));
    assert_eq!(patched.metadata.generation, Some(2));
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 0}]))
            .unwrap();
    let scaled = api
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(scaled.spec.replicas, Some(0));
}

#[tokio::test]
async fn server_side_apply_owns_and_prunes_fields() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let alice = PatchParams::apply("alice");
    let v1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}});
    api.patch("cfg", &alice, &Patch::Apply(&v1)).await.unwrap();
    let v2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    let applied = api.patch("cfg", &alice, &Patch::Apply(&v2)).await.unwrap();
    assert_eq!(applied.data.unwrap().len(), 1, "b is pruned");
    let managers = applied.metadata.managed_fields.unwrap();
    assert_eq!(managers[0].manager.as_deref(), Some("alice"));

    let bob = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "other"}});
    let err = api
        .patch("cfg", &PatchParams::apply("bob"), &Patch::Apply(&bob))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&bob),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "other");
}

#[tokio::test]
async fn finalizers_delay_deletion_until_removed() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["serin.dev/test"]}}),
    )
    .unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let marked = api.get("held").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    let release = json!({"metadata": {"finalizers": null}});
    api.patch("held", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn dependents_are_garbage_collected_and_namespaces_emptied() {
    let server = Server::start_default().await.unwrap();
    let client = server.client().unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "team");
    let owner = deployments
        .create(&PostParams::default(), &deployment("web", "app:1"))
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let child: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "child", "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner.metadata.uid.unwrap()}]}})).unwrap();
    cms.create(&PostParams::default(), &child).await.unwrap();
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "loose"}})).unwrap(),
    )
    .await
    .unwrap();

    deployments
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("child collected", || async {
        cms.get_opt("child").await.unwrap().is_none()
    })
    .await;
    assert!(cms.get_opt("loose").await.unwrap().is_some());

    // Orphaning keeps the dependent and drops its owner reference.
    let owner = deployments
        .create(&PostParams::default(), &deployment("web", "app:1"))
        .await
        .unwrap();
    let kept: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "kept", "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner.metadata.uid.unwrap()}]}})).unwrap();
    cms.create(&PostParams::default(), &kept).await.unwrap();
    deployments
        .delete("web", &DeleteParams::orphan())
        .await
        .unwrap();
    let kept = cms.get("kept").await.unwrap();
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    namespaces
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    eventually("namespace removed", || async {
        namespaces.get_opt("team").await.unwrap().is_none()
    })
    .await;
    assert!(cms.get_opt("loose").await.unwrap().is_none());
    let err = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn dry_run_writes_compute_but_store_nothing() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "dry"}, "data": {"a": "1"}})).unwrap();
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let previewed = api.create(&params, &cm).await.unwrap();
    assert!(previewed.metadata.uid.is_some());
    assert!(api.get_opt("dry").await.unwrap().is_none());
    api.create(&PostParams::default(), &cm).await.unwrap();
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "2"}});
    let applied = api
        .patch(
            "dry",
            &PatchParams::apply("m").dry_run(),
            &Patch::Apply(&config),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["a"], "2");
    assert_eq!(api.get("dry").await.unwrap().data.unwrap()["a"], "1");
}
