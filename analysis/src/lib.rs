//! Metric analysis for serin: the providers that answer metric queries (Prometheus and the ten
//! others Flagger has), Flagger's built-in metrics for every router, query templates, threshold
//! checks, and `serin analyze`.
//!
//! The flow for one Canary: [`plan::plan_checks`] (pure) turns its validated metric checks into
//! [`plan::MetricCheck`]s; a [`factory::ProviderFactory`] makes each check's provider from its
//! `MetricProvider` and Secret data; [`check::run_checks`] runs them concurrently, each with a
//! timeout, producing [`outcome::CheckResult`]s (`Pass`, `Fail`, `NoData`, `Error`, the last
//! with an [`outcome::ErrorKind`]). [`check::run_planned`] does the last two steps at once,
//! reusing providers from a [`cache::ProviderCache`] that the controller keeps across analysis
//! steps.

pub mod builtin;
pub mod cache;
pub mod check;
pub mod cli;
pub mod context;
pub mod counts;
pub mod credentials;
pub mod egress;
pub mod factory;
pub mod outcome;
pub mod plan;
pub mod prometheus;
pub mod provider;
pub mod providers;
pub mod redact;
pub mod threshold;

pub use cache::ProviderCache;
pub use check::{run_check, run_checks, run_planned};
pub use context::PlanSubject;
pub use factory::{
    BuiltinProviders, ProviderError, ProviderFactory, ProviderOptions, build_provider,
};
pub use outcome::{CheckResult, ErrorKind};
pub use plan::{MetricCheck, PlanInputs, plan_canary, plan_checks};
pub use provider::{MetricsProvider, Query, QueryError, Reading};
pub use providers::KubernetesApi;
/// The canary-versus-primary judge, from its own data-only crate (`serin-judge`) so that the
/// decision core can run it without this crate's clients.
pub use serin_judge as judge;
