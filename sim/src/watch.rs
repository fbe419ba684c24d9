//! Watch streams: replay from a resourceVersion, live events, bookmarks, 410 Gone and injected drops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use crate::error::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::ops::{Emulator, ListOptions, Target};
use crate::store::{EventType, StoredEvent};

/// Query parameters of a watch.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// `resourceVersion`; `None` (or `0`) starts with the current state as ADDED events.
    pub since: Option<u64>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`: replay current state, then a bookmark marking its end.
    pub send_initial_events: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// Selectors.
    pub options: ListOptions,
    /// How event objects are rendered (`Table` for `kubectl get -w`, metadata only, or whole).
    pub render: crate::render::Render,
}

/// What a watch task needs besides its parameters.
#[derive(Debug, Clone)]
pub struct WatchContext {
    /// Faults (watch drops).
    pub faults: Arc<Faults>,
    /// Changes when all watches must be dropped.
    pub drop_all: watch::Receiver<u64>,
    /// Bookmark period.
    pub bookmark_interval: Duration,
}

struct Pump {
    target: Target,
    api_version: String,
    params: WatchParams,
    context: WatchContext,
    tx: mpsc::Sender<Bytes>,
    synced: u64,
}

/// Starts a watch and returns its body as a stream of JSON lines.
pub fn start(
    emulator: &Emulator,
    target: Target,
    params: WatchParams,
    context: WatchContext,
) -> ApiResult<impl Stream<Item = Result<Bytes, Infallible>> + use<>> {
    let since = if params.send_initial_events {
        None
    } else {
        params.since.filter(|rv| *rv > 0)
    };
    let subscription = emulator
        .store
        .subscribe(&target.info.group_resource(), since);
    let (tx, rx) = mpsc::channel(256);
    let api_version = target.info.api_version(&target.version);
    let mut pump = Pump {
        target,
        api_version,
        params,
        context,
        tx,
        synced: 0,
    };
    match subscription {
        Ok(subscription) => {
            pump.synced = subscription.rv;
            tokio::spawn(pump.run(subscription.replay, subscription.receiver));
        }
        Err(gone) => {
            tokio::spawn(async move { pump.error(&gone).await });
        }
    }
    Ok(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok(bytes), rx))
    }))
}

impl Pump {
    async fn send(&self, event_type: &str, object: &Value) -> bool {
        let mut line =
            serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
        line.push(b'\n');
        self.tx.send(Bytes::from(line)).await.is_ok()
    }

    async fn error(&self, error: &ApiError) {
        self.send("ERROR", &error.to_status()).await;
    }

    async fn bookmark(&self, initial_end: bool) -> bool {
        let mut object = json!({
            "apiVersion": self.api_version,
            "kind": self.target.info.kind,
            "metadata": {"resourceVersion": self.synced.to_string()},
        });
        if initial_end {
            object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.send("BOOKMARK", &object).await
    }

    /// Sends the event if it passes the filters; false when the client is gone or the watch must end.
    async fn deliver(&self, event: &StoredEvent) -> bool {
        let object = &event.object;
        let namespace = self
            .target
            .namespace
            .as_deref()
            .filter(|_| self.target.info.namespaced);
        let selected = |o: &Value| {
            namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
                && self.params.options.matches(o)
        };
        let was_selected = event.previous.as_deref().is_some_and(selected);
        // As Kubernetes does, a change that moves an object into or out of the selection is ADDED or DELETED.
        let now_selected = selected(object);
        let event_type = match event.event_type {
            EventType::Modified if was_selected && !now_selected => EventType::Deleted,
            EventType::Modified if !was_selected && now_selected => EventType::Added,
            other if now_selected => other,
            _ => return true,
        };
        let event_type = event_type.as_str();
        let rendered = self
            .params
            .render
            .object(&self.target.info, &self.api_version, object);
        let sent = self.send(event_type, &rendered).await;
        sent && !self.context.faults.should_drop_watch()
    }

    async fn run(
        mut self,
        replay: Vec<Arc<StoredEvent>>,
        mut receiver: broadcast::Receiver<Arc<StoredEvent>>,
    ) {
        for event in &replay {
            if !self.deliver(event).await {
                return;
            }
        }
        if self.params.send_initial_events && self.params.bookmarks && !self.bookmark(true).await {
            return;
        }
        let mut ticker = tokio::time::interval(self.context.bookmark_interval);
        ticker.tick().await;
        let timeout = self
            .params
            .timeout
            .unwrap_or(Duration::from_secs(3600 * 24));
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut drop_all = self.context.drop_all.clone();
        drop_all.mark_unchanged();
        loop {
            tokio::select! {
                next = receiver.recv() => match next {
                    Ok(event) if event.rv <= self.synced => {}
                    Ok(event) => {
                        self.synced = event.rv;
                        if !self.deliver(&event).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.error(&ApiError::gone("watch fell behind; too old resource version")).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if self.params.bookmarks => {
                    if !self.bookmark(false).await {
                        return;
                    }
                }
                () = &mut deadline => return,
                _ = drop_all.changed() => return,
                () = self.tx.closed() => return,
            }
        }
    }
}
