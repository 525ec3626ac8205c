//! The command executor's configuration: who it reports to, what it is, and
//! its timing limits.

use std::path::PathBuf;
use std::time::Duration;

use corral_api::ids::{AgentId, FrameworkId};
use corral_executor_sdk::ExecutorConfig;
use corral_runtime::Pid;

/// The command executor's timing defaults are every executor's (Mesos's).
pub use corral_executor_sdk::{
    DEFAULT_RECOVERY_TIMEOUT, DEFAULT_REGISTRATION_TIMEOUT, DEFAULT_RETRY_INTERVAL,
};

/// What a [`CommandExecutor`](crate::command::CommandExecutor) needs to run.
///
/// [`CommandExecutorConfig::new`] fills the timing limits with their defaults;
/// [`validate`](CommandExecutorConfig::validate) rejects values that cannot
/// work, and the actor's constructor calls it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandExecutorConfig {
    /// The agent that launched this executor: it registers there, receives its
    /// task there and reports every status there. Messages from any other
    /// sender are dropped.
    pub agent: Pid,
    /// The framework whose task this executor runs.
    pub framework_id: FrameworkId,
    /// This executor's id (the command executor uses its task's id).
    pub executor_id: String,
    /// The agent's id, copied into every status; None when the agent did not
    /// say.
    pub agent_id: Option<AgentId>,
    /// The task's sandbox: the command's working directory (created if
    /// missing) and the home of its `stdout` and `stderr` files.
    pub sandbox: PathBuf,
    /// The agent's work directory, when the agent said: container tasks
    /// label their containers with it, so that a restarted agent finds and
    /// removes the ones left behind.
    pub work_dir: Option<PathBuf>,
    /// How long to wait for the task after starting. Default 60 s (Mesos's
    /// executor registration timeout); past it the executor gives up.
    pub registration_timeout: Duration,
    /// Time between resends of an unanswered registration and of
    /// unacknowledged updates. Default 1 s; costs one small message per
    /// unacknowledged update per interval while the agent is slow.
    pub retry_interval: Duration,
    /// The framework checkpoints (`MESOS_CHECKPOINT=1`): when the agent's
    /// link fails the task keeps running and the executor re-registers
    /// with the same agent pid until `recovery_timeout`. Default false
    /// (the task is killed when the agent is lost).
    pub checkpoint: bool,
    /// How long a checkpointing executor waits for its agent to come back
    /// before it kills its task and exits. Default 15 min (Mesos).
    pub recovery_timeout: Duration,
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The framework id is empty.
    #[error("the framework id is empty")]
    EmptyFrameworkId,
    /// The executor id is empty.
    #[error("the executor id is empty")]
    EmptyExecutorId,
    /// The sandbox path is empty.
    #[error("the sandbox path is empty")]
    EmptySandbox,
    /// `registration_timeout` is zero.
    #[error("registration_timeout must be above zero")]
    ZeroRegistrationTimeout,
    /// `retry_interval` is zero (it would resend in a busy loop).
    #[error("retry_interval must be above zero")]
    ZeroRetryInterval,
    /// `recovery_timeout` is zero.
    #[error("recovery_timeout must be above zero")]
    ZeroRecoveryTimeout,
    /// `retry_interval` is longer than `registration_timeout`: the executor
    /// would give up before its first resend.
    #[error("retry_interval ({retry:?}) must not exceed registration_timeout ({registration:?})")]
    RetryAfterTimeout {
        /// The retry interval given.
        retry: Duration,
        /// The registration timeout given.
        registration: Duration,
    },
}

impl CommandExecutorConfig {
    /// A configuration with the default timing limits, no agent id and no
    /// work directory.
    pub fn new(
        agent: Pid,
        framework_id: FrameworkId,
        executor_id: impl Into<String>,
        sandbox: impl Into<PathBuf>,
    ) -> CommandExecutorConfig {
        CommandExecutorConfig {
            agent,
            framework_id,
            executor_id: executor_id.into(),
            agent_id: None,
            sandbox: sandbox.into(),
            work_dir: None,
            registration_timeout: DEFAULT_REGISTRATION_TIMEOUT,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            checkpoint: false,
            recovery_timeout: DEFAULT_RECOVERY_TIMEOUT,
        }
    }

    /// What every executor reads from the agent's environment
    /// ([`corral_executor_sdk::env::config_from`]), with the agent's work
    /// directory, which only the command executor needs.
    pub fn from_common(common: ExecutorConfig, work_dir: Option<PathBuf>) -> CommandExecutorConfig {
        CommandExecutorConfig {
            agent_id: common.agent_id,
            checkpoint: common.checkpoint,
            recovery_timeout: common.recovery_timeout,
            registration_timeout: common.registration_timeout,
            retry_interval: common.retry_interval,
            work_dir,
            ..CommandExecutorConfig::new(
                common.agent,
                common.framework_id,
                common.executor_id,
                common.sandbox,
            )
        }
    }

    /// Checks every field that could make the executor misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.framework_id.0.is_empty() {
            return Err(ConfigError::EmptyFrameworkId);
        }
        if self.executor_id.is_empty() {
            return Err(ConfigError::EmptyExecutorId);
        }
        if self.sandbox.as_os_str().is_empty() {
            return Err(ConfigError::EmptySandbox);
        }
        if self.registration_timeout.is_zero() {
            return Err(ConfigError::ZeroRegistrationTimeout);
        }
        if self.retry_interval.is_zero() {
            return Err(ConfigError::ZeroRetryInterval);
        }
        if self.recovery_timeout.is_zero() {
            return Err(ConfigError::ZeroRecoveryTimeout);
        }
        if self.retry_interval > self.registration_timeout {
            return Err(ConfigError::RetryAfterTimeout {
                retry: self.retry_interval,
                registration: self.registration_timeout,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CommandExecutorConfig {
        let agent = Pid::new("agent", ([127, 0, 0, 1], 5051).into()).unwrap();
        CommandExecutorConfig::new(agent, "fw".into(), "task-1", "/tmp/sandbox")
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(config().validate(), Ok(()));
        let bad = |f: fn(&mut CommandExecutorConfig)| {
            let mut c = config();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(
            bad(|c| c.framework_id = "".into()),
            ConfigError::EmptyFrameworkId
        );
        assert_eq!(bad(|c| c.executor_id.clear()), ConfigError::EmptyExecutorId);
        assert_eq!(
            bad(|c| c.sandbox = PathBuf::new()),
            ConfigError::EmptySandbox
        );
        assert_eq!(
            bad(|c| c.registration_timeout = Duration::ZERO),
            ConfigError::ZeroRegistrationTimeout
        );
        assert_eq!(
            bad(|c| c.retry_interval = Duration::ZERO),
            ConfigError::ZeroRetryInterval
        );
        assert_eq!(
            bad(|c| c.recovery_timeout = Duration::ZERO),
            ConfigError::ZeroRecoveryTimeout
        );
        assert!(matches!(
            bad(|c| c.retry_interval = Duration::from_secs(61)),
            ConfigError::RetryAfterTimeout { .. }
        ));
    }
}
