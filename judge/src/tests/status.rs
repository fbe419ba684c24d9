//! The status form: exact round trips through JSON, and refusal of what cannot be evidence.

use super::{note_window, replay};
use crate::{Alpha, Evidence, EvidenceStatus, GRID_POINTS, Hypothesis, Margin, Sides, StatusError};

fn sample() -> Evidence {
    let margin = Margin::new(1.1).expect("valid margin");
    let hypothesis = Hypothesis::new(Sides::OneSided, margin).expect("valid hypothesis");
    replay(
        hypothesis,
        &[
            note_window(612, 5391, 9, 24),
            note_window(0, 10, 0, 1),
            note_window(1187, 4820, 14, 25),
        ],
    )
    .0
}

#[test]
fn evidence_survives_a_json_round_trip_exactly_and_carries_on_identically() {
    let mut evidence = sample();
    let json = serde_json::to_string(&EvidenceStatus::from(&evidence)).expect("serialisable");
    let status: EvidenceStatus = serde_json::from_str(&json).expect("readable");
    let mut restored = Evidence::try_from(&status).expect("valid status");
    assert_eq!(restored, evidence);
    let next = note_window(1795, 4203, 22, 20);
    evidence.observe(&next);
    restored.observe(&next);
    assert_eq!(
        restored.log_evidence().to_bits(),
        evidence.log_evidence().to_bits()
    );
    assert_eq!(
        restored.explain(Alpha::DEFAULT),
        evidence.explain(Alpha::DEFAULT)
    );
}

#[test]
fn the_status_form_is_camel_case_json_with_one_ratio_per_grid_point() {
    let value = serde_json::to_value(EvidenceStatus::from(&sample())).expect("serialisable");
    assert_eq!(value["version"], 1);
    assert_eq!(value["sides"], "oneSided");
    assert_eq!(value["margin"], 1.1);
    assert_eq!(value["windows"], 2);
    assert_eq!(value["skippedWindows"], 1);
    assert_eq!(
        value["canary"],
        serde_json::json!({"requests": 1799, "errors": 23})
    );
    assert_eq!(
        value["primary"],
        serde_json::json!({"requests": 10211, "errors": 49})
    );
    let ratios = value["logLikelihoodRatios"].as_array().expect("an array");
    assert_eq!(ratios.len(), GRID_POINTS);
    let text = serde_json::to_string(&value).expect("serialisable");
    assert!(text.len() < 1200, "compact: {} bytes", text.len());
}

#[test]
fn statuses_that_cannot_be_evidence_are_refused() {
    let good = EvidenceStatus::from(&sample());
    let refused = |change: fn(&mut EvidenceStatus)| {
        let mut status = good.clone();
        change(&mut status);
        Evidence::try_from(&status).expect_err("refused")
    };
    assert_eq!(refused(|s| s.version = 2), StatusError::Version(2));
    assert_eq!(
        refused(|s| {
            s.log_likelihood_ratios.pop();
        }),
        StatusError::Length(40)
    );
    assert_eq!(
        refused(|s| s.log_likelihood_ratios[7] = f64::NAN),
        StatusError::NotFinite(7)
    );
    assert!(matches!(
        refused(|s| s.margin = 0.5),
        StatusError::Settings(_)
    ));
    assert!(matches!(
        refused(|s| s.sides = Sides::TwoSided),
        StatusError::Settings(_)
    ));
    assert!(matches!(
        refused(|s| s.canary.errors = s.canary.requests + 1),
        StatusError::Counts(crate::Arm::Canary)
    ));
    let error = refused(|s| s.log_likelihood_ratios.clear());
    assert_eq!(
        error.to_string(),
        "logLikelihoodRatios has 0 entries, not 41"
    );
    assert_eq!(error.category(), "invalid_evidence_status");
}

#[test]
fn a_status_missing_fields_does_not_parse() {
    let error =
        serde_json::from_str::<EvidenceStatus>(r#"{"version": 1}"#).expect_err("incomplete");
    assert!(error.to_string().contains("missing field"), "{error}");
}
