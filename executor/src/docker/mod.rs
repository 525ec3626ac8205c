//! The Docker containerizer's edge: everything that talks to the Docker
//! Engine API (through bollard). Nothing here runs inside an actor.
//!
//! - [`driver`]: the container driver an executor process runs beside its
//!   actor, on a thread of its own with its own tokio runtime: it creates,
//!   starts, follows (output into the sandbox's files), stops and removes
//!   one task's container.
//! - [`actor`]: the driver's face on the executor's node, an actor the
//!   executor sends commands to and hears from through its `Ctx`.
//! - [`host`]: blocking calls for binaries: is Docker there
//!   ([`host::probe`]), and removing the containers an earlier run of an
//!   agent left behind ([`host::remove_orphans`]).
//!
//! The daemon is found as the Docker CLI finds it: `DOCKER_HOST`, else
//! `unix:///var/run/docker.sock`. The API version is negotiated down to the
//! daemon's, so older daemons work.

// The Docker driver is the executor binary's edge, on a thread of its own:
// it does the I/O the executor's actor may not (clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod actor;
mod body;
pub mod driver;
pub mod host;

use std::time::Duration;

use bollard::Docker;

/// How long one API call may wait for the daemon's answer (headers; a
/// followed stream may last longer).
pub const API_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call to Docker failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    /// The daemon could not be reached (no socket, refused, no answer).
    #[error("cannot reach the Docker daemon at {host}: {why}")]
    Unreachable {
        /// Where it was looked for.
        host: String,
        /// What went wrong.
        why: String,
    },
    /// A runtime for the client could not be made.
    #[error("cannot start a runtime for the Docker client: {0}")]
    Runtime(String),
    /// The daemon answered with an error.
    #[error("{what}: {why}")]
    Api {
        /// What was being done.
        what: String,
        /// What the daemon said.
        why: String,
    },
}

/// The daemon's address when `DOCKER_HOST` is not set (bollard's default).
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Where the daemon is looked for: `DOCKER_HOST`, else the default socket.
pub fn docker_host() -> String {
    std::env::var(crate::env::DOCKER_HOST)
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_owned())
}

/// A client for the daemon at [`docker_host`], its API version negotiated.
pub(crate) async fn connect(timeout: Duration) -> Result<Docker, DockerError> {
    let host = docker_host();
    let unreachable = |why: String| DockerError::Unreachable {
        host: host.clone(),
        why,
    };
    let docker = Docker::connect_with_defaults()
        .map_err(|e| unreachable(plain(&e)))?
        .with_timeout(timeout);
    match tokio::time::timeout(timeout, docker.negotiate_version()).await {
        Ok(Ok(docker)) => Ok(docker),
        Ok(Err(e)) => Err(unreachable(plain(&e))),
        Err(_) => Err(unreachable(format!("no answer within {timeout:?}"))),
    }
}

/// A current-thread runtime for blocking callers.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, DockerError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DockerError::Runtime(e.to_string()))
}

/// A bollard error in plain words: the daemon's own message when it sent
/// one, the cause otherwise.
pub(crate) fn plain(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError { message, .. } => message.trim().to_owned(),
        E::DockerStreamError { error } => error.trim().to_owned(),
        E::DockerContainerWaitError { error, code } if error.is_empty() => {
            format!("exit status {code}")
        }
        E::DockerContainerWaitError { error, .. } => error.trim().to_owned(),
        E::RequestTimeoutError => "the daemon did not answer in time".to_owned(),
        other => {
            // Hyper and IO errors hide the useful part in their sources.
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// Whether `e` is the daemon's 404 (no such container or image).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
