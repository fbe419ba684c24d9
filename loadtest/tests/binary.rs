//! The `serin-loadtester` binary starts, listens where told and answers health checks.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eventually, get};

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_healthz_on_the_listen_address() {
    // Find a free port; a race with another process is possible but unlikely.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _child = Running(
        Command::new(env!("CARGO_BIN_EXE_serin-loadtester"))
            .args([
                "--listen",
                &addr.to_string(),
                "-timeout=10m",
                "-log-level=warn",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    serin_loadtest::install_crypto_provider();
    eventually("the binary to listen", Duration::from_secs(10), || async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_ok()
    })
    .await;
    assert_eq!(get(addr, "/healthz").await, (200, "OK".to_owned()));
}

#[test]
fn hey_subcommand_rejects_bad_options_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_serin-loadtester"))
        .args(["hey", "-z", "soon", "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hey option -z"), "{stderr}");
}
