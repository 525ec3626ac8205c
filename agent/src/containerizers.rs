//! Containerizers: whether the ones an agent offers can run a given task,
//! and the binary-edge check that Docker is really there (the kinds and
//! the `--containerizers` list are in [`crate::containerizer`]).
//!
//! Every task runs under an executor process either way: a plain command
//! task as a process (the `process` containerizer), a task with a Docker
//! container description through the executor's Docker driver (the
//! `docker` containerizer, as Mesos's `mesos-docker-executor`). The actor
//! only decides whether it may accept a task ([`refusal`]); what touches
//! Docker happens in [`prepare_docker`], which binaries call before the
//! actor starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use corral_api::task::TaskInfo;
use corral_executor::docker::host;

use crate::config::AgentConfig;
pub use crate::containerizer::{
    check_containerizers, containerizers_text, parse_containerizers, Containerizer,
    ContainerizersError,
};

/// Why this agent cannot run `task`, if it cannot: a container task needs
/// the docker containerizer, enabled and available; a plain task needs the
/// process one. The task then gets TASK_ERROR with this reason.
pub fn refusal(task: &TaskInfo, cfg: &AgentConfig) -> Option<String> {
    let has = |c| cfg.containerizers.contains(&c);
    let list = containerizers_text(&cfg.containerizers);
    match &task.container {
        None if !has(Containerizer::Process) => Some(format!(
            "this agent runs only containers (--containerizers={list}) and the task has none"
        )),
        None => None,
        Some(_) if !has(Containerizer::Docker) => Some(format!(
            "this agent does not run Docker containers (--containerizers={list})"
        )),
        Some(_) => cfg
            .docker_unavailable
            .as_ref()
            .map(|why| format!("Docker is not available on this agent: {why}")),
    }
}

/// What [`prepare_docker`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DockerCheck {
    /// The agent does not offer the docker containerizer: nothing checked.
    NotEnabled,
    /// Docker answered; `removed` names the containers an earlier run of
    /// this agent (same work directory) had left, now removed.
    Ready {
        /// The daemon, e.g. `Docker 20.10.24 (API 1.41)`.
        version: String,
        /// Containers removed.
        removed: Vec<String>,
    },
    /// Docker is not usable; the agent starts anyway and refuses Docker
    /// tasks with this reason.
    Unavailable(String),
}

/// Whether the Docker engine answers here (asked once per process).
pub fn docker_answers() -> bool {
    docker_probe().is_ok()
}

/// The engine's version, or why it did not answer: asked once per process.
fn docker_probe() -> &'static Result<String, String> {
    static PROBE: OnceLock<Result<String, String>> = OnceLock::new();
    PROBE.get_or_init(|| host::probe(host::PROBE_TIMEOUT).map_err(|e| e.to_string()))
}

/// The binary edge's Docker check, before the agent actor starts. When
/// `cfg` offers the docker containerizer: asks the daemon for its version
/// (once per process: every agent of a local cluster shares the answer),
/// records why Docker cannot be used in `cfg.docker_unavailable` (the agent
/// then refuses Docker tasks, and the first agent of the process says so
/// in a warning), passes this process's `DOCKER_HOST` on to executors
/// (unless `cfg.docker_host` is already set), and, with
/// [`RecoverMode::Cleanup`](crate::RecoverMode::Cleanup), removes the
/// containers an earlier run of this agent left behind (best effort). With
/// `Reconnect` (the default) they are kept: their executors outlive the
/// agent and re-register with it.
///
/// A `docker_unavailable` already set (e.g. by a test) is kept and nothing
/// is probed.
pub fn prepare_docker(cfg: &mut AgentConfig) -> DockerCheck {
    if !cfg.containerizers.contains(&Containerizer::Docker) {
        return DockerCheck::NotEnabled;
    }
    if let Some(why) = &cfg.docker_unavailable {
        return DockerCheck::Unavailable(why.clone());
    }
    if cfg.docker_host.is_none() {
        cfg.docker_host = std::env::var(corral_executor::env::DOCKER_HOST)
            .ok()
            .filter(|h| !h.is_empty());
    }
    static WARNED: AtomicBool = AtomicBool::new(false);
    match docker_probe() {
        Ok(version) if cfg.recover == crate::RecoverMode::Reconnect => DockerCheck::Ready {
            version: version.clone(),
            removed: Vec::new(),
        },
        Ok(version) => {
            let removed = match host::remove_orphans(&cfg.work_dir) {
                Ok(names) => names,
                Err(e) => {
                    tracing::warn!("cannot look for containers left by an earlier run: {e}");
                    Vec::new()
                }
            };
            if !removed.is_empty() {
                tracing::info!(
                    ?removed,
                    "removed containers an earlier run of this agent left"
                );
            }
            DockerCheck::Ready {
                version: version.clone(),
                removed,
            }
        }
        Err(why) => {
            cfg.docker_unavailable = Some(why.clone());
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "Docker is not available ({why}): starting anyway; Docker tasks will get TASK_ERROR"
                );
            }
            DockerCheck::Unavailable(why.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use corral_api::container::ContainerInfo;
    use corral_api::resources::Resources;

    use super::*;

    fn cfg(list: &[Containerizer]) -> AgentConfig {
        let mut c = AgentConfig::new(
            "master@127.0.0.1:5050".parse().unwrap(),
            "h".into(),
            Resources::parse("cpus:1;mem:64").unwrap(),
            PathBuf::from("/w"),
            "exec x".into(),
        );
        c.containerizers = list.to_vec();
        c
    }

    fn task(container: bool) -> TaskInfo {
        TaskInfo {
            task_id: "t".into(),
            name: "t".into(),
            command: "true".into(),
            env: vec![],
            resources: Resources::parse("cpus:1").unwrap(),
            container: container.then(|| ContainerInfo::docker("img")),
            executor: None,
        }
    }

    #[test]
    fn the_flag_parses_in_order_and_refuses_nonsense() {
        use Containerizer::*;
        assert_eq!(
            parse_containerizers("docker,process"),
            Ok(vec![Docker, Process])
        );
        assert_eq!(parse_containerizers(" mesos "), Ok(vec![Process]));
        assert_eq!(parse_containerizers(""), Err(ContainerizersError::Empty));
        assert_eq!(
            parse_containerizers("docker,docker"),
            Err(ContainerizersError::Duplicate(Docker))
        );
        let err = parse_containerizers("rkt").unwrap_err();
        assert!(err.to_string().contains("rkt"), "{err}");
        assert_eq!(containerizers_text(&[Docker, Process]), "docker,process");
    }

    #[test]
    fn each_task_needs_its_containerizer_and_docker_there() {
        use Containerizer::*;
        assert_eq!(refusal(&task(false), &cfg(&[Process])), None);
        let why = refusal(&task(true), &cfg(&[Process])).unwrap();
        assert!(why.contains("does not run Docker"), "{why}");
        assert_eq!(refusal(&task(true), &cfg(&[Docker, Process])), None);
        let why = refusal(&task(false), &cfg(&[Docker])).unwrap();
        assert!(why.contains("only containers"), "{why}");
        let mut c = cfg(&[Docker, Process]);
        c.docker_unavailable = Some("no socket".into());
        let why = refusal(&task(true), &c).unwrap();
        assert_eq!(why, "Docker is not available on this agent: no socket");
        assert_eq!(refusal(&task(false), &c), None);
        // Nothing is probed when docker is not offered, or already known absent.
        assert_eq!(
            prepare_docker(&mut cfg(&[Process])),
            DockerCheck::NotEnabled
        );
        assert_eq!(
            prepare_docker(&mut c),
            DockerCheck::Unavailable("no socket".into())
        );
    }
}
