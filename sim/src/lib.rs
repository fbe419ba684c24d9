//! An in-memory Kubernetes API server with watch, plus a simulated cluster (workloads, traffic, metrics),
//! for serin's end-to-end tests, demo and benchmarks. See `docs/emulator.md`.

mod api_metrics;
pub mod apply;
pub mod audit;
pub mod cluster;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fields;
mod gc;
mod handlers;
mod http_util;
pub mod kubeconfig;
pub mod metrics_http;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod prometheus;
pub mod protobuf;
pub mod render;
pub mod resources;
pub mod routing;
pub mod schema;
pub mod selector;
pub mod server;
pub mod store;
mod table;
pub mod watch;

pub use audit::{AuditEntry, AuditLog};
pub use error::{ApiError, ApiResult};
pub use faults::{FaultConfig, Faults};
pub use server::{Server, ServerConfig, ServerError};
