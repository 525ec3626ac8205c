//! The v1 scheduler API's `Call` and `Event` as their JSON is written
//! (`include/mesos/v1/scheduler/scheduler.proto`).

use serde::{Deserialize, Serialize};

use super::shapes::{Filters, FrameworkInfo, Id, Offer, Operation, TaskStatus};

/// A call a framework posts to `/api/v1/scheduler`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The caller; every call but SUBSCRIBE names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<Id>,
    /// Which call.
    #[serde(rename = "type")]
    pub kind: CallType,
    /// SUBSCRIBE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    /// ACCEPT's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<Accept>,
    /// DECLINE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<Decline>,
    /// KILL's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    /// ACKNOWLEDGE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<Acknowledge>,
    /// RECONCILE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<Reconcile>,
    /// REVIVE's (roles; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revive: Option<Roles>,
    /// SUPPRESS's (roles; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress: Option<Roles>,
    /// MESSAGE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// `Call.Type`. Serde refuses a type Mesos does not have, naming the ones
/// it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum CallType {
    Unknown,
    Subscribe,
    Teardown,
    Accept,
    Decline,
    AcceptInverseOffers,
    DeclineInverseOffers,
    Revive,
    Kill,
    Shutdown,
    Acknowledge,
    AcknowledgeOperationStatus,
    Reconcile,
    ReconcileOperations,
    Message,
    Request,
    Suppress,
    UpdateFramework,
}

/// `Call.Subscribe`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The framework.
    pub framework_info: FrameworkInfo,
    /// Roles to subscribe suppressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

/// `Call.Accept`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    /// The offers used.
    #[serde(default)]
    pub offer_ids: Vec<Id>,
    /// What to do with them.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// For what is left unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// `Call.Decline`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    /// The offers.
    #[serde(default)]
    pub offer_ids: Vec<Id>,
    /// How long to keep them away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// `Call.Kill`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    /// The task.
    pub task_id: Id,
    /// Its agent, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Id>,
}

/// `Call.Acknowledge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledge {
    /// The agent that sent the update.
    pub agent_id: Id,
    /// The task.
    pub task_id: Id,
    /// Base64 of the update's 16-byte uuid.
    pub uuid: String,
}

/// `Call.Reconcile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    /// The tasks; none for all of the framework's.
    #[serde(default)]
    pub tasks: Vec<ReconcileTask>,
}

/// `Call.Reconcile.Task`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconcileTask {
    /// The task.
    pub task_id: Id,
    /// Its agent, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Id>,
}

/// `Call.Revive` and `Call.Suppress`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    /// The roles; none for all.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `Call.Message` and `Event.Message`: bytes between a framework and one
/// of its executors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The agent the executor runs on.
    pub agent_id: Id,
    /// The executor.
    pub executor_id: Id,
    /// Base64 of the bytes.
    pub data: String,
}

/// `Event.Failure`: an executor of the framework ended (with its
/// `executor_id` and wait `status`), or an agent was lost (`agent_id`
/// alone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Id>,
    /// The executor that ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<Id>,
    /// Its Unix wait status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
}

/// An event on a subscription's stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Which event.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// SUBSCRIBED's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed: Option<Subscribed>,
    /// OFFERS'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<Offers>,
    /// RESCIND's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescind: Option<Rescind>,
    /// UPDATE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    /// MESSAGE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// FAILURE's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// ERROR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
}

/// `Event.Type` (those Corral sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EventType {
    Subscribed,
    Offers,
    Rescind,
    Update,
    Message,
    Failure,
    Error,
    Heartbeat,
}

impl Event {
    /// An event of `kind` with nothing in it (HEARTBEAT), for the others
    /// to fill in.
    pub fn bare(kind: EventType) -> Event {
        Event {
            kind,
            subscribed: None,
            offers: None,
            rescind: None,
            update: None,
            message: None,
            failure: None,
            error: None,
        }
    }
}

/// `Event.Subscribed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The framework's id (keep it to fail over).
    pub framework_id: Id,
    /// How often HEARTBEAT comes.
    pub heartbeat_interval_seconds: f64,
}

/// `Event.Offers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offers {
    /// The offers. (An empty list is absent in protobuf.)
    #[serde(default)]
    pub offers: Vec<Offer>,
}

/// `Event.Rescind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescind {
    /// The offer withdrawn.
    pub offer_id: Id,
}

/// `Event.Update`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The status.
    pub status: TaskStatus,
}

/// `Event.Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Error {
    /// What went wrong.
    pub message: String,
}
