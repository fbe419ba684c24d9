//! Compares serin-loadtester's native generator with `hey` against the same local target:
//! achieved requests per second with the generator pinned to one core, and how far the achieved
//! rate lands from the requested one. Prints a Markdown table.
//!
//! Run with `cargo bench -p serin-loadtest --bench generator_vs_hey`. Needs `hey` on the PATH
//! (Debian: `apt-get install hey`); `taskset` is used for pinning when present.

use std::net::SocketAddr;
use std::process::Command;

use axum::Router;
use axum::routing::any;

/// The target runs pinned to this core, the generators to `GENERATOR_CORE`.
const TARGET_CORE: &str = "1";
const GENERATOR_CORE: &str = "0";
const PINNED_ENV: &str = "SERIN_BENCH_TARGET_PINNED";
const RUN: &str = "5s";
const RUN_SECS: f64 = 5.0;
const REPEATS: usize = 3;

struct Scenario {
    name: &'static str,
    /// hey options before the URL.
    options: &'static str,
    /// Total requested rate, `None` for as fast as possible.
    requested: Option<f64>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "max rate, 50 workers",
        options: "-c 50",
        requested: None,
    },
    Scenario {
        name: "max rate, 4 workers",
        options: "-c 4",
        requested: None,
    },
    Scenario {
        name: "200 rps (-q 100 -c 2)",
        options: "-q 100 -c 2",
        requested: Some(200.0),
    },
    Scenario {
        name: "1000 rps (-q 100 -c 10)",
        options: "-q 100 -c 10",
        requested: Some(1000.0),
    },
    Scenario {
        name: "5000 rps (-q 250 -c 20)",
        options: "-q 250 -c 20",
        requested: Some(5000.0),
    },
];

/// What one tool reported for one scenario.
struct Measured {
    responses: u64,
    total_secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() {
    if has("taskset") && std::env::var_os(PINNED_ENV).is_none() {
        // Re-run this benchmark with the target server pinned to its own core.
        let exe = std::env::current_exe().expect("own path");
        let status = Command::new("taskset")
            .args(["-c", TARGET_CORE])
            .arg(exe)
            .args(std::env::args().skip(1))
            .env(PINNED_ENV, "1")
            .status()
            .expect("re-run under taskset");
        std::process::exit(status.code().unwrap_or(1));
    }
    if !has("hey") {
        eprintln!("hey is not installed (apt-get install hey); skipping the comparison");
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addr = runtime.block_on(start_target());
    let server = std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    let url = format!("http://{addr}/");
    let serin = env!("CARGO_BIN_EXE_serin-loadtester");

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{REPEATS} runs of {RUN} per cell, median by achieved rate; load average before: {}\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("| scenario | tool | requested rps | achieved rps | rate error | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for scenario in SCENARIOS {
        let hey_args = format!("-z {RUN} {} {url}", scenario.options);
        let tools = [("hey", "hey", vec![]), ("serin", serin, vec!["hey"])];
        let mut runs: Vec<Vec<Measured>> = tools.iter().map(|_| Vec::new()).collect();
        // Alternate the tools so that both see the same background noise.
        for _ in 0..REPEATS {
            for ((_, program, prefix), measured) in tools.iter().zip(runs.iter_mut()) {
                measured.extend(run_pinned(program, prefix, &hey_args));
            }
        }
        for ((tool, _, _), mut measured) in tools.iter().zip(runs) {
            measured.sort_by(|a, b| a.achieved().total_cmp(&b.achieved()));
            match measured.get(measured.len() / 2) {
                Some(median) => print_row(scenario, tool, median),
                None => println!("| {} | {tool} | failed to run | | | | |", scenario.name),
            }
        }
    }
    drop(server);
}

impl Measured {
    /// Responses per second of wall time.
    fn achieved(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let responses = self.responses as f64;
        responses / self.total_secs.max(RUN_SECS)
    }
}

fn print_row(scenario: &Scenario, tool: &str, measured: &Measured) {
    let achieved = measured.achieved();
    let (requested, error) = match scenario.requested {
        Some(rate) => (
            format!("{rate:.0}"),
            format!("{:+.2}%", (achieved - rate) / rate * 100.0),
        ),
        None => ("max".to_owned(), "n/a".to_owned()),
    };
    println!(
        "| {} | {tool} | {requested} | {achieved:.0} | {error} | {:.2} | {:.2} |",
        scenario.name, measured.p50_ms, measured.p99_ms
    );
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

fn run_pinned(program: &str, prefix: &[&str], args: &str) -> Option<Measured> {
    let mut command = if has("taskset") {
        let mut c = Command::new("taskset");
        c.args(["-c", GENERATOR_CORE, program]);
        c
    } else {
        Command::new(program)
    };
    command.args(prefix).args(args.split_whitespace());
    let output = command.output().ok()?;
    if !output.status.success() {
        eprintln!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    parse_summary(&String::from_utf8_lossy(&output.stdout))
}

/// Reads the summary both tools print: `Total: X secs`, `50% in X secs`, `[200] N responses`.
fn parse_summary(text: &str) -> Option<Measured> {
    let mut measured = Measured {
        responses: 0,
        total_secs: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Total:", secs, "secs"] => measured.total_secs = secs.parse().ok()?,
            ["50%", "in", secs, "secs"] => measured.p50_ms = secs.parse::<f64>().ok()? * 1e3,
            ["99%", "in", secs, "secs"] => measured.p99_ms = secs.parse::<f64>().ok()? * 1e3,
            [code, count, "responses"] if code.starts_with('[') => {
                measured.responses += count.parse::<u64>().ok()?;
            }
            _ => {}
        }
    }
    (measured.total_secs > 0.0).then_some(measured)
}

async fn start_target() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let app = Router::new().fallback(any(|| async { "ok" }));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve target");
    });
    addr
}
