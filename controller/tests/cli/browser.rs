//! Headless Chromium (Debian's `chromium`) driven over the `DevTools` protocol: a WebSocket to
//! the page target, JSON commands with ids, answers matched by id.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running headless Chromium with one page; stopped when dropped.
pub(crate) struct Browser {
    child: Child,
    socket: Socket,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile, off the network, and connects to its page.
    pub(crate) async fn start() -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts (scripts/test installs Debian's chromium)");
        let port = devtools_port(profile.path()).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let page_url = loop {
            let targets: Vec<Value> =
                match reqwest::get(format!("http://127.0.0.1:{port}/json/list")).await {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
            if let Some(url) = targets
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                break url.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "chromium opened no page: {targets:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(page_url.as_str())
            .await
            .expect("DevTools WebSocket");
        Browser {
            child,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Sends one command and returns its `result`.
    pub(crate) async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .expect("send to chromium");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| format!("chromium did not answer {method}"))
                .expect("an answer within 20 s")
                .expect("chromium closed the DevTools socket")
                .expect("DevTools message");
            let Message::Text(text) = message else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method} failed: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens `url` in the page.
    pub(crate) async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub(crate) async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until `check` holds for its value; fails with the last value.
    pub(crate) async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        expression: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(expression).await;
            if check(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {timeout:?}; last: {value}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a PNG screenshot of the page to `path`.
    pub(crate) async fn screenshot(&mut self, path: &Path) {
        let result = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().expect("screenshot data"))
            .expect("base64");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port Chromium writes to `DevToolsActivePort` in its profile once it listens.
async fn devtools_port(profile: &Path) -> u16 {
    let file: PathBuf = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        {
            return port;
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not open its DevTools port"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
