//! Launches a real Prometheus for tests and the demo: finds or installs the binary, scrapes given
//! targets on 127.0.0.1, waits until ready, and stops it on drop.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors launching Prometheus.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// No binary and installing it failed or was not possible.
    #[error(
        "prometheus binary not found and could not be installed ({0}); install it with `apt-get install -y prometheus`"
    )]
    NotInstalled(String),
    /// An I/O error (temp dir, config, process spawn).
    #[error("prometheus: {0}")]
    Io(#[from] std::io::Error),
    /// Prometheus did not become ready in time.
    #[error("prometheus did not become ready within {0:?}")]
    NotReady(Duration),
}

/// How to run Prometheus.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// `host:port` targets to scrape (path `/metrics`).
    pub targets: Vec<SocketAddr>,
    /// Scrape interval.
    pub scrape_interval: Duration,
    /// How long to wait for `/-/ready`.
    pub ready_timeout: Duration,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            scrape_interval: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(30),
        }
    }
}

/// A running Prometheus, killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    /// The command line, to start it again on the same address and data.
    command: (PathBuf, Vec<String>),
    ready_timeout: Duration,
    data: tempfile::TempDir,
}

const CANDIDATES: &[&str] = &["/usr/bin/prometheus", "/usr/local/bin/prometheus"];

/// The Prometheus binary: `$PROMETHEUS`, a well-known path, or `prometheus` on `PATH`.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os("PROMETHEUS")
        .map(PathBuf::from)
        .filter(|p| p.exists())
    {
        return Some(explicit);
    }
    if let Some(found) = CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Some(found);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Finds the binary, or installs Debian's `prometheus` package when running as root.
pub fn ensure_binary() -> Result<PathBuf, PrometheusError> {
    if let Some(binary) = find_binary() {
        return Ok(binary);
    }
    if !is_root() {
        return Err(PrometheusError::NotInstalled(
            "not root, cannot run apt-get".to_owned(),
        ));
    }
    eprintln!("serin-sim: prometheus not found, installing it with apt-get (this takes a minute)");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| PrometheusError::NotInstalled(format!("apt-get: {e}")))
    };
    apt(&["update", "-qq"])?;
    let status = apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "prometheus",
    ])?;
    if !status.success() {
        return Err(PrometheusError::NotInstalled(format!(
            "apt-get install exited with {status}"
        )));
    }
    find_binary()
        .ok_or_else(|| PrometheusError::NotInstalled("installed package has no binary".to_owned()))
}

fn free_port() -> Result<u16, PrometheusError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn write_config(dir: &Path, config: &PrometheusConfig) -> Result<PathBuf, PrometheusError> {
    let targets: Vec<String> = config.targets.iter().map(|t| format!("'{t}'")).collect();
    let interval = format!("{}ms", config.scrape_interval.as_millis().max(1));
    let text = format!(
        "global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\nscrape_configs:\n  - job_name: serin-sim\n    scrape_interval: {interval}\n    scrape_timeout: {interval}\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A blocking `GET path` on `addr`; true on HTTP 200.
fn http_ok(addr: SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

impl Prometheus {
    /// Starts Prometheus and waits until it is ready. Blocking; call it from `spawn_blocking` in async code.
    pub fn start(config: &PrometheusConfig) -> Result<Self, PrometheusError> {
        let binary = ensure_binary()?;
        let data = tempfile::tempdir()?;
        let config_path = write_config(data.path(), config)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let args = vec![
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", data.path().join("data").display()),
            format!("--web.listen-address={addr}"),
            "--storage.tsdb.retention.time=1h".to_owned(),
        ];
        let child = spawn(&binary, &args, data.path())?;
        let mut prometheus = Self {
            child,
            addr,
            command: (binary, args),
            ready_timeout: config.ready_timeout,
            data,
        };
        prometheus.wait_ready()?;
        Ok(prometheus)
    }

    fn wait_ready(&mut self) -> Result<(), PrometheusError> {
        let deadline = Instant::now() + self.ready_timeout;
        while !http_ok(self.addr, "/-/ready") {
            if Instant::now() > deadline {
                return Err(PrometheusError::NotReady(self.ready_timeout));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Stops Prometheus (an outage): its address refuses connections until [`Prometheus::restart`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts Prometheus again on the same address with the same data, and waits until it is
    /// ready. Blocking.
    pub fn restart(&mut self) -> Result<(), PrometheusError> {
        self.stop();
        self.child = spawn(&self.command.0, &self.command.1, self.data.path())?;
        self.wait_ready()
    }

    /// [`Prometheus::start`] on a blocking thread, for async callers.
    pub async fn start_async(config: PrometheusConfig) -> Result<Self, PrometheusError> {
        tokio::task::spawn_blocking(move || Self::start(&config))
            .await
            .map_err(|e| PrometheusError::Io(std::io::Error::other(e.to_string())))?
    }

    /// `http://127.0.0.1:PORT`, the base URL for the query API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn spawn(binary: &Path, args: &[String], dir: &Path) -> Result<Child, PrometheusError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("prometheus.log"))?;
    Ok(Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
