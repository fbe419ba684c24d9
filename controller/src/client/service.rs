//! The tower layer under every request of serin's kube client: rate limit, write fence, and
//! the counted outcome. It wraps kube's own stack, so it sees paths before the base URL is
//! added and runs once per call (kube's retries of 429/503/504 happen underneath).

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Request, Response};
use tokio::time::Instant;
use tower::{BoxError, Layer, Service, ServiceExt as _};

use super::rate_limit::TokenBucket;
use super::request::ApiRequest;
use crate::leader::WriteFence;
use crate::metrics::KubeApiMetrics;

/// What the layer needs; shared by every clone of the service.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) bucket: TokenBucket,
    pub(super) fence: Option<WriteFence>,
    pub(super) metrics: Option<KubeApiMetrics>,
    /// How long a request other than a watch may wait for its response.
    pub(super) timeout: std::time::Duration,
}

impl Shared {
    /// Refuses a write while the fence is shut. Reads, and the elector's own Lease, pass.
    fn admit(&self, request: &ApiRequest) -> Result<(), crate::leader::Fenced> {
        let Some(fence) = &self.fence else {
            return Ok(());
        };
        let own_lease = request.group == "coordination.k8s.io"
            && request.resource == "leases"
            && fence.is_own_lease(request.namespace.as_deref(), request.name.as_deref());
        if !request.verb.is_mutating() || own_lease {
            return Ok(());
        }
        fence.check(Instant::now())
    }

    fn observe(&self, request: &ApiRequest, result: &'static str, started: Option<Instant>) {
        if let Some(metrics) = &self.metrics {
            metrics.observe(
                request.verb.as_str(),
                &request.resource,
                &request.subresource,
                result,
                started.map(|started| started.elapsed()),
            );
        }
    }
}

/// Adds [`ApiService`] to kube's stack.
#[derive(Debug, Clone)]
pub(super) struct ApiLayer(pub(super) Arc<Shared>);

impl<S> Layer<S> for ApiLayer {
    type Service = ApiService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiService {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            shared: Arc::clone(&self.0),
        }
    }
}

/// Waits for a token, asks the fence, sends, and counts the outcome.
///
/// The inner service sits behind a lock held only while it is made ready and called (both
/// immediate for kube's stack), so the fence is asked after the wait for a token and right
/// before the request is handed on: a write that queued while the lease ran out is refused.
#[derive(Debug)]
pub(super) struct ApiService<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    shared: Arc<Shared>,
}

impl<S> Clone for ApiService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, B, RB> Service<Request<B>> for ApiService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<RB>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness of the inner service is awaited inside the call, under its lock.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let api = ApiRequest::classify(
            request.method(),
            request.uri().path(),
            request.uri().query(),
        );
        let inner = Arc::clone(&self.inner);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            shared.bucket.acquire().await;
            let sent = {
                let mut service = inner.lock().await;
                service.ready().await.map_err(Into::into)?;
                if let Err(refused) = shared.admit(&api) {
                    shared.observe(&api, "fenced", None);
                    tracing::debug!(verb = api.verb.as_str(), resource = %api.resource, "{refused}");
                    return Err(BoxError::from(refused));
                }
                service.call(request)
            };
            let started = Instant::now();
            // A watch stays open by design; every other request gets an answer in time or fails.
            let result = if api.verb == super::Verb::Watch {
                sent.await.map_err(Into::into)
            } else {
                match tokio::time::timeout(shared.timeout, sent).await {
                    Ok(result) => result.map_err(Into::into),
                    Err(_) => {
                        shared.observe(&api, "timeout", Some(started));
                        return Err(BoxError::from(TimedOut(shared.timeout)));
                    }
                }
            };
            let outcome = match &result {
                Ok(response) => status_class(response.status().as_u16()),
                Err(_) => "error",
            };
            // A watch's duration is the time to its response headers, not the stream's life.
            shared.observe(&api, outcome, Some(started));
            result
        })
    }
}

/// A request other than a watch got no response within the client's timeout.
#[derive(Debug, thiserror::Error)]
#[error("no response from the Kubernetes API within {}", humantime::format_duration(*.0))]
pub(super) struct TimedOut(std::time::Duration);

/// The `result` label of a response status.
fn status_class(status: u16) -> &'static str {
    match status {
        400..=499 => "client_error",
        500..=599 => "server_error",
        _ => "success",
    }
}
