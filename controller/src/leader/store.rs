//! Reads and conditional writes of the Lease, each bounded by a timeout. The elector talks to
//! a [`LeaseStore`] so that its loop can be tested against an in-memory one with paused time.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{Api, ObjectMeta, PostParams};

use super::{Error, LeaderElectionConfig, Operation};

/// Where the Lease lives.
pub(crate) trait LeaseStore: Send + Sync {
    /// Reads the Lease; `None` when it does not exist.
    fn get(&self) -> impl Future<Output = Result<Option<Lease>, Error>> + Send;
    /// Creates the Lease; a conflict means another candidate created it first.
    fn create(&self, spec: LeaseSpec) -> impl Future<Output = Result<Lease, Error>> + Send;
    /// Replaces the spec of `current`, on condition that the Lease is still at
    /// `current`'s `resourceVersion`; a conflict means someone wrote it since.
    fn replace(
        &self,
        operation: Operation,
        current: &Lease,
        spec: LeaseSpec,
    ) -> impl Future<Output = Result<Lease, Error>> + Send;
}

/// The Lease on the API server.
#[derive(Clone)]
pub(crate) struct ApiLeaseStore {
    api: Api<Lease>,
    name: String,
    timeout: Duration,
}

impl ApiLeaseStore {
    pub(crate) fn new(client: kube::Client, config: &LeaderElectionConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            name: config.lease_name.clone(),
            timeout: config.api_timeout(),
        }
    }

    async fn call<T>(
        &self,
        operation: Operation,
        call: impl Future<Output = kube::Result<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(Error::from_kube(operation, source)),
            Err(_) => Err(Error::Timeout {
                operation,
                timeout: self.timeout,
            }),
        }
    }
}

impl LeaseStore for ApiLeaseStore {
    async fn get(&self) -> Result<Option<Lease>, Error> {
        self.call(Operation::Read, self.api.get_opt(&self.name))
            .await
    }

    async fn create(&self, spec: LeaseSpec) -> Result<Lease, Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        self.call(
            Operation::Create,
            self.api.create(&PostParams::default(), &lease),
        )
        .await
    }

    async fn replace(
        &self,
        operation: Operation,
        current: &Lease,
        spec: LeaseSpec,
    ) -> Result<Lease, Error> {
        if current
            .metadata
            .resource_version
            .as_deref()
            .is_none_or(str::is_empty)
        {
            return Err(Error::NoResourceVersion);
        }
        let lease = Lease {
            metadata: current.metadata.clone(),
            spec: Some(spec),
        };
        self.call(
            operation,
            self.api.replace(&self.name, &PostParams::default(), &lease),
        )
        .await
    }
}
