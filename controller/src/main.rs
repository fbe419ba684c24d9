//! The `serin` command line: one binary for the controller and its tools.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serin_controller::cli::{self, Control, ControlArgs, GetCommand, KubeArgs};
use serin_controller::lint::{Input, lint};

/// serin: progressive delivery for Kubernetes, serving Flagger's `flagger.app/v1beta1` API.
#[derive(Parser, Debug)]
#[command(name = "serin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Cluster flags given before the command (`serin -n test get canaries`).
    #[command(flatten)]
    kube: KubeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the CustomResourceDefinitions serin serves (Canary, MetricTemplate, AlertProvider)
    /// as multi-document YAML, ready for `kubectl apply -f -`.
    Crds {
        /// Print the API reference (every field with its type and documentation) as Markdown
        /// instead.
        #[arg(long)]
        reference: bool,
    },
    /// Check manifests for Canary, MetricTemplate and AlertProvider objects without a cluster.
    ///
    /// Reads files, directories (recursively, *.yaml and *.yml) or `-` for standard input, each
    /// possibly holding several YAML documents. Objects of other kinds are skipped. Prints one
    /// line per problem, `PATH[#doc]: kind/name: field: message`. Exits 0 when every object is
    /// valid, 1 when any is invalid, 2 when an input cannot be read or is not YAML.
    Lint {
        /// Files, directories, or `-` for standard input.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// The router of Canaries that set no `spec.provider`, as the controller's
        /// `--mesh-provider` gives it (`istio`, `gatewayapi:v1`, `kubernetes`, ...). Without it,
        /// what a router cannot express is checked only for Canaries that name their provider.
        #[arg(long, value_name = "PROVIDER")]
        mesh_provider: Option<serin_crds::canary::Provider>,
    },
    /// Run a Canary's metric checks once, now, against its metrics providers, without a cluster.
    ///
    /// Prints each check's rendered query, value, accepted range and outcome. Exits 0 when all
    /// pass, 1 when any fails, 2 when any has no data or an error, or the input is unusable.
    Analyze(serin_analysis::cli::AnalyzeArgs),
    // Help text (input and output formats, exit status) on `JudgeArgs`.
    Judge(serin_analysis::cli::judge::JudgeArgs),
    /// Show serin at work on an emulated cluster on this machine: a healthy release promoted step
    /// by step, then a bad one rolled back. Needs Prometheus (installed from Debian when missing).
    /// Exits 0 when both releases ended as expected.
    #[cfg(feature = "demo")]
    Demo(serin_controller::demo::DemoArgs),
    /// Run the controller: reconcile Canaries on the cluster of the kubeconfig (or in-cluster).
    Controller(Box<serin_controller::run::ControllerArgs>),
    /// Show Canaries: `get canaries` lists them, `get canary NAME` shows one release.
    #[command(subcommand)]
    Get(GetCommand),
    /// Skip the remaining steps and gates and promote the canary; waits for serin to act.
    Promote(ControlArgs),
    /// Roll the current release back now; waits for serin to act.
    Abort(ControlArgs),
    /// Release a failed revision again; waits for serin to act.
    Retry(ControlArgs),
    /// Hold the release at its current weight (and start no new one) until `resume`.
    Pause(ControlArgs),
    /// Let a paused Canary go on.
    Resume(ControlArgs),
    /// Serve a live web dashboard of the Canaries on this machine (read-only unless
    /// --allow-actions).
    Dashboard(serin_controller::dashboard::DashboardArgs),
    /// Print a shell completion script: `source <(serin completion bash)`.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    /// One line per problem.
    Text,
    /// A JSON document with every finding.
    Json,
}

/// Parses the command line. Called as `kubectl-serin` (a kubectl plugin), usage and help say
/// `kubectl serin`.
fn parse() -> Cli {
    let as_plugin = std::env::args_os()
        .next()
        .and_then(|argv0| {
            std::path::Path::new(&argv0)
                .file_name()
                .map(|n| n.to_string_lossy().starts_with("kubectl-serin"))
        })
        .unwrap_or(false);
    let mut command = Cli::command();
    if as_plugin {
        command = command
            .bin_name("kubectl serin")
            .display_name("kubectl serin");
    }
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    match run(parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.downcast_ref::<cli::CliError>().is_some() => {
            eprintln!("serin: {e}");
            ExitCode::from(1)
        }
        // The reader went away (`serin crds | head`): nothing more to say.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("serin: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    let outer = cli.kube;
    let for_cluster = matches!(
        cli.command,
        Command::Get(_)
            | Command::Promote(_)
            | Command::Abort(_)
            | Command::Retry(_)
            | Command::Pause(_)
            | Command::Resume(_)
            | Command::Dashboard(_)
    );
    if !for_cluster && !outer.is_empty() {
        anyhow::bail!(
            "--kubeconfig, --context, -n and -A before the command apply to get, promote, abort, retry, pause, resume and dashboard; give other commands their own flags after the command"
        );
    }
    match cli.command {
        Command::Crds { reference } => {
            let text = if reference {
                serin_controller::crds::api_reference().context("rendering the API reference")?
            } else {
                serin_controller::crds::crds_yaml().context("rendering the CRDs")?
            };
            stdout.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Lint {
            paths,
            output,
            mesh_provider,
        } => run_lint(&paths, output, mesh_provider, &mut stdout),
        Command::Controller(args) => {
            init_tracing();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serin_controller::run::run(*args))?;
            Ok(0)
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let mut out = std::io::stdout();
            let outcomes = runtime.block_on(async {
                tokio::select! {
                    result = serin_controller::demo::run(&args, &mut out) => result.map(Some),
                    _ = tokio::signal::ctrl_c() => Ok(None),
                }
            });
            // Leaving the runtime drops the environment: Prometheus and the servers stop.
            drop(runtime);
            match outcomes? {
                Some(outcomes) => {
                    println!("\n{}", serin_controller::demo::summary(&outcomes));
                    Ok(u8::from(!serin_controller::demo::as_expected(&outcomes)))
                }
                None => {
                    eprintln!("serin demo: interrupted; everything it started was stopped");
                    Ok(130)
                }
            }
        }
        Command::Analyze(args) => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let providers = std::sync::Arc::new(
                serin_controller::metric_providers::providers_from_kubeconfig(),
            );
            runtime.block_on(serin_analysis::cli::run_with_factory(
                args,
                providers,
                &mut stdout,
            ))
        }
        Command::Judge(args) => {
            serin_analysis::cli::judge::run(&args, std::io::stdin().lock(), &mut stdout)?;
            Ok(0)
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "serin", &mut stdout);
            Ok(0)
        }
        Command::Get(command) => get(command, &outer),
        Command::Promote(args) => control(Control::Promote, args, &outer),
        Command::Abort(args) => control(Control::Abort, args, &outer),
        Command::Retry(args) => control(Control::Retry, args, &outer),
        Command::Pause(args) => control(Control::Pause, args, &outer),
        Command::Resume(args) => control(Control::Resume, args, &outer),
        Command::Dashboard(args) => {
            init_tracing();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serin_controller::dashboard::run(
                args,
                &outer,
                tokio::signal::ctrl_c(),
            ))?;
            Ok(0)
        }
    }
}

/// `serin lint`: the report on standard output, its summary on standard error.
fn run_lint(
    paths: &[String],
    output: Output,
    mesh_provider: Option<serin_crds::canary::Provider>,
    stdout: &mut impl Write,
) -> anyhow::Result<u8> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from(p.as_str())).collect();
    let report = lint(&inputs, mesh_provider);
    match output {
        Output::Text => stdout.write_all(report.to_text().as_bytes())?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut *stdout, &report)?;
            writeln!(stdout)?;
        }
    }
    eprintln!("{}", report.summary());
    Ok(report.exit_code())
}

/// `serin get ...`, until done or interrupted (`--watch` runs until Ctrl-C).
fn get(command: GetCommand, outer: &KubeArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut out = std::io::stdout();
    let result = runtime.block_on(async {
        tokio::select! {
            result = cli::get(command, outer, &mut out) => result,
            _ = tokio::signal::ctrl_c() => Ok(0),
        }
    });
    Ok(result?)
}

/// `serin promote|abort|retry|pause|resume NAME`.
fn control(control: Control, args: ControlArgs, outer: &KubeArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut out = std::io::stdout();
    Ok(runtime.block_on(cli::control(control, args, outer, &mut out))?)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
