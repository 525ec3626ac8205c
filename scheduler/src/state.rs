//! The scheduler driver's configuration, errors and own state: what it
//! keeps apart from the scheduler it runs.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_api::auth::Credential;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::TaskId;
use corral_api::task::TaskState;
use corral_runtime::{Pid, Time, TimerId};

use crate::masters::Masters;

/// Who acknowledges status updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Acks {
    /// The driver, after [`Scheduler::update`](crate::Scheduler::update) returns (the default).
    #[default]
    Automatic,
    /// The scheduler, with [`Driver::acknowledge`](crate::Driver::acknowledge): an update it does not
    /// acknowledge is resent by its agent, so it can defer work safely.
    Explicit,
}

/// How a driver runs its scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverConfig {
    /// The masters, tried in order until one leads.
    pub masters: Vec<Pid>,
    /// How the framework introduces itself. With `info.id` set it
    /// subscribes as that framework (a failover) and reconciles all its
    /// tasks at once.
    pub info: FrameworkInfo,
    /// Who acknowledges updates.
    pub acks: Acks,
    /// The principal and secret the framework proves itself with to
    /// masters that authenticate frameworks (its `info.principal`, if set,
    /// must be the same). Default none.
    pub credential: Option<Credential>,
}

impl DriverConfig {
    /// A framework described by `info` that follows whichever of `masters`
    /// leads, acknowledging automatically.
    pub fn new(masters: Vec<Pid>, info: FrameworkInfo) -> DriverConfig {
        DriverConfig {
            masters,
            info,
            acks: Acks::Automatic,
            credential: None,
        }
    }

    /// This config, proving the framework's principal with `credential`.
    pub fn with_credential(mut self, credential: Credential) -> DriverConfig {
        self.credential = Some(credential);
        self
    }

    /// This config, with the scheduler acknowledging updates itself.
    pub fn explicit_acks(mut self) -> DriverConfig {
        self.acks = Acks::Explicit;
        self
    }
}

/// Why the driver could not do what was asked. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The config names no master.
    #[error("a framework needs at least one master")]
    NoMasters,
    /// Not subscribed to a master right now (before `registered`, or
    /// between `disconnected` and `reregistered`).
    #[error("not subscribed to a master; wait for registered or reregistered")]
    NotSubscribed,
    /// The framework tore itself down: it follows no master any more.
    #[error("the framework was torn down")]
    TornDown,
    /// A launch names a task that is already live, or names it twice.
    #[error("task {0} is already live or named twice in the launch")]
    DuplicateTask(TaskId),
    /// A launch without tasks, or an accept without offers.
    #[error("nothing to launch: {0}")]
    Empty(&'static str),
    /// A framework message longer than
    /// [`MAX_MESSAGE_DATA_BYTES`](corral_api::framework::MAX_MESSAGE_DATA_BYTES).
    #[error("a framework message of {0} bytes is over the limit of {max} bytes", max = corral_api::framework::MAX_MESSAGE_DATA_BYTES)]
    TooLarge(usize),
}

/// The driver's own state, apart from the scheduler.
pub(crate) struct Core {
    pub(crate) acks: Acks,
    pub(crate) masters: Masters,
    /// Whether the framework started with an id (a failed-over scheduler).
    pub(crate) started_with_id: bool,
    /// The pending subscribe retry.
    pub(crate) retry: Option<TimerId>,
    /// The pending heartbeat check, and the interval the master gave.
    pub(crate) heartbeat: Option<TimerId>,
    pub(crate) heartbeat_interval: Duration,
    /// When the master followed was last heard from.
    pub(crate) last_heard: Time,
    /// Tasks not known to have ended, with their latest known state:
    /// what the driver reconciles after a re-subscription.
    pub(crate) live: BTreeMap<TaskId, TaskState>,
}
