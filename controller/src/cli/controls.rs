//! `serin promote | abort | retry | pause | resume`: set the `serin.dev/*` annotation, wait
//! until the controller acknowledges it in `status.manualControls`, and report what it did.
//! A one-shot request that is not acknowledged in time is withdrawn, so it cannot take effect
//! later by surprise.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use serin_crds::Canary;

use super::error::{CliError, Op};
use super::fetch::{self, CANARIES};
use super::kube_args::Cluster;
use super::view::EventView;
use crate::decide::{ABORT_ANNOTATION, PAUSE_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION};

/// A manual control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    /// Skip the remaining steps and gates and promote.
    Promote,
    /// Roll the release back now.
    Abort,
    /// Release a failed revision again.
    Retry,
    /// Hold the release at its weight.
    Pause,
    /// Let a paused release go on.
    Resume,
}

impl Control {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Promote => "promote",
            Control::Abort => "abort",
            Control::Retry => "retry",
            Control::Pause => "pause",
            Control::Resume => "resume",
        }
    }

    fn annotation(self) -> &'static str {
        match self {
            Control::Promote => PROMOTE_ANNOTATION,
            Control::Abort => ABORT_ANNOTATION,
            Control::Retry => RETRY_ANNOTATION,
            Control::Pause | Control::Resume => PAUSE_ANNOTATION,
        }
    }

    fn one_shot(self) -> bool {
        matches!(self, Control::Promote | Control::Abort | Control::Retry)
    }

    /// The annotation value acknowledged for this request (`None` for pause and resume).
    fn acknowledged(self, canary: &Canary) -> Option<String> {
        let acks = canary.status.as_ref()?.manual_controls.as_ref()?;
        match self {
            Control::Promote => acks.promote.clone(),
            Control::Abort => acks.abort.clone(),
            Control::Retry => acks.retry.clone(),
            Control::Pause | Control::Resume => None,
        }
    }

    /// Reasons of the controller's Events that refuse (ignore) a request of this kind.
    fn refusal_reason(self) -> Option<&'static str> {
        match self {
            Control::Promote => Some("PromoteIgnored"),
            Control::Abort => Some("AbortIgnored"),
            Control::Retry => Some("RetryIgnored"),
            Control::Pause | Control::Resume => None,
        }
    }
}

/// Where a request stands, read from the Canary and its Events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not acknowledged yet.
    Pending,
    /// Acknowledged; the Event that says what was done has not been seen yet.
    Acknowledged,
    /// Acted on, as the message says.
    Done(String),
    /// Acknowledged and ignored, for the reason given.
    Refused(String),
}

/// Where the request `id` (the annotation value; unused for pause and resume) stands.
pub fn progress(control: Control, id: &str, canary: &Canary, events: &[EventView]) -> Progress {
    let paused = canary
        .status
        .as_ref()
        .and_then(|s| s.manual_controls.as_ref())
        .and_then(|c| c.paused)
        == Some(true);
    match control {
        Control::Pause if paused => {
            return Progress::Done("paused".to_owned());
        }
        Control::Resume if !paused => return Progress::Done("resumed".to_owned()),
        Control::Pause | Control::Resume => return Progress::Pending,
        _ => {}
    }
    if control.acknowledged(canary).as_deref() != Some(id) {
        return Progress::Pending;
    }
    match events.iter().rev().find(|e| e.note.contains(id)) {
        Some(e) if Some(e.reason.as_str()) == control.refusal_reason() => {
            let reason = e
                .note
                .split_once(": ")
                .map_or(e.note.as_str(), |(_, why)| why);
            Progress::Refused(reason.to_owned())
        }
        Some(e) => Progress::Done(e.note.clone()),
        None => Progress::Acknowledged,
    }
}

/// What a control did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// What serin did, in its words.
    pub message: String,
    /// The phase afterwards.
    pub phase: String,
    /// The weight afterwards.
    pub weight: u32,
}

/// The merge patch that sets (or, for resume, removes) the annotation.
fn annotation_patch(control: Control, id: &str) -> Value {
    let value = match control {
        Control::Resume => Value::Null,
        Control::Pause => json!("true"),
        _ => json!(id),
    };
    json!({"metadata": {"annotations": {control.annotation(): value}}})
}

/// Sends `control` to the Canary and waits up to `timeout` for serin to act on it.
pub async fn send(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    control: Control,
    timeout: Duration,
) -> Result<Outcome, CliError> {
    let who = format!("{namespace}/{name}");
    // Reports a missing Canary (and missing CRDs) as `get` does.
    fetch::get_canary(cluster, namespace, name).await?;
    let id = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let api: Api<Canary> = Api::namespaced(cluster.client.clone(), namespace);
    let patch_op = || Op::new("patch", CANARIES, Some(namespace));
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(annotation_patch(control, &id)),
    )
    .await
    .map_err(|e| CliError::from_kube(patch_op(), &cluster.server, e))?;
    let acknowledged =
        |c: Option<&Canary>| c.is_some_and(|c| progress(control, &id, c, &[]) != Progress::Pending);
    let waited =
        tokio::time::timeout(timeout, await_condition(api.clone(), name, acknowledged)).await;
    let canary = match waited {
        Ok(Ok(Some(canary))) => canary,
        Ok(Ok(None)) => {
            return Err(fetch::get_canary(cluster, namespace, name)
                .await
                .err()
                .unwrap_or(CliError::Usage(format!("{who} was deleted"))));
        }
        Ok(Err(e)) => {
            return Err(CliError::Api {
                op: Op::new("watch", CANARIES, Some(namespace)),
                code: 0,
                message: e.to_string(),
            });
        }
        Err(_) => {
            let state = give_up(cluster, &api, namespace, name, control, &id).await?;
            if let Some(outcome) = state.acted {
                return finish(cluster, namespace, name, control, &id, outcome).await;
            }
            return Err(CliError::Timeout {
                action: control.as_str(),
                canary: who,
                waited: timeout,
                state: state.message,
            });
        }
    };
    finish(cluster, namespace, name, control, &id, canary).await
}

/// Reads the Events that say what became of an acknowledged request.
async fn finish(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    control: Control,
    id: &str,
    mut canary: Canary,
) -> Result<Outcome, CliError> {
    // The controller records its Events before it writes status; a few reads cover a slow
    // API server.
    let mut found = Progress::Acknowledged;
    for _ in 0..10 {
        let events: Vec<EventView> = fetch::events(cluster, namespace, name)
            .await?
            .iter()
            .map(fetch::event_view)
            .collect();
        found = progress(control, id, &canary, &events);
        if found != Progress::Acknowledged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        canary = fetch::get_canary(cluster, namespace, name).await?;
    }
    let status = canary.status.clone().unwrap_or_default();
    match found {
        Progress::Refused(reason) => Err(CliError::Refused {
            action: control.as_str(),
            canary: format!("{namespace}/{name}"),
            reason,
        }),
        Progress::Done(message) => Ok(Outcome {
            message,
            phase: status.phase.unwrap_or_default().as_str().to_owned(),
            weight: status.canary_weight.unwrap_or(0),
        }),
        Progress::Pending | Progress::Acknowledged => Ok(Outcome {
            message: format!("acknowledged as {id}"),
            phase: status.phase.unwrap_or_default().as_str().to_owned(),
            weight: status.canary_weight.unwrap_or(0),
        }),
    }
}

struct GiveUp {
    /// Acknowledged after all, while withdrawing.
    acted: Option<Canary>,
    message: String,
}

/// After a timeout: withdraws a one-shot request unless serin acknowledged it meanwhile (the
/// patch carries the `resourceVersion` read, so it cannot remove a request that was just acted
/// on), and describes where the Canary stands.
async fn give_up(
    cluster: &Cluster,
    api: &Api<Canary>,
    namespace: &str,
    name: &str,
    control: Control,
    id: &str,
) -> Result<GiveUp, CliError> {
    for _ in 0..5 {
        let canary = fetch::get_canary(cluster, namespace, name).await?;
        if progress(control, id, &canary, &[]) != Progress::Pending {
            return Ok(GiveUp {
                acted: Some(canary),
                message: String::new(),
            });
        }
        let why = hold_reason(&canary);
        if !control.one_shot() {
            return Ok(GiveUp {
                acted: None,
                message: format!(
                    "{why}; the annotation {} stays as set and takes effect when serin next reconciles the Canary (is the controller running?)",
                    control.annotation()
                ),
            });
        }
        let still_ours = canary
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(control.annotation()))
            .is_some_and(|v| v == id);
        if !still_ours {
            return Ok(GiveUp {
                acted: None,
                message: format!("{why}; another request replaced this one"),
            });
        }
        let withdraw = json!({"metadata": {
            "resourceVersion": canary.metadata.resource_version,
            "annotations": {control.annotation(): null},
        }});
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(withdraw))
            .await
        {
            Ok(_) => {
                return Ok(GiveUp {
                    acted: None,
                    message: format!("{why}; the request was withdrawn"),
                });
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                return Err(CliError::from_kube(
                    Op::new("patch", CANARIES, Some(namespace)),
                    &cluster.server,
                    e,
                ));
            }
        }
    }
    Ok(GiveUp {
        acted: None,
        message: format!(
            "the Canary kept changing; the request {}={id} may still be acted on",
            control.annotation()
        ),
    })
}

/// Where the Canary stands and what holds it, for a timeout message.
fn hold_reason(canary: &Canary) -> String {
    let status = canary.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_default();
    let held = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == crate::decide::RECONCILING && c.status == crate::decide::TRUE)
        .or_else(|| {
            status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == crate::decide::READY)
        })
        .map(|c| format!(": {} ({})", c.reason, c.message.clone().unwrap_or_default()))
        .unwrap_or_default();
    format!(
        "the Canary is {}{held}",
        if phase.as_str().is_empty() {
            "not yet seen by serin"
        } else {
            phase.as_str()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::needless_pass_by_value,
        reason = "test fixtures read like sentences"
    )]
    fn canary(status: Value) -> Canary {
        serde_json::from_value(json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}, "analysis": {}},
            "status": status,
        }))
        .expect("canary")
    }

    fn event(reason: &str, note: &str) -> EventView {
        EventView {
            time: None,
            type_: "Normal".into(),
            reason: reason.into(),
            note: note.into(),
            count: 1,
        }
    }

    #[test]
    fn a_request_is_pending_until_its_own_value_is_acknowledged() {
        let c = canary(json!({"manualControls": {"abort": "older"}}));
        assert_eq!(progress(Control::Abort, "mine", &c, &[]), Progress::Pending);
        let c = canary(json!({"manualControls": {"abort": "mine"}}));
        assert_eq!(
            progress(Control::Abort, "mine", &c, &[]),
            Progress::Acknowledged
        );
    }

    #[test]
    fn an_ignored_request_is_refused_with_the_controllers_reason() {
        let c = canary(json!({"phase": "Succeeded", "manualControls": {"abort": "r1"}}));
        let events = [event(
            "AbortIgnored",
            "Abort request r1 ignored: no release in analysis (Succeeded)",
        )];
        assert_eq!(
            progress(Control::Abort, "r1", &c, &events),
            Progress::Refused("no release in analysis (Succeeded)".into())
        );
    }

    #[test]
    fn an_acted_on_request_reports_the_controllers_event() {
        let c = canary(json!({"phase": "Failed", "manualControls": {"abort": "r2"}}));
        let events = [
            event(
                "AbortIgnored",
                "Abort request r1 ignored: no release in analysis (Succeeded)",
            ),
            event("Aborted", "Rolling back: aborted with serin.dev/abort (r2)"),
        ];
        assert_eq!(
            progress(Control::Abort, "r2", &c, &events),
            Progress::Done("Rolling back: aborted with serin.dev/abort (r2)".into())
        );
    }

    #[test]
    fn pause_and_resume_follow_the_paused_acknowledgement() {
        let paused = canary(json!({"canaryWeight": 20, "manualControls": {"paused": true}}));
        let running = canary(json!({"canaryWeight": 20}));
        assert_eq!(
            progress(Control::Pause, "", &running, &[]),
            Progress::Pending
        );
        assert_eq!(
            progress(Control::Pause, "", &paused, &[]),
            Progress::Done("paused".into())
        );
        assert_eq!(
            progress(Control::Resume, "", &paused, &[]),
            Progress::Pending
        );
        assert_eq!(
            progress(Control::Resume, "", &running, &[]),
            Progress::Done("resumed".into())
        );
    }

    #[test]
    fn resume_removes_the_pause_annotation_and_one_shots_carry_their_id() {
        assert_eq!(
            annotation_patch(Control::Resume, "x"),
            json!({"metadata": {"annotations": {"serin.dev/pause": null}}})
        );
        assert_eq!(
            annotation_patch(Control::Pause, "x"),
            json!({"metadata": {"annotations": {"serin.dev/pause": "true"}}})
        );
        assert_eq!(
            annotation_patch(Control::Retry, "x"),
            json!({"metadata": {"annotations": {"serin.dev/retry": "x"}}})
        );
    }
}
