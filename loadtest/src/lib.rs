//! serin's load tester: Flagger's loadtester API (tasks, manual gates, rollback gates) with a
//! native constant-rate load generator that runs `hey` command lines without `hey`.

pub mod gate_store;
pub mod gates;
pub mod generator;
pub mod go_duration;
pub mod hey_args;
pub mod load_report;
pub mod load_spec;
pub mod metrics;
pub mod payload;
pub mod server;
pub mod tasks;

/// Installs rustls' ring crypto provider for the process (reqwest is built without one).
/// Installing twice is harmless; the first provider stays.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
