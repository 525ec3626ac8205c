//! Container tasks, without I/O: what the executor asks its container
//! driver to do ([`DriverCommand`], built from the task by
//! [`container_spec`]), what the driver tells it back ([`ContainerStarted`],
//! [`ContainerExited`]), and what the task's end reads like
//! ([`container_ending`]).
//!
//! The driver itself (Docker through bollard, on a thread of its own) lives at
//! the binary's edge, in [`crate::docker`], behind an actor on the executor's
//! node: the executor sends it [`DriverCommand`]s and hears back from it, as
//! from any actor, through its `Ctx`, so the executor stays free of I/O and a
//! simulation can stand any actor in for Docker.

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_api::container::{DockerParameter, NetworkMode, PortMapping, VolumeSource};
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState};
use corral_runtime::message;
use serde::{Deserialize, Serialize};

use crate::config::Site;
use crate::report::KillCause;
use corral_runtime::signal_name;

/// Where the task's sandbox is mounted inside its container (Mesos's path).
pub const CONTAINER_SANDBOX: &str = "/mnt/mesos/sandbox";

/// The least memory limit a container gets, in MB (Mesos's docker
/// containerizer floor; Docker itself refuses less than 6 MB).
pub const MIN_MEMORY_MB: f64 = 32.0;

/// CFS period used with the CPU quota, in microseconds.
pub const CPU_PERIOD_US: i64 = 100_000;

/// Label keys every container gets, tying it to its agent, framework and
/// task (and to the agent's work directory, for orphan cleanup).
pub mod labels {
    /// The agent's id.
    pub const AGENT_ID: &str = "corral.agent_id";
    /// The framework's id.
    pub const FRAMEWORK_ID: &str = "corral.framework_id";
    /// The task's id.
    pub const TASK_ID: &str = "corral.task_id";
    /// The agent's work directory: a restarted agent removes the containers
    /// labelled with its own.
    pub const WORK_DIR: &str = "corral.work_dir";
    /// The task's sandbox on the agent.
    pub const SANDBOX: &str = "corral.sandbox";
}

/// Everything the driver needs to run one task's container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// The container's name (unique per agent, framework and task).
    pub name: String,
    /// The image.
    pub image: String,
    /// Pull the image before creating the container.
    pub force_pull: bool,
    /// Shell command run with `/bin/sh -c`; None runs the image's default.
    pub command: Option<String>,
    /// The container's environment.
    pub env: Vec<(String, String)>,
    /// Labels (see [`labels`]).
    pub labels: Vec<(String, String)>,
    /// CPU shares (1024 per cpu).
    pub cpu_shares: i64,
    /// CFS quota per [`CPU_PERIOD_US`], in microseconds; None: no quota.
    pub cpu_quota_us: Option<i64>,
    /// Memory limit in bytes (swap included, so no swap is used).
    pub memory_bytes: i64,
    /// The network.
    pub network: NetworkMode,
    /// Published ports.
    pub port_mappings: Vec<PortMapping>,
    /// Bind mounts in Docker's `SOURCE:TARGET:MODE` syntax, the sandbox's
    /// first.
    pub binds: Vec<String>,
    /// Host directories to create before the container (sandbox volumes).
    pub make_dirs: Vec<PathBuf>,
    /// The uid and gid the container runs as, who must own the sandbox
    /// and the volume directories it writes (None: the image's user).
    pub owner: Option<(u32, u32)>,
    /// Extra options (from the allow-list).
    pub parameters: Vec<DockerParameter>,
    /// The working directory inside the container.
    pub working_dir: String,
    /// File the container's stdout is appended to.
    pub stdout: PathBuf,
    /// File the container's stderr is appended to.
    pub stderr: PathBuf,
}

/// Executor → container driver: the one message the executor sends its
/// driver (an actor on the executor's node, see [`crate::docker::actor`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DriverCommand {
    /// Create and start the container; answer [`ContainerStarted`] once it
    /// runs and [`ContainerExited`] once it has ended and been removed (or
    /// could not start).
    Start(Box<ContainerSpec>),
    /// Stop the container: SIGTERM, SIGKILL after `grace` (Docker's stop).
    /// Before it has started, it is not started at all.
    Stop {
        /// Time between SIGTERM and SIGKILL.
        grace: Duration,
    },
}

/// Driver → executor: the container runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerStarted {
    /// Its name.
    pub name: String,
}

/// Driver → executor: the container ended and was removed, or never ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerExited {
    /// How.
    pub exit: ContainerExit,
}

/// How a container ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerExit {
    /// Its exit code, when it ran and Docker said.
    pub code: Option<i64>,
    /// Docker reports it was killed for going over its memory limit.
    pub oom_killed: bool,
    /// What went wrong, in words, when it could not start or be followed.
    pub error: Option<String>,
}

impl ContainerExit {
    /// A container that never ran (or was lost track of), for `why`.
    pub fn failed(why: impl Into<String>) -> ContainerExit {
        ContainerExit {
            error: Some(why.into()),
            ..ContainerExit::default()
        }
    }
}

message!(DriverCommand = "executor.DriverCommand");
message!(ContainerStarted = "executor.ContainerStarted");
message!(ContainerExited = "executor.ContainerExited");

/// The container for `task`, run at `site`: the
/// task's command in its image, its `cpus` and `mem` as limits, its sandbox
/// mounted at [`CONTAINER_SANDBOX`] (also the working directory), labels
/// naming its agent, framework and task. Fails, in words, when the task
/// has no container or its parameters do not parse (the master checks them
/// first; this is the executor's own guard).
pub fn container_spec(task: &TaskInfo, site: &Site) -> Result<ContainerSpec, String> {
    let Some(info) = task.container.as_ref() else {
        return Err("the task has no container".to_owned());
    };
    let mut parameters = info.docker_parameters().map_err(|e| e.to_string())?;
    let owner = match &site.container_user {
        None => None,
        Some(Err(why)) => return Err(why.clone()),
        Some(Ok((uid, gid))) => {
            // The framework's user is the one its principal may run as
            // (run_tasks ACLs): a parameter must not pick another.
            if parameters
                .iter()
                .any(|p| matches!(p, DockerParameter::User(_)))
            {
                return Err(
                    "the docker parameter `user` cannot be given: this agent runs \
                    tasks as their framework's user (--switch-user)"
                        .to_owned(),
                );
            }
            parameters.push(DockerParameter::User(format!("{uid}:{gid}")));
            Some((*uid, *gid))
        }
    };
    let agent_id = site.agent_id.as_ref().map_or("", |a| a.0.as_str());
    let sandbox = site.sandbox.to_string_lossy().into_owned();
    let mut label_list = vec![
        (labels::AGENT_ID, agent_id.to_owned()),
        (labels::FRAMEWORK_ID, site.framework_id.0.clone()),
        (labels::TASK_ID, task.task_id.0.clone()),
        (labels::SANDBOX, sandbox.clone()),
    ];
    if let Some(dir) = &site.work_dir {
        label_list.push((labels::WORK_DIR, dir.to_string_lossy().into_owned()));
    }
    let (binds, make_dirs) = binds(&site.sandbox, &info.volumes);
    let cpus = task.resources.cpus();
    let mem_mb = task.resources.mem_mb().max(MIN_MEMORY_MB);
    let command = Some(task.command.clone()).filter(|c| !c.trim().is_empty());
    Ok(ContainerSpec {
        name: container_name(agent_id, site, &task.task_id.0),
        image: info.image.trim().to_owned(),
        force_pull: info.force_pull_image,
        command,
        env: container_env(task, &site.framework_id.0),
        labels: label_list
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        cpu_shares: ((cpus * 1024.0).round() as i64).max(2),
        cpu_quota_us: (cpus > 0.0)
            .then(|| ((cpus * CPU_PERIOD_US as f64).round() as i64).max(1000)),
        memory_bytes: (mem_mb * 1024.0 * 1024.0).round() as i64,
        network: info.network,
        port_mappings: info.port_mappings.clone(),
        binds,
        make_dirs,
        owner,
        parameters,
        working_dir: CONTAINER_SANDBOX.to_owned(),
        stdout: site.sandbox.join("stdout"),
        stderr: site.sandbox.join("stderr"),
    })
}

/// `corral-{task id, shortened}-{hash}`: readable, and unique per agent
/// work directory, agent, framework and task (Docker names are global to
/// the daemon, which several agents may share).
fn container_name(agent_id: &str, site: &Site, task_id: &str) -> String {
    let work_dir = site.work_dir.as_deref().unwrap_or(Path::new(""));
    let mut hash = Fnv::default();
    for part in [
        work_dir.to_string_lossy().as_bytes(),
        agent_id.as_bytes(),
        site.framework_id.0.as_bytes(),
        task_id.as_bytes(),
    ] {
        hash.write(part);
        hash.write(&[0]);
    }
    // Task ids are [A-Za-z0-9._-], all allowed in names; a name starts
    // with a letter, as Docker requires.
    let short: String = task_id.chars().take(64).collect();
    format!("corral-{short}-{:016x}", hash.0)
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The task's environment, then the container's, then the Mesos names
/// (which win), with the sandbox as seen from inside.
fn container_env(task: &TaskInfo, framework_id: &str) -> Vec<(String, String)> {
    let ours = [
        ("MESOS_SANDBOX", CONTAINER_SANDBOX.to_owned()),
        ("MESOS_TASK_ID", task.task_id.0.clone()),
        ("MESOS_FRAMEWORK_ID", framework_id.to_owned()),
    ];
    let extra = task.container.iter().flat_map(|c| c.env.iter());
    let mut env: Vec<(String, String)> = Vec::new();
    for (k, v) in task.env.iter().chain(extra) {
        if ours.iter().any(|(name, _)| name == k) {
            continue;
        }
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    env.extend(ours.map(|(k, v)| (k.to_owned(), v)));
    env
}

/// The sandbox's bind, then one per volume; sandbox volumes resolve under
/// the sandbox and are listed to be created.
fn binds(sandbox: &Path, volumes: &[corral_api::container::Volume]) -> (Vec<String>, Vec<PathBuf>) {
    let mut binds = vec![format!("{}:{CONTAINER_SANDBOX}:rw", sandbox.display())];
    let mut dirs = Vec::new();
    for v in volumes {
        let source = match &v.source {
            VolumeSource::HostPath(p) => PathBuf::from(p),
            VolumeSource::Sandbox(p) => {
                let dir = sandbox.join(p);
                dirs.push(dir.clone());
                dir
            }
        };
        let mode = if v.read_only { "ro" } else { "rw" };
        binds.push(format!("{}:{}:{mode}", source.display(), v.container_path));
    }
    (binds, dirs)
}

/// The terminal state, reason and message for a container that ended with
/// `exit`, after a kill for `kill` if one was asked; `started` says whether
/// it ever ran.
pub fn container_ending(
    exit: &ContainerExit,
    kill: Option<KillCause>,
    started: bool,
) -> (TaskState, StatusReason, String) {
    let how = describe_container_exit(exit, started);
    match kill {
        Some(KillCause::Framework) => (
            TaskState::Killed,
            StatusReason::KilledByFramework,
            format!("Container killed on request: it {how}"),
        ),
        Some(KillCause::Shutdown) => (
            TaskState::Killed,
            StatusReason::KilledByFramework,
            format!("Container killed because its executor was shut down: it {how}"),
        ),
        Some(KillCause::AgentLost) => (
            TaskState::Killed,
            StatusReason::ExecutorTerminated,
            format!("Container killed because the agent was lost: it {how}"),
        ),
        None if exit.oom_killed => (
            TaskState::Failed,
            StatusReason::ContainerMemoryLimit,
            format!(
                "Container was OOM-killed (out of memory: it went over its memory limit) and {how}"
            ),
        ),
        None if exit.error.is_some() && !started => (
            TaskState::Failed,
            StatusReason::ContainerLaunchFailed,
            format!("Container {how}"),
        ),
        None if exit.error.is_some() => (
            TaskState::Failed,
            StatusReason::ExecutorTerminated,
            format!("Container {how}"),
        ),
        None if exit.code == Some(0) => (
            TaskState::Finished,
            StatusReason::CommandExited,
            format!("Container {how}"),
        ),
        None => (
            TaskState::Failed,
            StatusReason::CommandExited,
            format!("Container {how}"),
        ),
    }
}

/// "exited with status 3", "exited with status 137 (128 + SIGKILL)",
/// "failed to start: ...", "was lost track of: ...".
pub fn describe_container_exit(exit: &ContainerExit, started: bool) -> String {
    match (&exit.error, exit.code) {
        (Some(why), _) if !started => format!("failed to start: {why}"),
        (Some(why), _) => format!("could not be followed to its end: {why}"),
        (None, Some(code)) => {
            let signal = (129..=159)
                .contains(&code)
                .then(|| signal_name((code - 128) as i32))
                .flatten();
            match signal {
                Some(name) => format!("exited with status {code} (128 + {name})"),
                None => format!("exited with status {code}"),
            }
        }
        (None, None) => "ended without an exit status".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_api::container::{ContainerInfo, PortProtocol, Volume};
    use corral_api::resources::Resources;

    fn cfg() -> Site {
        Site {
            framework_id: "fw".into(),
            agent_id: Some("a1".into()),
            sandbox: "/w/frameworks/fw/tasks/t1".into(),
            work_dir: Some("/w".into()),
            tasks_dir: None,
            container_user: None,
        }
    }

    fn task(container: ContainerInfo) -> TaskInfo {
        TaskInfo {
            task_id: "t1".into(),
            name: "t1".into(),
            command: "echo hi".into(),
            env: vec![
                ("A".into(), "task".into()),
                ("MESOS_SANDBOX".into(), "/elsewhere".into()),
            ],
            resources: Resources::parse("cpus:0.5;mem:64;ports:[31000-31000]").unwrap(),
            container: Some(container),
            executor: None,
        }
    }

    #[test]
    fn the_spec_carries_limits_labels_sandbox_and_volumes() {
        let info = ContainerInfo {
            network: NetworkMode::Bridge,
            port_mappings: vec![PortMapping {
                host_port: 31000,
                container_port: 8080,
                protocol: PortProtocol::Tcp,
            }],
            volumes: vec![
                Volume {
                    source: VolumeSource::Sandbox("data".into()),
                    container_path: "/data".into(),
                    read_only: false,
                },
                Volume {
                    source: VolumeSource::HostPath("/etc/hosts".into()),
                    container_path: "/h".into(),
                    read_only: true,
                },
            ],
            env: vec![("A".into(), "container".into())],
            parameters: vec![("hostname".into(), "web".into())],
            ..ContainerInfo::docker(" corral/busybox:test ")
        };
        let spec = container_spec(&task(info), &cfg()).unwrap();
        assert_eq!(spec.image, "corral/busybox:test");
        assert_eq!(spec.command.as_deref(), Some("echo hi"));
        assert_eq!(spec.cpu_shares, 512);
        assert_eq!(spec.cpu_quota_us, Some(50_000));
        assert_eq!(spec.memory_bytes, 64 << 20);
        assert_eq!(
            spec.binds,
            [
                "/w/frameworks/fw/tasks/t1:/mnt/mesos/sandbox:rw",
                "/w/frameworks/fw/tasks/t1/data:/data:rw",
                "/etc/hosts:/h:ro"
            ]
        );
        assert_eq!(
            spec.make_dirs,
            [PathBuf::from("/w/frameworks/fw/tasks/t1/data")]
        );
        assert_eq!(
            spec.stdout,
            PathBuf::from("/w/frameworks/fw/tasks/t1/stdout")
        );
        assert_eq!(spec.parameters, [DockerParameter::Hostname("web".into())]);
        let get = |list: &[(String, String)], k: &str| {
            let found: Vec<String> = list
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .collect();
            assert!(found.len() <= 1, "{k} twice");
            found.first().cloned()
        };
        assert_eq!(get(&spec.env, "A").as_deref(), Some("container"));
        assert_eq!(
            get(&spec.env, "MESOS_SANDBOX").as_deref(),
            Some(CONTAINER_SANDBOX)
        );
        assert_eq!(get(&spec.labels, labels::AGENT_ID).as_deref(), Some("a1"));
        assert_eq!(
            get(&spec.labels, labels::FRAMEWORK_ID).as_deref(),
            Some("fw")
        );
        assert_eq!(get(&spec.labels, labels::TASK_ID).as_deref(), Some("t1"));
        assert_eq!(get(&spec.labels, labels::WORK_DIR).as_deref(), Some("/w"));
        assert!(spec.name.starts_with("corral-t1-"), "{}", spec.name);
        // Another agent's work directory gives another name.
        let mut other = cfg();
        other.work_dir = Some("/w2".into());
        let again = container_spec(&task(ContainerInfo::docker("img")), &other).unwrap();
        assert_ne!(again.name, spec.name);
    }

    #[test]
    fn small_memory_is_raised_to_the_floor_and_empty_commands_use_the_image() {
        let mut t = task(ContainerInfo::docker("img"));
        t.command = " ".into();
        t.resources = Resources::parse("cpus:0.01;mem:1").unwrap();
        let spec = container_spec(&t, &cfg()).unwrap();
        assert_eq!(spec.command, None);
        assert_eq!(spec.memory_bytes, 32 << 20);
        assert_eq!(spec.cpu_shares, 10);
        assert_eq!(spec.cpu_quota_us, Some(1000));
        let mut t = task(ContainerInfo::docker("img"));
        t.container = None;
        assert!(container_spec(&t, &cfg()).is_err());
        let bad = ContainerInfo {
            parameters: vec![("privileged".into(), "true".into())],
            ..ContainerInfo::docker("img")
        };
        let err = container_spec(&task(bad), &cfg()).unwrap_err();
        assert!(err.contains("privileged"), "{err}");
    }

    #[test]
    fn endings_name_oom_exit_codes_and_launch_failures() {
        let exit = |code| ContainerExit {
            code: Some(code),
            ..ContainerExit::default()
        };
        let (state, reason, message) = container_ending(&exit(0), None, true);
        assert_eq!(
            (state, reason),
            (TaskState::Finished, StatusReason::CommandExited)
        );
        assert_eq!(message, "Container exited with status 0");
        let (state, _, message) = container_ending(&exit(3), None, true);
        assert_eq!(state, TaskState::Failed);
        assert_eq!(message, "Container exited with status 3");
        let oom = ContainerExit {
            oom_killed: true,
            ..exit(137)
        };
        let (state, reason, message) = container_ending(&oom, None, true);
        assert_eq!(
            (state, reason),
            (TaskState::Failed, StatusReason::ContainerMemoryLimit)
        );
        assert!(message.contains("OOM"), "{message}");
        assert!(message.contains("137 (128 + SIGKILL)"), "{message}");
        let missing = ContainerExit::failed("image 'x' is not on this agent");
        let (state, reason, message) = container_ending(&missing, None, false);
        assert_eq!(
            (state, reason),
            (TaskState::Failed, StatusReason::ContainerLaunchFailed)
        );
        assert_eq!(
            message,
            "Container failed to start: image 'x' is not on this agent"
        );
        let (state, reason, _) = container_ending(&exit(143), Some(KillCause::Framework), true);
        assert_eq!(
            (state, reason),
            (TaskState::Killed, StatusReason::KilledByFramework)
        );
        let (state, _, message) = container_ending(
            &ContainerExit::failed("stopped"),
            Some(KillCause::Framework),
            false,
        );
        assert_eq!(state, TaskState::Killed);
        assert!(message.contains("failed to start: stopped"), "{message}");
    }

    #[test]
    fn a_container_runs_as_the_user_the_agent_names_and_no_parameter_overrides_it() {
        let site = Site {
            container_user: Some(Ok((65534, 65533))),
            ..cfg()
        };
        let spec = container_spec(&task(ContainerInfo::docker("img")), &site).unwrap();
        assert_eq!(spec.owner, Some((65534, 65533)));
        assert!(spec
            .parameters
            .contains(&DockerParameter::User("65534:65533".into())));
        let mut info = ContainerInfo::docker("img");
        info.parameters = vec![("user".into(), "0".into())];
        let e = container_spec(&task(info.clone()), &site).unwrap_err();
        assert!(e.contains("`user` cannot be given"), "{e}");
        // Without a user from the agent, the parameter is the task's own.
        assert!(container_spec(&task(info), &cfg()).is_ok());
        let unknown = Site {
            container_user: Some(Err("no user \"x\" on this machine".into())),
            ..cfg()
        };
        let e = container_spec(&task(ContainerInfo::docker("img")), &unknown).unwrap_err();
        assert_eq!(e, "no user \"x\" on this machine");
    }
}
