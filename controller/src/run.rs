//! `serin controller`: connects to the cluster, serves `/metrics`, `/healthz` and `/readyz`, and
//! runs the reconcile loop until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus_client::registry::Registry;
use serin_crds::AlertProviderType;
use serin_crds::canary::Provider;

use crate::client::ClientOptions;
use crate::leader::{LeaderElectionConfig, LeaderElector, WriteFence, default_identity};
use crate::metrics::{InfoLabels, Metrics};
use crate::notifiers::ResolvedProvider;
use crate::reconcile::{Context, ControllerConfig};

/// Flags of `serin controller` (each also read from the environment variable named).
#[derive(clap::Args, Debug, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "command-line switches, each its own flag"
)]
pub struct ControllerArgs {
    /// Kubeconfig to use; without it, `$KUBECONFIG`, `~/.kube/config`, or the in-cluster account.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Prometheus that answers the built-in metrics of Canaries without `spec.metricsServer`.
    #[arg(
        long,
        env = "SERIN_METRICS_SERVER",
        default_value = "http://prometheus:9090"
    )]
    pub metrics_server: String,
    /// Router for Canaries without `spec.provider` (for example `gatewayapi:v1` or `kubernetes`).
    #[arg(long, env = "SERIN_MESH_PROVIDER", default_value = "kubernetes")]
    pub mesh_provider: String,
    /// Watch only this namespace (all namespaces when omitted).
    #[arg(long, env = "SERIN_NAMESPACE")]
    pub namespace: Option<String>,
    /// Comma-separated label keys that name the app in selectors, in order of preference.
    #[arg(
        long,
        env = "SERIN_SELECTOR_LABELS",
        default_value = "app,name,app.kubernetes.io/name"
    )]
    pub selector_labels: String,
    /// Comma-separated prefixes of the target's labels copied to the primary (`*` copies all).
    #[arg(long, env = "SERIN_INCLUDE_LABEL_PREFIX", default_value = "")]
    pub include_label_prefix: String,
    /// Track the ConfigMaps and Secrets targets use and give primaries `-primary` copies.
    #[arg(long, env = "SERIN_ENABLE_CONFIG_TRACKING", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_config_tracking: bool,
    /// Refuse MetricTemplates and AlertProviders in other namespaces than the Canary's (on by
    /// default; `--no-cross-namespace-refs=false` allows them).
    #[arg(long, env = "SERIN_NO_CROSS_NAMESPACE_REFS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_cross_namespace_refs: bool,
    /// Name of the cluster, added to alerts.
    #[arg(long, env = "SERIN_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// Address for `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "SERIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Canaries reconciled at the same time.
    #[arg(long, env = "SERIN_CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,
    /// Releases in progress at the same time, across all Canaries (unbounded when unset). A new
    /// revision beyond the bound waits, with the condition reason `ReleaseQueued`, in the order
    /// the Canaries started waiting.
    #[arg(long, env = "SERIN_MAX_CONCURRENT_RELEASES", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_releases: Option<u32>,
    /// Elect a leader among replicas with a `coordination.k8s.io/v1` Lease; only the leader
    /// reconciles and writes.
    #[arg(long, env = "SERIN_ENABLE_LEADER_ELECTION", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_leader_election: bool,
    /// Namespace of the leader election Lease (default: `$POD_NAMESPACE`, or `default`).
    #[arg(long, env = "SERIN_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Slack incoming webhook for alerts of Canaries that name no alert provider.
    #[arg(long, env = "SERIN_SLACK_URL")]
    pub slack_url: Option<url::Url>,
    /// Name the default Slack alerts are sent under.
    #[arg(long, env = "SERIN_SLACK_USER", default_value = "serin")]
    pub slack_user: String,
    /// Channel of the default Slack alerts.
    #[arg(long, env = "SERIN_SLACK_CHANNEL")]
    pub slack_channel: Option<String>,
    /// HTTP(S) proxy for the default Slack alerts.
    #[arg(long, env = "SERIN_SLACK_PROXY_URL")]
    pub slack_proxy_url: Option<url::Url>,
    /// Microsoft Teams webhook for alerts of Canaries that name no alert provider.
    #[arg(long, env = "SERIN_MSTEAMS_URL")]
    pub msteams_url: Option<url::Url>,
    /// Send every Event of every Canary to this URL, as to an `event` webhook.
    #[arg(long, env = "SERIN_EVENT_WEBHOOK")]
    pub event_webhook: Option<url::Url>,
    /// Sustained Kubernetes API requests a second (client-side rate limit).
    #[arg(long, env = "SERIN_KUBE_API_QPS", default_value_t = 100.0, value_parser = positive_qps)]
    pub kube_api_qps: f64,
    /// Kubernetes API requests allowed in a burst above the sustained rate.
    #[arg(long, env = "SERIN_KUBE_API_BURST", default_value_t = 250, value_parser = positive_burst)]
    pub kube_api_burst: u32,
    /// How long a Kubernetes API request other than a watch may wait for its response (counted
    /// as `result="timeout"` in `serin_kube_api_requests_total` when it runs out).
    #[arg(long, env = "SERIN_KUBE_API_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub kube_api_timeout: std::time::Duration,
    /// Leader election: how long a Lease stays valid without renewal (whole seconds).
    #[arg(long, env = "SERIN_LEADER_ELECTION_LEASE_DURATION", value_parser = humantime::parse_duration, hide = true)]
    pub leader_election_lease_duration: Option<Duration>,
    /// Leader election: how long the leader may go without renewing before it stops leading.
    #[arg(long, env = "SERIN_LEADER_ELECTION_RENEW_DEADLINE", value_parser = humantime::parse_duration, hide = true)]
    pub leader_election_renew_deadline: Option<Duration>,
    /// Leader election: pause between attempts to acquire or renew the Lease.
    #[arg(long, env = "SERIN_LEADER_ELECTION_RETRY_PERIOD", value_parser = humantime::parse_duration, hide = true)]
    pub leader_election_retry_period: Option<Duration>,
    /// Longest time one metric query may take, such as `10s`.
    #[arg(long, env = "SERIN_QUERY_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub query_timeout: Duration,
    /// How far behind now the windows of metrics with `comparison` end, so that they are fully
    /// scraped: at least the scrape interval, such as `30s`.
    #[arg(long, env = "SERIN_COMPARISON_DELAY", default_value = "30s", value_parser = humantime::parse_duration)]
    pub comparison_delay: Duration,
    /// Prefix of the NGINX canary annotations (provider `nginx`), as Flagger's
    /// `-ingress-annotations-prefix`; `nginx.ingress.kubernetes.io` when omitted.
    #[arg(long, env = "SERIN_INGRESS_ANNOTATIONS_PREFIX")]
    pub ingress_annotations_prefix: Option<String>,
    /// Comma-separated networks (CIDRs or addresses) the controller never sends metric queries,
    /// webhooks or alerts to, checked on address literals, on every address a host name
    /// resolves to, and on redirects. Link-local and cloud metadata addresses by default; an
    /// empty value denies nothing.
    #[arg(
        long,
        env = "SERIN_EGRESS_DENY_CIDRS",
        default_value = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32"
    )]
    pub egress_deny_cidrs: String,
    /// Comma-separated networks that are the only ones the controller sends metric queries,
    /// webhooks and alerts to (any when empty); the deny list still applies.
    #[arg(long, env = "SERIN_EGRESS_ALLOW_CIDRS", default_value = "")]
    pub egress_allow_cidrs: String,
    /// Follow HTTP redirects of metric providers, webhooks and alert services (each hop checked
    /// against the egress networks). Off: a redirect is an answer like any other non-2xx.
    #[arg(long, env = "SERIN_EGRESS_FOLLOW_REDIRECTS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub egress_follow_redirects: bool,
    /// Ingress class of the routing objects of ingress routers (Contour's HTTPProxy), as
    /// Flagger's `-ingress-class`.
    #[arg(long, env = "SERIN_INGRESS_CLASS")]
    pub ingress_class: Option<String>,
}

impl ControllerArgs {
    fn config(&self) -> anyhow::Result<ControllerConfig> {
        let mesh_provider: Provider = self
            .mesh_provider
            .parse()
            .with_context(|| format!("--mesh-provider {:?}", self.mesh_provider))?;
        let routers = crate::routers::RouterOptions {
            ingress_annotations_prefix: self.ingress_annotations_prefix.clone(),
            ingress_class: self.ingress_class.clone(),
            ..crate::routers::RouterOptions::default()
        };
        crate::routers::router_for(mesh_provider, &routers)
            .with_context(|| format!("--mesh-provider {mesh_provider}"))?;
        Ok(ControllerConfig {
            mesh_provider,
            metrics_server: self.metrics_server.clone(),
            namespace: self.namespace.clone(),
            selector_labels: self
                .selector_labels
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            include_label_prefixes: self
                .include_label_prefix
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            config_tracking: self.enable_config_tracking,
            no_cross_namespace_refs: self.no_cross_namespace_refs,
            cluster_name: self.cluster_name.clone(),
            query_timeout: self.query_timeout,
            comparison_delay: self.comparison_delay,
            concurrency: self.concurrency,
            max_concurrent_releases: self.max_concurrent_releases,
            default_alerts: self.default_alerts(),
            event_webhook: self.event_webhook.clone(),
            routers,
            egress: serin_analysis::egress::EgressPolicy::parse(
                &self.egress_deny_cidrs,
                &self.egress_allow_cidrs,
                self.egress_follow_redirects,
            )
            .map_err(|e| anyhow::anyhow!("--egress-deny-cidrs / --egress-allow-cidrs: {e}"))?,
            ..ControllerConfig::default()
        })
    }
}

impl ControllerArgs {
    /// The Lease settings, with the hidden timing flags over the defaults.
    fn leader_election(&self, identity: &str) -> LeaderElectionConfig {
        let namespace = self
            .leader_election_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| "default".into());
        let config = LeaderElectionConfig::new(namespace).with_identity(identity);
        let timings = (
            self.leader_election_lease_duration
                .unwrap_or(config.lease_duration),
            self.leader_election_renew_deadline
                .unwrap_or(config.renew_deadline),
            self.leader_election_retry_period
                .unwrap_or(config.retry_period),
        );
        config.with_timings(timings.0, timings.1, timings.2)
    }

    fn default_alerts(&self) -> Vec<ResolvedProvider> {
        let mut providers = Vec::new();
        if let Some(url) = &self.slack_url {
            providers.push(ResolvedProvider {
                kind: AlertProviderType::Slack,
                url: url.clone(),
                token: None,
                channel: self.slack_channel.clone(),
                username: Some(self.slack_user.clone()),
                proxy: self.slack_proxy_url.clone(),
            });
        }
        if let Some(url) = &self.msteams_url {
            providers.push(ResolvedProvider {
                kind: AlertProviderType::Msteams,
                url: url.clone(),
                token: None,
                channel: None,
                username: None,
                proxy: None,
            });
        }
        providers
    }
}

fn positive_qps(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(qps) if qps.is_finite() && qps > 0.0 => Ok(qps),
        _ => Err(format!("must be a number greater than 0, not {value:?}")),
    }
}

fn positive_burst(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(burst) if burst > 0 => Ok(burst),
        _ => Err(format!(
            "must be a whole number greater than 0, not {value:?}"
        )),
    }
}

async fn client(
    kubeconfig: Option<&PathBuf>,
    options: ClientOptions,
) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await?
        }
        None => kube::Config::infer()
            .await
            .context("finding a kubeconfig or in-cluster account")?,
    };
    Ok(crate::client::build(config, options)?)
}

/// Runs the controller until Ctrl-C or SIGTERM.
pub async fn run(args: ControllerArgs) -> anyhow::Result<()> {
    let mut config = args.config()?;
    let identity = default_identity();
    let election = args
        .enable_leader_election
        .then(|| args.leader_election(&identity));
    if let Some(election) = &election {
        election.validate().context("leader election settings")?;
    }
    let fence = election.as_ref().map(WriteFence::new);
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let options = ClientOptions {
        qps: args.kube_api_qps,
        burst: args.kube_api_burst,
        identity: identity.clone(),
        fence: fence.clone(),
        metrics: Some(metrics.kube_api.clone()),
        timeout: args.kube_api_timeout,
    };
    let client = client(args.kubeconfig.as_ref(), options).await?;
    config.routers.gateway_api = crate::routers::newest_gateway_api(&client).await;
    config.routers.kuma = crate::routers::served_kuma_api(&client).await;
    metrics
        .info
        .get_or_create(&InfoLabels {
            version: env!("CARGO_PKG_VERSION").into(),
            mesh_provider: config.mesh_provider.to_string(),
        })
        .set(1);
    let ctx = Arc::new(Context::new(client, config, metrics)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, "serving /metrics, /healthz and /readyz");
    let registry = Arc::new(registry);
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let registry = Arc::clone(&registry);
                async move { metrics_text(&registry) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    if let (Some(election), Some(fence)) = (election, fence) {
        run_as_leader(ctx, election, fence).await?;
    } else {
        tracing::info!("reconciling Canaries");
        crate::reconcile::run(ctx, shutdown_signal()).await;
    }
    Ok(())
}

/// Reconciles only while this replica holds the Lease. Losing it drops the controller at once,
/// which cancels every reconcile in flight; independently, the client's write fence refuses
/// every write once the last renewal is older than the renew deadline, even before the elector
/// notices. The Lease is released after the controller has stopped.
async fn run_as_leader(
    ctx: Arc<Context>,
    config: LeaderElectionConfig,
    fence: WriteFence,
) -> anyhow::Result<()> {
    let elector = LeaderElector::new(ctx.client.clone(), config)
        .context("leader election settings")?
        .with_write_fence(fence);
    tracing::info!(identity = %elector.config().identity, "waiting to become the leader");
    let mut leadership = elector.leadership();
    let (release, may_release) = tokio::sync::oneshot::channel::<()>();
    let elector = tokio::spawn(elector.run(async {
        let _ = may_release.await;
    }));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            won = leadership.wait_for_leadership() => won.context("leader election stopped")?,
        }
        tracing::info!("leading: reconciling Canaries");
        tokio::select! {
            () = crate::reconcile::run(Arc::clone(&ctx), std::future::pending()) => break,
            () = leadership.lost() => tracing::warn!("leadership lost: reconciles cancelled, waiting to lead again"),
            () = &mut shutdown => break,
        }
    }
    let _ = release.send(());
    let _ = elector.await;
    Ok(())
}

fn metrics_text(registry: &Registry) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/plain")],
            e.to_string(),
        ),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ControllerArgs,
    }

    fn parse(flags: &[&str]) -> Result<ControllerArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("serin").chain(flags.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn the_kube_api_rate_limit_defaults_to_flaggers() {
        let args = parse(&[]).unwrap();
        assert!((args.kube_api_qps - 100.0).abs() < f64::EPSILON);
        assert_eq!(args.kube_api_burst, 250);
        let args = parse(&["--kube-api-qps", "2.5", "--kube-api-burst", "5"]).unwrap();
        assert!((args.kube_api_qps - 2.5).abs() < f64::EPSILON);
        assert_eq!(args.kube_api_burst, 5);
    }

    #[test]
    fn a_rate_limit_that_is_not_positive_is_refused_with_a_usage_error() {
        for flag in [
            "--kube-api-qps=0",
            "--kube-api-qps=-3",
            "--kube-api-qps=NaN",
            "--kube-api-qps=inf",
            "--kube-api-burst=0",
            "--kube-api-burst=-1",
        ] {
            let error = parse(&[flag]).map(|_| ()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flag}");
            assert!(error.to_string().contains("greater than 0"), "{error}");
        }
    }

    #[test]
    fn the_hidden_lease_timings_override_the_defaults() {
        let args = parse(&[
            "--leader-election-namespace",
            "serin-system",
            "--leader-election-lease-duration",
            "3s",
            "--leader-election-renew-deadline",
            "2s",
            "--leader-election-retry-period",
            "500ms",
        ])
        .unwrap();
        let config = args.leader_election("serin-a");
        assert_eq!(config.namespace, "serin-system");
        assert_eq!(config.identity, "serin-a");
        assert_eq!(config.lease_duration, Duration::from_secs(3));
        assert_eq!(config.renew_deadline, Duration::from_secs(2));
        assert_eq!(config.retry_period, Duration::from_millis(500));
        let defaults = parse(&[]).unwrap().leader_election("serin-a");
        assert_eq!(defaults.lease_duration, Duration::from_secs(15));
    }
}
