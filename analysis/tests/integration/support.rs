//! The test Prometheus and VictoriaMetrics (one each per test binary, started on first use with
//! the same backfilled data), an authenticating proxy in front of Prometheus, and servers that
//! never answer or refuse connections.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Utc};
use serin_analysis::ProviderOptions;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::data;

/// A running Prometheus holding the data of [`data::openmetrics`].
pub(crate) struct Prometheus {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub(crate) url: String,
    /// The instant the data ends at; queries are evaluated there.
    pub(crate) at: DateTime<Utc>,
    // Holding the wrapper's stdin open keeps Prometheus alive; it is stopped (and its data
    // removed) when this process exits and the pipe closes.
    _wrapper: Mutex<Child>,
}

/// The shared test Prometheus, started on first use.
pub(crate) fn prometheus() -> &'static Prometheus {
    static PROMETHEUS: OnceLock<Prometheus> = OnceLock::new();
    PROMETHEUS.get_or_init(|| start_prometheus(false))
}

/// VictoriaMetrics (the Debian `victoria-metrics` package) holding the same data as
/// [`prometheus`], imported through its Prometheus text import API.
pub(crate) fn victoria_metrics() -> &'static Prometheus {
    static VICTORIA: OnceLock<Prometheus> = OnceLock::new();
    VICTORIA.get_or_init(start_victoria_metrics)
}

fn start_victoria_metrics() -> Prometheus {
    ensure_installed();
    let end = Utc::now().timestamp() / 60 * 60 - 3600;
    let dir = tempfile::Builder::new()
        .prefix("serin-analysis-victoria-")
        .tempdir()
        .expect("create a temporary directory")
        .keep();
    let port = free_port();
    let script = r#"dir="$1"; shift; "$@" >"$dir/victoria.log" 2>&1 & pid=$!; read -r _; kill "$pid"; wait "$pid"; rm -rf "$dir""#;
    let wrapper = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&dir)
        .arg("victoria-metrics")
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", dir.join("data").display()))
        .arg("-retentionPeriod=100y")
        .arg("-search.disableCache")
        .stdin(Stdio::piped())
        .spawn()
        .expect("start victoria-metrics");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(port, "GET", "/health", "").is_none_or(|(status, _)| status != 200) {
        assert!(
            Instant::now() < deadline,
            "victoria-metrics did not start: {}",
            std::fs::read_to_string(dir.join("victoria.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Prometheus text with millisecond timestamps.
    let mut text = String::new();
    for line in data::openmetrics(end)
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let (series, time) = line.rsplit_once(' ').expect("a timestamped sample");
        let _ = writeln!(text, "{series} {time}000");
    }
    let imported = http(port, "POST", "/api/v1/import/prometheus", &text);
    assert!(
        imported.as_ref().is_some_and(|(status, _)| *status == 204),
        "import failed: {imported:?}"
    );
    let flushed = http(port, "GET", "/internal/force_flush", "");
    assert!(flushed.is_some_and(|(status, _)| status == 200));
    Prometheus {
        url: format!("http://127.0.0.1:{port}"),
        at: Utc.timestamp_opt(end, 0).single().expect("a valid time"),
        _wrapper: Mutex::new(wrapper),
    }
}

/// One HTTP/1.0 exchange with 127.0.0.1:`port`: the status and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// A second Prometheus with the same data, serving HTTPS with a self-signed certificate.
pub(crate) fn tls_prometheus() -> &'static Prometheus {
    static PROMETHEUS: OnceLock<Prometheus> = OnceLock::new();
    PROMETHEUS.get_or_init(|| start_prometheus(true))
}

/// Provider options with a short timeout (queries are evaluated at [`Prometheus::at`]).
pub(crate) fn options() -> ProviderOptions {
    ProviderOptions {
        timeout: Duration::from_secs(5),
        ..ProviderOptions::default()
    }
}

/// A query evaluated at the end of the test data, over a one-minute window.
pub(crate) fn at_end(text: &str) -> serin_analysis::Query<'_> {
    serin_analysis::Query {
        text,
        window: Duration::from_secs(60),
        at: prometheus().at,
    }
}

/// Installs Prometheus (and openssl) when missing. Test processes may run in parallel (nextest
/// runs each test in its own process), so the install runs under a file lock and checks again.
fn ensure_installed() {
    let tools = [
        "/usr/bin/prometheus",
        "/usr/bin/promtool",
        "/usr/bin/openssl",
        "/usr/bin/victoria-metrics",
    ];
    if tools.iter().all(|tool| Path::new(tool).exists()) {
        return;
    }
    let script = "test -x /usr/bin/prometheus && test -x /usr/bin/promtool && test -x /usr/bin/openssl \
        && test -x /usr/bin/victoria-metrics \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
             -o DPkg::Lock::Timeout=300 prometheus openssl victoria-metrics; }";
    let status = Command::new("flock")
        .args(["/tmp/serin-analysis-apt.lock", "sh", "-c", script])
        .status()
        .expect("run apt-get (under flock) to install prometheus");
    assert!(status.success(), "installing the prometheus package failed");
}

fn start_prometheus(tls: bool) -> Prometheus {
    ensure_installed();
    // Whole minutes, an hour back: inside any retention, and away from the head block.
    let end = Utc::now().timestamp() / 60 * 60 - 3600;
    let dir = tempfile::Builder::new()
        .prefix("serin-analysis-prometheus-")
        .tempdir()
        .expect("create a temporary directory")
        .keep();
    let input = dir.join("data.om");
    std::fs::write(&input, data::openmetrics(end)).expect("write the OpenMetrics input");
    let tsdb = dir.join("tsdb");
    let output = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&tsdb)
        .output()
        .expect("run promtool");
    assert!(
        output.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global: {}\n").expect("write the Prometheus config");
    let mut web_config = Vec::new();
    if tls {
        web_config.push(format!(
            "--web.config.file={}",
            self_signed_web_config(&dir).display()
        ));
    }

    let port = free_port();
    let script = r#"dir="$1"; shift; "$@" >"$dir/prometheus.log" 2>&1 & pid=$!; read -r _; kill "$pid"; wait "$pid"; rm -rf "$dir""#;
    let wrapper = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&dir)
        .arg("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(&web_config)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start prometheus");
    wait_ready(port, &dir, tls);
    let scheme = if tls { "https" } else { "http" };
    Prometheus {
        url: format!("{scheme}://127.0.0.1:{port}"),
        at: Utc.timestamp_opt(end, 0).single().expect("a valid time"),
        _wrapper: Mutex::new(wrapper),
    }
}

/// Writes a self-signed certificate for 127.0.0.1 and a Prometheus web config serving it.
fn self_signed_web_config(dir: &Path) -> PathBuf {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make a certificate");
    let config = dir.join("web.yml");
    let text = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        cert.display(),
        key.display()
    );
    std::fs::write(&config, text).expect("write the web config");
    config
}

/// Waits until Prometheus is ready; over TLS, only until it listens (tests then poll it).
fn wait_ready(port: u16, dir: &Path, tls: bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = || {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        if tls {
            return true;
        }
        let _ = stream.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
    };
    while !ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    assert!(
        ready(),
        "prometheus did not become ready on port {port}:\n{}",
        log()
    );
}

/// A port nothing listens on.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A server that accepts connections and never answers. Drop it to stop listening.
pub(crate) fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

/// What the proxy requires of a request before it forwards it to the test Prometheus.
#[derive(Clone, Debug)]
pub(crate) struct Requirement {
    /// A header line (lowercase name, exact value) that must be present.
    pub(crate) header: (String, String),
}

/// Starts a proxy in front of the test Prometheus that answers 401 to requests without the
/// required header, and returns its URL. It runs on the calling test's runtime.
pub(crate) async fn auth_proxy(requirements: Vec<Requirement>) -> String {
    let upstream = prometheus().url.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(forward(client, upstream.clone(), requirements.clone()));
        }
    });
    url
}

async fn forward(
    mut client: tokio::net::TcpStream,
    upstream: String,
    requirements: Vec<Requirement>,
) {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines: Vec<&str> = head.split("\r\n").filter(|l| !l.is_empty()).collect();
    let allowed = requirements.iter().all(|r| {
        lines.iter().any(|line| {
            line.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case(&r.header.0) && value.trim() == r.header.1
            })
        })
    });
    if !allowed {
        let _ = client
            .write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n")
            .await;
        return;
    }
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let request = format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"));
    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
        return;
    };
    if server.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy(&mut server, &mut client).await;
}

/// The directory of Flagger's manifests: `../shared/flagger-compat/manifests` beside the
/// repository, or under `$SERIN_SHARED`.
pub(crate) fn flagger_manifests() -> PathBuf {
    let shared = std::env::var_os("SERIN_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("flagger-compat/manifests");
    assert!(
        dir.is_dir(),
        "the Flagger corpus is missing at {}",
        dir.display()
    );
    dir
}

/// The manifest whose file name starts with `number` (e.g. `"044"`).
pub(crate) fn flagger_manifest(number: &str) -> PathBuf {
    let dir = flagger_manifests();
    std::fs::read_dir(&dir)
        .expect("read the corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{number}-")))
        })
        .ok_or_else(|| format!("no manifest {number} in {}", dir.display()))
        .expect("the corpus has the manifest")
}
