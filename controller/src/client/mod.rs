//! serin's Kubernetes API client: kube's client with a client-side rate limit (`qps`, `burst`),
//! a write fence for leader election, a counted outcome per request, and a User-Agent that
//! names the replica.

mod rate_limit;
mod request;
mod service;

use std::sync::Arc;

use http::HeaderValue;
use http::header::USER_AGENT;

pub use rate_limit::TokenBucket;
pub use request::{ApiRequest, Verb};

use crate::leader::WriteFence;
use crate::metrics::KubeApiMetrics;

/// How to build the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Sustained requests a second.
    pub qps: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
    /// This replica's name, added to the User-Agent.
    pub identity: String,
    /// With leader election: refuses writes unless this replica leads.
    pub fence: Option<WriteFence>,
    /// Where to count requests.
    pub metrics: Option<KubeApiMetrics>,
    /// How long a request other than a watch may wait for its response; counted with the
    /// result `timeout` when it runs out.
    pub timeout: std::time::Duration,
}

/// The default [`ClientOptions::timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Errors building the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The identity cannot go into an HTTP header.
    #[error("identity {0:?} is not valid in a User-Agent header")]
    InvalidIdentity(String),
    /// kube refused the configuration.
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// `serin/<version> (<identity>)`.
pub fn user_agent(identity: &str) -> String {
    format!("serin/{} ({identity})", env!("CARGO_PKG_VERSION"))
}

/// Builds a client for `config` with `options`.
pub fn build(
    mut config: kube::Config,
    options: ClientOptions,
) -> Result<kube::Client, ClientError> {
    let agent = HeaderValue::from_str(&user_agent(&options.identity))
        .map_err(|_| ClientError::InvalidIdentity(options.identity.clone()))?;
    config.headers.retain(|(name, _)| *name != USER_AGENT);
    config.headers.push((USER_AGENT, agent));
    let layer = service::ApiLayer(Arc::new(service::Shared {
        bucket: TokenBucket::new(options.qps, options.burst),
        fence: options.fence,
        metrics: options.metrics,
        timeout: options.timeout,
    }));
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&layer)
        .build())
}

#[cfg(test)]
mod tests;
