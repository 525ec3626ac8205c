//! Reconciliation: what the master tells a framework of its tasks when
//! asked, and of tasks it does not know while agents may still bring
//! them back.

use std::time::Duration;

use corral_runtime::Time;

use super::effects::{Io, Timer};
use super::records::TaskRec;
use super::{not_subscribed, MasterCore};
use corral_api::framework::{Reconcile, Update};
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

impl MasterCore {
    /// Answers a framework's reconciliation: about every task it has,
    /// or about the tasks it names.
    pub(super) fn on_reconcile(&mut self, m: Reconcile, io: &mut Io) {
        if self.refuse_unless_leading(io) {
            return;
        }
        let Some(fw) = self.sender_framework(io) else {
            return not_subscribed(io, "reconcile");
        };
        let now_ms = io.unix_time_ms();
        let statuses: Vec<TaskStatus> = if m.task_ids.is_empty() {
            self.tasks
                .iter()
                .filter(|((f, _), _)| f == &fw)
                .map(|((_, id), t)| self.reconciled(&fw, id, t, now_ms))
                .collect()
        } else {
            let mut known = Vec::new();
            for id in &m.task_ids {
                let unknown = !self.tasks.contains_key(&(fw.clone(), id.clone()));
                if unknown && self.settling(io.now()) && !self.ended_here(&fw, id) {
                    self.deferred_reconciles.push((fw.clone(), id.clone()));
                } else {
                    known.push(self.answer(&fw, id, now_ms));
                }
            }
            self.answer_deferred_later(io);
            known
        };
        for status in statuses {
            self.send_to_framework(&fw, Update { status }, io);
        }
    }

    /// What the master says about a task it has no live record of.
    pub(super) fn unknown_status(
        &self,
        fw: &FrameworkId,
        task_id: &TaskId,
        now_ms: u64,
    ) -> TaskStatus {
        let completed = self.completed(fw, task_id);
        let aware = self
            .frameworks
            .get(fw)
            .is_some_and(|f| f.info.partition_aware);
        let (state, agent_id, message) = match completed {
            Some((_, t)) => (t.state, Some(t.agent.clone()), "task ended".to_owned()),
            None if aware => (TaskState::Unknown, None, "unknown task".to_owned()),
            None => (TaskState::Lost, None, "unknown task".to_owned()),
        };
        TaskStatus {
            task_id: task_id.clone(),
            framework_id: fw.clone(),
            agent_id,
            state,
            source: StatusSource::Master,
            reason: Some(StatusReason::Reconciliation),
            message,
            timestamp_ms: now_ms,
            uuid: None,
        }
    }

    fn reconciled(&self, fw: &FrameworkId, id: &TaskId, t: &TaskRec, now_ms: u64) -> TaskStatus {
        TaskStatus {
            task_id: id.clone(),
            framework_id: fw.clone(),
            agent_id: Some(t.agent.clone()),
            state: t.state,
            source: StatusSource::Master,
            reason: Some(StatusReason::Reconciliation),
            message: "reconciliation".to_owned(),
            timestamp_ms: now_ms,
            uuid: None,
        }
    }

    /// What the master says of one task to an explicit reconciliation.
    fn answer(&self, fw: &FrameworkId, id: &TaskId, now_ms: u64) -> TaskStatus {
        match self.tasks.get(&(fw.clone(), id.clone())) {
            Some(t) => self.reconciled(fw, id, t, now_ms),
            None => self.unknown_status(fw, id, now_ms),
        }
    }

    /// Whether agents of before this master led may still re-register
    /// with tasks it does not know: the registry's agents not back yet, or
    /// a lone master's first moments. Like Mesos's master, it says nothing
    /// about an unknown task until then rather than call it lost.
    fn settling(&self, now: Time) -> bool {
        !self.recovering.is_empty() || now < self.settle_until
    }

    /// Answers the deferred questions once the master has settled,
    /// checking every second.
    fn answer_deferred_later(&mut self, io: &mut Io) {
        if self.deferred_reconciles.is_empty() || self.deferred_timer {
            return;
        }
        self.deferred_timer = true;
        io.delay(Duration::from_secs(1), Timer::DeferredReconciles);
    }

    /// The deferred questions' timer fired: answers them if the master
    /// has settled, or checks again later.
    pub(super) fn answer_deferred(&mut self, io: &mut Io) {
        self.deferred_timer = false;
        if self.settling(io.now()) {
            self.answer_deferred_later(io);
            return;
        }
        let now_ms = io.unix_time_ms();
        for (fw, id) in std::mem::take(&mut self.deferred_reconciles) {
            if !self.frameworks.contains_key(&fw) {
                continue;
            }
            let status = self.answer(&fw, &id, now_ms);
            self.send_to_framework(&fw, Update { status }, io);
        }
    }
}
