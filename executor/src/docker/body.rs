//! A [`ContainerSpec`] as the Docker Engine API's create request: a pure
//! translation, tested without a daemon.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, PortMap};
use corral_api::container::{DockerParameter, NetworkMode};

use crate::container::{ContainerSpec, CPU_PERIOD_US};

/// The create request for `spec`: its command under `/bin/sh -c` (or the
/// image's default), environment, labels, limits (memory with no swap,
/// CPU shares and quota), network and published ports, binds and the
/// allowed extra options.
pub(crate) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut host = HostConfig {
        binds: Some(spec.binds.clone()),
        network_mode: Some(spec.network.docker_name().to_owned()),
        memory: Some(spec.memory_bytes),
        memory_swap: Some(spec.memory_bytes),
        cpu_shares: Some(spec.cpu_shares),
        cpu_period: spec.cpu_quota_us.map(|_| CPU_PERIOD_US),
        cpu_quota: spec.cpu_quota_us,
        ..HostConfig::default()
    };
    // Docker ignores published ports outside the bridge network (and the
    // master refuses such tasks): only the bridge gets them.
    let (exposed, bindings) = match spec.network {
        NetworkMode::Bridge => ports(spec),
        NetworkMode::Host | NetworkMode::None => (Vec::new(), HashMap::new()),
    };
    if !bindings.is_empty() {
        host.port_bindings = Some(bindings);
    }
    let (entrypoint, cmd) = match &spec.command {
        Some(c) => (
            Some(vec!["/bin/sh".to_owned(), "-c".to_owned()]),
            Some(vec![c.clone()]),
        ),
        None => (None, None),
    };
    let mut body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint,
        cmd,
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(spec.labels.iter().cloned().collect()),
        working_dir: Some(spec.working_dir.clone()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        tty: Some(false),
        ..ContainerCreateBody::default()
    };
    for p in &spec.parameters {
        apply(p, &mut body, &mut host);
    }
    body.host_config = Some(host);
    body
}

/// The exposed ports (`8080/tcp`) and their bindings to host ports.
fn ports(spec: &ContainerSpec) -> (Vec<String>, PortMap) {
    let mut exposed = Vec::new();
    let mut bindings: PortMap = HashMap::new();
    for m in &spec.port_mappings {
        let key = format!("{}/{}", m.container_port, m.protocol.docker_name());
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = PortBinding {
            host_ip: None,
            host_port: Some(m.host_port.to_string()),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    (exposed, bindings)
}

/// Applies one allowed `docker run` option.
fn apply(p: &DockerParameter, body: &mut ContainerCreateBody, host: &mut HostConfig) {
    fn push(list: &mut Option<Vec<String>>, item: &str) {
        list.get_or_insert_with(Vec::new).push(item.to_owned());
    }
    match p {
        DockerParameter::AddHost(h) => push(&mut host.extra_hosts, h),
        DockerParameter::CapAdd(c) => push(&mut host.cap_add, c),
        DockerParameter::CapDrop(c) => push(&mut host.cap_drop, c),
        DockerParameter::Dns(d) => push(&mut host.dns, d),
        DockerParameter::Hostname(h) => body.hostname = Some(h.clone()),
        DockerParameter::Init(on) => host.init = Some(*on),
        DockerParameter::Label(k, v) => {
            body.labels
                .get_or_insert_with(HashMap::new)
                .insert(k.clone(), v.clone());
        }
        DockerParameter::PidsLimit(n) => host.pids_limit = Some(*n),
        DockerParameter::ReadOnly(on) => host.readonly_rootfs = Some(*on),
        DockerParameter::ShmSizeBytes(n) => host.shm_size = Some(*n),
        DockerParameter::Tmpfs(path, options) => {
            host.tmpfs
                .get_or_insert_with(HashMap::new)
                .insert(path.clone(), options.clone());
        }
        DockerParameter::User(u) => body.user = Some(u.clone()),
        DockerParameter::Workdir(w) => body.working_dir = Some(w.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use corral_api::container::{PortMapping, PortProtocol};

    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "corral-t-1".into(),
            image: "corral/busybox:test".into(),
            force_pull: false,
            command: Some("echo hi".into()),
            env: vec![("A".into(), "1".into())],
            labels: vec![("corral.task_id".into(), "t".into())],
            cpu_shares: 512,
            cpu_quota_us: Some(50_000),
            memory_bytes: 64 << 20,
            network: NetworkMode::Bridge,
            port_mappings: vec![
                PortMapping {
                    host_port: 31000,
                    container_port: 8080,
                    protocol: PortProtocol::Tcp,
                },
                PortMapping {
                    host_port: 31001,
                    container_port: 8080,
                    protocol: PortProtocol::Tcp,
                },
            ],
            binds: vec!["/sb:/mnt/mesos/sandbox:rw".into()],
            make_dirs: vec![],
            owner: None,
            parameters: vec![
                DockerParameter::Label("team".into(), "a".into()),
                DockerParameter::Init(true),
                DockerParameter::Workdir("/srv".into()),
            ],
            working_dir: "/mnt/mesos/sandbox".into(),
            stdout: PathBuf::from("/sb/stdout"),
            stderr: PathBuf::from("/sb/stderr"),
        }
    }

    #[test]
    fn limits_ports_command_and_parameters_reach_the_request() {
        let body = create_body(&spec());
        assert_eq!(body.image.as_deref(), Some("corral/busybox:test"));
        assert_eq!(
            body.entrypoint,
            Some(vec!["/bin/sh".to_owned(), "-c".to_owned()])
        );
        assert_eq!(body.cmd, Some(vec!["echo hi".to_owned()]));
        assert_eq!(body.env, Some(vec!["A=1".to_owned()]));
        assert_eq!(body.exposed_ports, Some(vec!["8080/tcp".to_owned()]));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        let labels = body.labels.clone().unwrap();
        assert_eq!(labels.get("team").map(String::as_str), Some("a"));
        assert_eq!(labels.get("corral.task_id").map(String::as_str), Some("t"));
        let host = body.host_config.unwrap();
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(host.memory_swap, Some(64 << 20));
        assert_eq!(host.cpu_shares, Some(512));
        assert_eq!(
            (host.cpu_period, host.cpu_quota),
            (Some(100_000), Some(50_000))
        );
        assert_eq!(host.network_mode.as_deref(), Some("bridge"));
        assert_eq!(host.init, Some(true));
        let bound = host.port_bindings.unwrap();
        let ports: Vec<String> = bound["8080/tcp"]
            .iter()
            .flatten()
            .filter_map(|b| b.host_port.clone())
            .collect();
        assert_eq!(ports, ["31000", "31001"]);
    }

    #[test]
    fn no_command_keeps_the_image_default_and_host_network_publishes_nothing() {
        let mut s = spec();
        s.command = None;
        s.network = NetworkMode::Host;
        s.cpu_quota_us = None;
        let body = create_body(&s);
        assert_eq!((body.entrypoint, body.cmd), (None, None));
        let host = body.host_config.unwrap();
        assert_eq!(host.port_bindings, None);
        assert_eq!((host.cpu_period, host.cpu_quota), (None, None));
        assert_eq!(host.network_mode.as_deref(), Some("host"));
    }
}
