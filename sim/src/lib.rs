//! Kubernetes API emulator (work in progress).
