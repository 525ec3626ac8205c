//! Apache Mesos's v1 messages as their JSON is written (`include/mesos/v1/`
//! of Mesos 1.x, protobuf's JSON mapping with the `.proto` field names):
//! the parts both the scheduler and the executor API carry. Fields Corral
//! has no use for are left out; serde skips them in input, as Mesos does
//! with fields it does not know.

use serde::{Deserialize, Serialize};

/// Any of Mesos's id messages (`FrameworkID`, `OfferID`, `AgentID`,
/// `TaskID`, `ExecutorID`): `{"value": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Id {
    /// The id.
    pub value: String,
}

impl Id {
    /// An id of `value`.
    pub fn of(value: &str) -> Id {
        Id {
            value: value.to_owned(),
        }
    }
}

/// `FrameworkInfo`: what a framework says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// The OS user its tasks run as (required, as in Mesos; may be empty).
    pub user: String,
    /// Display name (required).
    pub name: String,
    /// Set when re-subscribing after a failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Seconds the master keeps its tasks after it disconnects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout: Option<f64>,
    /// Whether agents checkpoint its tasks.
    #[serde(default)]
    pub checkpoint: bool,
    /// The role of a framework without the MULTI_ROLE capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The roles of a MULTI_ROLE framework.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Who it authenticates as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// What it understands (`PARTITION_AWARE`, `MULTI_ROLE`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

/// One `FrameworkInfo.Capability`. Its type is kept as text: an unknown
/// capability is no reason to refuse a framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    /// E.g. `PARTITION_AWARE`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `Resource`: one named amount (only unreserved resources exist here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// E.g. `cpus`.
    pub name: String,
    /// `SCALAR`, `RANGES` or `SET`.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// The amount of a scalar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    /// The ranges of a range resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    /// The items of a set resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Set>,
    /// The deprecated role field; `*` (unreserved) in what Corral writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The role the resources are allocated to (MULTI_ROLE frameworks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
    /// Reservations: refused, as Corral has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<serde_json::Value>,
}

/// `Value.Type` of a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValueType {
    /// A number.
    Scalar,
    /// Integer ranges.
    Ranges,
    /// A set of words.
    Set,
    /// Text (not a resource type; refused).
    Text,
}

/// `Value.Scalar`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    /// The amount.
    pub value: f64,
}

/// `Value.Ranges`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranges {
    /// The ranges, inclusive.
    #[serde(default)]
    pub range: Vec<Range>,
}

/// `Value.Range`, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// First value.
    pub begin: u64,
    /// Last value.
    pub end: u64,
}

/// `Value.Set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Set {
    /// The items.
    #[serde(default)]
    pub item: Vec<String>,
}

/// `Resource.AllocationInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationInfo {
    /// The role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// `Offer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The offer's id.
    pub id: Id,
    /// The framework it is for.
    pub framework_id: Id,
    /// The agent the resources are on.
    pub agent_id: Id,
    /// The agent's host name.
    pub hostname: String,
    /// What is offered. (An empty list is absent in protobuf.)
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// The role the offer is allocated to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
}

/// `Offer.Operation`: only LAUNCH exists here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// `LAUNCH`, or another Mesos operation (refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The tasks of a LAUNCH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
}

/// `Offer.Operation.Launch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// The tasks.
    #[serde(default)]
    pub task_infos: Vec<TaskInfo>,
}

/// `Filters`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// How long to keep the declined resources away (Mesos: 5 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_seconds: Option<f64>,
}

/// `TaskInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Display name.
    pub name: String,
    /// Unique within the framework.
    pub task_id: Id,
    /// The agent of the offers.
    pub agent_id: Id,
    /// What the task uses.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// The framework's own executor, instead of a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    /// The command (run by the command executor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// A container to run the command in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
}

/// `CommandInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// The shell command (shell) or the program (not shell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Run through `/bin/sh -c` (Mesos's default: true).
    #[serde(default = "yes")]
    pub shell: bool,
    /// argv of a command that is not a shell command (argv\[0\] first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Files to fetch into the sandbox first (refused: nothing fetches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<serde_json::Value>,
    /// A user other than the framework's (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

fn yes() -> bool {
    true
}

/// `Environment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// The variables.
    #[serde(default)]
    pub variables: Vec<Variable>,
}

/// `Environment.Variable` (plain values only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Name.
    pub name: String,
    /// `VALUE` (default) or `SECRET` (refused).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// `ExecutorInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    /// Unique within the framework on an agent.
    pub executor_id: Id,
    /// How to start it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// What the executor itself uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// `ContainerInfo`: Docker containers, or MESOS with no image (a plain
/// process).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// `DOCKER` or `MESOS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The Docker part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerInfo>,
    /// The Mesos containerizer's part: an image is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesos: Option<serde_json::Value>,
    /// Mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

/// `ContainerInfo.DockerInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DockerInfo {
    /// The image.
    pub image: String,
    /// `HOST` (default), `BRIDGE`, `NONE` (`USER` refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Published ports (bridge network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Privileged containers are refused.
    #[serde(default)]
    pub privileged: bool,
    /// Extra `docker run` options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// Pull before every launch.
    #[serde(default)]
    pub force_pull_image: bool,
}

/// `ContainerInfo.DockerInfo.PortMapping`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The agent's port.
    pub host_port: u32,
    /// The container's port.
    pub container_port: u32,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// `Parameter`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Option name.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// `Volume` (host paths).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Where it appears in the container.
    pub container_path: String,
    /// The host's directory (relative: inside the sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// `RW` or `RO`.
    pub mode: String,
}

/// `TaskStatus`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// The task.
    pub task_id: Id,
    /// E.g. `TASK_RUNNING`.
    pub state: String,
    /// Text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `SOURCE_MASTER`, `SOURCE_AGENT` or `SOURCE_EXECUTOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// E.g. `REASON_RECONCILIATION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Id>,
    /// The executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<Id>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// Base64 of the 16 bytes to acknowledge; absent when no
    /// acknowledgement is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

/// A call of the operator API as far as Corral reads it: its type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorCall {
    /// `GET_STATE`, `GET_HEALTH`, ...
    #[serde(rename = "type")]
    pub kind: String,
}
