//! Calls the webhooks of a Canary (the eight hook types) with Flagger's payload, a timeout,
//! retries with exponential backoff, and an outcome the decision core can use. Any 2xx answer is
//! a success (Flagger accepts only 200 to 202).

mod payload;
mod runs;

pub use payload::{EventInfo, HookPayload};
pub use runs::{HookRuns, Poll};

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serin_crds::validation::WebhookPlan;
pub use serin_crds::validation::{MAX_WEBHOOK_RETRIES, MAX_WEBHOOK_TIMEOUT};

use crate::http_client::{self, ClientOptions};
use serin_analysis::egress::EgressPolicy;

/// Why a webhook call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The hook answered with a non-2xx status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// Address called.
        url: String,
        /// HTTP status.
        status: u16,
        /// First part of the answer's body.
        body: String,
    },
    /// No answer within the hook's timeout.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout {
        /// Address called.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The operator's egress policy refuses the hook's address.
    #[error("{url} is not called: {reason}")]
    Refused {
        /// Address called.
        url: String,
        /// Which rule refuses it.
        reason: String,
    },
    /// The request could not be sent (connection refused, DNS, TLS...).
    #[error("{url} could not be reached: {message}")]
    Transport {
        /// Address called.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl HookError {
    /// A low-cardinality label for metrics and event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            HookError::Status { .. } => "status",
            HookError::Timeout { .. } => "timeout",
            HookError::Transport { .. } => "transport",
            HookError::Refused { .. } => "egress_refused",
        }
    }
}

/// The most of an error answer's body kept in messages.
const BODY_EXCERPT: usize = 512;

/// Calls webhooks. Cheap to clone; one per controller.
#[derive(Clone, Debug)]
pub struct HookCaller {
    egress: EgressPolicy,
    verifying: reqwest::Client,
    insecure: reqwest::Client,
    backoff: ExponentialBuilder,
}

impl HookCaller {
    /// A caller whose retries start `first_retry_delay` apart and double, with the default
    /// egress policy.
    pub fn new(first_retry_delay: Duration) -> Result<Self, reqwest::Error> {
        HookCaller::with_egress(first_retry_delay, &EgressPolicy::default())
    }

    /// A caller whose requests follow `egress`.
    pub fn with_egress(
        first_retry_delay: Duration,
        egress: &EgressPolicy,
    ) -> Result<Self, reqwest::Error> {
        Ok(HookCaller {
            egress: egress.clone(),
            verifying: http_client::build(&ClientOptions {
                egress: egress.clone(),
                ..ClientOptions::default()
            })?,
            insecure: http_client::build(&ClientOptions {
                insecure_skip_verify: true,
                proxy: None,
                egress: egress.clone(),
            })?,
            backoff: ExponentialBuilder::default()
                .with_min_delay(first_retry_delay)
                .with_max_delay(Duration::from_secs(30))
                .with_jitter(),
        })
    }

    /// Calls `hook` with `payload`: up to `1 + hook.retries` attempts, each bounded by the hook's
    /// timeout, and all of them together by [`MAX_WEBHOOK_TIMEOUT`] (the Canary's tick waits for
    /// the hook). Returns the status of the successful answer.
    pub async fn call(&self, hook: &WebhookPlan, payload: &HookPayload) -> Result<u16, HookError> {
        let attempt = || self.attempt(hook, payload);
        let attempts = attempt
            .retry(self.backoff.with_max_times(hook.retries as usize))
            .sleep(tokio::time::sleep);
        tokio::time::timeout(MAX_WEBHOOK_TIMEOUT, attempts)
            .await
            .unwrap_or_else(|_| {
                Err(HookError::Timeout {
                    url: serin_analysis::redact::address(hook.url.as_str()),
                    timeout: MAX_WEBHOOK_TIMEOUT,
                })
            })
    }

    async fn attempt(&self, hook: &WebhookPlan, payload: &HookPayload) -> Result<u16, HookError> {
        let client = if hook.disable_tls {
            &self.insecure
        } else {
            &self.verifying
        };
        // Messages name the hook without its user, password or query (which may carry a token).
        let url = serin_analysis::redact::address(hook.url.as_str());
        self.egress
            .check_url(&hook.url)
            .map_err(|e| HookError::Refused {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let request = client
            .post(hook.url.clone())
            .json(payload)
            .timeout(hook.timeout);
        let response = request
            .send()
            .await
            .map_err(|e| classify(&url, hook.timeout, &e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let (body, more) = http_client::body_prefix(response).await;
        Err(HookError::Status {
            url,
            status: status.as_u16(),
            body: http_client::excerpt(&body, BODY_EXCERPT, more),
        })
    }
}

fn classify(url: &str, timeout: Duration, e: &reqwest::Error) -> HookError {
    if e.is_timeout() {
        HookError::Timeout {
            url: url.to_owned(),
            timeout,
        }
    } else {
        let mut message = e.to_string();
        if let Some(reason) = serin_analysis::egress::refusal(e) {
            return HookError::Refused {
                url: url.to_owned(),
                reason,
            };
        }
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        HookError::Transport {
            url: url.to_owned(),
            message,
        }
    }
}
