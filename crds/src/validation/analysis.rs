//! Validation of the release strategy: which of progressive, A/B or blue/green, and its steps.

use crate::canary::{CanaryAnalysis, HttpMatchRequest};

use super::{Problems, Weight};

/// How traffic moves to the new revision.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Shift traffic to the canary in steps, up to `max_weight`, then promote.
    Progressive {
        /// Canary weight at each step, ascending, the last one at most `max_weight`.
        steps: Vec<Weight>,
        /// The canary never receives more than this.
        max_weight: Weight,
        /// Weight moved back to the primary at each promotion step; all at once when `None`.
        promotion_step: Option<Weight>,
    },
    /// Route the requests that match to the canary for `iterations` steps, then promote.
    ABTesting {
        /// Number of analysis steps.
        iterations: u32,
        /// Requests that go to the canary.
        matches: Vec<HttpMatchRequest>,
    },
    /// Run the canary beside the primary for `iterations` steps, then switch all traffic.
    BlueGreen {
        /// Number of analysis steps.
        iterations: u32,
    },
}

/// Traffic mirroring before any traffic shifts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MirrorPlan {
    /// Percentage of requests copied to the canary.
    pub percent: Weight,
}

/// Chooses the strategy as Flagger does: `iterations` with `match` is A/B testing, `iterations`
/// alone blue/green, `stepWeight` or `stepWeights` progressive. Exactly one must be set.
pub(crate) fn strategy(a: &CanaryAnalysis, p: &mut Problems) -> Option<Strategy> {
    let set: Vec<&str> = [
        ("stepWeight", a.step_weight.is_some()),
        ("stepWeights", a.step_weights.is_some()),
        ("iterations", a.iterations.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if set.len() != 1 {
        let found = if set.is_empty() {
            "none is set".to_owned()
        } else {
            format!("{} are set", set.join(" and "))
        };
        p.add(
            "spec.analysis",
            format!("set exactly one of stepWeight, stepWeights or iterations ({found})"),
        );
        return None;
    }
    if let Some(iterations) = a.iterations {
        if iterations == 0 {
            p.add("spec.analysis.iterations", "must be at least 1");
            return None;
        }
        for field in [
            ("maxWeight", a.max_weight),
            ("stepWeightPromotion", a.step_weight_promotion),
        ] {
            if field.1.is_some() {
                p.add(
                    format!("spec.analysis.{}", field.0),
                    "applies to progressive releases (stepWeight or stepWeights) only, not to iterations",
                );
            }
        }
        return Some(match a.match_.clone().filter(|m| !m.is_empty()) {
            Some(matches) => Strategy::ABTesting {
                iterations,
                matches,
            },
            None => Strategy::BlueGreen { iterations },
        });
    }
    progressive(a, p)
}

fn progressive(a: &CanaryAnalysis, p: &mut Problems) -> Option<Strategy> {
    let problems_before = p.0.len();
    let max_weight = match a.max_weight {
        Some(max) => p.weight("spec.analysis.maxWeight", max, 1),
        None => None,
    };
    let mut steps: Vec<Weight> = Vec::new();
    if let Some(step) = a.step_weight {
        let step = p.weight("spec.analysis.stepWeight", step, 1)?;
        let max = max_weight.unwrap_or(Weight::FULL);
        if step > max {
            p.add(
                "spec.analysis.maxWeight",
                format!("must be at least the first step ({step})"),
            );
            return None;
        }
        let mut next = u32::from(step.get());
        while next < u32::from(max.get()) {
            steps.extend(Weight::new(next));
            next += u32::from(step.get());
        }
        steps.push(max);
    } else if let Some(weights) = &a.step_weights {
        if weights.is_empty() {
            p.add("spec.analysis.stepWeights", "must list at least one weight");
        }
        for (i, w) in weights.iter().enumerate() {
            let path = format!("spec.analysis.stepWeights[{i}]");
            if let Some(w) = p.weight(&path, *w, 1) {
                if steps.last().is_some_and(|prev| *prev >= w) {
                    p.add(
                        path,
                        format!(
                            "must be greater than the step before it ({})",
                            steps[steps.len() - 1]
                        ),
                    );
                }
                steps.push(w);
            }
        }
        if let (Some(max), Some(first)) = (max_weight, steps.first())
            && *first > max
        {
            p.add(
                "spec.analysis.maxWeight",
                format!("must be at least the first step ({first})"),
            );
        }
    }
    let promotion_step = match a.step_weight_promotion {
        Some(w) => Some(p.weight("spec.analysis.stepWeightPromotion", w, 1)?),
        None => None,
    };
    if p.0.len() > problems_before {
        return None;
    }
    // Without maxWeight, stepWeights end where their list ends. Serin caps the steps at
    // maxWeight instead of overshooting it as Flagger does.
    let max_weight = max_weight.unwrap_or_else(|| steps.last().copied().unwrap_or(Weight::FULL));
    steps.retain(|w| *w < max_weight);
    steps.push(max_weight);
    Some(Strategy::Progressive {
        steps,
        max_weight,
        promotion_step,
    })
}

/// Checks mirroring: not with A/B testing. Whether the router can mirror is a router rule.
pub(crate) fn mirror(
    a: &CanaryAnalysis,
    strategy: Option<&Strategy>,
    p: &mut Problems,
) -> Option<MirrorPlan> {
    let percent = match a.mirror_weight {
        Some(w) => p.weight("spec.analysis.mirrorWeight", w, 1)?,
        None => Weight::FULL,
    };
    if a.mirror != Some(true) {
        if a.mirror_weight.is_some() {
            p.add(
                "spec.analysis.mirrorWeight",
                "has no effect unless spec.analysis.mirror is true",
            );
        }
        return None;
    }
    if matches!(strategy, Some(Strategy::ABTesting { .. })) {
        p.add(
            "spec.analysis.mirror",
            "cannot be combined with A/B testing (match)",
        );
    }
    Some(MirrorPlan { percent })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(ws: &[u32]) -> Vec<Weight> {
        ws.iter().map(|w| Weight::new(*w).unwrap()).collect()
    }

    fn plan(a: &CanaryAnalysis) -> (Option<Strategy>, Problems) {
        let mut p = Problems::default();
        (strategy(a, &mut p), p)
    }

    #[test]
    fn step_weight_stops_at_max_weight_instead_of_overshooting() {
        let a = CanaryAnalysis {
            step_weight: Some(20),
            max_weight: Some(50),
            ..Default::default()
        };
        let (s, _) = plan(&a);
        assert_eq!(
            s,
            Some(Strategy::Progressive {
                steps: weights(&[20, 40, 50]),
                max_weight: weights(&[50])[0],
                promotion_step: None
            })
        );
    }

    #[test]
    fn step_weight_without_max_weight_goes_to_one_hundred() {
        let a = CanaryAnalysis {
            step_weight: Some(25),
            ..Default::default()
        };
        let Some(Strategy::Progressive {
            steps, max_weight, ..
        }) = plan(&a).0
        else {
            panic!()
        };
        assert_eq!(steps, weights(&[25, 50, 75, 100]));
        assert_eq!(max_weight, Weight::FULL);
    }

    #[test]
    fn step_weights_are_capped_at_max_weight() {
        let a = CanaryAnalysis {
            step_weights: Some(vec![1, 5, 25, 50, 80]),
            max_weight: Some(60),
            ..Default::default()
        };
        let Some(Strategy::Progressive { steps, .. }) = plan(&a).0 else {
            panic!()
        };
        assert_eq!(steps, weights(&[1, 5, 25, 50, 60]));
    }

    #[test]
    fn step_weights_without_max_weight_end_at_their_last_step() {
        let a = CanaryAnalysis {
            step_weights: Some(vec![10, 30]),
            ..Default::default()
        };
        let Some(Strategy::Progressive {
            steps, max_weight, ..
        }) = plan(&a).0
        else {
            panic!()
        };
        assert_eq!((steps, max_weight), (weights(&[10, 30]), weights(&[30])[0]));
    }

    #[test]
    fn iterations_with_match_is_ab_testing_and_without_is_blue_green() {
        let ab = CanaryAnalysis {
            iterations: Some(10),
            match_: Some(vec![HttpMatchRequest::default()]),
            ..Default::default()
        };
        assert!(matches!(
            plan(&ab).0,
            Some(Strategy::ABTesting { iterations: 10, .. })
        ));
        let bg = CanaryAnalysis {
            iterations: Some(3),
            ..Default::default()
        };
        assert_eq!(plan(&bg).0, Some(Strategy::BlueGreen { iterations: 3 }));
    }

    #[test]
    fn mirror_defaults_to_all_requests() {
        let a = CanaryAnalysis {
            mirror: Some(true),
            iterations: Some(5),
            ..Default::default()
        };
        let mut p = Problems::default();
        let s = strategy(&a, &mut p);
        assert_eq!(
            mirror(&a, s.as_ref(), &mut p),
            Some(MirrorPlan {
                percent: Weight::FULL
            })
        );
        assert!(p.0.is_empty());
    }
}
