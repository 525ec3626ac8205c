//! The crate's errors: what a binary embedding the agent can be told.
//!
//! The actor itself never fails with these: operating problems it meets
//! (unknown tasks, unexpected senders, dead executors) are logged and turned
//! into status updates. These errors belong to the edges — checking a
//! configuration and reading the machine before the actor starts.

use std::path::PathBuf;
use std::time::Duration;

use crate::containerizer::ContainerizersError;

/// Why an [`AgentConfig`](crate::AgentConfig) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The master list is empty: the agent would have nobody to register
    /// with.
    #[error("masters is empty: give at least one master")]
    NoMasters,
    /// A master appears twice in the list.
    #[error("masters names {0} more than once")]
    DuplicateMaster(corral_runtime::Pid),
    /// A duration that must be positive is zero.
    #[error("{field} must be above zero")]
    ZeroDuration {
        /// The config field.
        field: &'static str,
    },
    /// The status update retry starts above where it is capped.
    #[error("status_retry_min ({min:?}) is above status_retry_max ({max:?})")]
    RetryOrder {
        /// `status_retry_min`.
        min: Duration,
        /// `status_retry_max`.
        max: Duration,
    },
    /// The host name is empty.
    #[error("hostname is empty")]
    EmptyHostname,
    /// The executor command has no words.
    #[error("executor_command is empty: give the shell words that start the executor")]
    EmptyExecutorCommand,
    /// Sandboxes must have absolute paths: executors run inside them and get
    /// their path in the environment.
    #[error("work_dir {0:?} is not an absolute path")]
    RelativeWorkDir(PathBuf),
    /// The attributes do not parse in the Mesos syntax (`name:value;...`).
    #[error("attributes {text:?} do not parse: {reason}")]
    BadAttributes {
        /// The text given.
        text: String,
        /// What the parser said.
        reason: String,
    },
    /// The HTTP URL to tell the master is not a plain `http://host:port`
    /// URL.
    #[error("http_url is not usable: {0}")]
    BadHttpUrl(String),
    /// A count limit that must be positive is zero.
    #[error("{field} must be above zero")]
    ZeroLimit {
        /// The config field.
        field: &'static str,
    },
    /// The containerizer list is empty or repeats one.
    #[error("containerizers: {0}")]
    Containerizers(#[from] ContainerizersError),
}

/// The crate's error, for binaries: a bad configuration or a machine whose
/// resources could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading the machine's resources failed.
    #[error("cannot detect {what}: {reason}")]
    Detect {
        /// Which resource (cpus, mem, disk).
        what: &'static str,
        /// Why, in words.
        reason: String,
    },
}
