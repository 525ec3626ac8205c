//! Where the command executor runs its task: [`Site`].
//!
//! Everything else an executor is configured with (its agent, ids, timing
//! limits, checkpointing) is every executor's and lives in
//! [`corral_executor_sdk::ExecutorConfig`].

use std::path::PathBuf;

use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_executor_sdk::ExecutorConfig;

/// What the command executor writes into its task's process environment
/// and container labels: whose task it is, and where it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The framework whose task it runs.
    pub framework_id: FrameworkId,
    /// The agent's id, when the agent said.
    pub agent_id: Option<AgentId>,
    /// The task's sandbox: the command's working directory and the home of
    /// its `stdout` and `stderr` files.
    pub sandbox: PathBuf,
    /// The agent's work directory, when the agent said: container tasks
    /// are labelled with it, so that a restarted agent finds and removes
    /// the ones left behind.
    pub work_dir: Option<PathBuf>,
    /// Where the sandboxes of the executor's tasks are, one named for each
    /// task, when the agent said
    /// ([`TASKS_DIR`](corral_api::executor_env::TASKS_DIR)); without it the executor
    /// runs one task, in its own sandbox.
    pub tasks_dir: Option<PathBuf>,
    /// The host user's uid and gid a container task runs as inside its
    /// container, when the agent named one
    /// ([`CONTAINER_USER`](corral_api::executor_env::CONTAINER_USER)), or
    /// why that user cannot be used (the task then fails saying so).
    pub container_user: Option<Result<(u32, u32), String>>,
}

impl Site {
    /// The site an executor configured by `cfg` runs at, with the agent's
    /// work directory and its tasks' sandboxes' directory (which only the
    /// command executor needs).
    pub fn of(cfg: &ExecutorConfig, work_dir: Option<PathBuf>, tasks_dir: Option<PathBuf>) -> Site {
        Site {
            framework_id: cfg.framework_id.clone(),
            agent_id: cfg.agent_id.clone(),
            sandbox: cfg.sandbox.clone(),
            work_dir,
            tasks_dir,
            container_user: None,
        }
    }

    /// Where task `task_id` of this executor runs: its sandbox under
    /// [`tasks_dir`](Self::tasks_dir), or the executor's own when the agent
    /// named no such directory. None for an id that is not one plain path
    /// component.
    pub fn for_task(&self, task_id: &TaskId) -> Option<Site> {
        let Some(dir) = &self.tasks_dir else {
            return Some(self.clone());
        };
        let id = task_id.0.as_str();
        let plain = !matches!(id, "" | "." | "..") && !id.contains('/') && !id.contains('\0');
        plain.then(|| Site {
            sandbox: dir.join(id),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_runs_in_its_sandbox_under_the_tasks_dir_else_in_the_executors() {
        let mut site = Site {
            framework_id: FrameworkId::from("fw"),
            agent_id: None,
            sandbox: PathBuf::from("/w/frameworks/fw/tasks/t1"),
            work_dir: None,
            tasks_dir: None,
            container_user: None,
        };
        assert_eq!(site.for_task(&TaskId::from("t9")), Some(site.clone()));
        site.tasks_dir = Some(PathBuf::from("/w/frameworks/fw/tasks"));
        let own = site.for_task(&TaskId::from("t1")).expect("its first task");
        assert_eq!(own.sandbox, site.sandbox);
        let other = site.for_task(&TaskId::from("t2")).expect("a later task");
        assert_eq!(other.sandbox, PathBuf::from("/w/frameworks/fw/tasks/t2"));
        for bad in ["", ".", "..", "../x", "a/b"] {
            assert_eq!(site.for_task(&TaskId::from(bad)), None, "{bad:?}");
        }
    }
}
