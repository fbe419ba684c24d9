//! The HTTP client serin uses for webhooks and alerts: rustls with the ring provider, a bounded
//! connect timeout, and optionally a proxy or no certificate verification.

use std::time::Duration;

/// Longest time to open a connection; each request also has its own overall timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Skip TLS certificate verification.
    pub insecure_skip_verify: bool,
    /// Send every request through this HTTP(S) proxy.
    pub proxy: Option<url::Url>,
}

/// Builds a client with `options`.
pub fn build(options: &ClientOptions) -> Result<reqwest::Client, reqwest::Error> {
    // Installing fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("serin/", env!("CARGO_PKG_VERSION")))
        .danger_accept_invalid_certs(options.insecure_skip_verify);
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy.as_str())?);
    }
    builder.build()
}
