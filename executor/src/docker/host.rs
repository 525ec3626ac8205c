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

/// What a running container uses, as the Docker daemon reads it from
/// the container's cgroup. A field is None where the daemon gave none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerUsage {
    /// CPU time in user mode, seconds.
    pub user_secs: Option<f64>,
    /// CPU time in the kernel, seconds.
    pub system_secs: Option<f64>,
    /// Resident anonymous memory, bytes (`rss` under cgroup v1, `anon`
    /// under v2).
    pub rss_bytes: Option<u64>,
    /// All memory charged to it, page cache included, bytes.
    pub total_bytes: Option<u64>,
    /// How many processes.
    pub processes: Option<u64>,
}

/// What the container of the task whose sandbox is `sandbox` uses; None
/// when no container carries that sandbox's label. Each call waits at
/// most [`PROBE_TIMEOUT`] for each of its requests.
pub fn sandbox_usage(sandbox: &str) -> Result<Option<ContainerUsage>, DockerError> {
    use bollard::query_parameters::StatsOptions;
    use futures_util::StreamExt;
    runtime()?.block_on(async {
        // A monitoring read waits no longer than a probe: a stuck daemon
        // must not hold the agent's HTTP answer for minutes.
        let docker = connect(PROBE_TIMEOUT).await?;
        let Some(name) = labelled(&docker, labels::SANDBOX, sandbox)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        // One reading now, not the two a CPU percentage waits for.
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let Some(read) = docker.stats(&name, Some(options)).next().await else {
            return Ok(None);
        };
        let stats = read.map_err(|e| DockerError::Api {
            what: format!("cannot read the statistics of container {name}"),
            why: plain(&e),
        })?;
        let ns = |n: u64| n as f64 / 1e9;
        let cpu = stats.cpu_stats.and_then(|c| c.cpu_usage);
        let memory = stats.memory_stats;
        let memory_stat = |key: &str| {
            memory
                .as_ref()
                .and_then(|m| m.stats.as_ref())
                .and_then(|s| s.get(key).copied())
        };
        Ok(Some(ContainerUsage {
            user_secs: cpu.as_ref().and_then(|c| c.usage_in_usermode).map(ns),
            system_secs: cpu.as_ref().and_then(|c| c.usage_in_kernelmode).map(ns),
            rss_bytes: memory_stat("total_rss")
                .or_else(|| memory_stat("rss"))
                .or_else(|| memory_stat("anon")),
            total_bytes: memory.as_ref().and_then(|m| m.usage),
            processes: stats.pids_stats.and_then(|p| p.current),
        }))
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
