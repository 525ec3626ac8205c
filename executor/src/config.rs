//! Where the command executor runs its task: [`Site`].
//!
//! Everything else an executor is configured with (its agent, ids, timing
//! limits, checkpointing) is every executor's and lives in
//! [`corral_executor_sdk::ExecutorConfig`].

use std::path::PathBuf;

use corral_api::ids::{AgentId, FrameworkId};
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
}

impl Site {
    /// The site an executor configured by `cfg` runs at, with the agent's
    /// work directory (which only the command executor needs).
    pub fn of(cfg: &ExecutorConfig, work_dir: Option<PathBuf>) -> Site {
        Site {
            framework_id: cfg.framework_id.clone(),
            agent_id: cfg.agent_id.clone(),
            sandbox: cfg.sandbox.clone(),
            work_dir,
        }
    }
}
