//! serin's controller crate: the `serin` binary's commands and, as they are built, the reconcile
//! pipeline, routers, notifiers and webhooks.

pub mod cli;
pub mod client;
pub mod crds;
pub mod dashboard;
pub use serin_decide as decide;
#[cfg(feature = "demo")]
pub mod demo;
pub mod http_client;
pub mod leader;
pub mod lint;
pub mod metric_providers;
pub mod metrics;
pub mod notifiers;
pub mod reconcile;
pub mod routers;
pub mod run;
pub mod webhooks;
pub mod workloads;

/// Field manager of every server-side apply serin makes.
pub const FIELD_MANAGER: &str = "serin";
