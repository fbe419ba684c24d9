//! The HTTP client serin uses for webhooks and alerts: rustls with the ring provider, a bounded
//! connect timeout, the operator's egress policy, and optionally a proxy or no certificate
//! verification; and a bounded read of an answer's body.

use std::time::Duration;

use serin_analysis::egress::EgressPolicy;

/// Longest time to open a connection; each request also has its own overall timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// Skip TLS certificate verification.
    pub insecure_skip_verify: bool,
    /// Send every request through this HTTP(S) proxy.
    pub proxy: Option<url::Url>,
    /// Where requests may go (the proxy's address included), and whether redirects are followed.
    pub egress: EgressPolicy,
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
    options.egress.apply(builder).build()
}

/// The most of an answer's body read to quote it in a message (the rest is never read).
pub const BODY_PREFIX_LIMIT: usize = 4096;

/// Up to [`BODY_PREFIX_LIMIT`] bytes of `response`'s body, as text, and whether there was more.
/// An answer that breaks off yields what arrived before.
pub async fn body_prefix(mut response: reqwest::Response) -> (String, bool) {
    let mut body = Vec::new();
    let mut more = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = BODY_PREFIX_LIMIT - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            more = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    (String::from_utf8_lossy(&body).into_owned(), more)
}

/// At most `chars` characters of `text`, trimmed, with `...` when cut (or when `more` says
/// the text itself was cut).
pub fn excerpt(text: &str, chars: usize, more: bool) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}...", &trimmed[..cut]),
        None if more => format!("{trimmed}..."),
        None => trimmed.to_owned(),
    }
}
