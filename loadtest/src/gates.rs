//! Manual gates keyed by canary: closed until opened, in memory or written through to a ConfigMap.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use crate::gate_store::{ConfigMapGateStore, GateStoreError};
use crate::payload::GateKey;

/// The gate table. Reads come from memory; with a store, a change is persisted before it is
/// applied, so an acknowledged change survives a restart.
pub struct Gates {
    states: RwLock<BTreeMap<GateKey, bool>>,
    store: Option<ConfigMapGateStore>,
    // Serialises writes so that the stored and the in-memory order agree.
    write_order: tokio::sync::Mutex<()>,
}

impl Gates {
    /// Gates that live as long as the process.
    pub fn in_memory() -> Self {
        Self {
            states: RwLock::new(BTreeMap::new()),
            store: None,
            write_order: tokio::sync::Mutex::new(()),
        }
    }

    /// Gates backed by `store`, starting from the states it holds.
    pub async fn persistent(store: ConfigMapGateStore) -> Result<Self, GateStoreError> {
        let states = store.load().await?;
        Ok(Self {
            states: RwLock::new(states),
            store: Some(store),
            write_order: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether the gate is open; a gate never set is closed.
    pub fn is_open(&self, key: &GateKey) -> bool {
        let states = self.states.read().unwrap_or_else(PoisonError::into_inner);
        states.get(key).copied().unwrap_or(false)
    }

    /// Opens or closes a gate.
    pub async fn set(&self, key: &GateKey, open: bool) -> Result<(), GateStoreError> {
        let _ordered = self.write_order.lock().await;
        if let Some(store) = &self.store {
            store.save(key, open).await?;
        }
        let mut states = self.states.write().unwrap_or_else(PoisonError::into_inner);
        states.insert(key.clone(), open);
        Ok(())
    }

    /// Whether changes survive a restart.
    pub fn is_persistent(&self) -> bool {
        self.store.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::CanaryRef;

    fn podinfo() -> CanaryRef {
        CanaryRef {
            name: "podinfo".into(),
            namespace: "test".into(),
        }
    }

    #[tokio::test]
    async fn gates_start_closed_and_follow_open_and_close() {
        let gates = Gates::in_memory();
        let gate = GateKey::promotion(&podinfo());
        let rollback = GateKey::rollback(&podinfo());
        assert!(!gates.is_open(&gate));
        gates.set(&gate, true).await.unwrap();
        assert!(gates.is_open(&gate));
        assert!(!gates.is_open(&rollback), "the rollback gate is separate");
        gates.set(&gate, false).await.unwrap();
        assert!(!gates.is_open(&gate));
        assert!(!gates.is_persistent());
    }
}
