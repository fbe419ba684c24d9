//! Posts alert messages, each with a timeout, through the provider's proxy when it has one
//! (the egress policy then also checks the destination's name, which the proxy resolves).
//! Errors never carry the webhook's path or query (for Slack, Teams, Discord and Google Chat
//! they are the credential), and quote at most [`ANSWER_EXCERPT`] characters of a refusal.

use std::time::Duration;

use super::{Alert, OutgoingMessage, ResolvedProvider, notifier};
use crate::http_client::{self, ClientOptions};
use serin_analysis::egress::EgressPolicy;
use serin_analysis::redact::webhook_origin;

/// Longest time one alert may take.
pub const ALERT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a refusal's body quoted in the error.
pub const ANSWER_EXCERPT: usize = 256;

/// Why an alert was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The request could not be sent or timed out.
    #[error("sending the alert to {url} failed: {source}")]
    Transport {
        /// Scheme, host and port of the address (its path is a secret).
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The operator's egress policy refuses the address.
    #[error("the alert is not sent to {url}: {reason}")]
    Refused {
        /// Scheme, host and port of the address.
        url: String,
        /// Which rule refuses it.
        reason: String,
    },
    /// The service answered with an error.
    #[error("{url} refused the alert with {status}: {body}")]
    Rejected {
        /// Scheme, host and port of the address (its path is a secret).
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of its answer, at most [`ANSWER_EXCERPT`] characters.
        body: String,
    },
}

impl SendError {
    /// A low-cardinality label for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SendError::Transport { .. } => "transport",
            SendError::Rejected { .. } => "rejected",
            SendError::Refused { .. } => "egress_refused",
        }
    }
}

/// Sends alerts. One per controller.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    egress: EgressPolicy,
}

impl Sender {
    /// A sender with serin's default client and egress policy.
    pub fn new() -> Result<Self, reqwest::Error> {
        Sender::with_egress(&EgressPolicy::default())
    }

    /// A sender whose requests follow `egress`.
    pub fn with_egress(egress: &EgressPolicy) -> Result<Self, reqwest::Error> {
        Ok(Sender {
            client: http_client::build(&ClientOptions {
                egress: egress.clone(),
                ..ClientOptions::default()
            })?,
            egress: egress.clone(),
        })
    }

    /// Builds `provider`'s message for `alert` and posts it.
    pub async fn send(&self, provider: &ResolvedProvider, alert: &Alert) -> Result<(), SendError> {
        let message = notifier(provider).message(alert);
        let proxied;
        let client = match &provider.proxy {
            Some(proxy) => {
                let options = ClientOptions {
                    insecure_skip_verify: false,
                    proxy: Some(proxy.clone()),
                    egress: self.egress.clone(),
                };
                proxied =
                    http_client::build(&options).map_err(|source| transport(&message, source))?;
                &proxied
            }
            None => &self.client,
        };
        // Behind a proxy the destination is resolved by the proxy, out of the resolver's
        // sight: the proxy's address and the destination's name are checked here.
        let checked = match &provider.proxy {
            Some(proxy) => match self.egress.check_url(proxy) {
                Ok(()) => self.egress.check_behind_proxy(&message.url).await,
                Err(e) => Err(e),
            },
            None => self.egress.check_url(&message.url),
        };
        if let Err(e) = checked {
            return Err(SendError::Refused {
                url: webhook_origin(&message.url),
                reason: e.to_string(),
            });
        }
        post(client, &message).await
    }
}

fn transport(message: &OutgoingMessage, source: reqwest::Error) -> SendError {
    if let Some(reason) = serin_analysis::egress::refusal(&source) {
        return SendError::Refused {
            url: webhook_origin(&message.url),
            reason,
        };
    }
    SendError::Transport {
        url: webhook_origin(&message.url),
        source: source.without_url(),
    }
}

async fn post(client: &reqwest::Client, message: &OutgoingMessage) -> Result<(), SendError> {
    let mut request = client
        .post(message.url.clone())
        .json(&message.body)
        .timeout(ALERT_TIMEOUT);
    if let Some(token) = &message.bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|source| transport(message, source))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let (body, more) = http_client::body_prefix(response).await;
    Err(SendError::Rejected {
        url: webhook_origin(&message.url),
        status: status.as_u16(),
        body: http_client::excerpt(&body, ANSWER_EXCERPT, more),
    })
}
