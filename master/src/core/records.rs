//! What the master remembers of each agent, framework and task, and the
//! snapshot it gives observers.

use std::collections::{BTreeMap, VecDeque};

use corral_runtime::Pid;

use super::effects::TimerKey;

use super::MasterCore;
use crate::state::{AgentState, FrameworkState, MasterState, TaskView};
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::{Quantities, Resources};
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

/// A task the master launched.
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

    /// Moves to `state` at `now_ms`; a terminal state is final.
    pub fn transition(&mut self, state: TaskState, now_ms: u64) -> bool {
        if self.state.is_terminal() || self.state == state {
            return false;
        }
        self.state = state;
        self.history.push((state, now_ms));
        true
    }
}

impl MasterCore {
    /// The master's state for observers (`/state`, the CLI, the checkers).
    pub fn snapshot(&self) -> MasterState {
        // One pass over tasks and one over offers, so a snapshot costs
        // O(agents + frameworks + tasks + offers), not their products.
        let mut used_on: BTreeMap<&AgentId, Resources> = BTreeMap::new();
        let mut used_by: BTreeMap<&FrameworkId, Quantities> = BTreeMap::new();
        // A task its agent reported LOST holds nothing: the update handler
        // gave its resources back.
        for ((fw, _), t) in self.tasks.iter().filter(|(_, t)| !t.state.holds_nothing()) {
            add(&mut used_on, &t.agent, &t.resources);
            used_by.entry(fw).or_default().add(&t.resources);
        }
        // Removed frameworks' tasks still use their agents until they end.
        for (agent, r) in self.orphans.values() {
            add(&mut used_on, agent, r);
        }
        let mut offered_on: BTreeMap<&AgentId, Resources> = BTreeMap::new();
        let mut offered_to: BTreeMap<&FrameworkId, Quantities> = BTreeMap::new();
        for o in self.offers.offered() {
            add(&mut offered_on, &o.agent, &o.resources);
            offered_to
                .entry(&o.framework)
                .or_default()
                .add(&o.resources);
        }
        let agents = self
            .agents
            .iter()
            .map(|(id, a)| AgentState {
                id: id.clone(),
                hostname: a.hostname.clone(),
                pid: a.pid.to_string(),
                total: a.total.clone(),
                used: sum(&used_on, id),
                offered: sum(&offered_on, id),
                attributes: a.attributes.clone(),
                reachable: a.missed_pings == 0,
                http: a.http.clone(),
                registered_ms: a.registered_ms,
            })
            .collect();
        let frameworks = self
            .frameworks
            .iter()
            .map(|(id, f)| FrameworkState {
                id: id.clone(),
                name: f.info.name.clone(),
                role: f.role.clone(),
                connected: f.pid.is_some(),
                used: sum(&used_by, id),
                offered: sum(&offered_to, id),
                removed_ms: None,
                registered_ms: f.registered_ms,
                pid: f.pid.as_ref().map(Pid::to_string),
                info: f.info.clone(),
            })
            .collect();
        let mut tasks: Vec<TaskView> = self
            .tasks
            .iter()
            .map(|((fw, id), t)| t.view(fw, id))
            .collect();
        for (fw, f) in &self.frameworks {
            tasks.extend(f.completed.iter().map(|(id, t)| t.view(fw, id)));
        }
        let (completed_frameworks, completed_tasks) = self.completed_views();
        tasks.extend(completed_tasks);
        MasterState {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            start_time_ms: self.start_time_ms,
            elected_ms: self.leading().then_some(self.elected_ms),
            pid: self.me.to_string(),
            agents,
            frameworks,
            completed_frameworks,
            tasks,
            outstanding_offers: self.offers.len(),
            role_weights: self.cfg.allocator.weights.clone(),
        }
    }
}

/// Drops the oldest entries of `q` beyond its latest `max`.
pub(super) fn keep_latest<T>(q: &mut VecDeque<T>, max: usize) {
    while q.len() > max {
        q.pop_front();
    }
}

/// Adds `r` to what `m` holds for `key`: parts of one agent's resources,
/// which never overlap (a task's resources are not offered).
fn add<'a, K: Ord>(m: &mut BTreeMap<&'a K, Resources>, key: &'a K, r: &Resources) {
    let e = m.entry(key).or_default();
    *e = e.plus(r);
}

/// What `m` holds for `key` (nothing if absent).
fn sum<K: Ord, V: Clone + Default>(m: &BTreeMap<&K, V>, key: &K) -> V {
    m.get(key).cloned().unwrap_or_default()
}
