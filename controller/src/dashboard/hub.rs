//! The dashboard's live state: every Canary in scope, its chart history and its Events, fed by
//! two API watches (Canaries, and Events about Canaries), with a broadcast of what changed for
//! the browsers' event streams.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as Change};
use serde::Serialize;
use serin_crds::Canary;
use tokio::sync::broadcast;

use super::history::History;
use crate::cli::fetch;
use crate::cli::view::{self, CanaryRow, EventView};

/// Events kept per Canary (the latest).
const EVENTS_KEPT: usize = 50;

/// `namespace/name`.
pub type Key = String;

fn key(namespace: &str, name: &str) -> Key {
    format!("{namespace}/{name}")
}

/// What changed, sent to every open event stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Update {
    /// `namespace/name`.
    pub key: Key,
    /// The Canary's new summary; `None` when it was deleted.
    pub row: Option<CanaryRow>,
}

#[derive(Default)]
struct State {
    canaries: BTreeMap<Key, (Canary, History)>,
    events: BTreeMap<Key, BTreeMap<String, EventView>>,
    /// Set once the first list of Canaries arrived.
    synced: bool,
}

/// The shared state.
pub struct Hub {
    state: Mutex<State>,
    updates: broadcast::Sender<Update>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            state: Mutex::default(),
            updates: broadcast::channel(1024).0,
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, key: Key, row: Option<CanaryRow>) {
        // No browser listening is fine.
        let _ = self.updates.send(Update { key, row });
    }

    /// A Canary was created or changed.
    pub fn apply(&self, canary: Canary) {
        let k = key(&canary.namespace().unwrap_or_default(), &canary.name_any());
        let row = view::row(&canary);
        {
            let mut state = self.lock();
            let entry = state
                .canaries
                .entry(k.clone())
                .or_insert_with(|| (canary.clone(), History::default()));
            entry.1.record(&canary, Utc::now());
            entry.0 = canary;
        }
        self.publish(k, Some(row));
    }

    /// A Canary was deleted.
    pub fn delete(&self, canary: &Canary) {
        let k = key(&canary.namespace().unwrap_or_default(), &canary.name_any());
        {
            let mut state = self.lock();
            state.canaries.remove(&k);
            state.events.remove(&k);
        }
        self.publish(k, None);
    }

    /// The watch (re)listed every Canary: those not listed are gone.
    pub fn relisted(&self, canaries: Vec<Canary>) {
        let listed: Vec<Key> = canaries
            .iter()
            .map(|c| key(&c.namespace().unwrap_or_default(), &c.name_any()))
            .collect();
        let gone: Vec<Canary> = {
            let mut state = self.lock();
            state.synced = true;
            state
                .canaries
                .values()
                .filter(|(c, _)| {
                    !listed.contains(&key(&c.namespace().unwrap_or_default(), &c.name_any()))
                })
                .map(|(c, _)| c.clone())
                .collect()
        };
        for c in &gone {
            self.delete(c);
        }
        for c in canaries {
            self.apply(c);
        }
    }

    /// An Event about a Canary was recorded or updated.
    pub fn event(&self, event: &Event) {
        let regarding = event.regarding.clone().unwrap_or_default();
        let (Some(namespace), Some(name)) = (
            regarding.namespace.or_else(|| event.namespace()),
            regarding.name,
        ) else {
            return;
        };
        let k = key(&namespace, &name);
        let id = event.uid().unwrap_or_else(|| event.name_any());
        let row = {
            let mut state = self.lock();
            // Bounded: Events about Canaries that never show up are not kept without limit.
            if !state.events.contains_key(&k) && state.events.len() >= 10_000 {
                return;
            }
            let events = state.events.entry(k.clone()).or_default();
            events.insert(id, fetch::event_view(event));
            if events.len() > EVENTS_KEPT
                && let Some(oldest) = events
                    .iter()
                    .min_by_key(|(_, e)| e.time)
                    .map(|(id, _)| id.clone())
            {
                events.remove(&oldest);
            }
            state.canaries.get(&k).map(|(c, _)| view::row(c))
        };
        if row.is_some() {
            self.publish(k, row);
        }
    }

    /// Whether the first list of Canaries arrived.
    pub fn synced(&self) -> bool {
        self.lock().synced
    }

    /// Every Canary's summary, by namespace and name.
    pub fn rows(&self) -> Vec<CanaryRow> {
        self.lock()
            .canaries
            .values()
            .map(|(c, _)| view::row(c))
            .collect()
    }

    /// One Canary, its history and its Events.
    pub fn get(&self, namespace: &str, name: &str) -> Option<(Canary, History, Vec<EventView>)> {
        let state = self.lock();
        let k = key(namespace, name);
        let (canary, history) = state.canaries.get(&k)?;
        let events = state
            .events
            .get(&k)
            .map(|e| e.values().cloned().collect())
            .unwrap_or_default();
        Some((canary.clone(), history.clone(), events))
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }
}

/// Keeps the hub's Canaries current from a watch until the stream ends.
pub async fn feed_canaries(hub: Arc<Hub>, api: Api<Canary>) {
    let mut stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut listing = Vec::new();
    while let Some(change) = stream.next().await {
        match change {
            Ok(Change::Init) => listing.clear(),
            Ok(Change::InitApply(c)) => listing.push(c),
            Ok(Change::InitDone) => hub.relisted(std::mem::take(&mut listing)),
            Ok(Change::Apply(c)) => hub.apply(c),
            Ok(Change::Delete(c)) => hub.delete(&c),
            Err(e) => tracing::warn!(error = %e, "watching Canaries (retrying)"),
        }
    }
}

/// Keeps the hub's Events current from a watch until the stream ends.
pub async fn feed_events(hub: Arc<Hub>, api: Api<Event>) {
    let config = watcher::Config::default().fields("regarding.kind=Canary");
    let mut stream = watcher::watcher(api, config)
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(e) => hub.event(&e),
            Err(e) => tracing::warn!(error = %e, "watching Events (retrying)"),
        }
    }
}
