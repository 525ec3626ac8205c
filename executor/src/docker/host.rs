//! Blocking Docker calls for binaries (the agent's start, tests): is the
//! daemon there, which containers carry a label, and removing the
//! containers an earlier run of an agent left behind. Each call makes a
//! small runtime of its own; none belongs in an actor.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use bollard::Docker;

use super::driver::remove;
use super::{connect, plain, runtime, DockerError};
use crate::container::labels;

/// How long [`probe`] waits for the daemon.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the daemon for its version: `Docker 20.10.24 (API 1.41)` when it
/// answers within `timeout`, else why not.
pub fn probe(timeout: Duration) -> Result<String, DockerError> {
    runtime()?.block_on(async {
        let docker = connect(timeout).await?;
        let version = docker.version().await.map_err(|e| DockerError::Api {
            what: "cannot read the Docker version".to_owned(),
            why: plain(&e),
        })?;
        Ok(format!(
            "Docker {} (API {})",
            version.version.as_deref().unwrap_or("?"),
            version.api_version.as_deref().unwrap_or("?")
        ))
    })
}

/// The names of the containers (running or not) labelled `key=value`.
pub fn containers_labelled(key: &str, value: &str) -> Result<Vec<String>, DockerError> {
    runtime()?.block_on(async {
        let docker = connect(super::API_TIMEOUT).await?;
        labelled(&docker, key, value).await
    })
}

/// Removes every container labelled with the agent work directory
/// `work_dir` and returns their names. Called when an agent starts: it
/// recovers no executors (agent checkpointing is still to come), so any
/// such container was left by an earlier run of this agent (an executor
/// that could not clean up, e.g. SIGKILLed) and nobody owns it.
pub fn remove_orphans(work_dir: &Path) -> Result<Vec<String>, DockerError> {
    let dir = work_dir.to_string_lossy().into_owned();
    runtime()?.block_on(async {
        let docker = connect(super::API_TIMEOUT).await?;
        let names = labelled(&docker, labels::WORK_DIR, &dir).await?;
        for name in &names {
            remove(&docker, name).await;
        }
        Ok(names)
    })
}

async fn labelled(docker: &Docker, key: &str, value: &str) -> Result<Vec<String>, DockerError> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{key}={value}")])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..ListContainersOptions::default()
    };
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| DockerError::Api {
            what: "cannot list containers".to_owned(),
            why: plain(&e),
        })?;
    Ok(found
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
        .map(|n| n.trim_start_matches('/').to_owned())
        .collect())
}
