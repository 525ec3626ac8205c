//! Reading what the agent put in an executor's environment
//! ([`corral_api::executor_env`]): the only place in this crate that reads
//! the process environment.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use corral_api::executor_env as env;
use corral_api::ids::{AgentId, FrameworkId};
use corral_runtime::node::tls::TlsConfig;
use corral_runtime::{Pid, PidError};
use tracing_subscriber::EnvFilter;

use crate::config::ExecutorConfig;

/// What is wrong with the environment an executor was started with.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// A variable the agent always sets is missing.
    #[error("{0} is not set: an executor is started by a Corral agent")]
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
}

/// The executor's configuration as the agent's environment gives it
/// (default timing limits otherwise). Not validated.
pub fn config_from_env() -> Result<ExecutorConfig, EnvError> {
    config_from(optional)
}

/// The executor's configuration from `var`, which gives a variable's
/// value (None when unset or empty): the process environment, or a
/// simulated process's. Not validated.
pub fn config_from(
    var: impl Fn(&'static str) -> Result<Option<String>, EnvError>,
) -> Result<ExecutorConfig, EnvError> {
    let required = |name| var(name)?.ok_or(EnvError::Missing(name));
    let agent_text = required(env::AGENT_PID)?;
    let agent: Pid = agent_text.parse().map_err(|error| EnvError::BadAgentPid {
        name: env::AGENT_PID,
        error,
    })?;
    let framework_id = FrameworkId(required(env::FRAMEWORK_ID)?);
    let executor_id = required(env::EXECUTOR_ID)?;
    let sandbox = PathBuf::from(var(env::SANDBOX)?.unwrap_or_default());
    let sandbox = if sandbox.is_absolute() {
        sandbox
    } else {
        std::env::current_dir()
            .map_err(EnvError::CurrentDir)?
            .join(sandbox)
    };
    let mut cfg = ExecutorConfig::new(agent, framework_id, executor_id, sandbox);
    cfg.agent_id = var(env::AGENT_ID)?.map(AgentId);
    cfg.checkpoint = var(env::CHECKPOINT)?.as_deref() == Some("1");
    if let Some(value) = var(env::RECOVERY_TIMEOUT)? {
        cfg.recovery_timeout = parse_mesos_duration(&value).ok_or(EnvError::BadDuration {
            name: env::RECOVERY_TIMEOUT,
            value,
        })?;
    }
    Ok(cfg)
}

/// The IP the executor's node listens on: the agent's (loopback if unset).
pub fn listen_ip() -> Result<IpAddr, EnvError> {
    match optional(env::LISTEN_IP)? {
        None => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Some(value) => value.parse().map_err(|_| EnvError::BadListenIp {
            name: env::LISTEN_IP,
            value,
        }),
    }
}

/// The agent's TLS identity, when it handed one over: with a cluster CA the
/// agent only talks to nodes that present a certificate signed by it.
pub fn tls_from_env() -> Result<TlsConfig, EnvError> {
    Ok(TlsConfig {
        cert_pem: optional(env::TLS_CERT)?.map(PathBuf::from),
        key_pem: optional(env::TLS_KEY)?.map(PathBuf::from),
        ca_pem: optional(env::TLS_CA)?.map(PathBuf::from),
    })
}

/// Installs a stderr subscriber filtered by `CORRAL_LOG` (default `warn`),
/// unless one is installed already.
pub fn init_tracing() {
    let wanted = std::env::var(env::LOG).ok();
    let filter = wanted.as_deref().unwrap_or("warn");
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("warn"), Some(e)),
    };
    // An executor's stderr is a file in its sandbox: no colour codes there.
    let installed = tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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

/// The variable's value; unset and empty both count as absent.
pub fn optional(name: &'static str) -> Result<Option<String>, EnvError> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => OsString::into_string(v)
            .map(Some)
            .map_err(|_| EnvError::NotUnicode(name)),
    }
}

/// A duration as Mesos writes them: a number and a unit (`ns`, `us`, `ms`,
/// `secs`, `mins`, `hrs`, `days`, `weeks`), e.g. `900secs`, `0.5secs`.
pub fn parse_mesos_duration(text: &str) -> Option<Duration> {
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
    Duration::try_from_secs_f64(number * unit_secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
