//! Between Mesos's v1 shapes and Corral's own protocol types. What comes in
//! is checked here: anything Corral cannot do as asked (reservations, URIs
//! to fetch, a MESOS image, secrets) is an error naming the field, never
//! silently dropped.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use corral_api::container::{self, NetworkMode, PortProtocol, VolumeSource};
use corral_api::framework;
use corral_api::ids::{AgentId, TaskId};
use corral_api::resources::{RangeSet, Resources, StringSet};
use corral_api::task::{self, task_state_name, StatusReason, StatusSource, TaskState};

use super::shapes::{
    AllocationInfo, CommandInfo, ContainerInfo, Environment, ExecutorInfo, FrameworkInfo, Id,
    Offer, Range, Ranges, Resource, Scalar, Set, TaskInfo, TaskStatus, ValueType, Variable,
};

/// Mesos's capability that makes a framework partition-aware.
const PARTITION_AWARE: &str = "PARTITION_AWARE";

/// Corral's framework description from a SUBSCRIBE's `framework_info`.
pub fn framework_info(info: &FrameworkInfo) -> Result<framework::FrameworkInfo, String> {
    let roles = match (&info.role, info.roles.as_slice()) {
        (_, [_, ..]) => info.roles.clone(),
        (Some(role), []) => vec![role.clone()],
        (None, []) => Vec::new(),
    };
    let failover_timeout = match info.failover_timeout {
        None => Duration::ZERO,
        Some(secs) => Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("framework_info.failover_timeout {secs} is not a duration"))?,
    };
    Ok(framework::FrameworkInfo {
        name: info.name.clone(),
        user: info.user.clone(),
        roles,
        failover_timeout,
        checkpoint: info.checkpoint,
        principal: info.principal.clone(),
        partition_aware: info.capabilities.iter().any(|c| c.kind == PARTITION_AWARE),
        id: info.id.as_ref().map(|id| id.value.as_str().into()),
    })
}

/// Mesos's resource list for `r`, unreserved, and allocated to `role`
/// if given (an agent's totals are allocated to no one).
pub fn resources_out(r: &Resources, role: Option<&str>) -> Vec<Resource> {
    let resource = |name: &str, kind| Resource {
        name: name.to_owned(),
        kind,
        scalar: None,
        ranges: None,
        set: None,
        role: Some("*".to_owned()),
        allocation_info: role.map(|role| AllocationInfo {
            role: Some(role.to_owned()),
        }),
        reservations: Vec::new(),
    };
    let mut out = Vec::new();
    for name in r.scalar_names() {
        out.push(Resource {
            scalar: Some(Scalar { value: r.get(name) }),
            ..resource(name, ValueType::Scalar)
        });
    }
    for name in r.range_names() {
        let range = r
            .ranges(name)
            .iter()
            .map(|x| Range {
                begin: *x.start(),
                end: *x.end(),
            })
            .collect();
        out.push(Resource {
            ranges: Some(Ranges { range }),
            ..resource(name, ValueType::Ranges)
        });
    }
    for name in r.set_names() {
        let item = r.set(name).iter().map(str::to_owned).collect();
        out.push(Resource {
            set: Some(Set { item }),
            ..resource(name, ValueType::Set)
        });
    }
    out
}

/// Corral's resources from a Mesos list (`what` names it in errors).
/// Entries of one name add up, as in Mesos.
pub fn resources_in(list: &[Resource], what: &str) -> Result<Resources, String> {
    let mut r = Resources::empty();
    for res in list {
        let name = &res.name;
        let bad = |why: String| format!("{what}: resource {name:?}: {why}");
        if !res.reservations.is_empty() || res.role.as_deref().is_some_and(|role| role != "*") {
            return Err(bad("reserved resources do not exist in Corral".into()));
        }
        r = match res.kind {
            ValueType::Scalar => {
                let value = res
                    .scalar
                    .ok_or_else(|| bad("a SCALAR needs `scalar`".into()))?;
                r.with_scalar(name, value.value)
            }
            ValueType::Ranges => {
                let ranges = res
                    .ranges
                    .as_ref()
                    .ok_or_else(|| bad("RANGES needs `ranges`".into()))?;
                let pairs = ranges.range.iter().map(|x| (x.begin, x.end));
                let set = RangeSet::from_pairs(pairs)
                    .ok_or_else(|| bad("a range's begin is after its end".into()))?;
                r.with_ranges(name, set)
            }
            ValueType::Set => {
                let set = res
                    .set
                    .as_ref()
                    .ok_or_else(|| bad("a SET needs `set`".into()))?;
                let mut items = StringSet::new();
                for item in &set.item {
                    items.insert(item.clone());
                }
                r.with_set(name, items)
            }
            ValueType::Text => return Err(bad("TEXT is not a resource type".into())),
        }
        .map_err(|e| bad(e.to_string()))?;
    }
    Ok(r)
}

/// An offer as Mesos writes it.
pub fn offer(o: &framework::Offer, framework_id: &str, role: &str) -> Offer {
    Offer {
        id: Id::of(&o.id.0),
        framework_id: Id::of(framework_id),
        agent_id: Id::of(&o.agent_id.0),
        hostname: o.hostname.clone(),
        resources: resources_out(&o.resources, Some(role)),
        allocation_info: Some(AllocationInfo {
            role: Some(role.to_owned()),
        }),
    }
}

/// A task to launch, from Mesos's `TaskInfo`, with the agent it names.
pub fn task_info(t: &TaskInfo) -> Result<(task::TaskInfo, AgentId), String> {
    let what = format!("task {:?}", t.task_id.value);
    let resources = resources_in(&t.resources, &what)?;
    let executor = match &t.executor {
        None => None,
        Some(e) => {
            let (command, env) = match &e.command {
                Some(c) => command(c, &format!("{what}: executor.command"))?,
                None => return Err(format!("{what}: executor.command is missing")),
            };
            Some(task::ExecutorInfo {
                executor_id: e.executor_id.value.clone(),
                command,
                env,
            })
        }
    };
    let (command, env) = match (&t.command, &executor) {
        (Some(c), None) => command(c, &format!("{what}: command"))?,
        (None, Some(_)) => (String::new(), Vec::new()),
        (Some(_), Some(_)) => {
            return Err(format!("{what}: give `command` or `executor`, not both"))
        }
        (None, None) => return Err(format!("{what}: needs `command` or `executor`")),
    };
    let container = match &t.container {
        None => None,
        Some(c) => container(c, &what)?,
    };
    let info = task::TaskInfo {
        task_id: TaskId(t.task_id.value.clone()),
        name: t.name.clone(),
        command,
        env,
        resources,
        container,
        executor,
    };
    Ok((info, AgentId(t.agent_id.value.clone())))
}

/// A shell command and its environment from a `CommandInfo`.
fn command(c: &CommandInfo, what: &str) -> Result<(String, Vec<(String, String)>), String> {
    if !c.uris.is_empty() {
        return Err(format!(
            "{what}.uris: Corral does not fetch URIs into sandboxes"
        ));
    }
    if c.user.is_some() {
        return Err(format!("{what}.user: tasks run as their framework's user"));
    }
    let value = c.value.clone().unwrap_or_default();
    let line = if c.shell {
        value
    } else {
        // argv[0] is the program's own name, as exec sees it; the shell
        // gives it the program's path, which is what Mesos's executor
        // does when `arguments` is empty.
        let args = c.arguments.iter().skip(1).map(|a| quoted(a));
        std::iter::once(quoted(&value))
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut env = Vec::new();
    for v in c.environment.iter().flat_map(|e| &e.variables) {
        if v.kind.as_deref().is_some_and(|k| k != "VALUE") {
            return Err(format!(
                "{what}.environment: variable {:?}: only VALUE variables",
                v.name
            ));
        }
        env.push((v.name.clone(), v.value.clone()));
    }
    Ok((line, env))
}

/// `s` as one word for `/bin/sh`.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Corral's container from Mesos's (`None`: a MESOS container without an
/// image, which is a plain process).
fn container(c: &ContainerInfo, what: &str) -> Result<Option<container::ContainerInfo>, String> {
    match c.kind.as_str() {
        "MESOS" => {
            if c.mesos.as_ref().is_some_and(|m| m.get("image").is_some()) {
                return Err(format!(
                    "{what}: MESOS images are not supported; use DOCKER"
                ));
            }
            Ok(None)
        }
        "DOCKER" => {
            let d = c
                .docker
                .as_ref()
                .ok_or_else(|| format!("{what}: a DOCKER container needs `docker`"))?;
            if d.privileged {
                return Err(format!("{what}: privileged containers are refused"));
            }
            let network = match d.network.as_deref().unwrap_or("HOST") {
                "HOST" => NetworkMode::Host,
                "BRIDGE" => NetworkMode::Bridge,
                "NONE" => NetworkMode::None,
                other => return Err(format!("{what}: docker network {other} is not supported")),
            };
            let mut port_mappings = Vec::new();
            for p in &d.port_mappings {
                let port = |n: u32| {
                    u16::try_from(n).map_err(|_| format!("{what}: port {n} is not a port"))
                };
                let protocol = match p.protocol.as_deref().unwrap_or("tcp") {
                    "tcp" => PortProtocol::Tcp,
                    "udp" => PortProtocol::Udp,
                    other => return Err(format!("{what}: port protocol {other}")),
                };
                port_mappings.push(container::PortMapping {
                    host_port: port(p.host_port)?,
                    container_port: port(p.container_port)?,
                    protocol,
                });
            }
            let mut volumes = Vec::new();
            for v in &c.volumes {
                let host = v
                    .host_path
                    .clone()
                    .ok_or_else(|| format!("{what}: only host_path volumes are supported"))?;
                let source = if host.starts_with('/') {
                    VolumeSource::HostPath(host)
                } else {
                    VolumeSource::Sandbox(host)
                };
                volumes.push(container::Volume {
                    source,
                    container_path: v.container_path.clone(),
                    read_only: v.mode == "RO",
                });
            }
            Ok(Some(container::ContainerInfo {
                image: d.image.clone(),
                network,
                port_mappings,
                volumes,
                env: Vec::new(),
                parameters: d
                    .parameters
                    .iter()
                    .map(|p| (p.key.clone(), p.value.clone()))
                    .collect(),
                force_pull_image: d.force_pull_image,
            }))
        }
        other => Err(format!("{what}: container type {other} is not supported")),
    }
}

/// A status as Mesos writes it.
pub fn status(s: &task::TaskStatus) -> TaskStatus {
    let source = match s.source {
        StatusSource::Master => "SOURCE_MASTER",
        StatusSource::Agent => "SOURCE_AGENT",
        StatusSource::Executor => "SOURCE_EXECUTOR",
    };
    TaskStatus {
        task_id: Id::of(&s.task_id.0),
        state: task_state_name(s.state).to_owned(),
        message: (!s.message.is_empty()).then(|| s.message.clone()),
        source: Some(source.to_owned()),
        reason: s.reason.and_then(|r| reason(r, s.state)).map(str::to_owned),
        agent_id: s.agent_id.as_ref().map(|a| Id::of(&a.0)),
        executor_id: None,
        timestamp: Some(s.timestamp_ms as f64 / 1000.0),
        uuid: s.uuid.map(|u| STANDARD.encode(u)),
    }
}

/// Mesos's name of a reason (none where Mesos gives none).
fn reason(r: StatusReason, state: TaskState) -> Option<&'static str> {
    Some(match r {
        StatusReason::CommandExited if state == TaskState::Failed => {
            "REASON_COMMAND_EXECUTOR_FAILED"
        }
        StatusReason::CommandExited | StatusReason::KilledByFramework => return None,
        StatusReason::InvalidTask | StatusReason::ResourcesNotOffered => "REASON_TASK_INVALID",
        StatusReason::InvalidOffers => "REASON_INVALID_OFFERS",
        StatusReason::AgentUnreachable | StatusReason::AgentRemoved => "REASON_AGENT_REMOVED",
        StatusReason::AgentReregistered => "REASON_AGENT_REREGISTERED",
        StatusReason::ExecutorTerminated => "REASON_EXECUTOR_TERMINATED",
        StatusReason::Reconciliation => "REASON_RECONCILIATION",
        StatusReason::ContainerLaunchFailed => "REASON_CONTAINER_LAUNCH_FAILED",
        StatusReason::ContainerMemoryLimit => "REASON_CONTAINER_LIMITATION_MEMORY",
        StatusReason::TaskUnauthorized => "REASON_TASK_UNAUTHORIZED",
    })
}

/// A task as its executor is given it (LAUNCH), Mesos's `TaskInfo`.
pub fn task_info_out(t: &task::TaskInfo, agent_id: &str) -> TaskInfo {
    let command = |line: &str, env: &[(String, String)]| CommandInfo {
        value: Some(line.to_owned()),
        shell: true,
        arguments: Vec::new(),
        environment: (!env.is_empty()).then(|| Environment {
            variables: env
                .iter()
                .map(|(name, value)| Variable {
                    name: name.clone(),
                    kind: None,
                    value: value.clone(),
                })
                .collect(),
        }),
        uris: Vec::new(),
        user: None,
    };
    TaskInfo {
        name: t.name.clone(),
        task_id: Id::of(&t.task_id.0),
        agent_id: Id::of(agent_id),
        resources: resources_out(&t.resources, None),
        executor: t.executor.as_ref().map(|e| ExecutorInfo {
            executor_id: Id::of(&e.executor_id),
            command: Some(command(&e.command, &e.env)),
            resources: Vec::new(),
        }),
        command: (!t.command.is_empty() || !t.env.is_empty()).then(|| command(&t.command, &t.env)),
        container: None,
    }
}

/// A status an executor sends (UPDATE), in Corral's words: the state by
/// its Mesos name, the uuid it must carry, the agent and framework it
/// runs for.
pub fn status_in(
    s: &TaskStatus,
    framework_id: &str,
    agent_id: &str,
) -> Result<task::TaskStatus, String> {
    let state = task::TASK_STATES
        .into_iter()
        .find(|st| task_state_name(*st) == s.state)
        .ok_or_else(|| format!("status.state {:?} is not a task state", s.state))?;
    let uuid = s
        .uuid
        .as_deref()
        .ok_or("status.uuid is missing: an executor's update is acknowledged by it")
        .and_then(|u| uuid(u).map_err(|_| "status.uuid is not 16 bytes of base64"))?;
    let timestamp_ms = s
        .timestamp
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map_or(0, |t| (t * 1000.0) as u64);
    Ok(task::TaskStatus {
        task_id: TaskId(s.task_id.value.clone()),
        framework_id: framework_id.into(),
        agent_id: Some(AgentId(agent_id.to_owned())),
        state,
        source: StatusSource::Executor,
        reason: None,
        message: s.message.clone().unwrap_or_default(),
        timestamp_ms,
        uuid: Some(uuid),
    })
}

/// The 16 bytes of an acknowledged update's uuid, from its base64.
pub fn uuid(text: &str) -> Result<[u8; 16], String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("acknowledge.uuid is not base64: {e}"))?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map_err(|_| format!("acknowledge.uuid has {} bytes, not 16", bytes.len()))
}

/// A framework message's bytes as its `data`: base64.
pub fn message_data_out(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a framework message's base64 `data`, at most
/// [`MAX_MESSAGE_DATA_BYTES`](corral_api::framework::MAX_MESSAGE_DATA_BYTES).
pub fn message_data(text: &str) -> Result<Vec<u8>, String> {
    let max = corral_api::framework::MAX_MESSAGE_DATA_BYTES;
    // Checked before decoding: base64 is 4 characters per 3 bytes.
    if text.len() / 4 * 3 > max + 2 {
        return Err(format!("message.data is over the limit of {max} bytes"));
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("message.data is not base64: {e}"))?;
    if bytes.len() > max {
        return Err(format!(
            "message.data has {} bytes, over the limit of {max}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("shape")
    }

    #[test]
    fn resources_go_out_and_come_back() {
        let r: Resources = "cpus:1.5;mem:64;ports:[31000-31002,31010-31010];disks:{a,b}"
            .parse()
            .expect("resources");
        let out = resources_out(&r, Some("web"));
        let text = serde_json::to_value(&out).expect("json");
        assert_eq!(text[0]["name"], "cpus");
        assert_eq!(text[0]["type"], "SCALAR");
        assert_eq!(text[0]["scalar"]["value"], 1.5);
        assert_eq!(text[0]["allocation_info"]["role"], "web");
        let ports = text
            .as_array()
            .expect("list")
            .iter()
            .find(|x| x["name"] == "ports");
        assert_eq!(
            ports.expect("ports")["ranges"]["range"],
            json!([{"begin": 31000, "end": 31002}, {"begin": 31010, "end": 31010}])
        );
        assert_eq!(resources_in(&out, "offer"), Ok(r));
    }

    #[test]
    fn entries_of_one_name_add_up_and_bad_ones_are_named() {
        let list: Vec<Resource> = parse(json!([
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.25}, "extra": 1},
        ]));
        assert_eq!(resources_in(&list, "t").map(|r| r.cpus()), Ok(0.75));
        for (bad, says) in [
            (
                json!([{"name": "cpus", "type": "SCALAR"}]),
                "needs `scalar`",
            ),
            (
                json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}}]),
                "cpus",
            ),
            (
                json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "db"}]),
                "reserved",
            ),
            (
                json!([{"name": "p", "type": "RANGES", "ranges": {"range": [{"begin": 5, "end": 1}]}}]),
                "begin is after",
            ),
            (json!([{"name": "x", "type": "TEXT"}]), "TEXT"),
        ] {
            let list: Vec<Resource> = parse(bad);
            let err = resources_in(&list, "task t").expect_err("refused");
            assert!(err.contains(says) && err.starts_with("task t"), "{err}");
        }
    }

    #[test]
    fn tasks_come_in_with_their_command_container_and_agent() {
        let t: TaskInfo = parse(json!({
            "name": "web", "task_id": {"value": "t1"}, "agent_id": {"value": "a1"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
            "command": {"value": "echo hi", "environment": {"variables": [{"name": "A", "value": "1"}]}},
            "container": {"type": "DOCKER", "docker": {"image": "busybox", "network": "BRIDGE",
                "port_mappings": [{"host_port": 31000, "container_port": 80}]},
                "volumes": [{"container_path": "/data", "host_path": "data", "mode": "RO"}]},
            "labels": {"labels": []}
        }));
        let (info, agent) = task_info(&t).expect("task");
        assert_eq!(agent, AgentId("a1".into()));
        assert_eq!(info.command, "echo hi");
        assert_eq!(info.env, vec![("A".to_owned(), "1".to_owned())]);
        let c = info.container.expect("container");
        assert_eq!(
            (c.image.as_str(), c.network),
            ("busybox", NetworkMode::Bridge)
        );
        assert_eq!(c.port_mappings[0].host_port, 31000);
        assert_eq!(c.volumes[0].source, VolumeSource::Sandbox("data".into()));
        assert!(c.volumes[0].read_only);
    }

    #[test]
    fn a_command_that_is_not_shell_is_quoted_word_by_word() {
        let c: CommandInfo = parse(json!({
            "shell": false, "value": "/bin/echo", "arguments": ["echo", "it's", "a b"]
        }));
        let (line, _) = command(&c, "t").expect("command");
        assert_eq!(line, r"'/bin/echo' 'it'\''s' 'a b'");
    }

    #[test]
    fn what_corral_cannot_do_is_refused_by_name() {
        let base = json!({"name": "x", "task_id": {"value": "t"}, "agent_id": {"value": "a"}});
        for (extra, says) in [
            (
                json!({"command": {"value": "x", "uris": [{"value": "http://x"}]}}),
                "uris",
            ),
            (json!({"command": {"value": "x", "user": "bob"}}), "user"),
            (json!({}), "needs `command` or `executor`"),
            (
                json!({"command": {"value": "x"}, "container": {"type": "MESOS", "mesos": {"image": {}}}}),
                "MESOS images",
            ),
            (
                json!({"command": {"value": "x"}, "container": {"type": "DOCKER", "docker": {"image": "i", "privileged": true}}}),
                "privileged",
            ),
            (
                json!({"command": {"value": "x", "environment": {"variables": [{"name": "S", "type": "SECRET"}]}}}),
                "only VALUE",
            ),
        ] {
            let mut t = base.clone();
            for (k, v) in extra.as_object().expect("object") {
                t[k] = v.clone();
            }
            let err = task_info(&parse(t)).expect_err("refused");
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn statuses_go_out_in_mesos_words() {
        let s = task::TaskStatus {
            task_id: TaskId("t".into()),
            framework_id: "f".into(),
            agent_id: Some(AgentId("a".into())),
            state: TaskState::Failed,
            source: StatusSource::Executor,
            reason: Some(StatusReason::CommandExited),
            message: "exited with status 3".into(),
            timestamp_ms: 1_500,
            uuid: Some([7; 16]),
        };
        let v = serde_json::to_value(status(&s)).expect("json");
        assert_eq!(v["state"], "TASK_FAILED");
        assert_eq!(v["source"], "SOURCE_EXECUTOR");
        assert_eq!(v["reason"], "REASON_COMMAND_EXECUTOR_FAILED");
        assert_eq!(v["timestamp"], 1.5);
        let text = v["uuid"].as_str().expect("uuid");
        assert_eq!(uuid(text), Ok([7; 16]));
        assert!(uuid("AAAA").expect_err("short").contains("3 bytes"));
        let quiet = task::TaskStatus {
            uuid: None,
            message: String::new(),
            ..s
        };
        let v = serde_json::to_value(status(&quiet)).expect("json");
        assert!(v.get("uuid").is_none() && v.get("message").is_none(), "{v}");
    }

    #[test]
    fn executors_get_tasks_and_send_statuses_in_mesos_words() {
        let mut t = task::TaskInfo::command(
            TaskId("t".into()),
            "echo hi",
            "cpus:0.5".parse().expect("r"),
        );
        t.env = vec![("A".into(), "1".into())];
        t.executor = Some(task::ExecutorInfo {
            executor_id: "e".into(),
            command: "run-executor".into(),
            env: Vec::new(),
        });
        let out = serde_json::to_value(task_info_out(&t, "a1")).expect("json");
        assert_eq!(out["task_id"]["value"], "t");
        assert_eq!(out["agent_id"]["value"], "a1");
        assert_eq!(out["executor"]["executor_id"]["value"], "e");
        assert_eq!(out["executor"]["command"]["value"], "run-executor");
        assert_eq!(out["command"]["environment"]["variables"][0]["name"], "A");
        assert_eq!(out["resources"][0]["scalar"]["value"], 0.5);
        let update: TaskStatus = parse(json!({"task_id": {"value": "t"}, "state": "TASK_RUNNING",
            "uuid": STANDARD.encode([3u8; 16]), "timestamp": 2.5, "source": "SOURCE_EXECUTOR"}));
        let s = status_in(&update, "f", "a1").expect("status");
        assert_eq!(
            (s.state, s.uuid, s.timestamp_ms),
            (TaskState::Running, Some([3; 16]), 2_500)
        );
        assert_eq!(s.agent_id, Some(AgentId("a1".into())));
        let bad_state = TaskStatus {
            state: "TASK_DANCING".into(),
            ..update.clone()
        };
        assert!(status_in(&bad_state, "f", "a")
            .expect_err("refused")
            .contains("TASK_DANCING"));
        let no_uuid = TaskStatus {
            uuid: None,
            ..update
        };
        assert!(status_in(&no_uuid, "f", "a")
            .expect_err("refused")
            .contains("uuid"));
    }

    #[test]
    fn framework_info_keeps_role_failover_and_capabilities() {
        let info: FrameworkInfo = parse(json!({
            "user": "", "name": "f", "role": "web", "failover_timeout": 60.5,
            "capabilities": [{"type": "PARTITION_AWARE"}, {"type": "SOMETHING_NEW"}],
            "id": {"value": "fw-1"}, "webui_url": "http://x"
        }));
        let f = framework_info(&info).expect("info");
        assert_eq!(f.roles, vec!["web".to_owned()]);
        assert_eq!(f.failover_timeout, Duration::from_millis(60_500));
        assert!(f.partition_aware);
        assert_eq!(f.id, Some("fw-1".into()));
        let bad = FrameworkInfo {
            failover_timeout: Some(-1.0),
            ..info
        };
        assert!(framework_info(&bad).is_err());
    }
}
