//! `serin analyze`: run a Canary's metric checks once, now, against the configured providers,
//! without a cluster, and print what each check saw. `serin judge` lives in [`judge`].

mod input;
pub mod judge;
mod report;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serin_crds::Canary;
use serin_crds::canary::{MetricOutcome, Provider};
use serin_crds::metric_template::MetricProviderType;

pub use input::{InputError, InputSecret, Inputs};

use crate::cache::ProviderCache;
use crate::context::ContextOverrides;
use crate::factory::{BuiltinProviders, ProviderFactory, ProviderOptions};
use crate::outcome::CheckResult;
use crate::plan::{MetricCheck, PlanFailure, PlanInputs, SecretData, plan_canary};

/// Exit code when every check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a check failed (and none had no data or an error).
pub const EXIT_FAIL: u8 = 1;
/// Exit code when a check had no data or an error, or the input could not be used.
pub const EXIT_INCONCLUSIVE: u8 = 2;

/// Flagger's default metrics server address.
pub const DEFAULT_METRICS_SERVER: &str = "http://prometheus:9090";

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table, then a message for every check that did not pass.
    #[default]
    Table,
    /// One JSON object with every result.
    Json,
}

/// Arguments of `serin analyze`.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
#[command(
    about = "Run a Canary's metric checks once, now, without a cluster",
    long_about = "Run a Canary's metric checks once, now, against its metric providers, without a \
                  cluster, and print each check's query, value, accepted range and outcome.\n\n\
                  With --check, only check that every provider the checks use answers and \
                  accepts its credentials.\n\n\
                  Exit status: 0 when every check passes, 1 when a check fails, 2 when a check \
                  has no data or an error, or the input cannot be used (2 wins over 1). With \
                  --check: 0 when every provider is online, 2 otherwise."
)]
pub struct AnalyzeArgs {
    /// YAML file with the Canary, and the MetricTemplates and Secrets it uses (`-` for
    /// standard input); repeat for several files. A file may hold several documents separated
    /// by `---`.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Prometheus that answers the built-in metrics (request-success-rate, request-duration)
    /// and inline queries. Overrides the Canary's spec.metricsServer; without either,
    /// `http://prometheus:9090`.
    #[arg(long, value_name = "URL")]
    pub metrics_server: Option<String>,

    /// Send the queries of every Prometheus MetricTemplate to this address instead of the
    /// template's own (e.g. a local port-forward to an in-cluster Prometheus).
    #[arg(long, value_name = "URL")]
    pub template_address: Option<String>,

    /// Override a template value: name, namespace, target, service, ingress, route,
    /// interval, or variables.NAME. Repeatable, e.g. --set namespace=prod --set variables.direction=inbound.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// The Canary to analyze when the files hold several.
    #[arg(long, value_name = "NAME")]
    pub canary: Option<String>,

    /// Traffic router whose built-in queries are used when the Canary has no spec.provider.
    #[arg(long, value_name = "PROVIDER", default_value = "istio")]
    pub mesh_provider: String,

    /// How long each query may take.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Evaluate the queries at this instant (RFC 3339, e.g. 2026-01-02T15:04:05Z) instead of now.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Run no queries; check that every provider the checks use is reachable and accepts its
    /// credentials (its online check), and print one line per provider.
    #[arg(long)]
    pub check: bool,
}

/// Runs `serin analyze` with [`BuiltinProviders`] (without a Kubernetes API) and returns its
/// exit code. Unusable input is reported on `out` with exit code 2; an `Err` means `out` could
/// not be written.
pub async fn run(args: AnalyzeArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    run_with_factory(args, Arc::new(BuiltinProviders::default()), out).await
}

/// Runs `serin analyze` with providers built by `factory` (the `serin` binary gives one with a
/// Kubernetes API, for Keptn and the External Metrics API).
pub async fn run_with_factory(
    args: AnalyzeArgs,
    factory: Arc<dyn ProviderFactory>,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let prepared = match prepare(&args) {
        Ok(prepared) => prepared,
        Err(error) => {
            writeln!(out, "error: {error}")?;
            return Ok(EXIT_INCONCLUSIVE);
        }
    };
    let options = ProviderOptions {
        timeout: args.timeout,
        ..ProviderOptions::default()
    };
    let providers = ProviderCache::with_factory(factory, options);
    if args.check {
        let online =
            report::check_providers(&prepared.planned, &prepared.secrets, &providers).await;
        let code = if online.iter().all(|p| p.error.is_none()) {
            EXIT_PASS
        } else {
            EXIT_INCONCLUSIVE
        };
        match args.output {
            OutputFormat::Table => report::online_table(&online, out)?,
            OutputFormat::Json => report::online_json(&prepared.canary, &online, code, out)?,
        }
        return Ok(code);
    }
    let results =
        crate::check::run_planned(prepared.planned, &prepared.secrets, &providers, prepared.at)
            .await;
    let code = exit_code(&results);
    match args.output {
        OutputFormat::Table => report::table(&results, out)?,
        OutputFormat::Json => report::json(&prepared.canary, &results, code, out)?,
    }
    Ok(code)
}

/// The exit code for `results`: 2 if any had no data or an error, else 1 if any failed, else 0.
pub fn exit_code(results: &[CheckResult]) -> u8 {
    let has = |o: MetricOutcome| results.iter().any(|r| r.outcome == o);
    if has(MetricOutcome::NoData) || has(MetricOutcome::Error) {
        EXIT_INCONCLUSIVE
    } else if has(MetricOutcome::Fail) {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

/// What a run needs, read from the arguments and files.
struct Prepared {
    canary: String,
    planned: Vec<Result<MetricCheck, PlanFailure>>,
    secrets: SecretData,
    at: DateTime<Utc>,
}

fn prepare(args: &AnalyzeArgs) -> Result<Prepared, InputError> {
    let mut inputs = Inputs::read(&args.files)?;
    let mut canary = pick_canary(&inputs.canaries, args.canary.as_deref())?;
    if canary
        .metadata
        .namespace
        .as_deref()
        .is_none_or(str::is_empty)
    {
        canary.metadata.namespace = Some("default".into());
    }
    let mut overrides = ContextOverrides::default();
    for pair in &args.set {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| InputError::Set(format!("{pair}: expected KEY=VALUE")))?;
        overrides
            .set(key.trim(), value)
            .map_err(|e| InputError::Set(e.to_string()))?;
    }
    let default_router: Provider = args
        .mesh_provider
        .parse()
        .map_err(|e| InputError::Flag(format!("--mesh-provider: {e}")))?;
    let evaluation_time = args
        .time
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| InputError::Flag(format!("--time {t}: {e}")))
        })
        .transpose()?;
    if let Some(server) = &args.metrics_server {
        canary.spec.metrics_server = Some(server.clone());
    }
    if let Some(address) = &args.template_address {
        for template in &mut inputs.templates {
            if template.spec.provider.type_ == MetricProviderType::Prometheus {
                template.spec.provider.address = Some(address.clone());
            }
        }
    }

    let name = format!(
        "{}/{}",
        canary.metadata.namespace.as_deref().unwrap_or_default(),
        canary.metadata.name.as_deref().unwrap_or_default()
    );
    let (_, planned) = plan_canary(
        &canary,
        &PlanInputs {
            templates: &inputs.templates,
            metrics_server: DEFAULT_METRICS_SERVER,
            default_router,
            overrides: &overrides,
        },
    )
    .map_err(|errors| InputError::Invalid {
        name: name.clone(),
        errors,
    })?;
    let secrets = secret_data(&inputs.secrets, &planned);
    Ok(Prepared {
        canary: name,
        planned,
        secrets,
        at: evaluation_time.unwrap_or_else(Utc::now),
    })
}

fn pick_canary(canaries: &[Canary], wanted: Option<&str>) -> Result<Canary, InputError> {
    let names = || {
        canaries
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (wanted, canaries) {
        (Some(name), _) => canaries
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
            .cloned()
            .ok_or_else(|| {
                InputError::Canary(format!(
                    "no Canary named {name} in the files (found: {})",
                    names()
                ))
            }),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(InputError::Canary(
            "the files hold no Canary (kind: Canary); give its file with -f".into(),
        )),
        (None, _) => Err(InputError::Canary(format!(
            "the files hold several Canaries ({}); pick one with --canary NAME",
            names()
        ))),
    }
}

/// Secrets by namespace and name. A Secret without a namespace serves every namespace a check
/// looks in.
fn secret_data(
    secrets: &[InputSecret],
    planned: &[Result<crate::plan::MetricCheck, crate::plan::PlanFailure>],
) -> SecretData {
    let namespaces: BTreeSet<String> = planned
        .iter()
        .flatten()
        .map(|c| c.secret_namespace.clone())
        .collect();
    let mut data = SecretData::new();
    for secret in secrets.iter().filter(|s| s.namespace.is_none()) {
        for namespace in &namespaces {
            data.insert(
                (namespace.clone(), secret.name.clone()),
                secret.data.clone(),
            );
        }
    }
    for secret in secrets {
        if let Some(namespace) = &secret.namespace {
            data.insert(
                (namespace.clone(), secret.name.clone()),
                secret.data.clone(),
            );
        }
    }
    data
}
