//! `serin-sim`: run the emulated API server (`serve`) or only the simulated cluster (`cluster`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serin_sim::cluster::{Cluster, Exporters, SimConfig};
use serin_sim::{FaultConfig, Server, ServerConfig, metrics_http};

#[derive(Debug, Parser)]
#[command(
    name = "serin-sim",
    about = "Kubernetes API emulator and simulated cluster for serin"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (and the simulated cluster against it) until interrupted.
    Serve(ServeArgs),
    /// Run only the simulated cluster against an existing API server.
    Cluster(ClusterArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address of the API server.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Where to write the kubeconfig.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Address of the Prometheus metrics endpoint.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Do not run the simulated cluster.
    #[arg(long)]
    no_cluster: bool,
    /// Watch events retained per resource.
    #[arg(long, default_value_t = 5000)]
    history_limit: usize,
    /// Fraction of API requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    fault_500: f64,
    /// Fraction of API requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    fault_429: f64,
    /// Fraction of write requests answered 409.
    #[arg(long, default_value_t = 0.0)]
    fault_409: f64,
    /// Latency added to each API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    fault_latency_ms: u64,
    /// Probability that a watch is dropped after each event.
    #[arg(long, default_value_t = 0.0)]
    fault_watch_drop: f64,
    #[command(flatten)]
    sim: SimArgs,
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// Kubeconfig of the API server to act on.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Address of the Prometheus metrics endpoint.
    #[arg(long)]
    metrics_listen: SocketAddr,
    #[command(flatten)]
    sim: SimArgs,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Requests per second entering each apex Service or route.
    #[arg(long, default_value_t = 100.0)]
    rps: f64,
    /// Time for a workload change to become ready, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    ready_delay_ms: u64,
    /// Simulation tick, in milliseconds.
    #[arg(long, default_value_t = 200)]
    tick_ms: u64,
    /// Seed of the traffic randomness.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of requests carrying headers that match header-based routing rules.
    #[arg(long, default_value_t = 0.1)]
    header_fraction: f64,
    /// Do not create `ReplicaSets` and `Pods` for Deployment revisions.
    #[arg(long)]
    no_pods: bool,
    /// Exporters whose metrics to produce: `all` or a list of istio, linkerd, osm, nginx, envoy, traefik, skipper, apisix, app.
    #[arg(long, default_value = "all", value_parser = Exporters::parse)]
    exporters: Exporters,
    /// Write VirtualService status as istiod does with `PILOT_ENABLE_STATUS=true`.
    #[arg(long)]
    istio_status: bool,
}

impl SimArgs {
    fn config(&self) -> SimConfig {
        SimConfig {
            rps: self.rps,
            header_fraction: self.header_fraction,
            ready_delay: Duration::from_millis(self.ready_delay_ms),
            tick: Duration::from_millis(self.tick_ms.max(1)),
            seed: self.seed,
            pods: !self.no_pods,
            exporters: self.exporters,
            istio_status: self.istio_status,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Cluster(args) => cluster(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServerConfig {
        listen: args.listen,
        history_limit: args.history_limit,
        faults: FaultConfig {
            error_500: args.fault_500,
            error_429: args.fault_429,
            conflict_409: args.fault_409,
            latency: Duration::from_millis(args.fault_latency_ms),
            watch_drop: args.fault_watch_drop,
            failing_writes: Vec::new(),
            user_agent_prefix: None,
        },
        ..ServerConfig::default()
    };
    let server = Server::start(config)
        .await
        .context("starting the API server")?;
    server.write_kubeconfig(&args.kubeconfig)?;
    println!(
        "serin-sim API server at {} (kubeconfig {})",
        server.base_url(),
        args.kubeconfig.display()
    );
    let registry = server.metrics_registry();
    let cluster = if args.no_cluster {
        None
    } else {
        Some(Cluster::start(
            server.client()?,
            args.sim.config(),
            &registry,
        ))
    };
    if let Some(addr) = args.metrics_listen {
        let bound = metrics_http::serve(addr, registry).await?;
        println!("metrics at http://{bound}/metrics");
    }
    tokio::signal::ctrl_c().await?;
    drop(cluster);
    Ok(())
}

async fn cluster(args: ClusterArgs) -> anyhow::Result<()> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let registry = metrics_http::new_registry();
    let _cluster = Cluster::start(client, args.sim.config(), &registry);
    let bound = metrics_http::serve(args.metrics_listen, registry).await?;
    println!("simulated cluster running; metrics at http://{bound}/metrics");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
