//! The binary's edge: read the environment the agent set, start a node, run
//! the [`CommandExecutor`] on it until it stops, with a Docker driver beside
//! it for container tasks. The only place in this crate that reads the
//! process environment (besides the Docker client finding `DOCKER_HOST`).

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};

use corral_executor_sdk::env::{self, EnvError};
use corral_executor_sdk::{ConfigError, ExecutorConfig, ExecutorDriver, Outcome};
use corral_runtime::{Node, NodeConfig, NodeError, SpawnError};

use crate::command::{CommandExecutor, Site};
use crate::docker::actor::{DriverActor, DRIVER_NAME};
use crate::docker::driver::{self, DriverReport};
pub use corral_executor_sdk::env::parse_mesos_duration;
pub use corral_executor_sdk::{actor_name, ACTOR_NAME};

/// Why the command executor could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The environment is not what an agent sets.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The configuration built from the environment is invalid.
    #[error("invalid executor configuration: {0}")]
    Config(#[from] ConfigError),
    /// The executor's node could not start.
    #[error("cannot start the executor's node: {0}")]
    Node(#[from] NodeError),
    /// The executor actor could not be spawned on its node.
    #[error("cannot start the executor actor: {0}")]
    Spawn(#[from] SpawnError),
    /// The container driver's thread could not be started.
    #[error("cannot start the container driver: {0}")]
    Driver(std::io::Error),
    /// The node stopped before the executor reported how it ended.
    #[error("the executor's node stopped before the executor finished")]
    NodeStopped,
}

/// Runs the command executor the agent asked for, as the environment
/// describes it (see [`crate::env`]), and returns why it stopped.
///
/// Logs go to stderr, filtered by `CORRAL_LOG` (default `warn`); an already
/// installed tracing subscriber is kept.
pub fn run_from_env() -> Result<Outcome, RunError> {
    let (cfg, site) = config_from_env()?;
    let name = actor_name(&cfg.executor_id);
    env::init_tracing();
    let listen = SocketAddr::new(env::listen_ip()?, 0);
    let (tx, rx) = mpsc::channel();
    let (commands, pending_driver) = driver::channel();
    let node = Arc::new(Node::start(NodeConfig {
        listen,
        tls: env::tls_from_env()?,
        ..NodeConfig::default()
    })?);
    let containers = node.spawn(DRIVER_NAME, DriverActor::new(commands))?;
    let executor = ExecutorDriver::new(
        cfg,
        CommandExecutor::new(site).with_containers(containers.clone()),
        Box::new(move |outcome| {
            // The receiver lives until `recv` returns; a failed send only
            // means nobody waits any more.
            let _ = tx.send(outcome);
        }),
    )?;
    let pid = node.spawn(&name, executor)?;
    tracing::debug!(%pid, "command executor started");
    // The driver thread reports to its actor through the node, as messages
    // from the node itself (which the actor checks).
    let reports = node.clone();
    let driver = pending_driver
        .start(move |report| match report {
            DriverReport::Started(m) => reports.send(&containers, m),
            DriverReport::Exited(m) => reports.send(&containers, m),
        })
        .map_err(RunError::Driver)?;
    // The executor's only sender is dropped with it: an error here means the
    // node stopped it without an outcome.
    let outcome = rx.recv().map_err(|_| RunError::NodeStopped);
    driver.shutdown();
    match Arc::try_unwrap(node) {
        Ok(node) => node.shutdown(),
        // The driver thread is joined, so this is the last handle; dropping
        // it shuts the node down all the same.
        Err(node) => drop(node),
    }
    outcome
}

/// What any executor reads from the agent's environment, and where the
/// command executor's task runs: with the work directory its container
/// tasks label their containers with.
fn config_from_env() -> Result<(ExecutorConfig, Site), RunError> {
    let cfg = env::config_from_env()?;
    cfg.validate()?;
    let dir = |name| Ok::<_, EnvError>(env::optional(name)?.map(std::path::PathBuf::from));
    let work_dir = dir(corral_api::executor_env::WORK_DIR)?;
    let tasks_dir = dir(corral_api::executor_env::TASKS_DIR)?;
    let mut site = Site::of(&cfg, work_dir, tasks_dir);
    site.container_user = env::optional(corral_api::executor_env::CONTAINER_USER)?.map(|name| {
        match corral_runtime::node::user_ids(&name) {
            Ok(Some(ids)) => Ok(ids),
            Ok(None) => Err(format!("no user {name:?} on this machine")),
            Err(e) => Err(e),
        }
    });
    Ok((cfg, site))
}
