//! Webhook calls on their own tasks. A gate or rollout hook may take up to
//! [`MAX_WEBHOOK_TIMEOUT`] to answer; the reconcile that asked for it waits a short while and,
//! when the hook has not answered yet, ends its tick with the hook pending instead of holding
//! a worker. The next tick of that Canary picks the answer up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serin_crds::validation::WebhookPlan;
use tokio::sync::watch;

use super::{HookCaller, HookError, HookPayload, MAX_WEBHOOK_TIMEOUT};

/// What a poll of a hook call found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// The call ended: the status of the successful answer, or why it did not succeed.
    Done(Result<u16, HookError>),
    /// The call is still running.
    Running,
}

/// One call in flight or answered and not yet picked up.
struct Call {
    /// The payload's phase and checksum: a call made for another revision or phase is not the
    /// answer to this one.
    made_for: String,
    started: Instant,
    answer: watch::Receiver<Option<Result<u16, HookError>>>,
    task: tokio::task::AbortHandle,
}

/// Hook calls by Canary and hook, each on its own task.
pub struct HookRuns {
    caller: HookCaller,
    wait: Duration,
    calls: Mutex<HashMap<(String, String), Call>>,
}

impl HookRuns {
    /// Calls made with `caller`; a poll waits at most `wait` for the answer.
    pub fn new(caller: HookCaller, wait: Duration) -> Self {
        HookRuns {
            caller,
            wait,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// The answer of `hook` for the Canary `canary` (`namespace/name`) and `payload`: starts the
    /// call unless one for the same payload phase and checksum is running, then waits for its
    /// answer up to the poll's wait. An answer is given once; the next poll starts a new call.
    pub async fn poll(&self, canary: &str, hook: &WebhookPlan, payload: &HookPayload) -> Poll {
        let key = (canary.to_owned(), hook.name.clone());
        let made_for = format!("{:?}/{}", payload.phase, payload.checksum);
        let mut answer = self.start_or_join(&key, &made_for, hook, payload);
        let answered = tokio::time::timeout(self.wait, answer.wait_for(Option::is_some)).await;
        let result = match answered {
            Ok(Ok(value)) => value.clone(),
            // The task ended without an answer: it was aborted by a newer call.
            Ok(Err(_)) => None,
            Err(_) => return Poll::Running,
        };
        let mut calls = self.lock();
        if calls.get(&key).is_some_and(|c| c.made_for == made_for) {
            calls.remove(&key);
        }
        match result {
            Some(result) => Poll::Done(result),
            None => Poll::Running,
        }
    }

    /// How many calls are in flight or unanswered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no call is in flight or unanswered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn start_or_join(
        &self,
        key: &(String, String),
        made_for: &str,
        hook: &WebhookPlan,
        payload: &HookPayload,
    ) -> watch::Receiver<Option<Result<u16, HookError>>> {
        let mut calls = self.lock();
        // Answers nobody picked up (the Canary was deleted, or moved on): every call ends within
        // MAX_WEBHOOK_TIMEOUT, so one twice as old is finished and forgotten.
        calls.retain(|_, c| c.started.elapsed() < 2 * MAX_WEBHOOK_TIMEOUT);
        if let Some(call) = calls.get(key) {
            if call.made_for == made_for {
                return call.answer.clone();
            }
            call.task.abort();
        }
        let (tx, rx) = watch::channel(None);
        let caller = self.caller.clone();
        let (hook, payload) = (hook.clone(), payload.clone());
        let task = tokio::spawn(async move {
            let result = caller.call(&hook, &payload).await;
            tx.send_replace(Some(result));
        });
        calls.insert(
            key.clone(),
            Call {
                made_for: made_for.to_owned(),
                started: Instant::now(),
                answer: rx.clone(),
                task: task.abort_handle(),
            },
        );
        rx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Call>> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
