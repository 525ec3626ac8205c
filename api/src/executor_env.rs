//! The environment the agent gives an executor process, by name: the
//! first part of the executor protocol, before any message. Mesos's names
//! are set too, for executors and tasks written against Mesos.

/// The agent's pid (`agent@ip:port`) the executor registers with.
pub const AGENT_PID: &str = "CORRAL_AGENT_PID";
/// The executor's framework id (also `MESOS_FRAMEWORK_ID`).
pub const FRAMEWORK_ID: &str = "CORRAL_FRAMEWORK_ID";
/// The executor's id (also `MESOS_EXECUTOR_ID`).
pub const EXECUTOR_ID: &str = "CORRAL_EXECUTOR_ID";
/// The sandbox directory (also `MESOS_SANDBOX` and `MESOS_DIRECTORY`).
pub const SANDBOX: &str = "CORRAL_SANDBOX";
/// The agent's id (also `MESOS_SLAVE_ID` and `MESOS_AGENT_ID`).
pub const AGENT_ID: &str = "CORRAL_AGENT_ID";
/// The IP the executor's node listens on (the agent's own IP).
pub const LISTEN_IP: &str = "CORRAL_EXECUTOR_IP";
/// Log filter for the executor's own log lines (tracing syntax).
pub const LOG: &str = "CORRAL_LOG";
/// The agent's work directory (labels container tasks' containers).
pub const WORK_DIR: &str = "CORRAL_WORK_DIR";
/// For the command executor: the directory holding its tasks' sandboxes,
/// one named for each task (the command tasks of one launch share one
/// executor). Unset, the executor runs one task, in its own sandbox.
pub const TASKS_DIR: &str = "CORRAL_TASKS_DIR";

/// The host user (a name) a container task runs as, inside its container:
/// the command executor of a container task runs as the agent's user, as
/// only it may reach the Docker daemon, and starts the container as this
/// user (`--switch-user`).
pub const CONTAINER_USER: &str = "CORRAL_CONTAINER_USER";
/// The Docker daemon's address, as the Docker CLI reads it (default
/// `unix:///var/run/docker.sock`); the agent passes its own on.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// "1" when the framework checkpoints: the executor outlives an agent
/// restart and re-registers (Mesos's name).
pub const CHECKPOINT: &str = "MESOS_CHECKPOINT";
/// How long a checkpointing executor waits for a restarted agent, as Mesos
/// writes durations (`900secs`, `15mins`).
pub const RECOVERY_TIMEOUT: &str = "MESOS_RECOVERY_TIMEOUT";
/// The TLS certificate the executor's node presents (the agent's own), for
/// clusters that run mutual TLS.
pub const TLS_CERT: &str = "CORRAL_TLS_CERT";
/// The key of [`TLS_CERT`].
pub const TLS_KEY: &str = "CORRAL_TLS_KEY";
/// The cluster CA the executor's node trusts (mutual TLS when set).
pub const TLS_CA: &str = "CORRAL_TLS_CA";
