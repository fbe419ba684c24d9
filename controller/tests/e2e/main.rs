//! End-to-end tests: serin's controller releasing workloads on the Kubernetes API emulator, with
//! a real Prometheus judging the simulated traffic.

mod apisix;
mod autoscaler;
mod comparison;
mod configs;
mod contour;
mod datadog;
mod defaults;
mod deletion;
mod examples;
mod faults;
mod gateway_api;
mod gloo;
mod invalid;
mod istio;
mod knative;
mod kubernetes;
mod kuma;
mod lifecycle;
mod linkerd;
mod nginx;
mod queue;
mod skipper;
mod support;
mod targets;
mod traefik;
