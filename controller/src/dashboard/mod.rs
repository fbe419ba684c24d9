//! `serin dashboard`: a live web UI over the user's kubeconfig, served from the `serin` binary
//! with its page embedded. Every Canary with its phase and weight; a page per Canary with its
//! weight and metric results over time, steps, events and generated objects; live updates fed
//! by API watches. Read-only unless `--allow-actions`; listens on 127.0.0.1 by default.

mod history;
pub mod hub;
mod server;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::Api;

use crate::cli::error::CliError;
use crate::cli::fetch;
use crate::cli::kube_args::{KubeArgs, Scope};

pub use history::{History, MetricPoint, WeightPoint};

/// Flags of `serin dashboard`.
#[derive(clap::Args, Debug, Clone)]
pub struct DashboardArgs {
    /// Address to serve on. Anything but a loopback address shows the cluster's Canaries to
    /// whoever can reach it.
    #[arg(long, default_value = "127.0.0.1:3100")]
    pub listen: SocketAddr,
    /// Serve the promote, abort, retry, pause and resume buttons.
    #[arg(long)]
    pub allow_actions: bool,
    /// How long an action waits for serin to acknowledge it.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub action_timeout: Duration,
    /// Cluster flags.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Runs the dashboard until `shutdown` completes; prints its address first.
pub async fn run(
    args: DashboardArgs,
    outer: &KubeArgs,
    shutdown: impl Future,
) -> Result<(), CliError> {
    let cluster = args.kube.or(outer).connect().await?;
    // Missing CRDs and permissions are reported here rather than as an empty page.
    fetch::list_canaries(&cluster, &cluster.scope).await?;
    let hub = Arc::new(hub::Hub::default());
    let (canaries, events): (Api<serin_crds::Canary>, Api<Event>) = match &cluster.scope {
        Scope::Namespace(ns) => (
            Api::namespaced(cluster.client.clone(), ns),
            Api::namespaced(cluster.client.clone(), ns),
        ),
        Scope::All => (
            Api::all(cluster.client.clone()),
            Api::all(cluster.client.clone()),
        ),
    };
    let feeders = [
        tokio::spawn(hub::feed_canaries(Arc::clone(&hub), canaries)),
        tokio::spawn(hub::feed_events(Arc::clone(&hub), events)),
    ];
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let scope = cluster.scope.to_string();
    let state = Arc::new(server::AppState::new(
        hub,
        cluster,
        args.allow_actions,
        args.action_timeout,
        addr,
    ));
    println!(
        "serin dashboard: http://{addr}/ ({scope}, {}); Ctrl-C to stop",
        if args.allow_actions {
            "actions allowed"
        } else {
            "read-only"
        }
    );
    // Not a graceful shutdown: open event streams never end by themselves.
    let served = tokio::select! {
        served = axum::serve(listener, server::router(state)).into_future() => served,
        _ = shutdown => Ok(()),
    };
    for f in feeders {
        f.abort();
    }
    served.map_err(CliError::Io)
}
