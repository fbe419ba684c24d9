//! The accepted range of a metric check and the judgement of a value against it. The range is
//! the validated one ([`serin_crds::validation::Range`]): validation applies Flagger's
//! semantics for the deprecated single `threshold` (a minimum for `request-success-rate`, a
//! maximum for every other metric), so the planner and the judge never see the raw metric.

pub use serin_crds::validation::{Judgement, Range as Thresholds, number};
