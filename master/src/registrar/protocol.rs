//! The registrar's wire contract: Raft traffic between registrars, and the
//! asks clients (the master) send to any registrar.

use corral_runtime::{message, Pid};
use serde::{Deserialize, Serialize};

use super::error::ProposeError;
use super::registry::{Op, Registry};

/// One raft-rs message (`raft::eraftpb::Message`, protobuf-encoded),
/// registrar to registrar. Undecodable or misaddressed ones are dropped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Raft {
    /// The protobuf bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}
message!(Raft = "registrar.Raft");

/// Ask: append `op` to the replicated log. Answered once it is committed
/// and applied on this registrar (with its log index), or with why not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Propose {
    /// The change.
    pub op: Op,
}
message!(Propose = "registrar.Propose" => Proposed);

/// The answer to [`Propose`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposed {
    /// The committed entry's index, or why the op was not committed.
    pub result: Result<u64, ProposeError>,
}
message!(Proposed = "registrar.Proposed");

/// Ask: who leads, as this registrar knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetLeader;
message!(GetLeader = "registrar.GetLeader" => LeaderInfo);

/// The answer to [`GetLeader`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// This registrar's current term.
    pub term: u64,
    /// The leader's Raft id, if known.
    pub leader_id: Option<u64>,
    /// The leader's registrar, if known.
    pub leader: Option<Pid>,
    /// Whether this registrar is the leader.
    pub is_leader: bool,
}
message!(LeaderInfo = "registrar.LeaderInfo");

/// Ask: a copy of the registry as applied on this registrar.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetRegistry;
message!(GetRegistry = "registrar.GetRegistry" => RegistrySnapshot);

/// The answer to [`GetRegistry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrySnapshot {
    /// The last log index applied.
    pub applied: u64,
    /// The registry after it.
    pub registry: Registry,
}
message!(RegistrySnapshot = "registrar.RegistrySnapshot");
