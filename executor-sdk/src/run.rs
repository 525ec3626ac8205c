//! An executor program's edge: read the environment the agent set, start
//! a node, run the driver on it until it stops.

use std::net::SocketAddr;
use std::sync::mpsc;

use corral_runtime::{Node, NodeConfig, NodeError, SpawnError};

use crate::config::{ConfigError, ExecutorConfig};
use crate::env::{self, EnvError};
use crate::executor::Executor;
use crate::executor::ExecutorDriver;
use crate::state::Outcome;

/// The actor name an executor runs under on its node when its id cannot be
/// part of a name.
pub const ACTOR_NAME: &str = "executor";

/// The executor's actor name: `executor.{executor_id}`, where the agent
/// sends to it. Executors come and go on ephemeral ports that the OS
/// reuses; with the id in the name, a message meant for an executor that
/// has exited cannot reach a newer one that happens to get its port.
pub fn actor_name(executor_id: &str) -> String {
    let name = format!("{ACTOR_NAME}.{executor_id}");
    match corral_runtime::validate_name(&name) {
        Ok(()) => name,
        Err(_) => ACTOR_NAME.to_owned(),
    }
}

/// Why an executor program could not run.
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
    /// The driver actor could not be spawned on its node.
    #[error("cannot start the executor actor: {0}")]
    Spawn(#[from] SpawnError),
    /// The node stopped before the executor reported how it ended.
    #[error("the executor's node stopped before the executor finished")]
    NodeStopped,
}

/// Runs the executor `make` builds from its configuration, as the agent
/// that started this process asked, until it stops; returns why it did.
/// Logs go to stderr, filtered by `CORRAL_LOG` (default `warn`).
pub fn run<E: Executor + Send>(
    make: impl FnOnce(&ExecutorConfig) -> E,
) -> Result<Outcome, RunError> {
    let cfg = env::config_from_env()?;
    cfg.validate()?;
    env::init_tracing();
    let listen = SocketAddr::new(env::listen_ip()?, 0);
    let (tx, rx) = mpsc::channel();
    let name = actor_name(&cfg.executor_id);
    let executor = make(&cfg);
    let driver = ExecutorDriver::new(
        cfg,
        executor,
        Box::new(move |outcome| {
            // A failed send only means nobody waits any more.
            let _ = tx.send(outcome);
        }),
    )?;
    let node = Node::start(NodeConfig {
        listen,
        tls: env::tls_from_env()?,
        ..NodeConfig::default()
    })?;
    node.spawn(&name, driver)?;
    // The driver's only sender is dropped with it: an error here means the
    // node stopped it without an outcome.
    let outcome = rx.recv().map_err(|_| RunError::NodeStopped);
    node.shutdown();
    outcome
}
