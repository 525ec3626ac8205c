//! The v1 executor API's `Call` and `Event` as their JSON is written
//! (`include/mesos/v1/executor/executor.proto`).

use serde::{Deserialize, Serialize};

use super::shapes::{Id, TaskInfo, TaskStatus};

/// A call an executor posts to its agent's `/api/v1/executor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The caller.
    pub executor_id: Id,
    /// Its framework.
    pub framework_id: Id,
    /// Which call.
    #[serde(rename = "type")]
    pub kind: CallType,
    /// SUBSCRIBE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    /// UPDATE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    /// MESSAGE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// `Call.Message` and `Event.Message`: bytes between the executor and its
/// framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Base64 of the bytes.
    pub data: String,
}

/// `Call.Subscribe`: what an executor that subscribes again (after its
/// agent restarted, or its connection broke) still holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    /// Tasks it was given and has not had an update acknowledged for.
    #[serde(default)]
    pub unacknowledged_tasks: Vec<TaskRef>,
    /// Updates it sent that were not acknowledged.
    #[serde(default)]
    pub unacknowledged_updates: Vec<Update>,
}

/// A `TaskInfo` as far as the agent reads one an executor sends back: its
/// id (the rest it already has).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRef {
    /// The task.
    pub task_id: Id,
}

/// `Call.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum CallType {
    Unknown,
    Subscribe,
    Update,
    Message,
    Heartbeat,
}

/// `Call.Update`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The task's new status, with the uuid the agent acknowledges.
    pub status: TaskStatus,
}

/// An event on an executor's subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Which event.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// SUBSCRIBED's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    /// LAUNCH's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Launch>,
    /// KILL's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    /// ACKNOWLEDGED's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    /// MESSAGE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// `Event.Type` (those Corral sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EventType {
    Subscribed,
    Launch,
    Kill,
    Acknowledged,
    Message,
    Shutdown,
    Heartbeat,
}

impl Event {
    /// An event of `kind` with nothing in it (SHUTDOWN, HEARTBEAT), for
    /// the others to fill in.
    pub fn bare(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            launch: None,
            kill: None,
            acknowledged: None,
            message: None,
        }
    }
}

/// `Event.Subscribed`: who the executor is, for whom, where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    /// `ExecutorInfo`: its id, framework and command.
    pub executor_info: serde_json::Value,
    /// `FrameworkInfo`: at least its id.
    pub framework_info: serde_json::Value,
    /// `AgentInfo`: the agent's id and host name.
    pub agent_info: serde_json::Value,
}

/// `Event.Launch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// The task to run.
    pub task: TaskInfo,
}

/// `Event.Kill`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    /// The task to kill.
    pub task_id: Id,
}

/// `Event.Acknowledged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    /// The task.
    pub task_id: Id,
    /// Base64 of the acknowledged update's uuid.
    pub uuid: String,
}
