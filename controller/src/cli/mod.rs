//! The commands for people: `serin get`, `promote`, `abort`, `retry`, `pause`, `resume` and
//! `dashboard`, also installed as the kubectl plugin `kubectl-serin`. They read and steer
//! Canaries through the API with the user's kubeconfig; the controller does the work.

pub mod controls;
pub mod error;
pub mod fetch;
pub mod kube_args;
pub mod render;
pub mod style;
pub mod view;
pub mod watch;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use chrono::Utc;

pub use controls::Control;
pub use error::CliError;
pub use kube_args::{Cluster, KubeArgs, Scope};

/// Output formats of `serin get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: a table, or the Canary's page.
    Text,
    /// The same data as JSON.
    Json,
    /// The same data as YAML.
    Yaml,
}

/// `serin get canaries` and `serin get canary NAME`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum GetCommand {
    /// One line per Canary: phase, weight, step, failed checks, last change, and the revisions
    /// in the primary and the canary.
    #[command(visible_alias = "canaries.flagger.app")]
    Canaries {
        /// Keep the list current from a watch until interrupted.
        #[arg(short, long)]
        watch: bool,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Text)]
        output: Format,
        /// Cluster flags.
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// One Canary as a person reads it: target and generated objects, steps done and to come,
    /// each metric's last result, gates and webhooks, conditions and recent events.
    Canary {
        /// Name of the Canary.
        name: String,
        /// Keep the page current from watches until interrupted (redrawn on a terminal, one
        /// line per change otherwise).
        #[arg(short, long)]
        watch: bool,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = Format::Text)]
        output: Format,
        /// Cluster flags.
        #[command(flatten)]
        kube: KubeArgs,
    },
}

/// Flags of the manual controls.
#[derive(clap::Args, Debug, Clone)]
pub struct ControlArgs {
    /// Name of the Canary.
    pub name: String,
    /// How long to wait for serin to acknowledge the request.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Cluster flags.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Runs `serin get ...`; `outer` holds cluster flags given before the command.
pub async fn get(
    command: GetCommand,
    outer: &KubeArgs,
    out: &mut (impl Write + Send),
) -> Result<u8, CliError> {
    let live = std::io::stdout().is_terminal();
    let style = style::Style::for_stdout();
    match command {
        GetCommand::Canaries {
            watch: true,
            output: Format::Text,
            kube,
        } => {
            let cluster = kube.or(outer).connect().await?;
            watch::canaries(&cluster, out, style, live).await?;
            Ok(0)
        }
        GetCommand::Canaries {
            watch,
            output,
            kube,
        } => {
            if watch {
                return Err(CliError::Usage("--watch prints text; leave out -o".into()));
            }
            let cluster = kube.or(outer).connect().await?;
            let canaries = fetch::list_canaries(&cluster, &cluster.scope).await?;
            let rows: Vec<view::CanaryRow> = canaries.iter().map(view::row).collect();
            match output {
                Format::Text => write!(
                    out,
                    "{}",
                    render::table(
                        &rows,
                        cluster.scope == Scope::All,
                        Utc::now(),
                        style,
                        &cluster.scope.to_string()
                    )
                )?,
                Format::Json => print_json(out, &rows)?,
                Format::Yaml => print_yaml(out, &rows)?,
            }
            Ok(0)
        }
        GetCommand::Canary {
            name,
            watch: true,
            output: Format::Text,
            kube,
        } => {
            let cluster = kube.or(outer).connect().await?;
            let ns = cluster.namespace.clone();
            watch::canary(&cluster, &ns, &name, out, style, live).await?;
            Ok(0)
        }
        GetCommand::Canary {
            name,
            watch,
            output,
            kube,
        } => {
            if watch {
                return Err(CliError::Usage("--watch prints text; leave out -o".into()));
            }
            let cluster = kube.or(outer).connect().await?;
            let canary = fetch::get_canary(&cluster, &cluster.namespace, &name).await?;
            let related = fetch::related(&cluster, &canary).await;
            let view = view::canary_view(&canary, related);
            match output {
                Format::Text => write!(out, "{}", render::detail(&view, Utc::now(), style))?,
                Format::Json => print_json(out, &view)?,
                Format::Yaml => print_yaml(out, &view)?,
            }
            Ok(0)
        }
    }
}

/// Runs a manual control and reports the outcome.
pub async fn control(
    control: Control,
    args: ControlArgs,
    outer: &KubeArgs,
    out: &mut (impl Write + Send),
) -> Result<u8, CliError> {
    let cluster = args.kube.or(outer).connect().await?;
    let ns = cluster.namespace.clone();
    let outcome = Box::pin(controls::send(
        &cluster,
        &ns,
        &args.name,
        control,
        args.timeout,
    ))
    .await?;
    writeln!(
        out,
        "{ns}/{}: {} (phase {}, weight {}%)",
        args.name, outcome.message, outcome.phase, outcome.weight
    )?;
    Ok(0)
}

fn print_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| CliError::Io(e.into()))?;
    writeln!(out)?;
    Ok(())
}

fn print_yaml(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_yaml::to_string(value).map_err(|e| CliError::Io(std::io::Error::other(e)))?;
    out.write_all(text.as_bytes())?;
    Ok(())
}
