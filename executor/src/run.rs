//! The binary's edge: read the environment the agent set, start a node, run
//! the [`CommandExecutor`] on it until it stops, with a Docker driver beside
//! it for container tasks. The only place in this crate that reads the
//! process environment (besides the Docker client finding `DOCKER_HOST`).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use corral_api::ids::{AgentId, FrameworkId};
use corral_runtime::{Node, NodeConfig, NodeError, Pid, PidError, SpawnError};
use tracing_subscriber::EnvFilter;

use crate::command::{CommandExecutor, CommandExecutorConfig, ConfigError, Outcome};
use crate::docker::driver::{self, DriverReport};
use crate::env;

/// The actor name the executor runs under on its node when its id cannot be
/// part of a name.
pub const ACTOR_NAME: &str = "executor";

/// The executor's actor name: `executor.{executor_id}`. Executors come and
/// go on ephemeral ports that the OS reuses; with the id in the name, a
/// message meant for an executor that has exited cannot reach a newer one
/// that happens to get its port (it finds no such actor and is dropped).
pub fn actor_name(executor_id: &str) -> String {
    let name = format!("{ACTOR_NAME}.{executor_id}");
    match corral_runtime::validate_name(&name) {
        Ok(()) => name,
        Err(_) => ACTOR_NAME.to_owned(),
    }
}

/// Why the command executor could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A variable the agent always sets is missing.
    #[error("{0} is not set: the command executor is started by a Corral agent")]
    Missing(&'static str),
    /// A variable holds bytes that are not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// The agent's pid does not parse.
    #[error("{name} is not a pid (name@ip:port): {error}")]
    BadAgentPid {
        /// The variable's name.
        name: &'static str,
        /// What the pid parser said.
        error: PidError,
    },
    /// The listen address does not parse as an IP address.
    #[error("{name} is not an IP address: {value:?}")]
    BadListenIp {
        /// The variable's name.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A duration variable does not parse (Mesos form: `900secs`, `15mins`).
    #[error("{name} is not a duration (e.g. 900secs, 15mins): {value:?}")]
    BadDuration {
        /// The variable's name.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The sandbox defaults to the current directory, which is unreadable.
    #[error("cannot read the current directory for the sandbox: {0}")]
    CurrentDir(std::io::Error),
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
    let cfg = config_from_env()?;
    let name = actor_name(&cfg.executor_id);
    init_tracing();
    let listen = SocketAddr::new(listen_ip()?, 0);
    let (tx, rx) = mpsc::channel();
    let (containers, pending_driver) = driver::channel();
    let executor = CommandExecutor::new(
        cfg,
        Box::new(move |outcome| {
            // The receiver lives until `recv` returns; a failed send only
            // means nobody waits any more.
            let _ = tx.send(outcome);
        }),
    )?
    .with_containers(containers);
    let node = Arc::new(Node::start(NodeConfig {
        listen,
        tls: tls_from_env()?,
        ..NodeConfig::default()
    })?);
    let pid = node.spawn(&name, executor)?;
    tracing::debug!(%pid, "command executor started");
    // The driver reports to the actor through the node, as messages from
    // the node itself (which the actor checks).
    let (reports, to) = (node.clone(), pid.clone());
    let driver = pending_driver
        .start(move |report| match report {
            DriverReport::Started(m) => reports.send(&to, m),
            DriverReport::Exited(m) => reports.send(&to, m),
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

fn config_from_env() -> Result<CommandExecutorConfig, RunError> {
    let agent_text = required(env::AGENT_PID)?;
    let agent: Pid = agent_text.parse().map_err(|error| RunError::BadAgentPid {
        name: env::AGENT_PID,
        error,
    })?;
    let framework_id = FrameworkId(required(env::FRAMEWORK_ID)?);
    let executor_id = required(env::EXECUTOR_ID)?;
    let sandbox = match optional(env::SANDBOX)? {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::new(),
    };
    let sandbox = if sandbox.is_absolute() {
        sandbox
    } else {
        std::env::current_dir()
            .map_err(RunError::CurrentDir)?
            .join(sandbox)
    };
    let mut cfg = CommandExecutorConfig::new(agent, framework_id, executor_id, sandbox);
    cfg.agent_id = optional(env::AGENT_ID)?.map(AgentId);
    cfg.work_dir = optional(env::WORK_DIR)?.map(PathBuf::from);
    cfg.checkpoint = optional(env::CHECKPOINT)?.as_deref() == Some("1");
    if let Some(value) = optional(env::RECOVERY_TIMEOUT)? {
        cfg.recovery_timeout = parse_mesos_duration(&value).ok_or(RunError::BadDuration {
            name: env::RECOVERY_TIMEOUT,
            value,
        })?;
    }
    cfg.validate()?;
    Ok(cfg)
}

fn listen_ip() -> Result<IpAddr, RunError> {
    match optional(env::LISTEN_IP)? {
        None => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Some(value) => value.parse().map_err(|_| RunError::BadListenIp {
            name: env::LISTEN_IP,
            value,
        }),
    }
}

/// Installs a stderr subscriber filtered by `CORRAL_LOG`, unless one is set.
fn init_tracing() {
    let wanted = std::env::var(env::LOG).ok();
    let filter = wanted.as_deref().unwrap_or("warn");
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("warn"), Some(e)),
    };
    let installed = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init()
        .is_ok();
    if let (true, Some(e)) = (installed, bad) {
        tracing::warn!(
            "{} is not a valid log filter ({e}); using \"warn\"",
            env::LOG
        );
    }
}

fn required(name: &'static str) -> Result<String, RunError> {
    optional(name)?.ok_or(RunError::Missing(name))
}

/// The variable's value; unset and empty both count as absent.
/// The agent's TLS identity, when it handed one over: with a cluster CA the
/// agent only talks to nodes that present a certificate signed by it.
fn tls_from_env() -> Result<corral_runtime::node::tls::TlsConfig, RunError> {
    Ok(corral_runtime::node::tls::TlsConfig {
        cert_pem: optional(env::TLS_CERT)?.map(PathBuf::from),
        key_pem: optional(env::TLS_KEY)?.map(PathBuf::from),
        ca_pem: optional(env::TLS_CA)?.map(PathBuf::from),
    })
}

fn optional(name: &'static str) -> Result<Option<String>, RunError> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => OsString::into_string(v)
            .map(Some)
            .map_err(|_| RunError::NotUnicode(name)),
    }
}

/// A duration as Mesos writes them: a number and a unit (`ns`, `us`, `ms`,
/// `secs`, `mins`, `hrs`, `days`, `weeks`), e.g. `900secs`, `0.5secs`.
pub fn parse_mesos_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit_secs = match unit.trim() {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "secs" => 1.0,
        "mins" => 60.0,
        "hrs" => 3600.0,
        "days" => 86_400.0,
        "weeks" => 604_800.0,
        _ => return None,
    };
    std::time::Duration::try_from_secs_f64(number * unit_secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn mesos_durations_parse() {
        assert_eq!(
            parse_mesos_duration("900secs"),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            parse_mesos_duration("15mins"),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            parse_mesos_duration("0.5secs"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_mesos_duration("10"), None);
        assert_eq!(parse_mesos_duration("secs"), None);
        assert_eq!(parse_mesos_duration("5 parsecs"), None);
    }
}
