//! Background garbage collection: dependents of deleted owners, and contents of terminating namespaces.

use std::sync::Arc;
use std::time::Duration;

use crate::ops::{DeleteOptions, Emulator, namespaces_gr};
use crate::resources::GroupResource;
use crate::store::{ObjectKey, Write};

/// Runs the collector until the task is aborted.
pub(crate) async fn run(emulator: Arc<Emulator>) {
    loop {
        while collect(&emulator) > 0 {}
        let _ =
            tokio::time::timeout(Duration::from_millis(500), emulator.gc_wakeup.notified()).await;
    }
}

fn delete(emulator: &Emulator, gr: &GroupResource, key: &ObjectKey) -> bool {
    let namespace = Some(key.0.as_str()).filter(|ns| !ns.is_empty());
    let Some(target) = emulator.target(gr, namespace, Some(&key.1)) else {
        return false;
    };
    emulator.delete(&target, &DeleteOptions::default()).is_ok()
}

/// One collection pass; returns how many objects it deleted or marked for deletion.
pub(crate) fn collect(emulator: &Emulator) -> usize {
    let not_deleting =
        |object: &serde_json::Value| !object["metadata"]["deletionTimestamp"].is_string();
    let orphans = emulator.store.find(|_, object, exists| {
        let owners = object["metadata"]["ownerReferences"].as_array();
        not_deleting(object)
            && owners.is_some_and(|owners| {
                !owners.is_empty()
                    && owners
                        .iter()
                        .all(|o| !o["uid"].as_str().is_some_and(exists))
            })
    });
    let mut changed = orphans
        .iter()
        .filter(|(gr, key)| delete(emulator, gr, key))
        .count();

    let namespaces = namespaces_gr();
    let terminating = emulator.store.find(|gr, object, _| {
        *gr == namespaces && object["metadata"]["deletionTimestamp"].is_string()
    });
    for (_, (_, namespace)) in terminating {
        let contents = emulator.store.find(|gr, object, _| {
            *gr != namespaces
                && object["metadata"]["namespace"].as_str() == Some(namespace.as_str())
        });
        if contents.is_empty() {
            let key = (String::new(), namespace.clone());
            if let Ok(Some(_)) = emulator
                .store
                .mutate(&namespaces, &key, |_, _| Ok(Write::Delete))
            {
                changed += 1;
            }
            continue;
        }
        for (gr, key) in contents {
            let pending = emulator
                .store
                .get(&gr, &key)
                .is_some_and(|o| not_deleting(&o));
            if pending && delete(emulator, &gr, &key) {
                changed += 1;
            }
        }
    }
    changed
}
