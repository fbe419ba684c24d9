//! `serin-loadtester`: serves Flagger's loadtester API, or runs one hey-style load run from the
//! command line (`serin-loadtester hey -z 10s -q 100 -c 2 URL`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use regex::Regex;
use serin_loadtest::gate_store::ConfigMapGateStore;
use serin_loadtest::gates::Gates;
use serin_loadtest::metrics::LoadMetrics;
use serin_loadtest::server::{self, AppState};
use serin_loadtest::tasks::TaskConfig;
use serin_loadtest::{generator, go_duration, hey_args};

/// Flagger-compatible load tester with a native constant-rate load generator.
#[derive(Debug, Parser)]
#[command(name = "serin-loadtester", version)]
struct Cli {
    /// Port to listen on, on all interfaces.
    #[arg(long, default_value_t = 9090, env = "LOADTESTER_PORT")]
    port: u16,
    /// Bind this one address instead of all interfaces, e.g. 127.0.0.1:9090.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Default task deadline (Go duration); a webhook's `timeout` metadata overrides it.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    timeout: Duration,
    /// Serve only canaries whose namespace matches this regular expression (unanchored, as
    /// in Flagger; anchor it with ^...$).
    #[arg(long, value_name = "REGEXP")]
    namespace_regexp: Option<Regex>,
    /// Keep gate states in this ConfigMap so that they survive a restart.
    #[arg(long, value_name = "NAME")]
    state_configmap: Option<String>,
    /// Namespace of the state ConfigMap [default: `$POD_NAMESPACE`, else `default`].
    #[arg(long, value_name = "NAMESPACE")]
    state_namespace: Option<String>,
    /// Log level: trace, debug, info, warn or error (or a tracing filter).
    #[arg(long, default_value = "info", env = "LOG_LEVEL")]
    log_level: String,
    /// Log format: `json` or `console` (Flagger's `-zap-encoder` is accepted as an alias).
    #[arg(long, alias = "zap-encoder", default_value = "console")]
    log_format: String,
    /// Shell for `cmd` tasks.
    #[arg(long, default_value = "sh")]
    shell_path: PathBuf,
    /// Bash for `bash` tasks.
    #[arg(long, default_value = "bash")]
    bash_path: PathBuf,
    /// Helm for `helm` tasks.
    #[arg(long, default_value = "helm")]
    helm_path: PathBuf,
    /// Helm v3 for `helmv3` tasks.
    #[arg(long, default_value = "helmv3")]
    helmv3_path: PathBuf,
    /// kubectl for `kubectl` tasks.
    #[arg(long, default_value = "kubectl")]
    kubectl_path: PathBuf,
    /// Refuse tasks that run programs (`cmd` other than hey, `bash`, `helm`, `helmv3`,
    /// `kubectl`); the native load generator and nGrinder still run.
    #[arg(long, env = "LOADTESTER_DISABLE_COMMANDS")]
    disable_commands: bool,
    /// Require this token on every endpoint but /healthz and /metrics, as
    /// `Authorization: Bearer <token>` or as a webhook's `token` metadata.
    #[arg(long, env = "LOADTESTER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one load with hey's options on the native generator and print a summary.
    Hey {
        /// hey's options and URL, e.g. `-z 10s -q 50 -c 2 http://127.0.0.1:8080/`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
}

fn parse_duration(text: &str) -> Result<Duration, go_duration::DurationError> {
    go_duration::parse(text)
}

/// Flagger's loadtester takes Go-style flags (`-port=8080`); accept them unchanged.
fn go_style_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const LONG: &[&str] = &[
        "port",
        "timeout",
        "log-level",
        "zap-encoder",
        "namespace-regexp",
    ];
    let mut args = args.into_iter();
    let mut out: Vec<String> = args.next().into_iter().collect();
    let mut in_subcommand = false;
    for arg in args {
        in_subcommand |= arg == "hey";
        let name = arg.strip_prefix('-').unwrap_or_default();
        let name = name.split('=').next().unwrap_or_default();
        if !in_subcommand && !arg.starts_with("--") && LONG.contains(&name) {
            out.push(format!("-{arg}"));
        } else {
            out.push(arg);
        }
    }
    out
}

fn init_tracing(level: &str, format: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .with_context(|| format!("invalid --log-level {level:?}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_from(go_style_args(std::env::args()));
    init_tracing(&cli.log_level, &cli.log_format)?;
    serin_loadtest::install_crypto_provider();
    if let Some(Command::Hey { args }) = &cli.command {
        return run_hey(args).await;
    }
    let gates = match &cli.state_configmap {
        Some(name) => {
            let namespace = cli
                .state_namespace
                .clone()
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .unwrap_or_else(|| "default".to_owned());
            let client = kube::Client::try_default()
                .await
                .context("connecting to the Kubernetes API for --state-configmap")?;
            let store = ConfigMapGateStore::new(client, &namespace, name);
            let gates = Gates::persistent(store)
                .await
                .context("loading gate states")?;
            tracing::info!(configmap = %format!("{namespace}/{name}"), "gate states are persisted");
            gates
        }
        None => Gates::in_memory(),
    };
    let tasks = TaskConfig {
        default_timeout: cli.timeout,
        shell: cli.shell_path,
        bash: cli.bash_path,
        helm: cli.helm_path,
        helmv3: cli.helmv3_path,
        kubectl: cli.kubectl_path,
        commands_disabled: cli.disable_commands,
    };
    let state = AppState::new(gates, tasks, cli.namespace_regexp).with_token(cli.token);
    let addr = cli
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], cli.port)));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "serin-loadtester listening");
    axum::serve(listener, server::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("stopped");
    Ok(())
}

async fn run_hey(args: &[String]) -> anyhow::Result<()> {
    let spec = hey_args::parse_args(args).context("reading hey options")?;
    let report = generator::run(&spec, &LoadMetrics::default()).await?;
    println!("{}", report.summary());
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let args = std::iter::once("serin-loadtester")
            .chain(args.iter().copied())
            .map(str::to_owned);
        Cli::try_parse_from(go_style_args(args)).unwrap()
    }

    #[test]
    fn flaggers_go_style_flags_are_accepted() {
        let cli = parse(&[
            "-port=8080",
            "-timeout=30m",
            "-log-level",
            "debug",
            "-zap-encoder=json",
        ]);
        assert_eq!(cli.port, 8080);
        assert_eq!(cli.timeout, Duration::from_secs(1800));
        assert_eq!(cli.log_level, "debug");
        assert_eq!(cli.log_format, "json");
    }

    #[test]
    fn defaults_and_the_hey_subcommand() {
        let cli = parse(&[]);
        assert_eq!((cli.port, cli.timeout), (9090, Duration::from_secs(3600)));
        assert!(cli.listen.is_none() && cli.state_configmap.is_none());
        let cli = parse(&["hey", "-z", "1s", "-c", "2", "http://127.0.0.1:1/"]);
        let Some(Command::Hey { args }) = cli.command else {
            panic!("expected the hey subcommand");
        };
        assert_eq!(args, ["-z", "1s", "-c", "2", "http://127.0.0.1:1/"]);
    }
}
