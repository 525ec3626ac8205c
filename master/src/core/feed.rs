//! The changes the master records for subscribed operators
//! ([`crate::events`]): each handler that adds, moves or removes a task,
//! an agent or a framework notes it here, with the view of it then.
//!
//! Only a master that publishes records (its shell asks with
//! [`MasterCore::record_operator_events`]); the simulator's masters do
//! not, and each note is then one branch.

use std::sync::Arc;

use super::records::{FrameworkRec, TaskRec};
use super::task_table::TaskKey;
use super::views::{agent_state, framework_state};
use super::MasterCore;
use crate::events::OperatorEvent;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::{Quantities, Resources};
use corral_api::task::{StatusSource, TaskState, TaskStatus};

impl MasterCore {
    /// Records the changes made from now on, for
    /// [`take_operator_events`](Self::take_operator_events).
    pub fn record_operator_events(&mut self) {
        self.feed.get_or_insert_with(Vec::new);
    }

    /// The changes made since the last call, oldest first.
    pub fn take_operator_events(&mut self) -> Vec<OperatorEvent> {
        self.feed.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note(&mut self, event: impl FnOnce(&Self) -> Option<OperatorEvent>) {
        if self.feed.is_none() {
            return;
        }
        if let Some(e) = event(self) {
            if let Some(feed) = &mut self.feed {
                feed.push(e);
            }
        }
    }

    /// Task `key` is new to this master.
    pub(super) fn note_task_added(&mut self, key: &TaskKey) {
        self.note(|core| {
            let t = core.tasks.get(key)?;
            let role = core.frameworks.get(&key.0).map(|f| f.role.clone())?;
            let task = t.shared_view(&key.0, &key.1);
            Some(OperatorEvent::TaskAdded { task, role })
        });
    }

    /// The task `status` names moved to its state.
    pub(super) fn note_task_updated(&mut self, status: &TaskStatus) {
        self.note(|_| {
            Some(OperatorEvent::TaskUpdated {
                framework_id: status.framework_id.clone(),
                status: Box::new(status.clone()),
                state: status.state,
            })
        });
    }

    /// The live ones of `tasks`, removed framework `fw`'s, end KILLED
    /// here (see `keep_completed`).
    pub(super) fn note_tasks_killed(
        &mut self,
        fw: &FrameworkId,
        tasks: &[(TaskId, TaskRec)],
        now_ms: u64,
    ) {
        for (task_id, t) in tasks.iter().filter(|(_, t)| !t.state.is_terminal()) {
            let status = TaskStatus {
                task_id: task_id.clone(),
                framework_id: fw.clone(),
                agent_id: Some(t.agent.clone()),
                state: TaskState::Killed,
                source: StatusSource::Master,
                reason: None,
                message: "its framework was removed".to_owned(),
                timestamp_ms: now_ms,
                uuid: None,
            };
            self.note_task_updated(&status);
        }
    }

    /// Agent `id` was admitted, its tasks holding `used`.
    pub(super) fn note_agent_added(&mut self, id: &AgentId, used: Resources) {
        self.note(|core| {
            let a = core.agents.get(id)?;
            let view = agent_state(id, a, a.pid.to_string(), used, Resources::empty());
            Some(OperatorEvent::AgentAdded(Arc::new(view)))
        });
    }

    /// Agent `id` left service.
    pub(super) fn note_agent_removed(&mut self, id: &AgentId) {
        self.note(|_| Some(OperatorEvent::AgentRemoved(id.clone())));
    }

    /// Framework `id` is new to this master (`added`), or re-subscribed
    /// or disconnected.
    pub(super) fn note_framework(&mut self, id: &FrameworkId, added: bool) {
        self.note(|core| {
            let f = core.frameworks.get(id)?;
            // Rare enough to sum here: a framework's tasks are one range
            // of the table, its offers a walk over the outstanding ones.
            let start = (id.clone(), corral_api::ids::TaskId(String::new()));
            let mut used = Quantities::empty();
            for (_, t) in core.tasks.range(start..).take_while(|((f, _), _)| f == id) {
                if !t.state.holds_nothing() {
                    used.add(&t.resources);
                }
            }
            let mut offered = Quantities::empty();
            for o in core.offers.offered() {
                if &o.framework == id {
                    offered.add(&o.resources);
                }
            }
            let view = Box::new(framework_state(id, f, used, offered));
            Some(match added {
                true => OperatorEvent::FrameworkAdded(view),
                false => OperatorEvent::FrameworkUpdated(view),
            })
        });
    }

    /// Framework `id`, whose record was `f`, was removed.
    pub(super) fn note_framework_removed(&mut self, id: &FrameworkId, f: &FrameworkRec) {
        self.note(|_| {
            let (used, offered) = (Quantities::empty(), Quantities::empty());
            let view = framework_state(id, f, used, offered);
            Some(OperatorEvent::FrameworkRemoved(Box::new(view)))
        });
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
