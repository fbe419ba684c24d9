//! What a load run sends, how fast and for how long: the validated input of the generator.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

/// The default per-request timeout (hey's `-t 20`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest run accepted, a guard against typos such as `-z 100h`.
pub const MAX_RUN: Duration = Duration::from_secs(24 * 3600);
/// The most concurrent workers accepted.
pub const MAX_CONCURRENCY: usize = 10_000;

/// A load run description that cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The target URL does not parse or is not http(s).
    #[error("invalid target URL {url:?}: {reason}")]
    Url {
        /// The rejected URL.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The HTTP method is not a valid token.
    #[error("invalid HTTP method {0:?}")]
    Method(String),
    /// A header is not `Name: value`, or has characters HTTP does not allow.
    #[error("invalid header {0:?}: expected \"Name: value\"")]
    Header(String),
    /// The rate, concurrency or duration is out of range.
    #[error("{0}")]
    Range(String),
}

/// The request every worker sends.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// The target URL.
    pub url: Url,
    /// The HTTP method.
    pub method: Method,
    /// Headers sent with every request (including `Host` when overridden).
    pub headers: HeaderMap,
    /// The request body, empty for none.
    pub body: Bytes,
}

impl RequestTemplate {
    /// A GET of `url`; a URL without a scheme gets `http://`.
    pub fn get(url: &str) -> Result<Self, SpecError> {
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let parsed = Url::parse(&with_scheme).map_err(|e| SpecError::Url {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SpecError::Url {
                url: url.to_owned(),
                reason: "only http and https are supported".to_owned(),
            });
        }
        Ok(Self {
            url: parsed,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    }

    /// Sets the method, e.g. `POST`.
    pub fn method(mut self, method: &str) -> Result<Self, SpecError> {
        self.method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| SpecError::Method(method.to_owned()))?;
        Ok(self)
    }

    /// Adds (or replaces) a header given as `Name: value`.
    pub fn header_line(self, line: &str) -> Result<Self, SpecError> {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| SpecError::Header(line.to_owned()))?;
        self.header(name.trim(), value.trim())
            .map_err(|_| SpecError::Header(line.to_owned()))
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, SpecError> {
        let invalid = || SpecError::Header(format!("{name}: {value}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The metric label for this target: the URL without credentials, query or fragment.
    pub fn target_label(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        // Both only fail for URLs that cannot have credentials, which then have none.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string()
    }
}

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Open model: requests are scheduled at this total rate (requests per second) whatever
    /// the responses do.
    Rate(f64),
    /// Closed model: each worker sends its next request when the previous one is answered
    /// (hey without `-q`).
    Unlimited,
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this long (hey's `-z`).
    After(Duration),
    /// After this many requests (hey's `-n`).
    Requests(u64),
}

/// A validated load run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// What to send.
    pub request: RequestTemplate,
    /// How fast.
    pub pace: Pace,
    /// Workers, each with its own connection.
    pub concurrency: usize,
    /// When to stop.
    pub stop: Stop,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// Reuse connections (hey's `-disable-keepalive` turns this off).
    pub keep_alive: bool,
    /// Follow redirects (hey's `-disable-redirects` turns this off).
    pub follow_redirects: bool,
}

impl LoadSpec {
    /// A run of `request` with the given pace, workers and end; checks the ranges.
    pub fn new(
        request: RequestTemplate,
        pace: Pace,
        concurrency: usize,
        stop: Stop,
    ) -> Result<Self, SpecError> {
        if concurrency == 0 || concurrency > MAX_CONCURRENCY {
            return Err(SpecError::Range(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}"
            )));
        }
        if let Pace::Rate(rate) = pace
            && !(rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0)
        {
            return Err(SpecError::Range(format!(
                "rate must be above 0 and at most 1000000 requests per second, got {rate}"
            )));
        }
        match stop {
            Stop::After(d) if d.is_zero() || d > MAX_RUN => {
                return Err(SpecError::Range(format!(
                    "duration must be above 0 and at most {MAX_RUN:?}, got {d:?}"
                )));
            }
            Stop::Requests(0) => {
                return Err(SpecError::Range("request count must be above 0".to_owned()));
            }
            _ => {}
        }
        let spec = Self {
            request,
            pace,
            concurrency,
            stop,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            keep_alive: true,
            follow_redirects: true,
        };
        if let (Pace::Rate(_), Stop::Requests(_)) = (pace, stop)
            && spec.planned_duration().is_none_or(|d| d > MAX_RUN)
        {
            return Err(SpecError::Range(format!(
                "the requested count at this rate would run longer than {MAX_RUN:?}"
            )));
        }
        Ok(spec)
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many requests an open-model run schedules, if it is one.
    pub fn scheduled_requests(&self) -> Option<u64> {
        match (self.pace, self.stop) {
            (Pace::Rate(_), Stop::Requests(n)) => Some(n),
            (Pace::Rate(rate), Stop::After(d)) => {
                let count = (rate * d.as_secs_f64()).floor();
                // Bounded by the range checks: at most 1e6 rps for 24h.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some(count as u64)
            }
            (Pace::Unlimited, _) => None,
        }
    }

    /// How long the run is planned to last, when that is known in advance.
    pub fn planned_duration(&self) -> Option<std::time::Duration> {
        match (self.pace, self.stop) {
            (_, Stop::After(d)) => Some(d),
            #[allow(clippy::cast_precision_loss)]
            (Pace::Rate(rate), Stop::Requests(n)) => {
                Duration::try_from_secs_f64(n as f64 / rate).ok()
            }
            (Pace::Unlimited, Stop::Requests(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_scheme_gets_http_and_the_label_drops_query_and_credentials() {
        let request = RequestTemplate::get("user:pw@podinfo.test:9898/status/200?x=1").unwrap();
        assert_eq!(request.url.scheme(), "http");
        assert_eq!(
            request.target_label(),
            "http://podinfo.test:9898/status/200"
        );
    }

    #[test]
    fn rejects_bad_urls_headers_and_ranges() {
        assert!(RequestTemplate::get("ftp://x/").is_err());
        assert!(RequestTemplate::get("http://").is_err());
        let request = RequestTemplate::get("http://127.0.0.1/").unwrap();
        assert!(request.clone().header_line("no colon").is_err());
        assert!(request.clone().method("GE T").is_err());
        let stop = Stop::After(Duration::from_secs(1));
        assert!(LoadSpec::new(request.clone(), Pace::Rate(0.0), 1, stop).is_err());
        assert!(LoadSpec::new(request.clone(), Pace::Rate(10.0), 0, stop).is_err());
        assert!(LoadSpec::new(request.clone(), Pace::Unlimited, 1, Stop::Requests(0)).is_err());
        assert!(
            LoadSpec::new(request, Pace::Rate(1e-9), 1, Stop::Requests(1_000)).is_err(),
            "would run for ages"
        );
    }

    #[test]
    fn an_open_run_schedules_rate_times_duration_requests() {
        let request = RequestTemplate::get("http://127.0.0.1/").unwrap();
        let spec = LoadSpec::new(
            request,
            Pace::Rate(200.0),
            2,
            Stop::After(Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(spec.scheduled_requests(), Some(400));
        assert_eq!(spec.planned_duration(), Some(Duration::from_secs(2)));
    }
}
