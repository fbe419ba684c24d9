//! Kinds defined by CRDs created through the API: scope, versions, status subresource, discovery.

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::discovery::Discovery;
use serde_json::json;
use serin_sim::Server;

fn crd(scope: &str, plural: &str, kind: &str, status: bool) -> serde_json::Value {
    let mut version = json!({"name": "v1beta1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}});
    if status {
        version["subresources"] = json!({"status": {}});
    }
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.flagger.app")},
        "spec": {"group": "flagger.app", "scope": scope, "versions": [version],
                 "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "shortNames": ["cn"]}}})
}

#[tokio::test]
async fn crd_defined_kinds_are_served_with_status_subresource() {
    let server = Server::start_default().await.unwrap();
    let client = server.client().unwrap();
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let created: DynamicObject = crds
        .create(
            &PostParams::default(),
            &serde_json::from_value(crd("Namespaced", "canaries", "Canary", true)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        created.data["status"]["conditions"][1]["type"],
        "Established"
    );

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (resource, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("flagger.app", "v1beta1", "Canary"))
        .expect("canary discovered");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let canaries: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let canary = json!({"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "podinfo"},
        "spec": {"targetRef": {"name": "podinfo"}}, "status": {"phase": "Ignored"}});
    let stored = canaries
        .create(
            &PostParams::default(),
            &serde_json::from_value(canary).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        stored.data.get("status").is_none(),
        "status dropped on create"
    );
    let status = json!({"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "status": {"phase": "Progressing"}});
    let updated = canaries
        .patch_status(
            "podinfo",
            &PatchParams::apply("serin").force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    assert_eq!(updated.data["status"]["phase"], "Progressing");
    assert_eq!(updated.metadata.generation, Some(1));
    // Status fields the manager stops applying are removed, as from the main resource.
    let with_extra = json!({"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "status": {"phase": "Progressing", "manualControls": {"paused": true}}});
    let apply_status = |status: serde_json::Value| {
        let canaries = canaries.clone();
        async move {
            canaries
                .patch_status(
                    "podinfo",
                    &PatchParams::apply("serin").force(),
                    &Patch::Apply(&status),
                )
                .await
                .unwrap()
        }
    };
    let paused = apply_status(with_extra).await;
    assert_eq!(paused.data["status"]["manualControls"]["paused"], true);
    let resumed = apply_status(status.clone()).await;
    assert_eq!(resumed.data["status"], json!({"phase": "Progressing"}));
    let unchanged = apply_status(status.clone()).await;
    assert_eq!(
        unchanged.metadata.resource_version, resumed.metadata.resource_version,
        "an apply that changes nothing writes nothing"
    );
    let spec = json!({"spec": {"targetRef": {"name": "other"}}});
    let bumped = canaries
        .patch("podinfo", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .unwrap();
    assert_eq!(bumped.metadata.generation, Some(2));
    assert_eq!(bumped.data["status"]["phase"], "Progressing");

    // Deleting the CRD removes the kind.
    crds.delete("canaries.flagger.app", &kube::api::DeleteParams::default())
        .await
        .unwrap();
    let err = canaries.get("podinfo").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
}

#[tokio::test]
async fn cluster_scoped_crd_kinds_have_no_namespace() {
    let server = Server::start_default().await.unwrap();
    server
        .apply_yaml(&serde_yaml::to_string(&crd("Cluster", "gates", "Gate", false)).unwrap())
        .unwrap();
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("flagger.app", "v1beta1", "Gate"),
        "gates",
    );
    let gates: Api<DynamicObject> = Api::all_with(server.client().unwrap(), &resource);
    let gate = json!({"apiVersion": "flagger.app/v1beta1", "kind": "Gate", "metadata": {"name": "g"}, "status": {"open": true}});
    let stored = gates
        .create(
            &PostParams::default(),
            &serde_json::from_value(gate).unwrap(),
        )
        .await
        .unwrap();
    assert!(stored.metadata.namespace.is_none());
    assert_eq!(
        stored.data["status"]["open"], true,
        "no status subresource: status is kept"
    );
    let err = gates.get_status("g").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "no /status: {err:?}"
    );
}
