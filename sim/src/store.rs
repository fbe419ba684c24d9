//! In-memory object storage with a global resourceVersion, bounded watch history and fan-out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::resources::GroupResource;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// Kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name of the event type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug)]
pub struct StoredEvent {
    /// What happened.
    pub event_type: EventType,
    /// resourceVersion of the change.
    pub rv: u64,
    /// Object state after the change (before it, for deletions).
    pub object: Arc<Value>,
    /// Object state before a modification (for watches with selectors).
    pub previous: Option<Arc<Value>>,
}

/// What a read-modify-write closure decides.
#[derive(Debug)]
pub enum Write {
    /// Store this object (create or replace).
    Put(Value),
    /// Remove the object.
    Delete,
    /// Change nothing.
    Keep,
}

#[derive(Debug)]
struct Collection {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<Arc<StoredEvent>>,
    /// Events with `rv <= compacted` are no longer in `history`.
    compacted: u64,
    sender: broadcast::Sender<Arc<StoredEvent>>,
}

impl Collection {
    fn new(rv: u64) -> Self {
        Self {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted: rv,
            sender: broadcast::channel(WATCH_CHANNEL).0,
        }
    }
}

const WATCH_CHANNEL: usize = 8192;

#[derive(Debug, Default)]
struct State {
    rv: u64,
    collections: HashMap<GroupResource, Collection>,
    uids: HashMap<String, (GroupResource, ObjectKey)>,
}

impl State {
    fn collection(&mut self, gr: &GroupResource) -> &mut Collection {
        let rv = self.rv;
        self.collections
            .entry(gr.clone())
            .or_insert_with(|| Collection::new(rv))
    }
}

/// A snapshot for a watch: events to replay, then the live receiver.
#[derive(Debug)]
pub struct Subscription {
    /// Events (or synthetic ADDED events) to send first.
    pub replay: Vec<Arc<StoredEvent>>,
    /// Live events after the replay.
    pub receiver: broadcast::Receiver<Arc<StoredEvent>>,
    /// The store's resourceVersion at subscription time.
    pub rv: u64,
}

/// The object store of one emulated API server.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    history_limit: usize,
}

impl Store {
    /// An empty store retaining `history_limit` watch events per resource.
    pub fn new(history_limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            history_limit: history_limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// One object.
    pub fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<Arc<Value>> {
        self.lock().collections.get(gr)?.objects.get(key).cloned()
    }

    /// Objects in `namespace` (all when `None`) with keys after `after`, and the current rv.
    /// Fails with 410 when `since` (a list's original rv) has been compacted.
    pub fn list(
        &self,
        gr: &GroupResource,
        namespace: Option<&str>,
        after: Option<&ObjectKey>,
        since: Option<u64>,
    ) -> ApiResult<(Vec<Arc<Value>>, u64)> {
        let state = self.lock();
        let Some(collection) = state.collections.get(gr) else {
            return Ok((Vec::new(), state.rv));
        };
        if let Some(since) = since
            && since < collection.compacted
        {
            return Err(ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let lower = match (after, namespace) {
            (Some(key), _) => std::ops::Bound::Excluded(key.clone()),
            (None, Some(ns)) => std::ops::Bound::Included((ns.to_owned(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let items = collection
            .objects
            .range((lower, std::ops::Bound::Unbounded))
            .take_while(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, v)| Arc::clone(v))
            .collect();
        Ok((items, state.rv))
    }

    /// Atomically reads the object at `key` and applies the closure's decision.
    /// Returns the stored object after the write (the removed one for deletions), or the current one.
    pub fn mutate<F>(
        &self,
        gr: &GroupResource,
        key: &ObjectKey,
        decide: F,
    ) -> ApiResult<Option<Arc<Value>>>
    where
        F: FnOnce(Option<&Arc<Value>>, u64) -> ApiResult<Write>,
    {
        let mut state = self.lock();
        let next_rv = state.rv + 1;
        let current = state
            .collections
            .get(gr)
            .and_then(|c| c.objects.get(key))
            .cloned();
        match decide(current.as_ref(), next_rv)? {
            Write::Keep => Ok(current),
            Write::Put(mut object) => {
                object["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                let uid = object["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let object = Arc::new(object);
                state.rv = next_rv;
                state.uids.insert(uid, (gr.clone(), key.clone()));
                let event_type = if current.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                let limit = self.history_limit;
                let collection = state.collection(gr);
                collection.objects.insert(key.clone(), Arc::clone(&object));
                let event = StoredEvent {
                    event_type,
                    rv: next_rv,
                    object: Arc::clone(&object),
                    previous: current,
                };
                record(collection, limit, event);
                Ok(Some(object))
            }
            Write::Delete => {
                let Some(old) = current else { return Ok(None) };
                let mut gone = (*old).clone();
                gone["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                let gone = Arc::new(gone);
                state.rv = next_rv;
                if let Some(uid) = old["metadata"]["uid"].as_str() {
                    state.uids.remove(uid);
                }
                let limit = self.history_limit;
                let collection = state.collection(gr);
                collection.objects.remove(key);
                let event = StoredEvent {
                    event_type: EventType::Deleted,
                    rv: next_rv,
                    object: Arc::clone(&gone),
                    previous: None,
                };
                record(collection, limit, event);
                Ok(Some(gone))
            }
        }
    }

    /// Runs `decide` like [`Store::mutate`] without storing anything (dry run): returns the object
    /// the write would store, or the current one.
    pub fn preview<F>(
        &self,
        gr: &GroupResource,
        key: &ObjectKey,
        decide: F,
    ) -> ApiResult<Option<Arc<Value>>>
    where
        F: FnOnce(Option<&Arc<Value>>, u64) -> ApiResult<Write>,
    {
        let state = self.lock();
        let current = state
            .collections
            .get(gr)
            .and_then(|c| c.objects.get(key))
            .cloned();
        match decide(current.as_ref(), state.rv + 1)? {
            Write::Put(object) => Ok(Some(Arc::new(object))),
            Write::Delete | Write::Keep => Ok(current),
        }
    }

    /// Subscribes to changes of `gr` after `since`; with `None`, replays current objects as ADDED.
    pub fn subscribe(&self, gr: &GroupResource, since: Option<u64>) -> ApiResult<Subscription> {
        let mut state = self.lock();
        let rv = state.rv;
        let collection = state.collection(gr);
        let replay = match since {
            None => collection
                .objects
                .values()
                .map(|object| {
                    let object_rv = object["metadata"]["resourceVersion"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(rv);
                    Arc::new(StoredEvent {
                        event_type: EventType::Added,
                        rv: object_rv,
                        object: Arc::clone(object),
                        previous: None,
                    })
                })
                .collect(),
            Some(since) if since < collection.compacted => {
                return Err(ApiError::gone(format!(
                    "too old resource version: {since} ({})",
                    collection.compacted + 1
                )));
            }
            Some(since) => collection
                .history
                .iter()
                .filter(|e| e.rv > since)
                .cloned()
                .collect(),
        };
        Ok(Subscription {
            replay,
            receiver: collection.sender.subscribe(),
            rv,
        })
    }

    /// Whether an object with this uid exists.
    pub fn uid_exists(&self, uid: &str) -> bool {
        self.lock().uids.contains_key(uid)
    }

    /// Keys of all objects for which `select` returns true, with their group-resource.
    pub fn find(
        &self,
        mut select: impl FnMut(&GroupResource, &Value, &dyn Fn(&str) -> bool) -> bool,
    ) -> Vec<(GroupResource, ObjectKey)> {
        let state = self.lock();
        let exists = |uid: &str| state.uids.contains_key(uid);
        let mut found = Vec::new();
        for (gr, collection) in &state.collections {
            for (key, object) in &collection.objects {
                if select(gr, object, &exists) {
                    found.push((gr.clone(), key.clone()));
                }
            }
        }
        found
    }

    /// Removes a whole collection (when its CRD is deleted).
    pub fn drop_collection(&self, gr: &GroupResource) {
        let mut state = self.lock();
        if let Some(collection) = state.collections.remove(gr) {
            for object in collection.objects.values() {
                if let Some(uid) = object["metadata"]["uid"].as_str() {
                    state.uids.remove(uid);
                }
            }
        }
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.lock()
            .collections
            .values()
            .map(|c| c.objects.len())
            .sum()
    }

    /// Whether the store holds no objects.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn record(collection: &mut Collection, limit: usize, event: StoredEvent) {
    let event = Arc::new(event);
    collection.history.push_back(Arc::clone(&event));
    while collection.history.len() > limit {
        if let Some(old) = collection.history.pop_front() {
            collection.compacted = old.rv;
        }
    }
    // No receivers is fine.
    let _ = collection.sender.send(event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjectKey {
        ("ns".to_owned(), name.to_owned())
    }

    #[test]
    fn history_is_bounded_and_old_versions_are_gone() {
        let store = Store::new(2);
        let gr = GroupResource::new("", "configmaps");
        for name in ["a", "b", "c"] {
            store
                .mutate(&gr, &key(name), |_, _| {
                    Ok(Write::Put(json!({"metadata": {"name": name}})))
                })
                .unwrap();
        }
        assert_eq!(store.current_rv(), 3);
        assert_eq!(store.subscribe(&gr, Some(1)).unwrap().replay.len(), 2);
        assert_eq!(store.subscribe(&gr, Some(0)).unwrap_err().code, 410);
        let (items, _) = store.list(&gr, Some("ns"), Some(&key("a")), None).unwrap();
        assert_eq!(items.len(), 2);
    }
}
