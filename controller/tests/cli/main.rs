//! The commands for people (`serin get`, the manual controls, the kubectl plugin, the
//! dashboard) run as the real binary against the emulated cluster during releases.

mod browser;
mod controls;
mod dashboard;
mod demo;
mod errors;
mod get;
mod support;
