//! Watch semantics through kube-rs: resume from a resourceVersion, bookmarks, 410 Gone, dropped connections.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use serin_sim::{FaultConfig, Server, ServerConfig};
use std::time::Duration;

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid config map")
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin),
) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("watch event in time")
        .expect("stream open")
        .expect("decodable event")
}

#[tokio::test]
async fn watch_resumes_from_resource_version_and_sends_bookmarks() {
    let config = ServerConfig {
        bookmark_interval: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let server = Server::start(config).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let first = api
        .create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    let rv = first.metadata.resource_version.unwrap();
    api.create(&PostParams::default(), &config_map("b"))
        .await
        .unwrap();

    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("b")),
        other => panic!("expected b added, got {other:?}"),
    }
    api.delete("a", &kube::api::DeleteParams::default())
        .await
        .unwrap();
    match next_event(&mut stream).await {
        WatchEvent::Deleted(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("a")),
        other => panic!("expected a deleted, got {other:?}"),
    }
    loop {
        if let WatchEvent::Bookmark(b) = next_event(&mut stream).await {
            assert!(!b.metadata.resource_version.is_empty());
            break;
        }
    }
}

#[tokio::test]
async fn too_old_resource_version_is_gone() {
    let config = ServerConfig {
        history_limit: 3,
        ..ServerConfig::default()
    };
    let server = Server::start(config).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let first = api
        .create(&PostParams::default(), &config_map("c0"))
        .await
        .unwrap();
    for i in 1..6 {
        api.create(&PostParams::default(), &config_map(&format!("c{i}")))
            .await
            .unwrap();
    }
    let old = first.metadata.resource_version.unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
    // A continue token from before the compaction is rejected the same way.
    let page = api
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .unwrap();
    let token = page.metadata.continue_.unwrap();
    for i in 6..12 {
        api.create(&PostParams::default(), &config_map(&format!("c{i}")))
            .await
            .unwrap();
    }
    let err = api
        .list(&kube::api::ListParams::default().continue_token(&token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 410),
        "{err:?}"
    );
}

#[tokio::test]
async fn runtime_watcher_recovers_from_dropped_connections() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let mut events = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    api.create(&PostParams::default(), &config_map("before"))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.metadata.name.as_deref(), Some("before"));

    server.faults().drop_all_watches();
    server.faults().set(FaultConfig {
        watch_drop: 0.5,
        ..FaultConfig::default()
    });
    for i in 0..10 {
        api.create(&PostParams::default(), &config_map(&format!("after{i}")))
            .await
            .unwrap();
    }
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 10 {
        let next = tokio::time::timeout(Duration::from_secs(10), events.try_next())
            .await
            .unwrap();
        if let Ok(Some(cm)) = next {
            let name = cm.metadata.name.unwrap();
            if name.starts_with("after") {
                names.insert(name);
            }
        }
    }
}

#[tokio::test]
async fn injected_errors_are_returned_as_status() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    server.faults().set(FaultConfig {
        error_500: 1.0,
        ..FaultConfig::default()
    });
    let err = api.get_opt("x").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    server.faults().set(FaultConfig {
        conflict_409: 1.0,
        ..FaultConfig::default()
    });
    assert!(
        api.get_opt("x").await.unwrap().is_none(),
        "reads are not conflicted"
    );
    let err = api
        .create(&PostParams::default(), &config_map("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
}

#[tokio::test]
async fn objects_moving_out_of_a_label_selection_are_deleted_for_the_watch() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    let labelled: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a", "labels": {"tier": "web"}}}))
            .unwrap();
    let created = api.create(&PostParams::default(), &labelled).await.unwrap();
    let rv = created.metadata.resource_version.unwrap();
    let params = WatchParams::default().labels("tier=web");
    let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
    let relabel = json!({"metadata": {"labels": {"tier": "db"}}});
    let patch = kube::api::Patch::Merge(&relabel);
    api.patch("a", &kube::api::PatchParams::default(), &patch)
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut stream).await,
        WatchEvent::Deleted(_)
    ));
    let back = json!({"metadata": {"labels": {"tier": "web"}}});
    let patch = kube::api::Patch::Merge(&back);
    api.patch("a", &kube::api::PatchParams::default(), &patch)
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut stream).await,
        WatchEvent::Added(_)
    ));
}

#[tokio::test]
async fn streaming_list_watchers_get_initial_events_then_changes() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    api.create(&PostParams::default(), &config_map("existing"))
        .await
        .unwrap();
    let config = watcher::Config::default().streaming_lists();
    let mut events = watcher(api.clone(), config).applied_objects().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("existing"));
    api.create(&PostParams::default(), &config_map("new"))
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.metadata.name.as_deref(), Some("new"));
}

#[tokio::test]
async fn metadata_only_reads_and_watches_work() {
    let server = Server::start_default().await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().unwrap(), "default");
    api.create(&PostParams::default(), &config_map("meta"))
        .await
        .unwrap();
    let meta = api.get_metadata("meta").await.unwrap();
    assert_eq!(meta.metadata.name.as_deref(), Some("meta"));
    let listed = api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let metadata: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::namespaced(server.client().unwrap(), "default");
    let mut events = watcher(metadata, watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("meta"));
}
