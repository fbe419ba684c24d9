//! Keeps gate states in a ConfigMap through the Kubernetes API, so that they survive a restart.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};

use crate::payload::GateKey;

/// How long one Kubernetes API call may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed read or write of the gate ConfigMap.
#[derive(Debug, thiserror::Error)]
pub enum GateStoreError {
    /// The API server answered with an error.
    #[error("{operation} ConfigMap {namespace}/{name}: {source}")]
    Api {
        /// What was being done.
        operation: &'static str,
        /// The ConfigMap namespace.
        namespace: String,
        /// The ConfigMap name.
        name: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer in time.
    #[error("{operation} ConfigMap {namespace}/{name}: no answer within {API_TIMEOUT:?}")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The ConfigMap namespace.
        namespace: String,
        /// The ConfigMap name.
        name: String,
    },
}

/// Gate states stored as `data` entries (`<gate key>: "true" | "false"`) of one ConfigMap.
#[derive(Clone)]
pub struct ConfigMapGateStore {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
}

impl ConfigMapGateStore {
    /// A store for ConfigMap `namespace/name`; nothing is read until [`Self::load`].
    pub fn new(client: Client, namespace: &str, name: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Reads every stored gate; a missing ConfigMap means no gate was ever set.
    pub async fn load(&self) -> Result<BTreeMap<GateKey, bool>, GateStoreError> {
        let found = self
            .bounded("reading", self.api.get_opt(&self.name))
            .await?;
        let data = found.and_then(|cm| cm.data).unwrap_or_default();
        Ok(data
            .into_iter()
            .map(|(key, value)| (GateKey::from_stored(key), value == "true"))
            .collect())
    }

    /// Writes one gate, creating the ConfigMap on first use.
    pub async fn save(&self, key: &GateKey, open: bool) -> Result<(), GateStoreError> {
        let value = if open { "true" } else { "false" };
        let patch = serde_json::json!({ "data": { key.as_str(): value } });
        let params = PatchParams::default();
        let patched = self
            .bounded(
                "updating",
                self.api.patch(&self.name, &params, &Patch::Merge(&patch)),
            )
            .await;
        match patched {
            Err(GateStoreError::Api {
                source: kube::Error::Api(status),
                ..
            }) if status.is_not_found() => self.create(key, value).await,
            other => other.map(|_| ()),
        }
    }

    async fn create(&self, key: &GateKey, value: &str) -> Result<(), GateStoreError> {
        let config_map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "serin-loadtester".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([(
                key.as_str().to_owned(),
                value.to_owned(),
            )])),
            ..ConfigMap::default()
        };
        let created = self
            .bounded(
                "creating",
                self.api.create(&PostParams::default(), &config_map),
            )
            .await;
        match created {
            // Another writer created it first: fall back to updating the entry.
            Err(GateStoreError::Api {
                source: kube::Error::Api(status),
                ..
            }) if status.is_already_exists() => {
                let patch = serde_json::json!({ "data": { key.as_str(): value } });
                self.bounded(
                    "updating",
                    self.api
                        .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch)),
                )
                .await
                .map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, GateStoreError> {
        match tokio::time::timeout(API_TIMEOUT, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(GateStoreError::Api {
                operation,
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                source,
            }),
            Err(_) => Err(GateStoreError::Timeout {
                operation,
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            }),
        }
    }
}
