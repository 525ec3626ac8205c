//! Who an executor reports to, what it is, and its timing limits.

use std::path::PathBuf;
use std::time::Duration;

use corral_api::ids::{AgentId, FrameworkId};
use corral_runtime::Pid;

/// Mesos's executor registration timeout (1 min).
pub const DEFAULT_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How often an unanswered registration and unacknowledged updates are
/// resent.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long an executor of a checkpointing framework waits for a
/// restarted agent (Mesos's `MESOS_RECOVERY_TIMEOUT`, 15 min).
pub const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What an [`ExecutorDriver`](crate::ExecutorDriver) needs. In an executor
/// the agent started, [`crate::run`] reads it from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    /// The agent that started the executor; messages from anyone else are
    /// dropped.
    pub agent: Pid,
    /// The framework the executor belongs to.
    pub framework_id: FrameworkId,
    /// The executor's id, as its tasks' `ExecutorInfo` names it.
    pub executor_id: String,
    /// The agent's id, copied into every status.
    pub agent_id: Option<AgentId>,
    /// The executor's sandbox (its working directory).
    pub sandbox: PathBuf,
    /// The framework checkpoints: when the agent goes away the tasks keep
    /// running and the executor re-registers until `recovery_timeout`.
    pub checkpoint: bool,
    /// How long a checkpointing executor waits for its agent to come back.
    pub recovery_timeout: Duration,
    /// How long to wait for the agent to take the executor; past it the
    /// executor stops.
    pub registration_timeout: Duration,
    /// Time between resends of an unanswered registration and of
    /// unacknowledged updates.
    pub retry_interval: Duration,
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The framework id or executor id is empty.
    #[error("the {0} is empty")]
    Empty(&'static str),
    /// A timing limit is zero (a zero retry interval would resend in a
    /// busy loop).
    #[error("{0} must be above zero")]
    Zero(&'static str),
}

impl ExecutorConfig {
    /// A configuration with the default timing limits, no agent id and no
    /// checkpointing.
    pub fn new(
        agent: Pid,
        framework_id: FrameworkId,
        executor_id: impl Into<String>,
        sandbox: impl Into<PathBuf>,
    ) -> ExecutorConfig {
        ExecutorConfig {
            agent,
            framework_id,
            executor_id: executor_id.into(),
            agent_id: None,
            sandbox: sandbox.into(),
            checkpoint: false,
            recovery_timeout: DEFAULT_RECOVERY_TIMEOUT,
            registration_timeout: DEFAULT_REGISTRATION_TIMEOUT,
            retry_interval: DEFAULT_RETRY_INTERVAL,
        }
    }

    /// Whether the configuration can work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.framework_id.0.is_empty() {
            return Err(ConfigError::Empty("framework id"));
        }
        if self.executor_id.is_empty() {
            return Err(ConfigError::Empty("executor id"));
        }
        for (name, d) in [
            ("recovery_timeout", self.recovery_timeout),
            ("registration_timeout", self.registration_timeout),
            ("retry_interval", self.retry_interval),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }
}
