//! The Kubernetes API as the Keptn and External Metrics providers use it: a few raw JSON calls,
//! implemented by the caller (the controller with its kube client), so that this crate has no
//! Kubernetes client of its own.

use serde_json::Value;

use crate::provider::{ProviderFuture, QueryError};

/// Raw calls to a Kubernetes API server. Paths are absolute API paths with an optional query
/// string, e.g. `/apis/metrics.keptn.sh/v1beta1/namespaces/ns/keptnmetrics/name`. Errors are
/// [`QueryError`]s: 401 and 403 are [`QueryError::Unauthorized`], other statuses
/// [`QueryError::Http`] (with the API's message as [`QueryError::Rejected`] where it gives
/// one), no answer [`QueryError::Unreachable`].
pub trait KubernetesApi: Send + Sync {
    /// The API server's address, for messages.
    fn address(&self) -> &str;

    /// GETs `path`; a 404 is `Ok(None)`.
    fn get<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<Option<Value>, QueryError>>;

    /// POSTs `object` to the collection at `path` and returns the created object.
    fn create<'a>(
        &'a self,
        path: &'a str,
        object: &'a Value,
    ) -> ProviderFuture<'a, Result<Value, QueryError>>;

    /// DELETEs the object at `path`; a 404 is success.
    fn delete<'a>(&'a self, path: &'a str) -> ProviderFuture<'a, Result<(), QueryError>>;
}
