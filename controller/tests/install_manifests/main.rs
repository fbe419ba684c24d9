//! The install manifests under `config/` (kustomize) and `charts/serin/` (Helm): they render, hold
//! the generated CRDs unchanged, run the controller hardened, and grant no more than it needs.
//!
//! Rendering uses `kubectl kustomize` (kubectl must be on `PATH`). Helm has no Debian package,
//! so the chart is checked statically (values referenced by templates exist, actions balance, its
//! rules and defaults equal the kustomize ones); when a `helm` binary is on `PATH`, the chart is
//! also rendered and compared with the kustomize output.

mod chart;
mod kustomize;
mod support;
