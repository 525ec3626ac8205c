//! The JSON of the agent's `GET /state`:
//!
//! ```json
//! {"id": "..." (null until registered), "hostname": "..", "pid": "agent@..", "master": "master@..",
//!  "registered": true, "resources": R, "used": R,
//!  "tasks": [{"framework_id": "..", "task_id": "..", "name": "..", "state": "TASK_RUNNING",
//!             "resources": R, "sandbox": "frameworks/FW/tasks/TASK", "executor_connected": true}],
//!  "completed_tasks": [... same ...], "pending_updates": 0}
//! ```
//!
//! R is the master's resources JSON
//! ([`ResourcesJson`]);
//! `sandbox` is relative to the agent's work directory, ready for the files
//! API's `path`.

use std::path::Path;

use corral_api::task::task_state_name;
use corral_http::ResourcesJson;
use serde::{Deserialize, Serialize};

use crate::core::TaskSummary;
use crate::state::AgentSnapshot;

/// The whole agent `/state` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentStateJson {
    /// The id the master gave, or null before the first registration.
    pub id: Option<String>,
    /// Host name.
    pub hostname: String,
    /// The agent's actor.
    pub pid: String,
    /// The master it registers with.
    pub master: String,
    /// Whether the master admitted it and the link holds.
    pub registered: bool,
    /// Everything it offers.
    pub resources: ResourcesJson,
    /// What live tasks use.
    pub used: ResourcesJson,
    /// Tasks supervised now.
    pub tasks: Vec<AgentTaskJson>,
    /// Tasks whose last update was acknowledged, oldest first.
    pub completed_tasks: Vec<AgentTaskJson>,
    /// Status updates not yet acknowledged by their framework.
    pub pending_updates: u64,
}

/// A task in the agent's `/state`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentTaskJson {
    /// Its framework.
    pub framework_id: String,
    /// The task.
    pub task_id: String,
    /// Its name.
    pub name: String,
    /// The latest state the agent queued, Mesos's name.
    pub state: String,
    /// What it was given.
    pub resources: ResourcesJson,
    /// Its sandbox, relative to the agent's work directory.
    pub sandbox: String,
    /// Whether its executor is registered with this run of the agent (false
    /// after a restart until it re-registers).
    #[serde(default)]
    pub executor_connected: bool,
}

impl From<&AgentSnapshot> for AgentStateJson {
    fn from(s: &AgentSnapshot) -> AgentStateJson {
        let work_dir = Path::new(&s.work_dir);
        let task = |t: &TaskSummary| task(t, work_dir);
        AgentStateJson {
            id: s.id.as_ref().map(|id| id.0.clone()),
            hostname: s.hostname.clone(),
            pid: s.pid.clone(),
            master: s.master.clone(),
            registered: s.registered,
            resources: (&s.resources).into(),
            used: (&s.used).into(),
            tasks: s.tasks.iter().map(task).collect(),
            completed_tasks: s.completed.iter().map(task).collect(),
            pending_updates: s.pending_updates,
        }
    }
}

fn task(t: &TaskSummary, work_dir: &Path) -> AgentTaskJson {
    // Sandboxes are made under the work dir; should one not be, its full
    // path is still better than nothing.
    let sandbox = Path::new(&t.sandbox);
    let sandbox = sandbox.strip_prefix(work_dir).unwrap_or(sandbox);
    AgentTaskJson {
        framework_id: t.framework_id.0.clone(),
        task_id: t.task_id.0.clone(),
        name: t.name.clone(),
        state: task_state_name(t.state).to_owned(),
        resources: (&t.resources).into(),
        sandbox: sandbox.to_string_lossy().into_owned(),
        executor_connected: t.executor_connected,
    }
}

#[cfg(test)]
mod tests {
    use corral_api::ids::{AgentId, FrameworkId, TaskId};
    use corral_api::resources::Resources;
    use corral_api::task::TaskState;

    use super::*;

    #[test]
    fn sandboxes_are_relative_and_states_are_mesos_names() {
        let summary = TaskSummary {
            framework_id: FrameworkId("fw".into()),
            task_id: TaskId("t".into()),
            name: "t".into(),
            state: TaskState::Finished,
            resources: "cpus:0.1;mem:32".parse().unwrap(),
            sandbox: "/w/frameworks/fw/tasks/t".into(),
            executor_connected: true,
            executor_id: "t".into(),
            framework: corral_api::framework::FrameworkInfo::new("batch", "*"),
            in_container: false,
        };
        let snapshot = AgentSnapshot {
            id: Some(AgentId("a-S1".into())),
            hostname: "h".into(),
            pid: "agent@127.0.0.1:1".into(),
            master: "master@127.0.0.1:2".into(),
            registered: true,
            resources: "cpus:1;mem:128".parse().unwrap(),
            used: Resources::empty(),
            work_dir: "/w".into(),
            attributes: String::new(),
            tasks: vec![],
            completed: vec![summary],
            pending_updates: 0,
        };
        let v = serde_json::to_value(AgentStateJson::from(&snapshot)).unwrap();
        assert_eq!(v["id"], "a-S1");
        assert_eq!(v["completed_tasks"][0]["sandbox"], "frameworks/fw/tasks/t");
        assert_eq!(v["completed_tasks"][0]["state"], "TASK_FINISHED");
        assert_eq!(v["completed_tasks"][0]["executor_connected"], true);
        assert_eq!(v["resources"]["cpus"], 1.0);
        assert_eq!(v["tasks"], serde_json::json!([]));
    }
}
