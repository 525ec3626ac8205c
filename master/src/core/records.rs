//! What the master remembers of each agent, framework and task.

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::sync::Arc;

use corral_runtime::Pid;

use super::effects::TimerKey;

use crate::state::TaskView;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::Resources;
use corral_api::task::TaskState;

/// An admitted agent.
pub(super) struct AgentRec {
    pub pid: Pid,
    pub hostname: String,
    pub total: Resources,
    pub attributes: String,
    pub missed_pings: u32,
    /// Base URL of its HTTP API, if it announced one.
    pub http: Option<String>,
    /// When this master admitted it, Unix ms.
    pub registered_ms: u64,
}

/// A subscribed framework.
pub(super) struct FrameworkRec {
    pub info: FrameworkInfo,
    pub role: String,
    /// None while disconnected (failing over).
    pub pid: Option<Pid>,
    /// Fires when `failover_timeout` runs out while disconnected.
    pub failover: Option<TimerKey>,
    /// Latest tasks that ended and were acknowledged, oldest first.
    pub completed: VecDeque<(corral_api::ids::TaskId, TaskRec)>,
    /// When it first subscribed with this master (or this master
    /// recovered it from the registry), Unix ms.
    pub registered_ms: u64,
}

/// A task the master launched. Its `state` and `history` change only
/// through [`transition`](TaskRec::transition), which forgets the view
/// kept for publications; the other fields a view shows never change.
#[derive(Clone)]
pub(super) struct TaskRec {
    pub name: String,
    pub agent: AgentId,
    pub resources: Resources,
    pub state: TaskState,
    pub history: Vec<(TaskState, u64)>,
    /// The uuid of its terminal update, once seen: its acknowledgement
    /// retires the task.
    pub terminal_uuid: Option<[u8; 16]>,
    /// Its view as last published, shared by every publication until the
    /// task changes (see `views.rs`).
    pub published: OnceCell<Arc<TaskView>>,
}

impl TaskRec {
    /// What observers see of this task, `id` of framework `fw`.
    pub fn view(&self, fw: &FrameworkId, id: &corral_api::ids::TaskId) -> TaskView {
        TaskView {
            id: id.clone(),
            name: self.name.clone(),
            framework_id: fw.clone(),
            agent_id: self.agent.clone(),
            state: self.state,
            resources: self.resources.clone(),
            history: self.history.clone(),
        }
    }

    /// [`view`](TaskRec::view), shared with every publication since the
    /// task last changed.
    pub fn shared_view(&self, fw: &FrameworkId, id: &corral_api::ids::TaskId) -> Arc<TaskView> {
        self.published
            .get_or_init(|| Arc::new(self.view(fw, id)))
            .clone()
    }

    /// Moves to `state` at `now_ms`; a terminal state is final.
    pub fn transition(&mut self, state: TaskState, now_ms: u64) -> bool {
        if self.state.is_terminal() || self.state == state {
            return false;
        }
        self.state = state;
        self.history.push((state, now_ms));
        self.published = OnceCell::new();
        true
    }
}

/// Drops the oldest entries of `q` beyond its latest `max`.
pub(super) fn keep_latest<T>(q: &mut VecDeque<T>, max: usize) {
    while q.len() > max {
        q.pop_front();
    }
}
