//! The `ngrinder` task type: clones and starts an nGrinder performance test through its REST
//! API, then polls the test until it finishes (stopping it when the task deadline passes).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, Url};
use tokio::time::Instant;

use crate::go_duration;

/// How long one call to the nGrinder server may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Status polling interval when `pollInterval` is absent.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `ngrinder` metadata that cannot be used; a 400.
#[derive(Debug, thiserror::Error)]
pub enum NGrinderFieldError {
    /// A required field is absent.
    #[error("ngrinder task: server, clone, username and passwd are required metadata")]
    Missing,
    /// A field does not parse.
    #[error("ngrinder task: {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// A failed nGrinder run.
#[derive(Debug, thiserror::Error)]
pub enum NGrinderError {
    /// A call failed or its answer was not the expected JSON.
    #[error("{method} {url}: {reason}")]
    Call {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The test ended without finishing.
    #[error("nGrinder test {id} ended with status {status}")]
    Ended {
        /// The test id.
        id: u64,
        /// Its final status.
        status: String,
    },
    /// The task deadline passed; the test was asked to stop.
    #[error("nGrinder test {id} did not finish in time and was stopped")]
    Deadline {
        /// The test id.
        id: u64,
    },
}

/// One nGrinder run: clone test `clone` on `server` and wait for the copy to finish.
#[derive(Debug, Clone)]
pub struct NGrinderTask {
    /// Base URL of the nGrinder controller.
    pub server: Url,
    /// Id of the test to clone.
    pub clone: u64,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password (decoded).
    pub password: String,
    /// Status polling interval.
    pub poll_interval: Duration,
}

impl NGrinderTask {
    /// Reads `server`, `clone`, `username`, `passwd` (base64) and `pollInterval`.
    pub fn from_metadata(metadata: &BTreeMap<String, String>) -> Result<Self, NGrinderFieldError> {
        let get = |key: &str| {
            metadata
                .get(key)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let (Some(server), Some(clone), Some(username), Some(passwd)) =
            (get("server"), get("clone"), get("username"), get("passwd"))
        else {
            return Err(NGrinderFieldError::Missing);
        };
        let invalid = |field, reason: String| NGrinderFieldError::Invalid { field, reason };
        let server = Url::parse(server).map_err(|e| invalid("server", e.to_string()))?;
        let clone = clone
            .parse()
            .map_err(|_| invalid("clone", format!("{clone:?} is not a test id")))?;
        let password = base64::engine::general_purpose::STANDARD
            .decode(passwd)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| invalid("passwd", "expected base64-encoded text".to_owned()))?;
        let poll_interval = match get("pollInterval") {
            Some(text) => go_duration::parse(text)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| invalid("pollInterval", format!("{text:?} is not a duration")))?,
            None => DEFAULT_POLL_INTERVAL,
        };
        Ok(Self {
            server,
            clone,
            username: username.to_owned(),
            password,
            poll_interval,
        })
    }

    /// Starts the copy and polls it until it finishes, fails, or `deadline` passes.
    pub async fn run(&self, deadline: Instant) -> Result<(), NGrinderError> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| NGrinderError::Call {
                method: Method::POST,
                url: self.server.to_string(),
                reason: e.to_string(),
            })?;
        let started = self
            .call(
                &client,
                Method::POST,
                &format!("perftest/api/{}/clone_and_start", self.clone),
            )
            .await?;
        let id = started["id"].as_u64().ok_or_else(|| NGrinderError::Call {
            method: Method::POST,
            url: self.endpoint("clone_and_start"),
            reason: format!("no test id in {started}"),
        })?;
        tracing::info!(id, clone = self.clone, "nGrinder test started");
        loop {
            if Instant::now() + self.poll_interval >= deadline {
                let stop = format!("perftest/api/{id}?action=stop");
                if let Err(e) = self.call(&client, Method::PUT, &stop).await {
                    tracing::warn!(id, error = %e, "stopping the nGrinder test failed");
                }
                return Err(NGrinderError::Deadline { id });
            }
            tokio::time::sleep(self.poll_interval).await;
            let status = match self
                .call(&client, Method::GET, &format!("perftest/api/{id}/status"))
                .await
            {
                Ok(answer) => answer["status"][0]["status_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                Err(e) => {
                    tracing::warn!(id, error = %e, "polling the nGrinder test failed");
                    continue;
                }
            };
            match status.as_str() {
                "FINISHED" => return Ok(()),
                "STOP_BY_ERROR" | "CANCELED" | "UNKNOWN" => {
                    return Err(NGrinderError::Ended { id, status });
                }
                _ => tracing::debug!(id, status, "nGrinder test running"),
            }
        }
    }

    fn endpoint(&self, path: &str) -> String {
        self.server
            .join(path)
            .map_or_else(|_| format!("{}{path}", self.server), |url| url.to_string())
    }

    /// One authenticated call; an answer with `"success": false` is a failure.
    async fn call(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
    ) -> Result<serde_json::Value, NGrinderError> {
        let url = self.endpoint(path);
        let failed = |reason: String| NGrinderError::Call {
            method: method.clone(),
            url: url.clone(),
            reason,
        };
        let response = client
            .request(method.clone(), &url)
            .basic_auth(&self.username, Some(&self.password))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("{e}: {}", String::from_utf8_lossy(&body))))?;
        if answer["success"] == serde_json::Value::Bool(false) {
            return Err(failed(format!("nGrinder refused: {answer}")));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_flaggers_ngrinder_fields() {
        let task = NGrinderTask::from_metadata(&metadata(&[
            ("server", "http://ngrinder:8080"),
            ("clone", "100"),
            ("username", "admin"),
            ("passwd", "YWRtaW4="),
            ("pollInterval", "5s"),
        ]))
        .unwrap();
        assert_eq!(task.password, "admin");
        assert_eq!(task.poll_interval, Duration::from_secs(5));
        assert_eq!(
            task.endpoint("perftest/api/100/clone_and_start"),
            "http://ngrinder:8080/perftest/api/100/clone_and_start"
        );
    }

    #[test]
    fn missing_or_bad_fields_are_errors() {
        assert!(matches!(
            NGrinderTask::from_metadata(&metadata(&[("server", "http://x")])),
            Err(NGrinderFieldError::Missing)
        ));
        let bad_clone = metadata(&[
            ("server", "http://x"),
            ("clone", "abc"),
            ("username", "u"),
            ("passwd", "cA=="),
        ]);
        assert!(NGrinderTask::from_metadata(&bad_clone).is_err());
        let bad_password = metadata(&[
            ("server", "http://x"),
            ("clone", "1"),
            ("username", "u"),
            ("passwd", "%%"),
        ]);
        assert!(NGrinderTask::from_metadata(&bad_password).is_err());
    }
}
