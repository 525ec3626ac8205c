//! Status updates the agent queues and sends: its own (stamped with the
//! moment's clock and random uuid) and its executors', through the update
//! manager, with one retry timer at the next due update.

use corral_api::agent as master;
use corral_api::task::TaskStatus;
use corral_runtime::Time;

use super::tasks::{uuid_v4, AgentStatus};
use super::{AgentCore, Now, Outgoing, Timer};
use crate::events::AgentEvent;
use crate::updates::{PushResult, TaskKey};

impl AgentCore {
    /// Queues an update the agent makes about `key`.
    pub(super) fn push_agent_status(
        &mut self,
        now: &mut Now<'_>,
        key: &TaskKey,
        status: AgentStatus,
    ) {
        let mut bytes = [0u8; 16];
        now.rng.fill_bytes(&mut bytes);
        let status = status.into_status(key, self.agent_id.clone(), now.unix_ms, uuid_v4(bytes));
        let result = self.push_status(status, now.time);
        if !matches!(result, PushResult::Queued) {
            tracing::debug!(framework = %key.0, task = %key.1, ?result, "agent update not queued");
        }
    }

    /// Queues `status`, unless its framework was shut down and the status
    /// does not end the task (then it is dropped and reported as queued:
    /// nobody waits for it). A shut-down framework's task end is still
    /// sent: the master keeps what the task used from offers until it
    /// hears of it, and acknowledges it itself.
    pub(super) fn push_status(&mut self, status: TaskStatus, now: Time) -> PushResult {
        let key = (status.framework_id.clone(), status.task_id.clone());
        let ends = status.state.holds_nothing();
        let result = if self.removed_frameworks.contains(&key.0) && !ends {
            PushResult::Queued
        } else {
            self.updates.push(status.clone(), now)
        };
        if result == PushResult::Queued {
            self.dirty.insert(key.clone());
            if let Some(task) = self.tasks.get_mut(&key) {
                task.state = status.state;
            }
            self.notify(AgentEvent::StatusQueued(status));
        }
        result
    }

    /// Sends the updates that are due (when registered) and sets the retry
    /// timer for the next.
    pub(super) fn flush(&mut self, now: Time) {
        self.write_checkpoints(None);
        if self.is_registered() {
            for status in self.updates.due(now) {
                let master = self.master.clone();
                self.send(
                    &master,
                    Outgoing::StatusUpdate(master::StatusUpdate { status }),
                );
            }
        }
        self.arm_retry(now);
    }

    /// Keeps exactly one retry timer, at the next due update (none while
    /// unregistered: registering resends everything).
    pub(super) fn arm_retry(&mut self, now: Time) {
        let want = if self.is_registered() {
            self.updates.next_due()
        } else {
            None
        };
        if let Some(at) = self.retry_at {
            if Some(at) == want {
                return;
            }
            self.cancel_timer(Timer::Retry);
            self.retry_at = None;
        }
        if let Some(at) = want {
            self.set_timer(Timer::Retry, at.saturating_since(now));
            self.retry_at = Some(at);
        }
    }
}
