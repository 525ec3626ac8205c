//! Container descriptions a task may carry (Mesos's `ContainerInfo` of type
//! DOCKER), and the checks the master makes on them before a launch.
//!
//! A task with a [`ContainerInfo`] runs in a Docker container on an agent
//! whose `--containerizers` include `docker`; its command (if any) runs with
//! `/bin/sh -c` inside the image, and its `cpus` and `mem` become the
//! container's CPU and memory limits. The master refuses (TASK_ERROR) a
//! description that cannot work: see [`ContainerInfo::validate`].
//!
//! Extra `docker run` options come as `(name, value)` parameters, as in
//! Mesos, but only those in [`ALLOWED_PARAMETERS`]: each is parsed into a
//! typed [`DockerParameter`] here, once, so the master and the executor agree
//! on what is accepted. Options that would escape the task's limits or the
//! agent's control (`--privileged`, `--pid=host`, `--memory`, ...) are not
//! on the list.

use serde::{Deserialize, Serialize};

use crate::resources::Resources;

/// Most port mappings, volumes or parameters one container may list.
pub const MAX_CONTAINER_ITEMS: usize = 64;

/// Label keys starting with this are the agent's own (they tie a container
/// to its agent, framework and task); tasks may not set them.
pub const RESERVED_LABEL_PREFIX: &str = "corral.";

/// The `docker run` options a task may pass as parameters.
pub const ALLOWED_PARAMETERS: &[&str] = &[
    "add-host",
    "cap-add",
    "cap-drop",
    "dns",
    "hostname",
    "init",
    "label",
    "pids-limit",
    "read-only",
    "shm-size",
    "tmpfs",
    "user",
    "workdir",
];

/// A task's container: Docker image, network, ports, volumes and extras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// The image, e.g. `corral/busybox:test` (must be on the agent unless
    /// `force_pull_image`).
    pub image: String,
    /// The container's network (Mesos's default: host).
    pub network: NetworkMode,
    /// Offered host ports published to container ports (bridge network
    /// only); every host port must be in the task's `ports` resources.
    pub port_mappings: Vec<PortMapping>,
    /// Directories mounted into the container.
    pub volumes: Vec<Volume>,
    /// Environment for the container, on top of the task's own.
    pub env: Vec<(String, String)>,
    /// Extra `docker run` options, each named in [`ALLOWED_PARAMETERS`].
    pub parameters: Vec<(String, String)>,
    /// Pull the image before every launch. Without it the agent never pulls:
    /// a missing image fails the task.
    pub force_pull_image: bool,
}

impl ContainerInfo {
    /// A Docker container of `image` on the host network, with nothing else.
    pub fn docker(image: &str) -> ContainerInfo {
        ContainerInfo {
            image: image.to_owned(),
            network: NetworkMode::Host,
            port_mappings: Vec::new(),
            volumes: Vec::new(),
            env: Vec::new(),
            parameters: Vec::new(),
            force_pull_image: false,
        }
    }
}

/// The network a container joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkMode {
    /// The agent's own network stack (`--network=host`).
    Host,
    /// Docker's bridge, with port mappings published on the agent.
    Bridge,
    /// No network at all but loopback.
    None,
}

impl NetworkMode {
    /// Docker's name for it.
    pub fn docker_name(self) -> &'static str {
        match self {
            NetworkMode::Host => "host",
            NetworkMode::Bridge => "bridge",
            NetworkMode::None => "none",
        }
    }
}

/// A host port published to a container port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The agent's port (from the task's `ports` resources).
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: PortProtocol,
}

/// A port's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl PortProtocol {
    /// Docker's name for it.
    pub fn docker_name(self) -> &'static str {
        match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        }
    }
}

/// A directory mounted into the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// What is mounted.
    pub source: VolumeSource,
    /// Where, inside the container (absolute).
    pub container_path: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Where a volume's files live on the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeSource {
    /// An absolute path on the agent.
    HostPath(String),
    /// A path relative to the task's sandbox (created if missing); it may
    /// not leave the sandbox.
    Sandbox(String),
}

/// One allowed `docker run` option, parsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DockerParameter {
    /// `--add-host NAME:IP`.
    AddHost(String),
    /// `--cap-add CAP`.
    CapAdd(String),
    /// `--cap-drop CAP`.
    CapDrop(String),
    /// `--dns IP`.
    Dns(String),
    /// `--hostname NAME`.
    Hostname(String),
    /// `--init` (true/false).
    Init(bool),
    /// `--label KEY=VALUE` (keys under `corral.` are refused).
    Label(String, String),
    /// `--pids-limit N`.
    PidsLimit(i64),
    /// `--read-only` (true/false).
    ReadOnly(bool),
    /// `--shm-size` in bytes (given as `64m`, `1g`, `65536`, ...).
    ShmSizeBytes(i64),
    /// `--tmpfs PATH[:OPTIONS]`.
    Tmpfs(String, String),
    /// `--user USER[:GROUP]`.
    User(String),
    /// `--workdir PATH`.
    Workdir(String),
}

/// Why a container description was refused (the task gets TASK_ERROR with
/// this message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// No image named.
    #[error("the container names no image")]
    EmptyImage,
    /// The image name holds spaces or control characters.
    #[error("the image name '{0}' holds spaces or control characters")]
    BadImage(String),
    /// Too many port mappings, volumes or parameters.
    #[error("the container lists more than {MAX_CONTAINER_ITEMS} {0}")]
    TooMany(&'static str),
    /// Port mappings need the bridge network.
    #[error("port mappings need the bridge network, not {0:?}")]
    PortsNeedBridge(NetworkMode),
    /// Port 0 in a mapping.
    #[error("port mapping {0}->{1} uses port 0")]
    ZeroPort(u16, u16),
    /// A mapping's host port is not among the task's offered ports.
    #[error("port mapping host port {0} is not in the task's ports resources")]
    PortNotInResources(u16),
    /// Two mappings publish the same host port and protocol.
    #[error("host port {0} is mapped twice")]
    DuplicateHostPort(u16),
    /// A volume's container path is not absolute.
    #[error("volume container path '{0}' is not absolute")]
    RelativeContainerPath(String),
    /// A host-path volume's source is not absolute.
    #[error("volume host path '{0}' is not absolute")]
    RelativeHostPath(String),
    /// A sandbox volume's source leaves the sandbox.
    #[error("sandbox volume path '{0}' must be relative and stay inside the sandbox")]
    EscapingSandboxPath(String),
    /// A path holds a ':' or a control character (it would break Docker's
    /// `SOURCE:TARGET:MODE` bind syntax).
    #[error("volume path '{0}' holds ':' or control characters")]
    BadVolumePath(String),
    /// An environment variable name is empty or holds '=' or NUL.
    #[error("environment variable name '{0}' is empty or holds '=' or NUL")]
    BadEnvName(String),
    /// A parameter outside [`ALLOWED_PARAMETERS`].
    #[error("docker parameter '{0}' is not allowed (allowed: {list})", list = ALLOWED_PARAMETERS.join(", "))]
    ParameterNotAllowed(String),
    /// An allowed parameter with a value that does not parse.
    #[error("docker parameter '{name}' has a bad value '{value}': {why}")]
    BadParameterValue {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong, in words.
        why: &'static str,
    },
}

impl ContainerInfo {
    /// The first problem that makes this container unusable for a task with
    /// `resources`, if any: an empty image, port mappings outside the
    /// bridge network or outside the task's `ports`, volume paths that are
    /// not absolute (or leave the sandbox), bad environment names, and
    /// parameters that are not allowed or do not parse.
    pub fn validate(&self, resources: &Resources) -> Result<(), ContainerError> {
        let image = self.image.trim();
        if image.is_empty() {
            return Err(ContainerError::EmptyImage);
        }
        if self
            .image
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ContainerError::BadImage(
                self.image.escape_default().to_string(),
            ));
        }
        for (what, n) in [
            ("port mappings", self.port_mappings.len()),
            ("volumes", self.volumes.len()),
            ("parameters", self.parameters.len()),
            ("environment variables", self.env.len()),
        ] {
            if n > MAX_CONTAINER_ITEMS {
                return Err(ContainerError::TooMany(what));
            }
        }
        self.check_ports(resources)?;
        self.volumes.iter().try_for_each(check_volume)?;
        if let Some((name, _)) = self.env.iter().find(|(k, _)| !env_name_ok(k)) {
            return Err(ContainerError::BadEnvName(
                name.escape_default().to_string(),
            ));
        }
        self.docker_parameters().map(|_| ())
    }

    /// The parameters, parsed; the first that is not allowed or does not
    /// parse is the error.
    pub fn docker_parameters(&self) -> Result<Vec<DockerParameter>, ContainerError> {
        self.parameters
            .iter()
            .map(|(name, value)| parse_parameter(name, value))
            .collect()
    }

    fn check_ports(&self, resources: &Resources) -> Result<(), ContainerError> {
        if self.port_mappings.is_empty() {
            return Ok(());
        }
        if self.network != NetworkMode::Bridge {
            return Err(ContainerError::PortsNeedBridge(self.network));
        }
        let offered = resources.ranges("ports");
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.port_mappings {
            if m.host_port == 0 || m.container_port == 0 {
                return Err(ContainerError::ZeroPort(m.host_port, m.container_port));
            }
            if !offered.contains_value(u64::from(m.host_port)) {
                return Err(ContainerError::PortNotInResources(m.host_port));
            }
            if !seen.insert((m.host_port, m.protocol.docker_name())) {
                return Err(ContainerError::DuplicateHostPort(m.host_port));
            }
        }
        Ok(())
    }
}

fn check_volume(v: &Volume) -> Result<(), ContainerError> {
    let bad_chars = |p: &str| p.contains(':') || p.chars().any(char::is_control) || p.is_empty();
    if bad_chars(&v.container_path) {
        return Err(ContainerError::BadVolumePath(
            v.container_path.escape_default().to_string(),
        ));
    }
    if !v.container_path.starts_with('/') {
        return Err(ContainerError::RelativeContainerPath(
            v.container_path.clone(),
        ));
    }
    match &v.source {
        VolumeSource::HostPath(p) if bad_chars(p) => Err(ContainerError::BadVolumePath(
            p.escape_default().to_string(),
        )),
        VolumeSource::HostPath(p) if !p.starts_with('/') => {
            Err(ContainerError::RelativeHostPath(p.clone()))
        }
        VolumeSource::Sandbox(p) if bad_chars(p) => Err(ContainerError::BadVolumePath(
            p.escape_default().to_string(),
        )),
        VolumeSource::Sandbox(p) if !stays_inside(p) => {
            Err(ContainerError::EscapingSandboxPath(p.clone()))
        }
        _ => Ok(()),
    }
}

/// Whether a relative path stays below its base: not absolute, no `..`.
fn stays_inside(path: &str) -> bool {
    !path.starts_with('/') && path.split('/').all(|part| part != "..")
}

fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0')
}

/// Parses one `docker run` option from the allow-list.
pub fn parse_parameter(name: &str, value: &str) -> Result<DockerParameter, ContainerError> {
    let bad = |why: &'static str| ContainerError::BadParameterValue {
        name: name.to_owned(),
        value: value.escape_default().to_string(),
        why,
    };
    if value.chars().any(char::is_control) {
        return Err(bad("it holds control characters"));
    }
    let text = || {
        if value.trim().is_empty() {
            Err(bad("it is empty"))
        } else {
            Ok(value.to_owned())
        }
    };
    let flag = || match value {
        "" | "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad("expected true or false")),
    };
    Ok(match name {
        "add-host" => DockerParameter::AddHost(text()?),
        "cap-add" => DockerParameter::CapAdd(text()?),
        "cap-drop" => DockerParameter::CapDrop(text()?),
        "dns" => DockerParameter::Dns(text()?),
        "hostname" => DockerParameter::Hostname(text()?),
        "init" => DockerParameter::Init(flag()?),
        "read-only" => DockerParameter::ReadOnly(flag()?),
        "user" => DockerParameter::User(text()?),
        "workdir" if value.starts_with('/') => DockerParameter::Workdir(value.to_owned()),
        "workdir" => return Err(bad("expected an absolute path")),
        "pids-limit" => {
            DockerParameter::PidsLimit(value.parse().map_err(|_| bad("expected an integer"))?)
        }
        "shm-size" => DockerParameter::ShmSizeBytes(
            parse_bytes(value).ok_or_else(|| bad("expected a size like 64m"))?,
        ),
        "label" => {
            let (k, v) = value.split_once('=').unwrap_or((value, ""));
            if k.is_empty() {
                return Err(bad("expected KEY=VALUE"));
            }
            if k.starts_with(RESERVED_LABEL_PREFIX) {
                return Err(bad("labels under 'corral.' are the agent's own"));
            }
            DockerParameter::Label(k.to_owned(), v.to_owned())
        }
        "tmpfs" => {
            let (path, options) = value.split_once(':').unwrap_or((value, ""));
            if !path.starts_with('/') {
                return Err(bad("expected an absolute path"));
            }
            DockerParameter::Tmpfs(path.to_owned(), options.to_owned())
        }
        _ => {
            return Err(ContainerError::ParameterNotAllowed(
                name.escape_default().to_string(),
            ))
        }
    })
}

/// `65536`, `64k`, `64m`, `1g` (optionally with a trailing `b`) in bytes.
fn parse_bytes(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = match lower.char_indices().last()? {
        (i, 'k') => (&lower[..i], 1i64 << 10),
        (i, 'm') => (&lower[..i], 1 << 20),
        (i, 'g') => (&lower[..i], 1 << 30),
        _ => (lower, 1),
    };
    let n: i64 = digits.parse().ok()?;
    (n > 0).then_some(n).and_then(|n| n.checked_mul(unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(text: &str) -> Resources {
        text.parse().unwrap()
    }

    fn bridge(mappings: &[(u16, u16)]) -> ContainerInfo {
        ContainerInfo {
            network: NetworkMode::Bridge,
            port_mappings: mappings
                .iter()
                .map(|&(host_port, container_port)| PortMapping {
                    host_port,
                    container_port,
                    protocol: PortProtocol::Tcp,
                })
                .collect(),
            ..ContainerInfo::docker("corral/busybox:test")
        }
    }

    #[test]
    fn port_mappings_must_use_offered_ports_on_the_bridge() {
        let r = res("cpus:1;mem:64;ports:[31000-31001]");
        assert_eq!(bridge(&[(31000, 8080), (31001, 53)]).validate(&r), Ok(()));
        assert_eq!(
            bridge(&[(31002, 8080)]).validate(&r),
            Err(ContainerError::PortNotInResources(31002))
        );
        assert_eq!(
            bridge(&[(31000, 8080)]).validate(&res("cpus:1;mem:64")),
            Err(ContainerError::PortNotInResources(31000))
        );
        assert_eq!(
            bridge(&[(31000, 80), (31000, 81)]).validate(&r),
            Err(ContainerError::DuplicateHostPort(31000))
        );
        assert_eq!(
            bridge(&[(31000, 0)]).validate(&r),
            Err(ContainerError::ZeroPort(31000, 0))
        );
        let host = ContainerInfo {
            network: NetworkMode::Host,
            ..bridge(&[(31000, 8080)])
        };
        assert_eq!(
            host.validate(&r),
            Err(ContainerError::PortsNeedBridge(NetworkMode::Host))
        );
    }

    #[test]
    fn parameters_outside_the_allow_list_are_refused() {
        let r = res("cpus:1;mem:64");
        let with = |name: &str, value: &str| ContainerInfo {
            parameters: vec![(name.to_owned(), value.to_owned())],
            ..ContainerInfo::docker("img")
        };
        for (name, value) in [
            ("hostname", "web"),
            ("label", "team=a"),
            ("init", ""),
            ("read-only", "false"),
            ("shm-size", "64m"),
            ("tmpfs", "/run:size=1m"),
            ("pids-limit", "100"),
        ] {
            assert_eq!(with(name, value).validate(&r), Ok(()), "{name}={value}");
        }
        let err = with("privileged", "true").validate(&r).unwrap_err();
        assert_eq!(
            err,
            ContainerError::ParameterNotAllowed("privileged".into())
        );
        assert!(err.to_string().contains("hostname"), "{err}");
        for (name, value) in [
            ("label", "corral.task_id=x"),
            ("init", "yes"),
            ("shm-size", "lots"),
            ("pids-limit", "many"),
            ("workdir", "relative"),
            ("hostname", ""),
        ] {
            assert!(
                matches!(
                    with(name, value).validate(&r),
                    Err(ContainerError::BadParameterValue { .. })
                ),
                "{name}={value}"
            );
        }
        assert_eq!(
            parse_parameter("shm-size", "1g"),
            Ok(DockerParameter::ShmSizeBytes(1 << 30))
        );
        assert_eq!(
            parse_parameter("label", "a=b=c"),
            Ok(DockerParameter::Label("a".into(), "b=c".into()))
        );
    }

    #[test]
    fn volumes_and_images_are_checked() {
        let r = res("cpus:1;mem:64");
        let with = |source: VolumeSource, container_path: &str| ContainerInfo {
            volumes: vec![Volume {
                source,
                container_path: container_path.to_owned(),
                read_only: true,
            }],
            ..ContainerInfo::docker("img")
        };
        assert_eq!(
            with(VolumeSource::HostPath("/etc".into()), "/e").validate(&r),
            Ok(())
        );
        assert_eq!(
            with(VolumeSource::Sandbox("data/x".into()), "/d").validate(&r),
            Ok(())
        );
        for (source, path) in [
            (VolumeSource::HostPath("etc".into()), "/e"),
            (VolumeSource::HostPath("/etc".into()), "e"),
            (VolumeSource::Sandbox("../x".into()), "/d"),
            (VolumeSource::Sandbox("/x".into()), "/d"),
            (VolumeSource::Sandbox("a:b".into()), "/d"),
            (VolumeSource::HostPath("/etc".into()), "/d:rw"),
        ] {
            assert!(
                with(source.clone(), path).validate(&r).is_err(),
                "{source:?} {path}"
            );
        }
        assert_eq!(
            ContainerInfo::docker(" ").validate(&r),
            Err(ContainerError::EmptyImage)
        );
        assert!(ContainerInfo::docker("a b").validate(&r).is_err());
        let env = ContainerInfo {
            env: vec![("A=B".into(), "c".into())],
            ..ContainerInfo::docker("img")
        };
        assert!(matches!(
            env.validate(&r),
            Err(ContainerError::BadEnvName(_))
        ));
    }
}
