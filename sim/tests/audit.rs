//! The write audit over HTTP: what is recorded for each kind of request, and what is not.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;
use serin_sim::Server;

fn client(server: &Server, agent: &str) -> kube::Client {
    let mut config = kube::Config::new(server.base_url().parse().expect("server URL"));
    config.headers.push((
        axum::http::header::USER_AGENT,
        agent.parse().expect("header value"),
    ));
    kube::Client::try_from(config).expect("client")
}

fn named<T: Default>(name: &str, with: impl FnOnce(ObjectMeta) -> T) -> T {
    with(ObjectMeta {
        name: Some(name.into()),
        ..ObjectMeta::default()
    })
}

#[tokio::test]
async fn successful_writes_are_recorded_with_their_sender_and_reads_and_failures_are_not() {
    let server = Server::start_default().await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client(&server, "writer/1"), "default");
    let leases: Api<Lease> = Api::namespaced(client(&server, "elector/1"), "default");

    let cm = named("settings", |metadata| ConfigMap {
        metadata,
        ..ConfigMap::default()
    });
    config_maps
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    config_maps.get("settings").await.unwrap();
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let other = named("dry", |metadata| ConfigMap {
        metadata,
        ..ConfigMap::default()
    });
    config_maps.create(&dry_run, &other).await.unwrap();
    config_maps
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "1"}})),
        )
        .await
        .unwrap();
    config_maps
        .delete("missing", &DeleteParams::default())
        .await
        .unwrap_err();
    let lease = named("serin-leader", |metadata| Lease {
        metadata,
        spec: Some(LeaseSpec {
            holder_identity: Some("serin-a".into()),
            ..LeaseSpec::default()
        }),
    });
    leases.create(&PostParams::default(), &lease).await.unwrap();
    config_maps
        .delete("settings", &DeleteParams::default())
        .await
        .unwrap();

    let audit = server.audit();
    let seen: Vec<_> = audit
        .iter()
        .map(|e| {
            (
                e.seq,
                e.user_agent.as_str(),
                e.verb.as_str(),
                e.resource.as_str(),
                e.name.as_deref(),
                e.lease_holder.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                "writer/1",
                "create",
                "configmaps",
                Some("settings"),
                None
            ),
            (2, "writer/1", "patch", "configmaps", Some("settings"), None),
            (
                3,
                "elector/1",
                "create",
                "leases",
                Some("serin-leader"),
                Some("serin-a")
            ),
            (
                4,
                "writer/1",
                "delete",
                "configmaps",
                Some("settings"),
                None
            ),
        ]
    );
    assert!(
        audit
            .iter()
            .all(|e| e.namespace.as_deref() == Some("default"))
    );
    assert!(audit[2].is_lease() && audit[2].group == "coordination.k8s.io");
}
