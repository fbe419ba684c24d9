//! What a tick that failed part-way leaves to the next tick of its Canary, in memory.
//!
//! The status is the release's memory: a hook's pass, a step taken, a rollback begun are
//! recorded only there. When the status write of a tick fails after its actions ran, a next
//! tick deciding from the old status would repeat them (call the pre-rollout hook again, put
//! back the weight a rollback just removed). So the plan whose status was not written is kept
//! and the next tick writes it (and announces it) instead of deciding again. When a tick
//! fails in its actions, after its checks ran, the check results are kept and the next tick
//! decides with them instead of calling the hooks again.
//!
//! Either is used only while the Canary still shows the status the failed tick decided from:
//! once anything else wrote the status, the kept work is dropped. It lives in this process
//! only: after a restart the tick is decided again (hooks run at least once across restarts,
//! once within a process).

use std::collections::HashMap;
use std::sync::Mutex;

use serin_crds::canary::{CanaryPhase, CanaryStatus};

use crate::decide::{CheckResults, Plan};

/// The plan of a tick whose status write failed.
#[derive(Clone, Debug)]
pub(super) struct UnwrittenPlan {
    /// The phase the plan was decided from.
    pub(super) previous: CanaryPhase,
    /// The plan: its actions ran, its status and announcements remain.
    pub(super) plan: Plan,
}

#[derive(Clone, Debug)]
enum Left {
    Plan(Box<UnwrittenPlan>),
    Checks(CheckResults),
}

#[derive(Clone, Debug)]
struct Entry {
    /// The Canary's UID: a Canary deleted and created again under the same name starts afresh.
    uid: String,
    /// The status the failed tick decided from.
    from: Option<CanaryStatus>,
    left: Left,
}

/// The work failed ticks left, by Canary (`namespace/name`).
#[derive(Debug, Default)]
pub struct Unfinished(Mutex<HashMap<String, Entry>>);

impl Unfinished {
    /// Keeps `plan`, decided from `from`, whose status write failed.
    pub(super) fn keep_plan(
        &self,
        key: &str,
        uid: &str,
        from: Option<&CanaryStatus>,
        plan: UnwrittenPlan,
    ) {
        self.keep(key, uid, from, Left::Plan(Box::new(plan)));
    }

    /// Keeps the results of the checks run from `from` by a tick whose actions failed.
    pub(super) fn keep_checks(
        &self,
        key: &str,
        uid: &str,
        from: Option<&CanaryStatus>,
        checks: CheckResults,
    ) {
        self.keep(key, uid, from, Left::Checks(checks));
    }

    /// The unwritten plan of the Canary, when it still shows the status the plan was decided
    /// from. Taken: a plan is written once.
    pub(super) fn take_plan(
        &self,
        key: &str,
        uid: &str,
        status: Option<&CanaryStatus>,
    ) -> Option<UnwrittenPlan> {
        match self.take(key, uid, status)? {
            Left::Plan(plan) => Some(*plan),
            checks @ Left::Checks(_) => {
                self.keep(key, uid, status, checks);
                None
            }
        }
    }

    /// The check results a failed tick left, when the Canary still shows the status they were
    /// run from. Taken: the next tick that fails keeps its own.
    pub(super) fn take_checks(
        &self,
        key: &str,
        uid: &str,
        status: Option<&CanaryStatus>,
    ) -> Option<CheckResults> {
        match self.take(key, uid, status)? {
            Left::Checks(checks) => Some(checks),
            plan @ Left::Plan(_) => {
                self.keep(key, uid, status, plan);
                None
            }
        }
    }

    /// Forgets the Canary `key` (it was deleted).
    pub(super) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn keep(&self, key: &str, uid: &str, from: Option<&CanaryStatus>, left: Left) {
        self.lock().insert(
            key.to_owned(),
            Entry {
                uid: uid.to_owned(),
                from: from.cloned(),
                left,
            },
        );
    }

    fn take(&self, key: &str, uid: &str, status: Option<&CanaryStatus>) -> Option<Left> {
        let entry = self.lock().remove(key)?;
        (entry.uid == uid && entry.from.as_ref() == status).then_some(entry.left)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serin_crds::canary::{CanaryPhase, CanaryStatus};

    use super::{Unfinished, UnwrittenPlan};
    use crate::decide::{CheckResults, Plan};

    fn status(weight: u32) -> CanaryStatus {
        CanaryStatus {
            phase: Some(CanaryPhase::Progressing),
            canary_weight: Some(weight),
            ..CanaryStatus::default()
        }
    }

    fn plan(weight: u32) -> UnwrittenPlan {
        UnwrittenPlan {
            previous: CanaryPhase::Progressing,
            plan: Plan {
                status: status(weight),
                actions: Vec::new(),
                requeue_after: Duration::from_secs(60),
            },
        }
    }

    #[test]
    fn an_unwritten_plan_is_given_once_while_the_canary_shows_the_status_it_came_from() {
        let left = Unfinished::default();
        left.keep_plan("test/podinfo", "u1", Some(&status(10)), plan(0));
        assert!(
            left.take_plan("other/podinfo", "u1", Some(&status(10)))
                .is_none()
        );
        let taken = left.take_plan("test/podinfo", "u1", Some(&status(10)));
        assert_eq!(taken.map(|p| p.plan.status), Some(status(0)));
        assert!(
            left.take_plan("test/podinfo", "u1", Some(&status(10)))
                .is_none(),
            "given once"
        );
    }

    #[test]
    fn kept_work_is_dropped_once_the_status_moved_or_the_canary_was_recreated() {
        let left = Unfinished::default();
        left.keep_plan("test/podinfo", "u1", Some(&status(10)), plan(0));
        assert!(
            left.take_plan("test/podinfo", "u1", Some(&status(20)))
                .is_none(),
            "someone else wrote the status"
        );
        assert!(
            left.take_plan("test/podinfo", "u1", Some(&status(10)))
                .is_none(),
            "dropped"
        );
        left.keep_checks(
            "test/podinfo",
            "u1",
            Some(&status(10)),
            CheckResults::default(),
        );
        assert!(
            left.take_checks("test/podinfo", "u2", Some(&status(10)))
                .is_none(),
            "another Canary of the same name"
        );
    }

    #[test]
    fn asking_for_the_other_kind_of_work_leaves_the_kept_one_in_place() {
        let left = Unfinished::default();
        left.keep_checks("test/podinfo", "u1", None, CheckResults::default());
        assert!(left.take_plan("test/podinfo", "u1", None).is_none());
        assert_eq!(
            left.take_checks("test/podinfo", "u1", None),
            Some(CheckResults::default())
        );
    }
}
