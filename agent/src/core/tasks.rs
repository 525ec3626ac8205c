//! What the agent keeps about each task it supervises, and the pure helpers
//! that turn its life into status updates.

use std::collections::BTreeMap;

use super::phase::Phase;
use super::LaunchId;
use crate::sandbox::Sandbox;
use crate::updates::{TaskKey, UpdateManager};
use corral_api::agent::AgentTask;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};

/// One task and its executor, from launch until its last update is
/// acknowledged.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) framework_id: FrameworkId,
    /// The framework's description (whether it checkpoints).
    pub(crate) framework: FrameworkInfo,
    pub(crate) info: TaskInfo,
    pub(crate) sandbox: Sandbox,
    /// The executor process; it may outlive the task's terminal update.
    /// None for a task recovered from a checkpoint: its executor was
    /// started by an earlier run of the agent, which cannot signal it.
    pub(crate) process: Option<LaunchId>,
    /// Where its supervision stands (its executor, a kill, its end).
    pub(crate) phase: Phase,
    /// The latest state queued for the master.
    pub(crate) state: TaskState,
    /// Tells timers of an earlier launch under the same id apart.
    pub(crate) launch_seq: u64,
    /// The command executor it shares with the tasks launched beside it,
    /// when that is not its own (see [`Task::executor_id`]).
    pub(crate) shared_executor: Option<String>,
}

impl Task {
    /// Its executor's id: a framework's own executor's, the command
    /// executor it shares with the command tasks that came in the same
    /// launch (named for the first of them), or else its own id.
    pub(crate) fn executor_id(&self) -> &str {
        self.shared_executor
            .as_deref()
            .unwrap_or_else(|| self.info.executor_id())
    }

    pub(crate) fn summary(&self) -> TaskSummary {
        TaskSummary {
            framework_id: self.framework_id.clone(),
            task_id: self.info.task_id.clone(),
            name: self.info.name.clone(),
            state: self.state,
            resources: self.info.resources.clone(),
            sandbox: self.sandbox.dir.display().to_string(),
            executor_connected: self.phase.executor_connected(),
            executor_id: self.executor_id().to_owned(),
            framework: self.framework.clone(),
            in_container: self.info.container.is_some(),
        }
    }
}

/// What a registration reports about `tasks`: each task with its state as
/// the master should know it ([`reported_state`]) and its resources, and
/// the frameworks they belong to (each once, with its id set). A
/// framework's description comes from its most recently launched task
/// here, the newest the agent was given.
pub(crate) fn registration_report<'a>(
    tasks: impl Iterator<Item = &'a Task>,
    updates: &UpdateManager,
) -> (Vec<FrameworkInfo>, Vec<AgentTask>) {
    let mut frameworks: BTreeMap<&FrameworkId, (u64, &FrameworkInfo)> = BTreeMap::new();
    let mut reported = Vec::new();
    for task in tasks {
        let newest = frameworks
            .get(&task.framework_id)
            .is_none_or(|(seq, _)| *seq < task.launch_seq);
        if newest {
            frameworks.insert(&task.framework_id, (task.launch_seq, &task.framework));
        }
        reported.push(AgentTask {
            framework_id: task.framework_id.clone(),
            task_id: task.info.task_id.clone(),
            name: task.info.name.clone(),
            resources: task.info.resources.clone(),
            state: reported_state(task, updates),
        });
    }
    let frameworks = frameworks
        .into_iter()
        .map(|(id, (_, info))| FrameworkInfo {
            id: Some(id.clone()),
            ..info.clone()
        })
        .collect();
    (frameworks, reported)
}

/// The state a master should hold for `task`: that of its oldest update
/// not yet acknowledged (the framework has not seen the later ones, which
/// follow in order), else its latest. Mesos calls it the status update
/// state. A new master that took the latest state would answer
/// reconciliation with, say, FINISHED while the framework is still to get
/// STARTING and RUNNING.
pub(crate) fn reported_state(task: &Task, updates: &UpdateManager) -> TaskState {
    let key = (task.framework_id.clone(), task.info.task_id.clone());
    updates
        .pending_of(&key)
        .next()
        .map_or(task.state, |s| s.state)
}

/// A task as shown to observers and kept after it completed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskSummary {
    /// Its framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Its display name.
    pub name: String,
    /// The latest state the agent queued for it.
    pub state: TaskState,
    /// What it was given.
    pub resources: Resources,
    /// Its sandbox directory.
    pub sandbox: String,
    /// Whether its executor is registered with this run of the agent: false
    /// until it first registers, and after an agent restart until it
    /// re-registers (the task fails if it does not within the recovery
    /// timeout).
    pub executor_connected: bool,
    /// The executor that runs it: its framework's own executor's id, or
    /// for the command executor the task's own id.
    pub executor_id: String,
    /// Its framework's description, as given with the task.
    pub framework: FrameworkInfo,
    /// Whether it runs in a Docker container, whose processes are the
    /// Docker daemon's children rather than its executor's.
    pub in_container: bool,
}

/// What the agent says about a task: everything but the uuid and time, which
/// come from `Ctx`.
#[derive(Clone, Debug)]
pub(crate) struct AgentStatus {
    pub(crate) state: TaskState,
    pub(crate) reason: StatusReason,
    pub(crate) message: String,
}

impl AgentStatus {
    pub(crate) fn new(state: TaskState, reason: StatusReason, message: impl Into<String>) -> Self {
        AgentStatus {
            state,
            reason,
            message: message.into(),
        }
    }

    /// The full status, stamped by the agent.
    pub(crate) fn into_status(
        self,
        key: &TaskKey,
        agent_id: Option<AgentId>,
        timestamp_ms: u64,
        uuid: [u8; 16],
    ) -> TaskStatus {
        TaskStatus {
            task_id: key.1.clone(),
            framework_id: key.0.clone(),
            agent_id,
            state: self.state,
            source: StatusSource::Agent,
            reason: Some(self.reason),
            message: self.message,
            timestamp_ms,
            uuid: Some(uuid),
        }
    }
}

pub(crate) use corral_api::task::uuid_v4;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn task(fw: &str, id: &str, launch_seq: u64, name: &str, state: TaskState) -> Task {
        let mut framework = FrameworkInfo::new(name, "*");
        framework.id = None;
        Task {
            framework_id: FrameworkId::from(fw),
            framework,
            info: TaskInfo {
                task_id: TaskId::from(id),
                name: format!("task {id}"),
                command: "true".into(),
                env: vec![],
                resources: Resources::parse("cpus:1;mem:64").unwrap(),
                container: None,
                executor: None,
            },
            sandbox: Sandbox::new(std::path::Path::new("/w"), fw, id).unwrap(),
            process: None,
            phase: if state.is_terminal() {
                Phase::Ended {
                    executor: None,
                    killed: false,
                    connected: false,
                }
            } else {
                Phase::Launching
            },
            state,
            launch_seq,
            shared_executor: None,
        }
    }

    #[test]
    fn the_report_names_every_task_and_each_framework_once_with_its_id() {
        let tasks = [
            task("fw-b", "t1", 3, "new b", TaskState::Running),
            task("fw-a", "t2", 1, "a", TaskState::Finished),
            task("fw-b", "t3", 2, "old b", TaskState::Staging),
        ];
        let updates = UpdateManager::new(Duration::from_secs(10), Duration::from_secs(600));
        let (frameworks, reported) = registration_report(tasks.iter(), &updates);
        let names: Vec<(Option<FrameworkId>, &str)> = frameworks
            .iter()
            .map(|f| (f.id.clone(), f.name.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                (Some(FrameworkId::from("fw-a")), "a"),
                (Some(FrameworkId::from("fw-b")), "new b"),
            ]
        );
        let states: Vec<(&str, &str, TaskState)> = reported
            .iter()
            .map(|t| (t.framework_id.0.as_str(), t.task_id.0.as_str(), t.state))
            .collect();
        assert_eq!(
            states,
            vec![
                ("fw-b", "t1", TaskState::Running),
                ("fw-a", "t2", TaskState::Finished),
                ("fw-b", "t3", TaskState::Staging),
            ]
        );
        assert!(reported
            .iter()
            .all(|t| t.resources == tasks[0].info.resources));
        assert_eq!(reported[0].name, "task t1");
    }

    #[test]
    fn a_task_is_reported_in_the_state_of_its_oldest_unacknowledged_update() {
        let t = task("fw", "t1", 1, "fw", TaskState::Finished);
        let mut updates = UpdateManager::new(Duration::from_secs(10), Duration::from_secs(600));
        assert_eq!(
            reported_state(&t, &updates),
            TaskState::Finished,
            "nothing pending"
        );
        for (state, n) in [(TaskState::Running, 1u8), (TaskState::Finished, 2)] {
            let status = TaskStatus {
                task_id: TaskId::from("t1"),
                framework_id: FrameworkId::from("fw"),
                agent_id: None,
                state,
                source: StatusSource::Executor,
                reason: None,
                message: String::new(),
                timestamp_ms: 0,
                uuid: Some([n; 16]),
            };
            updates.push(status, corral_runtime::Time::ZERO);
        }
        assert_eq!(reported_state(&t, &updates), TaskState::Running);
    }

    #[test]
    fn uuids_carry_version_and_variant() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u[6] >> 4, 4);
        assert_eq!(u[8] >> 6, 0b10);
        let u = uuid_v4([0; 16]);
        assert_eq!(u[6], 0x40);
        assert_eq!(u[8], 0x80);
    }
}
