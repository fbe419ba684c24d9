//! Manual controls: the `serin.dev/*` annotations that abort, promote, retry or pause a release,
//! and their acknowledgement in status.

use std::collections::BTreeMap;

use serin_crds::canary::ManualControlsStatus;

use super::observations::ManualControls;

/// Roll the current release back now. The value identifies the request.
pub const ABORT_ANNOTATION: &str = "serin.dev/abort";
/// Skip the remaining steps and gates and promote the canary. The value identifies the request.
pub const PROMOTE_ANNOTATION: &str = "serin.dev/promote";
/// Release a failed revision again. The value identifies the request.
pub const RETRY_ANNOTATION: &str = "serin.dev/retry";
/// `true` pauses the release at its current weight; removing it (or any other value) resumes.
pub const PAUSE_ANNOTATION: &str = "serin.dev/pause";

impl ManualControls {
    /// Reads the controls from a Canary's annotations; empty values are ignored.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> ManualControls {
        let get = |key: &str| {
            annotations
                .get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        ManualControls {
            abort: get(ABORT_ANNOTATION),
            promote: get(PROMOTE_ANNOTATION),
            retry: get(RETRY_ANNOTATION),
            pause: get(PAUSE_ANNOTATION),
        }
    }

    /// Whether `serin.dev/pause` asks for a pause.
    pub fn paused(&self) -> bool {
        self.pause
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A one-shot request not yet acted on.
pub(crate) fn pending<'a>(request: Option<&'a String>, acked: Option<&String>) -> Option<&'a str> {
    request.filter(|r| Some(*r) != acked).map(String::as_str)
}

/// The requests of `controls` that are new compared with `acks`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending<'a> {
    pub abort: Option<&'a str>,
    pub promote: Option<&'a str>,
    pub retry: Option<&'a str>,
}

impl<'a> Pending<'a> {
    pub(crate) fn new(controls: &'a ManualControls, acks: &ManualControlsStatus) -> Pending<'a> {
        Pending {
            abort: pending(controls.abort.as_ref(), acks.abort.as_ref()),
            promote: pending(controls.promote.as_ref(), acks.promote.as_ref()),
            retry: pending(controls.retry.as_ref(), acks.retry.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_read_and_blank_values_ignored() {
        let annotations = BTreeMap::from([
            (
                ABORT_ANNOTATION.to_owned(),
                "2026-01-01T00:00:00Z".to_owned(),
            ),
            (PROMOTE_ANNOTATION.to_owned(), "  ".to_owned()),
            (PAUSE_ANNOTATION.to_owned(), "True".to_owned()),
        ]);
        let c = ManualControls::from_annotations(&annotations);
        assert_eq!(c.abort.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(c.promote, None);
        assert!(c.paused());
    }

    #[test]
    fn a_request_already_acknowledged_is_not_pending() {
        let controls = ManualControls {
            abort: Some("1".into()),
            retry: Some("2".into()),
            ..Default::default()
        };
        let acks = ManualControlsStatus {
            abort: Some("1".into()),
            ..Default::default()
        };
        let p = Pending::new(&controls, &acks);
        assert_eq!((p.abort, p.retry), (None, Some("2")));
    }
}
